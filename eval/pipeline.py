"""What a variant runs questions through, and the ranked chunk the eval records and scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rag import Answer


@dataclass(frozen=True)
class Ranked:
    """One retrieved chunk, as the eval records and scores it."""

    rank: int
    chunk_id: str
    doc_id: str
    text: str
    score: float


class Pipeline(Protocol):
    """What a variant runs questions through."""

    answers: bool  # False: retrieval only; answer metrics are n/a

    def ask(self, question: str, history: list[dict[str, str]] | None) -> Answer:
        """Answer through the Engine API (only when `answers`)."""
        ...

    def rank(
        self, query: str, depth: int, countries: list[str] | None = None, prefer: dict[str, float] | None = None
    ) -> list[Ranked]:
        """The top `depth` chunks for an (already condensed) query; `prefer` boosts a conversation's documents."""
        ...

    def chunk_texts(self) -> list[str]:
        """The text of every chunk the pipeline can retrieve (to count relevant chunks)."""
        ...
