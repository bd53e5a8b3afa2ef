"""A reason answer keeps the sentence scored nearly as well as the best one (`reason_near_best`), even when
sentences holding a cue word ("to ensure", "because") already fill it."""

from __future__ import annotations

import numpy as np

from ingest.chunking import Chunk
from rag.answering.extractive import _Candidate, _with_near_best
from rag.storage.records import Hit


def _candidate(rank: int, sentence: str, score: float, vector: list[float]) -> _Candidate:
    hit = Hit(Chunk(f"d{rank}#0", f"d{rank}", 0, sentence, 0, len(sentence)), rank=rank, score=1.0)
    v = np.asarray(vector, dtype=np.float32)
    return _Candidate(rank, hit, 0, [(0, len(sentence))], sentence, score, v / np.linalg.norm(v))


BEST = _candidate(1, "The mayor praised the harbour board for its swift work after the storm.", 0.80, [1, 0, 0, 0])
TWIN = _candidate(2, "She thanked the board for reopening the ferry piers within a week.", 0.79, [0, 1, 0, 0])
CUE_A = _candidate(3, "The board dredged the channel to ensure that ships could dock.", 0.55, [0, 0, 1, 0])
CUE_B = _candidate(4, "Fees rose because the insurers asked for more.", 0.50, [0, 0, 0, 1])


def test_a_sentence_scored_next_to_the_best_replaces_the_weakest_cue_sentence_in_a_full_answer() -> None:
    chosen = _with_near_best([BEST, TWIN, CUE_A, CUE_B], [CUE_A, CUE_B, BEST], limit=3)
    assert chosen == [CUE_A, BEST, TWIN]


def test_room_left_takes_the_near_twin_without_dropping_a_cue_sentence() -> None:
    assert _with_near_best([BEST, TWIN, CUE_A], [CUE_A, BEST], limit=3) == [CUE_A, BEST, TWIN]


def test_a_sentence_far_below_the_best_or_repeating_it_is_not_added() -> None:
    far = _candidate(2, "The piers were built in the last century by a private firm.", 0.60, [0, 1, 0, 0])
    assert _with_near_best([BEST, far, CUE_A], [CUE_A, BEST], limit=3) == [CUE_A, BEST]
    echo = _candidate(2, "The mayor praised the harbour board for its swift storm work.", 0.79, [1, 0.02, 0, 0])
    assert _with_near_best([BEST, echo, CUE_A], [CUE_A, BEST], limit=3) == [CUE_A, BEST]


def test_a_short_limit_that_kept_only_cue_sentences_is_left_as_it_is() -> None:
    # RAG_EXTRACTIVE_SENTENCES=1 or 2: the twin must never stand in for the best sentence it is a twin of.
    assert _with_near_best([BEST, TWIN, CUE_A, CUE_B], [CUE_A], limit=1) == [CUE_A]
    assert _with_near_best([BEST, TWIN, CUE_A, CUE_B], [CUE_A, CUE_B], limit=2) == [CUE_A, CUE_B]
