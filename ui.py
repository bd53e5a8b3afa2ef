"""Gradio chat UI: layout, event wiring and HTML rendering only; the work happens in `rag/`.

Run it::

    python ui.py                       # http://127.0.0.1:7860 (loopback only)
    python ui.py --host 0.0.0.0 --port 8080     # or GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
    RAG_UI_AUTH=alice:s3cret python ui.py       # require a login
    RAG_ALLOW_UPLOAD=true python ui.py          # let users add documents (stored in corpus/uploads/)

On start it syncs the corpus into the store in the background (a full ingest the first
time, only changed files afterwards); the status line shows how that is going.

Scripts can call the same engine through the `ask` endpoint::

    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")  # add auth=("alice", "s3cret") when RAG_UI_AUTH is set
    result = client.predict("What did Japan pledge to the Philippines?", ["Philippines"], api_name="/ask")
    print(result["answer"])
    for citation in result["citations"]:
        print(citation["n"], citation["title"], citation["url"], citation["quote"])

`countries` may be None (no filter); a third argument, `docs`, limits the answer to the named
documents (file names or titles, as `rag ask --doc`). The result is `Answer.to_dict()` (as printed by
`rag ask --json`) plus "answer": the text with its [n] markers. Errors (an empty question,
an unknown country...) come back as a `gradio_client` AppError carrying the message.
`/search` and `/countries` work the same way; all three are also MCP tools at
http://127.0.0.1:7860/gradio_api/mcp/, and the same process serves the OpenAI-compatible
API (rag/api.py) at http://127.0.0.1:7860/v1.
"""

from __future__ import annotations

import argparse
import html
import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import gradio as gr
import pandas as pd
import uvicorn
from fastapi import FastAPI
from starlette.middleware import Middleware

from ingest.chunking import sentence_spans
from rag.answer import ABSTAIN_TEXT, Answer, Citation
from rag.api import LOOPBACK, create_api
from rag.citations import MARKER
from rag.engine import Engine
from rag.errors import EmptyStoreError, IndexingError, RagError, StoreError
from rag.mcp_server import countries_result, search_result
from rag.overview import corpus_countries, country_profile
from rag.retrieve import Hit
from rag.settings import Settings
from rag.upload import ALLOWED_SUFFIXES, add_upload

log = logging.getLogger("rag.ui")

EXAMPLES = [
    "What is happening at Ream Naval Base?",
    "What did Japan pledge to the Philippines?",
    "How is Cambodia hedging between Japan and China?",
    "What did the United States and Vietnam agree on semiconductors?",
]
CLOSEST_SHOWN = 3  # passages listed under an abstention
# Failed logins one client may make before its logins are refused: for 1 s, then 2, 4... up to 5 minutes.
LOGIN_FREE_FAILURES, LOGIN_BACKOFF_S, LOGIN_BACKOFF_MAX_S = 5, 1.0, 300.0
LOGIN_FORGET_S = 3600.0  # failures older than this are forgotten
NO_SOURCES = '<p class="muted">Ask a question; the passages each answer cites appear here.</p>'

CSS = """
#sources-panel { flex-wrap: nowrap; }
#sources { overflow-x: hidden; padding-right: 4px; }
.muted { color: var(--body-text-color-subdued); }
.answer p { margin: 0; }
a.cite { color: var(--color-accent); text-decoration: none; font-weight: 600; font-size: 0.85em; padding: 0 1px; }
.unsupported { background: rgba(245, 158, 11, 0.18); border-bottom: 2px dashed #d97706; }
.unsupported::before { content: "⚠ "; }
.note { background: rgba(245, 158, 11, 0.12); padding: 4px 8px; border-radius: 4px; }
.quotes { margin: 4px 0; padding-left: 1.2em; font-size: 0.9em; }
.inert { color: var(--body-text-color-subdued); }
.abstain { border-left: 4px solid #64748b; padding: 4px 10px; background: rgba(100, 116, 139, 0.10); }
.abstain .abstain-head { font-weight: 600; margin: 0 0 4px 0; }
.abstain ol { margin: 4px 0 0 0; padding-left: 20px; }
.streaming .cursor { animation: blink 1s steps(2, start) infinite; }
@keyframes blink { to { visibility: hidden; } }
.error { border-left: 4px solid #dc2626; padding: 4px 10px; background: rgba(220, 38, 38, 0.08); }
.turn-sources h4 { margin: 8px 0 6px 0; }
.source { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin-bottom: 8px; }
.source:target { outline: 2px solid var(--color-accent); }
.source .meta { font-size: 0.85em; color: var(--body-text-color-subdued); margin: 2px 0 6px 0; }
.source .chunk { font-size: 0.9em; line-height: 1.45; margin: 0; overflow-wrap: anywhere; }
.source.closest { border-style: dashed; }
mark { background: #fde68a; color: #111827; padding: 0 1px; border-radius: 2px; }
#status { font-size: 0.9em; color: var(--body-text-color-subdued); }
#status .busy { color: #b45309; }
#status .failed { color: #dc2626; }
"""
THEME = gr.themes.Soft(primary_hue="indigo")


