"""A `rag ingest` killed (SIGKILL) at any write of an update leaves whole documents, and the next sync finishes it.

tests/ingest/test_pipeline.py kills a first ingest at a random point; these kill an *update* (a document
shrinks, one grows, one is deleted, one is added) at chosen writes, including between the two writes
that replace one document.
"""

from __future__ import annotations

import signal

import pytest

from rag.storage.sync import sync
from testkit.cli import run_rag
from tests.ingest.test_pipeline import _assert_one_clean_copy, _records
from tests.reliability.conftest import assert_every_document_whole, settings_env

# Writes of the update, in order: 1 delete (leftovers of killed runs), 2 upsert ferry_link.md (new),
# 3 upsert harbour_pact.md (shrunk: new chunks + its old tail retired), 4 delete (that tail),
# 5 upsert island_forum.md (grown), 6 delete river_commission.md (removed).
KILL_POINTS = {
    "between the two writes of a shrinking document": ("kill-after", 3),
    "before the last document and the removal": ("kill-before", 5),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_update_killed_at_a_write_leaves_whole_documents_and_the_next_sync_completes_it(
    point, updated_tiny, embedder, counting_embedder, faulty_ingest, rag_env, tmp_path
):
    settings, allowed = updated_tiny
    mode, at = KILL_POINTS[point]

    killed = run_rag([*faulty_ingest, mode, str(at), "ingest"], settings_env(rag_env, settings), tmp_path)

    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert f"write {at} " in killed.stderr and f"write {at + 1} " not in killed.stderr
    assert_every_document_whole(settings, allowed)

    resumed = sync(settings, embedder=counting_embedder)

    assert counting_embedder.texts == resumed.embedded
    assert resumed.removed == 1  # river_commission.md, whatever the kill interrupted
    records = _records(settings)
    assert len(records) == resumed.chunks
    _assert_one_clean_copy(settings, settings.corpus_dir, records)
