"""Pure metric functions: retrieval, citations, answer correctness, abstention and latency.

Per-question functions return None where a metric does not apply (e.g. retrieval metrics on an
unanswerable question); `summarize` averages what applies and reports None when nothing did.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from eval.dataset import contains_evidence, normalize
from rag.answering.citations import MARKER

ARTICLES = re.compile(r"\b(a|an|the)\b")


def relevance(texts: Sequence[str], evidence: Sequence[str]) -> list[bool]:
    """For each text (a ranked chunk), whether it contains any evidence string."""
    return [contains_evidence(text, evidence) for text in texts]


def hit_at_k(relevant: Sequence[bool], k: int) -> float:
    """1.0 when any of the top-k results is relevant, else 0.0."""
    return 1.0 if any(relevant[:k]) else 0.0


def reciprocal_rank(relevant: Sequence[bool]) -> float:
    """1/rank of the first relevant result, 0.0 when none is; its mean over questions is MRR."""
    return next((1.0 / rank for rank, rel in enumerate(relevant, start=1) if rel), 0.0)


def ndcg_at_k(relevant: Sequence[bool], k: int = 10, n_relevant: int | None = None) -> float:
    """Binary-relevance nDCG@k; `n_relevant` is how many relevant chunks exist (default: those retrieved)."""
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevant[:k], start=1) if rel)
    ideal_hits = min(k, sum(relevant) if n_relevant is None else max(n_relevant, sum(relevant[:k])))
    idcg = sum(1.0 / math.log2(rank + 1) for rank in range(1, ideal_hits + 1))
    return dcg / idcg if idcg else 0.0


def recall_at_k(texts: Sequence[str], evidence: Sequence[str], k: int) -> float:
    """Share of evidence strings found (normalised) in at least one of the top-k texts."""
    if not evidence:
        raise ValueError("recall needs at least one evidence string")
    top = [normalize(text) for text in texts[:k]]
    return sum(1 for e in evidence if any(normalize(e) in t for t in top)) / len(evidence)


def citation_focus(cited_texts: Sequence[str], evidence: Sequence[str]) -> float | None:
    """Share of citations whose chunk holds an evidence string (cites what was asked); None when nothing was cited.

    Unlike citation precision it gives no credit for a quote that merely supports its own sentence,
    which every extractive citation does by construction.
    """
    if not cited_texts:
        return None
    return sum(relevance(cited_texts, evidence)) / len(cited_texts)


def quote_mismatches(claims_and_quotes: Sequence[tuple[str, str]]) -> int:
    """How many (claim, quote) pairs show a quote the claim doesn't contain (normalised): a quote that differs."""
    return sum(1 for claim, quote in claims_and_quotes if normalize(quote) not in normalize(claim))


def citation_precision(cited_texts: Sequence[str], evidence: Sequence[str], supported: Sequence[bool]) -> float | None:
    """Share of citations whose chunk contains evidence or whose quote supports its sentence; None if none."""
    if not cited_texts:
        return None
    relevant = relevance(cited_texts, evidence)
    return sum(r or s for r, s in zip(relevant, supported, strict=True)) / len(cited_texts)


def citation_hit(cited_texts: Sequence[str], evidence: Sequence[str]) -> float:
    """1.0 when some citation's chunk contains evidence; its mean over answerable questions is citation recall."""
    return 1.0 if any(relevance(cited_texts, evidence)) else 0.0


def squad_normalize(text: str) -> str:
    """SQuAD answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = normalize(text)
    text = "".join(" " if ch in string.punctuation or unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between an answer (its [n] markers ignored) and the reference answer."""
    predicted = squad_normalize(MARKER.sub(" ", prediction)).split()
    expected = squad_normalize(reference).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def key_fact_containment(answer: str, key_facts: Sequence[str]) -> float | None:
    """Share of key facts contained (normalised) in the answer; None when the question lists none."""
    if not key_facts:
        return None
    folded = normalize(MARKER.sub(" ", answer))
    return sum(1 for fact in key_facts if normalize(fact) in folded) / len(key_facts)


