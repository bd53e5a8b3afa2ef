"""A content-addressed cache of the vectors ingest makes: a chunk's vector and its sentences' pooled vectors.

An entry's key is a hash of everything that decides those vectors: the model (name and weights' hash), the
runtime and its export version, the pooling and packing format, the exact text and its sentence spans. So
a vector is never served to a runtime, model or format that did not make it, and an unchanged text is
embedded once per machine, whatever the store (`--rebuild`, a new RAG_STORE_DIR, a fresh clone).

Two caches are consulted, in order: the user's own (SQLite in WAL mode under RAG_EMBED_CACHE_DIR, written
by several processes at once, bounded in size, least recently used entries evicted first) and the one the
repository ships for corpus/ (read-only, rebuilt by `python -m rag.storage.embed_cache --rebuild-shipped`).
A corrupt or partial entry, or a cache that can't be read, is a miss: the text is embedded again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.storage.embeddings import EMBED_DIM, EMBED_MODEL, EXPORT_VERSION, ONNX_OPSET, default_cache_dir, model_dir

log = logging.getLogger(__name__)

# Bump when the pooling or the packing below changes: old entries then simply stop matching.
FORMAT = "mean-pool;chunk=f32;sentences=int8-rowscale-f16"
SHIPPED = Path(__file__).with_name("corpus_vectors.sqlite3")
CACHE_FILE = "embeddings.sqlite3"
_ROW = 2 + EMBED_DIM  # a packed sentence vector: a float16 scale and EMBED_DIM int8 codes
_SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    key BLOB PRIMARY KEY, sentences INTEGER NOT NULL, value BLOB NOT NULL, digest BLOB NOT NULL, used REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS vectors_used ON vectors (used);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Spans = Sequence[tuple[int, int]]
Vectors = tuple[np.ndarray, np.ndarray]  # (the text's vector, its sentences' vectors)


@cache
def weights_digest() -> str:
    """The sha256 of the bundled model's weights (~1 s to read; once per process)."""
    with open(model_dir() / "model.safetensors", "rb") as weights:
        return hashlib.file_digest(weights, "sha256").hexdigest()


def model_key(runtime: str) -> str:
    """What, besides the text, decides a vector: model, weights, runtime (with its export version) and format.

    ONNX and torch vectors agree to cosine >= 0.999 but are not the same bytes, so each runtime has its own.
    """
    engine = f"onnx-export{EXPORT_VERSION}-opset{ONNX_OPSET}" if runtime == "onnx" else runtime
    return f"{EMBED_MODEL}@{weights_digest()[:16]};{engine};{FORMAT}"


def entry_key(model: str, text: str, spans: Spans) -> bytes:
    """The key of one text's vectors under `model_key()`."""
    spec = json.dumps([model, text, [list(s) for s in spans]], ensure_ascii=False)
    return hashlib.sha256(spec.encode()).digest()


def pack(vector: np.ndarray, sentences: np.ndarray) -> bytes:
    """A text's vector as float32 and its sentences' as int8 rows: the store keeps those as int8 anyway."""
    sentences = np.asarray(sentences, dtype=np.float32).reshape(-1, EMBED_DIM)
    scales = np.maximum(np.abs(sentences).max(axis=1, initial=0), 1e-12).astype(np.float16)
    codes = np.round(sentences / scales.astype(np.float32)[:, None] * 127).astype(np.int8)
    return np.asarray(vector, dtype=np.float32).tobytes() + scales.tobytes() + codes.tobytes()


def unpack(value: bytes, sentences: int) -> Vectors:
    """The inverse of `pack`; the store's own int8 packing gives back the same codes."""
    vector = np.frombuffer(value, dtype=np.float32, count=EMBED_DIM)
    scales = np.frombuffer(value, dtype=np.float16, count=sentences, offset=4 * EMBED_DIM).astype(np.float32)
    codes = np.frombuffer(value, dtype=np.int8, offset=4 * EMBED_DIM + 2 * sentences).reshape(sentences, EMBED_DIM)
    return vector.copy(), codes.astype(np.float32) * (scales / 127)[:, None]


