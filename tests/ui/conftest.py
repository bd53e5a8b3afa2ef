"""Fixtures for the UI tests: a real engine (extractive backend) over a writable copy of the shipped corpus, served."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client
from pydantic import SecretStr

from rag.engine import Engine
from rag.settings import Settings
from rag.storage.embeddings import Embedder
from rag.storage.store import Store
from tests.conftest import IngestedCorpus, serve

ROOT = Path(__file__).resolve().parents[2]

TEST_API_KEY = "sk-test-never-shown-0123456789"  # set in the settings; must never reach a page


@pytest.fixture(scope="session")
def ui_settings_for(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings for UI tests: extractive backend, uploads on with a small cap, no login, a dummy API key."""

    def make(corpus_dir: Path, store_dir: Path, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "corpus_dir": corpus_dir,
            "store_dir": store_dir,
            "collection": "ui_tests",
            "llm_backend": "extractive",
            "allow_upload": True,
            "upload_max_mb": 0.05,
            "ui_auth": None,
            "openai_api_key": SecretStr(TEST_API_KEY),
        }
        return make_settings(**(values | overrides))

    return make


@pytest.fixture(scope="session")
def engine(
    tmp_path_factory: pytest.TempPathFactory,
    ui_settings_for: Callable[..., Settings],
    embedder: Embedder,
    corpus_store: IngestedCorpus,
) -> Engine:
    """The real engine over a copy of the shipped corpus (uploads land in the copy) and of its ingested store."""
    base = tmp_path_factory.mktemp("ui")
    corpus = base / "corpus"
    shutil.copytree(ROOT / "corpus", corpus)
    # A copy of the session's store: the same files, already embedded, so the sync below embeds nothing.
    shutil.copytree(corpus_store.settings.store_dir, base / "store")
    settings = ui_settings_for(
        corpus,
        base / "store",
        collection=corpus_store.settings.collection,
        feedback_file=base / "data" / "feedback.jsonl",
    )
    engine = Engine(settings, Store(settings), embedder, "extractive")
    report = engine.ingest()
    assert report.embedded == 0, report.summary()
    return engine


@pytest.fixture(scope="session")
def app_url(engine: Engine) -> Iterator[str]:
    """The app, served for the whole session."""
    app, url = serve(engine, engine.settings)
    yield url
    app.close()


@pytest.fixture
def serve_with(engine: Engine) -> Iterator[Callable[[Settings], str]]:
    """Serve the app with other settings (e.g. a login) for one test; returns its URL."""
    apps = []

    def start(settings: Settings) -> str:
        app, url = serve(engine, settings)
        apps.append(app)
        return url

    yield start
    for app in apps:
        app.close()


@pytest.fixture(scope="session")
def client(app_url: str) -> Client:
    """A gradio_client connected to the app, as a script would use it."""
    return Client(app_url, verbose=False)
