"""An overview of one document gives its main points across it, in its order; not one region of it.

The questions are written for these tests (a document asked about without naming a detail), not taken from a dataset.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from ingest.chunking import Chunk
from rag.answering.extractive import _Candidate, _main_points, _spread, focus_document
from rag.answering.overview_points import announces, centrality, introduces_list
from rag.answering.shapes import classify
from rag.engine import Engine
from rag.storage.records import Hit
from testkit.answers import assert_every_quote_is_its_claim


@pytest.mark.parametrize(
    "question",
    [
        "Sum up what the US-Indonesia partnership statement covers",
        "give me a rundown of the Biden-Widodo comprehensive strategic partnership statement",
    ],
)
def test_overview_of_one_document_spreads_over_it_in_its_order(extractive_engine: Engine, question: str) -> None:
    answer = extractive_engine.ask(question)
    assert answer.shape == "overview"
    heading, *bullets = answer.text.splitlines()
    assert heading.endswith("(2023-11-13):")  # the document, named once, above its points
    assert len(bullets) >= 3 and all(b.startswith("- ") for b in bullets)
    assert {c.doc_id for c in answer.citations} == {answer.citations[0].doc_id}
    starts = [q.quote_start for c in sorted(answer.citations, key=lambda c: c.n) for q in c.quotes]
    assert len({c.chunk_start for c in answer.citations}) >= 2  # more than one region of the document
    assert starts == sorted(starts)  # shown in the document's order, so [n] run 1..k too
    assert re.findall(r"\[(\d+)\]", answer.text)[0] == "1"
    assert_every_quote_is_its_claim(answer, extractive_engine)


def _candidate(n: int, hit: Hit, sentence: str, score: float, vector: list[float]) -> _Candidate:
    v = np.asarray(vector, dtype=np.float32)
    return _Candidate(n, hit, 0, [(0, len(sentence))], sentence, score, v / np.linalg.norm(v))


def _hit(doc_id: str, index: int) -> Hit:
    return Hit(Chunk(f"{doc_id}#{index}", doc_id, index, "text", 0, 4), rank=index + 1, score=1.0)


def test_main_points_prefer_a_new_point_over_a_second_wording_of_the_first() -> None:
    a, b = _hit("d", 0), _hit("d", 1)
    first = _candidate(1, a, "The leaders agreed a partnership.", 0.90, [1, 0, 0])
    reworded = _candidate(1, a, "The leaders agreed to a partnership too.", 0.88, [0.95, 0.3, 0])
    other = _candidate(2, b, "They launched a clean energy programme.", 0.80, [0, 1, 0])
    assert _spread([first, reworded, other], 2) == [first, other]


def test_an_overview_reads_one_document_only_when_its_top_passages_agree() -> None:
    assert focus_document([_hit("a", 0), _hit("a", 1), _hit("a", 2), _hit("b", 0)]) == "a"
    assert focus_document([_hit("a", 0), _hit("b", 1), _hit("a", 2)]) is None
    assert focus_document([_hit("a", 0), _hit("a", 1)]) is None


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("What did Biden and Widodo agree in their November 2023 statement?", "overview"),
        ("What did Biden and Marcos discuss?", "overview"),
        ("What did Kishida say about space?", "overview"),
        ("What did Japan pledge to the Philippines?", "fact"),  # asks what went to someone named
        ("When did the US and Vietnam announce their partnership?", "fact"),  # asks a date
    ],
)
def test_what_someone_did_with_nothing_after_the_verb_asks_for_all_of_it(question: str, shape: str) -> None:
    assert classify(question) == shape
    assert classify(question, open_what=False) == "fact"


def test_what_the_leaders_discussed_is_answered_with_the_main_points(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What did Biden and Marcos discuss?")
    assert answer.shape == "overview"
    assert len(re.findall(r"^- ", answer.text, re.M)) >= 3


def test_a_summary_of_the_article_in_casual_wording_is_an_overview_not_an_abstention(extractive_engine: Engine) -> None:
    # before: "The sources don't answer this." ("the article" counted only as "according to the article")
    answer = extractive_engine.ask("what's the article about?")
    assert not answer.abstained and answer.shape == "overview", answer.text
    assert {c.doc_id for c in answer.citations} == {"diplomatic-overdrive.md"}


@pytest.mark.parametrize(
    "question",
    [
        "tl;dr of the Quad vision statement",
        "What is the Pacific Islands declaration about in a nutshell?",
        "key takeaways from the US-Indonesia statement",
        "the Biden-Marcos meeting, in brief?",
    ],
)
def test_a_request_for_the_short_version_asks_for_an_overview(question: str) -> None:
    assert classify(question) == "overview"


def test_a_line_pointing_forward_to_a_list_only_introduces_it() -> None:
    assert introduces_list("In that spirit, the Secretary is announcing the following new programmes.")
    assert introduces_list("The two sides agreed as follows:")
    assert not introduces_list("The following year the partners opened a training centre in Suva.")


def test_a_sentence_naming_a_programme_or_a_figure_announces_something() -> None:
    assert announces("Japan will fund the Coastal Radar Network with $40 million.") == 2
    assert announces("The two governments reaffirm their close and enduring friendship.") == 0


def test_a_sentence_like_the_rest_of_the_document_is_the_most_central() -> None:
    vectors = np.asarray([[1, 0, 0], [0.9, 0.44, 0], [0.9, -0.44, 0], [0, 0, 1]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert int(np.argmax(centrality(vectors))) == 0


def test_main_points_give_the_items_not_the_line_introducing_them() -> None:
    a, b = _hit("d", 0), _hit("d", 1)
    intro = _candidate(1, a, "The Minister is launching the following initiatives.", 0.95, [1, 0, 0])
    item = _candidate(1, a, "The Harbour Skills Fund will train 2,000 port engineers.", 0.80, [0.8, 0.6, 0])
    framing = _candidate(2, b, "Both leaders value their long friendship deeply.", 0.82, [0, 0, 1])
    chosen = _main_points([intro, item, framing], 1)
    assert chosen == [item]
    assert _spread([intro, item, framing], 1) == [intro]  # before: the question's likeness alone chose the framing


def test_the_tldr_of_a_fact_sheet_lists_its_initiatives(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("tl;dr of Harris's Thailand fact sheet")
    assert answer.shape == "overview", answer.text
    assert "following initiatives" not in answer.text
    bullets = re.findall(r"^- .*", answer.text, re.M)
    assert len(bullets) >= 3 and sum(bool(announces(b[2:])) for b in bullets) >= 3, answer.text
