"""A `chroma run` server killed and restarted mid-ingest and between questions: clear errors while it is down, an
exact store after the next sync, and an engine that recovers without a restart."""

from __future__ import annotations

import threading

import pytest

from ingest import pipeline
from rag.engine import Engine
from rag.errors import StoreError
from rag.storage.store import Store
from rag.storage.sync import sync
from testkit.servers import chroma_server as run_chroma_server
from tests.conftest import GatedEmbedder
from tests.reliability.conftest import assert_every_document_whole, update_tiny_corpus, versions

QUESTION = "How many mangrove trees will the commission plant?"
FERRY = "How many ferries did Japan pay for?"


class GateAfterFirst(GatedEmbedder):
    """Embeds the first group at once and holds the later ones at the gate: the ingest is then surely mid-way."""

    def encode_with_spans(self, texts, spans, progress=None):
        """The first call passes; later ones wait for the gate."""
        if self.calls == 0:
            self.calls += 1
            return self.inner.encode_with_spans(texts, spans, progress=progress)
        return super().encode_with_spans(texts, spans, progress)


@pytest.mark.server
def test_a_chroma_server_killed_mid_ingest_and_restarted_gives_clear_errors_then_an_exact_store(
    tmp_path, tiny_settings, embedder, monkeypatch
):
    monkeypatch.setattr(pipeline, "EMBED_GROUP", 2)  # several groups, so the kill falls between two writes
    with run_chroma_server(tmp_path) as (host, port, _):
        settings = tiny_settings.model_copy(update={"chroma_host": host, "chroma_port": port})
        sync(settings, embedder=embedder)
        engine = Engine(settings, Store(settings), embedder, "extractive")
        assert not engine.ask(QUESTION).abstained
        update_tiny_corpus(settings.corpus_dir)  # every kind of write: shrink, grow, delete, add
        gate = GateAfterFirst(embedder)
        failures: list[BaseException] = []

        def ingest() -> None:
            try:
                sync(settings, store=Store(settings), embedder=gate)
            except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
                failures.append(exc)

        writer = threading.Thread(target=ingest)
        writer.start()
        assert gate.waiting.wait(timeout=60)
    gate.open.set()  # the server is gone: the next write fails
    writer.join(timeout=120)

    assert len(failures) == 1 and isinstance(failures[0], StoreError), failures
    assert f"Chroma server at {host}:{port}" in str(failures[0]) and "Is `chroma run` up?" in str(failures[0])
    with pytest.raises(StoreError, match="chroma run"):
        engine.ask(QUESTION)
    with run_chroma_server(tmp_path, port):
        report = sync(settings, embedder=embedder)
        answer = engine.ask(FERRY)  # the engine that saw the server go answers from the synced store
        assert_every_document_whole(settings, {doc: hashes for doc, hashes in versions(settings.corpus_dir).items()})

    assert report.removed + report.updated + report.added >= 1
    assert not answer.abstained and {c.doc_id for c in answer.citations} == {"ferry_link.md"}
