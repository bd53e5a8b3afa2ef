"""Answer text made safe to show in clients that render markdown or HTML (Open WebUI, LibreChat) or in a terminal.

Documents can carry markup that a client would run: `<img onerror=...>`, `[text](javascript:...)`, a
`javascript:` URL in front matter. Everything shown to clients as text, on every face (/v1, both MCP servers,
`rag ask`), passes through here: HTML tags are removed, a link whose target is not http(s), mailto or relative
keeps only its text, and terminal control characters go. The Gradio page escapes all HTML itself.

Citations' quotes and offsets are not touched: they are checked against the documents, verbatim.
"""

from __future__ import annotations

import html
import re

from ingest.loaders import web_url

SAFE_SCHEMES = ("http", "https", "mailto")
# A tag, comment, doctype or autolink: `<` then a letter, `/`, `!` or `?`, up to the next `>`.
TAG = re.compile(r"<!--.*?(?:-->|$)|<[A-Za-z/!?][^<>]*>", re.S)
LINK_START = re.compile(r"(!?)\[([^\]\n]*)\]\(")  # [text](target "title") and ![alt](target)
REFERENCE = re.compile(r"^([ \t]{0,3}\[[^\]\n]+\]:)[ \t]*(\S+).*$", re.M)  # [label]: target "title"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # keeps \t and \n
SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# What a stream may end in that is not yet whole: the start of a tag, a link's text or a reference definition
# (a link's target is found by _target_end: it may hold balanced parentheses).
OPEN = re.compile(r"<(?:[A-Za-z/!?][^<>]*)?$|!?\[[^\]\n]*(?:\](?::[^\n]*)?)?$")
MAX_HOLD = 400  # characters a stream holds back waiting for a construct to close


def safe_link(target: str) -> bool:
    """Whether a link target is harmless: no scheme (relative), or http(s)/mailto, however it is disguised."""
    plain = "".join(html.unescape(target).split()).lower()  # `java\tscript:` and `&#106;avascript:` included
    plain = CONTROL.sub("", plain).strip("<>")
    scheme = SCHEME.match(plain)
    return scheme is None or scheme.group(1) in SAFE_SCHEMES


def safe_url(url: str | None) -> str:
    """`url` if it is an http(s) URL, else "" (a source's link must be a web page)."""
    return url if url and web_url(url) else ""


def _target_end(text: str, start: int) -> int:
    """The index of the ')' closing a link target that starts at `start` (parentheses balance, as in CommonMark);
    -1 if the line ends first."""
    depth = 0
    for i in range(start, len(text)):
        char = text[i]
        if char == "\n":
            return -1
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                return i
            depth -= 1
    return -1


def _without_unsafe_links(text: str) -> str:
    """Links and images whose target is unsafe replaced by their text (an image by its alt text in brackets)."""
    out, pos = [], 0
    for match in LINK_START.finditer(text):
        if match.start() < pos:
            continue
        end = _target_end(text, match.end())
        line_end = text.find("\n", match.end())
        stop = end if end >= 0 else line_end if line_end >= 0 else len(text)
        if safe_link(text[match.end() : stop]):
            continue
        image, label = match.groups()
        out += [text[pos : match.start()], (f"[{label}]" if label else "") if image else label]
        pos = end + 1 if end >= 0 else stop  # an unclosed one: its target is dropped to the end of the line
    return "".join(out) + text[pos:]


def _reference(match: re.Match[str]) -> str:
    return match.group(0) if safe_link(match.group(2)) else ""


def safe_text(text: str) -> str:
    """`text` without HTML tags, unsafe link targets (their text stays) or control characters."""
    text = CONTROL.sub("", text)
    text = TAG.sub("", text)
    text = _without_unsafe_links(text)
    return REFERENCE.sub(_reference, text)


class SafeStream:
    """safe_text for text arriving in pieces: a tag or link split across pieces is held back until it closes."""

    def __init__(self) -> None:
        self._held = ""

    def feed(self, piece: str) -> str:
        """The safe text that can be shown now."""
        text = self._held + piece
        cut = _open_from(text)
        if cut is None:
            self._held = ""
            return safe_text(text)
        if len(text) - cut > MAX_HOLD:  # never closed: shown with its opening escaped, so it can't become markup
            self._held = ""
            return safe_text(text[:cut]) + "\\" + safe_text(text[cut:])
        self._held = text[cut:]
        return safe_text(text[:cut])

    def close(self) -> str:
        """What was still held, made safe."""
        held, self._held = self._held, ""
        return safe_text(held)


def _open_from(text: str) -> int | None:
    """Where a construct that `text` ends inside of starts (a tag, a link, a reference); None if none is open."""
    starts = [
        m.start()
        for m in LINK_START.finditer(text)
        if _target_end(text, m.end()) < 0 and "\n" not in text[m.end() :]  # a target still arriving
    ]
    if match := OPEN.search(text):
        starts.append(match.start())
    return min(starts, default=None)
