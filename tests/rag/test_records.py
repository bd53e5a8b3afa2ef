"""The chunk record's store encoding holds both ways, and hits and citations name their source alike."""

from __future__ import annotations

import numpy as np

from ingest.chunking import Chunk
from ingest.pipeline import Version
from rag.answer import Citation
from rag.storage import records
from rag.storage.embeddings import EMBED_DIM

CHUNK = Chunk(
    chunk_id="statement.md#3",
    doc_id="statement.md",
    index=3,
    text="Japan and the Philippines signed a reciprocal access agreement.",
    start=1200,
    end=1263,
    section="Security",
    page=2,
    countries=("Japan", "Philippines"),
    metadata={"title": "Joint Statement", "url": "https://example.org/s", "date": "2024-04-11"},
)
VERSION = Version(doc_hash="abc", fingerprint="chunker=2", chunks=7, root="")


def unit_rows(n: int) -> np.ndarray:
    rows = np.random.default_rng(0).normal(size=(n, EMBED_DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_chunk_read_back_from_its_encoding_is_the_chunk_written():
    meta = records.encode(CHUNK, VERSION, unit_rows(1))

    assert records.decode(CHUNK.chunk_id, CHUNK.text, meta) == CHUNK
    assert records.version(meta) == (VERSION, CHUNK.index)


def test_every_country_is_stored_as_a_filterable_flag():
    meta = records.encode(CHUNK, VERSION, unit_rows(1))

    assert records.mentions(meta, "Japan") and records.mentions(meta, "Philippines")
    assert not records.mentions(meta, "China")
    assert records.country_where(["Japan"]) == {"country_Japan": True}


def test_sentence_vectors_survive_their_packing():
    vectors = unit_rows(3)
    unpacked = records.sentence_vectors(records.encode(CHUNK, VERSION, vectors))

    assert unpacked is not None and unpacked.shape == vectors.shape
    assert np.allclose(unpacked, vectors, atol=0.01)
    assert records.sentence_vectors({}) is None  # a chunk stored before sentences were kept


def test_a_retired_chunk_is_recognised_and_a_current_one_is_not():
    assert records.is_retired({**records.encode(CHUNK, VERSION, unit_rows(1)), **records.RETIRED})
    assert not records.is_retired(records.encode(CHUNK, VERSION, unit_rows(1)))


def test_a_hit_names_its_source_the_way_a_citation_does():
    hit = records.hit(1, CHUNK.chunk_id, CHUNK.text, records.encode(CHUNK, VERSION, unit_rows(1)), 0.5)
    citation = Citation(
        chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title, url=hit.url, date=hit.date, page=hit.page, n=1,
        quote=CHUNK.text, quote_start=CHUNK.start, quote_end=CHUNK.end, chunk_text=CHUNK.text, chunk_start=CHUNK.start,
        support=1.0, supported=True,
    )  # fmt: skip

    source = ("statement.md#3", "statement.md", "Joint Statement", "https://example.org/s", "2024-04-11", 2)
    for item in (hit, citation):
        assert isinstance(item, records.Source)
        assert (item.chunk_id, item.doc_id, item.title, item.url, item.date, item.page) == source
    assert hit.countries == ["Japan", "Philippines"] and (hit.start, hit.end) == (1200, 1263)
