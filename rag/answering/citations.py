"""Read the citations an LLM writes, in the styles real models use, and keep only the sentences their sources support.

Models cite as `[1]`, `[1][2]`, `[1, 2]`, `[1-3]`, `(1)`, `[Source 1]` or `【1】`, before or after the full stop,
in a sentence of its own ("This is stated in [3].", "(see [2])"), once at the end of a paragraph, or in a
trailing "Sources:" list. `normalise_markers` rewrites them all as `[n]`; `split_units` decides which claims
each marker covers; `SentenceGate` checks each claim against its cited passages as the answer streams and lets
through only the supported ones.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np

from ingest.chunking import sentence_spans
from ingest.countries import find_countries
from rag.answer import Citation, Quote
from rag.storage.embeddings import Embedder
from rag.storage.records import Hit

log = logging.getLogger(__name__)

MARKER = re.compile(r"\[(\d+)\]")
NUMBER = re.compile(r"\d[\d,.]*\d|\d")
MIN_CLAIM_WORDS = 4  # shorter sentences ("Yes.", "In short:") state nothing to check
MAX_RANGE = 10  # "[1-3]" is three sources; "[1-2024]" is no range a model meant

_NUMS = r"\d{1,2}(?:\s*(?:[,;&–—-]|and)\s*\d{1,2})*"
_LABEL = r"(?:(?:sources?|src|docs?|documents?|passages?|refs?|references?)\s*:?\s*#?\s*)"
# 【1】 and OpenAI's 【1†source】; [1], [1, 2], [1-3], [Source 1], [Sources 1 and 2]; (Source 1), (1, 2).
BRACKETED = re.compile(rf"【\s*({_NUMS})(?:†[^】]*)?】|\[\s*{_LABEL}?({_NUMS})\s*\]", re.I)
# "According to Source 1, ..." names a source in running text.
INLINE_SOURCE = re.compile(r"\b(?:source|passage|document)\s+#?(\d{1,2})\b(?![\]\d])", re.I)
PAREN_LABELLED = re.compile(rf"\(\s*(?:see\s+)?{_LABEL}({_NUMS})\s*\)", re.I)
# A bare "(1)" cites only where a citation sits: after a word, before punctuation or the end of a line.
PAREN_BARE = re.compile(rf"(?<=\S)\s*\(({_NUMS})\)(?=\s*(?:[.,;:!?\[]|$))", re.M)
# "(see [2])", "([1])", "(source: [1][2])": the parentheses and words around canonical markers.
PAREN_AROUND = re.compile(r"\(\s*(?:(?:see|cf\.?|per|source|sources)\s*:?\s*)?((?:\[\d+\]\s*,?\s*)+)\)", re.I)
SOURCES_HEADING = re.compile(
    r"^[ \t]*(?:#+[ \t]*)?(?:\*\*|__)?(?:sources?|references?|citations?)(?:\s+used)?(?:\*\*|__)?[ \t]*:?"
    r"[ \t]*(?:\*\*|__)?[ \t]*(?=\S|$)",
    re.I | re.M,
)
LIST_NUMBER = re.compile(r"^[ \t]*(?:[-*•][ \t]*)?\[?(\d{1,2})\]?[.):]?(?=\s|$)", re.M)
SOURCE_TAG = re.compile(r"</?\s*source\b[^>\n]*>", re.I)
# Gemma answers inside an echoed source tag: what it writes there cites that source.
SOURCE_BLOCK = re.compile(r"<\s*source\b[^>\n]*?\bn=[\"']?(\d{1,2})[^>\n]*>([\s\S]*?)(?:<\s*/\s*source\s*>|$)", re.I)
# Words a sentence may hold and still only point at sources ("This is stated in [3].", "See [2].").
COVER_WORDS = frozenset(
    re.findall(
        r"\w+",
        "this that these those it all of the above information facts details point points is are was were be been "
        "can stated mentioned noted described reported confirmed outlined found documented covered detailed set out "
        "explained given listed in by see source sources passage passages document documents per according to as "
        "cf also both and ref reference references citation citations for more on from",
    )
)
# "The sources don't answer this": where a reply says so (at its end it only closes the answer).
ABSTAINS = re.compile(
    r"sources? (do(es)?n[’']?t|do(es)? not) (answer|contain|say|mention|provide|address|cover|give|specify|state)"
    r"|not (mentioned|stated|covered|provided|addressed|specified) in the (provided )?sources|I (do not|don[’']t) know",
    re.I,
)
# A claim about what a source does NOT say can't be supported by any span of it.
ABSENCE = re.compile(
    r"\b(?:do(?:es)?n[’']?t|do(?:es)? not|did not|didn[’']?t|never|makes? no|contains? no|gives? no|"
    r"without (?:any )?(?:mention|reference))\s*(?:explicitly\s+|specifically\s+|directly\s+)?"
    r"(?:mention|address|refer|discuss|cover|say|include|name|reference|specify|mention of|reference to)\b"
    r"|\b(?:is|are|remains?) (?:silent|absent)\b",
    re.I,
)
# A contrast joins two claims; each side must be supported on its own (a source rarely draws the contrast).
CONTRAST = re.compile(
    r"\b(?:unlike|whereas|in contrast(?: to)?|by contrast|rather than|instead of|as opposed to|compared (?:with|to)|"
    r"more than|less than|differs? from|different from|while|but(?! also)|however)\b",
    re.I,
)
# Where a long source sentence divides into clauses a claim may restate alone.
CLAUSE_BREAK = re.compile(r"[,;:]\s+|\s+(?=(?:while|including|which|as well as|and to)\b)")
# Two or more capitalised words in a row: a name ("South China Sea", "Trans-Pacific Partnership").
NAME = re.compile(r"\b[A-Z][\w’'.-]*(?:[ \t]+[A-Z][\w’'.-]*)+")
# A claim that denies something needs a source that denies it too ("not only ... but also" denies nothing).
NEGATION = re.compile(r"\b(?:not(?! only)|never|no|none|neither|nor|without)\b|n[’']t\b", re.I)
NOT_NAME_START = frozenset(
    re.findall(
        r"\w+", "the they this these those both he she it its their according unlike whereas in as and but since also"
    )
)
BLOCK_START = re.compile(r"\n(?=[ \t]*(?:\n|[-*+•>#|]|\d+[.)]\s))")


@dataclass(frozen=True)
class Claim:
    """An answer sentence (markers removed) and the sources it cites.

    A verbatim claim (the extractive composer's) cites one source and is that document's text[start:end].
    """

    text: str
    cited: tuple[int, ...]
    start: int | None = None  # document offsets of a verbatim claim
    end: int | None = None
    tag: str = ""  # what a pointing subject refers to, when no earlier sentence of the passage says it

    @property
    def n(self) -> int:
        """The (first) source it cites."""
        return self.cited[0]


@dataclass
class Unit:
    """One sentence of a reply: a claim to check, or framing ("Here is what they say:") or a pointer to sources."""

    start: int  # span in the normalised reply, its own markers included
    end: int
    text: str  # markers removed
    cited: list[int]
    kind: str  # "claim", "frame" (no claim, shown with what follows), "pointer" (only cites), "abstain"
    block: int  # paragraph or list item it sits in


def _numbers_in(group: str, n_sources: int) -> list[int]:
    """The source numbers a marker's text names, ranges expanded; numbers past `n_sources` dropped (logged)."""
    numbers: list[int] = []
    for a, b in re.findall(r"(\d+)(?:\s*[–—-]\s*(\d+))?", group):
        first, last = int(a), int(b or a)
        span = range(first, last + 1) if 0 <= last - first < MAX_RANGE else (first, last)
        numbers += span
    valid = [n for n in dict.fromkeys(numbers) if 1 <= n <= n_sources]
    for n in numbers:
        if not 1 <= n <= n_sources:
            log.warning("dropped citation [%s]: only %d sources were provided", n, n_sources)
    return valid


def normalise_markers(text: str, n_sources: int) -> str:
    """Every citation style rewritten as `[n][m]`, markers to no provided source dropped, `<source>` tags gone."""

    def canonical(match: re.Match[str]) -> str:
        group = next(g for g in match.groups() if g is not None)
        return "".join(f"[{n}]" for n in _numbers_in(group, n_sources))

    text = SOURCE_BLOCK.sub(lambda m: f"{m.group(2).rstrip()} [{m.group(1)}]" if m.group(2).strip() else "", text)
    text = SOURCE_TAG.sub("", text)
    text = BRACKETED.sub(canonical, text)
    text = PAREN_LABELLED.sub(canonical, text)
    text = INLINE_SOURCE.sub(canonical, text)
    text = PAREN_BARE.sub(lambda m: " " + canonical(m) if _numbers_in(m.group(1), n_sources) else m.group(0), text)
    text = PAREN_AROUND.sub(lambda m: "".join(f"[{n}]" for n in MARKER.findall(m.group(1))), text)
    text = re.sub(r"\](\s*,\s*|\s+)(?=\[\d+\])", "]", text)  # "[1], [2]" -> "[1][2]"
    text = re.sub(r"([.!?])[ \t]*((?:\[\d+\])+)(?=\s|$)", r"\2\1", text)  # "claim.[1] Next" -> "claim[1]. Next"
    return re.sub(r"[ \t]+(?=[.,;:!?]|$)", "", text, flags=re.M)


def plain_sentence(sentence: str) -> str:
    """A sentence without its [n] markers and with normalised spaces: the text of its claim."""
    text = " ".join(MARKER.sub("", sentence).split())
    return re.sub(r"\s+(?=[.,;:!?])", "", re.sub(r"\(\s*\)", "", text)).strip()


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of an answer, never across a paragraph or list item."""
    bounds = [0, *(m.start() for m in BLOCK_START.finditer(text)), len(text)]
    return [span for a, b in itertools.pairwise(bounds) for span in sentence_spans(text, a, b)]


def split_sources_list(text: str) -> tuple[str, list[int]]:
    """The reply without a trailing "Sources:" list, and the source numbers that list names."""
    heading = None
    for match in SOURCES_HEADING.finditer(text):
        heading = match
    if heading is None:
        return text, []
    tail = text[heading.end() :]
    numbers = [int(n) for n in MARKER.findall(tail)] + [int(n) for n in LIST_NUMBER.findall(tail)]
    if not numbers or len(tail) > 600:  # a "Sources:" sentence inside the answer, not a list at its end
        return text, []
    return text[: heading.start()].rstrip(), list(dict.fromkeys(numbers))


def _kind(plain: str, cited: list[int]) -> str:
    words = re.findall(r"[\w’']+", plain.lower())
    if ABSTAINS.search(plain):
        return "abstain"
    if cited and all(w in COVER_WORDS for w in words):
        return "pointer"
    if not cited and (len(words) < MIN_CLAIM_WORDS or plain.rstrip("*_ ").endswith(":")):
        return "frame"
    return "claim"


def split_units(text: str, listed: list[int] | None = None) -> list[Unit]:
    """The reply's sentences, each claim with the sources that cover it.

    A claim cites its own markers, markers opening the next sentence, a pointer sentence after it, or the
    next citation in its paragraph; a claim that ends up citing nothing cites the trailing "Sources:" list.
    """
    units: list[Unit] = []
    bounds = [0, *(m.start() for m in BLOCK_START.finditer(text)), len(text)]
    for block, (a, b) in enumerate(itertools.pairwise(bounds)):
        for start, end in sentence_spans(text, a, b):
            sentence = text[start:end]
            leading = re.match(r"(\s*\[\d+\])+", sentence)
            if leading and units and units[-1].block == block and units[-1].kind != "frame":
                units[-1].cited += [int(n) for n in MARKER.findall(leading.group(0))]
                units[-1].end = start + leading.end()
                start += leading.end()
                sentence = text[start:end]
                if not sentence.strip():
                    continue
            cited = list(dict.fromkeys(int(n) for n in MARKER.findall(sentence)))
            plain = plain_sentence(sentence)
            if not plain and not cited:
                continue
            units.append(Unit(start, end, plain, cited, _kind(plain, cited), block))
    _cover(units)
    for unit in units:
        if unit.kind == "claim" and not unit.cited and listed:
            unit.cited = list(listed)
    return units


def _cover(units: list[Unit]) -> None:
    """Give uncited claims the citations that follow them in their paragraph (a pointer's, or the next claim's)."""
    pending: list[Unit] = []
    for i, unit in enumerate(units):
        if i and units[i - 1].block != unit.block and unit.kind != "pointer":
            pending = []  # a paragraph's citation covers its own claims; a pointer standing alone, the ones above
        if unit.kind == "claim" and not unit.cited:
            pending.append(unit)
        elif unit.kind in ("claim", "pointer") and unit.cited:
            covered = pending or (
                [units[i - 1]] if unit.kind == "pointer" and i and units[i - 1].kind == "claim" else []
            )
            for claim in covered:
                claim.cited = list(dict.fromkeys(claim.cited + unit.cited))
            pending = []


def split_claims(text: str) -> list[Claim]:
    """The claims of an answer with the sources covering each (see `split_units`)."""
    body, listed = split_sources_list(text)
    return [Claim(u.text, tuple(u.cited)) for u in split_units(body, listed) if u.kind == "claim"]


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)}


def _plain(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


def _names(text: str) -> set[str]:
    """The countries and multi-word names a claim states (leading words like "The" or "Unlike" aside)."""
    names = set()
    text = re.sub(r"^[\s*•+#>-]+", "", text.replace("*", ""))
    for match in NAME.finditer(text):
        words = match.group(0).split()
        if match.start() == 0:
            words.pop(0)  # any sentence's first word is capitalised
        while words and words[0].lower() in NOT_NAME_START:
            words.pop(0)
        if len(words) >= 2:
            names.add(_plain(" ".join(words)).rstrip(".'s"))
    return names


def _names_found(claim: str, source: str) -> bool:
    """Whether every country and multi-word name of `claim` is in `source` (a passage with its title)."""
    if not set(find_countries(claim)) <= set(find_countries(source)):
        return False
    plain = _plain(source)
    return all(name in plain for name in _names(claim))


def _clauses(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A source sentence's clauses, alone and in adjacent pairs, that are long enough to restate (4+ words)."""
    cuts = [start, *(m.end() for m in CLAUSE_BREAK.finditer(text, start, end)), end]
    pieces = list(itertools.pairwise(cuts))
    windows = [(a, b) for (a, _), (_, b) in itertools.pairwise(pieces)] + pieces if len(pieces) > 1 else []
    return [(a, b) for a, b in windows if len(text[a:b].split()) >= 4 and (a, b) != (start, end)]


@dataclass
class Check:
    """A claim's verdict, with the best span of each cited source."""

    supported: bool
    spans: dict[int, tuple[float, int, int]]  # n -> (similarity, start, end) within the passage


class Checker:
    """Checks one claim against the passages it cites: the sentence similarity and the figures it states."""

    def __init__(self, hits: list[Hit], embedder: Embedder, threshold: float) -> None:
        self.hits, self.embedder, self.threshold = hits, embedder, threshold
        self._spans: dict[int, list[tuple[int, int]]] = {}

    def spans(self, n: int) -> list[tuple[int, int]]:
        """The sentences of source `n`, and their clauses (a claim often restates part of a long sentence)."""
        if n not in self._spans:
            text = self.hits[n - 1].text
            sentences = list(sentence_spans(text, 0, len(text))) or [(0, len(text))]
            self._spans[n] = sentences + [c for s, e in sentences for c in _clauses(text, s, e)]
        return self._spans[n]

    def check(self, text: str, cited: list[int]) -> Check:
        """Supported when some cited passage has a sentence similar enough, holding every figure the claim states;
        a contrast needs each of its sides supported, and a claim about what a source does not say is never."""
        if not cited:
            return Check(False, {})
        sides = [s for s in CONTRAST.split(text) if len(s.split()) >= 3] if CONTRAST.search(text) else []
        texts = [text, *sides]
        sentences = [self.hits[n - 1].text[s:e] for n in cited for s, e in self.spans(n)]
        vectors = self.embedder.encode_cached(texts + sentences)
        claim_vecs, span_vecs = vectors[: len(texts)], vectors[len(texts) :]
        spans: dict[int, tuple[float, int, int]] = {}
        side_best = np.zeros(len(texts))
        pos = 0
        for n in cited:
            own = self.spans(n)
            sims = span_vecs[pos : pos + len(own)] @ claim_vecs.T  # (sentences, texts)
            pos += len(own)
            source = self.hits[n - 1].text
            for t, claim_text in enumerate(texts):
                best = float(sims[:, t].max()) if _numbers(claim_text) <= _numbers(source) else 0.0
                side_best[t] = max(side_best[t], best)
            i = int(np.argmax(sims[:, 0]))
            sim = float(sims[i, 0]) if _numbers(text) <= _numbers(source) else min(float(sims[i, 0]), 0.0)
            spans[n] = (sim, *own[i])
        supported = bool(side_best[0] >= self.threshold and all(side_best[1:] >= self.threshold))
        cited_text = " ".join(f"{self.hits[n - 1].title} {self.hits[n - 1].text}" for n in cited)
        denies = NEGATION.search(text) and not NEGATION.search(cited_text)
        if ABSENCE.search(text) or denies or not _names_found(text, cited_text):
            supported = False
        return Check(supported, spans)


@dataclass
class GateResult:
    """What a reply came to: the shown text, its citations, the dropped claims, and whether it abstained (only, or
    showing the closest passages where the asked figure is missing)."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    kept: int = 0
    abstained: bool = False


class SentenceGate:
    """Checks a streamed reply a sentence at a time; `feed` and `close` return only the text that may be shown.

    A claim is decided once the sentence after it has begun (its markers may open that one) and once it has a
    citation; a claim waiting for the citation that ends its paragraph, or for the trailing "Sources:" list,
    holds back what follows it, so the shown text keeps the reply's order. An abstention after a supported
    claim ends the answer.
    """

    def __init__(self, hits: list[Hit], embedder: Embedder, threshold: float) -> None:
        self.hits = hits
        self.checker = Checker(hits, embedder, threshold)
        self.raw = ""
        self.ended = False
        self._done = 0  # units decided
        self._shown: list[str] = []
        self._last_end: int | None = None  # end of the last shown unit in the normalised text
        self._gap_since = 0  # where the text between the last shown unit and the next one starts
        self._frames: list[Unit] = []
        self._kept: list[tuple[Unit, Check]] = []
        self._dropped: list[str] = []
        self._abstain_said = False

    def feed(self, delta: str) -> str:
        """Take more of the reply; the newly shown text (empty until a sentence is decided)."""
        if self.ended:
            return ""
        self.raw += delta
        return self._advance(final=False)

    def close(self) -> str:
        """The reply is complete: decide what is left (a trailing "Sources:" list covers uncited claims)."""
        if self.ended:
            return ""
        shown = self._advance(final=True)
        self.ended = True
        return shown

    def _advance(self, final: bool) -> str:
        # A tiny model that drifts into writing another <source> block has finished its answer.
        drift = re.search(r"\S[\s\S]*?(<\s*source\b)", self.raw, re.I)
        text = normalise_markers(self.raw[: drift.start(1)] if drift else self.raw, len(self.hits))
        listed: list[int] = []
        if final:
            text, listed = split_sources_list(text)
        units = split_units(text, listed)
        if not final:
            units = units[:-1]  # the last sentence may still be growing, or its markers may follow
            if units and units[-1].kind == "pointer":
                units = units[:-1]
        out = []
        while self._done < len(units) and not self.ended:
            unit = units[self._done]
            if unit.kind == "claim" and not unit.cited and not final:
                break  # a citation later in its paragraph, or the Sources list, may still cover it
            out.append(self._decide(text, unit))
            self._done += 1
        shown = "".join(out)
        self._shown.append(shown)
        return shown

    def _decide(self, text: str, unit: Unit) -> str:
        if unit.kind == "abstain":
            self._abstain_said = True
            if self._kept:
                self.ended = True  # "...[2]. The sources don't say more." closes an answer, it doesn't void it
            return ""
        if unit.kind == "frame":
            self._frames.append(unit)
            return ""
        if unit.kind == "pointer":
            covered = self._kept and self._last_end is not None and self._kept[-1][0].block == unit.block
            return self._show(text, [unit]) if covered else ""
        check = self.checker.check(unit.text, unit.cited)
        if not check.supported:
            self._dropped.append(unit.text)
            return ""
        self._kept.append((unit, check))
        shown = self._show(text, [*self._frames, unit])
        self._frames = []
        return shown

    def _show(self, text: str, units: list[Unit]) -> str:
        """The units' text, each after the break (paragraph, line or space) that preceded it in the reply."""
        pieces = []
        for unit in units:
            if self._last_end is None:
                gap = ""
            else:
                between = text[self._last_end : unit.start]
                gap = "\n\n" if "\n\n" in between else "\n" if "\n" in between else " "
            pieces.append(gap + text[unit.start : unit.end])
            self._last_end = unit.end
        return "".join(pieces)

    @property
    def result(self) -> GateResult:
        """The decided reply (call after `close`)."""
        return GateResult(
            text="".join(self._shown).strip(),
            citations=self._citations(),
            unsupported=list(self._dropped),
            kept=len(self._kept),
            abstained=not self._kept and self._abstain_said,
        )

    def _citations(self) -> list[Citation]:
        best: dict[int, tuple[float, int, int]] = {}
        quotes: dict[int, list[Quote]] = defaultdict(list)
        for unit, check in self._kept:
            for n, (sim, start, end) in check.spans.items():
                hit = self.hits[n - 1]
                quotes[n].append(
                    Quote(unit.text, hit.text[start:end], hit.start + start, hit.start + end, round(sim, 4))
                )
                if sim > best.get(n, (-1.0, 0, 0))[0]:
                    best[n] = (sim, start, end)
        citations = []
        threshold = self.checker.threshold
        for n, (sim, start, end) in sorted(best.items()):
            hit = self.hits[n - 1]
            quote = Quote("", hit.text[start:end], hit.start + start, hit.start + end, round(sim, 4))
            highlights = sorted({(q.quote_start, q.quote_end) for q in quotes[n] if q.support >= threshold})
            highlights = sorted(set(highlights) | {(hit.start + start, hit.start + end)})
            citations.append(_citation(n, hit, quote, sim >= threshold, highlights, quotes[n]))
        return citations


def ground_citations(
    text: str, hits: list[Hit], embedder: Embedder, threshold: float
) -> tuple[str, list[Citation], list[str]]:
    """Check a whole reply at once: the shown (supported) text, its citations, and the dropped claims."""
    gate = SentenceGate(hits, embedder, threshold)
    gate.feed(text)
    gate.close()
    result = gate.result
    return result.text, result.citations, result.unsupported


def claim_citations(claims: list[Claim], hits: list[Hit]) -> list[Citation]:
    """Citations for verbatim claims (each with its document span): each quote is its claim."""
    by_source: dict[int, list[Quote]] = defaultdict(list)
    for claim in claims:
        hit, start, end = hits[claim.n - 1], claim.start, claim.end
        assert start is not None and end is not None, "a verbatim claim has its span"
        quote = hit.text[start - hit.start : end - hit.start]
        by_source[claim.n].append(Quote(" ".join(claim.text.split()), quote, start, end, 1.0))
    return [
        _citation(n, hits[n - 1], quotes[0], True, sorted({(q.quote_start, q.quote_end) for q in quotes}), quotes)
        for n, quotes in sorted(by_source.items())
    ]


def _citation(
    n: int, hit: Hit, best: Quote, supported: bool, highlights: list[tuple[int, int]], quotes: list[Quote]
) -> Citation:
    """Source `n` as cited: its passage, its best quote (with that quote's support) and every claim's span."""
    return Citation(
        **hit.source_fields(),
        n=n,
        quote=best.quote,
        quote_start=best.quote_start,
        quote_end=best.quote_end,
        chunk_text=hit.text,
        chunk_start=hit.start,
        support=best.support,
        supported=supported,
        highlights=highlights,
        quotes=quotes,
    )


def earlier_of_document(citations: list[Citation]) -> dict[int, int]:
    """n -> the first n citing the same document, for each citation after the first of its document.

    A sources list names a document once: the repeats say "same document as [1]" (each keeps its own quote), so
    a long title is not read out three times.
    """
    first: dict[str, int] = {}
    for c in sorted(citations, key=lambda c: c.n):
        first.setdefault(c.doc_id, c.n)
    return {c.n: first[c.doc_id] for c in citations if first[c.doc_id] != c.n}


def same_document(n: int) -> str:
    """How a sources list names a document already listed under `[n]`."""
    return f"same document as [{n}]"


def renumber(text: str, citations: list[Citation]) -> tuple[str, list[Citation]]:
    """Markers numbered 1..k in the order the text shows them, the citations to match ("[3] .. [1]": "[1] .. [2]").

    Source numbers are positions in the retrieved list, which a reader never sees; the order of reading is.
    """
    cited = {c.n for c in citations}  # a "[12]" a source sentence holds (a footnote) is no marker of ours
    order = [n for n in dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)) if n in cited]
    order += [c.n for c in citations if c.n not in order]
    new = {old: i for i, old in enumerate(order, start=1)}
    text = re.sub(r"\[(\d+)\]", lambda m: f"[{new[n]}]" if (n := int(m.group(1))) in new else m.group(0), text)
    return text, sorted((replace(c, n=new[c.n]) for c in citations), key=lambda c: c.n)