def _digest(value: bytes) -> bytes:
    return hashlib.blake2b(value, digest_size=8).digest()


def _valid(value: Any, sentences: Any, digest: Any) -> bool:
    """A whole, unaltered entry (SQLite checks no checksums of its own)."""
    return (
        isinstance(value, bytes)
        and isinstance(sentences, int)
        and len(value) == 4 * EMBED_DIM + _ROW * sentences
        and digest == _digest(value)
    )


class VectorFile:
    """One SQLite file of entries: the user's (read-write, bounded) or the shipped one (read-only)."""

    def __init__(self, path: Path, max_bytes: int | None = None, readonly: bool = False) -> None:
        self.path, self.max_bytes, self.readonly = path, max_bytes, readonly

    def _connect(self) -> sqlite3.Connection:
        if self.readonly:
            connection = sqlite3.connect(f"{self.path.as_uri()}?mode=ro&immutable=1", uri=True)
            connection.text_factory = bytes  # a value damaged into text is then caught by `_valid`, not raised
            return connection
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._open()
        except sqlite3.DatabaseError as exc:
            if "not a database" not in str(exc) and "malformed" not in str(exc):
                raise
            # A cache is only worth what it saves: start a new one rather than fail every ingest.
            log.warning("embedding cache %s is damaged (%s); starting a new one", self.path, exc)
            with suppress(FileNotFoundError):  # another process set it aside first
                os.replace(self.path, self.path.with_name(f"{self.path.name}.damaged"))
            return self._open()

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)  # another process's write waits, it doesn't fail
        connection.text_factory = bytes
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.executescript(_SCHEMA)
        except BaseException:
            connection.close()
            raise
        return connection

    def get(self, keys: Sequence[bytes]) -> dict[bytes, Vectors]:
        """The whole, valid entries among `keys`; anything unreadable is left out (a miss)."""
        if not keys or (self.readonly and not self.path.exists()):
            return {}
        found: dict[bytes, Vectors] = {}
        try:
            with self._closing() as connection:
                for start in range(0, len(keys), 500):  # under SQLite's limit on bound parameters
                    part = keys[start : start + 500]
                    rows = connection.execute(
                        f"SELECT key, sentences, value, digest FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                        part,
                    ).fetchall()
                    found |= {k: unpack(v, n) for k, n, v, d in rows if _valid(v, n, d)}
                if found and not self.readonly:
                    now = time.time()
                    connection.executemany("UPDATE vectors SET used = ? WHERE key = ?", [(now, k) for k in found])
        except (sqlite3.Error, OSError) as exc:  # an unwritable or full disk too: the cache is optional
            log.warning("embedding cache %s unreadable (%s); embedding instead", self.path, exc)
        return found

    def put(self, entries: dict[bytes, Vectors]) -> None:
        """Add entries, then evict the least recently used beyond the size bound; a failure only logs."""
        if not entries or self.readonly:
            return
        now = time.time()
        rows = []
        for key, (vector, sentences) in entries.items():
            value = pack(vector, sentences)
            rows.append((key, (len(value) - 4 * EMBED_DIM) // _ROW, value, _digest(value), now))
        try:
            with self._closing() as connection:
                connection.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?)", rows)
                self._evict(connection)
        except (sqlite3.Error, OSError) as exc:  # an unwritable or full disk too: the cache is optional
            log.warning("embedding cache %s not written (%s)", self.path, exc)

    def _evict(self, connection: sqlite3.Connection) -> None:
        if self.max_bytes is None:
            return
        (size,) = connection.execute("SELECT COALESCE(SUM(LENGTH(value)) + 64 * COUNT(*), 0) FROM vectors").fetchone()
        if size <= self.max_bytes:
            return
        # Down to 90 % of the bound, so that the next few writes don't each evict again.
        excess, dropped = size - int(self.max_bytes * 0.9), 0
        for key, length in connection.execute("SELECT key, LENGTH(value) + 64 FROM vectors ORDER BY used").fetchall():
            if dropped >= excess:
                break
            connection.execute("DELETE FROM vectors WHERE key = ?", (key,))
            dropped += length

    def stats(self) -> dict[str, Any]:
        """Entries, bytes on disk and the last ingest's hits and misses."""
        files = [p for p in (self.path, self.path.with_name(self.path.name + "-wal")) if p.exists()]
        figures: dict[str, Any] = {"path": str(self.path), "entries": 0, "bytes": sum(p.stat().st_size for p in files)}
        if not files:
            return figures
        try:
            with self._closing() as connection:
                figures["entries"] = connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
                row = connection.execute("SELECT value FROM meta WHERE name = 'last_ingest'").fetchone()
                if row:
                    figures["last_ingest"] = json.loads(row[0])
        except (sqlite3.Error, OSError, ValueError) as exc:
            figures["error"] = str(exc)
        return figures

    def record_ingest(self, hits: int, misses: int) -> None:
        """Remember the last ingest's hits and misses, for `rag status`."""
        figures = {"hits": hits, "misses": misses, "hit_rate": hits / (hits + misses) if hits + misses else None}
        try:
            with self._closing() as connection:
                connection.execute("INSERT OR REPLACE INTO meta VALUES ('last_ingest', ?)", (json.dumps(figures),))
        except (sqlite3.Error, OSError) as exc:  # an unwritable or full disk too: the cache is optional
            log.warning("embedding cache %s not written (%s)", self.path, exc)

    def _closing(self) -> Any:
        return _Connection(self._connect)


class _Connection:
    """A connection for one `with` block: committed on success, rolled back on error, always closed."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self.connect = connect

    def __enter__(self) -> sqlite3.Connection:
        self.connection = self.connect()
        return self.connection

    def __exit__(self, kind: object, *rest: object) -> None:
        try:
            if kind is None:
                self.connection.commit()
        finally:
            self.connection.close()


def user_cache_path(settings: Any) -> Path:
    """The user's cache file under RAG_EMBED_CACHE_DIR (default ~/.cache/diplomatic-rag)."""
    return (settings.embed_cache_dir or default_cache_dir()) / CACHE_FILE


def embed_cache_status(settings: Any) -> dict[str, Any]:
    """For `rag status`: whether the cache is on, its file, entries and size, the last ingest's hit rate, and
    how many passages the cache shipped for corpus/ holds."""
    if not settings.embed_cache:
        return {"enabled": False}
    shipped = VectorFile(SHIPPED, readonly=True).stats()
    return {"enabled": True} | VectorFile(user_cache_path(settings)).stats() | {"shipped_entries": shipped["entries"]}


@dataclass
class CachedEmbed:
    """Ingest's embedding function with the caches in front: only misses reach the embedder, and are then kept."""

    embedder: Any
    caches: list[VectorFile]
    hits: int = 0
    misses: int = 0

    @classmethod
    def from_settings(cls, settings: Any, embedder: Any) -> CachedEmbed | None:
        """The user's cache then the shipped one; None when RAG_EMBED_CACHE is off."""
        if not settings.embed_cache:
            return None
        user = VectorFile(user_cache_path(settings), max_bytes=int(settings.embed_cache_mb * 1e6))
        return cls(embedder, [user, VectorFile(SHIPPED, readonly=True)])

    def __call__(self, texts: Sequence[str], spans: Sequence[Spans], progress: Any = None) -> tuple[np.ndarray, list]:
        """`Embedder.encode_with_spans`, served from the caches where they hold the text."""
        model = model_key(self.embedder.runtime)
        keys = [entry_key(model, t, s) for t, s in zip(texts, spans, strict=True)]
        found: dict[bytes, Vectors] = {}
        for layer in self.caches:
            found |= layer.get([k for k in dict.fromkeys(keys) if k not in found])
        missing = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        if progress is not None and len(texts) > len(missing):
            progress.update(len(texts) - len(missing))
        if missing:
            vectors, sentences = self.embedder.encode_with_spans(
                [texts[i] for i in missing], [spans[i] for i in missing], progress
            )
            # Keyed by the runtime that made them: an ONNX embedder that fell back to torch has said so by now.
            model = model_key(self.embedder.runtime)
            made = list(zip(missing, vectors, sentences, strict=True))
            self.caches[0].put({entry_key(model, texts[i], spans[i]): (v, s) for i, v, s in made})
            found |= {keys[i]: (v, s) for i, v, s in made}
        out = np.stack([found[k][0] for k in keys]).astype(np.float32)
        return out, [found[k][1].astype(np.float32) for k in keys]


# --------------------------------------------------------------------------- the shipped cache


def corpus_inputs(settings: Any) -> list[tuple[str, list[tuple[int, int]]]]:
    """(embedding text, sentence spans) of every chunk of the corpus, as ingest hands them to the embedder."""
    from ingest.chunking import chunk_document, content_sentences
    from ingest.loaders import load_file
    from ingest.pipeline import discover, embedding_text

    files, _ = discover([settings.corpus_dir], settings.corpus_dir, [])
    inputs = []
    for source in files:
        doc = load_file(source.path, source.doc_id)
        for chunk in chunk_document(doc, settings.chunk_size, settings.chunk_overlap):
            text = embedding_text(chunk)
            shift = len(text) - len(chunk.text)  # the chunk ends its embedding text
            inputs.append((text, [(shift + s, shift + e) for s, e in content_sentences(chunk.text)]))
    return inputs


def shipped_keys(settings: Any) -> set[bytes]:
    """The keys the shipped cache must hold: every chunk of corpus/ under the default (ONNX) runtime."""
    model = model_key("onnx")
    return {entry_key(model, text, spans) for text, spans in corpus_inputs(settings)}


def stored_keys(path: Path = SHIPPED) -> set[bytes]:
    """The keys a cache file holds."""
    with VectorFile(path, readonly=True)._closing() as connection:
        return {key for (key,) in connection.execute("SELECT key FROM vectors")}


def rebuild_shipped(target: Path = SHIPPED) -> dict[str, Any]:
    """Embed corpus/ with the default settings (ONNX) into a fresh, compact `target`; returns its figures."""
    import tempfile

    from rag.settings import Settings
    from rag.storage.embeddings import Embedder

    repo = Path(__file__).resolve().parents[2]
    settings = Settings(_env_file=None, corpus_dir=repo / "corpus")
    embedder = Embedder.from_settings(settings)
    inputs = corpus_inputs(settings)
    vectors, sentences = embedder.encode_with_spans([t for t, _ in inputs], [s for _, s in inputs])
    if embedder.runtime != "onnx":
        raise RuntimeError("the shipped cache holds ONNX vectors, but ONNX Runtime was unavailable")
    model = model_key("onnx")
    entries = {entry_key(model, t, s): (v, z) for (t, s), v, z in zip(inputs, vectors, sentences, strict=True)}
    with tempfile.TemporaryDirectory(prefix="rag_shipped_") as tmp:
        built = VectorFile(Path(tmp) / CACHE_FILE)
        built.put(entries)
        partial = target.with_name(f"{target.name}.{os.getpid()}.part")
        with built._closing() as connection:
            connection.execute("UPDATE vectors SET used = 0")  # the same bytes for the same corpus
            connection.commit()
            connection.execute("PRAGMA journal_mode=DELETE")  # a single file, readable with immutable=1
            connection.execute("VACUUM INTO ?", (str(partial),))
    os.replace(partial, target)
    return {"chunks": len(inputs), "entries": len(entries), "bytes": target.stat().st_size, "path": str(target)}


def main() -> None:
    """`python -m rag.storage.embed_cache --rebuild-shipped`: refresh the cache shipped for corpus/."""
    parser = argparse.ArgumentParser(description="The embedding cache shipped for corpus/.")
    parser.add_argument("--rebuild-shipped", action="store_true", help=f"re-embed corpus/ into {SHIPPED.name}")
    args = parser.parse_args()
    if not args.rebuild_shipped:
        parser.error("nothing to do: pass --rebuild-shipped")
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(rebuild_shipped(), indent=2))


if __name__ == "__main__":
    main()
