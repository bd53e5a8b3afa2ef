"""Fixtures for the answer engine: a real llama.cpp server (`python -m rag.llama_server`), engines per backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rag.engine import Engine
from testkit.servers import LlamaServer

SERVER_KEY = "test-key"


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bundled SmolLM2 GGUF served by `python -m rag.llama_server` (llama_cpp.server); yields its /v1 URL."""
    server = LlamaServer(tmp_path_factory.mktemp("llama_server") / "server.log", SERVER_KEY)
    try:
        yield server.start(timeout=90)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def make_engine(corpus_store, embedder, make_settings) -> Callable[..., Engine]:
    """Engine over the session-ingested shipped corpus, for a backend and settings overrides."""

    def make(backend: str = "extractive", **overrides: object) -> Engine:
        settings = make_settings(
            corpus_dir=corpus_store.settings.corpus_dir, store_dir=corpus_store.settings.store_dir, **overrides
        )
        return Engine(settings, corpus_store.store, embedder, backend)

    return make


@pytest.fixture(scope="session")
def extractive_engine(make_engine) -> Engine:
    """The no-LLM engine over the shipped corpus."""
    return make_engine("extractive")


@pytest.fixture(scope="session")
def conversation_engine(make_engine) -> Engine:
    """The no-LLM engine with follow-ups retrieved by conversation (`RAG_CONVERSATION`, opt-in)."""
    return make_engine("extractive", conversation=True)
