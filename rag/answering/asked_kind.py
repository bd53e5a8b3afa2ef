"""The kind of thing a "which X" / "what X" question asks for, and whether a sentence names one.

"Which hotel in Phnom Penh did they meet at?" asks for a hotel: a sentence naming "Sokha Hotel" answers it, one
only saying they met in Phnom Penh does not. The head noun of the words after the wh-word is the kind; a sentence
names one when a capitalised name the question lacks runs into that noun ("Mekong One Health Innovation Program"
for "which programme"). Stems and British/American spellings match ("programmes" and "Program").
"""

import functools
import re
from typing import Any

from rag.retrieval.wording import fold_spelling

# Where the words naming the kind end: a verb of asking or a preposition ("which hotel | in Phnom Penh did ...").
_VERBS = {"is", "are", "was", "were", "did", "does", "do", "has", "have", "had", "will", "would", "can", "could"}
_PREPOSITIONS = {"in", "of", "at", "for", "from", "with", "on", "to", "near", "by", "about", "under", "over"}
_ENDS = frozenset(_VERBS | _PREPOSITIONS | {"between", "during", "after", "before", "into", "within", "that", "who"})
ASKED = re.compile(r"^\W*(?:and\s+)?(?:(?:at|in|on|from|to|for|by|with)\s+)?(?:which|what)\s+(?P<rest>.*)", re.I)
NAME = re.compile(r"\b[A-Z][\w’'-]*(?:\s+(?:of\s+|the\s+|and\s+)?[A-Z][\w’'-]*)+")  # "Net Zero World Initiative"


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.cache
def stem(word: str) -> str:
    """The Snowball stem of a word, British and American spellings folded first."""
    return _stemmer().stemWord(fold_spelling(word.lower()))


def _same(a: str, b: str) -> bool:
    """One stem, or one a letter longer ("programm" from "programmes", "program" from "Program")."""
    short, long = sorted((a, b), key=len)
    return a == b or (long.startswith(short) and len(long) - len(short) <= 1 and len(short) >= 4)


def asked_kind(question: str) -> str | None:
    """The stem of the noun naming what the question asks for ("hotel" for "Which hotel in ... did ..."), or None."""
    match = ASKED.match(question)
    if not match:
        return None
    words = re.findall(r"[\w-]+", match.group("rest"))
    end = next((i for i, w in enumerate(words) if w.lower() in _ENDS), None)
    return stem(words[end - 1]) if end is not None and 1 <= end <= 3 else None  # "what is...": no kind


def kind_fit(question: str, sentence: str) -> float | None:
    """1 when the sentence names a thing of the kind asked for that the question doesn't name, 0 when it names
    none; None when the question asks for no kind."""
    kind = asked_kind(question)
    if kind is None:
        return None
    given = question.casefold()
    for match in NAME.finditer(sentence):
        words = match.group(0).split()
        for i, word in enumerate(words[1:], 1):  # a run may go on past the noun: "Sokha Hotel Phnom Penh"
            if _same(stem(word), kind) and any(w[:1].isupper() and w.casefold() not in given for w in words[:i]):
                return 1.0
    return 0.0
