"""A fact answer to "which X" shows the sentence naming an X, and a second value of an asked amount beside it.

Each case is a member of a class the tuning sets measure, in wording of our own; none is copied from an eval set.
"""

from __future__ import annotations

import pytest

from rag.answering.asked_kind import asked_kind, kind_fit
from rag.engine import Engine


@pytest.mark.parametrize(
    ("question", "holds", "lacks"),
    [
        # a name ending in the noun asked for, not the noun alone
        ("Which port did the frigates visit?", "The frigates docked at Cam Ranh Port on Monday.", "Ports matter."),
        # British spelling and plural in the question, American singular in the text
        (
            "What programmes does the embassy fund?",
            "The embassy funds the Young Leaders Program in Hanoi.",
            "The embassy funds several programmes in Hanoi.",
        ),
        # a preposition before the wh-word; a name the question gives is no answer
        (
            "At which airport near Tokyo did the Hilton delegation land?",
            "The delegation landed at Haneda Airport at noon.",
            "The Hilton Airport Lounge was closed.",
        ),
    ],
)
def test_a_sentence_naming_a_thing_of_the_asked_kind_fits(question: str, holds: str, lacks: str) -> None:
    assert kind_fit(question, holds) == 1.0
    assert kind_fit(question, lacks) == 0.0


@pytest.mark.parametrize(
    "question", ["What is the partnership for?", "Why did the talks stall?", "How much did Japan pledge?"]
)
def test_a_question_asking_for_no_kind_has_none(question: str) -> None:
    assert asked_kind(question) is None
    assert kind_fit(question, "The Sokha Hotel hosted the talks.") is None


@pytest.mark.slow
def test_which_venue_is_answered_by_the_dateline_naming_it(extractive_engine: Engine) -> None:
    # The venue is a dateline too short to count as a sentence: it stands because it names the kind asked for.
    answer = extractive_engine.ask("At which hotel did Hun Sen receive President Biden?")
    assert "Sokha Hotel" in answer.text


@pytest.mark.slow
def test_an_amount_question_shows_the_second_amount_stated_beside_the_first(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What is Micron's investment in India worth?")
    assert "$825 million" in answer.text and "$2.75 billion" in answer.text
    assert "Boeing" not in answer.text  # another company's amount further away is no second value
