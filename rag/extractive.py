"""The `extractive` backend: no LLM; the answer is the source sentences that best answer the question."""

from __future__ import annotations

import re

import numpy as np

from ingest.chunking import sentence_spans
from ingest.countries import find_countries
from rag.retrieve import Hit
from rag.store import Embedder

WORD = re.compile(r"[a-z0-9]{3,}")
STOPWORDS = frozenset(
    "the and for with what which who whom how why when where does did was were has have had are is this that "
    "from into about their there they them its it's say says said between over under article sources source".split()
)
MIN_WORDS = 6  # captions and headings are not answers


def _terms(text: str) -> set[str]:
    return {w[:6] for w in WORD.findall(text.lower()) if w not in STOPWORDS}


def extract_answer(question: str, hits: list[Hit], embedder: Embedder, max_sentences: int) -> str:
    """Up to `max_sentences` verbatim source sentences, best first, each followed by its `[n]`."""
    candidates: list[tuple[int, int, int, str]] = []  # (n, doc start, doc end, sentence)
    seen: set[tuple[str, int]] = set()
    for n, hit in enumerate(hits, start=1):
        for start, end in sentence_spans(hit.text, 0, len(hit.text)):
            sentence = hit.text[start:end]
            key = (hit.doc_id, hit.start + start)  # overlapping chunks repeat sentences
            if len(sentence.split()) >= MIN_WORDS and key not in seen:
                seen.add(key)
                candidates.append((n, hit.start + start, hit.start + end, sentence))
    if not candidates:
        return ""
    vectors = embedder.encode([question] + [c[3] for c in candidates])
    similarity = vectors[1:] @ vectors[0]
    asked_terms, asked_countries = _terms(question), set(find_countries(question))
    scores = []
    for (n, _, _, sentence), sim in zip(candidates, similarity, strict=True):
        overlap = len(asked_terms & _terms(sentence)) / max(len(asked_terms), 1)
        countries = len(asked_countries & set(find_countries(sentence))) / max(len(asked_countries), 1)
        rank_prior = 1.0 / (n + 4)  # retrieval already ranked the chunks; trust it a little
        scores.append(float(sim) + 0.3 * overlap + 0.1 * countries + 0.2 * rank_prior)
    order = np.argsort(scores)[::-1]
    best = scores[order[0]]
    chosen = [i for i in order[:max_sentences] if scores[i] >= best - 0.25]
    return " ".join(f"{' '.join(candidates[i][3].split())} [{candidates[i][0]}]" for i in chosen)
