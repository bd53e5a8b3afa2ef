"""A country brief: what the article says about a country, a dated timeline, agreements and figures, neighbours.

Built from the stored chunks alone (no LLM, no ranking): every sentence in which the country acts or is spoken
of, each line cited by document, chunk and character offsets into its document (`document text[start:end] ==
text`). A sentence whose subject only points back ("They welcomed...") is shown after the sentence it points to.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from itertools import pairwise

from ingest.chunking import sentence_spans
from ingest.countries import CAPITALS, country_mentions
from rag.answering.extractive import CONNECTIVE, POINTER
from rag.retrieval.retrieve import resolve_countries
from rag.storage import records
from rag.storage.store import Store

MIN_WORDS = 6  # shorter "sentences" are headings, captions and signposts ("Let's take Vietnam, for instance.")
MAX_ARTICLE_LINES = 12
MAX_AGREEMENTS = 12
MAX_CO_MENTIONED = 10
NEAR_DUPLICATE = 0.9  # text similarity above which two lines say the same thing (statements repeat themselves)
DATED = re.compile(r"^\d{4}-\d{2}")  # a source dated to the month or day, not just a year
AGREEMENT = re.compile(
    r"\b(sign(s|ed|ing)?|agree(s|d|ment|ments)?|pledg(e|es|ed|ing)|launch(es|ed|ing)?)\b"
    r"|[$¥€£]\s?\d|\b\d[\d,.]*\s?(million|billion|trillion|percent|per cent)\b|\b(yen|dollars)\b",
    re.I,
)
# A capital after a locative preposition is where something happened ("talks in Hanoi"), not who acted:
# unlike "Tokyo's ambitions", it does not make the sentence about the country.
CAPITAL_FORMS = frozenset(form.lower() for forms in CAPITALS.values() for form in forms)
LOCATIVE = re.compile(r"\b(?:in|at)\s+$", re.I)
# The venue's country in apposition ("in Phnom Penh, Kingdom of Cambodia") is part of the venue too.
VENUE_APPOSITION = re.compile(r",\s*(?:(?:the|of|[A-Z][\w’'-]*)\s+)*")
GLUED = re.compile(r"(?<=[a-z0-9][.!?])(?=[A-Z][a-z])")  # "by the end of 2023.The leaders": two sentences
LEADING_MARK = re.compile(r"[-*+#>\s]*")  # a list marker or emphasis before the first word


@dataclass(frozen=True)
class BriefLine:
    """One sentence of a source, cited: `text` is its document's text[start:end], inside the chunk `chunk_id`.

    When the sentence's subject only points back ("They welcomed..."), `context` is the sentence before it
    (document text[context_start:context_end], which may lie in the chunk before); it is shown first.
    """

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
    context: str = ""
    context_start: int = -1
    context_end: int = -1


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


@dataclass(frozen=True)
class _Found:
    line: BriefLine
    kind: str  # the source's kind: "article" or a statement
    points_back: bool  # its subject points back, so it needs the sentence before as context


def names_country(sentence: str, country: str) -> bool:
    """True when `country` acts or is spoken of in `sentence`, not when its capital is only the venue."""
    venue_end = -1
    for start, end, name in country_mentions(sentence):
        in_venue = venue_end >= 0 and VENUE_APPOSITION.fullmatch(sentence, venue_end, start) is not None
        if in_venue or (sentence[start:end].lower() in CAPITAL_FORMS and LOCATIVE.search(sentence[:start])):
            venue_end = end
            continue
        if name == country:
            return True
    return False


def _spans(text: str) -> list[tuple[int, int]]:
    """The chunk's sentence spans, with sentences glued at a missing space split apart."""
    spans = []
    for start, end in sentence_spans(text, 0, len(text)):
        cuts = [start, *(m.start() for m in GLUED.finditer(text, start, end)), end]
        spans += [(a, b) for a, b in pairwise(cuts) if text[a:b].strip()]
    return spans


def _once(text: str, start: int, end: int) -> int:
    """The end of the sentence's first half when it is the same words twice (an image's alt text and caption)."""
    words = list(re.finditer(r"\S+", text[start:end]))
    half = len(words) // 2
    if half and len(words) % 2 == 0 and [w.group() for w in words[:half]] == [w.group() for w in words[half:]]:
        return start + words[half - 1].end()
    return end


def _points_back(text: str, start: int, end: int) -> bool:
    """True when the sentence's subject only points back ("It has also signed...", "They...", "Both sides...")."""
    start = LEADING_MARK.match(text, start, end).end()  # type: ignore[union-attr]  # matches the empty string
    cut = CONNECTIVE.match(text, start, end)
    return POINTER.match(text[cut.end() if cut else start : end]) is not None  # its "^" anchors at a string's start


def _sentences(store: Store, country: str) -> tuple[list[_Found], Counter[str], set[str], int]:
    """Each sentence naming `country` once (chunks overlap), with its source's kind; co-mention counts; docs."""
    found: dict[tuple[str, int], _Found] = {}
    neighbours: Counter[str] = Counter()
    docs: set[str] = set()
    passages = 0
    for chunk in store.chunks(records.country_where([country])):
        fields, text = chunk.metadata, chunk.text
        passages += 1
        docs.add(chunk.doc_id)
        neighbours.update(name for name in chunk.countries if name != country)
        spans = _spans(text)
        for i, (start, end) in enumerate(spans):
            end = _once(text, start, end)
            sentence = text[start:end]
            if len(sentence.split()) < MIN_WORDS or not names_country(sentence, country):
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
            points_back = _points_back(text, start, end)
            if points_back and i > 0:
                before_start, before_end = spans[i - 1]
                line = replace(
                    line,
                    context=text[before_start:before_end],
                    context_start=chunk.start + before_start,
                    context_end=chunk.start + before_end,
                )
            # Overlapping chunks hold a sentence twice: keep it whole (a chunk's edge may cut it) and in context.
            key = (line.doc_id, line.start)
            if key not in found or (line.end, bool(line.context)) > (
                found[key].line.end,
                bool(found[key].line.context),
            ):
                found[key] = _Found(line, str(fields.get("kind", "")), points_back)
    resolved = _with_context(store, found.values())
    return _outside_one_another(resolved), neighbours, docs, passages


