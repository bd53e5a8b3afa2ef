"""Which documents a question is about, and which of its phrases must be matched exactly.

A question can name its source: "the article", "the author", "the White House", "joint statement",
"fact sheet", or a document's title. `--doc NAME` (the `docs` parameter) names it explicitly.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from ingest.countries import canonical_country, find_countries
from rag.errors import UnknownDocumentError
from rag.profile import Profile
from rag.storage import records


@dataclass(frozen=True)
class ScopeRule:
    """Questions matching `cue` are limited to documents whose metadata `field` matches `value`."""

    label: str
    cue: re.Pattern[str]
    field: str
    value: re.Pattern[str]


_SAYS = (
    r"say|says|said|think|thinks|argue|argues|suggest|suggests|use|uses|compare|compares|claim|claims|describe"
    r"|describes|write|writes|wrote|mean|means|frame|frames|see|sees|view|views|call|calls|verdict|view|opinion"
    r"|reckon|reckons|believe|believes|recommend|recommends|argument|thesis|point|main"
)
# How readers name an opinion article and its author: the one kind of source any corpus may hold (ingest's
# `kind`). A corpus's own kinds ("the White House", "joint statements") come from its profile (`sources`).
_ARTICLE = r"article|author|writer|essay|op-?ed|opinion piece|piece|column|columnist|commentary"
# The article named beside another source ("the op-ed and the White House", "the article's take ... compared
# with the White House's") is one side of a comparison: it counts only when another source is named too.
PAIRED = re.compile(rf"\bthe ({_ARTICLE})\b", re.I)
# Beside a document named by its title, the article needs no "the" to be the other side ("article's view vs
# the US declaration").
ARTICLE_WORD = re.compile(rf"\b({_ARTICLE})\b", re.I)
# Beside another source named, a bare "article" is the article too ("article vs white house on X"), but not a
# treaty's numbered article ("Article V").
VERSUS = re.compile(r"\b(vs|versus)\b\.?", re.I)
BARE_ARTICLE = re.compile(rf"\b({_ARTICLE})\b(?!\s+(?:[IVXLC]+|\d+)\b)", re.I)
ARTICLE_RULE = ScopeRule(
    "the article",
    re.compile(
        rf"\b(according to|per|in|from|by) the ({_ARTICLE})\b"
        rf"|\bthe ({_ARTICLE})(['’]s)?\s+(\w+\s+)?({_SAYS})\b|\bas the ({_ARTICLE}) puts? it\b"
        rf"|\b(who|what) (is|was) the (author|writer)\b|\bwho wrote the ({_ARTICLE})\b",
        re.I,
    ),
    "kind",
    re.compile(r"^article$", re.I),
)


@functools.lru_cache(maxsize=16)
def scope_rules(profile: Profile) -> tuple[ScopeRule, ...]:
    """The article rule, then the profile's kinds of source, compiled (`find_scope` skips one with no documents)."""
    own = (ScopeRule(r.label, re.compile(r.cue, re.I), r.field, re.compile(r.value)) for r in profile.sources)
    return (ARTICLE_RULE, *own)


# A second question in the same sentence ("What does the article say about X, and what did the US do?")
# asks beyond the scoped source, so such questions are not scoped.
MULTI_PART = re.compile(
    r"[,;:\u2013\u2014]\s*(and\s+)?(what|how|has|have|had|did|does|do|which|who|when|where|why|is|are|was|were)\b"
    r"|\?\s*\S",
    re.I,
)
# A leading topic before a colon ("counterstrike: what changed ...?") labels the one question; it asks nothing.
TOPIC_LABEL = re.compile(
    r"^\s*(?!(?:what|how|which|who|whom|whose|when|where|why|is|are|was|were|did|does|do|has|have|had|can|could"
    r"|would|should|will)\b)[^:?,;.]{2,60}:\s+(?=\w)",
    re.I,
)
YEAR = re.compile(r"\b((?:19|20)\d\d)\b")
SOURCE_YEAR = re.compile(r"\bthe\s+((?:19|20)\d\d)\b(?!\s*[-–]|['’]s)", re.I)
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
MONTH_YEAR = re.compile(
    r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?((?:19|20)\d\d)\b", re.I
)
QUOTED = re.compile(r"(?<!\w)[\"“‘'](?P<phrase>[^\"“”‘’']{3,80}?)[\"”’'](?!\w)")
WORD = re.compile(r"[a-z0-9]+")
# The stop words, once: FUNCTION_WORDS carry no topic anywhere. QUESTION_WORDS, how a question asks and not
# what about, are no part of its topic nor of a rare n-gram; the extractive answer adds its own few.
FUNCTION_WORDS = frozenset(
    re.findall(
        r"\S+",
        """what which who whom how when where why does did is are was were the and has have had about for with from
        into that this there their they them its say says said between""",
    )
)
QUESTION_WORDS = FUNCTION_WORDS | frozenset(
    re.findall(
        r"\w+",
        """whose do done be been a an or can could would should will shall also then so according to of in on at by
        as these those it tell told mention mentioned describe described happen happened""",
    )
)