# --------------------------------------------------------------------------- background ingest


class CorpusSync:
    """Runs `engine.ingest` off the request threads and keeps what the status line shows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.generation = 0  # bumped after each ingest; pages refresh their country lists on a change
        self.running = False
        self.started_at: float | None = None
        self.message = ""
        self.failed = False
        self._lock = threading.Lock()
        self._status = engine.status()

    def start(self, paths: list[Path] | None = None) -> threading.Thread:
        """Sync `paths` (default: the whole corpus dir) in a daemon thread."""
        with self._lock:
            self.running, self.started_at, self.failed = True, time.time(), False
        thread = threading.Thread(target=self._run, args=(paths,), name="corpus-sync", daemon=True)
        thread.start()
        return thread

    def _run(self, paths: list[Path] | None) -> None:
        try:
            report = self.engine.ingest(paths, progress=True)
            message, failed = f"Corpus synced: {report.summary()}", False
            if report.chunks:
                self.engine.retriever.retrieve("warm-up", k=1)  # load the models now, not on the first question
        except RagError as exc:
            log.warning("corpus sync failed: %s", exc)
            message, failed = f"Corpus sync failed: {user_message(exc)}", True
        except Exception:
            log.exception("corpus sync failed")
            message, failed = "Corpus sync failed; see the server log.", True
        with self._lock:
            self.running, self.failed, self.message = False, failed, message
        self.refresh()

    def refresh(self) -> None:
        """Re-read the store's status after an ingest (the background one, or an upload's)."""
        try:
            status = self.engine.status()
        except RagError as exc:  # the failure itself is what the caller reports
            log.warning("cannot read the store's status: %s", exc)
            return
        with self._lock:
            self._status = status
            self.generation += 1

    def describe(self) -> dict[str, Any]:
        """A snapshot for the status line: the engine status plus what the sync is doing."""
        with self._lock:
            state = {
                **self._status,
                "running": self.running,
                "failed": self.failed,
                "message": self.message,
                "generation": self.generation,
            }
            if self.running:
                state["elapsed"] = time.time() - (self.started_at or time.time())
        if state["running"]:
            state["chunks"] = self.engine.store.count()  # grows as groups are embedded
        running = self.engine.indexing()  # this process's ingest, or another process's on the same store
        state["indexing"] = None if running is None else running.as_dict()
        return state


# --------------------------------------------------------------------------- HTML rendering


def esc(text: object) -> str:
    """HTML-escaped text (quotes too, so it is safe inside attributes)."""
    return html.escape(str(text), quote=True)


def esc_lines(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return esc(text).replace("\r\n", "\n").replace("\n", "<br>")


def esc_paragraphs(text: str) -> str:
    """Escaped document text: blank lines break paragraphs, hard-wrapped lines flow together."""
    return re.sub(r"\n[ \t]*(?:\n\s*)+", "<br><br>", esc(text).replace("\r\n", "\n")).replace("\n", " ")


def source_urls(field: str | None) -> list[str]:
    """The absolute http(s) URLs in a document's `url` field (it may list several, "a ; b")."""
    urls = []
    for piece in re.split(r"[\s;]+", field or ""):
        parsed = urlparse(piece)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            urls.append(piece)
    return urls


def external_link(url: str, label: str) -> str:
    """A link that opens a source in a new tab."""
    return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'


def source_anchor(turn: int, n: int | str) -> str:
    """The id of source `n` of answer `turn` in the source panel."""
    return f"src-{turn}-{n}"


INLINE = re.compile(
    r"(?P<image>!\[(?P<alt>[^\]\n]*)\]\((?P<src>[^()\s]*)(?:\s+\"[^\"\n]*\")?\))"
    r"|(?P<link>\[(?P<label>[^\]\n]+)\]\((?P<href>[^()\s]*)(?:\s+\"[^\"\n]*\")?\))"
    r"|(?P<marker>\[(?P<n>\d+)\])"
    r"|(?P<url>\bhttps?://[^\s<>\"'()\[\]]+)"
)


