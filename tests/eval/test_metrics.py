"""Each metric on hand-made cases: no engine, no store, no model."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    citation_focus,
    citation_hit,
    citation_precision,
    crag_score,
    evidence_coverage,
    hit_at_k,
    key_fact_containment,
    mean,
    ndcg_at_k,
    percentile,
    recall_at_k,
    reciprocal_rank,
    relevance,
    score_question,
    summarize,
    token_f1,
)

EVIDENCE = ("Japan pledged JPY 600 billion by March 2024",)
RELEVANT = "In a meeting, Japan pledged JPY\u00a0600  billion by March 2024 to the Philippines."
OTHER = "The Quad met in Hiroshima."


def test_relevance_ignores_whitespace_quotes_dashes_and_case():
    evidence = ["the status of a \u201cstrategic partnership\u201d \u2013 a first"]
    assert relevance(['The STATUS of a "strategic\npartnership" - a first.', OTHER], evidence) == [True, False]


def test_hit_at_k_counts_only_the_top_k():
    assert hit_at_k([False, False, True], 2) == 0.0
    assert hit_at_k([False, False, True], 3) == 1.0
    assert hit_at_k([], 5) == 0.0


def test_reciprocal_rank_is_one_over_the_first_relevant_rank():
    assert reciprocal_rank([False, True, True]) == 0.5
    assert reciprocal_rank([True]) == 1.0
    assert reciprocal_rank([False, False]) == 0.0


def test_ndcg_is_one_for_an_ideal_ranking_and_discounts_lower_ranks():
    assert ndcg_at_k([True, False, False]) == 1.0
    assert ndcg_at_k([False, True]) == pytest.approx(1 / math.log2(3))
    assert ndcg_at_k([False] * 10) == 0.0


def test_ndcg_ideal_counts_relevant_chunks_that_were_not_retrieved():
    # Two relevant chunks exist but only one was retrieved, at rank 1.
    assert ndcg_at_k([True, False], n_relevant=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_ndcg_ignores_results_below_k():
    assert ndcg_at_k([False, True], k=1) == 0.0


def test_recall_at_k_is_the_share_of_evidence_strings_found():
    evidence = ["Subic Bay", "Saudi Arabia"]
    texts = ["a base in Subic Bay", OTHER, "ties with saudi arabia"]
    assert recall_at_k(texts, evidence, 2) == 0.5
    assert recall_at_k(texts, evidence, 3) == 1.0


def test_recall_needs_evidence():
    with pytest.raises(ValueError):
        recall_at_k([OTHER], [], 5)


def test_citation_focus_is_the_share_of_cited_chunks_with_evidence():
    assert citation_focus([RELEVANT, OTHER, OTHER, RELEVANT], EVIDENCE) == 0.5
    assert citation_focus([], EVIDENCE) is None


def test_citation_precision_also_credits_a_quote_that_supports_its_sentence():
    cited = [RELEVANT, OTHER, OTHER, RELEVANT]
    assert citation_precision(cited, EVIDENCE, [False, True, False, False]) == 0.75
    assert citation_precision(cited, EVIDENCE, [False] * 4) == 0.5
    assert citation_precision([], EVIDENCE, []) is None


def test_citation_hit_needs_one_relevant_citation():
    assert citation_hit([OTHER, RELEVANT], EVIDENCE) == 1.0
    assert citation_hit([OTHER], EVIDENCE) == 0.0
    assert citation_hit([], EVIDENCE) == 0.0


def test_token_f1_uses_squad_normalisation_and_ignores_markers():
    assert token_f1("The Subic Bay! [1]", "subic bay") == 1.0
    # 2 of 4 predicted tokens and 2 of 3 reference tokens match: P=1/2, R=2/3, F1=4/7
    assert token_f1("Japan pledged 600 billion.", "600 billion yen") == pytest.approx(4 / 7)
    assert token_f1("nothing shared", "Subic Bay") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "Subic Bay") == 0.0


def test_key_fact_containment_is_the_share_of_facts_in_the_answer():
    answer = "They agreed on space [1] and \u201cclose as one\u00a0family\u201d ties [2]."
    assert key_fact_containment(answer, ["space", "cyber"]) == 0.5
    assert key_fact_containment(answer, ["Close as one family"]) == 1.0
    assert key_fact_containment(answer, []) is None


def test_percentile_interpolates_linearly_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0
    assert percentile([None, None], 50) is None


def test_mean_skips_missing_values():
    assert mean([1.0, None, 0.0, True]) == pytest.approx(2 / 3)
    assert mean([None]) is None


def test_evidence_coverage_counts_relevant_chunks_and_reports_split_evidence():
    chunks = ["japan pledged jpy 600 billion by march 2024", "japan pledged jpy 600 billion by march 2024 too", "x"]
    assert evidence_coverage(EVIDENCE, chunks) == (2, [])
    assert evidence_coverage(["Japan pledged", "by March 2024 to the Philippines"], ["japan pledged jpy"]) == (
        1,
        ["by March 2024 to the Philippines"],
    )


def test_abstaining_on_an_answerable_question_scores_zero_answer_metrics():
    scores = score_question(
        answerable=True,
        evidence=EVIDENCE,
        key_facts=["600 billion"],
        reference_answer="JPY 600 billion by March 2024",
        ranked_texts=[RELEVANT],
        k=5,
        answer="The sources don't answer this.",
        abstained=True,
    )
    assert scores["hit@5"] == 1.0
    assert (scores["token_f1"], scores["key_facts"], scores["citation_hit"]) == (0.0, 0.0, 0.0)
    assert scores["citation_precision"] is None


def test_retrieval_only_variants_leave_answer_metrics_unset():
    scores = score_question(
        answerable=True,
        evidence=EVIDENCE,
        key_facts=["600 billion"],
        reference_answer="JPY 600 billion",
        ranked_texts=[OTHER, RELEVANT],
        k=5,
    )
    assert scores["rr"] == 0.5
    assert scores["token_f1"] is None and scores["abstained"] is None


def _row(answerable: bool, abstained: bool | None, hit: float | None, total_ms: float | None) -> dict:
    return {
        "answerable": answerable,
        "metrics": {"hit@5": hit, "abstained": abstained, "rr": hit},
        "timings": {"total_ms": total_ms, "retrieve_ms": 5.0},
    }


def test_summarize_splits_abstention_by_answerability():
    rows = [
        _row(True, False, 1.0, 100.0),
        _row(True, True, 0.0, 200.0),
        _row(False, True, None, 300.0),
        _row(False, False, None, 400.0),
        _row(False, True, None, 500.0),
    ]
    summary = summarize(rows, k=5)
    assert summary["hit@5"] == 0.5
    assert summary["over_abstention"] == 0.5
    assert summary["abstention_accuracy"] == pytest.approx(0.6667)
    assert summary["total_ms_p50"] == 300.0
    assert summary["citation_precision"] is None


def test_crag_score_rewards_right_answers_and_punishes_wrong_ones_more_than_abstaining():
    assert crag_score(answerable=True, abstained=False, right=True) == 1
    assert crag_score(answerable=True, abstained=True, right=False) == 0
    assert crag_score(answerable=True, abstained=False, right=False) == -1
    assert crag_score(answerable=False, abstained=True, right=False) == 0
    assert crag_score(answerable=False, abstained=False, right=False) == -1


def test_crag_counts_an_answer_right_only_when_it_states_every_key_fact():
    common = {"evidence": ["x"], "reference_answer": "r", "ranked_texts": ["x"], "k": 5, "abstained": False}
    full = score_question(answerable=True, key_facts=["600 billion", "2024"], answer="600 billion by 2024", **common)
    half = score_question(answerable=True, key_facts=["600 billion", "2024"], answer="600 billion", **common)
    assert (full["crag"], half["crag"]) == (1, -1)
    unanswerable = {"evidence": [], "key_facts": [], "reference_answer": "", "ranked_texts": [], "k": 5}
    assert score_question(answerable=False, abstained=False, **unanswerable)["crag"] == -1
    assert score_question(answerable=False, **unanswerable)["crag"] is None  # retrieval-only variants
