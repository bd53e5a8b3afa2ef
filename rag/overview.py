"""Which countries the corpus mentions, and how often (the focus list; the country page is rag/brief.py)."""

from __future__ import annotations

from collections import Counter

from rag.storage.store import Store


def corpus_countries(store: Store) -> list[tuple[str, int]]:
    """(country or grouping, chunks mentioning it) for everything in the store, most mentioned first."""
    counts: Counter[str] = Counter()
    for chunk in store.chunks(text=False):
        counts.update(chunk.countries)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