def render_inline(text: str, cited: dict[int, Citation], turn: int, allowed_urls: set[str]) -> str:
    """Escaped model text with `[n]` as links into the source panel; other links and images are inert."""
    out, pos = [], 0
    for match in INLINE.finditer(text):
        whole, tail = match.group(0), ""
        if match["url"]:
            stripped = whole.rstrip(".,;:!?")
            whole, tail = stripped, whole[len(stripped) :]
        out.append(esc_lines(text[pos : match.start()]))
        if match["marker"]:
            n = int(match["n"])
            if n in cited:
                title = esc(cited[n].title)
                out.append(f'<a class="cite" href="#{source_anchor(turn, n)}" title="{title}">[{n}]</a>')
            else:
                out.append(esc(whole))
        else:
            target = match["src"] if match["image"] else match["href"] if match["link"] else whole
            label = match["alt"] if match["image"] else match["label"] if match["link"] else whole
            if target in allowed_urls:  # images become links too: the model never embeds content
                out.append(external_link(target, label or target))
            else:
                out.append(f'<span class="inert" title="Link removed: not a cited source">{esc(whole)}</span>')
        out.append(esc(tail))
        pos = match.end()
    out.append(esc_lines(text[pos:]))
    return "".join(out)


def render_streaming(text: str) -> str:
    """The answer while it is being written: plain escaped text and a cursor."""
    return f'<div class="answer streaming">{esc_lines(text)}<span class="cursor">▍</span></div>'


def render_error(message: str) -> str:
    """A RagError's message (never a stack trace) as a chat message."""
    return f'<div class="error">⚠ {esc_lines(message)}</div>'


def render_incomplete(text: str, message: str) -> str:
    """What an answer that broke off had written so far, marked incomplete, and why it stopped."""
    if not text.strip():
        return render_error(message)
    return f'<div class="answer incomplete">{esc_lines(text)} <i>(incomplete)</i></div>{render_error(message)}'


def user_message(exc: RagError, syncing: bool = False) -> str:
    """What a UI user is told about `exc`: store errors without server paths or raw error text.

    An empty store while the background sync is starting (before its ingest has taken the store) is the
    first ingest, so it gets the indexing message rather than an instruction to run `rag ingest`.
    """
    if isinstance(exc, EmptyStoreError) and syncing:
        return str(IndexingError(0, 0, None))
    if isinstance(exc, StoreError):
        log.warning("%s", exc)  # the operator's version, paths and all
        return exc.public
    return str(exc)


def plain_sentence(sentence: str) -> str:
    """A sentence without its [n] markers and with normalised spaces, to match `unsupported_sentences`."""
    return re.sub(r"\s+(?=[.,;:!?])", "", " ".join(MARKER.sub("", sentence).split()))


def render_answer(answer: Answer, turn: int) -> str:
    """The final answer: citation links, unsupported sentences flagged, or an abstention."""
    if answer.abstained:
        return render_abstention(answer, turn)
    cited = {c.n: c for c in answer.citations}
    allowed = {url for c in answer.citations for url in source_urls(c.url)}
    unsupported = {plain_sentence(s) for s in answer.unsupported_sentences}
    text, out, pos = answer.text, [], 0
    for start, end in sentence_spans(text, 0, len(text)):
        out.append(esc_lines(text[pos:start]))
        sentence = text[start:end]
        rendered = render_inline(sentence, cited, turn, allowed)
        if plain_sentence(sentence) in unsupported:
            rendered = f'<span class="unsupported" title="Not supported by the cited sources">{rendered}</span>'
        out.append(rendered)
        pos = end
    out.append(esc_lines(text[pos:]))
    note = f'<p class="note">⚠ {esc(answer.note)}</p>' if answer.note else ""
    return f'<div class="answer">{note}{"".join(out)}</div>'


def render_abstention(answer: Answer, turn: int) -> str:
    """'The sources don't answer this', with the closest passages for the reader to judge."""
    items = "".join(
        f'<li><a href="#{source_anchor(turn, f"c{hit.rank}")}">{esc(hit.title or hit.doc_id)}</a>'
        f"{f' <span class=muted>({esc(hit.date)})</span>' if hit.date else ''}</li>"
        for hit in answer.retrieved[:CLOSEST_SHOWN]
    )
    closest = f"<p>Closest passages (they don't answer it):</p><ol>{items}</ol>" if items else ""
    return f'<div class="abstain"><p class="abstain-head">⊘ {esc(answer.text or ABSTAIN_TEXT)}</p>{closest}</div>'


