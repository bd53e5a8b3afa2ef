"""The Chroma server path: the same sync and retrieval against a real `chroma run`, and a clear error without one."""

from __future__ import annotations

import time
import uuid

import chromadb
import pytest

from rag.errors import StoreError
from rag.retrieval.retrieve import Retriever
from rag.settings import Settings
from rag.storage.store import FOLLOW_EVERY_S, Store
from rag.storage.sync import sync
from testkit.servers import chroma_server as run_chroma_server


@pytest.mark.server
def test_server_store_syncs_retrieves_and_resyncs_nothing(
    chroma_server, tiny_corpus, make_settings, embedder, counting_embedder
):
    host, port = chroma_server
    settings = make_settings(
        chroma_host=host, chroma_port=port, collection=f"test-{uuid.uuid4().hex[:12]}", corpus_dir=tiny_corpus
    )
    store = Store(settings)
    assert store.count() == 0  # a fresh collection on the server, not a local store

    first = sync(settings, store=store, embedder=embedder)
    hits = Retriever(settings, store, embedder).retrieve("How many mangrove trees will the commission plant?", k=3)
    second = sync(settings, store=Store(settings), embedder=counting_embedder)

    assert first.added == 3
    assert first.chunks == first.embedded == store.count() > 0
    assert hits[0].doc_id == "river_commission.md"
    assert "forty thousand mangrove trees" in hits[0].text
    assert (second.unchanged, second.embedded, counting_embedder.calls) == (3, 0, 0)
    assert second.chunks == first.chunks
    on_server = chromadb.HttpClient(host=host, port=port).get_collection(settings.collection)
    assert on_server.count() == first.chunks


@pytest.mark.server
def test_a_reader_on_a_server_follows_another_clients_ingest_of_the_same_size(
    chroma_server, tiny_corpus, make_settings, embedder
):
    host, port = chroma_server
    settings = make_settings(
        chroma_host=host,
        chroma_port=port,
        collection=f"test-{uuid.uuid4().hex[:12]}",
        corpus_dir=tiny_corpus,
        store_dir=tiny_corpus.parent / "local",
    )
    sync(settings, embedder=embedder)
    reader = Retriever(settings, Store(settings), embedder)
    assert not reader.keyword_hits("zorbex", 5, [])
    path = tiny_corpus / "harbour_pact.md"
    path.write_text(path.read_text(encoding="utf-8").replace("patrol", "zorbex"), encoding="utf-8")

    sync(settings, store=Store(settings), embedder=embedder)  # another client, as another process would be
    time.sleep(FOLLOW_EVERY_S)

    hits = reader.retrieve("zorbex boats", k=1)
    assert hits[0].doc_id == "harbour_pact.md" and "zorbex" in hits[0].text


def test_unreachable_chroma_server_raises_store_error_saying_what_to_do(monkeypatch, tmp_path, unused_port):
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(unused_port))

    with pytest.raises(StoreError) as error:
        Store(Settings())

    assert "CHROMA_HOST" in str(error.value) or "chroma run" in str(error.value)


@pytest.mark.server
def test_chroma_server_going_away_mid_session_gives_a_store_error_then_works_when_back(
    tmp_path, tiny_corpus, make_settings, embedder
):
    with run_chroma_server(tmp_path) as (host, port, _):
        settings = make_settings(chroma_host=host, chroma_port=port, corpus_dir=tiny_corpus)
        sync(settings, embedder=embedder)
        retriever = Retriever(settings, Store(settings), embedder)
        assert retriever.retrieve("mangrove trees", k=1)
    question = "How many mangrove trees will the commission plant?"

    with pytest.raises(StoreError) as error:
        retriever.retrieve(question, k=1)

    assert "chroma run" in str(error.value)
    with run_chroma_server(tmp_path, port):
        assert "mangrove" in retriever.retrieve(question, k=1)[0].text
