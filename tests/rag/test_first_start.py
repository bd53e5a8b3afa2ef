"""While the first ingest runs, in this process or another, a question gets its progress, not an answer
from a half-built store and not an instruction to run the ingest that is already running."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from rag.engine import Engine
from rag.errors import IndexingError
from rag.storage.progress import IngestProgress, ProgressFile
from rag.storage.store import Store, writer_lock
from tests.conftest import CORPUS


def test_the_indexing_message_says_how_far_and_how_long() -> None:
    progress = IngestProgress(first=True, total=350)
    progress.advance(20, 350, now=time.time() - 10)  # the first batch: no rate yet (the model was loading)
    assert progress.eta_s() is None and "ready in" not in str(progress.error())
    progress.advance(120, 350)

    message = str(progress.error())

    assert message.startswith("The corpus is being indexed: 120 of 350 passages, ready in about ")
    assert 20 <= progress.eta_s() <= 30  # 230 left at 10 per second
    assert str(IngestProgress(first=True).error()) == (
        "The corpus is being indexed: reading and splitting the files. Ask again then."
    )


def test_a_progress_file_left_by_a_killed_ingest_is_ignored(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    ProgressFile(tmp_path).write(IngestProgress(first=True, pid=dead.pid, total=10), force=True)

    assert ProgressFile(tmp_path).read_other() is None


@pytest.mark.slow
def test_a_question_while_another_process_ingests_gets_that_progress(
    tmp_path: Path, make_settings, embedder, rag_command, rag_env
) -> None:
    settings = make_settings(corpus_dir=CORPUS, store_dir=tmp_path / "store")
    engine = Engine(settings, Store(settings), embedder, "extractive")
    env = rag_env(RAG_CORPUS_DIR=CORPUS, RAG_STORE_DIR=settings.store_dir)
    ingest = subprocess.Popen([*rag_command, "ingest"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while (running := engine.indexing()) is None or not running.total:
            assert ingest.poll() is None, ingest.stdout.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the other process never published its progress"
            time.sleep(0.1)

        with pytest.raises(IndexingError, match=rf"being indexed: [\d,]+ of {running.total:,} passages"):
            engine.ask("What did Japan pledge to the Philippines?")
        assert engine.status()["indexing"]["pid"] == ingest.pid
    finally:
        ingest.kill()  # like a crash: its progress file stays behind
        ingest.wait()
    assert engine.indexing() is None  # a dead ingest's progress is not taken for a running one


def test_an_ingest_waiting_for_another_processs_first_ingest_shows_that_ones_count(tiny_settings, embedder) -> None:
    settings = tiny_settings
    engine = Engine(settings, Store(settings), embedder, "extractive")
    other = subprocess.Popen(["sleep", "60"])  # stands for a `rag ingest` embedding the corpus
    progress = ProgressFile(settings.store_dir)
    try:
        with writer_lock(settings):  # held as that process holds it
            progress.write(IngestProgress(first=True, done=40, total=120, pid=other.pid), force=True)
            sync = threading.Thread(target=engine.ingest)  # the UI's start-up sync, waiting for the lock
            sync.start()
            time.sleep(1.0)

            running = engine.indexing()
            shown = None if running is None else (running.pid, running.done, running.total)
            on_file = progress.read_any()

        sync.join(timeout=120)
    finally:
        other.kill()
        other.wait()
    assert shown == (other.pid, 40, 120)
    assert on_file is not None and on_file.pid == other.pid  # its figures were not overwritten