@dataclass(frozen=True)
class Scope:
    """The documents a question is limited to, and why."""

    label: str
    doc_ids: tuple[str, ...]
    explicit: bool = False  # named by the user (`docs`), not read from the question
    # Each source the question names, when it names two or more ("the article against the White House"):
    # (label, documents), the sides a comparison answers for.
    sides: tuple[tuple[str, tuple[str, ...]], ...] = ()


def document_names(documents: dict[str, dict]) -> list[str]:
    """The names `--doc` accepts: each document's id (its path under the corpus folder)."""
    return sorted(documents)


def document_lookup(documents: dict[str, dict], key: Callable[[str], str]) -> dict[str, str]:
    """`key(name)` -> doc_id for each name a document goes by: its id, file name with or without extension, title
    and title up to its colon (the first document keeps a name two share)."""
    lookup: dict[str, str] = {}
    for doc_id, meta in documents.items():
        path = PurePosixPath(doc_id)
        title = records.title(meta)
        for form in (doc_id, path.name, path.stem, title, title.split(":")[0]):
            if form.strip():
                lookup.setdefault(key(form), doc_id)
    return lookup


def _spaced(name: str) -> str:
    """A name as `--doc` looks it up: spaces collapsed, any case."""
    return " ".join(name.split()).casefold()


def resolve_documents(names: list[str], documents: dict[str, dict]) -> tuple[str, ...]:
    """Doc ids for user-typed names: an id, a file name with or without extension, or a title (any case)."""
    lookup = document_lookup(documents, _spaced)
    resolved = []
    for name in names:
        doc_id = lookup.get(_spaced(str(name)))
        if doc_id is None:
            raise UnknownDocumentError(
                f"Unknown document {name!r}. Documents in the store: {', '.join(document_names(documents))}."
            )
        resolved.append(doc_id)
    return tuple(sorted(set(resolved)))


