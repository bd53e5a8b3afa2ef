"""10k chunks from the scale benchmark's generator: paging, the BM25 rebuild, filters and re-sync hold at size.

Timings stay in `benchmarks/scale.py`; this checks that what works on 350 chunks still works on 10k.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from benchmarks.scale import CHUNK_SIZE, DOC_CHUNKS, FILTER_COUNTRIES, questions, write_corpus
from ingest.pipeline import IngestReport
from rag.retrieval.retrieve import Retriever
from rag.settings import Settings
from rag.storage.store import PAGE, Store
from rag.storage.sync import sync

pytestmark = pytest.mark.slow  # see README, Tests

SIZE = 10_000
NEEDLE = "Tuvalu and Palau agreed on 17 zorbimat harbour projects in 2023. The plan covers quays and cranes."


@dataclass
class BigStore:
    settings: Settings
    report: IngestReport


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, make_settings, embedder) -> BigStore:
    root = tmp_path_factory.mktemp("scale")
    write_corpus(root / "corpus", SIZE)
    (root / "corpus" / "needle.md").write_text(f"## Harbours\n\n{NEEDLE}\n", encoding="utf-8")
    settings = make_settings(
        corpus_dir=root / "corpus", store_dir=root / "store", chunk_size=CHUNK_SIZE, chunk_overlap=0
    )
    return BigStore(settings, sync(settings, embedder=embedder))


def test_every_chunk_is_stored_once_and_read_back_across_pages(big: BigStore):
    ids = [r["id"] for r in Store(big.settings).iter_records()]
    assert SIZE + 1 > PAGE
    assert big.report.chunks == big.report.embedded == len(ids) == len(set(ids)) == SIZE + 1


def test_a_fresh_process_view_finds_the_one_needle_among_10k_chunks(big: BigStore, embedder):
    retriever = Retriever(big.settings, Store(big.settings), embedder)
    hits = retriever.retrieve("How many zorbimat harbour projects did Tuvalu and Palau agree on?", k=3)
    assert hits[0].doc_id == "needle.md"
    assert set(hits[0].countries) == {"Tuvalu", "Palau"}


@pytest.mark.parametrize("country", FILTER_COUNTRIES)
def test_country_filter_at_10k_returns_only_chunks_mentioning_the_country(big: BigStore, embedder, country):
    retriever = Retriever(big.settings, Store(big.settings), embedder)
    question, _ = questions(1)[0]
    hits = retriever.retrieve(question, k=5, countries=[country])
    assert len(hits) == 5
    assert all(country in hit.countries and country in hit.text for hit in hits)


def test_resyncing_10k_unchanged_chunks_embeds_nothing(big: BigStore, counting_embedder):
    again = sync(big.settings, embedder=counting_embedder)
    assert (again.unchanged, again.embedded, counting_embedder.calls) == (SIZE // DOC_CHUNKS + 1, 0, 0)
    assert again.chunks == SIZE + 1
