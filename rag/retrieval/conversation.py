"""What a conversation is about, found by retrieval: the documents a follow-up turn should prefer.

A later turn often names nothing that links it to the conversation ("who's hosting the next one?",
"when was that?"). Gluing the earlier question on pulls that question's passages back, and merges a new
topic with the old one. Instead the turn is retrieved for its own words, and the documents the
conversation was about (those that the earlier question and the last answer retrieve; the answer's text
is close to the passages it came from) get a boost: a strong match of the turn's own words elsewhere
still wins, so a change of topic is not held back.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.storage.records import Hit

# A reply copied back from an API ends with its sources list: "...[1].\n\nSources:\n[1] Title".
SOURCES_LIST = re.compile(r"\n\s*\**sources?\**:?\**\s*\n.*\Z", re.I | re.S)


def without_sources(text: str) -> str:
    """An assistant reply without the "Sources:" list a client may have sent back with it."""
    return SOURCES_LIST.sub("", text).strip()


def conversation_text(history: list[dict[str, str]] | tuple[dict[str, str], ...]) -> str:
    """The latest user question and the assistant's reply after it (without a "Sources:" list), or ''."""
    said: list[str] = []
    for turn in reversed(history):
        content = str(turn.get("content", "")).strip()
        if not content:
            continue
        if turn.get("role") == "assistant" and not said:
            said.append(without_sources(content))
        elif turn.get("role") == "user":
            said.append(content)
            break
    return " ".join(reversed(said))


def conversation_documents(
    history: list[dict[str, str]] | tuple[dict[str, str], ...], rank: Callable[[str], list[Hit]]
) -> dict[str, float]:
    """doc_id -> weight (1, 1/2, 1/3 ... in the order `rank` first returns them) for the conversation so far."""
    text = conversation_text(history)
    if not text:
        return {}
    docs = dict.fromkeys(hit.doc_id for hit in rank(text))
    return {doc_id: 1.0 / place for place, doc_id in enumerate(docs, start=1)}
