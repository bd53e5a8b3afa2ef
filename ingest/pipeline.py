"""Incremental, idempotent sync of corpus files into the store.

The store is its own manifest: every chunk records its document's content hash, the
chunking fingerprint and how many chunks the document has. A document is unchanged only
when all of that agrees, so a run killed at any point is repaired by the next one.
"""

from __future__ import annotations

import logging
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ingest.chunking import CHUNKER_VERSION, Chunk, chunk_document, content_sentences
from ingest.countries import country_key, find_countries
from ingest.loaders import Document, SkippedFile, check_size, content_hash, load_file
from rag.embeddings import EMBED_MODEL, Embedder, pack_vectors
from rag.errors import StoreError
from rag.settings import Settings
from rag.store import SENTENCE_VECTORS, Store, writer_lock

log = logging.getLogger(__name__)

CHUNK_METADATA = ("title", "url", "date", "author", "publisher", "kind", "source")  # document fields each chunk keeps
EMBED_GROUP = 256  # chunks embedded and written together; bounds memory and lost work on a kill
MAX_DEPTH = 32  # folder levels below a scanned root; deeper folders are skipped with a warning


@dataclass
class IngestReport:
    """What a sync did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    chunks: int = 0
    embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        """The one line `rag ingest` ends with."""
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped; {self.chunks} chunks in store ({self.embedded} embedded) "
            f"in {self.seconds:.1f} s"
        )


@dataclass(frozen=True)
class SourceFile:
    """A file found under a scanned root."""

    path: Path
    doc_id: str
    root: str


@dataclass
class StoredDoc:
    """What the store holds for one document, gathered from its chunks' metadata."""

    hashes: set[str] = field(default_factory=set)
    fingerprints: set[str] = field(default_factory=set)
    expected: set[int] = field(default_factory=set)
    indexes: set[int] = field(default_factory=set)
    root: str = ""

    def is_complete(self, doc_hash: str, fingerprint: str) -> bool:
        """True when the stored chunks are exactly one finished ingest of this file version."""
        return (
            self.hashes == {doc_hash}
            and self.fingerprints == {fingerprint}
            and len(self.expected) == 1
            and self.indexes == set(range(next(iter(self.expected))))
        )


def chunking_fingerprint(settings: Settings) -> str:
    """Everything besides a file's bytes that decides its chunks; a change re-ingests every file."""
    return (
        f"chunker={CHUNKER_VERSION};size={settings.chunk_size};overlap={settings.chunk_overlap};"
        f"embed={EMBED_MODEL};sentences=pooled-int8"
    )


