"""Which one document a question names by its title's words, its date and its countries.

"the april 2024 us japan joint leaders statement", "the june 2023 NSA readout", "the ASEAN-US leaders'
statement": a reader names a document loosely, in any order, by some of its title's words (or their initials),
the month it is dated and the countries it is between (named by capital or demonym too). Each document's card
(title words, initials of title phrases, countries, date) is matched against the question, the rarer a
matched word across the cards the more it counts, and a document is named only when it clearly wins.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import itertools
import math
import re
from dataclasses import dataclass

from ingest.countries import canonical_country, find_countries
from rag.retrieval.scope import QUESTION_WORDS, asked_dates
from rag.storage import records

WORD = re.compile(r"[a-z0-9]+")
# A reader's word is the title's despite a typo or an inflection ("statment", "leaders'" / "leader").
CLOSE = 0.85
# How far ahead of the runner-up the best document must be: about one rare title word's weight.
MARGIN = 1.0
# A document named without its month must be named by more than half its main title's words and countries.
COVERAGE = 0.5


@dataclass(frozen=True)
class Card:
    """What names a document: its main title's words, the initials of its title's phrases, countries, date."""

    doc_id: str
    words: frozenset[str]
    all_words: frozenset[str]
    initials: frozenset[str]
    countries: frozenset[str]
    date: str


def title_words(text: str) -> list[str]:
    """The stemmed words a title card holds, of any text (a question too)."""
    # One letter is no word ("U.S." -> "u", "s"; "Japan's" -> "s").
    words = WORD.findall(text.casefold().replace("’", "'"))
    return [_stem(w) for w in words if len(w) > 1 and w not in QUESTION_WORDS]


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _month(word: str) -> bool:
    """True for a month's name or its abbreviation ("november", "nov", "sept"), not a word it begins
    ("declaration", "maritime")."""
    return len(word) >= 3 and any(m.casefold().startswith(word) for m in calendar.month_name[1:])


def _main_title(title: str) -> str:
    """The title before a subtitle ("Quad Leaders' Vision Statement – Enduring Partners ..." -> its first part)."""
    return re.split(r"\s[–—-]\s|:\s", title, maxsplit=1)[0] if len(title.split()) > 3 else title


def card(doc_id: str, meta: dict) -> Card:
    title = records.title(meta)
    countries = frozenset(find_countries(title))
    country_words = {w for c in countries for w in title_words(c)}
    # A title's date ("12 November 2022") is the card's date, matched as a date.
    words = [w for w in title_words(_main_title(title)) if not w.isdigit() and not _month(w)]
    # A subtitle's words name the document too ("... Elevating Relations to a Comprehensive Strategic
    # Partnership"), but a reader need not give them: they don't count in how much of the title is named.
    subtitle = [w for w in title_words(title) if not w.isdigit() and not _month(w)]
    # Initials of each run of 3-4 title words: "National Security Advisors" -> "nsa" (two letters are too often a
    # word of their own: "vs").
    every = WORD.findall(title.casefold())
    initials = {
        "".join(w[0] for w in every[i : i + n]) for n in (3, 4) for i in range(len(every) - n + 1)
    } - QUESTION_WORDS
    return Card(
        doc_id,
        frozenset(w for w in words if w not in country_words),
        frozenset(w for w in subtitle if w not in country_words),
        frozenset(initials),
        countries,
        records.date(meta),
    )


@functools.lru_cache(maxsize=8)
def _cards(documents: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]) -> tuple[Card, ...]:
    return tuple(card(doc_id, dict(meta)) for doc_id, meta in documents)


def cards(documents: dict[str, dict]) -> tuple[Card, ...]:
    """Every document's card, cached on the documents' metadata."""
    frozen = tuple(
        (doc_id, tuple(sorted((k, str(v)) for k, v in meta.items()))) for doc_id, meta in sorted(documents.items())
    )
    return _cards(frozen)


@functools.lru_cache(maxsize=8)
def _rarity(every: tuple[Card, ...]) -> dict[str, float]:
    """How rare each title word, initial and country is across the cards: the rarer, the more it names one."""
    df: dict[str, int] = {}
    for c in every:
        for term in c.all_words | c.initials | c.countries:
            df[term] = df.get(term, 0) + 1
    return {term: math.log((len(every) + 1) / (n + 0.5)) for term, n in df.items()}


def _names(hits: set[str], c: Card, dated: bool, asked_countries: set[str]) -> bool:
    """Whether title words `hits` (one at least of its main title) name document `c`: beside its month; or,
    undated, as two or more words naming no country the title lacks that are, with the countries, more than half
    its main title's words and countries, or that stand beside exactly its countries."""
    # A subtitle's words name it only beside a word of its main title ("the Quad ... Indo-Pacific" is a topic).
    if not hits & (c.words | c.initials):
        return False
    if dated:
        return True
    named = len(hits) + len(asked_countries & c.countries)
    whole = len(c.words) + len(c.countries) or 1
    exact = bool(asked_countries) and asked_countries == set(c.countries)
    # Undated, a country the title lacks makes the words a topic ("upgrade ties with ASEAN to a comprehensive
    # strategic partnership", said of Japan), not this document's name.
    return len(hits) >= 2 and asked_countries <= c.countries and (named / whole > COVERAGE or exact)


def named_document(question: str, documents: dict[str, dict]) -> str | None:
    """The one document the question names, when it clearly wins over every other (`named_documents`)."""
    found = named_documents(question, documents)
    return found[0] if len(found) == 1 else None


def named_documents(question: str, documents: dict[str, dict]) -> tuple[str, ...]:
    """The documents the question names, best first: one when it clearly wins, several when they tie, else ().

    A document is a candidate when the question names words of its title that are not countries (`_names`).
    A date the question gives rules out documents of other dates; a country the question names that a title
    lacks, or a title's country the question leaves out (when it names any), counts against that document.
    """
    dates = asked_dates(question)
    if len(dates) > 1:
        return ()
    every = cards(documents)
    if not every:
        return ()
    asked = set(title_words(question))
    asked_countries = set(find_countries(question))
    idf = _rarity(every)
    scored: list[tuple[float, str]] = []
    for c in every:
        if dates and not c.date.startswith(dates[0]):
            continue
        hits = {w for w in c.all_words if w in asked or difflib.get_close_matches(w, asked, 1, CLOSE)}
        # Initials that spell a country ("USA") name the country, not this document.
        hits |= {i for i in c.initials if i in asked and not canonical_country(i.upper())}
        if not _names(hits, c, bool(dates) and len(dates[0]) > 4, asked_countries):
            continue
        score = sum(idf.get(w, 0.0) for w in hits) + 2.0 * bool(dates and len(dates[0]) > 4)
        score += sum(idf[k] for k in asked_countries & c.countries)
        score -= sum(idf.get(k, 1.0) for k in asked_countries - c.countries)
        if asked_countries:
            score -= sum(idf[k] for k in c.countries - asked_countries)
        scored.append((score, c.doc_id))
    if not scored:
        return ()
    scored.sort(key=lambda s: -s[0])
    best = scored[0][0]
    return tuple(doc_id for score, doc_id in itertools.takewhile(lambda s: s[0] > best - MARGIN, scored))
