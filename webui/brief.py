"""The country page: the brief (article, timeline, agreements, neighbours) and its source panel, as HTML.

Every line links to its passage in the panel, where the line is highlighted inside the passage it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable

from rag.brief import BriefLine, CountryBrief
from webui.render import esc, external_link, source_meta, source_title, source_urls
from webui.text import render_corpus_text

NO_BRIEF_SOURCES = '<p class="muted">Pick a country; the passage behind each line of its brief appears here.</p>'


def line_anchor(n: int) -> str:
    """The id of source `n` of the brief in its source panel."""
    return f"brief-src-{n}"


def _numbered(brief: CountryBrief) -> dict[tuple[str, int], tuple[int, BriefLine]]:
    """Each distinct line of the brief (a sentence may be in two sections) with its source number."""
    numbers: dict[tuple[str, int], tuple[int, BriefLine]] = {}
    for line in brief.article + brief.timeline + brief.agreements:
        numbers.setdefault((line.doc_id, line.start), (len(numbers) + 1, line))
    return numbers


def _line(line: BriefLine, n: int, lead: str = "", link: bool = False) -> str:
    cite = f'<a class="cite" href="#{line_anchor(n)}" title="{esc(line.title)}">[{n}]</a>'
    urls = source_urls(line.url) if link else []
    source = f' <span class="muted">· {external_link(urls[0], "source")}</span>' if urls else ""
    context = f'<span class="muted brief-context">{render_corpus_text(line.context)}</span> ' if line.context else ""
    return f"<li>{lead}{context}{render_corpus_text(line.text)} {cite}{source}</li>"


def _chart(brief: CountryBrief) -> str:
    """The countries named alongside, as bars (passages naming both)."""
    if not brief.co_mentioned:
        return ""
    top = max(n for _, n in brief.co_mentioned)
    rows = "".join(
        f'<div class="co-row"><span class="co-name">{esc(name)}</span>'
        f'<span class="co-bar" style="width: {max(2, round(60 * n / top))}%"></span>'
        f'<span class="co-count">{n}</span></div>'
        for name, n in brief.co_mentioned
    )
    return f'<h4>Mentioned alongside</h4><div class="co-chart" title="passages naming both">{rows}</div>'


def render_brief(brief: CountryBrief) -> tuple[str, str]:
    """(the brief, its source panel) as HTML."""
    if not brief.passages:
        return f"<p>The corpus does not mention <b>{esc(brief.country)}</b>.</p>", NO_BRIEF_SOURCES
    numbers = _numbered(brief)

    def n(line: BriefLine) -> int:
        return numbers[(line.doc_id, line.start)][0]

    sections = [
        (
            "What the article says",
            "ul",
            [_line(line, n(line)) for line in brief.article],
        ),
        (
            "Timeline",
            "ol",
            [_line(line, n(line), f'<span class="when">{esc(line.date)}</span> ', True) for line in brief.timeline],
        ),
        ("Agreements, pledges and figures", "ul", [_line(line, n(line)) for line in brief.agreements]),
    ]
    out = [
        f'<p class="brief-summary"><b>{esc(brief.country)}</b> is named in {brief.passages:,} passages '
        f"of {brief.documents} documents.</p>"
    ]
    for heading, tag, lines in sections:
        body = f'<{tag} class="brief-lines">{"".join(lines)}</{tag}>' if lines else '<p class="muted">None found.</p>'
        out.append(f"<h4>{heading}</h4>{body}")
    out.append(_chart(brief))
    return f'<div class="brief">{"".join(out)}</div>', render_brief_sources(numbers.values())


def render_brief_sources(numbered: Iterable[tuple[int, BriefLine]]) -> str:
    """One card per line of the brief: its document, and the passage with the line highlighted."""
    cards = []
    for n, line in sorted(numbered, key=lambda item: item[0]):
        marks = [(line.start - line.chunk_start, line.end - line.chunk_start, f"{line_anchor(n)}-line")]
        if line.context and line.context_start >= line.chunk_start:  # the sentence pointed back to, when shown
            marks.insert(0, (line.context_start - line.chunk_start, line.context_end - line.chunk_start, ""))
        cards.append(
            f'<article class="source" id="{line_anchor(n)}">'
            f"<div><strong>[{n}]</strong> {source_title(line.title or line.doc_id, line.url)}</div>"
            f'<div class="meta">{source_meta(line.date, None, f"{line.doc_id} · chars {line.start}–{line.end}")}</div>'
            f'<p class="chunk">{render_corpus_text(line.chunk_text, marks)}</p></article>'
        )
    return f'<div class="source-list">{"".join(cards)}</div>' if cards else NO_BRIEF_SOURCES
