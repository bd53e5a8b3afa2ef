"""The content-addressed embedding cache: unchanged text is embedded once per machine, and corpus/ ships pre-filled."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from rag.storage.embed_cache import (
    CACHE_FILE,
    SHIPPED,
    CachedEmbed,
    VectorFile,
    embed_cache_status,
    entry_key,
    model_key,
    shipped_keys,
    stored_keys,
)
from rag.storage.embeddings import EMBED_DIM
from rag.storage.store import Store
from rag.storage.sync import sync

TEXTS = ["Japan pledged aid to the Philippines. It arrives in 2024.", "Cambodia courts Tokyo."]
SPANS = [[(0, 37), (38, 57)], [(0, 22)]]


def _vectors(seed: int, sentences: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    unit = rng.standard_normal((1 + sentences, EMBED_DIM)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    return unit[0], unit[1:]


def _embeddings(store: Store) -> dict[str, np.ndarray]:
    return {r["id"]: np.asarray(r["embedding"]) for r in store.iter_records(include=("metadatas", "embeddings"))}


def test_reingest_into_a_new_store_embeds_only_text_it_never_saw(tiny_settings, counting_embedder, tmp_path):
    settings = tiny_settings.model_copy(update={"embed_cache": True, "embed_cache_dir": tmp_path / "cache"})
    first = sync(settings, embedder=counting_embedder)
    assert first.embedded == counting_embedder.texts == first.chunks > 0  # user documents embed as before
    counting_embedder.reset()
    rebuilt = sync(settings, embedder=counting_embedder, rebuild=True)
    elsewhere = settings.model_copy(update={"store_dir": tmp_path / "another-store"})
    fresh = sync(elsewhere, embedder=counting_embedder)
    assert (rebuilt.embedded, fresh.embedded, counting_embedder.texts) == (0, 0, 0)
    assert rebuilt.cached == fresh.cached == first.chunks
    assert "from cache" in fresh.summary()
    stored, cached = _embeddings(Store(settings)), _embeddings(Store(elsewhere))
    assert stored.keys() == cached.keys()
    assert all(np.array_equal(stored[i], cached[i]) for i in stored)
    status = embed_cache_status(settings)
    assert status["entries"] == first.chunks and status["bytes"] > 0 and status["shipped_entries"] > 0
    assert status["last_ingest"] == {"hits": first.chunks, "misses": 0, "hit_rate": 1.0}


def test_a_vector_is_never_served_to_another_runtime(counting_embedder, tmp_path):
    cached = CachedEmbed(counting_embedder, [VectorFile(tmp_path / CACHE_FILE)])
    cached(TEXTS, SPANS)
    cached(TEXTS, SPANS)
    assert (cached.hits, counting_embedder.texts) == (2, 2)
    counting_embedder.runtime = "torch"  # what the embedder reports after a fallback, or when asked for
    cached(TEXTS, SPANS)
    assert counting_embedder.texts == 4
    assert model_key("onnx") != model_key("torch")


def test_a_corrupt_entry_or_cache_file_is_a_miss_not_an_error(counting_embedder, tmp_path):
    path = tmp_path / CACHE_FILE
    cached = CachedEmbed(counting_embedder, [VectorFile(path)])
    vectors, _ = cached(TEXTS, SPANS)
    connection = sqlite3.connect(path)  # a flipped byte in each entry, and one cut short
    connection.execute("UPDATE vectors SET value = CAST(substr(value, 1, 100) || x'00' || substr(value, 102) AS BLOB)")
    connection.execute("UPDATE vectors SET value = substr(value, 1, 999) WHERE key = (SELECT MIN(key) FROM vectors)")
    connection.commit()
    connection.close()
    again, _ = cached(TEXTS, SPANS)
    assert counting_embedder.texts == 4
    np.testing.assert_allclose(again, vectors, atol=1e-6)
    path.write_bytes(b"not a database" * 100)
    cached(TEXTS, SPANS)
    cached(TEXTS, SPANS)  # the unreadable file was set aside and a new one written
    assert counting_embedder.texts == 6


def test_least_recently_used_entries_are_evicted_beyond_the_bound(tmp_path):
    cache = VectorFile(tmp_path / CACHE_FILE, max_bytes=10_000)  # room for 4 entries of ~2.4 kB
    keys = [bytes([i]) * 32 for i in range(6)]
    cache.put({k: _vectors(i) for i, k in enumerate(keys[:4])})
    assert cache.get([keys[0]])  # used again: now the most recent
    cache.put({keys[4]: _vectors(4)})
    cache.put({keys[5]: _vectors(5)})
    kept = cache.get(keys)
    assert keys[0] in kept and keys[1] not in kept and keys[5] in kept
    assert cache.stats()["entries"] <= 4


WRITER = """
import sys
from pathlib import Path
import numpy as np
from rag.storage.embed_cache import VectorFile
path, worker = Path(sys.argv[1]), int(sys.argv[2])
cache = VectorFile(path, max_bytes=10**9)
vector = np.ones((4, 384), dtype=np.float32) / np.sqrt(384)
for batch in range(10):
    cache.put({bytes([worker, batch, i]) * 8: (vector[0], vector[1:]) for i in range(20)})
"""


def test_several_processes_write_at_once(tmp_path):
    path = tmp_path / CACHE_FILE
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w)], stderr=subprocess.PIPE, text=True)
        for w in range(4)
    ]
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * 4, errors
    assert not any("not written" in e for e in errors), errors
    assert VectorFile(path).stats()["entries"] == 4 * 10 * 20


def test_cached_sentence_vectors_pack_into_the_store_unchanged():
    from rag.storage.embed_cache import pack, unpack
    from rag.storage.embeddings import pack_vectors

    vector, sentences = _vectors(7, sentences=5)
    back_vector, back_sentences = unpack(pack(vector, sentences), 5)
    assert np.array_equal(back_vector, vector)
    assert pack_vectors(back_sentences) == pack_vectors(sentences)


def test_the_shipped_cache_holds_every_chunk_of_the_shipped_corpus(make_settings):
    missing_or_stale = shipped_keys(make_settings()) ^ stored_keys(SHIPPED)
    assert not missing_or_stale, (
        f"{len(missing_or_stale)} shipped cache entries missing or stale: a document in corpus/, the chunker or the "
        "embedder changed; run `python -m rag.storage.embed_cache --rebuild-shipped` and commit the file"
    )


def test_a_key_covers_the_exact_text_and_its_spans():
    model = model_key("onnx")
    assert entry_key(model, TEXTS[0], SPANS[0]) != entry_key(model, TEXTS[0] + " ", SPANS[0])
    assert entry_key(model, TEXTS[0], SPANS[0]) != entry_key(model, TEXTS[0], SPANS[0][:1])


@pytest.mark.slow
def test_the_shipped_corpus_into_a_fresh_store_embeds_nothing_and_matches_a_full_embed(
    corpus_store, counting_embedder, tmp_path
):
    settings = corpus_store.settings.model_copy(
        update={"store_dir": tmp_path / "store", "embed_cache": True, "embed_cache_dir": tmp_path / "cache"}
    )
    report = sync(settings, embedder=counting_embedder)
    assert (report.embedded, report.cached, counting_embedder.texts) == (0, corpus_store.report.chunks, 0)
    full, shipped = _embeddings(corpus_store.store), _embeddings(Store(settings))
    assert full.keys() == shipped.keys()
    assert max(float(np.abs(full[i] - shipped[i]).max()) for i in full) < 1e-4
