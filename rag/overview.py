"""Which countries the corpus mentions, and how often (the focus list; the country page is rag/brief.py)."""

from __future__ import annotations

from collections import Counter

from rag.storage import records
from rag.storage.store import Store


def corpus_countries(store: Store) -> list[tuple[str, int]]:
    """(country or grouping, chunks mentioning it) for everything in the store, most mentioned first."""
    counts: Counter[str] = Counter()
    for record in store.iter_records(include=("metadatas",)):
        counts.update(records.countries(record["metadata"] or {}))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
