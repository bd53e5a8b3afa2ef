"""One question as the engine takes it: validated once, condensed once, its countries and source scope known once."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from rag.answering.condense import condense_question
from rag.answering.shapes import Shape, alternatives, carry_subject, classify, comparison_entities, split_parts
from rag.errors import QuestionError
from rag.profile import Profile
from rag.retrieval.retrieve import resolve_countries
from rag.retrieval.scope import Scope


def check_question(question: str, max_chars: int) -> str:
    """The question with control characters removed; raises QuestionError if unusable."""
    if question is None:
        raise QuestionError("The question is missing. Ask something about the corpus.")
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    cleaned = "".join(ch for ch in question if ch in "\n\t" or unicodedata.category(ch)[0] != "C").strip()
    if not cleaned:
        raise QuestionError(
            "The question is empty. Ask something about the corpus, e.g. 'What did Japan pledge to the Philippines?'"
        )
    if len(cleaned) > max_chars:
        raise QuestionError(
            f"The question is {len(cleaned):,} characters long; the limit is {max_chars:,} "
            "(RAG_MAX_QUESTION_CHARS). Shorten it."
        )
    return cleaned


def check_names(names: object, what: str) -> list[str] | None:
    """`names` if it is None or a list of non-empty strings; else a QuestionError naming `what`.

    A bare string is refused rather than read as a list of its letters ("Unknown country 'J'").
    """
    if names is None:
        return None
    if isinstance(names, str) or not isinstance(names, list | tuple):
        raise QuestionError(f'{what} must be a list of names, e.g. ["Japan"]; got {type(names).__name__}.')
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise QuestionError(f'{what} must be a list of non-empty names, e.g. ["Japan"]; got {name!r}.')
    return list(names)


def check_countries(countries: object) -> list[str]:
    """Canonical names for a country filter from a user or a script; raises with a hint when unusable."""
    return resolve_countries(check_names(countries, "countries"))


@dataclass(frozen=True)
class Query:
    """A question the engine may answer: everything worked out from it before retrieval, once.

    `standalone` is the question a follow-up asks given the history; it, not the raw follow-up, drives
    retrieval, the abstention checks, sentence selection, the prompt and the citations. `scopes` holds
    the source scope of each text that is retrieved for (the standalone question and each of its parts).
    """

    question: str  # as asked, control characters removed
    history: tuple[dict[str, str], ...]
    countries: list[str]  # canonical names
    docs: list[str] | None  # document names or ids as given
    standalone: str
    shape: Shape
    parts: list[str]  # [standalone] unless it asks several things
    entities: list[str]  # the sides of a one-part comparison; [] otherwise
    scopes: dict[str, Scope | None] = field(default_factory=dict)
    prefer: dict[str, float] = field(default_factory=dict)  # the conversation's documents: doc_id -> weight
    in_context: str = ""  # the turn read with the earlier question glued on: what a continuing turn's sentences match
    turn: str = ""  # the turn's own words when `standalone` glued the earlier question on after them; else ""

    @property
    def scope(self) -> Scope | None:
        """The documents the standalone question is limited to, if any."""
        return self.scopes[self.standalone]


def build_query(
    question: object,
    history: list[dict[str, str]] | None,
    countries: object,
    docs: object,
    *,
    max_chars: int,
    profile: Profile,
    find_scope: Callable[[str, list[str] | None], Scope | None],
    in_corpus_words: Callable[[str], str] | None = None,
    standalone_of: Callable[[str, list[dict[str, str]] | None], str] | None = None,
    in_context_of: Callable[[str, list[dict[str, str]] | None], str] | None = None,
    compare_sources: bool = False,
    open_what: bool = True,
    overview_asks: bool = True,
    part_and: bool = True,
    part_subject: bool = True,
) -> Query:
    """Validate the caller's input and work out the standalone question, its shape, parts and scopes.

    Raises QuestionError (or UnknownCountryError, UnknownDocumentError) with what to change.
    `find_scope(text, docs)` is the retriever's: it knows the stored documents. `in_corpus_words` (the
    retriever's, with RAG_MATCH_WORDING) respells the question and the user's earlier turns first.
    `standalone_of(question, history)` makes a follow-up standalone (default: `condense_question`);
    `in_context_of(question, history)`, given, reads it with the earlier question (`Query.in_context`).
    `part_and` and `part_subject` are the Settings switches of the same names (rag/answering/shapes.py).
    """
    question = check_question(question, max_chars)  # type: ignore[arg-type]
    selected = check_countries(countries)
    named = check_names(docs, "docs")
    condense = standalone_of or (lambda q, h: condense_question(q, h, profile.actors))
    respelled = _respelled(question, history, in_corpus_words)
    standalone = condense(*respelled)
    in_context = in_context_of(*respelled) if in_context_of and history else ""
    # "Why? <earlier question>" is shaped by what the follow-up asks, not by the question it leans on.
    shape = classify(question if _leads(standalone, question) else standalone, open_what, overview_asks)
    turn = respelled[0] if history and _leads(standalone, respelled[0]) else ""
    split = split_parts(standalone, part_and)
    parts = carry_subject(split) if part_subject else split
    scopes = {text: find_scope(text, named) for text in dict.fromkeys([standalone, *parts])}
    for asked, part in zip(split[1:], parts[1:], strict=False):
        # A part whose pronoun took the first part's subject asks of the first part's source too ("Who wrote the
        # op-ed, and what's her background?"), unless it names its own.
        if part != asked and scopes[part] is None:
            scopes[part] = scopes[parts[0]]
    one_comparison = shape == "comparison" and len(parts) == 1
    entities = comparison_entities(standalone, profile.subject) if one_comparison else []
    if compare_sources and len(parts) == 1:
        shape, entities = _side_by_side(standalone, scopes[standalone], shape, entities)
    return Query(
        question,
        tuple(history or ()),
        selected,
        named,
        standalone,
        shape,
        parts,
        entities,
        scopes,
        in_context=in_context,
        turn=turn,
    )


def _side_by_side(question: str, scope: Scope | None, shape: Shape, entities: list[str]) -> tuple[Shape, list[str]]:
    """The shape and sides of a question of any wording that names two sources, or weighs two countries.

    Two sources named ("the article ... the May 2023 statement") are the sides, before any countries:
    each source answers for itself. Two countries offered as alternatives ("Thailand or Vietnam") are next.
    """
    if scope is not None and not scope.explicit and len(scope.sides) >= 2:
        return "comparison", []
    if pair := alternatives(question):
        return "comparison", pair
    return shape, entities


def _leads(standalone: str, question: str) -> bool:
    """Whether `standalone` is `question` with the earlier question glued after it (a "?" the glue added too)."""
    return standalone.startswith((f"{question} ", f"{question.rstrip()}? "))


def _respelled(
    question: str, history: list[dict[str, str]] | None, words: Callable[[str], str] | None
) -> tuple[str, list[dict[str, str]] | None]:
    """The question and the user's earlier turns in the corpus's spelling (`words`), else as given."""
    if words is None:
        return question, history
    turns = [
        {**t, "content": words(str(t.get("content", "")))} if t.get("role") == "user" else t for t in history or []
    ]
    return words(question), turns or history
