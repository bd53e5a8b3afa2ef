"""Incremental, idempotent sync of corpus files into any store that follows `ChunkStore`.

The store is its own manifest: every chunk records its document's content hash, the
chunking fingerprint and how many chunks the document has. A document is unchanged only
when all of that agrees, so a run killed at any point is repaired by the next one.

This module knows no store and no settings: the caller (`rag.storage.sync`) hands it a store, an
embedding function and plain parameters.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from ingest.chunking import CHUNKER_VERSION, Chunk, chunk_document, content_sentences
from ingest.loaders import NO_TEXT, Document, SkippedFile, check_size, content_hash, load_file

log = logging.getLogger(__name__)

EMBED_GROUP = 256  # chunks embedded and written together; bounds memory and lost work on a kill
CORPUS_NOTES = frozenset({"README.md", "profile.yaml"})  # at the corpus's top: about it, not documents in it
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
    cached: int = 0  # chunks whose vectors an embedding cache held (the caller counts them; not in `embedded`)
    seconds: float = 0.0

    def summary(self) -> str:
        """The one line `rag ingest` ends with."""
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped; {self.chunks} chunks in store ({self.embedded} embedded"
            f"{f', {self.cached} from cache' if self.cached else ''}) "
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


@dataclass(frozen=True)
class Version:
    """The version of a document its chunks are written as: what the next sync compares the file against."""

    doc_hash: str
    fingerprint: str
    chunks: int  # how many chunks the document has
    root: str = ""  # label of the root it was synced under ("" for the corpus folder)


class ChunkStore(Protocol):
    """What a sync needs of a store."""

    def stored_docs(self) -> dict[str, StoredDoc]:
        """Per document, what its stored chunks say about the version they belong to."""
        ...

    def delete_retired(self) -> None:
        """Delete chunks a killed sync left retired."""
        ...

    def write_doc(
        self, chunks: list[Chunk], version: Version, vectors: np.ndarray, sentence_vectors: list[np.ndarray]
    ) -> None:
        """Make `chunks` the document's chunks, in one write: a failure leaves the old or the new version."""
        ...

    def delete_doc(self, doc_id: str) -> None:
        """Remove a document's chunks."""
        ...

    def count(self) -> int:
        """Number of chunks stored."""
        ...


# (texts, per text the (start, end) spans to embed too, progress) -> (text vectors, span vectors per text)
Embed = Callable[[Sequence[str], Sequence[Sequence[tuple[int, int]]], Any], tuple[np.ndarray, list[np.ndarray]]]


def chunking_fingerprint(chunk_size: int, chunk_overlap: int, embedding: str) -> str:
    """Everything besides a file's bytes that decides its chunks and vectors; a change re-ingests every file.

    `embedding` names the embedder and how sentence vectors are kept (e.g. "embed=all-MiniLM-L6-v2;...").
    """
    return f"chunker={CHUNKER_VERSION};size={chunk_size};overlap={chunk_overlap};{embedding}"


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
            if any(part.startswith(".") for part in Path(rel).parts) or (label == "" and rel in CORPUS_NOTES):
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


def embedding_text(chunk: Chunk) -> str:
    """What gets embedded: the chunk under its title and section, so context-free chunks still match."""
    return "\n".join(part for part in (chunk.metadata.get("title", ""), chunk.section, chunk.text) if part)


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
    embed: Embed,
    texts: list[str],
    spans: list[list[tuple[int, int]]],
    progress: _Progress,
    group: list[tuple[Document, list[Chunk], str]],
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Embed a group's texts EMBED_GROUP at a time, logging progress when one document spans several steps."""
    if len(texts) <= EMBED_GROUP:
        return embed(texts, spans, progress)
    names = ", ".join(doc.doc_id for doc, _, _ in group)
    vectors, sentences = [], []
    for start in range(0, len(texts), EMBED_GROUP):
        part, part_sentences = embed(texts[start : start + EMBED_GROUP], spans[start : start + EMBED_GROUP], progress)
        vectors.append(part)
        sentences += part_sentences
        log.info("embedding %s: %d of %d chunks", names, min(start + EMBED_GROUP, len(texts)), len(texts))
    return np.concatenate(vectors), sentences


@dataclass(frozen=True)
class Limits:
    """How files are read and cut: bytes a file may have, characters and chunks a document may make, pages a PDF
    may have, and seconds its text may take to extract."""

    chunk_size: int
    chunk_overlap: int
    max_bytes: int | None = None
    max_doc_chars: int | None = None
    max_doc_chunks: int | None = None
    max_pdf_pages: int | None = None
    max_extract_seconds: float | None = None


@dataclass
class ReadFiles:
    """The files under the synced roots, read and chunked before the store is written (see `read`)."""

    files: list[SourceFile]
    scopes: list[tuple[str, str]]
    hashes: dict[str, str] = field(default_factory=dict)  # doc_id -> content hash of each readable file
    chunked: dict[str, tuple[Document, list[Chunk]]] = field(default_factory=dict)  # those the store lacked
    failed: dict[str, str] = field(default_factory=dict)  # doc_id -> why it can't be ingested
    unsafe: list[str] = field(default_factory=list)  # passed over by discover() (logged there)


def _load(source: SourceFile, limits: Limits) -> tuple[Document, list[Chunk]]:
    """Read and chunk one file; SkippedFile or OSError when it can't be ingested."""
    doc = load_file(
        source.path,
        source.doc_id,
        limits.max_bytes,
        limits.max_doc_chars,
        limits.max_pdf_pages,
        limits.max_extract_seconds,
    )
    chunks = chunk_document(doc, limits.chunk_size, limits.chunk_overlap, limits.max_doc_chunks)
    if not chunks:  # a heading alone, say: nothing a question could be answered from
        raise SkippedFile(f"{source.doc_id}: {NO_TEXT}")
    return doc, chunks


