"""The BM25 index is saved next to the store, loaded memory-mapped, and rebuilt only when the store changes."""

from __future__ import annotations

import numpy as np

from rag.retrieval.bm25 import Bm25Index, index_folder
from rag.retrieval.retrieve import Retriever
from rag.storage.store import Store
from rag.storage.sync import sync


def test_an_unchanged_store_loads_the_saved_index_memory_mapped(corpus_store, embedder):
    first = Bm25Index.open(corpus_store.store)
    folder = index_folder(corpus_store.store, corpus_store.store.generation)
    assert folder.is_dir()

    reopened = Bm25Index.open(Store(corpus_store.settings))

    assert isinstance(reopened.model.scores["data"], np.memmap)  # loaded from disk, not rebuilt
    assert reopened.ids == first.ids
    question = "How many patrol boats will Japan provide to the Philippines?"
    np.testing.assert_allclose(reopened.scores(question, None), first.scores(question, None))


def test_a_change_that_keeps_the_chunk_count_gives_a_new_index(tiny_settings, tiny_corpus, embedder):
    sync(tiny_settings, embedder=embedder)
    store = Store(tiny_settings)
    retriever = Retriever(tiny_settings, store, embedder)
    assert not retriever.keyword_hits("zorbex", 5, [])
    count = store.count()
    path = tiny_corpus / "harbour_pact.md"
    path.write_text(path.read_text(encoding="utf-8").replace("patrol", "zorbex"), encoding="utf-8")

    sync(tiny_settings, store=store, embedder=embedder)

    assert store.count() == count
    hits = retriever.keyword_hits("zorbex", 5, [])
    assert hits and hits[0].doc_id == "harbour_pact.md"
    old = [p for p in index_folder(store, store.generation).parent.iterdir() if not p.name.startswith(".")]
    assert old == [index_folder(store, store.generation)]  # the previous generation's index is deleted


def test_keyword_hits_carry_the_stored_text_and_metadata(retriever, corpus_store):
    hits = retriever.keyword_hits("Quad leaders vision statement", 3, [])
    stored = corpus_store.store.get([hit.chunk_id for hit in hits])
    assert hits
    for hit in hits:
        assert hit.chunk == stored[hit.chunk_id]
