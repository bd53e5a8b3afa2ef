"""A conversation as a file: Markdown that keeps every citation and quoted span, or JSON of the Answers.

A conversation is a list of answers in the order asked (each `Answer` holds its question). The UI keeps them
in their JSON form (rag/serving/json_forms.py) in the browser, so both forms are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rag.answer import Answer
from rag.serving.json_forms import answer_json

Turn = Answer | dict[str, Any]


def _as_dict(turn: Turn) -> dict[str, Any]:
    return answer_json(turn) if isinstance(turn, Answer) else turn


def _one_line(text: str) -> str:
    """Whitespace runs (hard-wrapped source lines included) as single spaces."""
    return " ".join(str(text).split())


def _citation_markdown(citation: dict[str, Any]) -> list[str]:
    """`[n] [title](url) (date)`, then each claim's own quoted span with its offsets, as a blockquote."""
    title = _one_line(citation.get("title") or citation.get("doc_id", ""))
    url = citation.get("url") or ""
    head = f"[{title}]({url})" if url else title
    date = f" ({citation['date']})" if citation.get("date") else ""
    page = f", p. {citation['page']}" if citation.get("page") else ""
    lines = [f"- **[{citation['n']}]** {head}{date}{page}"]
    quotes = citation.get("quotes") or [citation]
    for quote in quotes:
        where = f"{citation.get('doc_id', '')}, characters {quote['quote_start']}–{quote['quote_end']}"
        lines.append(f"  > “{_one_line(quote['quote'])}” ({where})")
    return lines


def to_markdown(turns: Sequence[Turn], title: str = "Conversation", when: datetime | None = None) -> str:
    """The conversation as Markdown: each question, its answer with `[n]` markers, and every source it cites."""
    when = when or datetime.now(UTC)
    out = [f"# {title}", "", f"Exported {when.strftime('%Y-%m-%d %H:%M UTC')}.", ""]
    for number, turn in enumerate(turns, start=1):
        answer = _as_dict(turn)
        out += [f"## {number}. {_one_line(answer['question'])}", ""]
        asked = answer.get("search_query") or answer.get("standalone_question") or ""
        if asked and _one_line(asked) != _one_line(answer["question"]):
            out += [f"*Answered as:* {_one_line(asked)}", ""]
        out += [answer["text"].strip(), ""]
        if answer.get("note"):
            out += [f"*Note:* {answer['note']}", ""]
        if answer.get("citations"):
            out += ["**Sources**", ""]
            for citation in answer["citations"]:
                out += _citation_markdown(citation)
            out.append("")
        who = " / ".join(part for part in (answer.get("backend"), answer.get("model")) if part)
        if who:
            out += [f"*Answered by {who}.*", ""]
    return "\n".join(out).rstrip() + "\n"


def to_json(turns: Sequence[Turn]) -> str:
    """The conversation as a JSON list of answers, each in `answer_json` form (as `rag ask --json`)."""
    return json.dumps([_as_dict(turn) for turn in turns], ensure_ascii=False, indent=2) + "\n"
