"""The `extractive` backend: no LLM; the answer is the source sentences that best answer the question."""

from __future__ import annotations

import re

import numpy as np

from ingest.chunking import sentence_spans
from ingest.countries import find_countries
from rag.prompts import INJECTION
from rag.retrieve import Hit
from rag.store import Embedder

WORD = re.compile(r"[a-z0-9]{3,}")
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "what",
        "which",
        "who",
        "whom",
        "how",
        "why",
        "when",
        "where",
        "does",
        "did",
        "was",
        "were",
        "has",
        "have",
        "had",
        "are",
        "is",
        "this",
        "that",
        "from",
        "into",
        "about",
        "their",
        "there",
        "they",
        "them",
        "its",
        "it's",
        "say",
        "says",
        "said",
        "between",
        "over",
        "under",
        "article",
        "sources",
        "source",
    ]
)
MIN_WORDS = 6  # captions and headings are not answers
MONTH = r"January|February|March|April|May|June|July|August|September|October|November|December"
MONTH_LOOKBEHIND = "|".join(f"{m} " for m in MONTH.split("|")).replace("|", ")(?<!")  # "July 12" is a date
# A question asking for an amount, a count or a time can only be answered by a sentence
# that states one (beyond the figures the question itself already gives).
ANSWER_KINDS = [
    (
        re.compile(r"\bhow much\b|\bhow (big|large)\b", re.I),
        re.compile(r"[$¥€£%]|\b(JPY|USD|yen|dollars?|billion|million|trillion|percent)\b", re.I),
    ),
    (
        re.compile(r"\bhow many\b", re.I),
        re.compile(
            rf"(?<!\()(?<!{MONTH_LOOKBEHIND})\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b(?!\))|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?)\b",
            re.I,
        ),
    ),
    (re.compile(r"\bwhen\b|\bwhat (year|date)\b|\bby when\b", re.I), re.compile(rf"\b(1[89]|20)\d\d\b|\b({MONTH})\b")),
]
AUTHORSHIP = re.compile(
    r"\bwho (wrote|authored)\b|\bwho (is|was) the (author|writer)\b|\b(author|writer) of\b|\bwritten by\b", re.I
)
WRITER = re.compile(r"\b(author|writer)\b", re.I)
# The corpus's main actors; a question about another country needs passages about that one.
ACTORS = frozenset({"Japan", "China", "United States"})


def _terms(text: str) -> set[str]:
    return {w[:6] for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def extract_answer(question: str, hits: list[Hit], embedder: Embedder, max_sentences: int) -> list[str]:
    """Up to `max_sentences` verbatim source sentences, best first, each with its `[n]`; none if none fits.

    A question about who wrote a document (or about its author by name) is answered from its byline.
    """
    if byline := _byline(question, hits):
        return byline
    candidates: list[tuple[int, int, int, str]] = []  # (n, doc start, doc end, sentence)
    seen: set[tuple[str, int]] = set()
    needs = [figure for asks, figure in ANSWER_KINDS if asks.search(question)]
    given = set(re.findall(r"\w+", question))
    topics = set(find_countries(question)) - ACTORS
    asked_terms = _terms(question)
    for n, hit in enumerate(hits, start=1):
        for start, end in sentence_spans(hit.text, 0, len(hit.text)):
            sentence = hit.text[start:end]
            key = (hit.doc_id, hit.start + start)  # overlapping chunks repeat sentences
            if (
                len(sentence.split()) >= MIN_WORDS
                and key not in seen
                and not INJECTION.search(sentence)
                and all(any(m.group(0) not in given for m in figure.finditer(sentence)) for figure in needs)
                and (not needs or _terms(sentence) & asked_terms)
                and (not topics or topics & set(hit.countries))
            ):
                seen.add(key)
                candidates.append((n, hit.start + start, hit.start + end, sentence))
    if not candidates:
        return []
    vectors = embedder.encode_cached([question] + [c[3] for c in candidates])
    similarity = vectors[1:] @ vectors[0]
    asked_countries = set(find_countries(question))
    scores = []
    for (n, _, _, sentence), sim in zip(candidates, similarity, strict=True):
        overlap = len(asked_terms & _terms(sentence)) / max(len(asked_terms), 1)
        countries = len(asked_countries & set(find_countries(sentence))) / max(len(asked_countries), 1)
        rank_prior = 1.0 / (n + 4)  # retrieval already ranked the chunks; trust it a little
        scores.append(float(sim) + 0.3 * overlap + 0.1 * countries + 0.2 * rank_prior)
    order = np.argsort(scores)[::-1]
    best = scores[order[0]]
    chosen = [i for i in order[:max_sentences] if scores[i] >= best - 0.25]
    return [_cite(candidates[i][3], candidates[i][0]) for i in chosen]


def _cite(sentence: str, n: int) -> str:
    """The sentence on one line with `[n]` before its closing punctuation."""
    sentence = " ".join(sentence.split())
    if sentence[-1] in ".!?":
        return f"{sentence[:-1]} [{n}]{sentence[-1]}"
    return f"{sentence} [{n}]"


def _byline(question: str, hits: list[Hit]) -> list[str]:
    """'<author> wrote "<title>" [n].' when the question asks who wrote a passage's document, or names its author.

    The author is front matter, not a sentence of the text, so no sentence states it; the passage
    cited is one whose text carries the byline, so the claim can be checked against it.
    """
    for n, hit in enumerate(hits, start=1):
        author = str(hit.metadata.get("author", ""))
        if author and author in hit.text and (AUTHORSHIP.search(question) or author.casefold() in question.casefold()):
            writer = [
                _cite(hit.text[s:e], n)
                for s, e in sentence_spans(hit.text, 0, len(hit.text))
                if len(hit.text[s:e].split()) >= MIN_WORDS and WRITER.search(hit.text[s:e])
            ]
            return [f"{author} wrote “{hit.title}” [{n}].", *writer]
    return []
