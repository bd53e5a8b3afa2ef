"""Fixtures for the answer engine: a real llama.cpp server (`python -m rag.llama_server`), engines per backend."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rag.engine import Engine
from tests.servers import LlamaServer, free_port

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


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real socket that accepts connections and never answers: an LLM server that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout."""
    return Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env() -> dict[str, str]:
    """This environment without RAG_/CHROMA_/OPENAI_ variables, for CLI subprocesses."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "CHROMA_", "OPENAI_"))}
    return clean | {"RAG_EMBED_CACHE": "false"}  # as tests/conftest.py's rag_env