def discover(
    roots: Iterable[Path], corpus_dir: Path, skipped: list[str] | None = None
) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Files to sync, and the (root label, doc-id prefix) scopes whose missing documents get removed.

    A folder's prefix ends in "/"; a single file's prefix is its whole doc id. What is passed over for
    safety (a link whose target lies outside the corpus, a folder nested past MAX_DEPTH) is appended to
    `skipped` as a message, and logged.
    """
    corpus_dir = corpus_dir.resolve()
    skipped = [] if skipped is None else skipped
    files: dict[str, SourceFile] = {}
    scopes = []
    for given in roots:
        given = Path(os.path.abspath(given))
        if not given.exists():
            raise FileNotFoundError(f"{given} does not exist")
        # The folders leading to it resolved, but not the last step: a link keeps its own name as doc id.
        root = given.parent.resolve() / given.name if given.is_symlink() else given.resolve()
        if root == corpus_dir or corpus_dir in root.parents:
            base, label, fence = corpus_dir, "", corpus_dir
        else:
            base, label, fence = root.parent, root.name, root.resolve()
        prefix = "" if root == base else root.relative_to(base).as_posix() + ("/" if root.is_dir() else "")
        scopes.append((label, prefix))
        for path in _walk(root, base, fence, skipped):
            rel = path.relative_to(base).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts) or (label == "" and rel == "README.md"):
                continue
            files[rel] = SourceFile(path, rel, label)
    for message in skipped:
        log.warning("skipped %s", message)
    return list(files.values()), scopes


def _walk(root: Path, base: Path, fence: Path, skipped: list[str]) -> Iterator[Path]:
    """The files under `root` (or `root` itself), in name order, without recursion (a deep tree can't overflow).

    Links are followed only to files whose real path lies under `fence` (the corpus folder, or an outside
    root itself): a link to /etc/passwd or ../.env must never become a document. Linked folders are not
    entered (their files inside the corpus are found under their real path).
    """

    def name(path: Path) -> str:
        return path.relative_to(base).as_posix() if path != base else path.name

    stack = [(root, 0)]
    while stack:
        path, depth = stack.pop()
        if path.is_symlink():
            target = path.resolve()
            if target != fence and fence not in target.parents:
                skipped.append(f"{name(path)}: a link to something outside the corpus folder; not ingested")
            elif target.is_file():
                yield path
            continue
        if not path.is_dir():
            if path.is_file():
                yield path
            continue
        if depth > MAX_DEPTH:
            skipped.append(f"{name(path)}/: nested more than {MAX_DEPTH} folders deep; its files are not ingested")
            continue
        try:
            children = sorted(path.iterdir())
        except OSError as exc:
            skipped.append(f"{name(path)}/: cannot list ({exc.strerror})")
            continue
        stack.extend((child, depth + 1) for child in reversed(children) if not child.name.startswith("."))


def stored_docs(store: Store) -> dict[str, StoredDoc]:
    """Per-document state reconstructed from chunk metadata."""
    docs: dict[str, StoredDoc] = defaultdict(StoredDoc)
    for record in store.iter_records():
        meta = record["metadata"] or {}
        doc = docs[str(meta.get("doc_id", record["id"].rsplit("#", 1)[0]))]
        doc.hashes.add(str(meta.get("doc_hash")))
        doc.fingerprints.add(str(meta.get("fingerprint")))
        doc.expected.add(int(meta.get("doc_chunks", -1)))
        doc.indexes.add(int(meta.get("chunk_index", -1)))
        doc.root = str(meta.get("root", ""))
    return dict(docs)


def chunk_metadata(doc: Document, chunk: Chunk, total: int, root: str, fingerprint: str) -> dict:
    """Flat Chroma metadata for one chunk, with a `country_<Name>: True` flag per mention."""
    countries = find_countries(f"{chunk.section}\n{chunk.text}")
    meta: dict = {
        "doc_id": doc.doc_id,
        "chunk_index": chunk.index,
        "doc_chunks": total,
        "doc_hash": doc.content_hash,
        "fingerprint": fingerprint,
        "root": root,
        "start": chunk.start,
        "end": chunk.end,
        "section": chunk.section,
        "countries": "; ".join(countries),
        **{k: v for k, v in doc.metadata.items() if k in CHUNK_METADATA},
        **{country_key(name): True for name in countries},
    }
    if chunk.page is not None:
        meta["page"] = chunk.page
    return meta


def embedding_text(meta: dict, text: str) -> str:
    """What gets embedded: the chunk under its title and section, so context-free chunks still match."""
    return "\n".join(part for part in (meta.get("title", ""), meta.get("section", ""), text) if part)


def _groups(items: list[tuple[Document, list[Chunk], str]]) -> Iterator[list[tuple[Document, list[Chunk], str]]]:
    group: list[tuple[Document, list[Chunk], str]] = []
    size = 0
    for item in items:
        group.append(item)
        size += len(item[1])
        if size >= EMBED_GROUP:
            yield group
            group, size = [], 0
    if group:
        yield group


class _Progress:
    """Embedding progress, to a tqdm bar and to a callback `(chunks done, chunks in all)`."""

    def __init__(self, bar: tqdm, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.bar, self.total, self.callback, self.done = bar, total, callback, 0

    def update(self, n: int) -> None:
        """`n` more chunks embedded."""
        self.bar.update(n)
        self.done += n
        if self.callback:
            self.callback(self.done, self.total)


def _embed(
    embedder: Embedder,
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    progress: _Progress,
    group: list[tuple[Document, list[Chunk], str]],
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Embed a group's texts EMBED_GROUP at a time, logging progress when one document spans several steps."""
    if len(texts) <= EMBED_GROUP:
        return embedder.encode_with_spans(texts, spans, progress=progress)
    names = ", ".join(doc.doc_id for doc, _, _ in group)
    vectors, sentences = [], []
    for start in range(0, len(texts), EMBED_GROUP):
        part, part_sentences = embedder.encode_with_spans(
            texts[start : start + EMBED_GROUP], spans[start : start + EMBED_GROUP], progress=progress
        )
        vectors.append(part)
        sentences += part_sentences
        log.info("embedding %s: %d of %d chunks", names, min(start + EMBED_GROUP, len(texts)), len(texts))
    return np.concatenate(vectors), sentences


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
            report = _sync(settings, paths, store, embedder, progress, on_progress)
        except BaseException:
            # Documents written before the failure are whole and current: readers should see them. If the
            # disk is what failed, the bump may fail too; the first error is the one to report.
            with suppress(StoreError):
                store.publish()
            raise
        store.publish()
        return report


def _sync(
    settings: Settings,
    paths: Iterable[Path] | None,
    store: Store,
    embedder: Embedder | None,
    progress: bool,
    on_progress: Callable[[int, int], None] | None,
) -> IngestReport:
    started = time.perf_counter()
    store.delete_retired()  # what a killed run left behind
    embedder = embedder or Embedder.from_settings(settings)
    fingerprint = chunking_fingerprint(settings)
    report = IngestReport()
    max_bytes = int(settings.max_file_mb * 1e6)

    files, scopes = discover(list(paths or [settings.corpus_dir]), settings.corpus_dir, report.skipped)
    unsafe = len(report.skipped)  # discover() logged these already
    existing = stored_docs(store)
    pending: list[tuple[Document, list[Chunk], str]] = []
    for source in tqdm(files, desc="Reading", unit="file", disable=not progress, leave=False):
        stored = existing.get(source.doc_id)
        try:
            check_size(source.path, source.doc_id, max_bytes)  # before reading: a huge file is never read
            data_hash = content_hash(source.path.read_bytes())
            if stored and stored.is_complete(data_hash, fingerprint):
                report.unchanged += 1
                continue
            doc = load_file(source.path, source.doc_id, max_bytes, settings.max_doc_chars)
            chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap, settings.max_doc_chunks)
        except (SkippedFile, OSError) as exc:
            reason = f"{source.doc_id}: cannot read ({exc.strerror})" if isinstance(exc, OSError) else str(exc)
            kept = " (its previously ingested version is kept)" if stored else ""
            report.skipped.append(f"{reason}{kept}")
            continue
        pending.append((doc, chunks, source.root))
        if stored:
            report.updated += 1
        else:
            report.added += 1

    for message in report.skipped[unsafe:]:
        log.warning("skipped %s", message)

    total = sum(len(chunks) for _, chunks, _ in pending)
    if on_progress:
        on_progress(0, total)
    with tqdm(total=total, desc="Embedding", unit="chunk", disable=not progress) as bar:
        counter = _Progress(bar, total, on_progress)
        for group in _groups(pending):
            rows = [
                (doc, chunk, chunk_metadata(doc, chunk, len(chunks), root, fingerprint))
                for doc, chunks, root in group
                for chunk in chunks
            ]
            texts = [embedding_text(meta, chunk.text) for _, chunk, meta in rows]
            # The chunk ends its embedding text, so a sentence's span there is shifted by the prefix.
            shifts = [len(text) - len(chunk.text) for text, (_, chunk, _) in zip(texts, rows, strict=True)]
            spans = [
                [(shift + s, shift + e) for s, e in content_sentences(chunk.text)]
                for shift, (_, chunk, _) in zip(shifts, rows, strict=True)
            ]
            vectors, sentence_vectors = _embed(embedder, texts, spans, counter, group)
            for (_, _, meta), sentences in zip(rows, sentence_vectors, strict=True):
                meta[SENTENCE_VECTORS] = pack_vectors(sentences)
            offset = 0
            for doc, chunks, _ in group:
                n = len(chunks)
                part = rows[offset : offset + n]
                store.replace_doc(
                    doc.doc_id,
                    [c.chunk_id for _, c, _ in part],
                    [c.text for _, c, _ in part],
                    vectors[offset : offset + n],
                    [m for _, _, m in part],
                )
                offset += n
            report.embedded += len(rows)

    seen = {f.doc_id for f in files}
    for doc_id, stored in existing.items():
        in_scope = any(
            stored.root == label
            and (doc_id == prefix or ((prefix.endswith("/") or not prefix) and doc_id.startswith(prefix)))
            for label, prefix in scopes
        )
        if in_scope and doc_id not in seen:
            store.delete_doc(doc_id)
            report.removed += 1

    report.chunks = store.count()
    report.seconds = time.perf_counter() - started
    log.info("ingest: %s", report.summary())
    return report
