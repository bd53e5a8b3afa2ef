"""Corpus text as safe HTML: its markdown (bold, italics, underline, lists, headings) rendered, everything else escaped.

Passages are cut from documents at arbitrary points, so their markup may be unbalanced; a marker is never shown
raw. Text is rendered in runs of one style (bold, italic, underline, highlighted), each run closing every tag it
opens, so highlights at any offsets nest correctly whatever the markup around them.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

LINE_START = r"[ \t\xa0]*(?P<item>(?:[-*+•]|\d{1,3}[.)])[ \t]+)?(?P<heading>#{1,6}[ \t]+)?"
# `**` is tried before `*`; list markers and headings count only at the start of a line.
TOKEN = re.compile(
    rf"(?P<line>\n(?:[ \t\xa0]*\n)*){LINE_START}"
    r"|(?P<bold>\*\*|__)"
    r"|(?P<under></?u>)"
    r"|(?P<italic>(?<![\w*])\*(?=[^\s*])|(?<=[^\s*])\*(?![\w*]))"
    r"|(?P<escape>\\(?=[\\`*_{}\[\]()#+\-.!<>]))",
    re.I,
)
FIRST_LINE = re.compile(LINE_START)


@dataclass
class _Style:
    bold: bool = False
    italic: bool = False
    under: bool = False
    heading: bool = False  # bold until the end of the line


def _run(text: str, style: _Style, anchor: str | None) -> str:
    """One run of text in one style; every tag it opens, it closes."""
    if not text:
        return ""
    out = html.escape(text, quote=True)
    for on, tag in ((style.under, "u"), (style.italic, "em"), (style.bold or style.heading, "strong")):
        if on:
            out = f"<{tag}>{out}</{tag}>"
    if anchor is not None:
        out = f'<mark id="{html.escape(anchor, quote=True)}">{out}</mark>' if anchor else f"<mark>{out}</mark>"
    return out


def _line_start(
    match: re.Match[str], style: _Style, out: list[str], paragraph: bool | None, hard: bool = False
) -> None:
    """A new line (`paragraph`: after a blank one; None: the text's first; `hard`: the last ended in two spaces):
    a bullet, bold, a break or a space."""
    after_heading, style.heading = style.heading, bool(match["heading"])
    if paragraph is None:
        out.append("• " if match["item"] else "")
    elif match["item"]:
        out.append("<br><br>• " if paragraph else "<br>• ")
    else:
        out.append("<br><br>" if paragraph or match["heading"] else "<br>" if after_heading or hard else " ")


def _toggled(on: bool, text: str, start: int, end: int) -> bool:
    """The state after an emphasis marker at text[start:end]: a marker opens before a word and closes after one.

    A passage may begin inside emphasis, so a closing marker with nothing open is dropped, not turned around.
    """
    opens = end < len(text) and not text[end].isspace()
    closes = start > 0 and not text[start - 1].isspace()
    return not (closes or not opens) if on else opens


def render_corpus_text(text: str, marks: Sequence[tuple[int, int, str]] = ()) -> str:
    """`text` as HTML with its markdown rendered; each (start, end, anchor) of `marks` in <mark id=anchor>.

    Blank lines break paragraphs, hard-wrapped lines flow together, list items start a line with a bullet.
    An empty anchor gives a <mark> without an id.
    """
    spans = [(max(0, s), min(len(text), e), a) for s, e, a in marks if s < e]
    edges = sorted({p for s, e, _ in spans for p in (s, e)})
    style, out, named = _Style(), [], set()

    def anchor_at(pos: int) -> str | None:
        """The highlight at `pos`: its id the first time it is shown, "" for its later runs, None if none."""
        anchor = next((a for s, e, a in spans if s <= pos < e), None)
        if anchor in named:
            return ""
        if anchor:
            named.add(anchor)
        return anchor

    def emit(start: int, end: int) -> None:
        cuts = [start, *(p for p in edges if start < p < end), end]
        out.extend(_run(text[a:b], style, anchor_at(a)) for a, b in itertools.pairwise(cuts) if a < b)

    first = FIRST_LINE.match(text)
    pos = first.end() if first else 0
    if first and (first["item"] or first["heading"]):
        _line_start(first, style, out, None)
    for match in TOKEN.finditer(text, pos):
        emit(pos, match.start())
        if match["line"] is not None:
            hard = text.endswith("  ", 0, match.start())  # markdown's hard line break
            _line_start(match, style, out, match["line"].count("\n") > 1, hard)
            if out[-1] == " " and any(s < match.start() and match.end() < e for s, e, _ in spans):
                out[-1] = "<mark> </mark>"  # a wrapped line inside a highlight stays highlighted
        elif match["bold"]:
            style.bold = _toggled(style.bold, text, match.start(), match.end())
        elif match["under"]:
            style.under = not match["under"].startswith("</")
        elif match["italic"]:
            style.italic = _toggled(style.italic, text, match.start(), match.end())
        pos = match.end()  # an escaping backslash is dropped; what it escapes is plain text
    emit(pos, len(text))
    return "".join(out)
