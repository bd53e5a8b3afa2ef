"""Sentence-aware chunking that keeps exact character offsets into the document text.

Also the one sentence splitter (`sentence_spans`) that everything else (citations, abstention, the
extractive answer, prompt fencing) splits text with.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingest.countries import find_countries
from ingest.loaders import Document, SkippedFile

CHUNK_METADATA = ("title", "url", "date", "author", "publisher", "kind", "source")  # document fields each chunk keeps
CHUNKER_VERSION = 2  # bump when chunk boundaries change, so stores re-chunk
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by
# whitespace and a capital, or at a blank line (hard-wrapped lines are one paragraph);
# abbreviations are checked apart.
SENTENCE_END = re.compile(r"(?<=[A-Za-z0-9)\]%][.!?])(?P<close>[\"”’')\]]*)\s+(?=[\"“‘'(\[A-Z0-9])|\n[ \t\xa0]*\n\s*")
_ABBREVIATIONS = re.compile(r"\b(?:[A-Z]\.){1,3}$|\b(?:Mr|Mrs|Ms|Dr|St|No|vs|e\.g|i\.e|Jr|Sr|Inc|Co|etc)\.$")


@dataclass(frozen=True)
class Chunk:
    """A span of a document: `document.text[start:end] == text`, always. The record that travels to the answer.

    `countries` are the canonical names its heading and text mention; `metadata` is its document's
    provenance (the CHUNK_METADATA fields: title, url, date...).
    """

    chunk_id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    section: str = ""
    page: int | None = None
    countries: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict, hash=False)


def sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) of each sentence in text[start:end], trimmed of surrounding whitespace."""
    pos = start
    for match in SENTENCE_END.finditer(text, start, end):
        if match.group("close") is None:
            sentence_end = match.start()
        elif _ABBREVIATIONS.search(text, max(pos, match.start() - 12), match.start()):
            continue
        else:
            sentence_end = match.end("close")
        yield from _trimmed(text, pos, sentence_end)
        pos = match.end()
    yield from _trimmed(text, pos, end)


def content_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences in `text` that can carry an answer: four words or more (not bylines or headings)."""
    return [(s, e) for s, e in sentence_spans(text, 0, len(text)) if len(text[s:e].split()) >= 4]


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _pieces(text: str, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence into near-equal pieces at word boundaries, none over `size`."""
    while end - start > size:
        pieces = -(-(end - start) // size)
        target = start + -(-(end - start) // pieces)
        cut = text.rfind(" ", (start + target) // 2, target)
        cut = cut if cut > start else target
        yield from _trimmed(text, start, cut)
        start = cut
    yield from _trimmed(text, start, end)


def _sections(doc: Document) -> Iterator[tuple[int, int, str, int | None]]:
    """Stretches of text under one heading, never crossing a segment (PDF page)."""
    for seg in doc.segments:
        pos, heading = seg.start, ""
        for match in HEADING.finditer(doc.text, seg.start, seg.end):
            yield pos, match.start(), heading, seg.page
            pos, heading = match.end(), match.group(1)
        yield pos, seg.end, heading, seg.page


def chunk_document(doc: Document, size: int, overlap: int, max_chunks: int | None = None) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `size` characters, overlapping by up to `overlap`.

    Raises SkippedFile as soon as a document needs more than `max_chunks`.
    """
    chunks: list[Chunk] = []
    metadata = {k: v for k, v in doc.metadata.items() if k in CHUNK_METADATA}
    for sec_start, sec_end, heading, page in _sections(doc):
        spans = [p for s, e in sentence_spans(doc.text, sec_start, sec_end) for p in _pieces(doc.text, s, e, size)]
        first = 0
        while first < len(spans):
            last = first
            while last + 1 < len(spans) and spans[last + 1][1] - spans[first][0] <= size:
                last += 1
            start, end = spans[first][0], spans[last][1]
            if max_chunks is not None and len(chunks) >= max_chunks:
                raise SkippedFile(
                    f"{doc.doc_id}: more than {max_chunks:,} chunks, over the per-document cap (RAG_MAX_DOC_CHUNKS); "
                    "split it or raise the cap"
                )
            text = doc.text[start:end]
            chunks.append(
                Chunk(
                    f"{doc.doc_id}#{len(chunks)}",
                    doc.doc_id,
                    len(chunks),
                    text,
                    start,
                    end,
                    heading,
                    page,
                    tuple(find_countries(f"{heading}\n{text}")),
                    metadata,
                )
            )
            if last + 1 >= len(spans):
                break
            # Start the next chunk with the trailing sentences that fit in the overlap.
            nxt = last + 1
            while nxt - 1 > first and spans[last][1] - spans[nxt - 1][0] <= overlap:
                nxt -= 1
            # Overlap must never crowd out the next new sentence.
            while nxt <= last and spans[last + 1][1] - spans[nxt][0] > size:
                nxt += 1
            first = nxt
    return chunks
