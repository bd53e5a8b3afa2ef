"""Every JSON form the faces write: `--json`, `/v1`, both MCP servers (`rag mcp`, the UI's) and the UI's API.

One form per thing, so a script that reads `rag ask --json` reads the MCP `ask` tool's result the same way.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any

from rag.answer import Answer, Citation, Quote
from rag.safe_text import safe_text, safe_url
from rag.storage.records import Hit

if TYPE_CHECKING:
    from rag.brief import CountryBrief

# A hit's JSON fields: its source, where it sits in its document, and the evidence behind its rank.
HIT_FIELDS = (
    "chunk_id",
    "doc_id",
    "title",
    "url",
    "date",
    "page",
    "rank",
    "section",
    "text",
    "start",
    "end",
    "countries",
    "score",
    "vector_score",
    "bm25_score",
    "sentence_score",
    "exact",
)


def hit_json(hit: Hit) -> dict[str, Any]:
    """A retrieved passage: `rag search --json`, the `search` tools, an answer's `retrieved`."""
    data = {name: getattr(hit, name) for name in HIT_FIELDS}
    data.update(title=safe_text(hit.title), url=safe_url(hit.url))  # a client may render them; the text is verbatim
    return data


def citation_json(citation: Citation) -> dict[str, Any]:
    """A checked citation: n, its source, the quote with its document offsets, support, highlights, quotes."""
    data = asdict(citation)
    data.update(title=safe_text(citation.title), url=safe_url(citation.url))  # the quote stays verbatim
    return data


def answer_json(answer: Answer) -> dict[str, Any]:
    """An answer: `rag ask --json`, a saved conversation, a feedback line (`answer_from_json` reads it back)."""
    data = asdict(replace(answer, citations=[], retrieved=[]))  # the two lists are written below, by their forms
    data["citations"] = [citation_json(c) for c in answer.citations]
    data["retrieved"] = [hit_json(hit) for hit in answer.retrieved]
    data["standalone_question"] = answer.search_query
    return data


def ask_json(answer: Answer) -> dict[str, Any]:
    """What the `ask` tool returns from `rag mcp`, the UI's MCP server and its `/ask` API: "answer" is the text."""
    return {"answer": safe_text(answer.text), **answer_json(answer)}  # an MCP client may render markdown


def countries_json(counts: list[tuple[str, int]]) -> list[dict[str, Any]]:
    """The countries and groupings the corpus mentions, with the passages mentioning each, most first."""
    return [{"country": name, "chunks": n} for name, n in counts]


def brief_json(brief: CountryBrief) -> dict[str, Any]:
    """A country's brief: `rag countries NAME --json`."""
    data = asdict(brief)
    data["co_mentioned"] = [{"country": name, "passages": n} for name, n in brief.co_mentioned]
    return data


def answer_from_json(data: dict[str, Any]) -> Answer:
    """The `Answer` back from its `answer_json` form (a saved conversation, a JSON export)."""
    fields = {name for name in Answer.__dataclass_fields__ if name != "retrieved"}
    answer = Answer(**{k: v for k, v in data.items() if k in fields}, retrieved=[])
    answer.citations = [
        Citation(
            **{
                **c,
                "highlights": [tuple(span) for span in c.get("highlights", [])],
                "quotes": [Quote(**q) for q in c.get("quotes", [])],
            }
        )
        for c in data.get("citations", [])
    ]
    answer.retrieved = [Hit.from_dict(h) for h in data.get("retrieved", [])]
    return answer
