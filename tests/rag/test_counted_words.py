"""Ordinary English words are not typos of names, and a count or a price must be of what the question asks about.

Each case is one member of a class (a dictionary word one letter from a corpus name; a "how many X" answered by a
figure counting something else; a price tag asked of a thing no amount is given for); none is copied from an eval set.
"""

from __future__ import annotations

import numpy as np
import pytest

from rag.answering.abstain import detail_reading, missing_detail
from rag.answering.details import asked_details, counted_words, counts_one_of, same_stem
from rag.retrieval.wording import Vocabulary, english_words
from rag.settings import Settings

TEXT = (
    "Officials met the Hunter in Manila, and the Hunter agreed. Later the Hunter flew to the Philippines. "
    "The fleet left Marino Bay; Marino Bay was closed. The ship Clover sailed, and the Clover docked. "
    "Leaders of Indonesia and the Philippines met; Indonesia agreed."
)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_texts([TEXT])


@pytest.mark.parametrize(
    "question",
    [
        "what did the hunters say?",  # "hunters" is a word, not a slip for the name "Hunter"
        "Clever moves by Japan?",  # a dictionary word opening the question, one letter from "Clover"
        "where was the cover story printed?",  # one letter from "Clover"
    ],
)
def test_an_english_word_is_not_read_as_a_typo_of_a_name(vocabulary: Vocabulary, question: str) -> None:
    assert vocabulary.normalize(question, real_words=True) == question


def test_the_dictionary_is_the_embedders_vocabulary() -> None:
    words = english_words()
    assert {"hunters", "cover", "clever", "much"} <= words
    assert "philipines" not in words  # a slip is seldom a whole token


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("what did indonesa say?", "what did Indonesia say?"),  # a place in lower case, with a slip
        ("Did the Huntre agree?", "Did the Hunter agree?"),  # a capitalised slip in a name
        ("Marinno Bay", "Marino Bay"),
    ],
)
def test_slips_that_are_no_words_still_map_onto_names(vocabulary: Vocabulary, typed: str, meant: str) -> None:
    assert vocabulary.normalize(typed, real_words=True) == meant


def test_the_counted_words_are_the_lower_case_words_after_how_many() -> None:
    assert counted_words("How many Dutch engineers are in Hanoi?") == ["engineers"]
    assert counted_words("what number of frigates took part?") == ["frigates", "took"]
    assert counted_words("What did they sign?") == []
    assert counted_words("how many people took part?") == []  # a word too common to name what is counted


@pytest.mark.parametrize(
    ("sentence", "counts"),
    [
        ("Vietnam will buy two frigates from Korea.", True),
        ("Vietnam will buy two warships from Korea.", True),  # a word of like meaning
        ("Korea will build 12 modern naval frigates.", True),  # adjectives between the count and its noun
        ("Frigates joined naval drills with three countries.", False),  # a count of countries, past the noun
        ("Vietnam signed a $40 million deal with Korea for frigates.", False),  # an amount, no count
        ("Vietnam will train 300 cadets in Korea.", False),  # a count of something else
    ],
)
def test_a_count_must_count_what_is_asked(embedder, sentence: str, counts: bool) -> None:
    question = "How many frigates will Vietnam buy from Korea?"
    settings = Settings()

    def alike(word: str, other: str) -> bool:
        return float(embedder.encode_cached([word])[0] @ embedder.encode_cached([other])[0]) >= settings.counted_cosine

    assert counts_one_of(sentence, question, counted_words(question), alike) is counts
    gives = detail_reading(question, [sentence], [""], settings, embedder.encode_cached)
    assert (missing_detail(question, [sentence], np.array([True]), gives) is None) is counts


def test_a_price_tag_is_an_amount_the_sources_must_give(embedder) -> None:
    question = "What is the total price tag of the Mekong rail link?"
    assert [d.name for d in asked_details(question)] == ["the amount"]
    assert [d.name for d in asked_details("whats the dollar value of the deal")] == ["the amount"]
    assert asked_details("Why did rice prices rise in Vietnam?") == []
    assert asked_details("What is the strategic value of the base?") == []
    sentences = ["The Mekong rail link will run 400 km from Vientiane."]
    gives = detail_reading(question, sentences, [""], Settings(), embedder.encode_cached)
    assert missing_detail(question, sentences, np.array([True]), gives).name == "the amount"


@pytest.mark.parametrize(
    ("question", "sentence", "counts"),
    [
        ("How many vaccinations did the Quad deliver?", "It delivered 400 million vaccine doses.", True),
        ("how many cooperation pacts were signed?", "Officials signed 9 cooperative pacts.", True),
        ("How many vaccinations did the Quad deliver?", "It delivered 400 million tonnes of rice.", False),
    ],
)
def test_a_count_of_another_form_of_the_counted_word_counts_it(question: str, sentence: str, counts: bool) -> None:
    # One stem ("vaccin"): a count of vaccine doses is a count of vaccinations; rice is not.
    assert counts_one_of(sentence, question, counted_words(question), same_stem) is counts
