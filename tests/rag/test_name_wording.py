"""A reader's ordinary words stay words: no name the passages must hold is made of them.

Each case is one member of a class (lower-case words near a corpus name, a country code standing alone,
function words in the known-terms check); none is copied from an eval set.
"""

from __future__ import annotations

import pytest

from rag.retrieval.wording import Vocabulary

TEXT = (
    "President Ramos met officials in Manila. Later Ramos flew to the Philippines and Japan. "
    "Officials from Japan and the Philippines met the Senate; the Senate agreed. "
    "Japan and the Philippines spoke with Italy, and Italy agreed."
)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_texts([TEXT])


def test_a_lower_case_word_does_not_become_a_name(vocabulary: Vocabulary) -> None:
    question = "how many ramps did they build?"  # one letter from the name "Ramos", but an ordinary word
    assert vocabulary.normalize(question, real_words=True) == question
    assert vocabulary.normalize(question) != question  # the old reading: a name the passages must then hold


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("What did Ramoss say?", "What did Ramos say?"),  # a capitalised name with a slip
        ("aid to the phillipines", "aid to the Philippines"),  # a place typed casually with slips
    ],
)
def test_names_and_places_with_slips_are_still_mapped(vocabulary: Vocabulary, typed: str, meant: str) -> None:
    assert vocabulary.normalize(typed, real_words=True) == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("what did PH and China agree", "what did Philippines and China agree"),
        ("did JP sign anything?", "did Japan sign anything?"),
    ],
)
def test_a_lone_country_code_names_its_country(vocabulary: Vocabulary, typed: str, meant: str) -> None:
    assert vocabulary.normalize(typed, lone_codes=True) == meant
    assert vocabulary.normalize(typed) == typed  # before: a code only beside another country


@pytest.mark.parametrize(
    "question",
    [
        "WHAT DID PH AND CHINA AGREE",  # written in capitals: any two capitals may be a word
        "did IT firms from Japan invest?",  # "it" is a word, though Italy is in the sources
        "what did the US say?",  # "us" is a word too; the country finder reads "US" itself
        "did CA sign?",  # a code of a country the sources never name
    ],
)
def test_a_code_that_is_a_word_or_in_a_capitalised_question_stays(vocabulary: Vocabulary, question: str) -> None:
    assert vocabulary.normalize(question, lone_codes=True) == question


def test_function_words_are_never_unknown_topic_terms(retriever) -> None:
    index = retriever._bm25_index()
    question = "what did Japan say thence about whaling"
    thence, whaling = index.stem(["thence", "whaling"])
    assert thence in index.unknown_terms(question)  # a stop word the corpus never uses counted as a topic
    assert index.unknown_terms(question, function_words=True) == [whaling]  # the topic word still counts
