"""Chroma (embedded or server): opening, reading and writing the chunk collection, and diagnosing its disk."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from ingest.chunking import Chunk
from rag.errors import StoreError
from rag.settings import Settings
from rag.storage import records
from rag.storage.records import RETIRED, is_retired

log = logging.getLogger(__name__)

PAGE = 5000  # records per Chroma get(); its server rejects very large pages
MIN_FREE, MAX_ROOM = 1_000_000, 256_000_000  # bytes: the least free space a store needs, and the most we ask for
CHROMA_FILES = ("chroma.sqlite3", "chroma.sqlite3-wal", "chroma.sqlite3-shm", "chroma.sqlite3-journal")
# Every finished write bumps this collection metadata field, so other processes (and `chroma run` clients)
# can tell that the store changed even when its chunk count did not.
GENERATION_KEY = "rag_generation"
FOLLOW_EVERY_S = 1.0  # how often a reader checks whether another process changed the store
LOCK_FILE = "ingest.lock"  # next to the store; its sidecar `ingest.lock.json` names the holder
OPEN_LOCK_FILE = "open.lock"  # held for the moment it takes to open (or first create) a local store
OPEN_RETRIES = 3  # a reader that fails to open the store (another process mid-write) tries again


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


def _collection_id(folder: Path, name: str) -> str | None:
    """The id the store's database on disk gives collection `name`; None if it can't be read (or has none)."""
    path = folder / "chroma.sqlite3"
    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=1)) as db:
            row = db.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
    except sqlite3.Error:  # locked by a writer, or mid-rebuild: the next check sees it
        return None
    return str(row[0]) if row else None


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


def _detach(client: Any) -> None:
    """Let go of a replaced embedded client without stopping its System: a question may still be using it.

    `close()` would stop it mid-query; instead its references are dropped from Chroma's count (so the
    next client's `close()` still releases the files) and the garbage collector frees it.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    if getattr(client, "_closed", True):
        return
    client._closed = True
    if hasattr(client, "_admin_client"):
        SharedSystemClient._decrement_refcount(client._admin_client._identifier)
    SharedSystemClient._decrement_refcount(client._identifier)


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


class _Vectors:
    """Chunk ids and their normalised vectors, one row each, for exact search."""

    def __init__(self, ids: list[str], matrix: np.ndarray) -> None:
        self.ids, self.matrix = ids, matrix
        self._row = {chunk_id: i for i, chunk_id in enumerate(ids)}

    def rows(self, ids: Sequence[str]) -> np.ndarray:
        """The rows of those of `ids` that are current."""
        return np.array([self._row[i] for i in ids if i in self._row], dtype=np.intp)