def highlighted_chunk(citation: Citation) -> str:
    """The cited chunk, escaped, with every supporting span (the quote at least) in <mark>."""
    chunk, base = citation.chunk_text, citation.chunk_start
    spans = sorted(
        {(s - base, e - base) for s, e in [*citation.highlights, (citation.quote_start, citation.quote_end)]}
    )
    spans = [(s, e) for s, e in spans if 0 <= s < e <= len(chunk)]
    if not spans:
        found = chunk.find(citation.quote) if citation.quote else -1
        spans = [(found, found + len(citation.quote))] if found >= 0 else []
    out, pos = [], 0
    for start, end in spans:
        start = max(start, pos)
        if start < end:
            out += [esc_paragraphs(chunk[pos:start]), f"<mark>{esc_paragraphs(chunk[start:end])}</mark>"]
            pos = end
    out.append(esc_paragraphs(chunk[pos:]))
    return "".join(out)


def render_quotes(citation: Citation) -> str:
    """Each answer sentence citing this source with its own quoted span (the claim is named when it differs)."""
    items = []
    for q in citation.quotes:
        claim = "" if " ".join(q.quote.split()) == q.claim else f'<div class="muted">for: {esc(q.claim)}</div>'
        items.append(
            f'<li>“{esc(" ".join(q.quote.split()))}” <span class="muted">chars {q.quote_start}–{q.quote_end}</span>'
            f"{claim}</li>"
        )
    return f'<ul class="quotes">{"".join(items)}</ul>' if items else ""


def source_meta(date: str, page: int | None, extra: str = "") -> str:
    """'date · page n · extra', whichever are known."""
    parts = [esc(date)] if date else []
    if page is not None:
        parts.append(f"page {page}")
    if extra:
        parts.append(esc(extra))
    return " · ".join(parts)


def source_title(title: str, url: str) -> str:
    """The document title, linked to its URL when it has a safe one."""
    links = source_urls(url)
    return external_link(links[0], title) if links else esc(title)


def render_sources(answer: Answer, turn: int) -> str:
    """The source-panel section for one answer: every cited passage, or the closest ones on abstention."""
    focus = f' <span class="muted">(focus: {esc(", ".join(answer.countries))})</span>' if answer.countries else ""
    cards = []
    if answer.abstained:
        heading = f"No answer to “{esc(answer.question)}”: closest passages"
        for hit in answer.retrieved[:CLOSEST_SHOWN]:
            cards.append(_closest_card(hit, turn))
    else:
        heading = f"Sources for “{esc(answer.question)}”"
        for c in sorted(answer.citations, key=lambda c: c.n):
            cards.append(
                f'<article class="source" id="{source_anchor(turn, c.n)}">'
                f"<div><strong>[{c.n}]</strong> {source_title(c.title or c.doc_id, c.url)}</div>"
                f'<div class="meta">{source_meta(c.date, c.page, c.doc_id)}</div>'
                f"{render_quotes(c)}"
                f'<p class="chunk">{highlighted_chunk(c)}</p></article>'
            )
    if not cards:
        cards.append('<p class="muted">No passages were cited.</p>')
    return f'<section class="turn-sources" id="turn-{turn}"><h4>{heading}{focus}</h4>{"".join(cards)}</section>'


def _closest_card(hit: Hit, turn: int) -> str:
    return (
        f'<article class="source closest" id="{source_anchor(turn, f"c{hit.rank}")}">'
        f"<div>{source_title(hit.title or hit.doc_id, hit.url)}</div>"
        f'<div class="meta">{source_meta(hit.date, hit.page, hit.doc_id)}</div>'
        f'<p class="chunk">{esc_paragraphs(hit.text)}</p></article>'
    )


def render_panel(sections: list[str]) -> str:
    """The source panel: one section per answer, newest first, in one block (gr.HTML lays children out in a row)."""
    return f'<div class="source-list">{"".join(sections)}</div>' if sections else NO_SOURCES


def render_status(state: dict[str, Any]) -> str:
    """One line: backend and model, corpus size, last ingest, and what a running sync is doing."""
    last = state.get("last_ingest")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last)) if last else "not in this session"
    parts = [
        f"Backend <b>{esc(state['backend'])}</b> · model <b>{esc(state['model'])}</b>",
        f"{state['documents']:,} documents · {state['chunks']:,} chunks",
        f"last ingest {esc(when)}",
    ]
    if running := state.get("indexing"):
        parts.append(f'<span class="busy">⟳ {esc(indexing_line(running))}</span>')
    elif state.get("running"):
        parts.append(f'<span class="busy">⟳ syncing the corpus… ({state.get("elapsed", 0):.0f} s)</span>')
    elif state.get("failed"):
        parts.append(f'<span class="failed">⚠ {esc(state["message"])}</span>')
    return " | ".join(parts)


