"""A document's dateline, header lines and date place and date its sentences for the asked-detail check.

Each case is a class member written here, not an eval set's sentence.
"""

from __future__ import annotations

import numpy as np

from rag.answering.abstain import document_contexts, missing_detail, placed_coverage, topic_coverage
from rag.answering.details import dated_title, header_lines
from rag.storage.records import Chunk, Hit

OPENING = (
    "***Nadi, 3 March 2021***\n\n***Hosted by the President of Fiji, Wiliame Katonivere***\n\n"
    "We, the ministers of the Pacific, met for the second Ocean Summit. The chair welcomed every delegation."
)
LATER = "The meeting was chaired by President Katonivere, who opened the session."


def _hit(text: str, index: int, title: str = "Pacific Ocean Ministers' Statement", date: str = "2021-03-03") -> Hit:
    metadata = {"title": title, "date": date}
    chunk = Chunk(f"ocean.md#{index}", "ocean.md", index, text, 0, len(text), metadata=metadata)
    return Hit(chunk, rank=index + 1, score=1.0)


def _stem(words: list[str]) -> list[str]:
    return [w.lower() for w in words]


def test_the_dateline_block_is_the_short_dated_lines_before_the_first_sentence() -> None:
    assert header_lines(OPENING) == ["Nadi, 3 March 2021", "Hosted by the President of Fiji, Wiliame Katonivere"]


def test_a_heading_without_a_date_is_no_dateline() -> None:
    assert header_lines("Global Partners for the Future\n\nOver three years the alliance grew.") == []


def test_the_dated_head_of_a_title_is_a_dateline() -> None:
    assert dated_title("Lee-Albanese talks, Canberra, 4 June 2024: readout and remarks") == (
        "Lee-Albanese talks, Canberra, 4 June 2024"
    )
    assert dated_title("Joint Statement on Maritime Cooperation") == ""


def test_every_sentence_of_a_document_is_placed_and_dated_by_its_opening() -> None:
    hits = [_hit(OPENING, 0), _hit(LATER, 3)]
    contexts = document_contexts(hits)
    assert all("Nadi" in c and "3 March 2021" in c for c in contexts)


def test_who_chaired_the_nadi_meeting_is_answered_by_a_sentence_naming_neither_nadi_nor_march() -> None:
    question = "who chaired the ocean meeting in nadi in march 2021"
    hits = [_hit(OPENING, 0), _hit(LATER, 3)]
    idf = dict.fromkeys(["chaired", "ocean", "meeting", "nadi", "march", "2021"], 1.0)
    bare, _ = topic_coverage([LATER], question, idf, _stem)
    placed, _ = topic_coverage([f"{document_contexts(hits)[-1]} {LATER}"], question, idf, _stem)
    assert bare[0] < 0.8 <= placed[0]
    assert missing_detail(question, [LATER], np.array([placed[0] >= 0.8])) is None


def test_another_documents_dateline_places_nothing_here() -> None:
    text = "Suva, 9 May 2022\n\nThe ministers met again."
    other = Hit(Chunk("suva.md#0", "suva.md", 0, text, 0, len(text), metadata={"title": "Other"}), rank=2, score=1.0)
    assert "Suva" not in document_contexts([_hit(LATER, 3), other])[0]


def test_a_place_question_takes_the_dateline_as_a_candidate_and_puts_it_first() -> None:
    from rag.answering.extractive import _as_document, _candidates

    question = "where did the ocean ministers meet in march 2021?"
    found, _ = _candidates(question, [(1, _hit(OPENING, 0))], frozenset(), headers=True)
    lines = [c.sentence for c in found]
    assert "***Nadi, 3 March 2021***" in lines
    for c in found:
        c.score = 1.0 if c.sentence.startswith("We, the ministers") else 0.2
    _as_document(found, question)
    assert max(found, key=lambda c: c.score).sentence == "***Nadi, 3 March 2021***"


def test_a_question_asking_no_date_place_or_person_gets_no_dateline() -> None:
    from rag.answering.extractive import _candidates

    found, _ = _candidates("what did the ocean ministers discuss?", [(1, _hit(OPENING, 0))], frozenset(), headers=True)
    assert "***Nadi, 3 March 2021***" not in [c.sentence for c in found]


def test_a_source_link_ends_the_dateline_block() -> None:
    text = "Source: https://example.org/2024/06/04/readout (archived)\n\nThe leaders met on 4 June 2024."
    assert header_lines(text) == []


def test_a_dateline_naming_no_one_does_not_answer_who_attended() -> None:
    from rag.answering.extractive import _candidates

    found, _ = _candidates("who attended the ocean meeting?", [(1, _hit(OPENING, 0))], frozenset(), headers=True)
    assert "***Nadi, 3 March 2021***" not in [c.sentence for c in found]


def test_a_dateline_of_another_place_does_not_place_a_sentence_in_the_asked_one() -> None:
    hits = [_hit(OPENING, 0), _hit(LATER, 3)]
    contexts = document_contexts(hits)[-1:]
    asked = dict.fromkeys(["chaired", "meeting", "nadi", "march", "2021"], 1.0)
    other = dict.fromkeys(["chaired", "meeting", "suva", "march", "2021"], 1.0)
    question = "who chaired the meeting in {} in march 2021"
    assert placed_coverage([LATER], contexts, question.format("nadi"), asked, _stem)[0]
    assert not placed_coverage([LATER], contexts, question.format("suva"), other, _stem)[0]


def test_a_header_line_is_not_lifted_for_a_question_it_does_not_answer() -> None:
    from rag.answering.extractive import _as_document, _candidates

    question = "what did the ocean ministers agree?"  # asks no date, place nor person
    found, _ = _candidates(question, [(1, _hit(OPENING, 0))], frozenset(), headers=True)
    for c in found:
        c.score = 1.0 if c.sentence.startswith("We, the ministers") else 0.2
    _as_document(found, question)
    assert max(found, key=lambda c: c.score).sentence.startswith("We, the ministers")
