"""A broken, read-only or full store gives a clear error naming the next step, in the API and the CLI."""

from __future__ import annotations

import os

import pytest

from rag.errors import StoreError
from rag.retrieval.retrieve import Retriever
from rag.storage.store import Store
from rag.storage.sync import fingerprint, stored_docs, sync
from testkit.cli import run_rag
from tests.conftest import tiny_copy
from tests.ingest.test_pipeline import _assert_one_clean_copy, _records
from tests.reliability.conftest import (
    PATCH_QUESTION,
    assert_every_document_whole,
    corrupt_sqlite,
    either_version,
    ingest_and_close,
    settings_env,
    update_tiny_corpus,
    versions,
)


def assert_clean_cli_error(run, *phrases: str) -> None:
    """Exit code 1, one `error:` message carrying `phrases`, and no stack trace."""
    assert run.returncode == 1, (run.returncode, run.stdout, run.stderr)
    assert "error: " in run.stderr and "Traceback" not in run.stderr, run.stderr
    for phrase in phrases:
        assert phrase in run.stderr, (phrase, run.stderr)


# --- a corrupted store --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["garbage", "truncated"])
def test_corrupted_store_raises_store_error_naming_the_rebuild(tiny_settings, embedder, how):
    ingest_and_close(tiny_settings, embedder)
    corrupt_sqlite(tiny_settings.store_dir, how)

    with pytest.raises(StoreError, match=r"rag ingest --rebuild") as raised:
        Store(tiny_settings)

    assert str(tiny_settings.store_dir) in str(raised.value)


def test_cli_on_a_corrupted_store_says_rebuild_and_rebuild_recovers_it(
    tiny_settings, embedder, rag_command, rag_env, tmp_path
):
    ingest_and_close(tiny_settings, embedder)
    corrupt_sqlite(tiny_settings.store_dir, "garbage")
    unrelated = tiny_settings.store_dir / "notes.txt"  # not Chroma's: a rebuild must leave it alone
    unrelated.write_text("keep me")
    env = settings_env(rag_env, tiny_settings)

    search = run_rag([*rag_command, "search", PATCH_QUESTION], env, tmp_path)
    assert_clean_cli_error(search, "rag ingest --rebuild", str(tiny_settings.store_dir))

    rebuild = run_rag([*rag_command, "ingest", "--rebuild"], env, tmp_path)

    assert rebuild.returncode == 0, rebuild.stderr
    assert rebuild.stdout.startswith("3 added, 0 updated")
    assert "Traceback" not in rebuild.stderr
    assert unrelated.read_text() == "keep me"
    _assert_one_clean_copy(tiny_settings, tiny_settings.corpus_dir, _records(tiny_settings))
    hits = Retriever(tiny_settings, Store(tiny_settings), embedder).retrieve(PATCH_QUESTION)
    assert hits[0].doc_id == "harbour_pact.md"


# --- a store this process may not write ----------------------------------------------------------------


def test_unreadable_store_dir_says_so(tiny_settings, embedder):
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root (the read-only mount test covers this)")
    ingest_and_close(tiny_settings, embedder)
    tiny_settings.store_dir.chmod(0)
    try:
        with pytest.raises(StoreError, match=r"read-only or belongs to another user.*RAG_STORE_DIR"):
            Store(tiny_settings)
    finally:
        tiny_settings.store_dir.chmod(0o755)


def test_store_on_a_read_only_disk_says_so_in_the_api_and_the_cli(
    small_disk, make_settings, embedder, rag_command, rag_env, tmp_path
):
    settings = tiny_copy(tmp_path, make_settings, store_dir=small_disk.path / "store")
    ingest_and_close(settings, embedder)
    small_disk.read_only()
    update_tiny_corpus(settings.corpus_dir)

    with pytest.raises(StoreError, match=r"read-only or belongs to another user.*make it writable"):
        Store(settings)
    ingest = run_rag([*rag_command, "ingest"], settings_env(rag_env, settings), tmp_path)

    assert_clean_cli_error(ingest, "read-only", str(settings.store_dir), "RAG_STORE_DIR")
    assert "--rebuild" not in ingest.stderr  # rebuilding can't help, and would throw the data away


# --- a full disk ---------------------------------------------------------------------------------------


def test_full_disk_during_an_update_fails_clearly_and_leaves_every_document_whole(
    small_disk, make_settings, embedder, rag_command, rag_env, tmp_path
):
    settings = tiny_copy(tmp_path, make_settings, store_dir=small_disk.path / "store")
    corpus = settings.corpus_dir
    ingest_and_close(settings, embedder)
    before = versions(corpus)
    update_tiny_corpus(corpus)
    allowed = either_version(before, versions(corpus))
    store = Store(settings)  # open before the disk fills: the failure comes mid-ingest, at a write
    small_disk.fill()

    with pytest.raises(StoreError, match=r"Cannot write to the store.*disk is full.*run `rag ingest` again"):
        sync(settings, store=store, embedder=embedder)
    store.close()
    ingest = run_rag([*rag_command, "ingest"], settings_env(rag_env, settings), tmp_path)
    assert_clean_cli_error(ingest, "disk is full", str(settings.store_dir))
    assert "--rebuild" not in ingest.stderr
    small_disk.free()
    assert_every_document_whole(settings, allowed)  # opening it to look needs a little space

    sync(settings, embedder=embedder)

    _assert_one_clean_copy(settings, corpus, _records(settings))


@pytest.mark.parametrize("at", range(1, 6))
def test_a_write_that_fails_at_any_point_of_an_update_leaves_every_document_whole(
    updated_tiny, embedder, failing_writes, at
):
    settings, allowed = updated_tiny
    writes = failing_writes(at)  # this write and every later one fail with ENOSPC, as on a full disk

    with pytest.raises(StoreError, match=r"disk is full") as raised:
        sync(settings, embedder=embedder)

    assert len(writes) == at  # the sync stopped at the first failure
    assert "Traceback" not in str(raised.value)
    assert_every_document_whole(settings, allowed)


def test_a_document_bigger_than_one_chroma_batch_is_the_one_case_written_in_several_steps(
    updated_tiny, embedder, failing_writes, monkeypatch
):
    """Documents over Chroma's max batch (5,461 chunks, ~5 MB of text) can't be replaced in one write; a failure
    mid-way leaves a mix that `stored_docs` flags as incomplete, so the next sync rewrites it."""
    from chromadb.api.client import Client

    settings, _ = updated_tiny
    monkeypatch.setattr(Client, "get_max_batch_size", lambda self: 2)
    failing_writes(3)  # 1: ferry_link.md, 2: the first batch of harbour_pact.md, 3: its second (no leftovers to purge)

    with pytest.raises(StoreError):
        sync(settings, embedder=embedder)
    monkeypatch.undo()
    store = Store(settings)
    harbour = stored_docs(store)["harbour_pact.md"]
    assert len(harbour.hashes) == 2 and not any(harbour.is_complete(h, fingerprint(settings)) for h in
                                                harbour.hashes)  # fmt: skip
    store.close()

    report = sync(settings, embedder=embedder)
    assert report.updated >= 1
    _assert_one_clean_copy(settings, settings.corpus_dir, _records(settings))