def indexing_line(running: dict[str, Any]) -> str:
    """What an ingest in progress is doing, for the status line: passages done, time left, what answers use."""
    if not running["total"]:
        doing = "Indexing the corpus: reading and splitting the files"
    else:
        eta = running.get("eta_s")
        left = f", about {max(1, round(eta))} s left" if eta is not None else ""
        doing = f"Indexing the corpus: {running['done']:,} of {running['total']:,} passages{left}"
    if running["first"]:
        return f"{doing}. Questions can be answered when it is done."
    return f"{doing}. Answers use the corpus as it was until then."


def render_passages(profile: dict[str, Any]) -> str:
    """The country view's top passages, with the country's mentions in <mark>."""
    cards = []
    for p in profile["passages"]:
        text, out, pos = p["text"], [], 0
        for start, end in p["mentions"]:
            out += [esc_paragraphs(text[pos:start]), f"<mark>{esc(text[start:end])}</mark>"]
            pos = end
        out.append(esc_paragraphs(text[pos:]))
        cards.append(
            f'<article class="source"><div>{source_title(p["title"] or p["doc_id"], p["url"])}</div>'
            f'<div class="meta">{source_meta(p["date"], p["page"], p["doc_id"])}</div>'
            f'<p class="chunk">{"".join(out)}</p></article>'
        )
    return "".join(cards) or '<p class="muted">No passages mention it.</p>'


def mentions_frame(profile: dict[str, Any]) -> pd.DataFrame:
    """Mentions per document, labelled by short title and date, for the bar chart."""
    labels, counts = [], []
    for doc in profile["documents"]:
        title = doc["title"] if len(doc["title"]) <= 34 else doc["title"][:32].rstrip() + "…"
        labels.append(f"{title} ({doc['date']})" if doc["date"] else title)
        counts.append(doc["mentions"])
    # Explicit dtypes: an empty frame would otherwise be "object" and plot as categories.
    return pd.DataFrame({"document": pd.Series(labels, dtype=str), "mentions": pd.Series(counts, dtype="int64")})


# --------------------------------------------------------------------------- app


def country_choices(engine: Engine) -> list[tuple[str, str]]:
    """Dropdown choices: 'Japan (123)' -> 'Japan', most mentioned first."""
    return [(f"{name} ({count})", name) for name, count in corpus_countries(engine.store)]


def document_choices(engine: Engine) -> list[tuple[str, str]]:
    """Dropdown choices: 'Title (file)' -> the document's id, in title order."""
    documents = engine.retriever.documents() if engine.store.count() else {}
    labelled = [(f"{meta.get('title') or doc_id} ({doc_id})", doc_id) for doc_id, meta in documents.items()]
    return sorted(labelled, key=lambda choice: choice[0].casefold())


def new_session() -> dict[str, Any]:
    """Per-browser-tab state: what the chat shows, the plain history the engine sees, the source panel."""
    return {"turn": 0, "chat": [], "history": [], "panels": []}


