"""Files -> Documents: one loader per format, all returning the same `Document` shape."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import yaml

log = logging.getLogger(__name__)

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.S)
METADATA_KEYS = ("title", "url", "date", "author", "publisher", "kind", "license", "countries_topics")
MAX_FRONT_MATTER = 64_000  # characters; real front matter is ~1-2 kB, and YAML parsing is slow
# Bytes a .docx may expand to: python-docx parses its XML whole, so a small zip must not become a huge tree.
MAX_UNZIPPED = 50_000_000
NO_TEXT = "no text to index"  # the one reason every document without text is skipped with


class SkippedFile(Exception):
    """A corpus file that cannot be ingested; the message says why."""


class TextBudget:
    """What a loader may spend on one document: characters of text, PDF pages, and time.

    Checked as the text comes out (per paragraph, block or page), so a decompression bomb costs
    what it takes to read up to the cap, not to expand, chunk and embed all of it; and a file that is
    slow to extract (thousands of pages drawing one shared stream, with no text to trip the character
    cap) stops at the deadline.
    """

    def __init__(
        self, name: str, max_chars: int | None, max_pages: int | None = None, max_seconds: float | None = None
    ) -> None:
        self.name, self.max_chars, self.max_pages, self.max_seconds = name, max_chars, max_pages, max_seconds
        self.used = 0
        self.deadline = None if max_seconds is None else time.monotonic() + max_seconds

    def take(self, text: str) -> str:
        """Count `text` (returned unchanged); raise SkippedFile once the document is over a cap or its deadline."""
        self.used += len(text)
        if self.max_chars is not None and self.used > self.max_chars:
            raise SkippedFile(
                f"{self.name}: more than {self.max_chars:,} characters of text, over the per-document cap "
                "(RAG_MAX_DOC_CHARS); split it or raise the cap"
            )
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SkippedFile(
                f"{self.name}: reading its text took over {self.max_seconds:g} s, the per-document limit "
                "(RAG_MAX_EXTRACT_SECONDS); split it or raise the limit"
            )
        return text

    def check_pages(self, pages: int) -> None:
        """Raise SkippedFile if a PDF has more pages than allowed, before any page is read."""
        if self.max_pages is not None and pages > self.max_pages:
            raise SkippedFile(
                f"{self.name}: {pages:,} pages, over the {self.max_pages:,} a PDF may have (RAG_MAX_PDF_PAGES); "
                "split it or raise the cap"
            )


@dataclass(frozen=True)
class Segment:
    """A stretch of a document's text that chunks never cross: a PDF page, or the whole text."""

    start: int
    end: int
    page: int | None = None


@dataclass
class Document:
    """A loaded file: its text, provenance metadata and the segments chunking must respect."""

    doc_id: str
    text: str
    content_hash: str
    metadata: dict[str, str] = field(default_factory=dict)
    segments: list[Segment] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.segments:
            self.segments = [Segment(0, len(self.text))]