class Store:
    """The chunk collection. Chunk ids are `doc_id#index`; each chunk's metadata says its document's hash."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self._own_client = client is None
        self._follow_lock = threading.Lock()
        self._checked = time.monotonic()
        self._dirty = False  # written since the generation was last bumped
        self._writes = 0
        self._vectors_lock = threading.Lock()
        self._loaded_vectors: tuple[tuple[str, int], _Vectors | None] | None = None
        self._said_deleted = False
        for attempt in range(OPEN_RETRIES):
            try:
                self.client, self.collection = self._open(client)
                break
            except StoreError:
                # Another process may be creating the store right now: its files appear in a moment.
                if client is not None or attempt == OPEN_RETRIES - 1 or not ingest_holder(settings):
                    raise
                time.sleep(0.5 * (attempt + 1))
        self._generation = self._read_generation()
        self._opened = None if settings.chroma_host else _identity(settings.store_dir)

    def _open(self, client: Any | None) -> tuple[Any, Any]:
        """A client and the collection handle (created if missing)."""
        if client is not None or self.settings.chroma_host:
            return self._open_collection(client or connect(self.settings))
        # Two processes creating one empty store at once race in Chroma's schema migration
        # ("table collections already exists"), so local opens take turns.
        with _open_lock(self.settings):
            return self._open_collection(connect(self.settings))

    def _open_collection(self, client: Any) -> tuple[Any, Any]:
        settings = self.settings
        try:
            # embedding_function=None: we always pass vectors; Chroma's default would download a model.
            collection = client.get_or_create_collection(
                settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
        except Exception as exc:
            if self._own_client and hasattr(client, "close"):
                client.close()  # so `rag ingest --rebuild` can replace the files
                _forget_failed_open(str(settings.store_dir))
            if settings.chroma_host:
                hint = "Run `rag ingest --rebuild` to recreate it"
            else:
                hint = diagnose(exc, settings.store_dir) or "Try again; if it keeps failing, run with -v for details"
            raise StoreError(
                f"Cannot open collection {settings.collection!r}: {exc}. {hint}.",
                f"Cannot open the document store. {hint}.",
            ) from exc
        return client, collection

    def _read_generation(self) -> str:
        """The store's generation as it is now: collection id and the token the last writer set.

        A store no writer of ours has bumped yet falls back to its chunk count.
        """
        collection = self.client.get_collection(self.settings.collection)
        token = (collection.metadata or {}).get(GENERATION_KEY)
        return f"{collection.id}:{token}" if token else f"{collection.id}:count={collection.count()}"

    @property
    def generation(self) -> str:
        """The generation this handle serves (see `follow`); a key for anything derived from the store."""
        return self._generation

    def follow(self, force: bool = False) -> bool:
        """Catch up with changes another process made; True when the store had changed.

        Checked at most every FOLLOW_EVERY_S (a stat and one small metadata read), so calling it per
        question costs nothing measurable. An embedded Chroma client keeps its vector index in memory and
        never sees another process's writes, so a change opens a fresh client. A local store whose files
        were deleted and rebuilt (`rm -rf` then `rag ingest`) is reopened too: the old client would go on
        reading the deleted files.
        """
        if not force and time.monotonic() - self._checked < FOLLOW_EVERY_S:
            return False
        with self._follow_lock:
            if not force and time.monotonic() - self._checked < FOLLOW_EVERY_S:
                return False  # another thread just checked
            self._checked = time.monotonic()
            if (on_disk := self.on_disk()) != "same":
                if on_disk == "deleted":  # nothing to reopen yet: opening would create an empty store
                    return False
                log.warning("the store at %s was replaced on disk; reopening it", self.settings.store_dir)
                self.reopen()
                return True
            try:
                current = self._read_generation()
            except Exception:  # server down, or mid-rebuild: the read that follows says so
                log.debug("store generation unreadable", exc_info=True)
                return False
            if current == self._generation:
                return False
            if self._generation and current.split(":")[0] != self._generation.split(":")[0]:
                log.warning("collection %r was recreated (rebuilt); reopening it", self.settings.collection)
            self.reopen()
            return True

    def on_disk(self) -> str:
        """'same' while a local store's database is the file this handle opened; 'deleted' when it is gone,
        'replaced' when another file is there now. A server's store is always 'same' (its id tells instead)."""
        if self.settings.chroma_host or not self._own_client or self._opened is None:
            return "same"
        now = _identity(self.settings.store_dir)
        if now == self._opened:
            # A rebuilt database may get the deleted one's inode back; its collection id tells them apart.
            on_disk = _collection_id(self.settings.store_dir, self.settings.collection)
            return "same" if on_disk in (None, str(self.collection.id)) else "replaced"
        if now is None:
            if not self._said_deleted:
                self._said_deleted = True
                log.warning(
                    "the store at %s was deleted; answers use what this process had open until `rag ingest` "
                    "rebuilds it",
                    self.settings.store_dir,
                )
            return "deleted"
        return "replaced"

    def reopen(self) -> None:
        """Open a fresh collection handle (and, for an embedded store, a fresh client without the old index)."""
        if self.settings.chroma_host or not self._own_client:
            with self.reading():
                self.collection = self.client.get_collection(self.settings.collection)
        else:
            from chromadb.api.shared_system_client import SharedSystemClient

            # Chroma shares one System, with its in-memory vector index, per path: the new client must not.
            SharedSystemClient._identifier_to_system.pop(str(self.settings.store_dir), None)
            old = self.client
            self.client, self.collection = self._open(None)
            self._opened = _identity(self.settings.store_dir)
            self._said_deleted = False
            _detach(old)
        self._generation = self._read_generation()

    def publish(self) -> None:
        """After writing: bump the generation, so readers in other processes reload what they derived."""
        if not self._dirty:
            return
        token = f"{time.time():.6f}-{uuid.uuid4().hex[:8]}"
        with self._writing():
            self.collection.modify(metadata={GENERATION_KEY: token})
        self._dirty = False
        self._generation = self._read_generation()

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
            self._checked = 0.0  # reopen on the next follow(): the failure may be a stale or half-open client
            self._generation = ""
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
        self._dirty = True
        self._writes += 1  # what this handle loaded from the store is stale, during the write and after it
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
        finally:
            self._writes += 1  # what a reader loaded mid-write is stale too

    def written_at(self) -> float | None:
        """When the embedded store's database was last written (an ingest by any process); None for a server."""
        database = self.settings.store_dir / CHROMA_FILES[0]
        if self.settings.chroma_host or not database.exists():
            return None
        return max(path.stat().st_mtime for path in database.parent.glob(f"{CHROMA_FILES[0]}*"))

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

    def chunks(self, where: dict | None = None, text: bool = True) -> Iterator[Chunk]:
        """Every current chunk `where` selects, decoded; `text=False` leaves the texts unread (a faster scan)."""
        include = ("documents", "metadatas") if text else ("metadatas",)
        for record in self.iter_records(include=include, where=where):
            yield records.decode(record["id"], record.get("document") or "", record["metadata"])

    def get(self, ids: Sequence[str]) -> dict[str, records.StoredChunk]:
        """{id: chunk} of the current chunks among `ids`; deleted and retired ones are left out."""
        if not ids:
            return {}
        with self.reading():
            page = self.collection.get(ids=list(ids), include=["documents", "metadatas"])
        return {
            chunk_id: records.stored_chunk(chunk_id, text or "", meta or {})
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True)
            if not is_retired(meta)
        }

    def query(
        self, embedding: np.ndarray, n: int, where: dict | None = None, ids: list[str] | None = None
    ) -> list[tuple[records.StoredChunk, float]]:
        """The `n` current chunks nearest `embedding`, nearest first, with their distances.

        `ids` narrows to those chunks (faster than `where`, which is the fallback when one of them was
        deleted since the caller listed it).
        A store of up to `exact_search_max` chunks is searched exactly (`_exact_query`): Chroma's HNSW graph is
        rebuilt in each process that opens the store, and some builds can't reach a chunk at all, so a process
        would now and then miss the nearest passage another one finds.
        """
        if (ids is not None or where is None) and (vectors := self._vectors()) is not None:
            return self._exact_query(vectors, embedding, n, ids)
        query = {"query_embeddings": [embedding.tolist()], "n_results": n}
        with self.reading():
            if ids is None:
                result = self.collection.query(**query, where=where)
            else:
                try:
                    result = self.collection.query(**query, ids=ids)
                except Exception:  # Chroma rejects an id deleted since the caller listed it
                    log.debug("id-filtered vector query failed; filtering by metadata instead", exc_info=True)
                    result = self.collection.query(**query, where=where)
        columns = ("ids", "distances", "documents", "metadatas")
        return [
            (records.stored_chunk(chunk_id, text or "", dict(meta or {})), distance)
            for chunk_id, distance, text, meta in zip(*(result[c][0] for c in columns), strict=True)
            if not is_retired(meta or {})
        ]

    def _vectors(self) -> _Vectors | None:
        """Every current chunk's vector (normalised), loaded once per generation; None for a larger store, and for a
        Chroma server, which keeps one index for all its clients (no per-process rebuild to miss a chunk in)."""
        if self.settings.chroma_host:
            return None
        with self._vectors_lock:
            key = (self._generation, self._writes)
            if self._loaded_vectors is None or self._loaded_vectors[0] != key:
                vectors = None
                if self.count() <= self.settings.exact_search_max:
                    found = list(self.iter_records(include=("embeddings",)))
                    # No current chunk (all retired, or emptied meanwhile): an empty matrix, nothing near.
                    matrix = np.array([r["embedding"] for r in found] or np.zeros((0, 1)), dtype=np.float32)
                    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
                    vectors = _Vectors([r["id"] for r in found], matrix)
                self._loaded_vectors = (key, vectors)
            return self._loaded_vectors[1]

    def _exact_query(
        self, vectors: _Vectors, embedding: np.ndarray, n: int, ids: list[str] | None
    ) -> list[tuple[records.StoredChunk, float]]:
        """The `n` chunks nearest `embedding` by cosine distance (Chroma's measure), among `ids` if given."""
        rows = np.arange(len(vectors.ids)) if ids is None else vectors.rows(ids)
        if not rows.size:
            return []
        query = embedding / max(float(np.linalg.norm(embedding)), 1e-12)
        distances = 1.0 - vectors.matrix[rows] @ query
        order = np.argsort(distances, kind="stable")[:n]
        nearest = [vectors.ids[rows[i]] for i in order]
        found = self.get(nearest)  # retired ones are left out
        return [(found[c], float(distances[i])) for c, i in zip(nearest, order, strict=True) if c in found]

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
            if records.version(r["metadata"])[1] >= len(ids)
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
        """Delete retired chunks (of one document, or all: what a killed ingest left behind).

        Only when there are some: a delete is a write even when it matches nothing, and every write bumps the
        generation, so an unchanged sync would make every reader elsewhere reload its keyword index and reopen
        the store, mid-answer.
        """
        where = {"$and": [RETIRED, {"doc_id": doc_id}]} if doc_id else RETIRED
        with self.reading():
            if not self.collection.get(where=where, limit=1, include=[])["ids"]:
                return
        with self._writing():
            self.collection.delete(where=where)

    def delete_doc(self, doc_id: str, from_index: int = 0) -> None:
        """Remove a document's chunks (those at `from_index` and after)."""
        where: dict = {"doc_id": doc_id}
        if from_index:
            where = {"$and": [where, {"chunk_index": {"$gte": from_index}}]}
        with self._writing():
            self.collection.delete(where=where)

    def reset(self) -> None:
        """Drop and recreate the collection (`rag ingest --rebuild`)."""
        self._dirty = True
        try:
            self.client.delete_collection(self.settings.collection)
        except Exception:  # noqa: BLE001 - a missing or broken collection is what we're replacing
            log.warning("collection %s could not be deleted cleanly; recreating", self.settings.collection)
        with self._writing():
            self.collection = self.client.get_or_create_collection(
                self.settings.collection, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )


# --------------------------------------------------------------------------- one writer at a time


def lock_path(settings: Settings) -> Path:
    """The writers' lock file, next to the store (for a `chroma run` server: next to RAG_STORE_DIR on this machine)."""
    return settings.store_dir / LOCK_FILE


def _holder_file(settings: Settings) -> Path:
    return lock_path(settings).with_suffix(".lock.json")


@contextmanager
def _open_lock(settings: Settings) -> Iterator[None]:
    """Serialise opening the local store across processes (held for well under a second)."""
    from filelock import FileLock

    path = settings.store_dir / OPEN_LOCK_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path)
        lock.acquire(timeout=60)
    except OSError as exc:  # read-only or full disk: opening says why, clearly
        log.debug("no open lock at %s: %s", path, exc)
        yield
        return
    try:
        yield
    finally:
        lock.release()


@contextmanager
def writer_lock(settings: Settings) -> Iterator[None]:
    """Hold the store's cross-process writer lock: a second writer waits its turn, saying who it waits for.

    While held, the sidecar file `ingest.lock.json` names the holder; `ingest_holder()` reads it.
    """
    from filelock import FileLock, Timeout

    path = lock_path(settings)
    lock = FileLock(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            holder = ingest_holder(settings)
            log.warning("another ingest is running (pid %s); waiting for it to finish", holder or "unknown")
            lock.acquire()
    except OSError as exc:
        # A read-only or full disk: the store can't be written either, and opening it says why, clearly.
        log.debug("no writer lock at %s: %s", path, exc)
        yield
        return
    try:
        with suppress(OSError):  # naming the holder is a courtesy; a full disk must not stop the ingest
            _holder_file(settings).write_text(json.dumps({"pid": os.getpid(), "since": time.time()}))
        yield
    finally:
        with suppress(OSError):
            _holder_file(settings).unlink(missing_ok=True)
        lock.release()


def ingest_holder(settings: Settings) -> int | None:
    """The pid of the process writing the store right now (this one included), or None.

    What a reader shows as "being indexed by another process". It reads the lock's sidecar file,
    and checks that the process is alive and really holds the lock (a killed writer leaves the file).
    """
    from filelock import FileLock, Timeout

    try:
        pid = int(json.loads(_holder_file(settings).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid == os.getpid():
        return pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    probe = FileLock(lock_path(settings))
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return pid
    probe.release()
    return None  # the pid now belongs to some other process