def build_app(engine: Engine, settings: Settings, sync: CorpusSync | None = None) -> gr.Blocks:
    """The Gradio app: chat with sources, country view, status line, optional upload and the `ask` API."""
    sync = sync or CorpusSync(engine)
    choices = country_choices(engine)

    def respond(
        question: str, countries: list[str] | None, session: dict, docs: list[str] | None = None
    ) -> Iterator[tuple]:
        if not (question or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn = session["turn"] + 1
        chat = [*session["chat"], {"role": "user", "content": esc_lines(question or "")}]
        reply = {"role": "assistant", "content": render_streaming("")}
        panels = session["panels"]
        yield "", [*chat, reply], gr.skip(), gr.skip()
        answer, text = None, ""
        try:
            for item in engine.stream(question, session["history"], countries or None, docs=docs or None):
                if isinstance(item, Answer):
                    answer = item
                else:
                    text += item
                    reply = {"role": "assistant", "content": render_streaming(text)}
                    yield gr.skip(), [*chat, reply], gr.skip(), gr.skip()
        except RagError as exc:
            message = user_message(exc, sync.running)
            log.info("question not answered: %s", message)
            reply = {"role": "assistant", "content": render_incomplete(text, message)}
        except Exception:
            log.exception("answering %r failed", question)
            message = "Something went wrong; see the server log."
            reply = {"role": "assistant", "content": render_incomplete(text, message)}
        if answer is None:
            session = {**session, "chat": [*chat, reply]}
            yield gr.skip(), session["chat"], gr.skip(), session
            return
        reply = {"role": "assistant", "content": render_answer(answer, turn)}
        panels = [render_sources(answer, turn), *panels]
        session = {
            "turn": turn,
            "chat": [*chat, reply],
            "history": [
                *session["history"],
                {"role": "user", "content": answer.question},
                {"role": "assistant", "content": answer.text},
            ],
            "panels": panels,
        }
        yield gr.skip(), session["chat"], render_panel(panels), session

    def clear() -> tuple:
        return "", [], NO_SOURCES, new_session()

    def ask(
        question: str | None = None, countries: list[str] | None = None, docs: list[str] | None = None
    ) -> dict[str, Any]:
        """Answer a question from the corpus with checked citations.

        Args:
            question: the question, in plain words.
            countries: answer only from passages that mention any of these countries or groupings, e.g. ["Japan"].
            docs: answer only from these documents (file names or titles, as `rag ask --doc`).

        Returns:
            The answer (with [n] markers), whether it abstained, and its citations: n, title, url, doc_id,
            quote, and quote_start/quote_end (the quote's character offsets in the document).
        """
        answer = api_call(
            lambda: engine.ask(question, countries=countries or None, docs=docs or None), question, sync.running
        )
        return {"answer": answer.text, **answer.to_dict()}

    def search(question: str | None = None, k: int = 5, countries: list[str] | None = None) -> list[dict[str, Any]]:
        """The passages ranked best for a question, with their documents and character offsets.

        Args:
            question: what to look for.
            k: how many passages (1 to 50).
            countries: only passages that mention any of these countries or groupings.

        Returns:
            Passages best first: rank, title, url, doc_id, date, text, start/end offsets, countries, score.
        """
        return api_call(lambda: search_result(engine, question, k, countries or None), question, sync.running)

    def countries() -> list[dict[str, Any]]:
        """The countries and groupings the corpus mentions, each with the number of passages mentioning it.

        Returns:
            [{"country": name, "chunks": passages mentioning it}], most mentioned first.
        """
        return api_call(lambda: countries_result(engine), "countries")

    def show_country(country: str | None) -> tuple:
        if not country:
            return "", mentions_frame({"documents": []}), ""
        try:
            profile = country_profile(engine.store, engine.retriever, country)
        except RagError as exc:
            return render_error(user_message(exc)), mentions_frame({"documents": []}), ""
        summary = (
            f"<b>{esc(profile['country'])}</b> is mentioned {profile['mentions']:,} times in "
            f"{len(profile['documents'])} documents ({profile['chunks']:,} chunks)."
        )
        return summary, mentions_frame(profile), render_passages(profile)

    def on_upload(path: str | None) -> tuple:
        if not path:
            return gr.skip(), gr.skip()
        try:
            dest, report = add_upload(engine, path, Path(path).name)
        except RagError as exc:
            return render_error(user_message(exc)), None
        finally:
            sync.refresh()
        rel = dest.relative_to(settings.corpus_dir.resolve()).as_posix()
        return f"<p>Added <b>{esc(rel)}</b> ({esc(report.summary())}). Ask about it now.</p>", None

    def tick(seen: int) -> tuple:
        state = sync.describe()
        if state["generation"] == seen:
            return render_status(state), gr.skip(), gr.skip(), gr.skip(), seen
        fresh = country_choices(engine)
        documents = gr.update(choices=document_choices(engine))
        return render_status(state), gr.update(choices=fresh), gr.update(choices=fresh), documents, state["generation"]

    with gr.Blocks(title="Diplomatic Overdrive: cited answers", analytics_enabled=False) as app:
        gr.Markdown(
            "## Diplomatic Overdrive: cited answers\nAsk about Japan's partnerships in Southeast Asia "
            "and the Pacific; every answer cites the passages it rests on."
        )
        status = gr.HTML(render_status(sync.describe()), elem_id="status")
        session = gr.State(new_session())
        seen = gr.State(sync.generation)
        with gr.Tab("Ask"), gr.Row(equal_height=False):
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="chat",
                    label="Chat",
                    show_label=False,
                    height=520,
                    render_markdown=False,  # messages are our own escaped HTML
                    latex_delimiters=[],  # and nothing in them is interpreted, not even $$math$$
                    sanitize_html=True,
                    feedback_options=None,
                    buttons=["copy", "copy_all"],  # no "share": nothing leaves this machine
                    placeholder="Ask a question about the corpus, or pick an example below.",
                )
                with gr.Row():
                    question = gr.Textbox(
                        elem_id="question",
                        show_label=False,
                        placeholder="e.g. What did Japan pledge to the Philippines?",
                        max_length=settings.max_question_chars,
                        autofocus=True,
                        scale=6,
                    )
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
                with gr.Row():
                    focus = gr.Dropdown(
                        choices=choices,
                        multiselect=True,
                        label="Country focus",
                        info="Answer only from passages that mention any of these.",
                        elem_id="focus",
                        scale=6,
                    )
                    doc_focus = gr.Dropdown(
                        choices=document_choices(engine),
                        multiselect=True,
                        label="Document focus",
                        info="Answer only from these documents.",
                        elem_id="doc-focus",
                        scale=6,
                    )
                    clear_button = gr.Button("Clear", elem_id="clear", scale=1, min_width=80)
                gr.Examples(EXAMPLES, inputs=question, label="Examples")
                if settings.allow_upload:
                    with gr.Accordion("Add a document", open=False, elem_id="add-document"):
                        upload = gr.File(
                            label=f"{', '.join(ALLOWED_SUFFIXES)}; up to {settings.upload_max_mb:g} MB",
                            file_types=list(ALLOWED_SUFFIXES),
                            type="filepath",
                            elem_id="upload",
                        )
                        upload_result = gr.HTML(elem_id="upload-result")
                    upload.upload(on_upload, upload, [upload_result, upload], api_visibility="private")
            with gr.Column(scale=2, elem_id="sources-panel"):
                gr.Markdown("### Sources")
                sources = gr.HTML(NO_SOURCES, elem_id="sources", max_height=720)
        with gr.Tab("Countries"):
            country = gr.Dropdown(choices=choices, value=None, label="Country or grouping", elem_id="country")
            summary = gr.HTML()
            plot = gr.BarPlot(
                None,
                x="document",
                y="mentions",
                title="Mentions per document",
                sort="-y",
                x_label_angle=-20,
                y_lim=[0, None],
                height=420,
            )
            passages = gr.HTML()
            country.change(show_country, country, [summary, plot, passages], api_visibility="private")

        chat_event = {
            "fn": respond,
            "inputs": [question, focus, session, doc_focus],
            "outputs": [question, chatbot, sources, session],
            "concurrency_limit": settings.ui_concurrency,
            "concurrency_id": "chat",
            "api_visibility": "private",
        }
        question.submit(**chat_event)
        ask_button.click(**chat_event)
        clear_button.click(clear, None, [question, chatbot, sources, session], queue=False, api_visibility="private")
        chatbot.clear(clear, None, [question, chatbot, sources, session], queue=False, api_visibility="private")
        timer = gr.Timer(2.0)
        timer.tick(
            tick,
            seen,
            [status, focus, country, doc_focus, seen],
            show_progress="hidden",
            queue=False,
            api_visibility="private",
        )
        gr.api(ask, api_name="ask", concurrency_limit=settings.ui_concurrency, concurrency_id="ask")
        gr.api(search, api_name="search", concurrency_limit=settings.ui_concurrency, concurrency_id="ask")
        gr.api(countries, api_name="countries", concurrency_limit=settings.ui_concurrency, concurrency_id="ask")
    return app


