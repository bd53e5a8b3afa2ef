"""Answers' parts built by hand, for tests of what renders and stores them (one citation builder), and the check
that an answer's quotes are its claims."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.loaders import load_file
from rag import Engine
from rag.answer import Answer, Citation, Quote
from rag.answering.extractive import as_prose


def citation(
    chunk_text: str,
    quote: str | None = None,
    *,
    claims: Sequence[tuple[str, int, int]] = (),
    n: int = 1,
    chunk_start: int = 0,
    doc_id: str = "d.md",
    title: str = "Doc",
    url: str = "",
    date: str = "2024",
    page: int | None = None,
    support: float = 0.9,
) -> Citation:
    """Source `[n]`: a chunk of `doc_id` at document offset `chunk_start`, supported by a verbatim span of it.

    The span is `quote` (a substring of the chunk; default: the whole chunk), or, with `claims` (answer sentence,
    start, end in the chunk), one quote per claim, the first the best.
    """
    quotes = [Quote(claim, chunk_text[s:e], chunk_start + s, chunk_start + e, support) for claim, s, e in claims]
    if quotes:
        best = quotes[0]
        quote, start = best.quote, best.quote_start
    else:
        quote = chunk_text if quote is None else quote
        start = chunk_start + chunk_text.index(quote)
    return Citation(
        n=n, chunk_id=f"{doc_id}#0", doc_id=doc_id, title=title, url=url, date=date, page=page, quote=quote,
        quote_start=start, quote_end=start + len(quote), chunk_text=chunk_text, chunk_start=chunk_start,
        support=support, supported=True, highlights=[(q.quote_start, q.quote_end) for q in quotes], quotes=quotes,
    )  # fmt: skip


def assert_every_quote_is_its_claim(answer: Answer, engine: Engine) -> None:
    """Each [n] sentence has its own span in citation n, and that span is the sentence itself, at its offsets."""
    corpus = engine.settings.corpus_dir
    shown = " ".join(re.sub(r" \[\d+\]", "", answer.text).split())
    for citation in answer.citations:
        document = load_file(corpus / citation.doc_id, citation.doc_id).text
        assert citation.quotes
        for quote in citation.quotes:
            assert document[quote.quote_start : quote.quote_end] == quote.quote
            assert " ".join(quote.quote.split()) == quote.claim
            # shown as prose (markup dropped), but for a capital where a cut connective left a lower-case start
            prose = as_prose(quote.claim)
            assert prose[:1].upper() + prose[1:] in shown or prose in shown
    claims = sum(len(c.quotes) for c in answer.citations)
    assert claims == len(re.findall(r"\[\d+\]", answer.text))
