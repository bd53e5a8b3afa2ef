"""A fact answer hedges against its best-scored sentence being the wrong one (`fact_hedge`)."""

from __future__ import annotations

import numpy as np

from ingest.chunking import Chunk
from rag.answering.extractive import _Candidate, _hedge
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
