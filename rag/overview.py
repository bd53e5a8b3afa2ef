"""Country overview data for the UI: which countries the corpus mentions, how often and where."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ingest.countries import country_mentions
from rag import records
from rag.retrieve import Retriever, resolve_countries
from rag.store import Store


def corpus_countries(store: Store) -> list[tuple[str, int]]:
    """(country or grouping, chunks mentioning it) for everything in the store, most mentioned first."""
    counts: Counter[str] = Counter()
    for record in store.iter_records(include=("metadatas",)):
        counts.update(records.countries(record["metadata"] or {}))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def country_mentions_by_document(store: Store, country: str) -> list[dict[str, Any]]:
    """Per document: how often `country` is mentioned and in how many chunks, most mentions first.

    Chunks overlap, so mentions are counted once per position in the document, not once per chunk.
    """
    docs: dict[str, dict[str, Any]] = {}
    positions: dict[str, set[int]] = {}
    for record in store.iter_records(include=("documents", "metadatas"), where=records.country_where([country])):
        chunk = records.decode(record["id"], record.get("document") or "", record["metadata"] or {})
        doc_id, fields = chunk.doc_id, chunk.metadata
        doc = docs.setdefault(
            doc_id,
            {
                "doc_id": doc_id,
                "title": str(fields.get("title", "") or doc_id),
                "date": str(fields.get("date", "")),
                "url": str(fields.get("url", "")),
                "chunks": 0,
            },
        )
        doc["chunks"] += 1
        found = positions.setdefault(doc_id, set())
        found.update(chunk.start + start for start, _, name in country_mentions(chunk.text) if name == country)
    for doc_id, doc in docs.items():
        doc["mentions"] = len(positions[doc_id])
    return sorted(docs.values(), key=lambda d: (-d["mentions"], -d["chunks"], d["title"]))


def country_profile(store: Store, retriever: Retriever, country: str, k: int = 5) -> dict[str, Any]:
    """Everything the country view shows: mentions per document and the top passages about `country`.

    Raises `UnknownCountryError` for a name that is no country or grouping.
    """
    (canonical,) = resolve_countries([country])
    documents = country_mentions_by_document(store, canonical)
    passages = []
    if documents:
        for hit in retriever.retrieve(canonical, k=k, countries=[canonical]):
            passage = hit.to_dict()
            passage["mentions"] = [(s, e) for s, e, name in country_mentions(hit.text) if name == canonical]
            passages.append(passage)
    return {
        "country": canonical,
        "documents": documents,
        "mentions": sum(d["mentions"] for d in documents),
        "chunks": sum(d["chunks"] for d in documents),
        "passages": passages,
    }
