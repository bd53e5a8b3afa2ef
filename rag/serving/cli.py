"""`rag ingest | search | ask | chat | countries | feedback | status | serve | mcp`: the command line.

The only module besides ui.py that talks to people. It calls only the engine. Other packages add
commands through the `rag.commands` entry point group (eval/ adds `rag eval`): each entry point is a
function that takes the argparse subparsers object and adds its parser, whose `run(args, settings)`
default runs the command.

A reader that leaves early (`rag search ... | head -1`) ends the command quietly with exit status 141,
128 + SIGPIPE, as `yes | head -1` leaves `yes`: a script using `set -o pipefail` sees the same as for other tools.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import logging
import os
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.settings import Settings

if TYPE_CHECKING:  # imported lazily at run time: `rag --help` should not load the engine
    from rag.answer import Answer
    from rag.brief import BriefLine, CountryBrief
    from rag.engine import Engine

log = logging.getLogger("rag")
COMMANDS = "rag.commands"  # entry point group of the commands other packages add
CLOSED_PIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a Unix tool whose reader left
DOC_HELP = "only passages of document NAME: its file name (with or without extension) or title (repeatable)"


def _ingest(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine

    engine = Engine.for_ingest(settings, rebuild=args.rebuild)
    try:
        report = engine.ingest([Path(p) for p in args.paths] or None, progress=not args.json)
    except FileNotFoundError as exc:
        raise RagError(str(exc)) from exc
    for message in report.skipped:
        print(f"warning: skipped {message}", file=sys.stderr)
    if report.chunks:
        engine.build_index()  # saved next to the store, so the next `rag ask` starts at once
    print(json.dumps(asdict(report), ensure_ascii=False, indent=2) if args.json else report.summary())
    return 0


def _engine(settings: Settings, backend: str | None = None, preload: bool = False) -> Engine:
    """The engine; it loads no model until one is needed (so `status` and `countries` load none).

    `preload`: a command about to embed a question starts loading the model while the store opens.
    """
    from rag.engine import Engine

    return Engine.from_settings(settings, backend=backend, preload=preload)


def _search(args: argparse.Namespace, settings: Settings) -> int:
    hits = _engine(settings, preload=True).search(args.question, k=args.k, countries=args.country, docs=args.doc)
    if args.json:
        from rag.serving.json_forms import hit_json

        print(json.dumps([hit_json(h) for h in hits], ensure_ascii=False, indent=2))
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


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings, args.backend, preload=True)
    answer = _stream_answer(engine, args.question, None, args.country, echo=not args.json, docs=args.doc)
    if args.json:
        from rag.serving.json_forms import answer_json

        print(json.dumps(answer_json(answer), ensure_ascii=False, indent=2))
        return 0
    print(f"\n{answer.backend} / {answer.model} - {answer.total_ms / 1000:.1f} s")
    return 0


def _stream_answer(
    engine: Engine,
    question: str,
    history: list[dict[str, str]] | None,
    countries: list[str] | None,
    echo: bool,
    docs: list[str] | None = None,
) -> Answer:
    """Print the answer as it streams (when `echo`), then its checked form and sources; returns the Answer."""
    from rag.answer import Answer
    from rag.safe_text import SafeStream

    answer: Answer | None = None
    streamed = []
    safe = SafeStream()  # no markup or terminal control codes from a document reach the screen
    for item in engine.stream(question, history, countries, docs=docs):
        if isinstance(item, Answer):
            answer = item
        elif echo:
            streamed.append(item)
            print(safe.feed(item), end="", flush=True)
    assert answer is not None
    if echo:
        print(safe.close() + "\n")
        _print_answer(answer, "".join(streamed))
    return answer


def _print_answer(answer: Answer, streamed: str) -> None:
    """The checked answer (when it differs from what streamed), any note, and every claim's own quote."""
    from rag.answering.citations import earlier_of_document, same_document
    from rag.safe_text import safe_text, safe_url

    if answer.text.strip() != streamed.strip():
        print(f"Checked answer:\n{safe_text(answer.text)}\n")
    if answer.note:
        print(f"Note: {answer.note}\n")
    for sentence in answer.unsupported_sentences:
        print(f"  ! not supported by the cited sources: {sentence}")
    label = "Closest passages" if answer.abstained else "Sources"
    print(f"{label}:")
    if answer.abstained and not answer.citations:  # an answer lacking its figure cites the closest sentences
        for hit in answer.retrieved[:3]:
            print(safe_text(f"  - {hit.title} ({hit.date}) {hit.doc_id} chars {hit.start}-{hit.end}"))
    earlier = earlier_of_document(answer.citations)
    for c in answer.citations:
        where = f", p. {c.page}" if c.page else ""
        if c.n in earlier:
            print(f"  [{c.n}] {same_document(earlier[c.n])}{where}")
        else:
            print(safe_text(f"  [{c.n}] {c.title} ({c.date}{where}) {safe_url(c.url) or c.doc_id}"))
        for quote in c.quotes or []:
            print(textwrap.indent(textwrap.fill(safe_text(f'"{" ".join(quote.quote.split())}"'), 100), "      "))
            print(f"      {c.doc_id} chars {quote.quote_start}-{quote.quote_end}")


