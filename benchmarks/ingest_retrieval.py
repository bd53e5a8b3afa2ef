"""Ingest throughput vs the raw embedding model, re-ingest cost, and hybrid retrieval latency.

    python benchmarks/ingest_retrieval.py [--corpus corpus] [--queries 100]

Everything is measured in one process with the model already loaded, so the ratios compare
like with like on a shared, noisy machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from ingest.chunking import chunk_document
from ingest.loaders import load_file
from ingest.pipeline import discover, embedding_text
from rag import Embedder, Settings
from rag.retrieval.retrieve import Retriever
from rag.storage.store import Store
from rag.storage.sync import sync

REPO = Path(__file__).resolve().parents[1]


def questions(limit: int) -> list[str]:
    """Eval questions (dev then test), cycled up to `limit`."""
    items = [
        json.loads(line)["question"]
        for split in ("dev", "test")
        for line in (REPO / "eval" / "datasets" / f"{split}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    return [items[i % len(items)] for i in range(limit)]


def embedding_inputs(settings: Settings) -> list[str]:
    """Exactly the texts the pipeline embeds for the corpus."""
    files, _ = discover([settings.corpus_dir], settings.corpus_dir)
    texts = []
    for source in files:
        doc = load_file(source.path, source.doc_id)
        chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
        texts += [embedding_text(c) for c in chunks]
    return texts


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(_env_file=None, corpus_dir=args.corpus, store_dir=Path(tmp) / "store")
        embedder = Embedder(settings.embed_batch_size)
        embedder.encode(["warm up"])

        texts = embedding_inputs(settings)
        started = time.perf_counter()
        embedder.model.encode(texts, normalize_embeddings=True)  # sentence-transformers' own defaults
        raw_s = time.perf_counter() - started

        store = Store(settings)
        first = sync(settings, store=store, embedder=embedder)
        again = sync(settings, store=store, embedder=embedder)

        retriever = Retriever(settings, store, embedder)
        retriever.retrieve("warm up the BM25 index")
        latencies: dict[str, list[float]] = {}
        for label, depth in (("default (re-rank on)", settings.rerank_depth), ("re-rank off", 0)):
            retriever.settings = settings.model_copy(update={"rerank_depth": depth})
            for question in questions(args.queries):
                started = time.perf_counter()
                retriever.retrieve(question)
                latencies.setdefault(label, []).append((time.perf_counter() - started) * 1000)

    ingest_rate, raw_rate = first.chunks / first.seconds, len(texts) / raw_s
    print(f"corpus: {first.added} documents, {first.chunks} chunks")
    print(f"ingest (model warm):       {first.seconds:6.2f} s  {ingest_rate:6.1f} chunks/s")
    print(f"raw encode, same texts:    {raw_s:6.2f} s  {raw_rate:6.1f} chunks/s")
    print(f"ingest / raw encode:       {ingest_rate / raw_rate:6.2f} x   (target >= 0.7)")
    print(
        f"re-ingest, unchanged:      {again.seconds:6.2f} s  {again.seconds / first.seconds:6.1%} of first  "
        f"({again.embedded} embedded; target <= 5%)"
    )
    for label, times in latencies.items():
        print(
            f"hybrid retrieval, {label}, {len(times)} queries: p50 {np.percentile(times, 50):.1f} ms  "
            f"p95 {np.percentile(times, 95):.1f} ms   (target p95 < 50 ms)"
        )


if __name__ == "__main__":
    main()
