"""When to say the sources don't answer: the asked-detail check, and the text the name check reads.

A question can ask for a kind of detail: a date, an amount, a number, a person, a place or a name.
When no retrieved sentence on the question's topic carries that kind of detail, the sources don't
give it, however close the passages are ("When was the Japan-UK RAA signed?": the RAA sentence
has no date; the nearest dated sentence is about another agreement).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ingest.chunking import content_sentences, sentence_spans
from ingest.countries import country_mentions, find_countries
from rag.answer import ABSTAIN_TEXT
from rag.answering.extractive import MONTH, MONTH_LOOKBEHIND
from rag.answering.shapes import OVERVIEW
from rag.retrieval.scope import (
    MULTI_PART,
    QUESTION_WORDS,
    Scope,
    quoted_phrases,
    scope_rules,
    without_scope_words,
)
from rag.retrieval.wording import spells_out
from rag.storage.embeddings import EMBED_DIM
from rag.storage.records import Hit

if TYPE_CHECKING:
    from rag.retrieval.retrieve import Retriever
    from rag.settings import Settings
    from rag.storage.embeddings import Embedder

WORDS = re.compile(r"\w\w+")  # BM25's tokens
DATE = re.compile(rf"\b(1[89]|20)\d\d\b|\b({MONTH})\b")
MONEY = re.compile(r"[$¥€£]|\b(JPY|USD|yen|dollars?|billion|million|trillion|percent|per cent)\b|\d%", re.I)
# A count, not a year nor the day of a date ("July 12") nor a numbered item ("(1)").
COUNT = re.compile(
    rf"(?<!\()(?<!{MONTH_LOOKBEHIND})\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b(?!\))"
    r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?)\b",
    re.I,
)
CAPITALISED = re.compile(r"\b[A-Z][\w’'.-]*[A-Za-z0-9]\b|\b[A-Z]\b")  # a word that may be a name
# A name in quotes ("the 'diamond hexagon'") is a name the sentence gives.
QUOTED_TERM = re.compile(r"[“‘\"][^”’\"]{2,60}[”’\"]")
CODE = re.compile(r"\b[A-Z]{1,4}-?\d{1,4}[A-Z]?\b")  # F-35, J20, MQ-9B
SENTENCE_STARTERS = frozenset(
    [
        "The",
        "A",
        "An",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "In",
        "On",
        "At",
        "For",
        "By",
        "As",
        "We",
        "They",
        "He",
        "She",
    ]
)


def _given(question: str) -> set[str]:
    return {w.casefold() for w in re.findall(r"[\w’'.-]+", question)}


def _proper_nouns(sentence: str, question: str, countries: bool) -> list[str]:
    """Capitalised words not in the question (nor sentence starters), with or without country names."""
    given = _given(question)
    spans = [] if countries else [(s, e) for s, e, _ in country_mentions(sentence)]
    found = []
    for match in CAPITALISED.finditer(sentence):
        word = match.group(0)
        if word in SENTENCE_STARTERS or word.casefold() in given or word.casefold().rstrip(".") in given:
            continue
        if any(s <= match.start() < e for s, e in spans):
            continue
        found.append(word)
    return found


def _has_date(sentence: str, question: str) -> bool:
    return any(m.group(0).casefold() not in _given(question) for m in DATE.finditer(sentence))


# An amount asked in a currency is given only in that currency: "worth in US dollars" is not "JPY 600 billion".
CURRENCIES = (
    (re.compile(r"\b(dollars?|usd|us\$)\b|\$", re.I), re.compile(r"\$|\b(dollars?|USD)\b")),
    (re.compile(r"\b(yen|jpy)\b|¥", re.I), re.compile(r"¥|\b(yen|JPY)\b")),
    (re.compile(r"\b(euros?|eur)\b|€", re.I), re.compile(r"€|\b(euros?|EUR)\b")),
    (re.compile(r"\b(pounds?|sterling|gbp)\b|£", re.I), re.compile(r"£|\b(pounds?|GBP)\b")),
)


CONVERTED = re.compile(r"\b(in|into|as) (us |u\.s\. )?(dollars|usd|yen|jpy|euros?|pounds?)\b", re.I)


def _has_amount(sentence: str, question: str) -> bool:
    if not (MONEY.search(sentence) and any(c.isdigit() for c in sentence)):
        return False
    wanted = CONVERTED.search(question)  # "the yen pledge in US dollars" asks for dollars
    asked = [given for asks, given in CURRENCIES if asks.search(wanted.group(0) if wanted else question)]
    return not asked or any(given.search(sentence) for given in asked)


def _has_number(sentence: str, question: str) -> bool:
    return any(m.group(0).casefold() not in _given(question) for m in COUNT.finditer(sentence))


def _has_person(sentence: str, question: str) -> bool:
    # "Who" is answered by people and by the countries and bodies that act: any proper noun not asked about.
    return bool(_proper_nouns(sentence, question, countries=True))


def _has_place(sentence: str, question: str) -> bool:
    asked = set(find_countries(question))
    return bool(set(find_countries(sentence)) - asked) or bool(_proper_nouns(sentence, question, countries=False))


def _has_name(sentence: str, question: str) -> bool:
    """A quoted term, a code like F-35, or two capitalised words in a row (not countries) that the question lacks."""
    if QUOTED_TERM.search(sentence) or any(
        m.group(0).casefold() not in _given(question) for m in CODE.finditer(sentence)
    ):
        return True
    nouns = _proper_nouns(sentence, question, countries=False)
    return any(f"{a} {b}" in sentence for a, b in itertools.pairwise(nouns))


@dataclass(frozen=True)
class Detail:
    """A kind of detail a question can ask for: how to spot the asking, and a sentence that gives it."""

    name: str  # as in "The sources don't give the date."
    asks: re.Pattern[str]
    carries: Callable[[str, str], bool]  # (sentence, question) -> whether the sentence states one
    words: frozenset[str]  # the question words that ask for it; they aren't part of the topic


DETAILS = (
    Detail(
        "the date",
        # "When did...", not "How did Manila respond when it felt...".
        re.compile(
            r"^\W*(and |so |but )?when\b|\bwhen (did|was|were|is|are|will|does|do|has|have|had)\b|\bby when\b"
            r"|\b(what|which)(\s+\w+)?\s+(year|date|day|month)\b|\bin (what|which) year\b",
            re.I,
        ),
        _has_date,
        frozenset({"when", "year", "date", "day", "month"}),
    ),
    Detail(
        "the amount",
        re.compile(
            r"\bhow much\b|\bhow (big|large)\b|\b(total|what) (value|amount|cost|sum)\b|\bcost\b"
            r"|\b(what|how much)\b[^?]*\b(worth|budget)\b(?!\s+(it|noting|the))"
            r"|\bin (us |u\.s\. )?(dollars|yen|euros|pounds)\b|\bhow many (us |u\.s\. )?(dollars|yen|euros|pounds)\b",
            re.I,
        ),
        _has_amount,
        frozenset({"much", "big", "large", "value", "amount", "cost", "sum", "total", "worth", "budget"}),
    ),
    Detail("the number", re.compile(r"\bhow many\b|\bwhat number\b", re.I), _has_number, frozenset({"many", "number"})),
    Detail(
        "the name",
        re.compile(r"\b(what|which) (is|was|are|were) the names? of\b|\b(called|named)\b", re.I),
        _has_name,
        frozenset({"name", "names", "called", "named"}),
    ),
    Detail(
        "the place",
        re.compile(
            r"^\s*where\b|\bwhere (is|was|are|were|did|do|does|will)\b|\bin which (city|place|port|province)\b", re.I
        ),
        _has_place,
        frozenset({"where", "place", "city", "port", "province", "located"}),
    ),
    Detail(
        "the person",
        # "Who is Natasha Agarwal?" asks about a named person, not for one.
        re.compile(r"^\s*who\b(?!\s+(is|was|are|were)\s+[A-Z])|\bby whom\b|\bwhich (leader|official|person)\b", re.I),
        _has_person,
        frozenset({"who", "whom", "leader", "official", "person", "wrote", "written", "author", "writer"}),
    ),
)


def asked_details(question: str) -> list[Detail]:
    """The kinds of detail the question asks for (none for most "what"/"how" questions, nor for two-part ones).

    In "Who belongs to the Quad, and what does the article say about India?" the person is asked of
    one part only, and the passages about the other part can't be expected to give one.
    """
    if MULTI_PART.search(question.strip()):
        return []
    return [d for d in DETAILS if d.asks.search(question)]


def searchable_text(hit: Hit) -> str:
    """What the name check reads of a passage: its text, and its document's title, byline, publisher and date."""
    fields = [
        hit.title,
        hit.section,
        hit.date,
        hit.author,
        hit.publisher,
    ]
    return "\n".join([*(f for f in fields if f), hit.text])


