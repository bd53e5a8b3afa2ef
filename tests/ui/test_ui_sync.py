"""Start-up: the corpus is synced in a background thread while the page already answers status requests."""

from __future__ import annotations

import shutil
from pathlib import Path

import ui
from rag.engine import Engine
from rag.store import Store

SMALL_CORPUS = ["wh_2022-11-12_biden_hun_sen_cambodia_readout_and_remarks.md"]


def test_first_start_ingests_in_the_background_and_reports_progress(tmp_path: Path, engine: Engine) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in SMALL_CORPUS:
        shutil.copy(engine.settings.corpus_dir / name, corpus / name)
    settings = engine.settings.model_copy(update={"corpus_dir": corpus, "store_dir": tmp_path / "store"})
    fresh = Engine(settings, Store(settings), engine.embedder, "extractive")  # shares the loaded model
    sync = ui.CorpusSync(fresh)
    assert sync.describe()["chunks"] == 0

    thread = sync.start()
    state = sync.describe()
    assert state["running"] and "syncing the corpus" in ui.render_status(state)
    thread.join(timeout=120)

    state = sync.describe()
    assert not state["running"] and not state["failed"]
    assert state["documents"] == 1 and state["chunks"] > 0 and state["last_ingest"]
    assert state["generation"] == 1 and "1 added" in state["message"]
    assert "last ingest 20" in ui.render_status(state)
    assert "Cambodia" in dict(ui.country_choices(fresh)).values()

    sync.start().join(timeout=120)  # a later start syncs incrementally: nothing to embed
    assert "1 unchanged" in sync.describe()["message"] and "(0 embedded)" in sync.describe()["message"]
