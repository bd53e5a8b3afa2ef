"""The `extractive` backend: no LLM; the answer is the source sentences that answer the question, shaped to it.

Every shown sentence is an exact substring of its source (a leading connective may be cut, its offsets
moved with it), so each claim's quote is the claim itself.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ingest.chunking import content_sentences, sentence_spans
from ingest.countries import country_mentions, find_countries
from rag.answering import overview_points
from rag.answering.asked_kind import kind_fit
from rag.answering.citations import Claim
from rag.answering.details import (
    CODE,
    EMPHASIS,
    MONTH,
    Dating,
    Detail,
    as_dated,
    asked_anywhere,
    header_lines,
    proper_nouns,
    relative_date,
)
from rag.answering.prompts import INJECTION
from rag.answering.shapes import COMPARISON
from rag.profile import Profile
from rag.retrieval.scope import FUNCTION_WORDS
from rag.retrieval.wording import fold_spelling
from rag.storage.embeddings import Embedder
from rag.storage.records import Hit

WORD = re.compile(r"[a-z0-9]{3,}")
# Words that carry no topic in a sentence or a question: function words, and the words for the sources themselves.
STOPWORDS = FUNCTION_WORDS | {"it's", "over", "under", "article", "source", "sources"}
# What a question's verb is answered with: "What did Japan sign?" is answered by an "agreement".
_SIGNED = {"sign", "agreement", "agre", "arrang", "accord", "pact", "deal", "memorandum"}
SAME_AS = {stem: _SIGNED for stem in _SIGNED}
# Words that say how a question asks, not what: "Tell me about Japan's relations with India".
GENERIC = frozenset(
    {
        *("tell", "describ", "overview", "summari", "summar", "relat", "relationship", "tie", "give", "happen"),
        *("state", "countri", "nation", "compar", "differ", "contrast", "similar", "name", "list", "explain"),
        *("reason", "approach", "way", "engag", "support", "do", "say", "articl", "statement", "sourc"),
    }
)
MIN_WORDS = 6  # captions and headings are not answers
# A sentence stating what was asked (a date for "when", a name for "who") or holding the question's rare terms
# outranks one that only sounds like the question.
ASKED_BONUS = 0.15
DISTINCT_BONUS = 0.2
ACRONYM = re.compile(r"\b[A-Z][A-Z0-9&-]*[A-Z0-9]\b")
QUOTED_PHRASE = re.compile(r"(?<!\w)[\"“‘'](?P<phrase>[^\"“”‘’']{3,60})[\"”’'](?!\w)")
CAPITALISED_NAME = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of\s+|the\s+)?[A-Z][a-z]+)+\b")
# What a fact question's wh-word asks for, and how strongly a sentence holds one (1: surely, 0.5: maybe).
ASKS_PERSON = re.compile(  # "Who is Natasha Agarwal?" asks about a named person, "who was Japan's adviser" for one
    r"^\W*(and\s+)?who\b(?!(['’]s|\s+is|\s+was|\s+are|\s+were)\s+[A-Z][\w.-]*\b(?!['’]))"
    r"|\bby whom\b|\bwhich (leader|official|person)\b",
    re.I,
)
# "Which General Atomics drones are...", "what programme did...": a noun after the wh-word, then the verb.
AUX = r"(is|are|was|were|did|does|do|has|have|had|will|would|can|could|should)"
ASKS_NAME = re.compile(rf"^\W*(and\s+)?(which|what)\s+(?!{AUX}\b)(\w[\w-]*\s+){{1,3}}?{AUX}\b", re.I)
ASKS_SPEECH = re.compile(
    r"\bwhat (did|does|do|has|have|had)\b.*\b(say|said|state|declare|remark|tell|told|announce|call)\b"
    r"|\b(in|with) (his|her|their) (own )?words\b|\bquote[ds]?\b",
    re.I,
)
# An office or honorific before a capitalised name: "President Biden", "National Security Advisor Akiba Takeo".
TITLED_NAME = re.compile(
    r"\b(?:President|Prime Minister|Minister|Secretary|Secretary-General|Advis[oe]r|Ambassador|Chancellor|Premier"
    r"|King|Queen|Prince|Princess|Governor|Senator|Chairman|Chairwoman|Director|Commissioner|Mr\.?|Ms\.?|Mrs\.?|Dr\.?)"
    r"\s+(?P<name>[A-Z][a-z’'-]+(?:\s+[A-Z][a-z’'-]+){0,2})"
)
QUOTATION = re.compile(r"[“\"][^”\"]*?\b\w+\s+\w+\s+\w+[^”\"]*[”\"]")  # quoted words: three or more
SPEECH_VERB = re.compile(r"\b(said|says|stated|states|told|declared|remarked|stressed|noted|added|asked|publicly)\b")
FULL_DATE = re.compile(rf"\b(\d{{1,2}}\s+({MONTH})|({MONTH})\s+\d{{1,2}}\b|({MONTH})\s+(1[89]|20)\d\d)\b")
YEAR = re.compile(r"\b(1[89]|20)\d\d\b")
ASKS_WHEN = re.compile(r"\bwhen\b|\b(what|which)\s+(year|date|day|month)\b", re.I)
ASKS_WHERE = re.compile(r"\bwhere\b|\bin which (city|place|port|province)\b", re.I)
ANSWER_TYPE_BONUS = 0.15
KIND_BONUS = 0.15  # a sentence naming a thing of the kind asked for ("Sokha Hotel" for "which hotel")
QUOTED_QUESTION = re.compile(r"[“\"][^”\"]+\?[”\"]\W*$")
ASKS_AUTHOR = re.compile(
    r"\bwho (wrote|authored)\b|\bwho (is|was) the (author|writer)\b|\b(author|writer) of\b|\bwritten by\b", re.I
)


# A connective that only links to the sentence before; cut from the shown sentence (offsets move with it).
# The one-word ones may stand without a comma ("Yet Japan..."); the rest need one, so "In addition to X" stays.
CONNECTIVE = re.compile(  # used with .match(text, pos), which anchors at pos ("^" would not)
    r"(?:(?:and|but|yet|moreover|furthermore|however|additionally|also|besides|thus|hence)\b,?"
    r"|(?:in fact|in addition|further|therefore|meanwhile|still|nonetheless|nevertheless|indeed|similarly|likewise"
    r"|consequently|notably|accordingly|overall|in short|that said|at the same time|on the other hand|as such|so"
    r"|then|importantly|finally|lastly|interestingly|crucially|instead|otherwise|in turn|by contrast|in contrast"
    r"|for example|for instance),)"
    r"\s+(?=\S)",
    re.I,
)
# A list marker and a tagged label ("- <span ...>Net Zero World Initiative: </span>") before a sentence.
LEADING_MARKUP = re.compile(r"(?:[-*+]\s+)?(?:<(\w+)[^>]*>[^<]{0,100}</\1>\s*)?")
LEADING_EMPHASIS = re.compile(r"[*_]{1,3}(?:[^*_\n]{0,60}[*_]{1,3}\s*)?")
# What may sit between an emphasised head and its sentence: spaces, punctuation, more markup ("**Sixth**, **we").
EMPHASIS_GAP = re.compile(r"[\s,;:.*_\u2013\u2014-]*")
THAT = re.compile(r"that\s+(?=\S)")
HEAD_WORD = re.compile(r"[^\W\d_]")  # the head's first letter, past its numbering ("**9 WE,**")
PARAGRAPH_BREAK = re.compile(r"\n\s*\n")  # a blank line, maybe of non-breaking spaces
LIST_ITEM = re.compile(r"(?<=[.;:])\s*\n[ \t]*[-*+][ \t]+")
# A subject that only points back ("This", "both the countries"): the reader needs what it refers to.
POINTER = re.compile(
    r"^(?:this|these|that|those|it(?!\s+(?:is|was|comes|remains|appears|seems|would be|will be|may be)\b)|its|they"
    r"|their|such|he|she|his|her|both|here|the latter|the former|the two)\b"
    r"|\b(?:both (?:the )?(?:countries|sides|nations|leaders|parties|governments)"
    r"|the two (?:countries|sides|nations|leaders|governments|parties)|the latter|the former)\b",
    re.I,
)
# Short sentences that only announce what comes next ("Let's take the example of Thailand.") state nothing.
SIGNPOST = re.compile(r"^(let[’']s (take|look)|take\b.*\bfor (instance|example)\b|a similar (trajectory|path)\b)", re.I)
SIGNPOST_WORDS = 12
# Words that give a reason, for "why" questions.
REASON_CUE = re.compile(
    r"\b(because|due to|owing to|as a result|in order to|so as to|aims? (to|at)|aimed at|reasons?|driven by|motivat\w*"
    r"|to counter|in response to|so that|to ensure|to deter|given that|in light of|on account of|stems? from"
    r"|rooted in|thereby|hence)\b",
    re.I,
)
COUNTRY_LIST = re.compile(
    r"\b(which|what)\s+(\w+\s+){0,2}?(countries|nations|partners|states)\b|\bname the countries\b", re.I
)
MARGIN = {"fact": 0.25, "yesno": 0.25, "reason": 0.2, "list": 0.35, "overview": 0.3, "comparison": 0.3}
HEDGE_REACH = 0.1  # how far below the best sentence one from another passage is still shown as a second reading
FIGURE_REACH = 0.5  # how far below the best sentence its neighbour stating another value of the figure may be
REASON_REACH = 0.7  # how far below the best sentence a sentence giving a reason is still shown first
NEAR_REASON = 0.05  # how far below the best sentence the next one is as likely to give the reason (swept)
TOPIC_BONUS = 0.1
PASSAGE_MARGIN = 0.1  # a bullet's passage must match the question nearly as well as the best passage
# "what does X say about Y": Y names a topic the document may say several things about, not one fact.
SAYS_ABOUT = re.compile(
    r"\b(?:say|says|said|announce[ds]?|agree[ds]?|do|does|did)\s+(?:about|on)\s+(?P<topic>[^?]{2,60})", re.I
)
ABOUT_REACH = 0.05  # how much less close to Y alone than the best sentence another point about Y may be
TURN_WEIGHT = 0.5  # a glued follow-up's sentences: the weight of the turn's own words against the glued text
SAME_POINT = 0.5  # cosine above which the next sentence goes on about the same point as the one before
NEAR_DUPLICATE = 0.92  # cosine above which two sentences say the same thing (repeated across statements)
SHARED_TOPIC = 0.2  # a comparison side's sentence holding all that both sides speak of, over one naming a side only
# A comparison side's sentence, per unit of cosine to what is compared (the question less the sides' names):
# "net zero years - Thailand vs Vietnam" is mostly its two names, which every sentence of a side shares.
SIDE_TOPIC = 0.5
BOTH_SIDES = 0.15  # a comparison side prefers sentences about it alone over ones naming the other side too
# An overview whose top passages all come from one document is an overview of that document.
FOCUS_RUN = 3
# Choosing a document's main points: relevance to the question, less what an already chosen point says
# (maximal marginal relevance over the sentence vectors), a little more for a sentence naming something
# (a programme, a figure, an acronym), a little less for a second sentence from the same passage.
REDUNDANCY = 0.5
HEADLINE_BONUS = 0.05
SAME_PASSAGE = 0.05
CENTRAL_WEIGHT = 0.3  # a document's overview: a sentence close to the rest of the document is one of its points
ANNOUNCES_WEIGHT = 0.05  # per thing announced (a multiword name, a figure): a point rather than its framing
FIGURE = re.compile(r"[$¥€£%]|\b\d[\d,.]*\b")  # any figure, years too: a dated point is a specific one


@dataclass
class Extract:
    """An extractive answer: its text and the claims it is made of (each with its own span)."""

    text: str
    claims: list[Claim] = field(default_factory=list)
    # The figure asked for that no sentence states ("the date"): the text then says so and shows the closest
    # sentences, and the answer counts as an abstention.
    missing: str = ""


@dataclass(eq=False)  # compared by identity: two candidates are never "equal" sentences
class _Candidate:
    n: int
    hit: Hit
    index: int  # which sentence of the chunk
    spans: list[tuple[int, int]]  # every sentence span of the chunk (chunk offsets)
    sentence: str
    score: float = 0.0
    vector: np.ndarray | None = None

    @property
    def kind(self) -> str:
        publisher = self.hit.publisher
        return "statements" if "white house" in publisher.lower() else "article"


@dataclass(frozen=True)
class Limits:
    """How long each shape may grow (from Settings)."""

    sentences: int = 3
    list_items: int = 8
    overview_items: int = 6
    comparison_items: int = 3
    # How many sentences back a pointing subject may be explained: past 1, an antecedent that points back
    # itself ("It has also signed a RAA with Australia.") is shown after the one naming its subject.
    antecedents: int = 1


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    """Stemmed content words ("signed" and "sign" match), with what a question's verb stands for in an answer."""
    stems = set(_stemmer().stemWords([w for w in WORD.findall(text.lower()) if w not in STOPWORDS]))
    for stem in list(stems):
        stems |= SAME_AS.get(stem, set())
    return frozenset(stems)


