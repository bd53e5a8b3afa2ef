"""Shared fixtures: the real embedder, real Chroma stores (embedded and `chroma run`), test corpora and files.

Everything here is real: the bundled all-MiniLM-L6-v2 model, Chroma's PersistentClient in temp dirs and a
`chroma run` server. The slow parts (loading the model, embedding the shipped corpus, starting the server)
happen once per session.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic_core import PydanticUndefined

from ingest.pipeline import IngestReport
from rag.engine import Engine
from rag.retrieval.retrieve import Retriever
from rag.settings import Settings
from rag.storage.embeddings import Embedder
from rag.storage.store import Store
from rag.storage.sync import sync
from testkit import cli, servers
from testkit.servers import answers, free_port

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"
DATA = Path(__file__).resolve().parent / "data"
TINY_CORPUS = DATA / "tiny_corpus"


# --- tiers ------------------------------------------------------------------------------------------

# A test that uses one of these is slow (`pytest -m "not slow"` leaves it out): it starts a server,
# runs `rag` as a fresh process (a cold start), or works on a real disk it mounts.
SLOW_FIXTURES = frozenset(
    {"llama_server", "llama_server_later", "chroma_server", "rag_command", "rag_env", "faulty_ingest"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use a slow fixture, or a `chroma run` server, as `slow`."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or item.get_closest_marker("server"):
            item.add_marker(pytest.mark.slow)


# --- settings ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., Settings]:
    """Build Settings from the code defaults plus overrides, ignoring RAG_*/CHROMA_* env vars and any .env file.

    The developer's or CI's environment (say CHROMA_HOST or RAG_CHUNK_SIZE) must not change what the tests test.
    """

    def make(**overrides: Any) -> Settings:
        values = {name: field.get_default(call_default_factory=True) for name, field in Settings.model_fields.items()}
        values = {name: value for name, value in values.items() if value is not PydanticUndefined}
        # Tests count what gets embedded: the embedding cache's own tests turn it on, with a temp dir.
        values.update({"embed_cache": False, **overrides})
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture(scope="session")
def rag_env() -> Callable[..., dict[str, str]]:
    """Environment for a `rag` subprocess: this one without RAG_*/CHROMA_* vars, plus the given ones."""

    def env(**values: str | Path) -> dict[str, str]:
        return cli.rag_env(**{"RAG_EMBED_CACHE": "false", **values})  # as in make_settings; a test may turn it on

    return env


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout."""
    return REPO


@pytest.fixture(scope="session")
def rag_command() -> list[str]:
    """argv prefix that runs the `rag` CLI with this interpreter."""
    return list(cli.RAG_COMMAND)


# --- embeddings -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real bundled model, loaded once for the whole session."""
    model = Embedder()
    model.load()
    return model


class CountingEmbedder:
    """Wraps the real Embedder and counts the work asked of it."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.batch_size = inner.batch_size
        self.calls = 0
        self.texts = 0

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        """Count, then embed for real."""
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode(texts, progress=progress)

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], progress: Any = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Count, then embed for real."""
        self.calls += 1
        self.texts += len(texts)
        return self.inner.encode_with_spans(texts, spans, progress=progress)

    def reset(self) -> None:
        """Start counting from zero."""
        self.calls = self.texts = 0

    def __getattr__(self, name: str) -> Any:  # everything else (question embeddings, caches) as the real one
        return getattr(self.inner, name)


