"""A fact answer shows the sentence holding what the wh-word asks for: a person, quoted words, a name, a date, a place.

Each case is a member of a class the tuning sets measure, in wording of our own; none is copied from an eval set.
"""

from __future__ import annotations

import pytest

from rag.answering.extractive import answer_fit
from rag.answering.shapes import classify
from rag.engine import Engine


@pytest.mark.parametrize(
    ("question", "holds", "lacks"),
    [
        # who: an office and a name, not a sentence naming only bodies and countries
        (
            "Who led the Australian delegation?",
            "Foreign Minister Penny Wong met her counterparts in Canberra.",
            "The Ministry of Foreign Affairs of Australia welcomed the talks.",
        ),
        # which X: a code the question lacks, not the maker it already names
        (
            "Which Lockheed fighter did Poland order?",
            "Poland signed for thirty-two F-35A jets.",
            "Lockheed expects more orders from Poland soon.",
        ),
        # what did X say: quoted words, not the author's paraphrase
        (
            "What did the minister say about the dam?",
            "The minister told reporters: “We will not let the river run dry.”",
            "The dam has been a source of tension for a decade.",
        ),
        # when: a full date, not a year the question gives
        (
            "When was the 2019 accord signed?",
            "The accord was signed on 4 March 2019 after long talks.",
            "The 2019 accord covers fisheries and trade.",
        ),
        # where: a country the question lacks
        (
            "Where did the Indonesian and Malaysian leaders meet?",
            "The Indonesian and Malaysian leaders met in Singapore last week.",
            "The Indonesian and Malaysian leaders met to discuss palm oil.",
        ),
    ],
)
def test_a_sentence_holding_what_the_wh_word_asks_fits_better_than_one_that_does_not(
    question: str, holds: str, lacks: str
) -> None:
    assert answer_fit(question, holds) == 1.0
    assert answer_fit(question, lacks) < 1.0


@pytest.mark.parametrize(
    "question",
    ["Who is Natasha Agarwal?", "Why did the talks stall?", "How is the partnership funded?"],
)
def test_a_question_asking_about_a_name_or_a_reason_asks_for_no_answer_type(question: str) -> None:
    assert answer_fit(question, "President Biden met Prime Minister Kishida on 13 January 2023.") is None


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        # a who-question: the sentence naming the advisers, not the one about what "the three NSAs" reaffirmed
        ("Who spoke for Manila at the first meeting of the three national security advisers?", "Eduardo Año"),
        # a which-question naming the maker: the model's code, not the maker's other plans in India
        ("What General Atomics aircraft is India going to acquire?", "MQ-9B"),
        # the leader's quoted question is his words, not a rhetorical question of the article
        ("What exactly did the Cambodian president publicly declare about leaning on China?", "who should I rely on"),
    ],
)
def test_a_fact_answer_leads_with_the_sentence_holding_the_asked_type(
    extractive_engine: Engine, question: str, answer: str
) -> None:
    shown = " ".join(extractive_engine.ask(question).text.split())
    # before: a sentence on the topic without the person, code or quotation, picked for sounding like the question
    assert answer in shown.split("[1]")[0]


@pytest.mark.parametrize(
    "question",
    [
        "what's the Vietnam readout about",
        "What came out of the 2022 Phnom Penh summit?",
        "what does the India joint statement say",
        "What is the Pacific partnership declaration about?",
    ],
)
def test_asking_what_a_thing_is_about_or_says_asks_for_an_overview(question: str) -> None:
    assert classify(question) == "overview"
    assert classify(question, overview_asks=False) == "fact"  # before: one sentence, read as a fact question


def test_asking_what_a_thing_says_about_a_detail_stays_a_fact_question() -> None:
    assert classify("What does the India joint statement say about drone purchases?") == "fact"