def _candidates(
    question: str,
    numbered: list[tuple[int, Hit]],
    actors: frozenset[str],
    quoted: bool = False,
    dating: Dating | None = None,
    kind: bool = False,
    headers: bool = False,
) -> tuple[list[_Candidate], Detail | None]:
    """Sentences of the passages that can answer `question` (long enough, safe, stating any figure asked for),
    and the figure asked for that none states.

    The article's own rhetorical questions are left out; with `quoted`, a question in quotation marks is kept:
    it is someone's words ("he publicly stated: “If I do not rely on China, who should I rely on?”").

    A question about a country other than the corpus's main `actors` needs passages about that one. When no
    sentence states every figure asked for, those stating one of them stand ("when and how much": the date's
    sentence and the amount's); when a figure is stated by no sentence at all, every sentence stands, with that
    figure: the answer then says the sources don't give it and shows the closest sentences.
    With `dating` a sentence's date is read as `as_dated` reads it (a "today" in a dated document states one).
    With `kind`, a line too short to be an answer stands when it names the kind asked for: a dateline's venue
    ("Sokha Hotel / Phnom Penh, Cambodia") answers "which hotel".
    With `headers`, a date, place or person question may be answered by a document's dateline or header line
    ("Hiroshima, 20 May 2023", "Hosted by ..."): see `header_lines`.
    """
    needs = [d for d in asked_anywhere(question) if d.figure]
    found = _sentences(question, numbered, actors, needs, quoted, dating, kind, headers)
    if found or not needs:
        return found, None
    every = _sentences(question, numbered, actors, [], quoted, dating, kind, headers)
    stating = {d.name: [c for c in every if d.carries(_read(c.sentence, c.hit, dating), question)] for d in needs}
    missing = next((d for d in needs if not stating[d.name]), None)
    if missing is not None:
        return every, missing
    return [c for c in every if any(c in stated for stated in stating.values())], None


def _sentences(
    question: str,
    numbered: list[tuple[int, Hit]],
    actors: frozenset[str],
    needs: list[Detail],
    quoted: bool,
    dating: Dating | None = None,
    kind: bool = False,
    headers: bool = False,
) -> list[_Candidate]:
    found: list[_Candidate] = []
    seen: set[tuple[str, int]] = set()
    topics = set(find_countries(question)) - actors
    asked_terms = _spelled_terms(question)
    for n, hit in numbered:
        if topics and not topics & set(hit.countries):
            continue
        spans = _split_items(hit.text, list(sentence_spans(hit.text, 0, len(hit.text))))
        heads = set(header_lines(hit.text)) if headers and hit.chunk.index == 0 else set()
        for index, (start, end) in enumerate(spans):
            sentence = hit.text[start:end]
            key = (hit.doc_id, hit.start + start)  # overlapping chunks repeat sentences
            if (
                (
                    len(sentence.split()) >= MIN_WORDS
                    or (kind and kind_fit(question, sentence))
                    or (_plain(sentence) in heads and _states_asked(sentence, question))
                )
                and key not in seen
                and not _cut_at_edge(hit.text, start, end)
                and not INJECTION.search(sentence)
                and not (SIGNPOST.search(sentence) and len(sentence.split()) <= SIGNPOST_WORDS)
                and not (_asks(sentence) and not (quoted and QUOTED_QUESTION.search(sentence)))
                and all(detail.carries(_read(sentence, hit, dating), question) for detail in needs)
                and (not needs or _spelled_terms(sentence) & asked_terms)
            ):
                seen.add(key)
                found.append(_Candidate(n, hit, index, spans, sentence))
    return found


