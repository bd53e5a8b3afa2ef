"""Which documents stand for each side of a comparison of sources: a side's documents by their metadata.

A side named by its date ("the April 2024 US-Japan statement") takes every document of that date, the separate
Japan-Philippines-US statement of the same week too. The countries the question names pick, among them, the
documents whose title names exactly those countries, so that a sentence of another statement never speaks for it.
"""

from __future__ import annotations

from ingest.countries import find_countries
from rag.retrieval.scope import Scope
from rag.storage import records


def by_title_countries(question: str, scope: Scope | None, documents: dict[str, dict]) -> Scope | None:
    """`scope` with each side of several documents narrowed to those whose title names exactly the question's
    countries, when some do; the scope as it was otherwise."""
    if scope is None or len(scope.sides) < 2:
        return scope
    asked = set(find_countries(question))
    if len(asked) < 2:
        return scope
    sides = []
    for label, ids in scope.sides:
        own = tuple(d for d in ids if set(find_countries(records.title(documents.get(d, {})))) == asked)
        if own and len(own) < len(ids):
            label, ids = ", ".join(records.title(documents[d]) for d in own), own
        sides.append((label, ids))
    if tuple(sides) == scope.sides:
        return scope
    union = tuple(sorted({d for _, ids in sides for d in ids}))
    return Scope(" and ".join(label for label, _ in sides), union, sides=tuple(sides))
