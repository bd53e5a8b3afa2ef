"""ingest/ syncs into any store that follows its `ChunkStore` protocol: it needs no Chroma and no settings."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ingest.chunking import Chunk
from ingest.pipeline import Limits, StoredDoc, Version, sync


class MemoryStore:
    """A second `ChunkStore`: chunks in a dict, as a store of someone else's would keep them."""

    def __init__(self) -> None:
        self.docs: dict[str, tuple[list[Chunk], Version]] = {}

    def stored_docs(self) -> dict[str, StoredDoc]:
        state: dict[str, StoredDoc] = defaultdict(StoredDoc)
        for doc_id, (chunks, version) in self.docs.items():
            doc = state[doc_id]
            doc.hashes.add(version.doc_hash)
            doc.fingerprints.add(version.fingerprint)
            doc.expected.add(version.chunks)
            doc.indexes.update(c.index for c in chunks)
            doc.root = version.root
        return dict(state)

    def delete_retired(self) -> None:
        pass  # each document is replaced whole: nothing is ever left retired

    def write_doc(
        self, chunks: list[Chunk], version: Version, vectors: np.ndarray, sentence_vectors: list[np.ndarray]
    ) -> None:
        assert len(chunks) == len(vectors) == len(sentence_vectors) == version.chunks
        self.docs[chunks[0].doc_id] = (chunks, version)

    def delete_doc(self, doc_id: str) -> None:
        del self.docs[doc_id]

    def count(self) -> int:
        return sum(len(chunks) for chunks, _ in self.docs.values())


def test_a_store_that_follows_the_protocol_is_synced_incrementally(tiny_corpus, embedder):
    store, limits = MemoryStore(), Limits(chunk_size=200, chunk_overlap=40)

    def run():
        return sync(store, embedder.encode_with_spans, [tiny_corpus], tiny_corpus, limits, "fingerprint-1")

    first = run()
    assert first.added == len(store.docs) == 3 and first.embedded == store.count() > 3
    assert run().embedded == 0  # unchanged files are never embedded again

    (tiny_corpus / sorted(store.docs)[0]).unlink()
    gone = run()
    assert gone.removed == 1 and len(store.docs) == 2


def test_the_chunks_a_store_receives_carry_their_countries_and_document_fields(tiny_corpus, embedder):
    store = MemoryStore()
    sync(store, embedder.encode_with_spans, [tiny_corpus], tiny_corpus, Limits(200, 40), "fingerprint-1")

    chunks = [chunk for doc_chunks, _ in store.docs.values() for chunk in doc_chunks]
    assert all(chunk.metadata.get("title") for chunk in chunks)
    assert any(chunk.countries for chunk in chunks)
