"""A full disk and a store deleted under a running app get the right diagnosis: never the destructive
`rag ingest --rebuild` unless the database fails an integrity check, no orphaned upload, no server paths in the UI."""

from __future__ import annotations

import html
import logging
import shutil
import time

import numpy as np
import pytest

from rag.engine import Engine
from rag.errors import StoreError
from rag.retrieval.retrieve import Retriever
from rag.storage.embeddings import EMBED_DIM
from rag.storage.store import Store
from testkit.cli import run_rag
from tests.reliability.conftest import (
    PATCH_QUESTION,
    corrupt_sqlite,
    ingest_and_close,
    settings_env,
    tiny_copy,
)
from tests.reliability.test_store_faults import assert_clean_cli_error
from webui.events import Events, new_session

NOTE = "# Glacier Accord\n\nIceland and Mongolia will build seventy-seven glacier weather stations by 2030.\n"


def fill_store_until_the_disk_is_full(settings) -> None:
    """Write big records (random vectors: nothing to embed) until Chroma fails for lack of space, as an ingest of
    large documents does; its full-text index makes applying them take more room than logging them."""
    store = Store(settings)
    rng = np.random.default_rng(0)
    try:
        with pytest.raises(StoreError):
            for batch in range(1000):
                ids = [f"filler.md#{batch * 20 + i}" for i in range(20)]
                texts = [" ".join(f"reef{rng.integers(10**9)}" for _ in range(2000)) for _ in ids]
                vectors = rng.normal(size=(len(ids), EMBED_DIM)).astype(np.float32)
                metadatas = [{"doc_id": "filler.md", "chunk_index": batch * 20 + i, "doc_chunks": 1} for i in range(20)]
                store.upsert(ids, texts, vectors, metadatas)
    finally:
        store.close()


@pytest.mark.slow
def test_after_an_ingest_fails_for_lack_of_space_search_and_ask_say_the_disk_is_full_not_rebuild(
    small_disk, make_settings, embedder, rag_command, rag_env, tmp_path
):
    settings = tiny_copy(tmp_path, make_settings, store_dir=small_disk.path / "store")
    ingest_and_close(settings, embedder)
    small_disk.fill(leave=4_000_000)
    fill_store_until_the_disk_is_full(settings)
    env = settings_env(rag_env, settings)

    search = run_rag([*rag_command, "search", PATCH_QUESTION], env, tmp_path)
    ask = run_rag([*rag_command, "ask", PATCH_QUESTION], env, tmp_path)

    for run in (search, ask):
        assert_clean_cli_error(run, "The disk is full: free some space")
        assert "--rebuild" not in run.stderr and "corrupted" not in run.stderr
    small_disk.free()
    ingest = run_rag([*rag_command, "ingest"], env, tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    search = run_rag([*rag_command, "search", PATCH_QUESTION], env, tmp_path)
    assert search.returncode == 0 and "harbour_pact.md" in search.stdout, search.stderr


def test_a_store_that_fails_the_integrity_check_is_the_one_case_that_names_the_rebuild(
    tmp_path, make_settings, embedder
):
    settings = tiny_copy(tmp_path, make_settings)
    ingest_and_close(settings, embedder)
    corrupt_sqlite(settings.store_dir, "truncated")

    with pytest.raises(StoreError, match=r"fails SQLite's integrity check .*: run `rag ingest --rebuild`"):
        Retriever(settings, Store(settings), embedder).retrieve(PATCH_QUESTION)


@pytest.fixture
def live_engine(tmp_path, make_settings, embedder) -> Engine:
    """An engine over an ingested copy of the tiny corpus, uploads on, as a running `python ui.py` holds it."""
    settings = tiny_copy(tmp_path, make_settings).model_copy(update={"allow_upload": True, "llm_backend": "extractive"})
    engine = Engine(settings, Store(settings), embedder, "extractive")
    engine.ingest()
    return engine


def test_an_upload_after_the_store_was_deleted_says_so_leaves_no_file_and_shows_no_server_path(live_engine, tmp_path):
    settings = live_engine.settings
    on_upload = Events(live_engine, settings).on_upload
    shutil.rmtree(settings.store_dir)
    src = tmp_path / "accord.md"
    src.write_text(NOTE)

    message, _ = on_upload(str(src))

    text = html.unescape(message)
    assert 'class="error"' in message
    assert "deleted or replaced while this process had them open" in text and "restart" in text
    assert "read-only" not in text and "--rebuild" not in text
    assert str(tmp_path) not in text and "/store" not in text
    uploads = settings.corpus_dir / settings.upload_dir
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_question_after_the_store_was_deleted_gets_the_diagnosis_or_an_answer_never_a_path(live_engine, tmp_path):
    settings = live_engine.settings
    respond = Events(live_engine, settings).respond
    shutil.rmtree(settings.store_dir)

    steps = list(respond(PATCH_QUESTION, [], new_session()))

    message = html.unescape(steps[-1][1][-1]["content"])
    assert str(tmp_path) not in message and "Traceback" not in message
    assert "read-only" not in message and "--rebuild" not in message


@pytest.mark.slow
def test_a_running_app_answers_from_a_store_deleted_and_rebuilt_by_another_process(
    live_engine, rag_command, rag_env, tmp_path, caplog
):
    settings = live_engine.settings
    question = "How many glacier weather stations will Iceland and Mongolia build?"
    assert live_engine.ask(question).abstained
    shutil.rmtree(settings.store_dir)
    (settings.corpus_dir / "glacier_accord.md").write_text(NOTE, encoding="utf-8")

    rebuilt = run_rag([*rag_command, "ingest"], settings_env(rag_env, settings), tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    with caplog.at_level(logging.WARNING, logger="rag.storage.store"):
        started = time.monotonic()
        while (answer := live_engine.ask(question)).abstained and time.monotonic() - started < 10:
            time.sleep(0.2)
        seconds = time.monotonic() - started

    assert not answer.abstained and "seventy-seven" in answer.text, answer.text
    assert {c.doc_id for c in answer.citations} == {"glacier_accord.md"}
    assert seconds < 3, f"took {seconds:.1f} s to follow the rebuilt store"
    assert "was replaced on disk; reopening it" in caplog.text