CHAT_HELP = (
    "Type a question; /reset forgets the conversation, /country NAME focuses on a country "
    "(/country alone: all countries), /save FILE writes the conversation with its sources "
    "(Markdown; JSON when FILE ends in .json), /quit ends."
)


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine
    from rag.query import check_countries

    engine = Engine.from_settings(settings, backend=args.backend)
    interactive = sys.stdin.isatty()
    countries: list[str] | None = check_countries(args.country) or None
    history: list[dict[str, str]] = []
    answers: list[Answer] = []
    print(f"Chatting with the corpus ({engine.backend} / {engine.model}). {CHAT_HELP}")
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except EOFError:
            break
        if not interactive and not line:
            break
        question = line.strip()
        if not question:
            continue
        if not interactive:
            print(f"> {question}")
        command, _, rest = question.partition(" ")
        if command in ("/quit", "/exit", "/q"):
            break
        if command == "/reset":
            history, answers = [], []
            print("Conversation reset.")
            continue
        if command == "/country":
            try:
                countries = check_countries([rest.strip()]) if rest.strip() else None
            except RagError as exc:
                print(f"error: {exc}")
                continue
            print(f"Focus: {', '.join(countries)}." if countries else "Focus: all countries.")
            continue
        if command == "/save":
            print(_save_transcript(answers, rest.strip()))
            continue
        if command.startswith("/"):
            print(f"Unknown command {command}. {CHAT_HELP}")
            continue
        try:
            answer = _stream_answer(engine, question, history, countries, echo=True)
        except RagError as exc:
            print(f"error: {exc}")
            continue
        if answer.search_query != question:
            print(f"(answered as: {answer.search_query})")
        print()
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
        answers.append(answer)
    return 0


def _save_transcript(answers: list[Answer], name: str) -> str:
    """Write the conversation to `name` (Markdown, or JSON for *.json); returns what to tell the user."""
    from rag.transcript import to_json, to_markdown

    if not name:
        return "Usage: /save FILE (Markdown; JSON when FILE ends in .json)."
    if not answers:
        return "Nothing to save yet: ask a question first."
    path = Path(name).expanduser()
    try:
        path.write_text(to_json(answers) if path.suffix == ".json" else to_markdown(answers), encoding="utf-8")
    except OSError as exc:
        return f"error: cannot write {path}: {exc.strerror}"
    return f"Saved {len(answers)} answer{'s' * (len(answers) != 1)} with their sources to {path}."


def _countries(args: argparse.Namespace, settings: Settings) -> int:
    from rag.serving.json_forms import brief_json, countries_json

    if args.name:
        brief = _engine(settings).country_brief(args.name)
        print(json.dumps(brief_json(brief), ensure_ascii=False, indent=2) if args.json else _brief_text(brief))
        return 0
    counts = _engine(settings).countries()
    if args.json:
        print(json.dumps(countries_json(counts), ensure_ascii=False, indent=2))
        return 0
    if not counts:
        print("No country is mentioned in the store (is it ingested? run `rag ingest`).")
    for name, n in counts:
        print(f"{n:>6}  {name}")
    return 0


def _brief_text(brief: CountryBrief) -> str:
    """The brief as text: every line with its source and character offsets."""

    def cited(line: BriefLine, lead: str = "", link: bool = False) -> str:
        # A sentence whose subject points back comes after the sentence it points to, in brackets.
        said = " ".join(line.text.split())
        if line.context:
            said = f"[{' '.join(line.context.split())}] {said}"
        text = textwrap.fill(f"{lead}{said}", 100, initial_indent="  ", subsequent_indent="    ")
        title = textwrap.shorten(line.title, 60, placeholder="…")
        chars = f"{line.context_start}-{line.context_end}, " if line.context else ""
        source = f"    - {title} ({line.date}), {line.doc_id} chars {chars}{line.start}-{line.end}"
        return f"{text}\n{source}" + (f"\n      {line.url}" if link and line.url else "")

    if not brief.passages:
        return f"The corpus does not mention {brief.country} (is it ingested? run `rag ingest`)."
    out = [f"{brief.country}: named in {brief.passages:,} passages of {brief.documents} documents.", ""]
    sections = [
        ("What the article says", [cited(line) for line in brief.article]),
        ("Timeline", [cited(line, f"{line.date}: ", link=True) for line in brief.timeline]),
        ("Agreements, pledges and figures", [cited(line) for line in brief.agreements]),
    ]
    for heading, lines in sections:
        out += [f"{heading}:", *(lines or ["  (none found)"]), ""]
    if brief.co_mentioned:
        out.append("Mentioned alongside: " + ", ".join(f"{name} ({n})" for name, n in brief.co_mentioned))
    return "\n".join(out).rstrip()


