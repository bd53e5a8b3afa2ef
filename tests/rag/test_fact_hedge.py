"""A fact answer hedges against its best-scored sentence being the wrong one (`fact_hedge`) and goes on to what
the term it introduces does (`same_term`)."""

from __future__ import annotations

import numpy as np

from ingest.chunking import Chunk
from rag.answering.extractive import _Candidate, _hedge, _same_term
from rag.storage.records import Hit


def _hit(doc_id: str, index: int) -> Hit:
    return Hit(Chunk(f"{doc_id}#{index}", doc_id, index, "text", 0, 4), rank=index + 1, score=1.0)


def _candidate(hit: Hit, sentence: str, score: float, vector: list[float]) -> _Candidate:
    v = np.asarray(vector, dtype=np.float32)
    return _Candidate(hit.rank, hit, 0, [(0, len(sentence))], sentence, score, v / np.linalg.norm(v))


def test_a_nearly_as_close_sentence_of_another_passage_is_shown_as_a_second_reading() -> None:
    passing = _candidate(_hit("a", 0), "The Fellowship names its hundred Fellows each year.", 0.80, [1, 0, 0])
    same_passage = _candidate(passing.hit, "The Fellows study in the four countries.", 0.79, [0.6, 0.8, 0])
    defining = _candidate(_hit("b", 0), "The Fellowship is a programme run by four nations.", 0.74, [0, 1, 0])
    assert _hedge([passing, same_passage, defining], [passing]) is defining


def test_no_second_reading_when_it_repeats_the_best_sentence_or_scores_far_below_it() -> None:
    best = _candidate(_hit("a", 0), "The ministers met in Hanoi on 10 May.", 0.80, [1, 0, 0])
    repeated = _candidate(_hit("b", 0), "The ministers met in Hanoi on 10 May 2023.", 0.79, [1, 0.05, 0])
    far = _candidate(_hit("c", 0), "Trade between the two grew by a tenth.", 0.60, [0, 0, 1])
    assert _hedge([best, repeated, far], [best]) is None


def _document(*sentences: str) -> list[_Candidate]:
    """One candidate per sentence of one passage, scored in the order given."""
    text = " ".join(sentences)
    spans = [(text.index(s), text.index(s) + len(s)) for s in sentences]
    hit = Hit(Chunk("doc#0", "doc", 0, text, 0, len(text)), rank=1, score=1.0)
    vector = np.asarray([1.0, 0.0], dtype=np.float32)
    return [_Candidate(1, hit, i, spans, s, 1.0 - i / 10, vector) for i, s in enumerate(sentences)]


def test_the_sentence_after_one_introducing_the_asked_term_says_what_it_does() -> None:
    introduced, does, other = _document(
        "The leaders welcomed the Clean Harbours Compact (CHC), launched last spring by five port cities.",
        "Through CHC, the ports share sensor data on oil spills with coast guards across the strait.",
        "The ports also plan a joint training centre for pilots.",
    )
    assert _same_term("What is the CHC?", [introduced, does, other]) is does
    assert _same_term("What is the CHC?", [introduced, other, does]) is does  # by place in the text, not by score


def test_no_continuation_when_the_next_sentence_leaves_the_asked_term() -> None:
    introduced, next_one, later = _document(
        "The leaders welcomed the Clean Harbours Compact (CHC), launched last spring by five port cities.",
        "The ports also plan a joint training centre for pilots.",
        "Through CHC, the ports share sensor data on oil spills.",
    )
    assert _same_term("What is the CHC?", [introduced, later, next_one]) is None