def passage_sentences(hits: list[Hit], embedding: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Every sentence of the passages (bylines and headings too), and each one's cosine with the question.

    Similarities come from the sentence vectors stored with each chunk; sentences too short to have one
    (a byline) get 0 and can only be on the topic by their words.
    """
    sentences: list[str] = []
    sims: list[float] = []
    for hit in {h.doc_id: h for h in reversed(hits)}.values():
        if author := hit.author:  # the byline of the front matter: "Who wrote ...?"
            sentences.append(f"{hit.title}, by {author}")
            sims.append(0.0)
    for hit in hits:
        scored = dict(zip(content_sentences(hit.text), _sentence_vectors(hit) @ embedding, strict=False))
        for span in sentence_spans(hit.text, 0, len(hit.text)):
            sentences.append(hit.text[span[0] : span[1]])
            sims.append(float(scored.get(span, 0.0)))
    return sentences, np.array(sims)


def _sentence_vectors(hit: Hit) -> np.ndarray:
    vectors = hit.sentence_vectors
    return vectors if vectors is not None else np.zeros((0, EMBED_DIM), dtype=np.float32)


def topic_coverage(
    sentences: list[str], question: str, idf: dict[str, float], stem: Callable[[list[str]], list[str]]
) -> tuple[np.ndarray, int]:
    """Share of the question's topic each sentence contains, and how many terms make up the topic.

    The topic is the question's terms, weighted by IDF, less the words that ask for a detail. A capital
    or a leader also counts as covered by its country: "Jakarta" by a sentence naming Indonesia.
    """
    asking = set(stem(sorted(QUESTION_WORDS | {w for d in DETAILS for w in d.words})))
    options = {t: [{t}] for t in idf if t not in asking}
    for start, end, canonical in country_mentions(question):
        country = set(stem(WORDS.findall(canonical.lower())))
        for term in stem(WORDS.findall(question[start:end].lower())):
            if term in options and {term} != country:
                options[term].append(country)
    total = sum(idf[t] for t in options)
    if not total:
        return np.zeros(len(sentences)), 0
    out = np.zeros(len(sentences))
    for i, sentence in enumerate(sentences):
        terms = set(stem(WORDS.findall(sentence.lower())))
        out[i] = sum(idf[t] for t, alternatives in options.items() if any(a <= terms for a in alternatives)) / total
    return out, len(options)


def names_everything_asked(sentences: list[str], question: str, actors: frozenset[str]) -> np.ndarray:
    """Which sentences name every country (other than the corpus's main actors) and every name the question does.

    A paraphrase ("commit" for "pledged") shares few words with its answer but names the same parties; a
    sentence about another country gives another country's date or amount.
    """
    countries = set(find_countries(question)) - actors
    names = [w.casefold() for w in _proper_nouns(question, "", countries=False) if w not in SENTENCE_STARTERS]
    names = [n for n in names if n not in QUESTION_WORDS and n not in {c.casefold() for c in countries}]
    out = np.zeros(len(sentences), dtype=bool)
    for i, sentence in enumerate(sentences):
        folded = sentence.casefold()
        out[i] = countries <= set(find_countries(sentence)) and all(n in folded for n in names)
    return out


def on_topic(
    sentences: list[str],
    similarity: np.ndarray,
    coverage: np.ndarray,
    question: str,
    actors: frozenset[str],
    *,
    min_coverage: float,
    min_similarity: float,
    margin: float,
) -> np.ndarray:
    """Which sentences are on the question's topic, and so could give the detail it asks for.

    By words (most of the topic's terms) or by meaning (similar enough); with a `margin`, also any sentence
    nearly as similar as the best one that names all the question names: the sources could give it there.
    """
    chosen = (coverage >= min_coverage) | (similarity >= min_similarity)
    if margin > 0 and len(similarity):
        near = similarity >= float(similarity.max()) - margin
        chosen |= near & names_everything_asked(sentences, question, actors)
    return chosen


def missing_detail(question: str, sentences: list[str], on_topic: np.ndarray) -> Detail | None:
    """The first detail the question asks for that no on-topic sentence carries, or None."""
    chosen = [s for s, keep in zip(sentences, on_topic, strict=True) if keep]
    for detail in asked_details(question):
        if not any(detail.carries(s, question) for s in chosen):
            return detail
    return None


# Capitalised words that are never a name the sources must contain: question words, and months.
NOT_NAMES = QUESTION_WORDS | {month.lower() for month in MONTH.split("|")}
NAME = re.compile(r"(?<![.?!]\s)(?<!^)\b[A-Z][A-Za-z]*[A-Z]?[a-z]*\b")


def proper_names(text: str) -> list[str]:
    """Capitalised words past the start of a sentence that aren't country forms ("FIFA", "Malaysia")."""
    countries = {m.lower() for m in re.findall(r"\w+", " ".join(find_countries(text)))}
    mentions = {text[s:e].lower() for s, e, _ in country_mentions(text)}
    names = []
    for match in NAME.finditer(text):
        word = match.group(0)
        if (
            len(word) >= 3
            and word.lower() not in NOT_NAMES
            and word.lower() not in countries
            and not any(word.lower() in m for m in mentions)
        ):
            names.append(word)
    return names


def abstention(
    query: str,
    hits: list[Hit],
    scope: Scope | None,
    settings: Settings,
    embedder: Embedder,
    retriever: Retriever,
    continues: bool = False,
) -> str | None:
    """What to say instead of answering, or None when the passages may answer.

    `continues`: the turn continues a conversation whose documents gave its best passage; the conversation,
    not the turn's few words ("when was that?"), makes the passages close enough. The other checks still hold.

    Abstain when no passage is close enough (no sentence similar enough, none holding a quoted phrase
    of the question, none holding the whole topic), when a country or name the question asks about appears in none
    (titles and bylines included), or when the question asks for a detail (a date, an amount...) that
    no sentence on its topic gives.
    """
    if not hits:
        return ABSTAIN_TEXT
    sentences, similarity = passage_sentences(hits, embedder.encode_cached([query])[0])
    topic = without_scope_words(query, scope_rules(settings.profile))
    coverage, topic_terms = topic_coverage(sentences, topic, retriever.idf(topic), retriever.stem)
    relevance = [h.sentence_score if h.sentence_score is not None else h.vector_score for h in hits]
    close = continues or max(r or 0.0 for r in relevance) >= settings.abstain_below
    # One sentence holding every term of the topic; a one-word topic only within a source the user named.
    whole_topic = topic_terms >= (1 if scope else 2) and float(coverage.max(initial=0.0)) >= 1.0
    quoted = set(quoted_phrases(query))
    # "Summarize the article", "the article's main argument": the source named is the topic.
    whole_source = scope is not None and (topic_terms == 0 or bool(OVERVIEW.search(query)))
    if not (close or whole_topic or whole_source or any(h.exact in quoted for h in hits if h.exact)):
        return ABSTAIN_TEXT
    mentioned = {c for h in hits for c in h.countries}
    if any(c not in mentioned for c in find_countries(query)):
        return ABSTAIN_TEXT
    passages = " ".join(searchable_text(h) for h in hits)
    folded = passages.lower()
    if any(name.lower() not in folded and not spells_out(name, passages) for name in proper_names(query)):
        return ABSTAIN_TEXT
    if settings.detail_check:
        topical = on_topic(
            sentences,
            similarity,
            coverage,
            query,
            settings.profile.actors,
            min_coverage=settings.topic_coverage,
            min_similarity=settings.topic_similarity,
            margin=settings.topic_margin,
        )
        if (detail := missing_detail(query, sentences, topical)) is not None:
            return f"The sources don't give {detail.name}."
    return None
