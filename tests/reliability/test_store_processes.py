"""Several processes on one store: readers follow another process's ingest, and writers take turns."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from rag.retrieval.retrieve import Retriever
from rag.storage.store import FOLLOW_EVERY_S, Store, ingest_holder, writer_lock
from rag.storage.sync import sync
from testkit.cli import run_rag
from tests.ingest.test_pipeline import _assert_one_clean_copy, _records
from tests.reliability.conftest import settings_env

NEW_DOC = "lantern_accord.md"
NEW_TEXT = (
    "---\ntitle: Lantern Accord\n---\n\n# Lantern Accord\n\n"
    "Palau and Tonga signed the Lantern Accord to share tide gauge readings every week. "
    "The readings go to a joint warning office in Koror.\n"
)
NEW_QUESTION = "Which countries share tide gauge readings under the Lantern Accord?"
REMOVED_DOC = "river_commission.md"
REMOVED_QUESTION = "How many mangrove trees will the river commission plant?"


def hold_lock_in_subprocess(settings, seconds: float) -> subprocess.Popen:
    """Another process that takes the writers' lock, says so on stdout, and holds it for `seconds`."""
    code = (
        "import sys, time\n"
        "from rag.settings import Settings\n"
        "from rag.storage.store import writer_lock\n"
        f"with writer_lock(Settings(_env_file=None, store_dir={str(settings.store_dir)!r})):\n"
        "    print('locked', flush=True)\n"
        f"    time.sleep({seconds})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "locked"
    return process


@pytest.mark.slow
def test_a_reader_follows_an_ingest_by_another_process(tiny_settings, embedder, rag_command, rag_env, tmp_path):
    sync(tiny_settings, embedder=embedder)
    reader = Retriever(tiny_settings, Store(tiny_settings), embedder)
    assert reader.retrieve(REMOVED_QUESTION)[0].doc_id == REMOVED_DOC  # vector index and BM25 now in memory
    (tiny_settings.corpus_dir / REMOVED_DOC).rename(tmp_path / REMOVED_DOC)
    (tiny_settings.corpus_dir / NEW_DOC).write_text(NEW_TEXT, encoding="utf-8")

    ingest = run_rag([*rag_command, "ingest"], settings_env(rag_env, tiny_settings), tmp_path)
    assert ingest.returncode == 0, ingest.stderr
    time.sleep(FOLLOW_EVERY_S)

    hits = reader.retrieve(NEW_QUESTION)
    assert hits[0].doc_id == NEW_DOC
    assert hits[0].vector_score is not None and hits[0].bm25_score is not None  # both halves see it
    assert REMOVED_DOC not in {h.doc_id for h in reader.retrieve(REMOVED_QUESTION)}


@pytest.mark.slow
def test_two_ingests_at_once_both_succeed_one_after_the_other(tiny_settings, rag_command, rag_env, tmp_path):
    env = settings_env(rag_env, tiny_settings)
    runs = [
        subprocess.Popen(
            [*rag_command, "ingest"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]

    assert [code for code, _, _ in results] == [0, 0], results
    summaries = sorted(out.strip().splitlines()[-1].split(";")[0] for _, out, _ in results)
    assert summaries == [
        "0 added, 0 updated, 0 removed, 3 unchanged, 0 skipped",
        "3 added, 0 updated, 0 removed, 0 unchanged, 0 skipped",
    ]
    # Whether the second one had to wait depends on timing (waiting is tested below); never both.
    assert sum("another ingest is running (pid" in err for _, _, err in results) <= 1
    assert not any("--rebuild" in err or "Traceback" in err for _, _, err in results)
    _assert_one_clean_copy(tiny_settings, tiny_settings.corpus_dir, _records(tiny_settings))


def test_a_second_writer_waits_for_the_first(tiny_settings, embedder):
    holder = hold_lock_in_subprocess(tiny_settings, 2)
    try:
        assert ingest_holder(tiny_settings) == holder.pid
        started = time.monotonic()
        report = sync(tiny_settings, embedder=embedder)
        assert time.monotonic() - started >= 1  # it waited for the other process's turn
        assert report.added == 3
    finally:
        holder.wait(timeout=30)
    assert ingest_holder(tiny_settings) is None


def test_ingest_holder_ignores_a_killed_writer(tiny_settings):
    holder = hold_lock_in_subprocess(tiny_settings, 60)
    holder.kill()
    holder.wait(timeout=30)

    assert ingest_holder(tiny_settings) is None
    with writer_lock(tiny_settings):  # the lock died with its holder
        assert ingest_holder(tiny_settings) is not None


@pytest.mark.slow
def test_a_reader_opened_while_another_process_ingests_answers_once_it_is_done(
    tiny_settings, embedder, rag_command, rag_env
):
    ingest = subprocess.Popen(
        [*rag_command, "ingest"],
        env=settings_env(rag_env, tiny_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        reader = Retriever(tiny_settings, Store(tiny_settings), embedder)
        errors = []
        while ingest.poll() is None:
            try:
                reader.retrieve(REMOVED_QUESTION)
            except Exception as exc:  # noqa: BLE001 - any error mid-ingest is allowed; none may stick
                errors.append(exc)
            time.sleep(0.2)
    finally:
        _, err = ingest.communicate(timeout=600)
    assert ingest.returncode == 0, err
    time.sleep(FOLLOW_EVERY_S)

    assert reader.retrieve(REMOVED_QUESTION)[0].doc_id == REMOVED_DOC
    assert not any("--rebuild" in str(e) for e in errors), errors


def test_a_store_that_reopened_still_lets_go_of_chroma_when_closed(tiny_settings, embedder):
    from chromadb.api.shared_system_client import SharedSystemClient

    store = Store(tiny_settings)
    sync(tiny_settings, store=store, embedder=embedder)
    store.reopen()  # what follow() does after another process's ingest
    assert store.count() > 0

    store.close()

    assert str(tiny_settings.store_dir) not in SharedSystemClient._identifier_to_system  # its files are released


@pytest.mark.slow
def test_processes_opening_an_empty_store_at_once_all_succeed(tmp_path):
    # Chroma's first-open schema migration races ("table collections already exists") unless opens take turns.
    code = (
        "import sys\nfrom rag.settings import Settings\nfrom rag.storage.store import Store\n"
        "Store(Settings(_env_file=None, store_dir=sys.argv[1])).close()\n"
    )
    for trial in range(3):
        store = tmp_path / f"store{trial}"
        opens = [
            subprocess.Popen([sys.executable, "-c", code, str(store)], stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        errors = [o.communicate(timeout=120)[1] for o in opens]
        assert [o.returncode for o in opens] == [0] * 4, errors
