"""Follow-up questions made standalone with the chat history, before retrieval.

Deterministic on purpose: it works the same for every backend (extractive has no LLM to ask)
and can't invent a topic. "And what about Vietnam?" after "What did Japan pledge to the
Philippines?" becomes "And what about Vietnam? What did Japan pledge to Vietnam?".
"""

from __future__ import annotations

import re

from ingest.countries import country_mentions

ACTORS = frozenset({"Japan", "China", "United States"})
FOLLOW_UP = re.compile(
    r"^\s*(and|also|what about|how about|what of|same for|and how|and what|why|how so|really)\b"
    r"|\b(it|its|they|them|their|that|this|those|these|there|he|she|his|her)\b",
    re.I,
)


def last_user_question(history: list[dict[str, str]] | None) -> str | None:
    """The latest user turn in a messages-format history, if any."""
    for turn in reversed(history or []):
        if turn.get("role") == "user" and str(turn.get("content", "")).strip():
            return str(turn["content"]).strip()
    return None


def condense_question(question: str, history: list[dict[str, str]] | None) -> str:
    """A standalone search query for `question` given the conversation so far."""
    previous = last_user_question(history)
    if not previous or not (FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return question
    new = [name for _, _, name in country_mentions(question)]
    if not new:
        return f"{question} {previous}"
    old = country_mentions(previous)
    if not old:
        return f"{question} {previous}"
    # Swap the country the earlier question was about (not one of the corpus's main
    # actors, who are usually the ones doing the pledging) for the one asked about now.
    names = [name for _, _, name in old if name not in new]
    if not names:
        return f"{question} {previous}"
    topic = next((n for n in names if n not in ACTORS), names[-1])
    replacement = " and ".join(dict.fromkeys(new))
    rewritten, pos = [], 0
    for start, end, name in old:
        if name == topic:
            rewritten += [previous[pos:start], replacement]
            pos = end
    rewritten.append(previous[pos:])
    return f"{question} {''.join(rewritten)}"
