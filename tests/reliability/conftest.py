"""Fixtures for fault, bad-input and security tests: stores to break, a small disk to fill, attacks to plant."""

from __future__ import annotations

import errno
import gc
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from benchmarks.injection import Attack, load_attacks
from ingest.loaders import content_hash
from rag.settings import Settings
from rag.storage.embeddings import Embedder
from rag.storage.store import Store
from rag.storage.sync import fingerprint, stored_docs, sync
from testkit.servers import LlamaServer
from tests.conftest import tiny_copy
from tests.reliability.llm_server import Script, ScriptedServer
from tests.reliability.llm_server import serve as serve_script

ROOT = Path(__file__).resolve().parents[2]
ATTACKS = ROOT / "tests" / "data" / "attacks"

PATCH_QUESTION = "How many patrol boats will Japan fund for the Philippine Coast Guard?"


# --- the store, seen the way readers see it -------------------------------------------------------


def ingest_and_close(settings: Settings, embedder: Embedder) -> None:
    """Sync in this process and let go of the files, so a subprocess (or a broken disk) owns them next."""
    store = Store(settings)
    try:
        sync(settings, store=store, embedder=embedder)
    finally:
        store.close()


def versions(corpus: Path) -> dict[str, set[str]]:
    """doc_id -> {content hash} of each file in `corpus` as it is now."""
    return {p.name: {content_hash(p.read_bytes())} for p in corpus.iterdir() if p.is_file()}


def either_version(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, set[str]]:
    """doc_id -> the hashes a whole version of it may have: the one before an update or the one after."""
    return {doc: before.get(doc, set()) | after.get(doc, set()) for doc in before | after}


def assert_every_document_whole(settings: Settings, allowed: dict[str, set[str]]) -> None:
    """Every document readers can see is exactly one complete version among `allowed` (its old or new hash)."""
    store = Store(settings)
    try:
        current = fingerprint(settings)
        for doc_id, stored in stored_docs(store).items():
            assert doc_id in allowed, f"{doc_id} should not be in the store"
            assert any(stored.is_complete(h, current) for h in allowed[doc_id]), (
                f"{doc_id} is half-written: hashes {stored.hashes}, chunk indexes {sorted(stored.indexes)} "
                f"of {stored.expected}"
            )
        ids = [r["id"] for r in store.iter_records()]
        assert len(ids) == len(set(ids)), "duplicate chunk ids"
    finally:
        store.close()


# --- the tiny corpus, changed in every way an update can change it ---------------------------------


def update_tiny_corpus(corpus: Path) -> None:
    """Shrink one document, grow one, delete one and add one: every kind of write a sync makes."""
    (corpus / "harbour_pact.md").write_text(
        "---\ntitle: Harbour Pact (revised)\n---\n\n# Harbour Pact\n\n"
        "The revised pact funds six patrol boats instead of twelve. It was signed in Cebu.\n",
        encoding="utf-8",
    )
    forum = corpus / "island_forum.md"
    forum.write_text(
        forum.read_text(encoding="utf-8")
        + "\n\nThe forum added a working group on undersea cables. It meets twice a year in Suva.\n" * 3,
        encoding="utf-8",
    )
    (corpus / "river_commission.md").unlink()
    (corpus / "ferry_link.md").write_text(
        "# Ferry Link\n\nA new ferry links Cebu and Bohol. Japan paid for two ferries in 2024.\n", encoding="utf-8"
    )


@pytest.fixture
def updated_tiny(tmp_path: Path, make_settings, embedder: Embedder) -> tuple[Settings, dict[str, set[str]]]:
    """The tiny corpus ingested, then changed on disk (not synced); returns settings and each doc's allowed hashes."""
    settings = tiny_copy(tmp_path, make_settings)
    ingest_and_close(settings, embedder)
    before = versions(settings.corpus_dir)
    update_tiny_corpus(settings.corpus_dir)
    return settings, either_version(before, versions(settings.corpus_dir))


# --- running `rag` with a fault ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def faulty_ingest() -> list[str]:
    """argv prefix: `rag` with a fault at the Nth Chroma write (see tests/reliability/faulty_ingest.py)."""
    return [sys.executable, "-m", "tests.reliability.faulty_ingest"]


def settings_env(rag_env, settings: Settings, **extra: str | Path) -> dict[str, str]:
    """The environment that makes a `rag` subprocess use `settings`' corpus, store and chunking."""
    return rag_env(
        RAG_STORE_DIR=settings.store_dir,
        RAG_CORPUS_DIR=settings.corpus_dir,
        RAG_CHUNK_SIZE=settings.chunk_size,
        RAG_CHUNK_OVERLAP=settings.chunk_overlap,
        **extra,
    )


# --- a small disk to fill or make read-only -----------------------------------------------------------


