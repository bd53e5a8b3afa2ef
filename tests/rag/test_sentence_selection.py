"""Which source sentences the extractive composer shows: the one that answers, not one that sounds like the question.

Each case is one member of a class the fresh sets measure; none is copied from an eval set.
"""

from __future__ import annotations

import re

import pytest

from rag.engine import Engine


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        # the cause is stated without "because": Japan seeks tighter ties "under Quad or not"
        ("Why is Japan pushing so hard for ties with India?", "under Quad or not"),
        ("Why is Japan losing ground with the Pacific island countries?", None),
    ],
)
def test_a_why_question_without_a_cue_word_also_shows_the_best_sentence_of_a_second_passage(
    extractive_engine: Engine, question: str, reason: str | None
) -> None:
    answer = extractive_engine.ask(question)
    assert answer.shape == "reason"
    shown = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    assert len(shown) >= 2  # before: the best match alone, one long sentence restating the question
    assert len(re.findall(r"\[\d+\]", answer.text)) <= 3  # still short
    if reason:
        assert reason in " ".join(answer.text.split())
