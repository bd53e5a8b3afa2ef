"""A follow-up glued to the earlier question chooses its sentences by its own words first.

The conversations are written for these tests; none is copied from an eval set.
"""

from __future__ import annotations

import pytest

from ingest.chunking import Chunk
from rag.answering.extractive import Limits, extract_answer
from rag.profile import Profile
from rag.query import build_query
from rag.storage.embeddings import Embedder
from rag.storage.records import Hit

PASSAGE = (
    "The river commission opened its shared forecasting centre in Vientiane in 2019. "
    "The centre now employs forty hydrologists from the four member states. "
    "Flood warnings reach villages along the Mekong within two hours."
)


def _hit(text: str) -> Hit:
    return Hit(Chunk("river#0", "river", 0, text, 0, len(text)), rank=1, score=1.0)


@pytest.mark.parametrize(
    ("turn", "earlier", "answer"),
    [
        (
            "how quickly do villagers get warned?",
            "where did the river commission open its shared forecasting centre?",
            "two hours",
        )
    ],
)
def test_a_glued_turn_shows_the_sentence_its_own_words_ask_for(
    embedder: Embedder, turn: str, earlier: str, answer: str
) -> None:
    glued, one = f"{turn} {earlier}", Limits(sentences=1)
    numbered = [(1, _hit(PASSAGE))]
    alone = extract_answer(glued, "fact", numbered, embedder, one, Profile())
    own = extract_answer(glued, "fact", numbered, embedder, one, Profile(), turn=turn)
    assert answer not in alone.text  # scored on the glued text, the earlier question's sentence wins
    assert answer in own.text, own.text


def test_only_a_glued_turn_carries_its_own_words() -> None:
    history = [
        {"role": "user", "content": "when did the river commission open its forecasting centre?"},
        {"role": "assistant", "content": "In 2019 [1]."},
    ]

    def asked(question: str, standalone: str) -> str:
        return build_query(
            question, history, None, None, max_chars=500, profile=Profile(),
            find_scope=lambda text, docs: None, standalone_of=lambda q, h: standalone,
        ).turn  # fmt: skip

    assert asked("how many people work there?", "how many people work there? when did ...") == (
        "how many people work there?"
    )
    assert asked("How many hydrologists are there?", "How many hydrologists are there?") == ""


def test_a_turn_typed_without_a_question_mark_keeps_its_own_words_once_glued() -> None:
    """The glue adds the "?" the reader left off; the turn is still the words before the earlier question."""
    history = [
        {"role": "user", "content": "who runs the river commission's forecasting centre?"},
        {"role": "assistant", "content": "A director from Laos [1]."},
    ]
    query = build_query(
        "what warnings did they start sending", history, None, None, max_chars=500, profile=Profile(),
        find_scope=lambda text, docs: None,
        standalone_of=lambda q, h: f"{q}? who runs the river commission's forecasting centre?",
    )  # fmt: skip
    assert query.turn == "what warnings did they start sending"
    assert query.shape == "fact"


STATEMENT = (
    "The ministers reaffirmed their commitment to open trade across the region. "
    "On fisheries, the two governments will pool patrol data to stop illegal fishing fleets. "
    "They also agreed to fund a joint laboratory that tracks the health of tuna stocks. "
    "The next ministerial meeting will take place in Suva in 2026."
)


def test_what_a_statement_says_about_a_topic_gives_its_points_on_it_not_one_sentence(embedder: Embedder) -> None:
    asked, three = "what does the statement say about fisheries?", Limits(sentences=3)
    numbered = [(1, _hit(STATEMENT))]
    one = extract_answer(asked, "fact", numbered, embedder, three, Profile())
    points = extract_answer(asked, "fact", numbered, embedder, three, Profile(), about=True)
    assert "tuna stocks" not in one.text  # as a fact, only the sentence naming the asked word is shown
    assert "illegal fishing" in points.text and "tuna stocks" in points.text, points.text
    assert "Suva" not in points.text