def find_scope(
    question: str,
    docs: list[str] | None,
    documents: dict[str, dict],
    rules: tuple[ScopeRule, ...] = (ARTICLE_RULE,),
    infer: bool = True,
    compare_sources: bool = False,
    article_named: bool = False,
    per_side: bool = False,
    named_document: str | None = None,
    topic_label: bool = False,
    year_sides: bool = False,
    article_sides: bool = False,
) -> Scope | None:
    """The user's `docs` if given; else the source the question names (unless it asks two things); else None.

    `rules` are the kinds of source a question may name (`scope_rules` of the corpus profile). With
    `compare_sources`, a date names the documents of that date too ("the May 2023 statement" beside "the
    article", "the Jan 2023 and Apr 2024 statements"), and of two named sources where one holds the other
    ("the White House fact sheet"), only the narrower is a side. With `article_named`, a question about the article
    as a whole names it in any wording ("what's the article about?", "summarize the op-ed"): one naming no
    country nor any other name, which may be another source or the article's subject. `per_side`: beside one
    source named, a month and year dating other documents names a second source ("the op-ed ... the Sept 2023
    statement"), and so does a year after "the" ("the 2024 statement"). `named_document`: the one document the
    question names by its title's words, date and countries (`named_document.named_document`): it takes the place
    of every named source that holds it ("the April 2024 joint statement" is that one statement). `topic_label`: a
    leading "topic:" is no first question of two. `year_sides`: two years and the countries a question names are
    two sources, the documents of each year whose title names exactly those countries ("the US on Japan in 2023
    vs 2024"). `article_sides`: beside another source named, a bare "article" or the article's author's surname
    ("Agarwal on Indonesia vs ...") names the article as one side (`article_named_loosely`).
    """
    if docs:
        doc_ids = resolve_documents(docs, documents)
        return Scope(", ".join(doc_ids), doc_ids, explicit=True)
    asks = TOPIC_LABEL.sub("", question.strip()) if topic_label else question.strip()
    if not infer or MULTI_PART.search(asks):
        return None
    # Every source the question names: "the article's view against the White House's" reads both.
    named: list[tuple[str, tuple[str, ...]]] = []
    paired: list[tuple[str, tuple[str, ...]]] = []
    pairs = ARTICLE_WORD if named_document is not None else PAIRED
    for rule in rules:
        # Only the article's rule reads the bylines (every document's, so not once per rule).
        if (
            rule is ARTICLE_RULE
            and not rule.cue.search(question)
            and (pairs.search(question) or (article_sides and article_named_loosely(question, documents)))
        ):
            doc_ids = tuple(
                sorted(d for d, meta in documents.items() if rule.value.search(str(meta.get(rule.field, ""))))
            )
            paired += [(rule.label, doc_ids)] if doc_ids else []
        elif rule.cue.search(question):
            doc_ids = tuple(
                sorted(d for d, meta in documents.items() if rule.value.search(str(meta.get(rule.field, ""))))
            )
            if doc_ids:
                named += dated_sides(question, doc_ids, documents) or [
                    (rule.label, dated(question, doc_ids, documents))
                ]
    folded = _fold(question)
    titled = tuple(sorted(d for d, meta in documents.items() if _names_title(folded, records.title(meta))))
    # A title contained in the question ("joint leaders' statement") is read as the document named by all of
    # its words, when that is another.
    if titled and (named_document is None or named_document in titled):
        named.append((", ".join(titled), titled))
    if named_document is not None:
        named = _with_document(named, named_document, records.title(documents[named_document]))
    if compare_sources and not named:
        by_date = date_sources(question, tuple(sorted(documents)), documents)
        named = by_date if len(by_date) >= 2 or (by_date and paired) else []
        if year_sides and not named and not paired:
            named = country_year_sources(question, documents)
    if paired and (named or (article_named and _about_the_whole(question))):
        named += paired
    if compare_sources and per_side and len(named) <= 1:
        # "Vietnam's ties in the op-ed vs in the Sept 2023 statement", "the article and the 2024 statement": a
        # source named per side, one by its date.
        known, extra = named or paired, []
        held = {d for _, ids in known for d in ids}
        every = tuple(sorted(set(documents) - held))
        # A year that dates the named source is its own ("the 2023 joint statement"), not another source's.
        years = {records.date(documents[d])[:4] for d in held}
        # So does the month of the document the question names ("the June 2023 US-India statement").
        months = {records.date(documents[named_document])[:7]} if named_document else set()
        by_month = [
            s for s in date_sources(question, every, documents) if records.date(documents[s[1][0]])[:7] not in months
        ]
        for side in [*by_month, *year_sources(question, every, documents, years)]:
            if not any(set(side[1]) & set(ids) for _, ids in known + extra):
                extra.append(side)
        named = known + extra if len(known) + len(extra) >= 2 else named
    if compare_sources:
        named = narrowest(named)
    if not named:
        return None
    if len(named) == 1:
        return Scope(*named[0])
    union = tuple(sorted({d for _, ids in named for d in ids}))
    return Scope(" and ".join(label for label, _ in named), union, sides=tuple(named))


def _with_document(
    named: list[tuple[str, tuple[str, ...]]], doc_id: str, title: str
) -> list[tuple[str, tuple[str, ...]]]:
    """`named` with each source holding `doc_id` narrowed to it, or with it added when none holds it."""
    own = (title, (doc_id,))
    narrowed = [own if doc_id in ids else (label, ids) for label, ids in named]
    return list(dict.fromkeys(narrowed if own in narrowed else [*named, own]))


