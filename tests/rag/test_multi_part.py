"""Answers that need two passages: where a bare "and" splits a question, what a later part's pronoun stands for,
answers per part, and a yes/no about an outcome answered by the later source.

Each question is written for these tests (none is copied from an eval set).
"""

from __future__ import annotations

import pytest

from rag.answering.shapes import carry_subject, split_parts
from rag.engine import Engine
from testkit.answers import assert_every_quote_is_its_claim


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("What is the RAA and why does it matter?", ["What is the RAA?", "why does it matter?"]),
        (
            "Who is Anthony Albanese and what did he sign with India and with Japan?",
            ["Who is Anthony Albanese?", "what did he sign with India?", "what did he sign with Japan?"],
        ),
        (  # the verb after the last country is both parts'
            "How do Japan's aid pledges to Fiji and to Tonga compare?",
            ["How do Japan's aid pledges to Fiji compare?", "How do Japan's aid pledges to Tonga compare?"],
        ),
    ],
)
def test_a_plain_and_before_a_second_question_splits_it(question: str, parts: list[str]) -> None:
    assert split_parts(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "When and where did the Quad foreign ministers meet?",  # two asked facts of one question
        "What did Modi and Albanese agree on critical minerals?",  # two subjects of one verb
        "How much did Tokyo lend to Manila and by when?",  # a tail too short to be a question
    ],
)
def test_a_plain_and_inside_one_question_does_not_split_it(question: str) -> None:
    assert split_parts(question) == [question]


def test_without_part_and_only_punctuation_splits() -> None:
    assert split_parts("What is the RAA and why does it matter?", bare_and=False) == [
        "What is the RAA and why does it matter?"
    ]


@pytest.mark.parametrize(
    ("parts", "carried"),
    [
        (  # a leader's name is also a mention of his country: still the person "he" is
            ["Which Pacific islands did Albanese tour in 2023?", "where did he go next on his trip?"],
            ["Which Pacific islands did Albanese tour in 2023?", "where did Albanese go next on Albanese's trip?"],
        ),
        (  # "it" after an auxiliary is what the first part asks of
            ["What is the Reciprocal Access Agreement?", "when did it take effect?"],
            ["What is the Reciprocal Access Agreement?", "when did Reciprocal Access Agreement take effect?"],
        ),
        (  # "it" as an object is the name the first part ends on, not its subject
            ["What did the article say about South Korea?", "how did the 2023 statement describe it?"],
            ["What did the article say about South Korea?", "how did the 2023 statement describe South Korea?"],
        ),
        (  # the subject the first part asks of, not the country it ends on
            ["What did Japan lend to Fiji?", "what did it give Tonga?"],
            ["What did Japan lend to Fiji?", "what did Japan give Tonga?"],
        ),
        (  # "she" after a question about who wrote something is the author
            ["Who wrote the op-ed on Japan?", "what is her job?"],
            ["Who wrote the op-ed on Japan?", "what is the author's job?"],
        ),
        (  # nothing the pronoun could stand for: left as asked
            ["What did the leaders discuss in 2023?", "what did they sign?"],
            ["What did the leaders discuss in 2023?", "what did they sign?"],
        ),
    ],
)
def test_a_later_parts_pronoun_takes_the_first_parts_subject(parts: list[str], carried: list[str]) -> None:
    assert carry_subject(parts) == carried


def test_a_person_pronoun_with_no_person_to_take_keeps_the_question_whole() -> None:
    assert carry_subject(["What did the summit decide?", "what did she say about it?"]) == [
        "What did the summit decide and what did she say about it?"
    ]


@pytest.mark.slow
def test_a_later_part_is_answered_from_its_own_passages_not_the_first_parts(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask(
        "Which countries did Kishida visit in 2022, and where was he received for his official visit in 2024?"
    )
    second_part = "where was Kishida received for Kishida's official visit in 2024?"
    assert answer.parts[1] == second_part
    first, second = answer.text.split(f"\n\n{second_part[:1].upper()}{second_part[1:]}\n")  # heads its block
    assert "Indonesia and Vietnam" in first
    assert "Washington" in second and "Indonesia and Vietnam" not in second
    assert_every_quote_is_its_claim(answer, extractive_engine)


@pytest.mark.slow
def test_a_yes_no_about_an_outcome_adds_the_later_source_that_names_the_same_figure(
    extractive_engine: Engine, make_engine
) -> None:
    question = "Was the JPY 600 billion that Tokyo promised Manila ever met?"
    answer = extractive_engine.ask(question)
    assert "exceeded" in answer.text, answer.text
    assert "exceeded" not in make_engine("extractive", later_outcome=False).ask(question).text
    assert_every_quote_is_its_claim(answer, extractive_engine)