@dataclass
class SmallDisk:
    """A 16 MB tmpfs mounted for one test: fill() makes it full, free() empties it again, read_only() remounts."""

    path: Path

    def fill(self, leave: int = 0) -> None:
        """Write a filler file until the disk refuses (ENOSPC), in big blocks and then small ones; then free `leave`
        bytes of it."""
        with (self.path / "filler").open("ab", buffering=0) as out:
            for block in (b"\0" * 65536, b"\0" * 512):
                try:
                    while True:
                        out.write(block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
            out.truncate(max(0, out.tell() - leave))

    def free(self) -> None:
        """Delete the filler."""
        (self.path / "filler").unlink(missing_ok=True)

    def read_only(self) -> None:
        """Remount read-only (a real EROFS: root can't write through it either).

        The kernel refuses while any file there is open for writing; a closed Chroma client's
        SQLite handles go when the garbage collector gets to them, so collect and retry briefly.
        """
        for _ in range(20):
            remount = subprocess.run(["mount", "-o", "remount,ro", str(self.path)], capture_output=True, text=True)
            if remount.returncode == 0:
                return
            gc.collect()
            time.sleep(0.25)
        open_here = [str(fd.readlink()) for fd in Path("/proc/self/fd").iterdir() if _points_under(fd, self.path)]
        raise AssertionError(f"cannot remount {self.path} read-only: {remount.stderr.strip()}; open: {open_here}")


def _points_under(fd: Path, folder: Path) -> bool:
    try:
        return fd.readlink().is_relative_to(folder)
    except OSError:  # closed since the listing
        return False


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    """A real, small tmpfs; skipped where this process may not mount (the injected-fault tests still run)."""
    path = tmp_path / "disk"
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or mounted.returncode})")
    try:
        yield SmallDisk(path)
    finally:
        # Chroma may still hold files open in this process; a lazy unmount detaches it anyway.
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


# --- faults Chroma can't be made to produce on demand: injected ----------------------------------------


@pytest.fixture
def failing_writes(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], list[str]]:
    """Make Chroma's Nth write (upsert or delete) and every later one fail with ENOSPC, as a full disk does.

    Returns the list the writes are logged to, as "upsert"/"delete".
    """
    from chromadb.api.models.Collection import Collection

    log: list[str] = []

    def arm(at: int) -> list[str]:
        for name in ("upsert", "delete"):
            original = getattr(Collection, name)

            def write(self: Any, *args: Any, _name: str = name, _original: Any = original, **kwargs: Any) -> Any:
                log.append(_name)
                if len(log) >= at:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return _original(self, *args, **kwargs)

            monkeypatch.setattr(Collection, name, write)
        return log

    return arm


def corrupt_sqlite(store_dir: Path, how: str) -> None:
    """Damage a closed store's SQLite file: overwrite it with garbage, or cut it in half."""
    path = store_dir / "chroma.sqlite3"
    if how == "garbage":
        path.write_bytes(uuid.uuid4().bytes * 20_000)
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


# --- an LLM server we start when the test says so -------------------------------------------------------

SERVER_KEY = "reliability-key"


@pytest.fixture
def llama_server_later(tmp_path: Path) -> Iterator[LlamaServer]:
    """A llama_cpp.server that is NOT running yet: its port is fixed and free; call start() to bring it up."""
    server = LlamaServer(tmp_path / "llama_server.log", SERVER_KEY, n_ctx=2048)
    yield server
    server.stop()


# --- the UI's HTML ------------------------------------------------------------------------------------


ALLOWED_TAGS = {"div", "span", "a", "br", "p", "ol", "li", "mark", "b", "strong", "section", "h4", "article"}


class RenderedHtml(HTMLParser):
    """Collects every tag and attribute of a rendered fragment."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]


def assert_inert(fragment: str, allowed_urls: set[str] = frozenset()) -> None:
    """Only our own tags; no event handlers; links only to the page itself or to allowed http(s) URLs."""
    parsed = RenderedHtml()
    parsed.feed(fragment)
    parsed.close()
    assert set(parsed.tags) <= ALLOWED_TAGS, parsed.tags
    for name, value in parsed.attributes:
        assert not name.startswith("on"), (name, value)
        assert name not in ("src", "srcdoc", "style", "formaction"), name
        if name == "href":
            assert value.startswith("#") or value in allowed_urls, value
    assert not re.search(r"<\s*(script|img|svg|iframe)", fragment, re.I)


# --- the attack set -------------------------------------------------------------------------------------


def hijacked(text: str, attacks: list[Attack]) -> list[str]:
    """The markers of any attack found in `text` (a question retrieves several planted documents)."""
    return [m for a in attacks for m in a.markers if m.lower() in text.lower()]


@pytest.fixture(scope="session")
def attacks() -> list[Attack]:
    """tests/data/attacks/attacks.jsonl."""
    return load_attacks()


@pytest.fixture(scope="session")
def attack_store(tmp_path_factory: pytest.TempPathFactory, make_settings, embedder: Embedder) -> tuple[Settings, Store]:
    """The attack documents ingested with the shipped chunking into their own store."""
    settings = make_settings(corpus_dir=ATTACKS / "docs", store_dir=tmp_path_factory.mktemp("attack_store"))
    store = Store(settings)
    sync(settings, store=store, embedder=embedder)
    return settings, store


# --- an OpenAI-compatible server that sends what the test scripts ---------------------------------------


@pytest.fixture
def scripted_llm() -> Iterator[Callable[[Script], ScriptedServer]]:
    """Start servers that answer chat completions with scripted bytes (tests/reliability/llm_server.py)."""
    with ExitStack() as stack:
        yield lambda script: stack.enter_context(serve_script(script))
