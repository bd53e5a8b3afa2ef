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

from rag.retrieval.scope import document_lookup
from rag.storage.records import Hit

# A reply copied back from an API ends with its sources list: "...[1].\n\nSources:\n[1] Title".
SOURCES_LIST = re.compile(r"\n\s*\**sources?\**:?\**\s*\n.*\Z", re.I | re.S)
# One entry of that list: "[1] Diplomatic Overdrive", "[2] wh_2023-05-20_quad.md (2023-05-20)".
SOURCE_ENTRY = re.compile(r"^\s*[-*]?\s*\[\d+\]\s*(?P<name>.+?)\s*$", re.M)
# A cited document's preference, below what `conversation_documents` gives its top three (1, 1/2, 1/3): the list
# says which documents were shown, not which of them the next turn is about.
CITED_WEIGHT = 0.3


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


def cited_documents(
    history: list[dict[str, str]] | tuple[dict[str, str], ...], documents: dict[str, dict]
) -> dict[str, float]:
    """doc_id -> `CITED_WEIGHT` for each stored document the latest "Sources:" list in the history names; {} if
    none does.

    A client that sends the whole previous reply back tells which documents the conversation is about: a terse
    turn ("when was that?") finds its passages there first. Entries are read as a document's id, file name (with
    or without extension) or title (whole, or up to its colon), any case; a date or note after it is ignored.
    """
    for turn in reversed(history):
        listed = SOURCES_LIST.search(str(turn.get("content", ""))) if turn.get("role") == "assistant" else None
        if listed:
            break
    else:
        return {}
    lookup = document_lookup(documents, _key)
    cited = {}
    for entry in SOURCE_ENTRY.finditer(listed.group(0)):
        name = entry.group("name")
        for form in (name, re.sub(r"\s*[(\u2014-][^()]*\)?\s*$", "", name), name.split(":")[0]):
            if (doc_id := lookup.get(_key(form))) is not None:
                cited[doc_id] = CITED_WEIGHT
                break
    return cited


def _key(name: str) -> str:
    """A name as looked up: curly quotes made straight, outer quotes and markdown emphasis stripped, spaces
    collapsed, any case."""
    name = name.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))
    return " ".join(name.strip("*_\"' ").split()).casefold()
