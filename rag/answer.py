"""What the engine returns: an answer, its checked citations and the passages behind it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rag.storage.records import Hit, Source

ABSTAIN_TEXT = "The sources don't answer this."


@dataclass
class Quote:
    """One answer sentence that cites a source, and the verbatim span of that source supporting it."""

    claim: str  # the answer sentence, markers removed
    quote: str  # text[quote_start:quote_end] of the document
    quote_start: int
    quote_end: int
    support: float


@dataclass
class Citation(Source):
    """Source `[n]` of an answer, with the verbatim span that supports it."""

    n: int
    quote: str
    quote_start: int  # offsets into the document's text: text[quote_start:quote_end] == quote
    quote_end: int
    chunk_text: str
    chunk_start: int
    support: float  # similarity of the quote to the answer sentence(s) citing it
    supported: bool  # support reaches RAG_SUPPORT_THRESHOLD (and no figure is missing from the source)
    # Document offsets of every span of this source that supports some answer sentence (the quote included).
    highlights: list[tuple[int, int]] = field(default_factory=list)
    # One entry per answer sentence citing this source, each with its own supporting span;
    # `quote` above is the best-supported of them.
    quotes: list[Quote] = field(default_factory=list)


@dataclass
class Answer:
    """An answer with `[n]` markers; `citations` says what each `n` rests on."""

    question: str
    text: str
    citations: list[Citation]
    retrieved: list[Hit]
    # The sources don't answer it; `citations` may still list the closest sentences, shown after "The sources
    # don't give the amount. The closest passages say:".
    abstained: bool
    unsupported_sentences: list[str] = field(default_factory=list)
    backend: str = ""
    model: str = ""
    search_query: str = ""  # the standalone question: the follow-up condensed with the history
    shape: str = ""  # fact, list, overview, comparison, reason or yesno (rag/answering/shapes.py)
    parts: list[str] = field(default_factory=list)  # the standalone parts of a multi-part question
    note: str = ""  # e.g. why the extractive answer stands in for an LLM's
    countries: list[str] = field(default_factory=list)
    docs: list[str] = field(default_factory=list)  # the documents the sources were limited to (none: all)
    # A follow-up's conversation documents, doc_id -> weight, whose passages its retrieval boosted (none: no boost).
    conversation_docs: dict[str, float] = field(default_factory=dict)
    retrieve_ms: float = 0.0
    first_token_ms: float = 0.0
    total_ms: float = 0.0
