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

from rag import ABSTAIN_TEXT, Answer, Citation, EmptyStoreError, Hit, IndexingError, RagError, StoreError
from rag.answering.citations import MARKER, answer_sentences, earlier_of_document, plain_sentence, same_document
from webui.text import render_corpus_text

log = logging.getLogger("rag.ui")

CLOSEST_SHOWN = 3  # passages listed under an abstention
NO_SOURCES = '<p class="muted">Ask a question; the passages each answer cites appear here.</p>'


def esc(text: object) -> str:
    """HTML-escaped text (quotes too, so it is safe inside attributes)."""
    return html.escape(str(text), quote=True)


def esc_lines(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return esc(text).replace("\r\n", "\n").replace("\n", "<br>")


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


def render_inline(
    text: str, cited: dict[int, Citation], turn: int, allowed_urls: set[str], claims: dict[int, str] | None = None
) -> str:
    """Escaped model text with `[n]` as links into the source panel; other links and images are inert.

    `claims` maps a source to the anchor of this sentence's own quoted span in it, where the link goes instead.
    """
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
                target = (claims or {}).get(n) or source_anchor(turn, n)
                out.append(f'<a class="cite" href="#{target}" title="{title}">[{n}]</a>')
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


def span_anchors(citation: Citation, turn: int) -> dict[tuple[int, int], str]:
    """(quote_start, quote_end) -> the id of that quoted span in the source panel, one per distinct span."""
    spans: dict[tuple[int, int], str] = {}
    for k, q in enumerate(citation.quotes):
        spans.setdefault((q.quote_start, q.quote_end), f"{source_anchor(turn, citation.n)}-q{k}")
    return spans


def quote_anchors(citation: Citation, turn: int) -> dict[str, str]:
    """claim -> the id of that claim's own quoted span in source `citation.n`."""
    spans = span_anchors(citation, turn)
    return {q.claim: spans[(q.quote_start, q.quote_end)] for q in citation.quotes}


LIST_ITEM = re.compile(r"[ \t]*[-*•][ \t]+")


def _answer_lines(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) per non-empty line: 'item' (a bullet, marker excluded), 'label' (a line heading the
    lines under it: "Thailand:", a part's question) or 'text'."""
    lines = []
    for match in re.finditer(r"[^\n]+", text):
        start, end = match.span()
        bullet = LIST_ITEM.match(text, start, end)
        lines.append(["item" if bullet else "text", bullet.end() if bullet else start, end])
    for i, line in enumerate(lines):
        following = lines[i + 1][0] if i + 1 < len(lines) else None
        content = text[line[1] : line[2]].strip()
        if line[0] == "text" and following is not None and not MARKER.search(content) and content[-1:] in ":?":
            line[0] = "label"
    return [(kind, start, end) for kind, start, end in lines]


def render_answer(answer: Answer, turn: int) -> str:
    """The final answer: citation links to each claim's own span, lists as lists, parts under their labels,
    unsupported sentences flagged, or an abstention (with the closest sentences cited, when it shows them)."""
    if answer.abstained and not answer.citations:
        return render_abstention(answer, turn)
    cited = {c.n: c for c in answer.citations}
    anchors = {c.n: quote_anchors(c, turn) for c in answer.citations}
    allowed = {url for c in answer.citations for url in source_urls(c.url)}
    unsupported = {plain_sentence(s) for s in answer.unsupported_sentences}
    text = answer.text

    def sentences(start: int, end: int) -> str:
        out, pos = [], start
        for s, e in answer_sentences(text[start:end]):
            sentence = text[start + s : start + e]
            claim = plain_sentence(sentence)
            claims = {n: found for n, by_claim in anchors.items() if (found := by_claim.get(claim))}
            rendered = render_inline(sentence, cited, turn, allowed, claims)
            if claim in unsupported:
                rendered = f'<span class="unsupported" title="Not supported by the cited sources">{rendered}</span>'
            out += [esc(text[pos : start + s]), rendered]
            pos = start + e
        return "".join(out)

    blocks, items = [], []
    for kind, start, end in _answer_lines(text):
        if kind == "item":
            items.append(f"<li>{sentences(start, end)}</li>")
            continue
        if items:
            blocks.append(f'<ul class="answer-list">{"".join(items)}</ul>')
            items = []
        if kind == "label":
            blocks.append(f'<p class="part-label"><strong>{esc(text[start:end].strip())}</strong></p>')
        else:
            blocks.append(f"<p>{sentences(start, end)}</p>")
    if items:
        blocks.append(f'<ul class="answer-list">{"".join(items)}</ul>')
    note = f'<p class="note">⚠ {esc(answer.note)}</p>' if answer.note else ""
    return f'<div class="answer">{note}{"".join(blocks)}</div>'


def render_abstention(answer: Answer, turn: int) -> str:
    """'The sources don't answer this', with the closest passages for the reader to judge."""
    items = "".join(
        f'<li><a href="#{source_anchor(turn, f"c{hit.rank}")}">{esc(hit.title or hit.doc_id)}</a>'
        f"{f' <span class=muted>({esc(hit.date)})</span>' if hit.date else ''}</li>"
        for hit in answer.retrieved[:CLOSEST_SHOWN]
    )
    closest = f"<p>Closest passages (they don't answer it):</p><ol>{items}</ol>" if items else ""
    return f'<div class="abstain"><p class="abstain-head">⊘ {esc(answer.text or ABSTAIN_TEXT)}</p>{closest}</div>'


def highlighted_chunk(citation: Citation, turn: int) -> str:
    """The cited chunk with its markdown rendered and every supporting span in <mark>, each claim's own span
    with the id its [n] links to (see `quote_anchors`)."""
    chunk, base = citation.chunk_text, citation.chunk_start
    ids = span_anchors(citation, turn)
    spans = {(s, e) for s, e in [*citation.highlights, (citation.quote_start, citation.quote_end)]} | set(ids)
    marks = [(s - base, e - base, ids.get((s, e), "")) for s, e in sorted(spans) if 0 <= s - base < e - base]
    if not marks and citation.quote and (found := chunk.find(citation.quote)) >= 0:
        marks = [(found, found + len(citation.quote), "")]
    return render_corpus_text(chunk, marks)


def render_quotes(citation: Citation) -> str:
    """Each answer sentence citing this source with its own quoted span (the claim is named when it differs)."""
    items = []
    for q in citation.quotes:
        claim = "" if " ".join(q.quote.split()) == q.claim else f'<div class="muted">for: {esc(q.claim)}</div>'
        items.append(
            f"<li>“{render_corpus_text(' '.join(q.quote.split()))}” "
            f'<span class="muted">chars {q.quote_start}–{q.quote_end}</span>'
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
    if answer.abstained and not answer.citations:
        heading = f"No answer to “{esc(answer.question)}”: closest passages"
        for hit in answer.retrieved[:CLOSEST_SHOWN]:
            cards.append(_closest_card(hit, turn))
    else:
        heading, earlier = f"Sources for “{esc(answer.question)}”", earlier_of_document(answer.citations)
        for c in sorted(answer.citations, key=lambda c: c.n):
            title = same_document(earlier[c.n]) if c.n in earlier else source_title(c.title or c.doc_id, c.url)
            cards.append(
                f'<article class="source" id="{source_anchor(turn, c.n)}">'
                f"<div><strong>[{c.n}]</strong> {title}</div>"
                f'<div class="meta">{source_meta(c.date, c.page, c.doc_id)}</div>'
                f"{render_quotes(c)}"
                f'<p class="chunk">{highlighted_chunk(c, turn)}</p></article>'
            )
    if not cards:
        cards.append('<p class="muted">No passages were cited.</p>')
    return f'<section class="turn-sources" id="turn-{turn}"><h4>{heading}{focus}</h4>{"".join(cards)}</section>'


def _closest_card(hit: Hit, turn: int) -> str:
    return (
        f'<article class="source closest" id="{source_anchor(turn, f"c{hit.rank}")}">'
        f"<div>{source_title(hit.title or hit.doc_id, hit.url)}</div>"
        f'<div class="meta">{source_meta(hit.date, hit.page, hit.doc_id)}</div>'
        f'<p class="chunk">{render_corpus_text(hit.text)}</p></article>'
    )


def render_panel(sections: list[str]) -> str:
    """The source panel: one section per answer, newest first, in one block (gr.HTML lays children out in a row)."""
    return f'<div class="source-list">{"".join(sections)}</div>' if sections else NO_SOURCES


def render_status(state: dict[str, Any]) -> str:
    """One line: backend and model, corpus size, last ingest, and what a running sync is doing."""
    last = state.get("last_ingest")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(last)) if last else "not in this session"
    parts = [
        f"Backend <b>{esc(state['backend'])}</b> · model <b>{esc(state['model'])}</b>"
        + (f" ({esc(state['model_role'])})" if state.get("model_role") else ""),
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