def _feedback_export(args: argparse.Namespace, settings: Settings) -> int:
    from rag.feedback import export_cases, to_fill_in

    cases, new, skipped = export_cases(settings.feedback_file, args.out)
    for message in skipped:
        print(f"warning: skipped {message}", file=sys.stderr)
    if not cases:
        print(f"No disliked answers in {settings.feedback_file} yet (a thumbs-down in the chat adds one).")
        return 0
    print(f"Wrote {len(cases)} case(s) to {args.out} ({new} new from {settings.feedback_file}).")
    todo = [(case, to_fill_in(case)) for case in cases]
    if not any(steps for _, steps in todo):
        print(f"All confirmed: run `rag eval --dataset {args.out}`.")
        return 0
    print(f"Left to fill in (edit {args.out}), then run `rag eval --dataset {args.out}`:")
    for case, steps in todo:
        if steps:
            print(f"  {case['id']}  {case['question']!r}")
            print("".join(f"    - {step}\n" for step in steps), end="")
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    status = _engine(settings).status()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0
    last = status["last_ingest"]
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last)) if isinstance(last, float) else "unknown"
    print(f"backend      {status['backend']}")
    print(f"model        {status['model']}")
    if status["model_role"]:
        print(f"             ({status['model_role']})")
    print(f"store        {status['store']}")
    print(f"documents    {status['documents']:,}")
    print(f"chunks       {status['chunks']:,}")
    print(f"last ingest  {when}")
    cache = status["embed_cache"]
    if cache["enabled"]:
        hits = cache.get("last_ingest")
        rate = f"; last ingest {hits['hits']:,} of {hits['hits'] + hits['misses']:,} from it" if hits else ""
        print(f"embed cache  {cache['entries']:,} passages, {cache['bytes'] / 1e6:.1f} MB{rate} ({cache['path']})")
        print(f"             + {cache['shipped_entries']:,} passages shipped for corpus/")
    else:
        print("embed cache  off (RAG_EMBED_CACHE=false)")
    if running := status.get("indexing"):
        print(f"indexing     {running['done']:,} of {running['total']:,} passages (pid {running['pid']})")
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from rag.serving.api import serve

    logging.getLogger("rag").setLevel(logging.INFO)
    serve(_engine(settings), args.host or settings.api_host, args.port or settings.api_port)
    return 0


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    from rag.serving.mcp_server import run_stdio

    run_stdio(_engine(settings))
    return 0


