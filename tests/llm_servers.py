"""Scripted LLM servers over real HTTP on 127.0.0.1: an OpenAI-compatible Chat
Completions server and an Anthropic Messages server, both with SSE streaming.

A server answers with ``reply(system, user)``; ``failures`` is a list of HTTP
statuses (429, 500, ...) returned first, one per request; ``delay`` sleeps before
answering (a timeout); ``key`` is the API key accepted (401 otherwise);
``malformed`` sends a body that is not a completion. Every request is recorded.
Usable as a script too: ``python tests/llm_servers.py openai 8765 FILE`` serves the
reply text in FILE (used by the README to try ``kb serve``).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[str, str], str]


class ScriptedLLM:
    def __init__(self, kind: str, reply: Reply | str = "", key: str = "test-key") -> None:
        assert kind in ("openai", "anthropic")
        self.kind = kind
        self.reply: Reply = (lambda s, u: reply) if isinstance(reply, str) else reply
        self.key = key
        self.failures: list[int] = []
        self.delay = 0.0
        self.malformed = False
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        root = f"http://{host!s}:{port}"
        return root + "/v1" if self.kind == "openai" else root

    # ---------------------------------------------------------------- bodies
    def _messages(self, body: dict[str, Any]) -> tuple[str, str]:
        msgs = body.get("messages", [])
        if self.kind == "anthropic":
            system = body.get("system", "")
            user = msgs[-1]["content"] if msgs else ""
        else:
            system = next((m["content"] for m in msgs if m["role"] == "system"), "")
            user = next((m["content"] for m in reversed(msgs) if m["role"] == "user"), "")
        return str(system), str(user)

    def _error(self, status: int) -> dict[str, Any]:
        kind = {401: "authentication_error", 429: "rate_limit_error"}.get(status, "api_error")
        message = f"scripted {status}"
        if self.kind == "anthropic":
            return {"type": "error", "error": {"type": kind, "message": message}}
        return {"error": {"message": message, "type": kind, "code": status}}

    def _completion(self, text: str, model: str) -> dict[str, Any]:
        if self.kind == "anthropic":
            return {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 1, "output_tokens": 1},
            }
        return {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def _events(self, text: str, model: str) -> Iterator[str]:
        pieces = [text[i : i + 12] for i in range(0, len(text), 12)] or [""]
        if self.kind == "openai":
            for p in pieces:
                chunk = {
                    "id": "chatcmpl-1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}],
                }
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"
            return
        start = self._completion("", model)
        start["content"] = []
        start["stop_reason"] = None
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": start}),
            (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                },
            ),
        ]
        events += [
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                },
            )
            for p in pieces
        ]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            (
                "message_delta",
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 1},
                },
            ),
            ("message_stop", {"type": "message_stop"}),
        ]
        for name, data in events:
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n"

    # ---------------------------------------------------------------- serving
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length", "0"))
        body = json.loads(h.rfile.read(length) or b"{}")
        with self._lock:
            self.requests.append({"path": h.path, "body": body, "headers": dict(h.headers)})
            failure = self.failures.pop(0) if self.failures else 0
        auth = h.headers.get("Authorization", "")
        key = h.headers.get("x-api-key", "") or auth.removeprefix("Bearer ")
        if key != self.key:
            failure = 401
        if self.delay:
            time.sleep(self.delay)
        if failure:
            self._send(h, failure, json.dumps(self._error(failure)), "application/json")
            return
        system, user = self._messages(body)
        text = self.reply(system, user)
        model = str(body.get("model", "scripted"))
        if self.malformed:
            self._send(h, 200, '{"choices": "nope", "content": 7', "application/json")
        elif body.get("stream"):
            self._send(h, 200, "".join(self._events(text, model)), "text/event-stream")
        else:
            self._send(h, 200, json.dumps(self._completion(text, model)), "application/json")

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: str, ctype: str) -> None:
        data = body.encode("utf-8")
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        if status in (429, 500, 503):
            h.send_header("retry-after-ms", "20")
        h.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            h.wfile.write(data)  # the client may have given up (timeout)

    def start(self, port: int = 0) -> ScriptedLLM:
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                scripted.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def scripted_llm(
    kind: str, reply: Reply | str = "", key: str = "test-key"
) -> Iterator[ScriptedLLM]:
    server = ScriptedLLM(kind, reply, key).start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # pragma: no cover - a manual tool
    kind, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(path, encoding="utf-8") as f:
        canned = f.read()
    server = ScriptedLLM(kind, canned, key=sys.argv[4] if len(sys.argv) > 4 else "test-key")
    server.start(port)
    print(f"scripted {kind} server on {server.base_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