def _plain(line: str) -> str:
    """A line as `header_lines` gives it: markdown emphasis dropped, spaces folded."""
    return " ".join(EMPHASIS.sub(" ", line).split())


def _heads(c: _Candidate) -> bool:
    """Whether the candidate is a dateline or header line of its document (`header_lines`)."""
    return c.hit.chunk.index == 0 and _plain(c.sentence) in header_lines(c.hit.text)


def _answers_as_header(c: _Candidate, question: str) -> bool:
    """Whether the candidate is a header line stating the date, place or person asked for: only such a line is
    lifted; another header line ("Hosted by ..." for "what did they agree?") is a sentence like any."""
    return _heads(c) and _states_asked(c.sentence, question)


def _states_asked(line: str, question: str) -> bool:
    """Whether a dateline or header line surely states a date, place or person the question asks for: a full date
    for "when", a name the question lacks for "where", a titled name ("Prime Minister ...") for "who"."""
    first = question.split("?", 1)[0]
    return (
        (bool(ASKS_WHEN.search(first)) and _date_fit(line, question) == 1.0)
        or (bool(ASKS_WHERE.search(first)) and _place_fit(line, question) > 0)
        or (bool(ASKS_PERSON.search(question)) and _person_fit(line, question) == 1.0)
    )


# What a dateline or a header line states: where and when a statement was made, who hosted it.
DATELINE_DETAILS = frozenset({"the date", "the place", "the person"})


def _spelled_terms(text: str) -> frozenset[str]:
    """`_terms` with British and American spellings folded to one: "centre" and "center" are one term."""
    return _terms(re.sub(r"[A-Za-z]+", lambda m: fold_spelling(m.group(0)), text))


def _read(sentence: str, hit: Hit, dating: Dating | None) -> str:
    """The sentence as the checks of what it states read it (`as_dated`, with `dating`)."""
    return as_dated(sentence, hit.date, dating) if dating is not None else sentence


def _dated(claims: list[Claim], c: _Candidate, dating: Dating | None) -> list[Claim]:
    """The claims, the first one tagged with its document's date when it says only "today" (`relative_date`)."""
    when = relative_date(c.sentence, c.hit.date, dating) if dating is not None else ""
    if not when or not claims or claims[0].tag or _date_fit(c.sentence, "") == 1.0:
        return claims
    return [replace(claims[0], tag=when), *claims[1:]]


def _asks(sentence: str) -> bool:
    """True for a sentence that ends in a question (the article's rhetorical questions answer nothing)."""
    return sentence.rstrip("”’\"')").endswith("?")


def _cut_at_edge(text: str, start: int, end: int) -> bool:
    """True for a sentence the chunk's edge cuts: it runs off the end, or starts mid-sentence at the start.

    Chunks overlap, so the neighbouring chunk holds the whole sentence.
    """
    sentence = text[start:end].strip()
    runs_off = end >= len(text.rstrip()) and not re.search(r"[.!?:;][”’\"')\]*]*$", sentence)
    starts_inside = start == 0 and sentence[:1].islower()
    return runs_off or starts_inside


