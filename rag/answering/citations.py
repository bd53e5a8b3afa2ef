"""Parse, validate and ground `[n]` markers: every citation ends up pointing at a verbatim span."""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np

from ingest.chunking import sentence_spans
from rag.answer import Citation, Quote
from rag.storage.embeddings import Embedder
from rag.storage.records import Hit

log = logging.getLogger(__name__)

MARKER_GROUP = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
MARKER = re.compile(r"\[(\d+)\]")
NUMBER = re.compile(r"\d[\d,.]*\d|\d")
MIN_CLAIM_WORDS = 4  # shorter sentences ("Yes.", "In short:") state nothing to check


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


def clean_markers(text: str, n_sources: int) -> str:
    """Split `[1, 2]` into `[1][2]` and drop markers that point at no provided source."""

    def fix(match: re.Match[str]) -> str:
        valid = []
        for number in re.split(r"\s*[,;]\s*", match.group(1)):
            if 1 <= int(number) <= n_sources:
                valid.append(f"[{int(number)}]")
            else:
                log.warning("dropped citation [%s]: only %d sources were provided", number, n_sources)
        return "".join(valid)

    return re.sub(r"[ \t]+(?=[.,;:!?]|$)", "", MARKER_GROUP.sub(fix, text), flags=re.M)


def plain_sentence(sentence: str) -> str:
    """A sentence without its [n] markers and with normalised spaces: the text of its claim."""
    return re.sub(r"\s+(?=[.,;:!?])", "", " ".join(MARKER.sub("", sentence).split()))


def answer_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of an answer, split as `split_claims` splits it."""
    return list(sentence_spans(text, 0, len(text)))


def split_claims(text: str) -> list[Claim]:
    """Answer sentences with their markers; markers opening a sentence belong to the one before."""
    claims: list[Claim] = []
    for start, end in sentence_spans(text, 0, len(text)):
        sentence = text[start:end]
        leading = re.match(r"(\s*\[\d+\])+", sentence)
        if leading and claims:
            prev = claims[-1]
            claims[-1] = Claim(prev.text, prev.cited + tuple(int(n) for n in MARKER.findall(leading.group(0))))
            sentence = sentence[leading.end() :]
        cited = tuple(dict.fromkeys(int(n) for n in MARKER.findall(sentence)))
        plain = plain_sentence(sentence)
        if plain:
            claims.append(Claim(plain, cited))
    return claims


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in NUMBER.findall(text)}


def ground_citations(
    text: str, hits: list[Hit], embedder: Embedder, threshold: float
) -> tuple[str, list[Citation], list[str]]:
    """Validate markers, quote the best-supporting span for each, and list unsupported sentences.

    Returns the cleaned text, one citation per cited source (its best quote), and the
    sentences that cite nothing or whose best quote is less similar than `threshold`
    (or that state a number their sources don't contain).
    """
    text = clean_markers(text, len(hits))
    claims = split_claims(text)
    checked = [c for c in claims if len(c.text.split()) >= MIN_CLAIM_WORDS or c.cited]
    cited_ns = sorted({n for c in checked for n in c.cited})
    spans = {n: list(sentence_spans(hits[n - 1].text, 0, len(hits[n - 1].text))) for n in cited_ns}
    span_texts = [hits[n - 1].text[s:e] for n in cited_ns for s, e in spans[n]]
    vectors = embedder.encode_cached([c.text for c in checked] + span_texts)
    claim_vecs, span_vecs = vectors[: len(checked)], vectors[len(checked) :]

    offsets, pos = {}, 0
    for n in cited_ns:
        offsets[n] = pos
        pos += len(spans[n])

    best: dict[int, tuple[float, int, int]] = {}
    quoted: dict[int, set[tuple[int, int]]] = defaultdict(set)  # every supporting span, for highlighting
    quotes: dict[int, list[Quote]] = defaultdict(list)  # one per claim citing the source
    unsupported = []
    for claim, vec in zip(checked, claim_vecs, strict=True):
        support = 0.0
        for n in claim.cited:
            block = span_vecs[offsets[n] : offsets[n] + len(spans[n])]
            sims = block @ vec
            i = int(np.argmax(sims))
            sim = float(sims[i])
            if not _numbers(claim.text) <= _numbers(hits[n - 1].text):
                sim = min(sim, 0.0)  # a figure the source doesn't state is never supported
            support = max(support, sim)
            if sim > best.get(n, (-1.0, 0, 0))[0]:
                best[n] = (sim, *spans[n][i])
            start, end = spans[n][i]
            hit = hits[n - 1]
            quotes[n].append(Quote(claim.text, hit.text[start:end], hit.start + start, hit.start + end, round(sim, 4)))
            if sim >= threshold:
                quoted[n].add(spans[n][i])
        if support < threshold:
            unsupported.append(claim.text)

    citations = []
    for n, (sim, start, end) in sorted(best.items()):
        hit = hits[n - 1]
        best_quote = Quote("", hit.text[start:end], hit.start + start, hit.start + end, round(sim, 4))
        highlights = [(hit.start + s, hit.start + e) for s, e in sorted(quoted[n] | {(start, end)})]
        citations.append(_citation(n, hit, best_quote, sim >= threshold, highlights, quotes[n]))
    return text, citations, unsupported


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
