"""`Engine.ingest()`'s driver: the store and embedder behind ingest's `ChunkStore` protocol, one writer at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

import numpy as np

from ingest.chunking import Chunk
from ingest.pipeline import IngestReport, Limits, StoredDoc, Version, chunking_fingerprint
from ingest.pipeline import sync as sync_files
from rag.errors import StoreError
from rag.settings import Settings
from rag.storage import records
from rag.storage.embed_cache import CachedEmbed
from rag.storage.embeddings import EMBED_MODEL, Embedder
from rag.storage.store import Store, writer_lock


class StoreChunks:
    """A `Store` as ingest's `ChunkStore`: chunks go in and come out through `rag.storage.records`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def stored_docs(self) -> dict[str, StoredDoc]:
        """Per-document state reconstructed from chunk metadata."""
        docs: dict[str, StoredDoc] = defaultdict(StoredDoc)
        for record in self.store.iter_records():
            version, index = records.version(record["metadata"])
            doc = docs[records.doc_id(record["id"], record["metadata"])]
            doc.hashes.add(version.doc_hash)
            doc.fingerprints.add(version.fingerprint)
            doc.expected.add(version.chunks)
            doc.indexes.add(index)
            doc.root = version.root
        return dict(docs)

    def delete_retired(self) -> None:
        """Delete every retired chunk."""
        self.store.delete_retired()

    def write_doc(
        self, chunks: list[Chunk], version: Version, vectors: np.ndarray, sentence_vectors: list[np.ndarray]
    ) -> None:
        """Replace the document's chunks in one write."""
        self.store.replace_doc(
            chunks[0].doc_id,
            [c.chunk_id for c in chunks],
            [c.text for c in chunks],
            vectors,
            [records.encode(c, version, s) for c, s in zip(chunks, sentence_vectors, strict=True)],
        )

    def delete_doc(self, doc_id: str) -> None:
        """Remove a document's chunks."""
        self.store.delete_doc(doc_id)

    def count(self) -> int:
        """Number of chunks stored."""
        return self.store.count()


def fingerprint(settings: Settings) -> str:
    """Everything besides a file's bytes that decides its stored chunks; a change re-ingests every file."""
    return chunking_fingerprint(
        settings.chunk_size, settings.chunk_overlap, f"embed={EMBED_MODEL};sentences=pooled-int8"
    )


def stored_docs(store: Store) -> dict[str, StoredDoc]:
    """Per-document state of `store`, as a sync sees it."""
    return StoreChunks(store).stored_docs()


def sync(
    settings: Settings,
    paths: Iterable[Path] | None = None,
    store: Store | None = None,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Bring the store in line with the files under `paths` (default: the corpus dir).

    `on_progress(done, total)` hears how many of the chunks to embed are done: once before the first
    is embedded, then after each batch.
    One writer at a time across processes: a second one waits for the lock next to the store.
    When done, the store's generation is bumped so readers elsewhere reload.
    """
    with writer_lock(settings):
        if store is None:
            store = Store.empty(settings) if rebuild else Store(settings)
        else:
            # A handle opened before another process wrote would write its stale vector index back over theirs.
            store.follow(force=True)
            if rebuild:
                store.reset()
        try:
            embedder = embedder or Embedder.from_settings(settings)
            limits = Limits(
                settings.chunk_size,
                settings.chunk_overlap,
                int(settings.max_file_mb * 1e6),
                settings.max_doc_chars,
                settings.max_doc_chunks,
            )
            cached = CachedEmbed.from_settings(settings, embedder)
            report = sync_files(
                StoreChunks(store),
                cached or embedder.encode_with_spans,
                list(paths or [settings.corpus_dir]),
                settings.corpus_dir,
                limits,
                fingerprint(settings),
                progress=progress,
                on_progress=on_progress,
            )
            if cached and cached.hits + cached.misses:  # a sync with nothing to embed keeps the last figures
                report.embedded, report.cached = cached.misses, cached.hits
                cached.caches[0].record_ingest(cached.hits, cached.misses)
        except BaseException:
            # Documents written before the failure are whole and current: readers should see them. If the
            # disk is what failed, the bump may fail too; the first error is the one to report.
            with suppress(StoreError):
                store.publish()
            raise
        store.publish()
        return report
