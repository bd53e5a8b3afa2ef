"""`rag ingest | search`: the command line. The only module besides ui.py that talks to people."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
from pathlib import Path

from rag.errors import RagError
from rag.settings import Settings

log = logging.getLogger("rag")


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.pipeline import sync

    try:
        report = sync(settings, [Path(p) for p in args.paths] or None, rebuild=args.rebuild, progress=True)
    except FileNotFoundError as exc:
        raise RagError(str(exc)) from exc
    for message in report.skipped:
        print(f"warning: skipped {message}", file=sys.stderr)
    print(report.summary())
    return 0


def _search(args: argparse.Namespace, settings: Settings) -> int:
    from rag.retrieve import Retriever
    from rag.store import Embedder, Store

    store = Store(settings)
    hits = Retriever(settings, store, Embedder(settings.embed_batch_size)).retrieve(
        args.question, k=args.k, countries=args.country
    )
    if args.json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("No matching passages.")
    for hit in hits:
        where = f", p. {hit.page}" if hit.page else ""
        print(f"[{hit.rank}] {hit.title} ({hit.date}{where})  score {hit.score:.4f}")
        print(f"    {hit.doc_id} chars {hit.start}-{hit.end}  countries: {', '.join(hit.countries) or '-'}")
        print(textwrap.indent(textwrap.fill(" ".join(hit.text.split()), 100), "    "))
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `rag` argument parser."""
    parser = argparse.ArgumentParser(prog="rag", description="Cited Q&A over the Diplomatic Overdrive corpus.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="sync the corpus (or PATHs) into the store; only changed files are embedded")
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: RAG_CORPUS_DIR)")
    ingest.add_argument("--rebuild", action="store_true", help="drop the store and ingest everything again")
    ingest.set_defaults(run=_ingest)

    search = sub.add_parser("search", help="print the passages ranked for a question")
    search.add_argument("question")
    search.add_argument("--k", type=int, default=None, help="how many passages (default: RAG_TOP_K)")
    search.add_argument("--country", action="append", metavar="NAME", help="only passages mentioning NAME (repeatable)")
    search.add_argument("--json", action="store_true", help="print a JSON list")
    search.set_defaults(run=_search)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rag` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args, Settings())
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish (nothing is left half-done)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
