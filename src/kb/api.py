"""The HTTP API, served next to the Gradio app by one uvicorn server (``kb serve``):

    GET  /api/status                      the index (documents, chunks, model, build)
    POST /api/search {"query", "k"}       the `kb search --json` object
    POST /api/ask    {"question", "history", "k"}
                                          the `kb ask --json` object, plus the standalone
                                          question used and, for generated answers,
                                          which sentences were verified

OpenAPI page at /api/docs. Bad input (empty, too long, wrong types) is a 4xx JSON
error ``{"error": ...}``; the CLI and the UI go through the same ``KnowledgeBase``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from kb.errors import BadIndexError, BuildLocked, KbError, ModelError
from kb.qa.service import KnowledgeBase

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 2000
MAX_K = 50


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: StrictStr = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    k: StrictInt | None = Field(default=None, ge=1, le=MAX_K)


class TurnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: StrictStr = Field(max_length=4000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    history: list[TurnIn] = Field(default_factory=list, max_length=50)
    k: StrictInt | None = Field(default=None, ge=1, le=MAX_K)


def search_json(kb: KnowledgeBase, query: str, k: int | None) -> dict[str, object]:
    r = kb.search(query, k)
    return {"query": r.query, "hits": r.hits_json()}


def create_api(kb: KnowledgeBase) -> FastAPI:
    app = FastAPI(
        title="kb API",
        description="Retrieval and answers with citations over the knowledge base.",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        msg = f"{where}: {first.get('msg', 'invalid request')}" if where else "invalid JSON body"
        return JSONResponse({"error": msg, "details": _plain(errors)}, status_code=422)

    @app.exception_handler(KbError)
    async def user_error(_: Request, exc: KbError) -> JSONResponse:
        # the index or model is not ready: the service is unavailable, not the request bad
        unavailable = isinstance(exc, BadIndexError | BuildLocked | ModelError)
        return JSONResponse({"error": str(exc)}, status_code=503 if unavailable else 400)

    @app.get("/api/status")
    def status() -> dict[str, object]:
        out = kb.status().to_dict()
        out["llm"] = kb.settings.llm or "none"
        out["llm_model"] = kb.settings.llm_model
        return out

    @app.post("/api/search")
    def search(req: SearchRequest) -> dict[str, object]:
        return search_json(kb, req.query, req.k)

    @app.post("/api/ask")
    def ask(req: AskRequest) -> dict[str, object]:
        history = [t.model_dump() for t in req.history]
        return kb.converse(req.question, history, req.k).to_dict()

    return app


def _plain(errors: Any) -> list[dict[str, object]]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]


def app_with_ui(kb: KnowledgeBase) -> FastAPI:
    """The API with the Gradio app mounted at /."""
    import gradio as gr

    from kb import ui

    demo = ui.build_app(kb)
    app: FastAPI = gr.mount_gradio_app(create_api(kb), demo, path="", **ui.mount_options())
    return app


def serve(kb: KnowledgeBase) -> None:
    """The API and the Gradio app on one uvicorn server at the settings' host:port."""
    import uvicorn

    uvicorn.run(app_with_ui(kb), host=kb.settings.host, port=kb.settings.port, log_level="warning")