def _split_items(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence spans, with hard-wrapped list items ("order.\n-   The three NSAs...") split apart."""
    out = []
    for start, end in spans:
        for item in LIST_ITEM.finditer(text, start, end):
            out.append((start, item.start()))
            start = item.end()
        out.append((start, end))
    return [(s, e) for s, e in out if text[s:e].strip()]


def distinctive_terms(question: str) -> list[str]:
    """What only some sentences can hold: acronyms, quoted phrases, names of two or more capitalised words."""
    countries = {m.casefold() for m in find_countries(question)}
    shouted = sum(c.isupper() for c in question) > sum(c.islower() for c in question)  # capitals mark nothing
    found = [] if shouted else [m.group(0) for m in ACRONYM.finditer(question)]
    found += [m.group("phrase") for m in QUOTED_PHRASE.finditer(question)]
    found += [m.group(0) for m in CAPITALISED_NAME.finditer(question, 1)]
    return [f for f in dict.fromkeys(found) if f.casefold() not in countries and not find_countries(f)]


def _score(
    question: str,
    candidates: list[_Candidate],
    embedder: Embedder,
    actors: frozenset[str],
    gives: Callable[[str], bool] | None = None,
    answer_type: bool = False,
    dating: Dating | None = None,
    turn: str = "",
    kind: bool = False,
    headers: bool = False,
) -> list[_Candidate]:
    """Score candidates against the question with the sentence vectors ingest stored with each chunk.

    Those vectors are pooled from the chunk's own forward pass, so a sentence that points back ("It
    has also signed...") carries what it refers to, and answering embeds nothing but the question
    (embedding the sentences of ten passages costs seconds on two cores). A sentence without a stored
    vector (a chunk stored before they were, a list item split out) is embedded with the one before it.
    `answer_type` (with `gives`): a sentence holding what the wh-word asks for (`answer_fit`) is preferred.
    `turn`: a follow-up's own words, the earlier question glued after them in `question`; similarity and word
    overlap weigh the turn alone (`TURN_WEIGHT`) with the glued text, the earlier question being context only.
    `kind` (with `gives`): a sentence naming a thing of the kind a "which X" question asks for (`kind_fit`) is
    preferred.
    `headers` (with `answer_type`): a dateline or header line holds the date, place or host asked for by its place in
    the document: it fits as a sentence surely holding it does, as close as its document's closest (`_as_document`).
    Returns the candidates, scored.
    """
    query = embedder.encode_cached([question])[0]
    if turn:  # a weighted sum of similarities is the similarity to the weighted sum of the vectors
        query = TURN_WEIGHT * embedder.encode_cached([turn])[0] + (1 - TURN_WEIGHT) * query
    stored: dict[int, dict[tuple[int, int], np.ndarray]] = {}
    vectors: list[np.ndarray | None] = []
    for c in candidates:
        if id(c.hit) not in stored:
            packed = c.hit.sentence_vectors
            spans = content_sentences(c.hit.text)
            rows = packed if packed is not None and spans else []
            stored[id(c.hit)] = dict(zip(spans, rows, strict=False)) if len(rows) == len(spans) else {}
        vectors.append(stored[id(c.hit)].get(c.spans[c.index]))
    missing = [i for i, v in enumerate(vectors) if v is None]
    for i, vector in zip(missing, embedder.encode_cached([_in_context(candidates[i]) for i in missing]), strict=True):
        vectors[i] = vector
    asked_terms = _terms(question)
    turn_terms = _terms(turn)
    asked_countries = set(find_countries(question))
    topics = asked_countries - actors
    distinct = distinctive_terms(question) if gives is not None else []
    for c, vector in zip(candidates, vectors, strict=True):
        text = _in_context(c)
        named = set(find_countries(text))
        overlap = len(asked_terms & _terms(text)) / max(len(asked_terms), 1)
        if turn_terms:
            own = len(turn_terms & _terms(text)) / len(turn_terms)
            overlap = TURN_WEIGHT * own + (1 - TURN_WEIGHT) * overlap
        countries = len(asked_countries & named) / max(len(asked_countries), 1)
        on_topic = TOPIC_BONUS if topics & named else 0.0  # about the country asked of, not only its passage
        rank_prior = 1.0 / (c.n + 4)  # retrieval already ranked the chunks; trust it a little
        c.score = float(vector @ query) + 0.3 * overlap + 0.1 * countries + on_topic + 0.2 * rank_prior  # type: ignore[operator]
        if gives is not None:
            folded = text.casefold()
            held = sum(bool(re.search(rf"\b{re.escape(term.casefold())}\b", folded)) for term in distinct)
            held = held / len(distinct) if distinct else 0.0
            read = _read(c.sentence, c.hit, dating)
            c.score += ASKED_BONUS * gives(read) + DISTINCT_BONUS * held
            if answer_type and (fit := answer_fit(question, read)) is not None:
                c.score += ANSWER_TYPE_BONUS * (1.0 if headers and _answers_as_header(c, question) else fit)
            if kind and kind_fit(question, read):
                c.score += KIND_BONUS
        c.vector = vector
    if headers and answer_type:
        _as_document(candidates, question)
    return candidates


HEADER_EDGE = 1e-3  # a dateline goes before the sentence it dates and places


def _as_document(candidates: list[_Candidate], question: str) -> None:
    """A dateline or header line stating what was asked ("Hiroshima, 20 May 2023" for "where") scores just above its
    document's best sentence: its few words say where and when all of them were said, and by whom it was hosted."""
    best: dict[str, _Candidate] = {}
    for c in candidates:
        if not _heads(c) and (c.hit.doc_id not in best or c.score > best[c.hit.doc_id].score):  # type: ignore[operator]
            best[c.hit.doc_id] = c
    for c in candidates:
        if _answers_as_header(c, question) and (top := best.get(c.hit.doc_id)) is not None:
            c.score = max(c.score, top.score + HEADER_EDGE)  # type: ignore[operator,type-var]


def answer_fit(question: str, sentence: str) -> float | None:
    """How surely `sentence` holds what the question's wh-word asks for (1 surely, 0.5 maybe, 0 not); None when
    the question asks for none of these: a person for "who", quoted words for "what did X say", a name or code
    the question lacks for "which X", a date for "when", a place for "where" (the mean when it asks several)."""
    fits = []
    if ASKS_PERSON.search(question):
        fits.append(_person_fit(sentence, question))
    elif ASKS_SPEECH.search(question):
        fits.append(1.0 if QUOTATION.search(sentence) else 0.5 if SPEECH_VERB.search(sentence) else 0.0)
    first = question.split("?", 1)[0]
    if ASKS_WHEN.search(first):
        fits.append(_date_fit(sentence, question))
    if ASKS_WHERE.search(first):
        fits.append(_place_fit(sentence, question))
    if not fits and ASKS_NAME.search(first):  # "what year is...", "which city was..." ask a date or a place
        fits.append(_name_fit(sentence, question))
    return sum(fits) / len(fits) if fits else None


def _new(words: str, question: str) -> bool:
    """True when the question holds none of the words (nor names their country)."""
    given = question.casefold()
    return not find_countries(words) and not any(w.casefold() in given for w in words.split())


def _person_fit(sentence: str, question: str) -> float:
    if any(_new(m.group("name"), question) for m in TITLED_NAME.finditer(sentence)):
        return 1.0
    return 0.5 if _two_word_name(sentence, question) else 0.0


def _name_fit(sentence: str, question: str) -> float:
    given = question.casefold()
    if any(m.group(0).casefold() not in given for m in CODE.finditer(sentence)) or QUOTATION.search(sentence):
        return 1.0
    return 0.5 if _two_word_name(sentence, question) else 0.0


def _two_word_name(sentence: str, question: str) -> bool:
    """True when two capitalised words in a row, not countries, name something the question doesn't."""
    nouns = proper_nouns(sentence, question, countries=False)
    return any(f"{a} {b}" in sentence for a, b in itertools.pairwise(nouns))


def _date_fit(sentence: str, question: str) -> float:
    given = question.casefold()
    if any(m.group(0).casefold() not in given for m in FULL_DATE.finditer(sentence)):
        return 1.0
    return 0.5 if any(m.group(0) not in given for m in YEAR.finditer(sentence)) else 0.0


def _place_fit(sentence: str, question: str) -> float:
    if set(find_countries(sentence)) - set(find_countries(question)):
        return 1.0
    return 0.5 if proper_nouns(sentence, question, countries=False) else 0.0


def _in_context(c: _Candidate) -> str:
    """The sentence, after the one before it when its subject only points back ("It has also signed...")."""
    start, end = c.spans[c.index]
    cut = CONNECTIVE.match(c.hit.text, start, end)
    if c.index == 0 or not POINTER.search(c.hit.text[cut.end() if cut else start : end]):
        return c.sentence
    return f"{c.hit.text[c.spans[c.index - 1][0] : c.spans[c.index - 1][1]]} {c.sentence}"


def _unit(c: _Candidate, taken: set[tuple[str, int]], reach: int = 1) -> list[Claim]:
    """The candidate as shown: a leading connective cut, and what a pointing subject refers to before it (up to
    `reach` sentences back, while each earlier one points back too)."""
    claim = _claim(c.n, c.hit, *c.spans[c.index])
    if not POINTER.search(claim.text):
        return [claim]
    before: list[int] = []
    for i in range(c.index - 1, max(c.index - 1 - reach, -1), -1):
        start, end = c.spans[i]
        if (c.hit.doc_id, c.hit.start + start) in taken:  # shown already, right before or elsewhere in the answer
            break
        if len(c.hit.text[start:end].split()) < 4 or INJECTION.search(c.hit.text[start:end]):
            if not before:
                return _tagged(c, claim)
            break
        heading = c.hit.text[start:end].lstrip().startswith(("#", "**", "__"))
        if (before or heading) and PARAGRAPH_BREAK.search(c.hit.text, end, c.spans[i + 1][0]):
            break  # a heading or the paragraph before ("**Eleventh, way forward ...**") is no antecedent
        before.insert(0, i)
        if not POINTER.search(_claim(c.n, c.hit, start, end).text):
            break
    else:
        if not before:  # the passage's first sentence: nothing before it to show
            return _tagged(c, claim)
    taken.update((c.hit.doc_id, c.hit.start + c.spans[i][0]) for i in before)
    return [_claim(c.n, c.hit, *c.spans[i]) for i in before] + [claim]


def _tagged(c: _Candidate, claim: Claim) -> list[Claim]:
    """The claim tagged with the countries its passage names up to it, or its document's title."""
    countries = find_countries(c.hit.text[: c.spans[c.index][1]]) or c.hit.countries
    if not countries:
        return [replace(claim, tag=c.hit.title)]
    # A country the sentence names itself ("(Thailand) These efforts will help Thailand...") tells the reader nothing.
    named = set(find_countries(claim.text))
    tag = ", ".join([name for name in countries if name not in named][:3])
    return [replace(claim, tag=tag)]


def _claim(n: int, hit: Hit, start: int, end: int) -> Claim:
    # Markdown emphasis around or leading the sentence ("**6 HIGHLIGHTING** that...", "***Hosted by...***") is
    # markup, not words: the claim starts and ends inside it, so its quote stays a verbatim span.
    emphasis = LEADING_EMPHASIS.match(hit.text, start, end)
    if emphasis and len(hit.text[emphasis.end() : end].split()) >= 4:
        start = _after_emphasis(hit.text, start, emphasis.end(), end)
    while end > start and hit.text[end - 1] in "*_ ":
        end -= 1
    markup = LEADING_MARKUP.match(hit.text, start, end)
    if markup and markup.end() > start and len(hit.text[markup.end() : end].split()) >= 4:
        start = markup.end()
    cut = CONNECTIVE.match(hit.text, start, end)
    if cut and len(hit.text[cut.end() : end].split()) >= 4:
        start = cut.end()
    return Claim(hit.text[start:end], (n,), hit.start + start, hit.start + end)


def _after_emphasis(text: str, start: int, after: int, end: int) -> int:
    """Where a sentence led by an emphasised head starts once the markup goes.

    A head the sentence reads on from in lowercase is its subject or opening ("**1 WE,** the Member States
    gathered", "**Seventh,** **we resolve to..."): kept, without its numbering. A preamble verb before "that"
    ("**9 NOTING** that the ministers met") is cut with the "that", so a main clause shows. A heading before a
    capitalised sentence is cut, with the punctuation and markup after it ("**Sixth**, The ministers...").
    """
    rest = EMPHASIS_GAP.match(text, after, end).end()  # type: ignore[union-attr]
    if rest == end or not text[rest].islower():
        return rest
    that = THAT.match(text, rest, end)
    if that and len(text[that.end() : end].split()) >= 4:
        return that.end()
    head = HEAD_WORD.search(text, start, after)
    return head.start() if head else rest


def _topic_vector(question: str, embedder: Embedder) -> np.ndarray | None:
    """The vector of Y when the question asks what something says about Y; else None."""
    if (m := SAYS_ABOUT.search(question)) is None:
        return None
    return embedder.encode_cached([m.group("topic")])[0]


def _pick(
    question: str,
    shape: str,
    ranked: list[_Candidate],
    limit: int,
    profile: Profile,
    runner_up: bool = False,
    gives: Callable[[str], bool] | None = None,
    hedge: bool = False,
    same_term: bool = False,
    topic: np.ndarray | None = None,
    near_best: bool = False,
) -> list[_Candidate]:
    """The candidates the shape keeps, in the order it shows them.

    `runner_up`: a reason answer without a sentence naming a cause in so many words also shows the next best
    sentence.
    `gives` (fact / yes-no): a close sentence beside the best one stating the figure asked for with a value it
    lacks ("up to $825 million", then "the combined investment valued at $2.75 billion") is shown too.
    `hedge` (fact): the best sentence of another passage, nearly as close and saying something else, is shown too
    (`_hedge`); a yes/no answer keeps to its best passage.
    `same_term` (fact): the sentence right after the best one is shown next when both name the question's
    distinctive term (`_same_term`).
    `topic` (fact): the vector of Y in "what does X say about Y"; the close sentences nearly as near to it as the
    best one are shown too (`_about`).
    `near_best` (reason): the sentence scored next to the best one, when nearly as close, is shown too, in place of
    the weaker cue-word sentence when the answer is full (`_with_near_best`).
    """
    if not ranked:
        return []
    best = ranked[0].score
    close = [c for c in ranked if c.score >= best - MARGIN.get(shape, 0.25)]
    # Cite only passages that carry what was asked: one retrieval found far less relevant adds noise.
    top = max((c.hit.sentence_score or 0.0) for c in close)
    close = [c for c in close if c is ranked[0] or (c.hit.sentence_score or 0.0) >= top - PASSAGE_MARGIN]
    if shape in ("list", "overview", "comparison"):
        if shape != "comparison":  # a comparison's sides are already held to passages naming them
            # An overview's topic is broad ("the summit"): its bullets need the country asked of, not its words.
            words = shape == "list"
            close = [c for c in close if c is ranked[0] or _on_topic(question, c, profile.actors, words)]
        by_country = shape == "list" and bool(COUNTRY_LIST.search(question))
        return _distinct(question, close, limit, by_country, profile.subject)
    if shape == "reason":
        # The sentence that restates the question rarely gives the reason; one that says "because" does,
        # so reasons are looked for further down the ranking and shown first, then the best match.
        reasons = [c for c in ranked if c.score >= best - REASON_REACH and REASON_CUE.search(c.sentence)][:2]
        chosen = ([*reasons, ranked[0]] if ranked[0] not in reasons else reasons)[:limit]
        if runner_up and not reasons and len(chosen) < limit:
            # A cause is often stated without a cue word ("Japan is seeking a competitor to China"), and the best
            # match often only restates the question: the next best sentence that says something else follows.
            first = ranked[0].vector
            chosen += [c for c in close[1:] if float(c.vector @ first) <= NEAR_DUPLICATE][:1]  # type: ignore[operator]
        return _with_near_best(ranked, chosen, limit) if near_best else chosen
    # fact / yes-no: the best sentence, then only sentences that add an asked word the ones before lack.
    asked = _terms(question)
    chosen, covered = [ranked[0]], _terms(ranked[0].sentence) & asked
    for c in close[1:]:
        if len(chosen) >= limit:
            break
        new = (_terms(c.sentence) & asked) - covered
        if new:
            chosen.append(c)
            covered |= new
    if gives is not None and gives(ranked[0].sentence):
        # Another value of the asked figure is stated right next to the best sentence ("The combined investment
        # valued at $2.75 billion..."); one further away is about something else (another company's amount).
        best, stated = ranked[0], set(FIGURE.findall(ranked[0].sentence))
        for c in ranked[1:]:
            if c.score < best.score - FIGURE_REACH:
                break
            new = set(FIGURE.findall(c.sentence)) - stated
            if len(chosen) < limit and c not in chosen and new and _beside(c, best) and gives(c.sentence):
                chosen.append(c)
                break
    following = _same_term(question, ranked) if same_term and shape == "fact" and len(chosen) < limit else None
    if following is not None and following not in chosen:
        chosen.insert(1, following)
    if hedge and shape == "fact" and len(chosen) < limit and (second := _hedge(ranked, chosen)) is not None:
        chosen.append(second)
    if topic is not None and shape == "fact":
        chosen += _about(topic, ranked, chosen, limit)
    return chosen


def _with_near_best(ranked: list[_Candidate], chosen: list[_Candidate], limit: int) -> list[_Candidate]:
    """A reason answer's sentences with the best-scored one's near twin in score (within `NEAR_REASON`, saying
    something else) added; when the answer is full it takes the place of the last sentence chosen for a cue word.

    Cue-word sentences are looked for far down the ranking (`REASON_REACH`), so they can push out a sentence that
    scores as well as the best one: two sentences that close are equally likely to hold the reason.
    """
    best = ranked[0]
    if best not in chosen:  # a short limit kept cue-word sentences only: the twin would stand in for the best
        return chosen
    near = next((c for c in ranked[1:] if c.score >= best.score - NEAR_REASON and not _repeats(c, [best])), None)
    if near is None or near in chosen:
        return chosen
    cues = [c for c in chosen if c is not ranked[0]]
    if len(chosen) >= limit and cues:
        chosen = [c for c in chosen if c is not cues[-1]]
    return [*chosen, near] if len(chosen) < limit else chosen


def _lead(
    question: str,
    chosen: list[_Candidate],
    embedder: Embedder,
    gives: Callable[[str], bool] | None,
    dating: Dating | None,
) -> list[_Candidate]:
    """The chosen sentences, the one closest to the question in meaning first among those stating what it asks
    for (`gives`, when set and any does); the rest keep their order. Bonuses for shared words or cue words rank a
    sentence that only echoes the question ("India will host the next summit") above the one that answers it."""
    if len(chosen) < 2:
        return chosen
    stating = [c for c in chosen if gives is not None and gives(_read(c.sentence, c.hit, dating))] or chosen
    query = embedder.encode_cached([question])[0]
    first = max(stating, key=lambda c: float(c.vector @ query))  # type: ignore[operator]
    return [first, *(c for c in chosen if c is not first)]


def _about(topic: np.ndarray, ranked: list[_Candidate], chosen: list[_Candidate], limit: int) -> list[_Candidate]:
    """For "what does X say about Y": the best sentence's neighbours in closeness to Y alone, up to `limit`."""
    near = float(ranked[0].vector @ topic) - ABOUT_REACH  # type: ignore[operator]
    picked: list[_Candidate] = []
    for c in ranked[1:]:
        if len(chosen) + len(picked) >= limit or c.score < ranked[0].score - MARGIN["fact"]:
            break
        if c not in chosen and float(c.vector @ topic) >= near and not _repeats(c, [*chosen, *picked]):  # type: ignore[operator]
            picked.append(c)
    return picked


def _same_term(question: str, ranked: list[_Candidate]) -> _Candidate | None:
    """The sentence right after the best one in its document when both name a distinctive term of the question
    (an acronym, a name), or None.

    The sentence that introduces a term ("the Indo-Pacific Partnership for Maritime Domain Awareness (IPMDA) ...
    is underway") scores best, and the next one saying what it does ("Through IPMDA, we are providing ...") goes
    on about the same thing without pointing back in a way `_continuation` sees.
    """
    best = ranked[0]
    terms = [t.casefold() for t in distinctive_terms(question)]
    held = [t for t in terms if re.search(rf"\b{re.escape(t)}\b", best.sentence.casefold())]
    for c in ranked[1:]:
        if _follows(c, best):
            folded = c.sentence.casefold()
            return c if any(re.search(rf"\b{re.escape(t)}\b", folded) for t in held) else None
    return None


def _hedge(ranked: list[_Candidate], chosen: list[_Candidate]) -> _Candidate | None:
    """The best sentence of a passage none of the `chosen` comes from, within `HEDGE_REACH` of the best score and
    unlike every chosen one, or None.

    The best-scored sentence is wrong often enough (it restates the question, or names the term only in passing)
    that a second reading from another passage, scored nearly as well, is worth its place.
    """
    passages = {id(c.hit) for c in chosen}
    for c in ranked[1:]:
        if c.score < ranked[0].score - HEDGE_REACH:
            return None
        if id(c.hit) in passages or _repeats(c, chosen):
            continue
        return c
    return None


def _beside(c: _Candidate, other: _Candidate) -> bool:
    """True when the two sentences are neighbours in one document."""
    return _follows(c, other) or _follows(other, c)


def _follows(c: _Candidate, other: _Candidate) -> bool:
    """True when `c` is the sentence right after `other` in one document (chunks overlap, and the next sentence may
    open the next passage: compared by document offset)."""
    if c.hit.doc_id != other.hit.doc_id:
        return False
    return 0 <= c.hit.start + c.spans[c.index][0] - (other.hit.start + other.spans[other.index][1]) <= 3


def _repeats(c: _Candidate, shown: list[_Candidate]) -> bool:
    """True when `c` says what one of `shown` says (the same sentence repeated across statements)."""
    return any(float(c.vector @ o.vector) > NEAR_DUPLICATE for o in shown)  # type: ignore[operator]


def _on_topic(question: str, c: _Candidate, actors: frozenset[str], words: bool = True) -> bool:
    """True when the sentence names the country asked about and shares what is asked beyond the names.

    A bullet list grows by item; this keeps "It comes as no surprise that..." out of a list of agreements.
    """
    asked = set(find_countries(question))
    named = set(find_countries(_in_context(c)))
    topics = asked - actors
    # About the country asked of: naming it, or naming no other in a passage about it
    # ("The President raised concerns regarding the situation at Ream Naval Base").
    if topics and not topics & named and (named - actors or not topics & set(c.hit.countries)):
        return False
    if not topics and len(asked) >= 2 and not asked <= named:  # "the US-Japan alliance": both, not one
        return False
    if not words:
        return True
    names = _terms(" ".join(find_countries(question)))
    content = _terms(question) - names - GENERIC
    return not content or bool(content & _terms(c.sentence))


def _distinct(
    question: str, ranked: list[_Candidate], limit: int, by_country: bool, subject: str | None
) -> list[_Candidate]:
    """Up to `limit` candidates that repeat no earlier one (for a list of countries: that name a new one).

    The corpus's `subject` is never a new country: a list of Japan's partners doesn't offer Japan.
    """
    asked = set(find_countries(question)) | ({subject} if subject else set())
    chosen: list[_Candidate] = []
    listed: set[str] = set()
    for c in ranked:
        if len(chosen) >= limit:
            break
        if by_country:
            items = set(find_countries(c.sentence)) - asked
            if not items or items <= listed:
                continue
            listed |= items
        elif _repeats(c, chosen):
            continue
        chosen.append(c)
    return chosen


def _render(units: list[list[Claim]], bullets: bool) -> list[str]:
    lines = [" ".join(_line(claim) for claim in unit) for unit in units]
    return [f"- {line}" for line in lines] if bullets else lines


def _key(c: _Candidate, offset: int = 0) -> tuple[str, int] | None:
    """(document, start) of the candidate's sentence, or of the one `offset` sentences away (None: outside)."""
    index = c.index + offset
    if not 0 <= index < len(c.spans):
        return None
    return c.hit.doc_id, c.hit.start + c.spans[index][0]


def _units(
    chosen: list[_Candidate], taken: set[tuple[str, int]], reach: int = 1
) -> list[tuple[_Candidate, list[Claim]]]:
    """Each candidate as shown; one that points back joins its antecedent's unit when that is shown too."""
    keys = {_key(c) for c in chosen}
    followers = {_key(c, -1): c for c in chosen if _key(c, -1) in keys and _in_context(c) != c.sentence}
    units = []
    for c in chosen:
        if c in followers.values():
            continue
        unit, follower = _unit(c, taken, reach), followers.get(_key(c))
        while follower is not None:
            unit += _unit(follower, taken, reach)
            follower = followers.get(_key(follower))
        units.append((c, unit))
    return units


def _continuation(c: _Candidate, candidates: list[_Candidate], taken: set[tuple[str, int]]) -> list[Claim]:
    """The sentence after the candidate when it points back to it ("This will allow..."): it says what the
    first one's "what" is for, or how it went on; [] otherwise, or when it is shown already.

    The next sentence may open the next passage (chunks end at sentence ends), so it is looked for among every
    candidate of the same document, by where it starts.
    """
    following = [n for n in candidates if _follows(n, c)]
    if not following or _key(following[0]) in taken or not POINTER.match(following[0].sentence):
        return []
    n = following[0]
    taken.add(_key(n))  # type: ignore[arg-type]
    return [_claim(n.n, n.hit, *n.spans[n.index])]


def extract_answer(
    question: str,
    shape: str,
    numbered: list[tuple[int, Hit]],
    embedder: Embedder,
    limits: Limits,
    profile: Profile,
    gives: Callable[[str], bool] | None = None,
    whole_document: bool = False,
    continues: bool = False,
    runner_up: bool = False,
    answer_type: bool = False,
    topic: frozenset[str] = frozenset(),
    flag_missing: bool = False,
    dating: Dating | None = None,
    turn: str = "",
    kind: bool = False,
    headers: bool = False,
    more_figures: bool = False,
    main_points: bool = False,
    hedge: bool = False,
    same_term: bool = False,
    about: bool = False,
    topic_run: bool = False,
    lead: bool = False,
    near_best: bool = False,
) -> Extract:
    """The source sentences that answer `question`, arranged for its shape; empty when none fits.

    `numbered` pairs each passage with its source number `n` in the final answer; `profile` is the corpus's.
    `gives(sentence)`, when set, tells a sentence that states what the question asks for (a date, an amount,
    a person...); those, and sentences holding the question's distinctive terms, are preferred.
    `whole_document`: the passages are one document's, and an overview gives its main points in its order.
    `continues`: a fact, reason or yes/no sentence is followed by the next one when that one points back to it.
    `runner_up`: a reason answer without a sentence stating a cause in so many words also shows the next best
    sentence.
    `answer_type`: a fact or yes/no answer prefers a sentence holding what the wh-word asks for (`answer_fit`), and
    a question in quotation marks is someone's words, a candidate like any sentence.
    `topic`: stemmed terms that every source compared speaks of (`shared_topic`); sentences holding them are
    preferred over ones only sounding like the question or speaking of another source's words.
    `flag_missing`: when no sentence states the figure asked for, the answer says so first (`missing_text`) and
    the extract is marked `missing`; otherwise the closest sentences stand alone.
    `dating`: how a date question reads a sentence's date (`Dating`); a shown "met today" is tagged with its
    document's date.
    `turn`: a follow-up's own words when the earlier question is glued after them in `question` (`_score`).
    `kind`: a fact or yes/no answer prefers a sentence naming a thing of the kind "which X" asks for (`kind_fit`).
    `headers`: a date, place or person question may be answered by a dateline or header line (`_candidates`).
    `more_figures`: a fact or yes/no answer stating the figure asked for also shows a close sentence stating
    another value of it (`_pick`).
    `main_points`: a whole document's overview prefers its central, announcing sentences (`overview_points`) to
    those only close to the question's wording.
    `hedge`: a fact answer (not a yes/no one) also shows the best sentence of another passage that is nearly as
    close (`_hedge`).
    `same_term`: a fact answer shows the sentence after the best one when both name the question's distinctive
    term (`_same_term`).
    `about`: a fact question asking what something says about Y ("what does the statement say about space?") also
    shows the close sentences nearly as near to Y alone as the best one (`_about`), up to the sentence limit.
    `lead`: a reason answer of several sentences opens with the one closest to the question (`_lead`); a fact
    answer's ranking already weighs what is asked above wording (leading with the closest lost exact figures).
    `near_best`: a reason answer also shows the sentence scored nearly as well as the best one (`_with_near_best`).
    `topic_run`: with `topic`, the source shows its sentences holding the compared terms, each with the next
    sentence of its document when that one goes on about the same thing (`_on_compared_topic`).
    """
    if (byline := _byline(question, numbered)).claims:
        return byline
    dating = dating if any(d.name == "the date" for d in asked_anywhere(question)) else None
    headers = headers and any(d.name in DATELINE_DETAILS for d in asked_anywhere(question))
    candidates, missing = _candidates(question, numbered, profile.actors, answer_type, dating, kind, headers)
    if not candidates:
        return Extract("")
    if shape == "overview" and whole_document:
        return _document_overview(question, candidates, embedder, limits, profile, main_points)
    # Lists and overviews gather many sentences: a bonus for one would push the others past the margin.
    prefer = gives if shape in ("fact", "yesno") else None
    scored = _score(question, candidates, embedder, profile.actors, prefer, answer_type, dating, turn, kind, headers)
    for c in scored if topic else []:
        c.score += SHARED_TOPIC * len(topic & _terms(c.sentence)) / len(topic)
    ranked = sorted(scored, key=lambda c: -c.score)
    limit = {"list": limits.list_items, "overview": limits.overview_items}.get(shape, limits.sentences)
    chosen = _pick(
        question,
        shape,
        ranked,
        limit,
        profile,
        runner_up,
        prefer if more_figures else None,
        hedge,
        same_term,
        _topic_vector(turn or question, embedder) if about and shape == "fact" else None,
        near_best,
    )
    if topic and topic_run:
        chosen = _on_compared_topic(chosen, candidates, topic, limit)
    if lead and shape == "reason":
        chosen = _lead(question, chosen, embedder, prefer, dating)
    taken = {_key(c) for c in chosen}
    if shape == "overview":
        return _overview(chosen, taken, limits.antecedents)
    follow = continues and shape in ("fact", "reason", "yesno")
    units = [
        _dated(unit, c, dating) + (_continuation(c, candidates, taken) if follow else [])
        for c, unit in _units(chosen, taken, limits.antecedents)
    ]
    lines = _render(units, bullets=shape == "list")
    text = "\n".join(lines) if shape == "list" else " ".join(lines)
    if missing is not None and flag_missing:
        return Extract(f"{missing_text(missing.name)}\n{text}", [c for u in units for c in u], missing.name)
    return Extract(text, [c for u in units for c in u])


def without_repeats(extract: Extract, shown: set[str]) -> Extract:
    """The extract less the sentences an earlier part of the answer showed already, when it says more than them.

    A second part answered by the first part's sentence and one more ("how many farmers will it reach?") shows
    only the new one: the reader has just read the other.
    """
    repeated = [claim for claim in extract.claims if claim.text in shown]
    if not repeated or len(repeated) == len(extract.claims):
        return extract
    text = extract.text
    for claim in repeated:
        line = _line(claim)
        if text.count(line) != 1:
            return extract
        text = text.replace(line, "", 1)
    text = "\n".join(" ".join(line.split()) for line in text.split("\n") if line.strip(" -"))
    return replace(extract, text=text, claims=[claim for claim in extract.claims if claim.text not in shown])


def _on_compared_topic(
    chosen: list[_Candidate], candidates: list[_Candidate], topic: frozenset[str], limit: int
) -> list[_Candidate]:
    """A compared source's sentences holding the `topic` terms, each followed by its document's next sentence when
    that one is close to it (the Tomahawk missiles after "counterstrike capabilities": the specifics of the same
    point in other words); at most `limit` sentences hold the terms, and each follower comes on top of them.
    Sentences holding none of the terms are dropped; `chosen` as it is when none holds them.
    """
    held = [c for c in chosen if topic & _terms(c.sentence)][:limit]
    if not held:
        return chosen
    run: list[_Candidate] = []
    for c in held:
        run += [] if c in run else [c]
        after = next((n for n in candidates if _follows(n, c)), None)
        if after is not None and after not in chosen + run and float(after.vector @ c.vector) >= SAME_POINT:  # type: ignore[operator]
            run.append(after)
    return run


def missing_text(detail: str) -> str:
    """What an answer that lacks the asked figure opens with; the closest sentences follow."""
    return f"The sources don't give {detail}. The closest passages say:"


def _overview(chosen: list[_Candidate], taken: set[tuple[str, int]], reach: int = 1) -> Extract:
    """Bullets grouped by source kind (what the article argues, what the statements record), dated in order."""
    groups = {"article": "What the article argues:", "statements": "What the statements record:"}
    kinds = [k for k in groups if any(c.kind == k for c in chosen)]
    blocks, claims = [], []
    for kind in kinds:
        members = sorted((c for c in chosen if c.kind == kind), key=lambda c: (c.hit.date, *_key(c)))  # type: ignore[misc]
        lines = []
        for c, unit in _units(members, taken, reach):
            dated = f"{c.hit.date}: " if kind == "statements" and c.hit.date else ""
            lines.append(f"- {dated}{' '.join(_line(claim) for claim in unit)}")
            claims += unit
        blocks.append("\n".join(([groups[kind]] if len(kinds) > 1 else []) + lines))
    return Extract("\n\n".join(blocks), claims)


def focus_document(hits: list[Hit]) -> str | None:
    """The one document an overview's top passages all come from, or None."""
    top = {h.doc_id for h in hits[:FOCUS_RUN]}
    return top.pop() if len(hits) >= FOCUS_RUN and len(top) == 1 else None


def _document_overview(
    question: str,
    candidates: list[_Candidate],
    embedder: Embedder,
    limits: Limits,
    profile: Profile,
    main_points: bool = False,
) -> Extract:
    """A document's main points for `question`: sentences spread over its passages, bulleted in its order.

    With `main_points` the points are what the document says as well as what sounds like the question: sentences
    central to it that announce something are preferred and a line that only introduces a list is left for its
    items (`_main_points`).
    """
    ranked, limit = _score(question, candidates, embedder, profile.actors), limits.overview_items
    if main_points:
        chosen = _main_points(ranked, limit)
    else:
        best = max(c.score for c in ranked)
        chosen = _spread([c for c in ranked if c.score >= best - MARGIN["overview"]], limit)
    chosen.sort(key=lambda c: _key(c)[1])  # type: ignore[index]
    units = _units(chosen, {_key(c) for c in chosen}, limits.antecedents)
    first = chosen[0].hit
    heading = f"{first.title} ({first.date}):" if first.title and first.date else ""
    lines = [f"- {' '.join(_line(claim) for claim in unit)}" for _, unit in units]
    return Extract("\n".join(([heading] if heading else []) + lines), [claim for _, unit in units for claim in unit])


def _main_points(ranked: list[_Candidate], limit: int) -> list[_Candidate]:
    """Up to `limit` sentences by their fit to the question, their centrality to the document and what they
    announce (`overview_points`), spread out as `_spread` does; lines that only introduce a list give way."""
    pool = [c for c in ranked if not overview_points.introduces_list(c.sentence)] or ranked
    central = overview_points.centrality(np.stack([c.vector for c in pool]))  # type: ignore[misc]
    gain = {
        id(c): c.score + CENTRAL_WEIGHT * float(k) + ANNOUNCES_WEIGHT * overview_points.announces(c.sentence)
        for c, k in zip(pool, central, strict=True)
    }
    top = max(gain.values())
    return _by_marginal_gain([c for c in pool if gain[id(c)] >= top - MARGIN["overview"]], gain, limit)


def _spread(ranked: list[_Candidate], limit: int) -> list[_Candidate]:
    """Up to `limit` candidates by maximal marginal relevance: relevant, naming something, unlike those chosen."""
    gain = {id(c): c.score + HEADLINE_BONUS * _headline(c.sentence) for c in ranked}
    return _by_marginal_gain(ranked, gain, limit)


def _by_marginal_gain(pool: list[_Candidate], gain: dict[int, float], limit: int) -> list[_Candidate]:
    """Up to `limit` of `pool`, each time the one adding most (`_marginal`), a near duplicate of one chosen skipped."""
    chosen: list[_Candidate] = []
    rest = list(pool)
    while rest and len(chosen) < limit:
        best = max(rest, key=lambda c: _marginal(c, gain[id(c)], chosen))
        rest.remove(best)
        if _repeats(best, chosen):
            continue
        chosen.append(best)
    return chosen


def _marginal(c: _Candidate, gain: float, chosen: list[_Candidate]) -> float:
    """What choosing `c` adds beyond the `chosen`: its gain, less its likeness to them and a passage shown already."""
    redundancy = max((float(c.vector @ o.vector) for o in chosen), default=0.0)  # type: ignore[operator]
    return gain - REDUNDANCY * redundancy - SAME_PASSAGE * any(c.hit is o.hit for o in chosen)


def _headline(sentence: str) -> bool:
    """True for a sentence that names something: a figure, an acronym, or a name of capitalised words."""
    names = [m.group(0) for m in CAPITALISED_NAME.finditer(sentence, 1) if not find_countries(m.group(0))]
    return bool(FIGURE.search(sentence) or ACRONYM.search(sentence) or names)


def compare(
    question: str,
    entities: list[str],
    numbered: list[tuple[int, Hit]],
    embedder: Embedder,
    limits: Limits,
    profile: Profile,
    shared_topic: bool = True,
    by_publisher: bool = False,
    own_passages: bool = False,
    side_topic: bool = False,
) -> Extract:
    """One labelled part per entity, each from the sentences of passages that mention that entity.

    `shared_topic`: each side prefers the sentences holding what every side's sentences speak of ("Ream Naval
    Base" in "what does the article say vs what Biden told Hun Sen"), not the words naming one side.
    `by_publisher`: a sentence naming no side is its publisher's country's side (a White House readout's "The
    President raised concerns regarding ... Ream Naval Base" speaks for the United States).
    `own_passages`: a side's passages need not name the other sides: only the corpus's actors were exempt, so a
    side that is one (Japan beside India) lost every passage not naming the other.
    `side_topic`: each sentence scores also by its stored vector's cosine to the question less the sides' names
    (`compared_topic`), so that a side's sentence on what is compared wins over one only naming the side.
    """
    exempt = profile.actors | frozenset(entities) if own_passages else profile.actors
    candidates, _ = _candidates(question, numbered, exempt)
    if not candidates:
        return Extract("")
    scored = _score(question, candidates, embedder, profile.actors)
    if shared_topic:
        topic = _shared_topic(question, entities, scored)
        for c in scored:
            c.score += SHARED_TOPIC * len(topic & _terms(c.sentence)) / len(topic) if topic else 0.0
    compared = compared_topic(question, entities) if side_topic else ""
    if compared:
        vector = embedder.encode_cached([compared])[0]
        for c in scored:
            c.score += SIDE_TOPIC * float(c.vector @ vector)  # type: ignore[operator]
    ranked = sorted(scored, key=lambda c: -c.score)
    blocks, claims, used = [], [], set()
    taken: set[tuple[str, int]] = set()
    for entity in entities:
        others = set(entities) - {entity}
        own = sorted(
            (
                c
                for c in ranked
                if entity in c.hit.countries
                and _speaks_for(c, entity, entities, by_publisher)
                and id(c) not in used
                and _key(c) not in taken
            ),
            key=lambda c: -(c.score - (BOTH_SIDES if others & set(find_countries(c.sentence)) else 0.0)),
        )
        chosen = _pick(question, "comparison", own, limits.comparison_items, profile)
        used.update(id(c) for c in chosen)
        taken.update(_key(c) for c in chosen)
        units = [unit for _, unit in _units(chosen, taken, limits.antecedents)]
        if units:
            blocks.append(f"{entity}:\n" + "\n".join(_render(units, bullets=True)))
            claims += [claim for unit in units for claim in unit]
        else:
            blocks.append(f"{entity}: the passages found say nothing about this.")
    if not claims:
        return Extract("")
    return Extract("\n\n".join(blocks), claims)


def compared_topic(question: str, entities: list[str]) -> str:
    """The question less the sides' names and the words of comparing ("net zero years - Thailand vs Vietnam?" ->
    "net zero years"); "" when no content word is left."""
    cuts = [(start, end) for start, end, country in country_mentions(question) if country in entities]
    kept, at = [], 0
    for start, end in cuts:
        kept.append(question[at:start])
        at = end
    rest = COMPARISON.sub(" ", "".join([*kept, question[at:]]))
    return " ".join(rest.split()) if _terms(rest) - GENERIC else ""


def _speaks_for(c: _Candidate, entity: str, entities: list[str], by_publisher: bool) -> bool:
    """True when the sentence is on `entity`'s side: it names it, or (`by_publisher`) it names no side and its
    document's publisher is in that country."""
    named = set(find_countries(c.sentence))
    if entity in named:
        return True
    return by_publisher and not named & set(entities) and entity in find_countries(c.hit.publisher)


def _shared_topic(question: str, entities: list[str], candidates: list[_Candidate]) -> frozenset[str]:
    """The question's terms, less the sides' names, that sentences naming each side hold: what is compared."""
    sides = [[c.sentence for c in candidates if entity in find_countries(c.sentence)] for entity in entities]
    return shared_terms(question, entities, sides)


def shared_terms(question: str, names: list[str], sides: list[list[str]]) -> frozenset[str]:
    """The question's terms, less the sides' `names` and the words of asking, that some sentence of every side
    holds: what the sides are compared on."""
    held = [frozenset().union(*(_terms(sentence) for sentence in side)) for side in sides]
    named = _terms(" ".join(names)) | GENERIC
    return frozenset.intersection(_terms(question) - named, *held) if held else frozenset()


def _line(claim: Claim) -> str:
    """The claim on one line with `[n]` before its closing punctuation, after its context tag."""
    return (f"({claim.tag}) " if claim.tag else "") + _cite(claim.text, claim.n)


# Markup inside a shown sentence: HTML tags ("<u>", "<span style=...>") and emphasis markers ("**ESTABLISH**").
INLINE_TAG = re.compile(r"</?[a-zA-Z][^<>]{0,200}>")
INLINE_EMPHASIS = re.compile(r"\*{4,}|(?<!\w)(\*{1,3}|_{2,3})(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?!\w)")


SHOUTED_HEAD = re.compile(r"[^\W\d_]{2,}(?=[,;:]?[*_]{1,3}\s)")
STRAY_EMPHASIS = re.compile(r"\*{2,}|(?<!\w)_{2,}|_{2,}(?!\w)")


def as_prose(sentence: str) -> str:
    """A source sentence as the answer's text shows it: on one line, without markup ("**ESTABLISH**", "<u>")."""
    sentence = INLINE_EMPHASIS.sub(lambda m: m.group(2) or "", INLINE_TAG.sub("", sentence))
    # A marker whose pair lies outside the sentence ("...the region**.", "**we resolve") is markup too.
    sentence = STRAY_EMPHASIS.sub("", sentence)
    return re.sub(r"\s+(?=[.!?,;]$)", "", " ".join(sentence.split())).lstrip(",;:.)]\u2013\u2014- ")


def _cite(sentence: str, n: int) -> str:
    """The sentence as prose with `[n]` before its closing punctuation, capitalised where a connective was cut.

    A head in capitals that markup set off ("WE,** the Member States") reads as a word ("We, the Member States");
    a clause ending a list of them (";", ",") ends as a sentence. Only the text is tidied; the claim keeps its
    verbatim span for the quote check.
    """
    head = SHOUTED_HEAD.match(sentence)
    if head and head.group().isupper():
        sentence = head.group().capitalize() + sentence[head.end() :]
    sentence = as_prose(sentence)
    sentence = sentence[:1].upper() + sentence[1:]
    if sentence.endswith((",", ";", ":")):
        sentence = sentence[:-1] + "."
    if sentence.endswith((".", "!", "?")):  # not sentence[-1]: markup alone ("**") leaves no text
        return f"{sentence[:-1]} [{n}]{sentence[-1]}"
    return f"{sentence} [{n}]"


def _byline(question: str, numbered: list[tuple[int, Hit]]) -> Extract:
    """The byline, when the question asks who wrote a passage's document or names its author.

    The author is front matter, not a sentence of the text; the answer quotes the byline in the passage
    that carries it, after the document's short title, so the claim stays a verbatim, checkable span.
    """
    for n, hit in numbered:
        author = hit.author
        at = hit.text.find(author) if author else -1
        if at >= 0 and (ASKS_AUTHOR.search(question) or author.casefold() in question.casefold()):
            claim = Claim(author, (n,), hit.start + at, hit.start + at + len(author))
            short = hit.title.split(":")[0].strip() or hit.title  # "Diplomatic Overdrive: Japan trying to ..."
            return Extract(f"“{short}” is by {_cite(author, n)}", [claim])
    return Extract("")