def content_hash(data: bytes) -> str:
    """The hash that decides whether a file changed since it was ingested."""
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:8192]:
        raise SkippedFile(f"{name}: looks binary (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SkippedFile(f"{name}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None


def _front_matter(text: str, name: str) -> tuple[dict[str, str], str]:
    """Split YAML front matter from the body; body offsets are what chunks refer to."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    if len(match.group(1)) > MAX_FRONT_MATTER:
        raise SkippedFile(
            f"{name}: front matter is {len(match.group(1)):,} characters, over the {MAX_FRONT_MATTER:,} limit"
        )
    try:
        raw = yaml.load(match.group(1), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        log.warning("%s: front matter is not valid YAML, ignoring it (%s)", name, exc)
        raw = {}
    if not isinstance(raw, dict):
        raw = {}
    meta = {str(k): value for k, v in raw.items() if (value := _scalar_text(v))}
    meta.setdefault("url", meta.get("original_url") or meta.get("archived_url") or "")
    if meta["url"] and not web_url(meta["url"]):
        log.warning("%s: front matter url %r is not an http(s) URL; dropped", name, meta["url"][:100])
        meta["url"] = ""
    return {k: meta[k][:1000] for k in METADATA_KEYS if meta.get(k)}, text[match.end() :]


def web_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL: the only links a source may carry to a reader."""
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not re.search(r"[\s<>\"']", url.strip())


def _scalar_text(value: object) -> str:
    """A front matter value as text: scalars, and lists of scalars joined with '; '; nothing else.

    Nested values are dropped: YAML aliases can nest a few bytes into an exponentially large str().
    """
    if isinstance(value, list) and all(isinstance(v, str | int | float | date) for v in value):
        return "; ".join(str(v) for v in value)
    return str(value) if isinstance(value, str | int | float | date) else ""


def _first_heading(text: str) -> str | None:
    match = re.search(r"^#{1,6}[ \t]+(.+?)[ \t]*#*$", text, re.M)
    return match.group(1) if match else None


def load_text(data: bytes, name: str, budget: TextBudget) -> tuple[str, dict[str, str], list[Segment]]:
    """Markdown or plain text, with YAML front matter becoming metadata."""
    meta, body = _front_matter(_decode(data, name), name)
    budget.take(body)
    if "title" not in meta and (heading := _first_heading(body)):
        meta["title"] = heading
    return body, meta, []


def load_html(data: bytes, name: str, budget: TextBudget) -> tuple[str, dict[str, str], list[Segment]]:
    """The main text of an HTML page; headings become `#` lines so sections survive."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(data, name), "html.parser")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "aside", "form"]):
        tag.decompose()
    meta = {"title": soup.title.get_text(" ", strip=True)} if soup.title else {}
    root = soup.find("main") or soup.find("article") or soup.body or soup
    blocks = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "pre", "blockquote", "td"]):
        if el.find(["p", "li"]):  # a container; its children are visited on their own
            continue
        line = " ".join(el.get_text(" ", strip=True).split())
        if line:
            blocks.append(budget.take(f"{'#' * int(el.name[1])} {line}" if el.name[0] == "h" else line))
    return "\n\n".join(blocks), meta, []


def load_docx(data: bytes, name: str, budget: TextBudget) -> tuple[str, dict[str, str], list[Segment]]:
    """Paragraphs of a Word file; Heading styles become `#` lines."""
    import io
    import zipfile

    import docx

    try:
        # Sizes from the zip's directory: zipfile stops (bad CRC) at a member that expands past its stated size.
        unzipped = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
        if unzipped > MAX_UNZIPPED:
            raise SkippedFile(
                f"{name}: expands to {unzipped / 1e6:,.0f} MB, over the {MAX_UNZIPPED / 1e6:.0f} MB a .docx may hold"
            )
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise SkippedFile(f"{name}: not a readable .docx ({exc})") from None
    blocks = []
    for para in document.paragraphs:
        line = para.text.strip()
        style = para.style.name if para.style is not None else ""
        if line:
            level = style.removeprefix("Heading ").strip()
            blocks.append(budget.take(f"{'#' * int(level)} {line}" if level.isdigit() else line))
    meta = {"title": document.core_properties.title} if document.core_properties.title else {}
    return "\n\n".join(blocks), meta, []


def load_pdf(data: bytes, name: str, budget: TextBudget) -> tuple[str, dict[str, str], list[Segment]]:
    """One segment per PDF page, so every chunk keeps its page number."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        budget.check_pages(len(reader.pages))
        pages = [budget.take((page.extract_text() or "").strip()) for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkippedFile(f"{name}: malformed PDF ({exc})") from None
    text, segments = "", []
    for number, page_text in enumerate(pages, start=1):
        if page_text:
            text += "\n\n" if text else ""
            segments.append(Segment(len(text), len(text) + len(page_text), number))
            text += page_text
    return text, ({"title": str(title)} if title else {}), segments


LOADERS: dict[str, Callable[[bytes, str, TextBudget], tuple[str, dict[str, str], list[Segment]]]] = {
    ".md": load_text,
    ".markdown": load_text,
    ".txt": load_text,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
    ".pdf": load_pdf,
}


def check_size(path: Path, doc_id: str, max_bytes: int | None) -> None:
    """Raise SkippedFile if the file is over `max_bytes`, without reading it."""
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise SkippedFile(f"{doc_id}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")


def load_file(
    path: Path,
    doc_id: str,
    max_bytes: int | None = None,
    max_chars: int | None = None,
    max_pages: int | None = None,
    max_seconds: float | None = None,
) -> Document:
    """Load one file as a Document, or raise SkippedFile naming it and the reason (over a cap of `TextBudget` too)."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise SkippedFile(f"{doc_id}: unsupported file type {path.suffix or '(none)'!r}")
    try:
        check_size(path, doc_id, max_bytes)
        data = path.read_bytes()
    except OSError as exc:
        raise SkippedFile(f"{doc_id}: cannot read ({exc.strerror})") from None
    if not data.strip():
        raise SkippedFile(f"{doc_id}: empty file, {NO_TEXT}")
    try:
        text, meta, segments = loader(data, doc_id, TextBudget(doc_id, max_chars, max_pages, max_seconds))
    except SkippedFile:
        raise
    except Exception as exc:  # noqa: BLE001 - parsers of untrusted files raise anything; one bad file must not stop the rest
        raise SkippedFile(f"{doc_id}: could not be parsed ({type(exc).__name__}: {exc})") from None
    if not text.strip():
        raise SkippedFile(f"{doc_id}: {NO_TEXT}")
    meta.setdefault("title", path.stem.replace("_", " ").replace("-", " "))
    meta["source"] = doc_id
    return Document(doc_id, text, content_hash(data), meta, segments)