def article_named_loosely(question: str, documents: dict[str, dict]) -> bool:
    """True when the question names the article by a bare word ("article vs white house") or by the surname of an
    article's author ("Agarwal on Indonesia"): a side of a comparison only beside another source named."""
    if BARE_ARTICLE.search(question):
        return True
    bylines = [records.author(m).split() for m in documents.values() if records.kind(m) == "article"]
    surnames = {byline[-1] for byline in bylines if byline}
    return any(re.search(rf"\b{re.escape(name)}\b", question, re.I) for name in surnames)


def _about_the_whole(question: str) -> bool:
    """True for a question naming no country and no name past its first word: "what's the op-ed's main point?"."""
    return not find_countries(question) and not re.search(r"(?<=\w\W)\s*\b[A-Z][a-z]", question)


def asked_dates(question: str) -> tuple[str, ...]:
    """The dates a question names, as ISO prefixes: "January 2023" -> "2023-01", a bare "2023" -> "2023"."""
    dated = [f"{year}-{MONTHS.index(month.casefold()[:3]) + 1:02d}" for month, year in MONTH_YEAR.findall(question)]
    bare = YEAR.findall(MONTH_YEAR.sub(" ", question))
    return tuple(dict.fromkeys(dated + bare))


def dated(question: str, doc_ids: tuple[str, ...], documents: dict[str, dict]) -> tuple[str, ...]:
    """`doc_ids` narrowed to those dated when the question says ("the 2023 joint statement", "of November 2022").

    Left as they are when the question names no date, or when none of them carries that date.
    """
    dates = asked_dates(question)
    if not dates:
        return doc_ids
    return tuple(d for d in doc_ids if records.date(documents[d]).startswith(dates)) or doc_ids


def dated_sides(
    question: str, doc_ids: tuple[str, ...], documents: dict[str, dict]
) -> list[tuple[str, tuple[str, ...]]]:
    """One (date, documents) side per date the question gives, when two or more dates each find documents.

    "the January 2023 and April 2024 statements" are two sources to set side by side, not one.
    """
    sides = []
    for date in asked_dates(question):
        found = tuple(d for d in doc_ids if records.date(documents[d]).startswith(date))
        if found:
            sides.append((date, found))
    return sides if len(sides) >= 2 else []


def date_sources(
    question: str, doc_ids: tuple[str, ...], documents: dict[str, dict]
) -> list[tuple[str, tuple[str, ...]]]:
    """One side per month-and-year the question gives that dates some of `doc_ids`, labelled with their titles.

    Only a month and year picks out a statement; a bare year would take in a whole year of documents.
    """
    sides = []
    for month, year in MONTH_YEAR.findall(question):
        date = f"{year}-{MONTHS.index(month.casefold()[:3]) + 1:02d}"
        found = tuple(d for d in doc_ids if records.date(documents[d]).startswith(date))
        if found and found not in (ids for _, ids in sides):
            sides.append((", ".join(records.title(documents[d]) for d in found), found))
    return sides


def year_sources(
    question: str, doc_ids: tuple[str, ...], documents: dict[str, dict], taken: set[str] = frozenset()
) -> list[tuple[str, tuple[str, ...]]]:
    """One side per year that follows "the" ("the 2024 statement", "the 2024 trilateral one"): a source named by
    its year, labelled with the titles of `doc_ids` dated that year; a year elsewhere ("in 2022") dates an event,
    and a `taken` year dates a source named already."""
    sides = []
    for year in set(SOURCE_YEAR.findall(MONTH_YEAR.sub(" ", question))) - taken:
        found = tuple(d for d in doc_ids if records.date(documents[d]).startswith(year))
        if found and found not in (ids for _, ids in sides):
            sides.append((", ".join(records.title(documents[d]) for d in found), found))
    return sides


def country_year_sources(question: str, documents: dict[str, dict]) -> list[tuple[str, tuple[str, ...]]]:
    """One side per year (or month and year) the question gives, of the documents dated then whose title names
    exactly the question's two or more countries; [] unless two years each find some.

    "What did the US say about Japan in 2023 vs 2024" sets the US-Japan statement of each year side by side: the
    countries pick the kind of document, the years which of them.
    """
    asked = set(find_countries(question))
    if len(asked) < 2:
        return []
    own = tuple(sorted(d for d, meta in documents.items() if set(find_countries(records.title(meta))) == asked))
    sides = dated_sides(question, own, documents)
    return [(", ".join(records.title(documents[d]) for d in ids), ids) for _, ids in sides]


