"""A country brief: what the article says about a country, a dated timeline, agreements and figures, neighbours.

Built from the stored chunks alone (no LLM, no ranking): every sentence that names the country, each line
cited by document, chunk and character offsets into its document (`document text[start:end] == text`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ingest.chunking import sentence_spans
from ingest.countries import country_mentions
from rag.retrieval.retrieve import resolve_countries
from rag.storage import records
from rag.storage.store import Store

MIN_WORDS = 6  # shorter "sentences" are headings, captions and signposts ("Let's take Vietnam, for instance.")
MAX_ARTICLE_LINES = 12
MAX_AGREEMENTS = 12
MAX_CO_MENTIONED = 10
DATED = re.compile(r"^\d{4}-\d{2}")  # a source dated to the month or day, not just a year
AGREEMENT = re.compile(
    r"\b(sign(s|ed|ing)?|agree(s|d|ment|ments)?|pledg(e|es|ed|ing)|launch(es|ed|ing)?)\b"
    r"|[$¥€£]\s?\d|\b\d[\d,.]*\s?(million|billion|trillion|percent|per cent)\b|\b(yen|dollars)\b",
    re.I,
)


@dataclass(frozen=True)
class BriefLine:
    """One sentence of a source, cited: `text` is its document's text[start:end], inside the chunk `chunk_id`."""

    text: str
    doc_id: str
    chunk_id: str
    start: int
    end: int
    title: str
    url: str
    date: str
    chunk_text: str  # the passage around it, for a source panel (as Citation.chunk_text)
    chunk_start: int


@dataclass
class CountryBrief:
    """Everything the country page and `rag countries NAME` show for one country."""

    country: str
    article: list[BriefLine] = field(default_factory=list)  # the article's sentences naming it, in order
    timeline: list[BriefLine] = field(default_factory=list)  # one line per dated source, oldest first
    agreements: list[BriefLine] = field(default_factory=list)  # signed, agreed, pledged, launched; amounts
    co_mentioned: list[tuple[str, int]] = field(default_factory=list)  # (country, passages naming both)
    documents: int = 0  # documents naming it
    passages: int = 0  # passages (chunks) naming it


def _sentences(store: Store, country: str) -> tuple[list[tuple[BriefLine, str]], Counter[str], set[str], int]:
    """Each sentence naming `country` once (chunks overlap), with its source's kind; co-mention counts; docs."""
    found: dict[tuple[str, int], tuple[BriefLine, str]] = {}
    neighbours: Counter[str] = Counter()
    docs: set[str] = set()
    passages = 0
    where = records.country_where([country])
    for chunk in store.chunks(where):
        fields, text = chunk.metadata, chunk.text
        passages += 1
        docs.add(chunk.doc_id)
        neighbours.update(name for name in chunk.countries if name != country)
        for start, end in sentence_spans(text, 0, len(text)):
            sentence = text[start:end]
            if (chunk.doc_id, chunk.start + start) in found or len(sentence.split()) < MIN_WORDS:
                continue
            if not any(name == country for _, _, name in country_mentions(sentence)):
                continue
            line = BriefLine(
                text=sentence,
                doc_id=chunk.doc_id,
                chunk_id=chunk.chunk_id,
                start=chunk.start + start,
                end=chunk.start + end,
                title=str(fields.get("title", "") or chunk.doc_id),
                url=str(fields.get("url", "")),
                date=str(fields.get("date", "")),
                chunk_text=text,
                chunk_start=chunk.start,
            )
            found[(chunk.doc_id, chunk.start + start)] = (line, str(fields.get("kind", "")))
    ordered = [found[key] for key in sorted(found)]
    return ordered, neighbours, docs, passages


def country_brief(store: Store, country: str) -> CountryBrief:
    """The brief for `country` (any name `--country` takes); raises UnknownCountryError for no country."""
    (canonical,) = resolve_countries([country])
    sentences, neighbours, docs, passages = _sentences(store, canonical)
    brief = CountryBrief(canonical, documents=len(docs), passages=passages)
    brief.article = [line for line, kind in sentences if kind == "article"][:MAX_ARTICLE_LINES]
    first_by_doc: dict[str, BriefLine] = {}
    for line, kind in sentences:
        if kind != "article" and DATED.match(line.date):
            first_by_doc.setdefault(line.doc_id, line)  # statements lead with who met, where and when
    brief.timeline = sorted(first_by_doc.values(), key=lambda line: (line.date, line.doc_id))
    brief.agreements = _each_source_in_turn([line for line, _ in sentences if AGREEMENT.search(line.text)])
    brief.co_mentioned = sorted(neighbours.items(), key=lambda item: (-item[1], item[0]))[:MAX_CO_MENTIONED]
    return brief


def _each_source_in_turn(lines: list[BriefLine], limit: int = MAX_AGREEMENTS) -> list[BriefLine]:
    """Up to `limit` lines taken from each document in turn (one long statement must not crowd out the rest),
    shown by date, then in document order."""
    by_doc: dict[str, list[BriefLine]] = {}
    for line in lines:
        by_doc.setdefault(line.doc_id, []).append(line)
    chosen: list[BriefLine] = []
    for turn in range(max((len(doc) for doc in by_doc.values()), default=0)):
        chosen += [doc[turn] for doc in by_doc.values() if turn < len(doc)]
    return sorted(chosen[:limit], key=lambda line: (line.date, line.doc_id, line.start))
