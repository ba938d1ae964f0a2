"""The `kb` command line: a thin layer over qa.service.

    kb index  [--corpus DIR] [--index DIR] [--rebuild] [--json] [--ray [ADDRESS]]
    kb search QUERY... [-k N] [--json]      (QUERY "-" reads one query per line from stdin)
    kb ask    QUESTION [--json]
    kb serve  [--host 127.0.0.1] [--port 7860]

User errors print one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from kb.cli_args import EXIT_USER_ERROR, build_parser
from kb.errors import BuildLocked, ConversionError, CorpusError, KbError, ModelError, QueryError
from kb.index.build import BuildReport, Progress
from kb.models.loaded import Models
from kb.qa.service import KnowledgeBase, check_query, ensure_index, model_spec
from kb.settings import Settings

log = logging.getLogger("kb")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        corpus_dir=getattr(args, "corpus", None),
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
        top_k=getattr(args, "k", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def _progress(stream: TextIO) -> tuple[Progress | None, Any]:
    """A tqdm bar per stage, drawn on ``stream``, when stdout is a terminal (a
    person is watching, not a script reading JSON); otherwise nothing."""
    if not sys.stdout.isatty():
        return None, None
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=stage, unit="text", file=stream, leave=True)
        bar.total = total
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return progress, close


def _read_queries(items: Sequence[str], stdin: TextIO) -> Iterator[str]:
    for item in items:
        if item == "-":
            for line in stdin:
                if line.strip():
                    yield line.rstrip("\n")
        else:
            yield item


def _report_line(report: BuildReport, as_json: bool) -> str:
    if as_json:
        return json.dumps(report.to_dict(), ensure_ascii=False)
    return report.summary()


def cmd_index(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO) -> int:
    if args.watch:
        if args.ray is not None:
            raise QueryError("--ray and --watch cannot be combined")
        return _watch_index(kb, args, out)
    if args.ray is not None:
        from kb.index.ray_build import ray_embedder

        local = kb.embedder
        ray = ray_embedder(local, kb.settings.model, kb.settings.batch_size, args.ray)
        try:
            kb = KnowledgeBase(kb.settings, mode=kb.mode, models=kb.models.with_embedder(ray))
            return _index_once(kb, args, out)
        finally:
            ray.close()
    return _index_once(kb, args, out)


def _index_once(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO) -> int:
    progress, close = _progress(sys.stderr)
    try:
        report = kb.build(rebuild=args.rebuild, progress=progress)
    finally:
        if close:
            close()
    out.write(_report_line(report, args.json) + "\n")
    if args.json:
        return 0
    for s in report.skipped:
        out.write(f"skipped {s.source}: {s.reason}\n")
    out.write(f"index: {report.path}\n")
    return 0


def _watch_index(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO) -> int:
    """`kb index --watch`: build now, then again after every (debounced) change;
    one line per build on ``out``; errors are one line on stderr and watching goes on."""
    import time

    from kb.index.watch import watch_corpus

    if args.debounce <= 0:
        raise QueryError(f"--debounce must be positive, got {args.debounce}")
    corpus = kb.settings.corpus_dir
    if not corpus.is_dir():
        raise CorpusError(f"corpus folder not found: {corpus}")
    rebuild = args.rebuild

    def on_change(paths: list[str]) -> None:
        nonlocal rebuild
        told = False
        while True:
            try:
                report = kb.build(rebuild=rebuild)
                break
            except BuildLocked as exc:  # another `kb index`: build after it, with our changes
                if not told:
                    sys.stderr.write(f"kb: {exc}; will re-index after it\n")
                    sys.stderr.flush()
                    told = True
                time.sleep(1.0)
            except KbError as exc:
                sys.stderr.write(f"kb: error: {exc}\n")
                sys.stderr.flush()
                return
        rebuild = False
        out.write(_report_line(report, args.json) + "\n")
        out.flush()

    if not args.json:
        out.write(f"watching {corpus} (Ctrl-C stops)\n")
        out.flush()
    try:
        watch_corpus(corpus, on_change, debounce=args.debounce, ignore=[kb.settings.index_dir])
    except KeyboardInterrupt:
        sys.stderr.write("kb: stopped watching\n")
    return 0


def cmd_search(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    retriever = kb.retriever_for(args.mode) if args.mode != kb.mode else None
    for query in _read_queries(args.queries, stdin):
        if retriever is None:
            r = kb.search(query, args.k)
        else:
            r = retriever.retrieve(check_query(query), args.k or kb.settings.top_k)
        if args.json:
            out.write(
                json.dumps({"query": r.query, "hits": r.hits_json()}, ensure_ascii=False) + "\n"
            )
            continue
        out.write(f"# {r.query}\n")
        for h in r.hits:
            snippet = " ".join(h.chunk.text.split())[:160]
            out.write(
                f"{h.rank}. [{h.score:.3f}] {h.chunk.title} › {h.chunk.section} "
                f"({h.chunk.source}:{h.chunk.start}-{h.chunk.end})\n   {snippet}\n"
            )
        out.flush()
    return 0


def _history(path: Path | None) -> object:
    """`kb ask --history FILE`: a JSON list of earlier {"role", "content"} turns."""
    if path is None:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise QueryError(f"--history {path}: not a readable JSON file ({exc})") from None


def cmd_ask(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO) -> int:
    result = kb.converse(" ".join(args.question), _history(args.history))
    answer = result.answer
    notice = result.to_dict().get("notice")
    if notice:
        sys.stderr.write(f"kb: warning: {notice}\n")
    if args.json:
        out.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
        return 0
    if result.resolved.standalone != result.resolved.question:
        out.write(f"(searched as: {result.resolved.standalone})\n")
    out.write(answer.text + "\n")
    for c in answer.citations:
        out.write(
            f"\n[{c.n}] {c.title} › {c.section} ({c.source}:{c.start}-{c.end})\n    “{c.quote}”\n"
        )
    return 0


def cmd_serve(kb: KnowledgeBase, args: argparse.Namespace, out: TextIO) -> int:
    from kb import api

    if not kb.has_index():
        out.write(
            f"no index at {kb.settings.index_dir}: building it from {kb.settings.corpus_dir} "
            "(first start only)\n"
        )
        out.flush()
    progress, close = _progress(sys.stderr)
    try:
        report = ensure_index(kb, progress)
    finally:
        if close:
            close()
    if report is not None:
        out.write(
            f"built the index: {report.documents} documents, {report.chunks} chunks "
            f"in {report.seconds:.0f}s\n"
        )
    kb.reload()
    out.write(
        f"serving on http://{kb.settings.host}:{kb.settings.port} "
        f"(API: http://{kb.settings.host}:{kb.settings.port}/api/docs)\n"
    )
    out.flush()
    api.serve(kb)  # issue 10: the HTTP API and the Gradio app on one server
    return 0


def cmd_model(settings: Settings, args: argparse.Namespace, out: TextIO) -> int:
    from kb.models.e5_cache import prepare_model

    try:
        path = prepare_model(cache_dir=args.cache_dir or settings.model_cache_dir, force=args.force)
    except ConversionError as exc:
        raise ModelError(
            f"model conversion failed: {exc} (kb keeps using the bundled engine)"
        ) from None
    if args.json:
        out.write(json.dumps({"model": "e5-st", "path": str(path)}) + "\n")
    else:
        out.write(f"converted model ready: {path}\n")
    return 0


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    stdin: TextIO | None = None,
    models: Models | None = None,
) -> int:
    """Run one command. ``models``: models this process already loaded (tests pass
    theirs), used when the command's settings name the same ones; else the
    command's KnowledgeBase loads its own (once, for the whole process)."""
    out = out or sys.stdout
    stdin = stdin or sys.stdin
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="kb: %(levelname)s: %(message)s",
    )
    if not args.verbose:  # library chatter would bury the one-line error
        for noisy in ("sentence_transformers", "transformers", "huggingface_hub", "httpx"):
            logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        settings = _settings(args)
        if models is not None and models.spec != model_spec(settings):
            models = None
        kb = KnowledgeBase(settings, models=models)
        if args.command == "index":
            return cmd_index(kb, args, out)
        if args.command == "search":
            return cmd_search(kb, args, out, stdin)
        if args.command == "ask":
            return cmd_ask(kb, args, out)
        if args.command == "serve":
            return cmd_serve(kb, args, out)
        if args.command == "model":
            return cmd_model(kb.settings, args, out)
        if args.command == "eval":
            from kb.evaluation.command import cmd_eval

            return cmd_eval(kb.settings, args, out)
    except KbError as exc:
        sys.stderr.write(f"kb: error: {exc}\n")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        sys.stderr.write("kb: interrupted\n")
        return 130
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