def build_parser(
    commands: list[Callable[[argparse._SubParsersAction], object]] | None = None, wanted: str | None = None
) -> argparse.ArgumentParser:
    """The `rag` argument parser, with the commands other packages add (default: the installed `rag.commands`).

    `wanted` is the command about to run: of the installed ones, only that one is loaded (None: all, for help).
    """
    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from the documents in RAG_CORPUS_DIR.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="sync the corpus (or PATHs) into the store; only changed files are embedded")
    ingest.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: RAG_CORPUS_DIR)")
    ingest.add_argument("--rebuild", action="store_true", help="drop the store and ingest everything again")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON (no progress bar)")
    ingest.set_defaults(run=_ingest)

    search = sub.add_parser("search", help="print the passages ranked for a question")
    search.add_argument("question")
    search.add_argument("--k", type=int, default=None, help="how many passages (default: RAG_TOP_K)")
    search.add_argument("--country", action="append", metavar="NAME", help="only passages mentioning NAME (repeatable)")
    search.add_argument("--doc", action="append", metavar="NAME", help=DOC_HELP)
    search.add_argument("--json", action="store_true", help="print a JSON list")
    search.set_defaults(run=_search, one_shot=True)

    ask = sub.add_parser("ask", help="answer a question with checked citations")
    ask.add_argument("question")
    ask.add_argument("--country", action="append", metavar="NAME", help="only use passages mentioning NAME")
    ask.add_argument("--doc", action="append", metavar="NAME", help=DOC_HELP)
    ask.add_argument("--backend", choices=["openai", "openai-compatible", "local", "extractive"], default=None)
    ask.add_argument("--json", action="store_true", help="print the Answer as JSON")
    ask.set_defaults(run=_ask, one_shot=True)

    chat = sub.add_parser(
        "chat",
        help="an interactive session that keeps the conversation (one question per line when stdin is piped)",
        description=CHAT_HELP,
    )
    chat.add_argument("--country", action="append", metavar="NAME", help="only use passages mentioning NAME")
    chat.add_argument("--backend", choices=["openai", "openai-compatible", "local", "extractive"], default=None)
    chat.set_defaults(run=_chat)

    countries = sub.add_parser(
        "countries",
        help="list the countries the corpus mentions, with passage counts; with NAME, that country's brief",
        description="Without NAME: every country and grouping with its passage count. With NAME: what the article "
        "says about it, a dated timeline, agreements, pledges and figures, and the countries named alongside; "
        "every line cited with its document and character offsets.",
    )
    countries.add_argument("name", nargs="?", metavar="NAME", help="a country or grouping, e.g. Vietnam or asean")
    countries.add_argument("--json", action="store_true", help="print JSON")
    countries.set_defaults(run=_countries, one_shot=True)

    feedback = sub.add_parser("feedback", help="the thumbs up/down given to answers (RAG_FEEDBACK_FILE)")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser(
        "export",
        help="write the disliked answers as eval cases for a person to confirm",
        description="Each disliked answer becomes an eval dataset row whose cited spans are candidate evidence. "
        "Cases already in FILE are kept as edited. Prints what is left to fill in before `rag eval` scores them.",
    )
    export.add_argument("--out", required=True, type=Path, metavar="FILE", help="the dataset to write (JSONL)")
    export.set_defaults(run=_feedback_export)

    status = sub.add_parser("status", help="backend, model, documents, chunks and last ingest (no secrets)")
    status.add_argument("--json", action="store_true", help="print a JSON object")
    status.set_defaults(run=_status, one_shot=True)

    serve = sub.add_parser("serve", help="serve the OpenAI-compatible API (/v1/chat/completions) alone")
    serve.add_argument("--host", default=None, help="interface to bind (default: RAG_API_HOST, loopback)")
    serve.add_argument("--port", type=int, default=None, help="port (default: RAG_API_PORT, 8800)")
    serve.set_defaults(run=_serve)

    mcp = sub.add_parser("mcp", help="serve the MCP tools ask, search and countries over stdio")
    mcp.set_defaults(run=_mcp)

    if commands is None and wanted not in sub.choices:
        commands = plugin_commands(wanted)
    for register in commands or []:
        register(sub)
    return parser


def plugin_commands(wanted: str | None = None) -> list[Callable[[argparse._SubParsersAction], object]]:
    """The functions that add other packages' commands (the `rag.commands` entry points), in name order.

    Only `wanted`'s when given: loading a plugin imports its package (`eval` costs ~0.3 s), which a
    `rag ask` has no use for. One that fails to load is logged and left out: a broken plugin must not
    take the other commands with it.
    """
    found = []
    for point in sorted(entry_points(group=COMMANDS), key=lambda p: p.name):
        if wanted is not None and point.name != wanted:
            continue
        try:
            found.append(point.load())
        except Exception:  # whatever a plugin raises on import, `rag` itself still runs
            log.warning("command %r (%s) could not be loaded; leaving it out", point.name, point.value, exc_info=True)
    return found


def main(
    argv: list[str] | None = None, commands: list[Callable[[argparse._SubParsersAction], object]] | None = None
) -> int:
    """Entry point of the `rag` console script; `commands` as for `build_parser`."""
    given = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in given if not a.startswith("-")), None)  # the command: `rag` has no option with a value
    args = build_parser(commands, wanted).parse_args(argv)
    # A native crash (say in llama.cpp) names itself instead of exiting silently; the process's own stderr,
    # as the one in sys.stderr may be a capture with no file behind it.
    faulthandler.enable(sys.__stderr__)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # This process's own command, a read that answers once and exits (ask, search...): its start-up makes
    # ~100,000 tracked objects (Chroma, pydantic models, the engine) that live until exit, and the collector's
    # passes over them find nothing to free (~0.3 s of a cold `rag ask`). A caller passing `argv` keeps its own.
    one_shot = argv is None and getattr(args, "one_shot", False)
    if one_shot:
        gc.disable()
    try:
        code = args.run(args, Settings())
        sys.stdout.flush()  # a reader that left is noticed here, not in the interpreter's flush at exit
        return code
    except BrokenPipeError:
        return _reader_left()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        if one_shot:
            # A store that failed to open may leave Chroma's native threads holding it, and their teardown at
            # interpreter exit can abort the process (exit -6 after the message): the message is said, so go.
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        return 1
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish (nothing is left half-done)", file=sys.stderr)
        return 130
    finally:
        if one_shot:
            gc.freeze()  # the interpreter's last collection, at exit, skips them too


def _reader_left() -> int:
    """The exit status once stdout's reader has gone; whatever is still buffered goes nowhere, quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())  # the interpreter flushes stdout again at exit
    os.close(devnull)
    return CLOSED_PIPE_EXIT


if __name__ == "__main__":
    sys.exit(main())
