"""The asked-detail check: which detail a question asks for, and which sentences give one."""

from __future__ import annotations

import pytest

from rag.answering.abstain import missing_detail, paraphrase_coverage, topic_coverage
from rag.answering.details import DETAILS, asked_details

BY_NAME = {d.name: d for d in DETAILS}


@pytest.mark.parametrize(
    ("question", "details"),
    [
        ("When was the Japan-UK RAA signed?", ["the date"]),
        ("In what year did Thailand and Saudi Arabia break off relations?", ["the date"]),
        ("How much did the Setsu patrol vessel cost to build?", ["the amount"]),
        ("How many Chinese troops are stationed at Ream Naval Base?", ["the number"]),
        ("What is the name of the fighter jet?", ["the name"]),
        ("Where was Natasha Agarwal born?", ["the place"]),
        ("Who wrote Diplomatic Overdrive?", ["the person"]),
        ("When and where was the first U.S.-Pacific Islands Summit held?", ["the date", "the place"]),
        ("Who is Natasha Agarwal?", []),
        ("How did Manila respond when it felt Beijing had acted provocatively at sea?", []),
        ("Who belongs to the Quad, and what does the article say about India?", []),
        ("What is the 'diamond hexagon'?", []),
    ],
)
def test_questions_ask_for_the_details_they_name(question: str, details: list[str]) -> None:
    assert [d.name for d in asked_details(question)] == details


@pytest.mark.parametrize(
    ("detail", "sentence", "carries"),
    [
        ("the date", "Japan has also signed a Reciprocal Access Agreement (RAA) with the UK.", False),
        ("the date", "Kishida visited Indonesia and Vietnam in 2022.", True),
        ("the amount", "Japan pledged JPY 600 billion by March 2024.", True),
        ("the amount", "Japan pledged support by March 2024.", False),
        ("the number", "13 cooperative agreements were signed.", True),
        ("the number", "They met in July 2023.", False),
        ("the name", "Cambodia and China aim for a “diamond hexagon” cooperation framework.", True),
        ("the name", "An MoU between General Electric and Hindustan Aeronautics Limited.", True),
        ("the name", "Japan, Italy and the UK will develop next generation fighter aircraft by 2035.", False),
        ("the person", "Natasha Agarwal", True),
    ],
)
def test_a_sentence_carries_a_detail_only_when_it_states_one(detail: str, sentence: str, carries: bool) -> None:
    assert BY_NAME[detail].carries(sentence, "What is it?") is carries


def test_figures_the_question_already_gives_do_not_count() -> None:
    assert not BY_NAME["the date"].carries(
        "The summit took place in 2022.", "What happened at the 2022 summit, and when?"
    )


def stem(words: list[str]) -> list[str]:
    return [w.lower().removesuffix("ed") for w in words]


def test_coverage_weighs_rare_terms_and_counts_a_capital_as_its_country() -> None:
    idf = {"kishida": 4.0, "jakarta": 5.0}
    sentences = ["Prime Minister Kishida visited Indonesia in 2022.", "Kishida met Biden.", "Nothing here."]
    coverage, terms = topic_coverage(sentences, "What did Kishida do in Jakarta?", idf, stem)
    assert terms == 2
    assert list(coverage) == [1.0, pytest.approx(4 / 9), 0.0]


def test_missing_detail_reads_only_sentences_on_the_topic() -> None:
    question = "When was the Japan-UK RAA signed?"
    sentences = ["Japan signed an RAA with the UK.", "Japan will develop fighter aircraft with the UK by 2035."]
    assert missing_detail(question, sentences, [True, False]).name == "the date"
    assert missing_detail(question, sentences, [True, True]) is None


def test_a_paraphrased_word_covers_its_topic_term_but_a_country_covers_no_other(embedder) -> None:
    idf = {"talks": 3.0, "japan": 2.0}
    question = "When did Japan's talks end?"
    sentences = ["Japan's discussions ended in 2020.", "Italy's discussions ended in 2020.", "Japan ended it in 2020."]
    coverage = paraphrase_coverage(sentences, question, idf, stem, embedder.encode_cached, 0.62)
    assert coverage[0] == pytest.approx(1.0)  # "talks" by "discussions"
    assert coverage[1] == pytest.approx(3 / 5)  # Italy is no paraphrase of Japan
    assert coverage[2] == pytest.approx(2 / 5, abs=0.05)


def test_a_code_is_no_count() -> None:
    assert not BY_NAME["the number"].carries("They agreed to buy MQ-9B drones.", "How many drones?")
