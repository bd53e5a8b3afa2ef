"""HTML for the chat page: escaped text, answers with citation links, source cards, the status line.

Everything the model or a document says is escaped; links survive only to a cited source's own URL
(the link policy in `render_inline`), so a planted "click here" or image in a passage renders inert.
"""

from __future__ import annotations

import html
import logging
import re
import time
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from rag.answer import ABSTAIN_TEXT, Answer, Citation
from rag.citations import MARKER, answer_sentences, plain_sentence
from rag.errors import EmptyStoreError, IndexingError, RagError, StoreError
from rag.retrieve import Hit

log = logging.getLogger("rag.ui")

CLOSEST_SHOWN = 3  # passages listed under an abstention
NO_SOURCES = '<p class="muted">Ask a question; the passages each answer cites appear here.</p>'


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
    rf"|(?P<marker>{MARKER.pattern})"
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
            n = int(MARKER.fullmatch(whole)[1])
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


def render_answer(answer: Answer, turn: int) -> str:
    """The final answer: citation links, unsupported sentences flagged, or an abstention."""
    if answer.abstained:
        return render_abstention(answer, turn)
    cited = {c.n: c for c in answer.citations}
    allowed = {url for c in answer.citations for url in source_urls(c.url)}
    unsupported = {plain_sentence(s) for s in answer.unsupported_sentences}
    text, out, pos = answer.text, [], 0
    for start, end in answer_sentences(text):
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