def crag_score(answerable: bool, abstained: bool, right: bool) -> int:
    """CRAG's scoring: +1 for a right answer, 0 for an abstention, -1 for a wrong one.

    Any answer to an unanswerable question is wrong.
    """
    if abstained:
        return 0
    return 1 if answerable and right else -1


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The q-th percentile (0-100, linear interpolation like numpy's default); None for no values."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    pos = (len(data) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (pos - low)


def mean(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    data = [float(v) for v in values if v is not None]
    return sum(data) / len(data) if data else None


def score_question(
    *,
    answerable: bool,
    evidence: Sequence[str],
    key_facts: Sequence[str],
    reference_answer: str,
    ranked_texts: Sequence[str],
    k: int,
    n_relevant: int | None = None,
    answer: str | None = None,
    abstained: bool | None = None,
    cited_texts: Sequence[str] = (),
    cited_supported: Sequence[bool] | None = None,
    claim_quotes: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Every per-question metric; `answer`/`abstained` None means the variant only retrieves."""
    scores: dict[str, Any] = dict.fromkeys(
        (
            "hit@1",
            f"hit@{k}",
            "rr",
            "ndcg@10",
            f"recall@{k}",
            "citation_precision",
            "citation_focus",
            "citation_hit",
            "token_f1",
        ),
        None,
    )
    scores["key_facts"] = None
    scores["abstained"] = abstained
    scores["crag"] = None
    scores["quote_mismatches"] = quote_mismatches(claim_quotes) if abstained is not None else None
    if answerable:
        relevant = relevance(ranked_texts, evidence)
        scores.update(
            {
                "hit@1": hit_at_k(relevant, 1),
                f"hit@{k}": hit_at_k(relevant, k),
                "rr": reciprocal_rank(relevant),
                "ndcg@10": ndcg_at_k(relevant, 10, n_relevant),
                f"recall@{k}": recall_at_k(ranked_texts, evidence, k),
            }
        )
    if answerable and abstained is not None:
        said = "" if abstained else answer or ""  # an abstention states nothing, whatever its wording
        scores.update(
            {
                "citation_precision": citation_precision(
                    cited_texts,
                    evidence,
                    cited_supported if cited_supported is not None else [False] * len(cited_texts),
                ),
                "citation_focus": citation_focus(cited_texts, evidence),
                "citation_hit": citation_hit(cited_texts, evidence),
                "token_f1": token_f1(said, reference_answer),
                "key_facts": key_fact_containment(said, key_facts),
            }
        )
    if abstained is not None:
        # Right: every key fact stated (or, for a question without any, a citation of its evidence).
        right = scores["key_facts"] == 1.0 if key_facts else scores["citation_hit"] == 1.0
        scores["crag"] = crag_score(answerable, abstained, right)
    return scores


def summarize(rows: Sequence[dict[str, Any]], k: int) -> dict[str, Any]:
    """Variant-level metrics from result rows (each with `answerable`, `metrics` and `timings`)."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]

    def avg(key: str, subset: Sequence[dict[str, Any]] = answerable) -> float | None:
        value = mean(r["metrics"].get(key) for r in subset)
        return None if value is None else round(value, 4)

    def timing(key: str, q: float) -> float | None:
        value = percentile((r["timings"].get(key) for r in rows), q)
        return None if value is None else round(value, 1)

    mismatches = [r["metrics"]["quote_mismatches"] for r in rows if r["metrics"].get("quote_mismatches") is not None]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "errors": sum(1 for r in rows if r.get("error")),
        "hit@1": avg("hit@1"),
        f"hit@{k}": avg(f"hit@{k}"),
        "mrr": avg("rr"),
        "ndcg@10": avg("ndcg@10"),
        f"recall@{k}": avg(f"recall@{k}"),
        "citation_precision": avg("citation_precision"),
        "citation_focus": avg("citation_focus"),
        "quote_mismatches": sum(mismatches) if mismatches else None,
        "citation_recall": avg("citation_hit"),
        "token_f1": avg("token_f1"),
        "key_fact_containment": avg("key_facts"),
        "abstention_accuracy": avg("abstained", unanswerable),
        "over_abstention": avg("abstained", answerable),
        "crag": avg("crag", rows),
        "total_ms_p50": timing("total_ms", 50),
        "total_ms_p95": timing("total_ms", 95),
        "first_token_ms_p50": timing("first_token_ms", 50),
        "first_token_ms_p95": timing("first_token_ms", 95),
        "retrieve_ms_p50": timing("retrieve_ms", 50),
        "retrieve_ms_p95": timing("retrieve_ms", 95),
    }


def evidence_coverage(evidence: Sequence[str], folded_chunks: Sequence[str]) -> tuple[int, list[str]]:
    """How many chunks contain any evidence string, and which strings no chunk contains whole.

    `folded_chunks` are chunk texts already passed through `normalize` (done once per variant).
    """
    folded = [normalize(e) for e in evidence]
    n_relevant = sum(1 for text in folded_chunks if any(e in text for e in folded))
    unreachable = [e for e, f in zip(evidence, folded, strict=True) if not any(f in text for text in folded_chunks)]
    return n_relevant, unreachable
