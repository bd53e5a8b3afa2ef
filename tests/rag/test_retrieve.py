"""Retrieval over the ingested shipped corpus: the evidence comes back, filters and boosts do what they say."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ingest.countries import country_key
from ingest.loaders import load_file
from rag.errors import EmptyStoreError, UnknownCountryError
from rag.retrieval.retrieve import Retriever, keep_exact
from rag.storage.store import Store
from testkit.cli import run_rag

REPO = Path(__file__).resolve().parents[2]
ARTICLE = REPO / "corpus" / "diplomatic-overdrive.md"
PLEDGE = "What did Japan pledge to the Philippines?"


def _norm(text: str) -> str:
    return " ".join(text.split())


def _evidence_questions() -> list:
    """Dev-split fact questions whose evidence is all in the article, plus our own in tests/data."""
    article = _norm(ARTICLE.read_text(encoding="utf-8"))
    cases = []
    for line in (REPO / "eval" / "datasets" / "dev.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["answerable"] and item["type"] == "fact" and all(_norm(e) in article for e in item["evidence"]):
            cases.append(pytest.param(item["question"], item["evidence"], id=item["id"]))
    own = (REPO / "tests" / "data" / "article_questions.jsonl").read_text(encoding="utf-8").splitlines()
    for n, line in enumerate(own, start=1):
        item = json.loads(line)
        cases.append(pytest.param(item["question"], [item["evidence"]], id=f"own-{n:02d}"))
    return cases


EVIDENCE_QUESTIONS = _evidence_questions()


@pytest.fixture(scope="module")
def stored_texts(corpus_store) -> list[str]:
    """Whitespace-normalised text of every stored chunk."""
    return [_norm(r["document"]) for r in corpus_store.store.iter_records(include=("documents",))]


@pytest.mark.parametrize(("question", "evidence"), EVIDENCE_QUESTIONS)
def test_chunk_holding_the_evidence_is_in_the_top_5(retriever, stored_texts, question, evidence):
    hits = retriever.retrieve(question, k=5)

    for quote in map(_norm, evidence):
        assert any(quote in text for text in stored_texts), f"no stored chunk holds {quote!r}"
        assert any(quote in _norm(hit.text) for hit in hits), (quote, [hit.chunk_id for hit in hits])


def test_japan_pledge_question_ranks_the_jpy_600_billion_chunk_first(retriever):
    hits = retriever.retrieve(PLEDGE)

    assert "Japan pledged JPY 600 billion by March 2024" in hits[0].text
    assert hits[0].doc_id == "diplomatic-overdrive.md"


def test_hits_are_ranked_by_descending_score_and_point_into_their_source(retriever):
    hits = retriever.retrieve(PLEDGE, k=8)

    assert [hit.rank for hit in hits] == list(range(1, 9))
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert len({hit.chunk_id for hit in hits}) == 8
    for hit in hits:
        assert load_file(REPO / "corpus" / hit.doc_id, hit.doc_id).text[hit.start : hit.end] == hit.text


def test_country_filter_returns_only_chunks_mentioning_the_country(retriever):
    unfiltered = retriever.retrieve(PLEDGE)
    assert any("Cambodia" not in hit.countries for hit in unfiltered)  # so the filter has something to remove

    hits = retriever.retrieve(PLEDGE, countries=["cambodia"])

    assert len(hits) == 5
    stored = retriever.store.collection.get(ids=[hit.chunk_id for hit in hits], include=["metadatas"])
    flags = dict(zip(stored["ids"], stored["metadatas"], strict=True))
    for hit in hits:  # the list a hit carries, and the flag the filter tests
        assert "Cambodia" in hit.countries
        assert flags[hit.chunk_id][country_key("Cambodia")] is True


def test_country_filter_with_several_countries_keeps_chunks_mentioning_any_of_them(retriever):
    hits = retriever.retrieve("Which navies can dock at the naval base?", k=10, countries=["Cambodia", "Vietnam"])

    assert len(hits) == 10
    assert all({"Cambodia", "Vietnam"} & set(hit.countries) for hit in hits)


def test_unknown_country_filter_raises_unknown_country_error(retriever):
    with pytest.raises(UnknownCountryError, match="Atlantis"):
        retriever.retrieve(PLEDGE, countries=["Atlantis"])


def test_fresh_retriever_on_a_reopened_store_gives_the_same_results_without_reingesting(
    corpus_store, retriever, embedder
):
    settings = corpus_store.settings
    count = corpus_store.store.count()
    questions = [PLEDGE, "Which country did Thailand restore diplomatic ties with?", "What is the Quad?"]
    expected = [[(h.chunk_id, h.score) for h in retriever.retrieve(q)] for q in questions]

    fresh = Retriever(settings, Store(settings), embedder)  # a new Store object, as a new process would open

    assert fresh.store.count() == count
    assert [[(h.chunk_id, h.score) for h in fresh.retrieve(q)] for q in questions] == expected


COUNTRY_QUESTIONS = [
    ("Which agreements were signed with Cambodia?", "Cambodia"),
    ("How is Vietnam seeking a shared future?", "Vietnam"),
    ("Which initiatives support Vietnam's semiconductor industry?", "Vietnam"),
    ("What is the strategic partnership with Italy?", "Italy"),
    ("How is clean energy supported in Indonesia?", "Indonesia"),
    ("What defence hardware deals were made with Thailand?", "Thailand"),
    ("What maritime security cooperation is planned with the Philippines?", "Philippines"),
]


def test_country_boost_lifts_chunks_mentioning_the_asked_country(corpus_store, retriever, embedder):
    settings = corpus_store.settings
    assert settings.country_boost > 0
    unboosted = Retriever(settings.model_copy(update={"country_boost": 0.0}), corpus_store.store, embedder)

    shares = []
    for question, country in COUNTRY_QUESTIONS:
        without = sum(country in hit.countries for hit in unboosted.retrieve(question, k=5))
        with_boost = sum(country in hit.countries for hit in retriever.retrieve(question, k=5))
        shares.append((question, without, with_boost))

    assert all(boosted >= plain for _, plain, boosted in shares), shares
    assert any(boosted > plain for _, plain, boosted in shares), shares


def test_retrieving_from_an_empty_store_raises_empty_store_error(tmp_path, make_settings, embedder):
    settings = make_settings(store_dir=tmp_path / "empty")

    with pytest.raises(EmptyStoreError, match="rag ingest"):
        Retriever(settings, Store(settings), embedder).retrieve(PLEDGE)


def test_rag_search_json_prints_the_hits_with_their_provenance(corpus_store, rag_command, rag_env, tmp_path):
    settings = corpus_store.settings

    env = rag_env(RAG_STORE_DIR=settings.store_dir, RAG_CORPUS_DIR=settings.corpus_dir)
    result = run_rag([*rag_command, "search", PLEDGE, "--k", "3", "--json"], env, tmp_path, timeout=300)

    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list)
    assert len(hits) == 3
    required = {"rank", "chunk_id", "doc_id", "title", "url", "text", "score", "countries", "start", "end"}
    for rank, hit in enumerate(hits, start=1):
        assert required <= set(hit), required - set(hit)
        assert hit["rank"] == rank
        assert isinstance(hit["countries"], list)
        source = load_file(settings.corpus_dir / hit["doc_id"], hit["doc_id"])
        assert source.text[hit["start"] : hit["end"]] == hit["text"]
        assert hit["title"] == source.metadata["title"]
    assert "JPY 600 billion" in hits[0]["text"]
    assert {"Japan", "Philippines"} <= set(hits[0]["countries"])


@pytest.mark.slow
def test_rag_search_doc_limits_hits_and_names_the_documents_on_a_typo(corpus_store, rag_command, rag_env, tmp_path):
    settings = corpus_store.settings
    env = rag_env(RAG_STORE_DIR=settings.store_dir, RAG_CORPUS_DIR=settings.corpus_dir)

    def search(*args: str) -> subprocess.CompletedProcess:
        return run_rag([*rag_command, "search", "maritime security", *args], env, tmp_path, timeout=300)

    found = search("--doc", "diplomatic-overdrive", "--json")
    assert found.returncode == 0, found.stderr
    assert {hit["doc_id"] for hit in json.loads(found.stdout)} == {"diplomatic-overdrive.md"}

    typo = search("--doc", "diplomatic-overdrve")
    assert typo.returncode == 1
    assert "Unknown document 'diplomatic-overdrve'" in typo.stderr and "diplomatic-overdrive.md" in typo.stderr
    assert "Traceback" not in typo.stderr


def test_a_quoted_phrase_ranks_first_and_a_rare_ngram_keeps_a_place_in_the_top_k():
    ranked = ["a", "b", "c", "d", "e", "f", "g"]
    exact = {"f": "diamond hexagon", "g": "lantern accord"}

    assert keep_exact(ranked, {"f": "diamond hexagon"}, [], 3) == ["a", "b", "f", "c", "d", "e", "g"]  # f displaces c
    assert keep_exact(ranked, exact, [], 3) == ["a", "f", "g", "b", "c", "d", "e"]
    assert keep_exact(ranked, exact, ["lantern accord"], 3) == ["g", "a", "f", "b", "c", "d", "e"]
    assert keep_exact(ranked, {"b": "x"}, [], 3) == ranked  # already in the top k: order untouched


def test_exact_search_finds_what_chromas_index_finds_and_keeps_to_the_ids_given(tiny_store, embedder) -> None:
    settings, store = tiny_store
    approximate = Store(settings.model_copy(update={"exact_search_max": 0}))  # Chroma's HNSW index
    records = list(store.iter_records(include=("embeddings",)))
    for record in records[:5]:
        own = np.array(record["embedding"], dtype=np.float32)
        exact = store.query(own, 5)
        assert exact[0][0].chunk_id == record["id"] and exact[0][1] == pytest.approx(0.0, abs=1e-5)
        hnsw = approximate.query(own, 5)
        assert [c.chunk_id for c, _ in exact] == [c.chunk_id for c, _ in hnsw]
        assert [d for _, d in exact] == pytest.approx([d for _, d in hnsw], abs=1e-4)
    some = [r["id"] for r in records[-3:]]
    assert {c.chunk_id for c, _ in store.query(embedder.encode(["harbour"])[0], 10, ids=some)} == set(some)


def test_exact_search_sees_own_writes_before_they_are_published(tiny_store, make_settings, tmp_path) -> None:
    settings, source = tiny_store
    store = Store(make_settings(corpus_dir=settings.corpus_dir, store_dir=tmp_path / "store"))
    assert store.query(np.ones(384, dtype=np.float32), 3) == []  # an empty store: nothing near, no error
    records = list(source.iter_records(include=("documents", "embeddings")))
    first, rest = records[:1], records[1:]
    for batch in (first, rest):
        store.upsert(
            [r["id"] for r in batch],
            [r["document"] for r in batch],
            np.array([r["embedding"] for r in batch]),
            [r["metadata"] for r in batch],
        )
        own = np.array(batch[-1]["embedding"], dtype=np.float32)
        assert store.query(own, 1)[0][0].chunk_id == batch[-1]["id"]  # no publish in between: the write itself counts
