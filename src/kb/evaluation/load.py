"""Load on the HTTP API: ``clients`` concurrent clients send ``questions`` to
/api/ask over real HTTP while the index is rebuilt by a second ``KnowledgeBase``
(as ``kb index --rebuild`` would), and the server switches builds. Used by
benchmarks/bench_api_load.py and tests/test_api_load.py."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from kb.api import create_api
from kb.qa.service import KnowledgeBase


@dataclass(frozen=True)
class LoadReport:
    requests: int
    ok: int
    errors_4xx: int
    errors_5xx: int
    failed: int  # no HTTP answer at all
    p50_ms: float
    p95_ms: float
    max_ms: float
    seconds: float
    rebuild_seconds: float
    builds_seen: int  # distinct built_at values reported by /api/status
    inconsistent: list[str] = field(default_factory=list)  # questions answered differently

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_api(kb: KnowledgeBase, with_ui: bool = False) -> Iterator[str]:
    """The API of ``kb`` (and the web UI) served by uvicorn on 127.0.0.1 in a thread."""
    import uvicorn

    from kb.api import app_with_ui

    port = _free_port()
    app = app_with_ui(kb) if with_ui else create_api(kb)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the API server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def run_load(
    kb: KnowledgeBase,
    builder: KnowledgeBase,
    questions: Sequence[str],
    clients: int = 20,
    rebuild_after: int = 20,
    timeout: float = 120.0,
) -> LoadReport:
    """Send ``questions`` from ``clients`` threads; after ``rebuild_after`` answers,
    ``builder`` rebuilds the index (same corpus and index folder as ``kb``)."""
    import httpx

    latencies: list[float] = []
    statuses: list[int] = []
    answers: dict[str, set[str]] = {}
    builds: set[str] = set()
    lock = threading.Lock()
    done = threading.Event()
    rebuild_time: list[float] = []

    def rebuild() -> None:
        while len(latencies) < rebuild_after and not done.is_set():
            time.sleep(0.05)
        t0 = time.perf_counter()
        builder.build(rebuild=True)
        rebuild_time.append(time.perf_counter() - t0)

    with serve_api(kb) as base:

        def one(q: str) -> None:
            t0 = time.perf_counter()
            try:
                with httpx.Client(timeout=timeout) as c:
                    r = c.post(f"{base}/api/ask", json={"question": q})
                    status = r.status_code
                    body = r.json() if status == 200 else {}
                    if status == 200 and len(builds) < 8:
                        builds.add(str(c.get(f"{base}/api/status").json().get("built_at")))
            except httpx.HTTPError:
                status, body = 0, {}
            with lock:
                latencies.append(time.perf_counter() - t0)
                statuses.append(status)
                if status == 200:
                    answers.setdefault(q, set()).add(str(body.get("answer")))

        started = time.perf_counter()
        rebuilder = threading.Thread(target=rebuild, daemon=True)
        rebuilder.start()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one, questions))
        done.set()
        rebuilder.join(timeout * 5)
        with httpx.Client(timeout=timeout) as c:
            builds.add(str(c.get(f"{base}/api/status").json().get("built_at")))
        seconds = time.perf_counter() - started

    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=20) if len(ms) > 1 else ms * 19
    return LoadReport(
        requests=len(statuses),
        ok=sum(s == 200 for s in statuses),
        errors_4xx=sum(400 <= s < 500 for s in statuses),
        errors_5xx=sum(s >= 500 for s in statuses),
        failed=sum(s == 0 for s in statuses),
        p50_ms=round(statistics.median(ms), 1),
        p95_ms=round(q[18], 1),
        max_ms=round(ms[-1], 1),
        seconds=round(seconds, 1),
        rebuild_seconds=round(rebuild_time[0], 1) if rebuild_time else -1.0,
        builds_seen=len(builds),
        inconsistent=sorted(q for q, a in answers.items() if len(a) > 1),
    )
