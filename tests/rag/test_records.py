"""The chunk record's store encoding holds both ways, and hits and citations name their source alike."""

from __future__ import annotations

import re

import numpy as np

from ingest.chunking import Chunk
from ingest.pipeline import Version
from rag.answer import Citation
from rag.serving.json_forms import hit_json
from rag.storage import records
from rag.storage.embeddings import EMBED_DIM
from tests.conftest import REPO

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

    assert meta["country_Japan"] is True and meta["country_Philippines"] is True and "country_China" not in meta
    assert records.country_where(["Japan"]) == {"country_Japan": True}


def test_sentence_vectors_survive_their_packing_and_travel_with_the_stored_chunk():
    vectors = unit_rows(3)
    meta = records.encode(CHUNK, VERSION, vectors)
    unpacked = records.stored_chunk(CHUNK.chunk_id, CHUNK.text, meta).sentence_vectors

    assert unpacked is not None and unpacked.shape == vectors.shape
    assert np.allclose(unpacked, vectors, atol=0.01)
    old = {k: v for k, v in meta.items() if k != records.SENTENCE_VECTORS}  # stored before sentences were kept
    assert records.stored_chunk(CHUNK.chunk_id, CHUNK.text, old).sentence_vectors is None


def test_a_retired_chunk_is_recognised_and_a_current_one_is_not():
    assert records.is_retired({**records.encode(CHUNK, VERSION, unit_rows(1)), **records.RETIRED})
    assert not records.is_retired(records.encode(CHUNK, VERSION, unit_rows(1)))


def test_a_hit_names_its_source_the_way_a_citation_does():
    stored = records.stored_chunk(CHUNK.chunk_id, CHUNK.text, records.encode(CHUNK, VERSION, unit_rows(1)))
    hit = records.Hit(stored, rank=1, score=0.5)
    citation = Citation(
        chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title, url=hit.url, date=hit.date, page=hit.page, n=1,
        quote=CHUNK.text, quote_start=CHUNK.start, quote_end=CHUNK.end, chunk_text=CHUNK.text, chunk_start=CHUNK.start,
        support=1.0, supported=True,
    )  # fmt: skip

    source = ("statement.md#3", "statement.md", "Joint Statement", "https://example.org/s", "2024-04-11", 2)
    for item in (hit, citation):
        assert tuple(item.source_fields().values()) == source
    assert hit.countries == ["Japan", "Philippines"] and (hit.start, hit.end) == (1200, 1263)


def test_a_hits_metadata_is_its_documents_fields_only():
    stored = records.stored_chunk(CHUNK.chunk_id, CHUNK.text, records.encode(CHUNK, VERSION, unit_rows(2)))
    hit = records.Hit(stored, rank=1, score=0.5)

    assert hit.metadata == CHUNK.metadata  # no country flags, no packed vectors, no version
    assert hit.sentence_vectors is not None and hit.sentence_vectors.shape == (2, EMBED_DIM)


def test_a_hit_survives_its_json_form():
    stored = records.stored_chunk(CHUNK.chunk_id, CHUNK.text, records.encode(CHUNK, VERSION, unit_rows(1)))
    hit = records.Hit(stored, rank=2, score=0.5, vector_score=0.7, exact="reciprocal access")

    assert hit_json(records.Hit.from_dict(hit_json(hit))) == hit_json(hit)


# A key literal indexing something named meta/metadata: `meta.get("title")`, `hit.metadata["author"]`.
METADATA_KEY_READ = re.compile(r"""\bmeta\w*\s*(?:\.get\(|\[)\s*["'](\w+)["']""")


def test_only_the_record_module_reads_metadata_keys():
    records_module = REPO / "rag" / "storage" / "records.py"
    reads = [
        f"{path.relative_to(REPO)}:{n}: {match.group(0)}"
        for folder in ("rag", "webui", "eval")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path != records_module
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        for match in METADATA_KEY_READ.finditer(line)
    ]
    assert not reads, "read these through rag.storage.records (a Hit property or a records function):\n" + "\n".join(
        reads
    )
