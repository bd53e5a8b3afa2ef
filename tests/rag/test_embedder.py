"""The embedder's one-pass sentence vectors, which make the sentence re-rank free at query time."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.chunking import content_sentences
from ingest.pipeline import embedding_text
from rag.retrieval.retrieve import Retriever
from rag.storage.embeddings import Embedder, onnx_cache_path, onnx_model_path, pack_vectors, unpack_vectors
from rag.storage.records import decode, sentence_vectors

SENTENCES = [
    "Japan pledged JPY 600 billion to the Philippines by March 2024.",
    "The football team celebrated its championship with a parade downtown.",
    "Cambodia keeps close economic ties with China while courting Tokyo.",
]


def test_text_vectors_equal_plain_encode(embedder):
    texts = [" ".join(SENTENCES), SENTENCES[1], "Short."]
    vectors, _ = embedder.encode_with_spans(texts, [[], [], []])
    np.testing.assert_allclose(vectors, embedder.encode(texts), atol=1e-5)


QUESTIONS = [
    "How much money did Japan promise the Philippines?",
    "Who celebrated a title with a parade?",
    "How does Cambodia balance China and Japan?",
]


def test_a_question_about_one_sentence_matches_that_sentences_span_best(embedder):
    text = " ".join(SENTENCES)
    spans = content_sentences(text)
    assert [text[s:e] for s, e in spans] == SENTENCES
    _, (pooled,) = embedder.encode_with_spans([text], [spans])
    assert np.allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-5)
    similarity = embedder.encode(QUESTIONS) @ pooled.T
    assert list(similarity.argmax(axis=1)) == [0, 1, 2]


def test_a_span_beyond_the_model_length_limit_gets_a_zero_vector(embedder):
    text = "word " * 600 + SENTENCES[0]
    _, (pooled,) = embedder.encode_with_spans([text], [[(0, 20), (len(text) - len(SENTENCES[0]), len(text))]])
    assert np.linalg.norm(pooled[0]) > 0.99
    assert not pooled[1].any()


def test_packed_vectors_round_trip_keeping_similarities_to_within_1e_2(embedder):
    vectors = embedder.encode(SENTENCES)
    questions = embedder.encode(QUESTIONS)
    unpacked = unpack_vectors(pack_vectors(vectors))
    assert isinstance(pack_vectors(vectors), str)
    assert np.abs(unpacked - vectors).max() <= np.abs(vectors).max() / 254 + 1e-3
    np.testing.assert_allclose(questions @ unpacked.T, questions @ vectors.T, atol=1e-2)
    assert unpack_vectors(pack_vectors(vectors[:0])).shape == (0, vectors.shape[1])


def test_stored_chunks_carry_a_vector_per_content_sentence(corpus_store):
    stored = list(corpus_store.store.iter_records(include=("documents", "metadatas")))
    for record in stored:
        vectors = sentence_vectors(record["metadata"])
        assert vectors is not None and len(vectors) == len(content_sentences(record["document"])), record["id"]


def test_retrieval_with_the_re_rank_embeds_only_the_question(corpus_store, counting_embedder):
    retriever = Retriever(corpus_store.settings, corpus_store.store, counting_embedder)
    assert corpus_store.settings.rerank_depth > 0
    hits = retriever.retrieve("How much did Japan pledge to the Philippines, and by when?")
    assert hits and all(h.sentence_score is not None for h in hits)
    assert counting_embedder.texts == 1


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    """The torch runtime: the reference the ONNX vectors are checked against."""
    return Embedder(runtime="torch")


@pytest.mark.slow
def test_onnx_and_torch_embeddings_agree_on_the_corpus_chunks_and_sentences(corpus_store, embedder, torch_embedder):
    assert embedder.onnx is not None  # the default runtime really is ONNX Runtime
    records = list(corpus_store.store.iter_records(include=("documents", "metadatas")))
    texts = [embedding_text(decode(r["id"], r["document"], r["metadata"])) for r in records]
    spans = [
        [
            (len(t) - len(r["document"]) + s, len(t) - len(r["document"]) + e)
            for s, e in content_sentences(r["document"])
        ]
        for t, r in zip(texts, records, strict=True)
    ]

    onnx_chunks, onnx_sentences = embedder.encode_with_spans(texts, spans)
    torch_chunks, torch_sentences = torch_embedder.encode_with_spans(texts, spans)

    assert (onnx_chunks * torch_chunks).sum(axis=1).min() >= 0.999
    onnx_rows, torch_rows = np.concatenate(onnx_sentences), np.concatenate(torch_sentences)
    kept = np.linalg.norm(torch_rows, axis=1) > 0  # spans past the length limit are zero in both
    assert np.array_equal(np.linalg.norm(onnx_rows, axis=1) > 0, kept)
    assert kept.sum() > len(records) and (onnx_rows * torch_rows).sum(axis=1)[kept].min() >= 0.999
    questions = QUESTIONS + SENTENCES
    assert (embedder.encode(questions) * torch_embedder.encode(questions)).sum(axis=1).min() >= 0.999


def test_the_onnx_export_is_cached_and_reused(embedder):
    path = onnx_model_path()
    written = path.stat().st_mtime_ns

    assert onnx_model_path() == path
    assert path.stat().st_mtime_ns == written
    assert embedder.encode(["Japan"]).shape == (1, 384)


@pytest.mark.slow
def test_an_onnx_model_that_cannot_load_falls_back_to_torch(tmp_path, torch_embedder, caplog):
    broken = onnx_cache_path(tmp_path)
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not an onnx model")
    fallback = Embedder(cache_dir=tmp_path)

    vectors = fallback.encode(SENTENCES)

    assert fallback.runtime == "torch"
    assert "using torch" in caplog.text
    np.testing.assert_allclose(vectors, torch_embedder.encode(SENTENCES), atol=1e-5)