def _with_context(store: Store, found: Iterable[_Found]) -> list[_Found]:
    """The lines, each pointing back given the sentence before it from the chunk before; one that has none
    (the document's first sentence, a heading before it) is left out: its actor can't be named."""
    found = list(found)
    missing = {f.line.doc_id for f in found if f.points_back and not f.line.context}
    ends: dict[str, list[tuple[int, int, str]]] = {}  # doc -> (start, end, text) of each sentence
    for chunk in store.chunks(records.country_where([], sorted(missing))) if missing else ():
        ends.setdefault(chunk.doc_id, []).extend(
            (chunk.start + s, chunk.start + e, chunk.text[s:e]) for s, e in _spans(chunk.text) if s > 0
        )
    out = []
    for f in found:
        if f.points_back and not f.line.context:
            before = [s for s in ends.get(f.line.doc_id, []) if f.line.start - 3 <= s[1] <= f.line.start]
            if not before:
                continue
            start, end, text = max(before, key=lambda s: s[1] - s[0])
            f = replace(f, line=replace(f.line, context=text, context_start=start, context_end=end))
        if f.points_back and len(f.line.context.split()) < 4:
            continue  # a heading or a caption before it names no one
        out.append(f)
    return out


def _outside_one_another(found: Iterable[_Found]) -> list[_Found]:
    """In document order, without a line that lies inside another (a sentence begun mid-way at a chunk's edge)."""
    ordered = sorted(found, key=lambda f: (f.line.doc_id, f.line.start, -f.line.end))
    kept: list[_Found] = []
    for f in ordered:
        last = kept[-1].line if kept else None
        if last and last.doc_id == f.line.doc_id and f.line.end <= last.end:
            continue
        kept.append(f)
    return kept


def country_brief(store: Store, country: str) -> CountryBrief:
    """The brief for `country` (any name `--country` takes); raises UnknownCountryError for no country."""
    (canonical,) = resolve_countries([country])
    found, neighbours, docs, passages = _sentences(store, canonical)
    brief = CountryBrief(canonical, documents=len(docs), passages=passages)
    brief.article = _distinct([f.line for f in found if f.kind == "article"], MAX_ARTICLE_LINES)
    first_by_doc: dict[str, BriefLine] = {}
    for f in found:
        if f.kind != "article" and DATED.match(f.line.date):
            first_by_doc.setdefault(f.line.doc_id, f.line)  # statements lead with who met, where and when
    brief.timeline = _distinct(sorted(first_by_doc.values(), key=lambda line: (line.date, line.doc_id)))
    # A figure is the country's only when the sentence naming the country gives it, not the passage around it.
    brief.agreements = _each_source_in_turn([f.line for f in found if AGREEMENT.search(f.line.text)])
    brief.co_mentioned = sorted(neighbours.items(), key=lambda item: (-item[1], item[0]))[:MAX_CO_MENTIONED]
    brief.article, brief.timeline, brief.agreements = map(
        _context_once, (brief.article, brief.timeline, brief.agreements)
    )
    return brief


def _context_once(lines: list[BriefLine]) -> list[BriefLine]:
    """The lines, without a context that is the line shown just before (it would be read twice)."""
    out = []
    for line in lines:
        if out and line.context and (out[-1].doc_id, out[-1].start) == (line.doc_id, line.context_start):
            line = replace(line, context="", context_start=-1, context_end=-1)
        out.append(line)
    return out


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _distinct(lines: Iterable[BriefLine], limit: int | None = None) -> list[BriefLine]:
    """The lines in turn, up to `limit`, leaving out one whose words (nearly) repeat a line kept already."""
    kept: list[tuple[BriefLine, str]] = []
    for line in lines:
        words = _words(line.text)
        if any(_same(words, other) for _, other in kept):
            continue
        kept.append((line, words))
        if len(kept) == limit:
            break
    return [line for line, _ in kept]


def _same(a: str, b: str) -> bool:
    """True when one text contains the other or they differ only by a few words."""
    if a in b or b in a:
        return True
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= NEAR_DUPLICATE and matcher.ratio() >= NEAR_DUPLICATE


def _each_source_in_turn(lines: list[BriefLine], limit: int = MAX_AGREEMENTS) -> list[BriefLine]:
    """Up to `limit` distinct lines taken from each document in turn (one long statement must not crowd out
    the rest), shown by date, then in document order."""
    by_doc: dict[str, list[BriefLine]] = {}
    for line in lines:
        by_doc.setdefault(line.doc_id, []).append(line)
    in_turn = [
        doc[turn]
        for turn in range(max(map(len, by_doc.values()), default=0))
        for doc in by_doc.values()
        if turn < len(doc)
    ]
    return sorted(_distinct(in_turn, limit), key=lambda line: (line.date, line.doc_id, line.start))