class GatedEmbedder(CountingEmbedder):
    """The real Embedder, held at the door of each embedding call until the test opens it.

    Lets a test look at the world while an ingest is surely running, with events instead of sleeps.
    """

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.waiting = threading.Event()  # an embedding call is held
        self.open = threading.Event()

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], progress: Any = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Wait for the gate, then embed for real."""
        self.waiting.set()
        if not self.open.wait(timeout=120):
            raise TimeoutError("the test never opened the gate")
        return super().encode_with_spans(texts, spans, progress=progress)


@pytest.fixture
def gated_embedder(embedder: Embedder) -> Iterator[GatedEmbedder]:
    """The session embedder behind a gate (see GatedEmbedder); opened at the end whatever happens."""
    gate = GatedEmbedder(embedder)
    yield gate
    gate.open.set()


@pytest.fixture
def counting_embedder(embedder: Embedder) -> CountingEmbedder:
    """The session embedder, wrapped to count encode() calls and texts."""
    return CountingEmbedder(embedder)


# --- the shipped corpus, ingested once ---------------------------------------------------------------


@dataclass
class IngestedCorpus:
    """The shipped corpus synced into a session-scoped embedded store."""

    settings: Settings
    store: Store
    report: IngestReport


@pytest.fixture(scope="session")
def corpus_store(tmp_path_factory: pytest.TempPathFactory, make_settings, embedder: Embedder) -> IngestedCorpus:
    """corpus/*.md ingested with the default settings into a temp store; treat it as read-only."""
    settings = make_settings(corpus_dir=CORPUS, store_dir=tmp_path_factory.mktemp("corpus_store"))
    store = Store(settings)
    report = sync(settings, store=store, embedder=embedder)
    return IngestedCorpus(settings, store, report)


@pytest.fixture(scope="session")
def retriever(corpus_store: IngestedCorpus, embedder: Embedder) -> Retriever:
    """A Retriever over the session-ingested shipped corpus, default settings."""
    return Retriever(corpus_store.settings, corpus_store.store, embedder)


# --- small corpora for update/delete/kill tests ------------------------------------------------------


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A writable copy of tests/data/tiny_corpus (three short markdown files)."""
    target = tmp_path / "corpus"
    shutil.copytree(TINY_CORPUS, target)
    return target


def tiny_copy(tmp_path: Path, make_settings: Callable[..., Settings], store_dir: Path | None = None) -> Settings:
    """Settings for a writable copy of the tiny corpus (small chunks, so each file has several), not ingested."""
    corpus = tmp_path / "corpus"
    shutil.copytree(TINY_CORPUS, corpus)
    return make_settings(corpus_dir=corpus, store_dir=store_dir or tmp_path / "store", chunk_size=200, chunk_overlap=40)


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_corpus: Path, make_settings) -> Settings:
    """Settings for the writable tiny corpus (tmp_path/corpus): its store in tmp_path/store, not ingested, and small
    chunks, as tiny_copy makes them."""
    return make_settings(corpus_dir=tiny_corpus, store_dir=tmp_path / "store", chunk_size=200, chunk_overlap=40)


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory: pytest.TempPathFactory, make_settings, embedder: Embedder) -> tuple[Settings, Store]:
    """The tiny corpus ingested once (small chunks); treat it as read-only."""
    settings = tiny_copy(tmp_path_factory.mktemp("tiny_store"), make_settings)
    store = Store(settings)
    sync(settings, store=store, embedder=embedder)
    return settings, store


@pytest.fixture(scope="session")
def tiny_engine(tiny_store: tuple[Settings, Store], embedder: Embedder) -> Engine:
    """The extractive engine over the ingested tiny corpus: fast enough for property-based tests."""
    settings, store = tiny_store
    return Engine(settings.model_copy(update={"llm_backend": "extractive"}), store, embedder, "extractive")


@pytest.fixture
def upload_settings(tmp_path: Path, make_settings) -> Settings:
    """Settings over an empty corpus folder with uploads on (50 KB at most), for upload checks that need no engine."""
    (tmp_path / "corpus").mkdir()
    return make_settings(
        corpus_dir=tmp_path / "corpus", store_dir=tmp_path / "store", allow_upload=True, upload_max_mb=0.05
    )


# --- file builders -----------------------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def build_pdf(pages: Sequence[Sequence[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: one page per item, each line drawn in Helvetica; an empty item is a blank page."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{' '.join(f'{p} 0 R' for p in page_ids)}] /Count {len(pages)} >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for page_id, lines in zip(page_ids, pages, strict=True):
        ops = " ".join(f"{_pdf_string(line)} Tj T*" for line in lines)
        content = f"BT /F1 12 Tf 14 TL 72 720 Td {ops} ET".encode("latin-1")
        objects[page_id] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        ).encode()
        objects[page_id + 1] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    info_id = len(objects) + 1
    objects[info_id] = f"<< /Title {_pdf_string(title)} >>".encode("latin-1") if title else b"<< >>"

    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (info_id + 1)
    out += b"".join(b"%010d 00000 n \n" % offsets[n] for n in range(1, info_id + 1))
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (info_id + 1, info_id, xref)
    return bytes(out)


@pytest.fixture(scope="session")
def make_pdf() -> Callable[..., bytes]:
    """Builds small PDFs with known text per page (see build_pdf)."""
    return build_pdf


@pytest.fixture(scope="session")
def make_docx() -> Callable[..., bytes]:
    """Builds a .docx with python-docx from (style, text) blocks; style 'Heading N' or 'Normal'."""
    import io

    import docx

    def make(blocks: Sequence[tuple[str, str]], title: str | None = None) -> bytes:
        document = docx.Document()
        for style, text in blocks:
            if style.startswith("Heading "):
                document.add_heading(text, level=int(style.removeprefix("Heading ")))
            else:
                document.add_paragraph(text, style=style)
        if title:
            document.core_properties.title = title
        buffer = io.BytesIO()
        document.save(buffer)
        return buffer.getvalue()

    return make


# --- the UI, in this process ----------------------------------------------------------------------------


def serve(engine: Any, settings: Settings, sync: Any = None) -> tuple[Any, str]:
    """The app, built and launched as `python ui.py` does, on a free loopback port; returns (app, url)."""
    import ui
    from webui.serving import launch

    app = ui.build_app(engine, settings, sync)
    _, url, _ = launch(app, settings, "127.0.0.1", free_port(), prevent_thread_lock=True, quiet=True)
    return app, url


# --- Chroma server -----------------------------------------------------------------------------------


@pytest.fixture
def unused_port() -> int:
    """A local TCP port that nothing listens on."""
    return free_port()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback LLM server URL nothing listens on."""
    return f"http://127.0.0.1:{free_port()}/v1"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A real socket that accepts connections and never answers: an LLM server that hangs."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(host, port) of a real Chroma server: CHROMA_TEST_HOST/PORT if CI runs one, else our own `chroma run`."""
    if host := os.environ.get("CHROMA_TEST_HOST"):
        port = int(os.environ.get("CHROMA_TEST_PORT", "8000"))
        if not answers(f"http://{host}:{port}/api/v2/heartbeat"):
            pytest.fail(f"CHROMA_TEST_HOST={host}:{port} is set but no Chroma server answers its heartbeat")
        yield host, port
        return

    with servers.chroma_server(tmp_path_factory.mktemp("chroma_server")) as server:
        yield server.host, server.port