def _reason(source: SourceFile, exc: SkippedFile | OSError) -> str:
    return f"{source.doc_id}: cannot read ({exc.strerror})" if isinstance(exc, OSError) else str(exc)


def read(
    roots: Iterable[Path],
    corpus_dir: Path,
    limits: Limits,
    fingerprint: str,
    stored: dict[str, StoredDoc],
    progress: bool = False,
) -> ReadFiles:
    """Find, hash, read and chunk the files under `roots`; files `stored` holds complete are only hashed.

    Needs no store, so a caller can run it before taking the writer lock: a file slow to extract then
    delays no other writer. `write` checks the store again under the lock.
    """
    unsafe: list[str] = []
    files, scopes = discover(list(roots), corpus_dir, unsafe)
    found = ReadFiles(files, scopes, unsafe=unsafe)
    for source in tqdm(files, desc="Reading", unit="file", disable=not progress, leave=False):
        try:
            check_size(source.path, source.doc_id, limits.max_bytes)  # before reading: a huge file is never read
            found.hashes[source.doc_id] = data_hash = content_hash(source.path.read_bytes())
            if (doc := stored.get(source.doc_id)) and doc.is_complete(data_hash, fingerprint):
                continue
            found.chunked[source.doc_id] = _load(source, limits)
        except (SkippedFile, OSError) as exc:
            found.failed[source.doc_id] = _reason(source, exc)
    return found


def sync(
    store: ChunkStore,
    embed: Embed,
    roots: Iterable[Path],
    corpus_dir: Path,
    limits: Limits,
    fingerprint: str,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """Bring `store` in line with the files under `roots`; documents gone from a synced root are removed.

    `read` and then `write`, in one go; see `write` for `on_progress`.
    """
    started = time.perf_counter()
    found = read(roots, corpus_dir, limits, fingerprint, store.stored_docs(), progress)
    return write(store, embed, found, limits, fingerprint, progress, on_progress, started)


def write(
    store: ChunkStore,
    embed: Embed,
    found: ReadFiles,
    limits: Limits,
    fingerprint: str,
    progress: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    started: float | None = None,
) -> IngestReport:
    """Embed and store what `read` found, against the store as it is now; remove documents gone from a root.

    `on_progress(done, total)` hears how many of the chunks to embed are done: once before the first
    is embedded, then after each batch. Who writes at the same time, and telling readers, is the caller's job.
    """
    started = time.perf_counter() if started is None else started
    store.delete_retired()  # what a killed run left behind
    report = IngestReport(skipped=list(found.unsafe))
    existing = store.stored_docs()
    pending: list[tuple[Document, list[Chunk], str]] = []
    for source in found.files:
        stored = existing.get(source.doc_id)
        data_hash = found.hashes.get(source.doc_id)
        try:
            if source.doc_id in found.failed:
                raise SkippedFile(found.failed[source.doc_id])
            if stored and data_hash and stored.is_complete(data_hash, fingerprint):
                report.unchanged += 1
                continue
            # Complete when read, but another writer has changed it since: read it again, now.
            doc, chunks = found.chunked.get(source.doc_id) or _load(source, limits)
        except (SkippedFile, OSError) as exc:
            kept = " (its previously ingested version is kept)" if stored else ""
            report.skipped.append(f"{_reason(source, exc)}{kept}")
            continue
        pending.append((doc, chunks, source.root))
        if stored:
            report.updated += 1
        else:
            report.added += 1

    for message in report.skipped[len(found.unsafe) :]:
        log.warning("skipped %s", message)

    total = sum(len(chunks) for _, chunks, _ in pending)
    if on_progress:
        on_progress(0, total)
    with tqdm(total=total, desc="Embedding", unit="chunk", disable=not progress) as bar:
        counter = _Progress(bar, total, on_progress)
        for group in _groups(pending):
            chunks = [chunk for _, doc_chunks, _ in group for chunk in doc_chunks]
            texts = [embedding_text(chunk) for chunk in chunks]
            # The chunk ends its embedding text, so a sentence's span there is shifted by the prefix.
            shifts = [len(text) - len(chunk.text) for text, chunk in zip(texts, chunks, strict=True)]
            spans = [
                [(shift + s, shift + e) for s, e in content_sentences(chunk.text)]
                for shift, chunk in zip(shifts, chunks, strict=True)
            ]
            vectors, sentence_vectors = _embed(embed, texts, spans, counter, group)
            offset = 0
            for doc, doc_chunks, root in group:
                n = len(doc_chunks)
                version = Version(doc.content_hash, fingerprint, n, root)
                store.write_doc(
                    doc_chunks, version, vectors[offset : offset + n], sentence_vectors[offset : offset + n]
                )
                offset += n
            report.embedded += len(chunks)

    seen = {f.doc_id for f in found.files}
    for doc_id, stored in existing.items():
        in_scope = any(
            stored.root == label
            and (doc_id == prefix or ((prefix.endswith("/") or not prefix) and doc_id.startswith(prefix)))
            for label, prefix in found.scopes
        )
        if in_scope and doc_id not in seen:
            store.delete_doc(doc_id)
            report.removed += 1

    report.chunks = store.count()
    report.seconds = time.perf_counter() - started
    log.info("ingest: %s", report.summary())
    return report
