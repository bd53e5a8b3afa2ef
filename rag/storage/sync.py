"""`Engine.ingest()`'s driver: the store and embedder behind ingest's `ChunkStore` protocol, one writer at a time."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import suppress
from pathlib import Path

import numpy as np

from ingest.chunking import Chunk
from ingest.pipeline import IngestReport, Limits, StoredDoc, Version, chunking_fingerprint
from ingest.pipeline import read as read_files
from ingest.pipeline import write as write_files
from rag.errors import OutsideCorpusError, StoreError
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


def limits(settings: Settings) -> Limits:
    """How the settings bound reading and cutting one file."""
    return Limits(
        settings.chunk_size,
        settings.chunk_overlap,
        int(settings.max_file_mb * 1e6),
        settings.max_doc_chars,
        settings.max_doc_chunks,
        settings.max_pdf_pages,
        settings.max_extract_seconds,
    )


def check_inside_corpus(paths: Iterable[Path], corpus_dir: Path) -> None:
    """Raise OutsideCorpusError for a path outside `corpus_dir`.

    The store mirrors the corpus: a file from elsewhere would take the id of the corpus file of the same
    name (replacing it), and no later full sync would ever remove it.
    """
    corpus = corpus_dir.resolve()
    for path in paths:
        given = Path(os.path.abspath(path))
        # A link keeps its own name (and place), as discover() treats it; its target is checked there.
        where = given.parent.resolve() / given.name if given.is_symlink() else given.resolve()
        if where != corpus and corpus not in where.parents:
            raise OutsideCorpusError(
                f"{path} is outside the corpus folder {corpus} (RAG_CORPUS_DIR): only files inside it are "
                f"ingested. Copy it into {corpus}, then run `rag ingest`."
            )


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

    The files are read and chunked first, outside the writer lock, so a file slow to extract delays no
    other writer; only embedding and writing happen under the lock.
    `on_progress(done, total)` hears how many of the chunks to embed are done: once, under the lock,
    before the first is embedded, then after each batch.
    One writer at a time across processes: a second one waits for the lock next to the store.
    When done, the store's generation is bumped so readers elsewhere reload.
    """
    started = time.perf_counter()
    if store is None and not rebuild:
        store = Store(settings)
    if store is not None:
        store.follow(force=True)
    snapshot = {} if rebuild or store is None else stored_docs(store)
    roots = list(paths or [settings.corpus_dir])
    check_inside_corpus(roots, settings.corpus_dir)
    found = read_files(roots, settings.corpus_dir, limits(settings), fingerprint(settings), snapshot, progress)
    with writer_lock(settings):
        if store is None:
            store = Store.empty(settings)
        else:
            # A handle opened before another process wrote would write its stale vector index back over theirs.
            store.follow(force=True)
            if store.on_disk() == "deleted" and paths is None:
                store.reopen()  # the whole corpus is about to be written: into a new store where the old one was
            if rebuild:
                store.reset()
        try:
            embedder = embedder or Embedder.from_settings(settings)
            cached = CachedEmbed.from_settings(settings, embedder)
            report = write_files(
                StoreChunks(store),
                cached or embedder.encode_with_spans,
                found,
                limits(settings),
                fingerprint(settings),
                progress=progress,
                on_progress=on_progress,
                started=started,
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