def narrowest(named: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, tuple[str, ...]]]:
    """The named sources less any that holds another: "the White House fact sheet" is the fact sheet."""
    sets = [set(ids) for _, ids in named]
    kept = [side for side, ids in zip(named, sets, strict=True) if not any(other < ids for other in sets)]
    return list({ids: (label, ids) for label, ids in reversed(kept)}.values())[::-1]


def _names_title(folded_question: str, title: str) -> bool:
    """True when the question contains the document's title (or its main title, before a colon) of 2+ words."""
    for form in {title, title.split(":")[0]}:
        folded = _fold(form)
        if len(folded.split()) >= 2 and f" {folded} " in f" {folded_question} ":
            return True
    return False


def _fold(text: str) -> str:
    return " ".join(WORD.findall(text.casefold().replace("’", "'")))


def quoted_phrases(question: str) -> list[str]:
    """Phrases the question puts in quotes, folded for matching."""
    return [p for m in QUOTED.finditer(question) if (p := _fold(m.group("phrase")))]


def question_ngrams(question: str) -> list[str]:
    """Adjacent pairs of the question's content words, folded: the candidates for a rare exact match.

    A pair of two country names ("Japan-UK") says which countries, not what about them: it is left out.
    """
    words = re.findall(r"[A-Za-z0-9]+", question.replace("’", "'"))
    return [
        f"{a} {b}".casefold()
        for a, b in itertools.pairwise(words)
        if a.casefold() not in QUESTION_WORDS
        and b.casefold() not in QUESTION_WORDS
        and len(a + b) > 6
        and not (canonical_country(a) and canonical_country(b))
    ]


# A name the question writes as one: an acronym ("EDCA"), or a capitalised word past its first ("Kishida").
NAME_WORD = re.compile(r"\b[A-Z]{3,}(?=s?\b)|(?<=\w[\s,;:(])[A-Z][a-z]{3,}\b|(?<=\w\s\()[A-Z][a-z]{3,}\b")


def question_names(question: str) -> list[str]:
    """The question's one-word names, folded, countries aside (they are read by the country filter)."""
    return [
        n.casefold()
        for n in NAME_WORD.findall(question)
        if n.casefold() not in QUESTION_WORDS and not canonical_country(n)
    ]


def without_scope_words(question: str, rules: tuple[ScopeRule, ...] = (ARTICLE_RULE,)) -> str:
    """The question less the words that name its source ("according to the article", "the op-ed"), no topic."""
    for rule in rules:
        question = rule.cue.sub(" ", question)
    # "vs" sets two sources side by side; it names no topic (and no chunk holds it, so it read as off the corpus).
    return VERSUS.sub(" ", PAIRED.sub(" ", question))


def without_dates(question: str) -> str:
    """The question less the month-and-year dates it names ("in January 2023"), which pick a source, not a topic."""
    return " ".join(MONTH_YEAR.sub(" ", question).split())


def exact_matches(question: str, candidates: list[tuple[str, str]], rare: int, names: bool = False) -> dict[str, str]:
    """chunk id -> the phrase it contains verbatim: any quoted phrase, or an n-gram only `rare` or fewer contain.

    `candidates` are (chunk id, text), BM25's best: a chunk holding both words of an n-gram ranks high
    there, so an n-gram in more than `rare` of them is common, whatever the rest of the corpus holds.
    With `names`, a one-word name of the question (`question_names`) that `rare` or fewer hold counts too: "what
    are the new EDCA sites for?" must read the one passage naming the EDCA, however its other words rank.
    """
    if not candidates:
        return {}
    texts = {chunk_id: f" {_fold(text)} " for chunk_id, text in candidates}
    found: dict[str, str] = {}
    for phrase in quoted_phrases(question):
        for chunk_id, text in texts.items():
            if f" {phrase} " in text:
                found.setdefault(chunk_id, phrase)
    if rare:
        for ngram in [*question_ngrams(question), *(question_names(question) if names else [])]:
            holders = [chunk_id for chunk_id, text in texts.items() if f" {ngram} " in text]
            if len(holders) <= rare:
                for chunk_id in holders:
                    found.setdefault(chunk_id, ngram)
    return found
