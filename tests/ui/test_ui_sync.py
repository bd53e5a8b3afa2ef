"""Start-up: the corpus is synced in a background thread; while the first ingest runs, the page and the
`ask` API say how far it is instead of answering from a half-built store."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from rag.engine import Engine
from rag.errors import IndexingError
from rag.storage.store import Store
from tests.conftest import serve
from webui.events import Events, country_choices, document_choices, new_session
from webui.render import render_status
from webui.sync import CorpusSync

SMALL_CORPUS = ["wh_2022-11-12_biden_hun_sen_cambodia_readout_and_remarks.md"]
QUESTION = "What did Biden and Hun Sen discuss?"


@pytest.fixture
def fresh_engine(tmp_path: Path, engine: Engine, gated_embedder) -> Engine:
    """An engine over an empty store and a one-document corpus, its embedder held until the test opens it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL_CORPUS:
        shutil.copy(engine.settings.corpus_dir / name, corpus / name)
    settings = engine.settings.model_copy(update={"corpus_dir": corpus, "store_dir": tmp_path / "store"})
    return Engine(settings, Store(settings), gated_embedder, "extractive")  # shares the loaded model


def test_first_start_ingests_in_the_background_and_reports_progress(fresh_engine: Engine, gated_embedder) -> None:
    sync = CorpusSync(fresh_engine)
    assert sync.describe()["chunks"] == 0 and document_choices(fresh_engine) == []

    thread = sync.start()
    assert gated_embedder.waiting.wait(timeout=60)  # the ingest is now surely running, before its first chunk
    state = sync.describe()
    assert state["running"] and state["indexing"]["first"]
    total = state["indexing"]["total"]
    assert total > 0 and f"Indexing the corpus: 0 of {total} passages" in render_status(state)
    gated_embedder.open.set()
    thread.join(timeout=120)

    state = sync.describe()
    assert not state["running"] and not state["failed"] and state["indexing"] is None
    assert state["documents"] == 1 and state["chunks"] == total and state["last_ingest"]
    assert state["generation"] == 1 and "1 added" in state["message"]
    assert "last ingest 20" in render_status(state)
    assert "Cambodia" in dict(country_choices(fresh_engine)).values()

    sync.start().join(timeout=120)  # a later start syncs incrementally: nothing to embed
    assert "1 unchanged" in sync.describe()["message"] and "(0 embedded)" in sync.describe()["message"]


def test_an_empty_corpus_syncs_without_reporting_a_failure(fresh_engine: Engine) -> None:
    for path in fresh_engine.settings.corpus_dir.iterdir():
        path.unlink()
    sync = CorpusSync(fresh_engine)
    sync.start().join(timeout=120)
    state = sync.describe()
    assert not state["running"] and not state["failed"] and state["chunks"] == 0, state["message"]


def test_a_question_during_the_first_ingest_gets_its_progress_not_an_instruction(
    fresh_engine: Engine, gated_embedder, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture
) -> None:
    sync = CorpusSync(fresh_engine)
    app, url = serve(fresh_engine, fresh_engine.settings, sync)
    respond = Events(fresh_engine, fresh_engine.settings, sync).respond  # as the served page's chat calls it
    try:
        thread = sync.start()
        assert gated_embedder.waiting.wait(timeout=60)

        with pytest.raises(IndexingError, match=r"being indexed: 0 of \d+ passages") as raised:
            fresh_engine.ask(QUESTION)
        assert raised.value.retry_after_s >= 1
        *_, (_, chat, _, _) = respond(QUESTION, [], new_session())
        assert "The corpus is being indexed" in chat[-1]["content"] and "rag ingest" not in chat[-1]["content"]
        with caplog.at_level(logging.INFO), pytest.raises(AppError, match="The corpus is being indexed") as error:
            Client(url, verbose=False).predict(QUESTION, None, api_name="/ask")  # a script can tell, and retry
        assert "rag ingest" not in str(error.value)
        assert "Traceback" not in caplog.text + capfd.readouterr().err  # one log line per refusal, no trace
        assert "The corpus is being indexed" in caplog.text

        gated_embedder.open.set()
        thread.join(timeout=120)
        answer = Client(url, verbose=False).predict(QUESTION, None, api_name="/ask")
        assert not answer["abstained"] and answer["citations"]
    finally:
        app.close()
