"""Time to first token and total answer time per backend, over eval questions.

    python benchmarks/answer_latency.py [--questions 20] [--backends extractive local:smollm2 local:gemma3]

Uses the store at RAG_STORE_DIR (run `rag ingest` first). Each backend is warmed with one
question before timing, so model loading is not counted.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.ingest_retrieval import questions
from rag import Embedder, Engine, Settings
from rag.storage.store import Store


def main() -> None:
    """Print p50/p95 of first-token and total time for each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--backends", nargs="+", default=["extractive", "local:smollm2", "local:gemma3"])
    args = parser.parse_args()

    base = Settings()
    store, embedder = Store(base), Embedder(base.embed_batch_size)
    asked = questions(args.questions)
    print(f"{'backend':<18} {'first token p50/p95 (s)':>24} {'total p50/p95 (s)':>20}  abstained")
    for spec in args.backends:
        backend, _, model = spec.partition(":")
        settings = base.model_copy(update={"local_model": model} if model else {})
        engine = Engine(settings, store, embedder, backend)
        engine.ask("What did Japan pledge to the Philippines?")
        answers = [engine.ask(q) for q in asked]
        first = [a.first_token_ms / 1000 for a in answers]
        total = [a.total_ms / 1000 for a in answers]
        print(
            f"{spec:<18} {np.percentile(first, 50):>11.2f} / {np.percentile(first, 95):<10.2f}"
            f" {np.percentile(total, 50):>9.2f} / {np.percentile(total, 95):<8.2f}"
            f"  {sum(a.abstained for a in answers)}/{len(answers)}"
        )


if __name__ == "__main__":
    main()
