"""A sentence gives the asked detail only when it states that kind of detail, as precisely as asked, about what is
asked: a count of the counted noun in the count's own phrase, a month when a month is asked.

Each case is one member of a class the held-out sets measure; none is copied from an eval set.
"""

from __future__ import annotations

import numpy as np
import pytest

from rag.answering.abstain import detail_reading, missing_detail
from rag.answering.details import (
    asked_details,
    asked_office,
    asked_precision,
    asks_publisher,
    counted_words,
    known_publisher,
)
from rag.settings import Settings


def gives(embedder, question: str, sentence: str, **switches: object) -> bool:
    settings = Settings().model_copy(update=switches)
    reading = detail_reading(question, [sentence], [""], settings, embedder.encode_cached)
    return missing_detail(question, [sentence], np.array([True]), reading) is None


@pytest.mark.parametrize(
    ("sentence", "given"),
    [
        ("Korea hosts 1,200 Vietnamese nurses in its hospitals.", True),
        ("The Korean visa scheme reopened after 20 years, with the first Vietnamese nurses due in 2026.", False),
        ("Over three decades, nurses from Vietnam have trained in Korea.", False),  # a count of decades
        ("The 2,400 U.S.-trained nurses of Vietnam work in Korea.", True),  # the periods of "U.S." end no phrase
    ],
)
def test_a_count_counts_the_noun_of_its_own_phrase(embedder, sentence: str, given: bool) -> None:
    question = "how many vietnamese nurses work in korea?"
    assert gives(embedder, question, sentence) is given
    assert gives(embedder, question, sentence, counted_phrase=False)  # the old reading: any count before "nurses"


def test_an_acronym_after_how_many_is_a_name_not_a_function_word() -> None:
    assert counted_words("how many US sailors are based in Guam") == ["sailors"]
    assert counted_words("how many UK jets flew", acronyms=False) == ["jets", "flew"]  # "uk" is no function word
    assert counted_words("how many US sailors are based in Guam", acronyms=False) == []  # read as "us"


def test_a_count_of_something_else_does_not_give_how_many_us_sailors(embedder) -> None:
    question = "how many US sailors are based in Guam?"
    assert not gives(embedder, question, "Guam will raise its port budget to two percent of output.")
    assert gives(embedder, question, "Some 6,000 US sailors are based in Guam.")


@pytest.mark.parametrize(
    ("question", "precision"),
    [
        ("What month will the Davao port reopen?", "month"),
        ("when exactly does the Laos rail link open, month?", "month"),
        ("On which day was the Fiji accord signed?", "day"),
        ("When was the Fiji accord signed?", None),
        ("what day-to-day work does the mission do?", None),
    ],
)
def test_a_question_can_ask_for_a_month_or_a_day(question: str, precision: str | None) -> None:
    assert asked_precision(question) == precision


@pytest.mark.parametrize(
    ("sentence", "given"),
    [
        ("The Davao port will reopen by 2027.", False),  # a year alone
        ("The Davao port will reopen in March 2027.", True),
        ("The Davao port will reopen in Sept. 2027.", True),
    ],
)
def test_a_year_alone_does_not_give_the_month(embedder, sentence: str, given: bool) -> None:
    question = "What month will the Davao port reopen?"
    assert gives(embedder, question, sentence) is given
    assert gives(embedder, question, sentence, date_precision=False)


def test_a_year_alone_does_not_give_the_day(embedder) -> None:
    question = "On which day was the Fiji accord signed?"
    assert not gives(embedder, question, "The Fiji accord was signed in May 2023.")
    assert gives(embedder, question, "The Fiji accord was signed on May 4, 2023.")


def test_what_yr_asks_for_a_date() -> None:
    assert [d.name for d in asked_details("what yr did fiji join the accord")] == ["the date"]


@pytest.mark.parametrize(
    ("sentence", "given"),
    [
        ("Vice President Harris met business leaders in Suva.", False),  # a name, but no prime minister
        ("Harris met Prime Minister Sitiveni Rabuka in Suva.", True),
    ],
)
def test_an_office_asked_by_its_initials_needs_its_holder(embedder, sentence: str, given: bool) -> None:
    question = "who was the fijian pm harris met in suva"
    assert asked_office(question) == "prime minister"
    assert asked_office(question, initials=False) is None
    assert gives(embedder, question, sentence) is given
    assert gives(embedder, question, sentence, office_initials=False)


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("which magazine published the Fiji op-ed?", True),
        ("Which paper or site ran the Laos essay?", True),
        ("who published it", True),
        ("Which countries published a joint statement?", True),  # answered when its document names a publisher
        ("What did the Fiji op-ed argue?", False),
        ("Which ships ran aground near the Fiji reef?", False),  # "ran" asks for a publisher only after a paper
    ],
)
def test_a_question_can_ask_who_published_a_document(question: str, asks: bool) -> None:
    assert asks_publisher(question) is asks


def test_an_unknown_publisher_is_no_publisher() -> None:
    assert known_publisher("The White House (Briefing Room), Washington, DC")
    assert not known_publisher("unknown (opinion article; the author's site lists it)")
    assert not known_publisher(None)
