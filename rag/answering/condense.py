"""Follow-up questions made standalone with the chat history, before retrieval.

Deterministic on purpose: it works the same for every backend (extractive has no LLM to ask)
and can't invent a topic. "And what about Vietnam?" after "What did Japan pledge to the
Philippines?" becomes "What did Japan pledge to Vietnam?"; a follow-up that asks something of its
own keeps it in front: "What defence arrangements has Japan made there? What did Japan pledge to
Vietnam?". The result drives every later step (retrieval, abstention, sentence choice, prompt).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from ingest.countries import country_mentions

FOLLOW_UP = re.compile(
    r"^\s*(and|also|what about|how about|what of|same for|and how|and what|why|how so|really)\b"
    r"|\b(it|its|they|them|their|that|this|those|these|there|he|she|his|her)\b"
    # "during the visit", "at the meeting": an event named only by what the conversation was about.
    r"|\bthe (visit|trip|meeting|summit|talks|deal|agreement|statement)\s*[?.!]?\s*$",
    re.I,
)
# A follow-up ending in "it"/"that"/"this" ("What did Biden say about it?"), and a name it may stand for.
PRONOUN = re.compile(r"(?<=\s)(it|that|this)(?=\s*[?.!]?\s*$)", re.I)
TOPIC = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of\s+)?[A-Z][a-z]+)+\b")
# Country names said with "the": "the United States", "the Philippines".
THE = re.compile(r"(United|Philippines|Netherlands|Maldives|Bahamas|Gambia|Czech|Holy|Marshall|Solomon|Pacific)", re.I)
# What a follow-up like "And with Vietnam?" or "What about India, then?" says besides its country.
FILLER = re.compile(
    r"\b(and|also|what|how|about|of|same|for|with|then|too|as well|so|the|in|case|regarding|re|now|please)\b|[^\w\s]",
    re.I,
)


def last_user_question(history: list[dict[str, str]] | None) -> str | None:
    """The latest user turn in a messages-format history, if any."""
    for turn in reversed(history or []):
        if turn.get("role") == "user" and str(turn.get("content", "")).strip():
            return str(turn["content"]).strip()
    return None


def condense_question(question: str, history: list[dict[str, str]] | None, actors: Collection[str]) -> str:
    """A standalone question for `question` given the conversation so far.

    `actors` are the corpus's main actors (its profile's): rarely the country a question is about.
    """
    previous = last_user_question(history)
    if not previous or not (FOLLOW_UP.search(question) or len(question.split()) <= 4):
        return question
    assert history is not None
    # The earlier question may itself have been a follow-up: read it with what came before it.
    earlier = history[: max(i for i, turn in enumerate(history) if turn.get("role") == "user")]
    previous = condense_question(previous, earlier, actors)
    # A new country the follow-up asks about ("And with Vietnam?"), not one it names in passing
    # ("on the Vietnamese side", "for Japan's navy"): the corpus's main actors are rarely the topic.
    new = [
        name
        for start, end, name in country_mentions(question)
        if name not in actors and not question[start:end].lower().endswith(("ese", "ian", "ish"))
    ]
    if not new:
        return _resolve_pronoun(question, previous) or f"{question} {previous}"
    old = country_mentions(previous)
    if not old:
        return f"{question} {previous}"
    # Swap the country the earlier question was about (not one of the corpus's main
    # actors, who are usually the ones doing the pledging) for the one asked about now.
    names = [name for _, _, name in old if name not in new]
    if not names:
        return f"{question} {previous}"
    topic = next((n for n in names if n not in actors), names[-1])
    replacement = " and ".join(dict.fromkeys(new))
    rewritten, pos = [], 0
    for start, end, name in old:
        if name == topic:
            before = previous[pos:start]
            if re.search(r"\bthe\s+$", before, re.I) and not THE.match(
                replacement
            ):  # "to the Philippines" -> "to Vietnam"
                before = re.sub(r"\bthe\s+$", "", before, flags=re.I)
            rewritten += [before, replacement]
            pos = end
    rewritten.append(previous[pos:])
    standalone = "".join(rewritten)
    rest = question
    for start, end, _ in reversed(country_mentions(question)):
        rest = rest[:start] + rest[end:]
    if not FILLER.sub(" ", rest).split():  # nothing asked but the new country: the earlier question, about it
        return standalone
    return f"{question} {standalone}"


def _resolve_pronoun(question: str, previous: str) -> str | None:
    """The follow-up with "it"/"that"/"this" replaced by the earlier question's named topic ("Ream Naval Base").

    Only a name of two or more capitalised words, none of them a country, counts as a topic: a lone
    word is too often the subject rather than what "it" refers to.
    """
    pronouns = list(PRONOUN.finditer(question))
    if len(pronouns) != 1:
        return None
    countries = {previous[s:e] for s, e, _ in country_mentions(previous)}
    names = [m.group(0) for m in TOPIC.finditer(previous, 1) if not any(c in m.group(0) for c in countries)]
    if not names:
        return None
    match = pronouns[0]
    return f"{question[: match.start()]}{max(names, key=len)}{question[match.end() :]}"
