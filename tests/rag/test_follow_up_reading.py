"""Later turns: a date question answered by a dated document's "today", years that name rather than date, and a
turn that reads alone but goes on with the conversation (told by retrieval).

Conversations and sentences are written for these tests; none is copied from an eval set.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rag.answering.details import DETAILS, Dating, as_dated, spoken_date
from rag.engine import Engine

DATE = next(d for d in DETAILS if d.name == "the date")


def turns(*said: str) -> list[dict[str, str]]:
    """A history of alternating user and assistant turns."""
    return [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(said)]


def test_a_today_in_a_dated_document_states_that_date() -> None:
    sentence = "The ministers signed the accord today in Hanoi."
    assert not DATE.carries(sentence, "When was the accord signed?")
    assert DATE.carries(as_dated(sentence, "2021-03-05", Dating()), "When was the accord signed?")
    assert not DATE.carries(as_dated(sentence, "", Dating()), "When was the accord signed?")  # an undated document
    assert not DATE.carries(as_dated(sentence, "2021-03-05", Dating(relative=False)), "When was the accord signed?")
    assert spoken_date("2021-03-05") == "5 March 2021"


@pytest.mark.parametrize(
    "sentence",
    [
        "They met on the margins of the 2019 Pacific Islands Forum.",
        "The envoy spoke with 2020 G20 Chair Mohammed bin Salman.",
        "They discussed preparations ahead of the 2024 elections.",
    ],
)
def test_a_year_that_names_or_qualifies_a_thing_is_no_date_of_the_event(sentence: str) -> None:
    asked = "When did they meet?"
    assert DATE.carries(sentence, asked)  # before: any year was the date asked for
    assert not DATE.carries(as_dated(sentence, "", Dating()), asked)
    assert DATE.carries(as_dated(sentence, "", Dating(named_years=False)), asked)


@pytest.mark.parametrize(
    "sentence",
    [
        "In 2019 Japan and India held their first two-plus-two talks.",
        "In 2018 Prime Minister Abe visited Beijing.",
        "The pact was signed on 3 May 2019 New Delhi time.",
        "They met in March 2017 in Tokyo.",
    ],
)
def test_a_year_after_a_preposition_or_a_month_stays_a_date(sentence: str) -> None:
    assert DATE.carries(as_dated(sentence, "", Dating()), "When did they meet?")


@pytest.mark.slow
@pytest.mark.parametrize(
    "history",
    [
        turns("What did the President and the Cambodian premier discuss in Phnom Penh?", "Ream Naval Base [1]."),
        turns("what did Japan, the Philippines and the US commit to at their Washington summit?", "Ties [1]."),
    ],
)
def test_when_after_an_event_the_answer_states_the_dated_documents_day(
    make_engine: Callable[..., Engine], history: list[dict[str, str]]
) -> None:
    engine = make_engine()
    answer = engine.ask("what day was that meeting?", history)
    # before: a sentence naming "the 2023 elections" or "2022 ASEAN Chair" stood in for the date
    assert answer.text.startswith("(") and ("12 November 2022" in answer.text or "11 April 2024" in answer.text)
    assert "today" in answer.citations[0].quote
    off = make_engine(relative_dates=False).ask("what day was that meeting?", history)
    assert "November 2022" not in off.text and "April 2024" not in off.text


LUNAR = turns(
    "What lunar deal did the US and Japan sign in 2024?", "A Lunar Surface Exploration Implementing Arrangement [1]."
)


@pytest.mark.slow
def test_a_turn_that_reads_alone_but_misses_the_conversations_passages_is_read_with_it(
    make_engine: Callable[..., Engine],
) -> None:
    # no pronoun, no "and": only retrieval tells that "in exchange" is about the lunar deal
    answer = make_engine().ask("what will Japan contribute in exchange?", LUNAR)
    assert answer.search_query.endswith("What lunar deal did the US and Japan sign in 2024?")
    assert "pressurized lunar rover" in answer.text
    before = make_engine(followup_retrieval=False).ask("what will Japan contribute in exchange?", LUNAR)
    assert "pressurized lunar rover" not in before.text


@pytest.mark.slow
def test_a_new_topic_is_not_merged_with_the_conversation(make_engine: Callable[..., Engine]) -> None:
    answer = make_engine().ask("Different question: how many Indian engineers will Lam Research train?", LUNAR)
    assert answer.search_query == "Different question: how many Indian engineers will Lam Research train?"