def api_call(fn: Callable[[], Any], what: object, syncing: bool = False) -> Any:
    """`fn()`, its errors turned into messages for API and MCP callers (never a traceback)."""
    try:
        return fn()
    except RagError as exc:
        message = user_message(exc, syncing)
        log.info("API call for %r refused: %s", what, message)
        raise gr.Error(message, print_exception=False) from None
    except Exception:
        log.exception("API call for %r failed", what)
        raise gr.Error("Something went wrong; see the server log.") from None


def login(settings: Settings) -> tuple[str, str] | None:
    """(user, password) from RAG_UI_AUTH="user:password", or None when no login is required."""
    if settings.ui_auth is None:
        return None
    user, sep, password = settings.ui_auth.get_secret_value().partition(":")
    if not (sep and user and password):
        raise RagError("RAG_UI_AUTH must look like user:password (both non-empty).")
    return user, password


class LoginThrottle:
    """ASGI middleware in front of Gradio's /login: after a few failed logins from one client, its next logins are
    refused (HTTP 429, Retry-After) for a time that doubles with each further failure; every refusal is logged.

    Gradio's auth callback sees only the user name and password, so the client is told apart here, by address
    (behind a reverse proxy every client shares the proxy's address, and so one backoff).
    """

    def __init__(self, app: Any, free: int = LOGIN_FREE_FAILURES, first_s: float = LOGIN_BACKOFF_S) -> None:
        self.app, self.free, self.first_s = app, free, first_s
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (failed logins, when the last one was)
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Refuse a throttled client's login; otherwise pass it to Gradio and count the outcome."""
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        if (wait := self.wait_s(client)) > 0:
            log.warning("login from %s refused: too many failed logins; it may try again in %.0f s", client, wait)
            await self._refuse(send, wait)
            return
        status: list[int] = []

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        self._record(client, ok=status == [200])

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try to log in again (0: now)."""
        with self._lock:
            failures, last = self._failures.get(client, (0, 0.0))
        if failures < self.free:
            return 0.0
        return max(0.0, last + self._backoff(failures) - time.monotonic())

    def _backoff(self, failures: int) -> float:
        return min(LOGIN_BACKOFF_MAX_S, self.first_s * 2 ** (failures - self.free))

    def _record(self, client: str, ok: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if ok:
                self._failures.pop(client, None)
                return
            failures, last = self._failures.get(client, (0, 0.0))
            if now - last > LOGIN_FORGET_S:  # a typo last week doesn't count against today
                failures = 0
            failures += 1
            self._failures[client] = (failures, now)
            if len(self._failures) > 10_000:  # many clients: forget those quiet the longest
                for old in sorted(self._failures, key=lambda c: self._failures[c][1])[:5000]:
                    del self._failures[old]
        if failures >= self.free:
            log.warning(
                "%d failed logins in a row from %s; its logins are refused for the next %.0f s",
                failures, client, self._backoff(failures),
            )  # fmt: skip

    @staticmethod
    async def _refuse(send: Any, wait: float) -> None:
        body = json.dumps({"detail": f"Too many failed logins; try again in {math.ceil(wait)} s."}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(math.ceil(wait)).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def gradio_options(settings: Settings) -> dict[str, Any]:
    """How the app is served, alone (`launch`) or mounted beside the API (`build_server`)."""
    return {
        "auth": login(settings),
        "theme": THEME,
        "css": CSS,
        "show_error": False,
        "max_file_size": int(settings.upload_max_mb * 1e6),
        "ssr_mode": False,
        "mcp_server": True,  # the ask/search/countries endpoints as MCP tools at /gradio_api/mcp/
        "app_kwargs": {"middleware": [Middleware(LoginThrottle)]} if settings.ui_auth is not None else None,
    }


def launch(app: gr.Blocks, settings: Settings, host: str, port: int, **kwargs: Any) -> tuple:
    """Serve the Gradio app alone on host:port with our theme and CSS, the optional login, and no share link."""
    if host not in LOOPBACK and settings.ui_auth is None:
        log.warning("serving on %s without a login; set RAG_UI_AUTH=user:password", host)
    return app.queue(default_concurrency_limit=settings.ui_concurrency).launch(
        server_name=host, server_port=port, share=False, **gradio_options(settings), **kwargs
    )


def build_server(engine: Engine, settings: Settings, sync: CorpusSync | None = None) -> FastAPI:
    """What `python ui.py` serves: the OpenAI-compatible API under /v1 and the Gradio app (with MCP) at /."""
    blocks = build_app(engine, settings, sync).queue(default_concurrency_limit=settings.ui_concurrency)
    return gr.mount_gradio_app(create_api(engine), blocks, path="/", **gradio_options(settings))


def main(argv: list[str] | None = None) -> int:
    """`python ui.py [--host H] [--port P] [--no-sync]`."""
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python ui.py", description="Serve the chat UI.")
    parser.add_argument("--host", default=settings.ui_host, help="interface to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=settings.ui_port, help="port (default %(default)s)")
    parser.add_argument("--no-sync", action="store_true", help="serve the store as it is; don't sync the corpus")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        engine = Engine.from_settings(settings)
        sync = CorpusSync(engine)
        if not args.no_sync:
            sync.start()
        if args.host not in LOOPBACK and (settings.ui_auth is None or settings.api_key is None):
            log.warning("serving on %s without RAG_UI_AUTH and RAG_API_KEY: anyone who can reach it can ask", args.host)
        uvicorn.run(build_server(engine, settings, sync), host=args.host, port=args.port, log_level="warning")
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
