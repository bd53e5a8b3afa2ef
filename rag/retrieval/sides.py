"""Which documents stand for each side of a comparison of sources: a side's documents by their metadata.

A side named by its date ("the April 2024 US-Japan statement") takes every document of that date, the separate
Japan-Philippines-US statement of the same week too. The countries the question names pick, among them, the
documents whose title names exactly those countries, so that a sentence of another statement never speaks for it.
The article set against a statement named by its countries and a word of its title ("the op-ed's take on Indonesia
vs the US-Indonesia statement", "the article's view vs the US declaration") has that statement for its other side.
"""

from __future__ import annotations

from ingest.countries import find_countries
from rag.answering.shapes import classify
from rag.retrieval.named_document import cards, title_words
from rag.retrieval.scope import PAIRED, Scope, article_named_loosely
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


def article_against_countries(question: str, scope: Scope | None, documents: dict[str, dict]) -> Scope | None:
    """The article and the statement the comparison names by its countries and a title word, as two sides, when the
    question compares the article (named in any wording) with such a statement; `scope` as it was otherwise."""
    article = tuple(sorted(d for d, meta in documents.items() if records.kind(meta) == "article"))
    if not article or (scope is not None and (scope.sides or scope.doc_ids != article)):
        return scope
    named = PAIRED.search(question) or article_named_loosely(question, documents)
    if classify(question) != "comparison" or not named:
        return scope
    other = statement_named(question, documents, set(article))
    if not other:
        return scope
    sides = ((", ".join(records.title(documents[d]) for d in other), other), ("the article", article))
    return Scope(" and ".join(label for label, _ in sides), tuple(sorted(other + article)), sides=sides)


def statement_named(question: str, documents: dict[str, dict], leave_out: set[str]) -> tuple[str, ...]:
    """The documents whose title's countries the question names, all of them, and one of whose other title words
    (stemmed) it holds ("the US-Indonesia statement", "the US declaration"); those naming most countries and words."""
    asked = set(find_countries(question))
    words = set(title_words(question))
    scored: dict[str, int] = {}
    for c in cards(documents):
        held = c.all_words & words
        if c.doc_id not in leave_out and c.countries and c.countries <= asked and held:
            scored[c.doc_id] = len(c.countries) + len(held)
    best = max(scored.values(), default=0)
    return tuple(sorted(d for d, score in scored.items() if score == best))
