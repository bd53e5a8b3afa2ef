"""What a question asks for (a date, an amount, a number, a name, a place, a person) and whether a sentence
states one.

The abstention check reads it ("the sources don't give the date") and so does the extractive composer (a "when"
question is answered by a dated sentence), with the same patterns: the check reads a one-part question only
(`asked_details`), the composer every clause of the turn's own question (`asked_anywhere`).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from ingest.countries import country_mentions, find_countries
from rag.answering.asked_kind import stem
from rag.retrieval.scope import MULTI_PART
from rag.retrieval.wording import commonest_words, fold_spelling, function_words

MONTH = r"January|February|March|April|May|June|July|August|September|October|November|December"
MONTH_LOOKBEHIND = "|".join(f"{m} " for m in MONTH.split("|")).replace("|", ")(?<!")  # "July 12" is a date
DATE = re.compile(rf"\b(1[89]|20)\d\d\b|\b({MONTH})\b")
MONEY = re.compile(r"[$¥€£]|\b(JPY|USD|yen|dollars?|billion|million|trillion|percent|per cent)\b|\d%", re.I)
# A count, not a year nor the day of a date ("July 12") nor a numbered item ("(1)").
COUNT = re.compile(
    rf"(?<!\()(?<!{MONTH_LOOKBEHIND})(?<![A-Za-z]-)(?<![A-Za-z])\b(?!(?:19|20)\d\d\b)\d[\d,.]*\b(?!\))"
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


def proper_nouns(sentence: str, question: str, countries: bool) -> list[str]:
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
# An amount asked "in baht", "into rupees": a currency's name closing the question (not "in sum, ...").
IN_CURRENCY = re.compile(r"\b(?:in|into|as)\s+(?:\w+\s+)?(?P<word>[a-z]+)\s*[?.!]*\s*$", re.I)


@functools.cache
def _currency_words() -> frozenset[str]:
    """The last word of every ISO 4217 currency's name, in lower case: "baht", "rupiah", "peso", "dong"."""
    import pycountry

    return frozenset(c.name.split()[-1].casefold() for c in pycountry.currencies)


def _asked_currency(question: str) -> str | None:
    """The currency other than dollars, yen, euros and pounds that an amount is asked in ("in baht"), or None."""
    match = IN_CURRENCY.search(question)
    word = match.group("word").casefold() if match else ""
    for form in (word, word.removesuffix("s"), word.removesuffix("es")):  # rupees, pesos, baht
        if form in _currency_words() and form not in {"dollar", "yen", "euro", "pound"}:
            return form
    return None


def _has_amount(sentence: str, question: str) -> bool:
    if not (MONEY.search(sentence) and any(c.isdigit() for c in sentence)):
        return False
    if (currency := _asked_currency(question)) is not None:
        return bool(re.search(rf"\b{currency}", sentence, re.I))
    wanted = CONVERTED.search(question)  # "the yen pledge in US dollars" asks for dollars
    figures = re.findall(r"\d[\d,.]*\d|\d", question) if wanted else []
    if figures and not any(re.search(rf"(?<![\d.,]){re.escape(f)}(?![\d]|[.,]\d)", sentence) for f in figures):
        return False  # a conversion of the question's own figure: only a sentence stating that figure gives it
    asked = [given for asks, given in CURRENCIES if asks.search(wanted.group(0) if wanted else question)]
    return not asked or any(given.search(sentence) for given in asked)


# A number right after a capitalised word inside a sentence is a label, not a count: "Mk 2", "Article 5".
LABELLED = re.compile(r"(?<=[\w,;:] )[A-Z][a-z]+\s$")


def _has_number(sentence: str, question: str) -> bool:
    return any(
        m.group(0).casefold() not in _given(question) and not LABELLED.search(sentence, 0, m.start())
        for m in COUNT.finditer(sentence)
    )


def _has_person(sentence: str, question: str) -> bool:
    # "Who" is answered by people and by the countries and bodies that act: any proper noun not asked about.
    return bool(proper_nouns(sentence, question, countries=True))


def _has_place(sentence: str, question: str) -> bool:
    asked = set(find_countries(question))
    return bool(set(find_countries(sentence)) - asked) or bool(proper_nouns(sentence, question, countries=False))


def _has_name(sentence: str, question: str) -> bool:
    """A quoted term, a code like F-35, or two capitalised words in a row (not countries) that the question lacks."""
    if QUOTED_TERM.search(sentence) or any(
        m.group(0).casefold() not in _given(question) for m in CODE.finditer(sentence)
    ):
        return True
    nouns = proper_nouns(sentence, question, countries=False)
    return any(f"{a} {b}" in sentence for a, b in itertools.pairwise(nouns))


@dataclass(frozen=True)
class Detail:
    """A kind of detail a question can ask for: how to spot the asking, and a sentence that gives it."""

    name: str  # as in "The sources don't give the date."
    asks: re.Pattern[str]
    carries: Callable[[str, str], bool]  # (sentence, question) -> whether the sentence states one
    words: frozenset[str]  # the question words that ask for it; they aren't part of the topic
    figure: bool = False  # a date, an amount or a number: only a sentence stating one can answer


DETAILS = (
    Detail(
        "the date",
        # "When did...", not "How did Manila respond when it felt...".
        re.compile(
            r"^\W*(and |so |but )?when\b|\bwhen (did|was|were|is|are|will|does|do|has|have|had)\b|\bby when\b"
            r"|\b(what|which)(\s+\w+)?\s+(year|yr|date|day|month)\b|\bin (what|which) year\b",
            re.I,
        ),
        _has_date,
        frozenset({"when", "year", "yr", "date", "day", "month"}),
        figure=True,
    ),
    Detail(
        "the amount",
        re.compile(
            r"\bhow much\b|\bhow (big|large)\b|\b(total|what) (value|amount|cost|sum)\b|\bcost\b"
            # "What was the value of the trade?", "what is the total amount": the same question, a verb between.
            r"|\b(what|which) (is|was|are|were|will be) the (total |overall )?(value|amount|sum)\b"
            r"|\b(what|how much)\b[^?]*\b(worth|budget)\b(?!\s+(it|noting|the))"
            # "the total price tag of the corridor", "at what price": a price is an amount; "why did prices rise" isn't.
            r"|\bprice tag\b|\btotal price\b|\b(what|how much)\b[^?]*\bprice\b|\b(dollar|monetary|cash) value\b"
            r"|\bin (us |u\.s\. )?(dollars|yen|euros|pounds)\b|\bhow many (us |u\.s\. )?(dollars|yen|euros|pounds)\b",
            re.I,
        ),
        _has_amount,
        frozenset(
            {
                "much",
                "big",
                "large",
                "value",
                "amount",
                "cost",
                "sum",
                "total",
                "worth",
                "budget",
                "price",
                "tag",
                "dollar",
            }
        ),
        figure=True,
    ),
    Detail(
        "the number",
        re.compile(r"\bhow many\b|\bwhat number\b", re.I),
        _has_number,
        frozenset({"many", "number"}),
        figure=True,
    ),
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
        # (case-sensitive there: "who is the Thai prime minister?" and "who is Australia's..." ask for one).
        re.compile(
            r"^\s*who\b(?!\s+(is|was|are|were)\s+(?-i:[A-Z])[\w.-]*\b(?!['’]))"
            r"|\bby whom\b|\bwhich (leader|official|person)\b",
            re.I,
        ),
        _has_person,
        frozenset({"who", "whom", "leader", "official", "person", "wrote", "written", "author", "writer"}),
    ),
)


# "Who wrote it and what's her background?": a second question word and its verb after a clause, with no comma
# ("When and where was it held?" asks one thing). Only the detail check reads it: the scope and the parts keep
# "what does the article say about X and what does the White House say?" one question with two sides.
SECOND_QUESTION = re.compile(
    r"^\s*\S+\s+\S+.*\s+and\s+(what|how|when|where|who|why)(['’]s|\s+(is|was|are|were|did|does|do|has|have))\b",
    re.I,
)


def asked_details(question: str) -> list[Detail]:
    """The kinds of detail the question asks for (none for most "what"/"how" questions, nor for two-part ones).

    In "Who belongs to the Quad, and what does the article say about India?" the person is asked of
    one part only, and the passages about the other part can't be expected to give one.
    """
    if MULTI_PART.search(question.strip()) or SECOND_QUESTION.search(question):
        return []
    return asked_anywhere(question)


def asked_anywhere(question: str) -> list[Detail]:
    """The kinds of detail any clause of the first question asks for: "When did they first meet, and where?" a date.

    A second question is the earlier turn a follow-up was read with ("how many? what's EDCA?"): not asked now.
    """
    first = question.split("?", 1)[0]
    return [d for d in DETAILS if d.asks.search(first)]


# "How many American troops are...", "what number of ships": the words naming what is counted follow.
COUNTED = re.compile(r"\b(?:how many|what number of)\s+(?P<words>[^?.,;:]*)", re.I)
GENERIC_WORDS = 300  # the commonest English words (not stop words) that name no particular thing: "people", "years"
WINDOW = 4  # content words from a count to its noun at most: "54,000 U.S. military personnel"


def counted_words(question: str, acronyms: bool = True) -> list[str]:
    """The lower-case words naming what a "how many" question counts, up to the first function word.

    "How many American troops are stationed" counts "troops" ("American" is a name: a count of it is no count of
    troops); "how many countries signed" gives "countries" and "signed", either of which a count may stand by.
    With `acronyms`, a word in capitals is a name, not a function word: "how many US troops" counts "troops" ("US"
    is not "us").
    """
    match = COUNTED.search(question.split("?", 1)[0])
    words: list[str] = []
    for word in re.findall(r"[A-Za-z][\w'’-]*", match.group("words")) if match else []:
        if word.lower() in function_words() and not (acronyms and len(word) > 1 and word.isupper()):
            break
        if word.islower() and len(words) < 3:
            words.append(word)
    # "How many people ...", "how many years": a word this common names no particular thing; any count may be it
    # ("1,800 infrastructure practitioners").
    return [] if words and words[0].lower() in commonest_words(GENERIC_WORDS) else words


# Where a count's noun phrase ends: a comma, semicolon, colon or dash before a space ("in 50 years, with the first
# students" counts years, not students); the periods of "U.S." don't end it.
PHRASE_END = re.compile(r"[,;:–—](?=\s)|\s-\s|[.!?](?=\s+[A-Z]|\s*$)")


def counts_one_of(
    sentence: str, question: str, counted: list[str], alike: Callable[[str, str], bool], phrase: bool = True
) -> bool:
    """True when a count in `sentence` stands a few words before a word like one `counted` names.

    "How many submarines...?" is not answered by "it will buy 12 patrol boats" nor "$8 million"; it is by
    "four submarines" or, with `alike` (embedding similarity), "four underwater vessels". Amounts of money and
    percentages are no counts. With `phrase`, the noun must stand in the count's own phrase, before a comma.
    """
    sentence = without_amounts(sentence)
    words = [
        (m.start(), w)
        for m in re.finditer(r"[A-Za-z][A-Za-z'’]*", sentence)
        if (w := m.group(0).lower()) not in function_words()
    ]
    for m in COUNT.finditer(sentence):
        if m.group(0).casefold() in _given(question) or LABELLED.search(sentence, 0, m.start()):
            continue
        end = len(sentence)
        if phrase and (stop := PHRASE_END.search(sentence, m.end())):
            end = stop.start()
        # The noun follows its count, past a few content words: "400 million safe and effective COVID-19 vaccine
        # doses" counts doses; "naval exercises between three countries" counts countries, not ships.
        near = [w for start, w in words if m.end() <= start < end and w != m.group(0).lower()][:WINDOW]
        if any(_same_word(w, c) or alike(w, c) for w in near for c in counted):
            return True
    return False


def _same_word(word: str, other: str) -> bool:
    return word.removesuffix("s") == other.removesuffix("s")


def same_stem(word: str, other: str) -> bool:
    """Two forms of one word, by their Snowball stem: "vaccine" and "vaccinations", "cooperative" and
    "cooperation"."""
    return stem(word) == stem(other)


# An amount is no count: "how many engineers" is not answered by "$400 million" nor "30%".
AMOUNT_SPAN = re.compile(
    r"[$¥€£]\s?\d[\d,.]*(\s*(million|billion|trillion))?"
    r"|\b\d[\d,.]*\s*(million\s+|billion\s+|trillion\s+)?(dollars|yen|euros?|pounds|USD|JPY|percent|per cent)\b"
    r"|\b(USD|JPY|US\$)\s?\d[\d,.]*(\s*(million|billion|trillion))?|\d[\d,.]*\s?%",
    re.I,
)


def without_amounts(sentence: str) -> str:
    """`sentence` less its amounts of money and percentages, for reading its counts."""
    return AMOUNT_SPAN.sub(" ", sentence)


# A clause break: a figure in "X proposed to train 60,000 engineers, and Y announced ..." is X's, not Y's.
CLAUSE_BREAK = re.compile(r";\s+|,\s+(?:and|but|while|whereas)\s+|\s+(?:while|whereas)\s+")


def clauses(sentence: str) -> list[str]:
    """The clauses of a sentence, split at semicolons and at a comma before a conjunction."""
    return [c for c in CLAUSE_BREAK.split(sentence) if c and c.strip()]


# An office a "who" question asks the holder of: "who is Australia's foreign minister?"
OFFICE = re.compile(
    r"\b(?:(?P<role>[a-z]+)\s+)?(?P<office>minister|president|secretary|ambassador|chancellor|premier|governor"
    r"|senator|chairman|chairwoman|director|commissioner|spokesperson|spokesman|envoy|king|queen)\b",
    re.I,
)
# A role word that names no office by itself ("the", "its", "Thailand's" are not part of the title).
_ROLELESS = re.compile(r"^(the|a|an|its|their|his|her|our|your|then|former|current|new|which|what|whose|of)$", re.I)


# An office's initials, as readers type them ("the thai pm"): read as the office written out.
OFFICE_INITIALS = {"pm": "prime minister", "fm": "foreign minister", "vp": "vice president"}


def asked_office(question: str, initials: bool = True) -> str | None:
    """The office whose holder a who-question asks for ("foreign minister"), or None; with `initials`, also one
    asked by its initials ("who is the thai pm?" asks for a prime minister)."""
    if not re.match(r"^\W*(and\s+)?who\b", question, re.I):
        return None
    if initials:
        question = re.sub(
            rf"\b({'|'.join(OFFICE_INITIALS)})\b", lambda m: OFFICE_INITIALS[m.group(0).lower()], question, flags=re.I
        )
    match = OFFICE.search(question)
    if match is None:
        return None
    role = match.group("role") or ""
    keep = role and not _ROLELESS.match(role) and not find_countries(role)
    return f"{role} {match.group('office')}".lower() if keep else match.group("office").lower()


def names_office_holder(sentence: str, office: str) -> bool:
    """Whether `sentence` names someone holding `office`: "Foreign Minister Penny Wong", "Penny Wong, the foreign
    minister". British and American spellings of the office are one ("defence minister")."""
    *role, title = office.split()
    name = r"[A-Z][\w’'.-]+"
    held = rf"(?:(?P<role>[A-Za-z]+)\s+)?(?i:{title})"
    wanted = fold_spelling(role[0]) if role else ""
    for pattern in (rf"{held}\s+{name}", rf"{name}(?:\s+{name})*,\s+(?:[^,]{{0,40}}?\s)?{held}\b"):
        if any(fold_spelling(m.group("role") or "") == wanted or not role for m in re.finditer(pattern, sentence)):
            return True
    return False


# "What month ...?", "which day", "when exactly ..., month?": a year alone doesn't give it.
ASKS_PRECISION = re.compile(
    r"\b(?:what|which|exact|exactly|the\s+exact)\s+(?P<unit>month|day)\b(?!-)|[,(]\s*(?P<tail>month|day)\s*\??\s*$",
    re.I,
)
MONTH_NAME = re.compile(
    rf"\b(?:{MONTH}|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\.?)(?![a-z])|\b(?:19|20)\d\d-\d\d\b"
)
DAY_OF_MONTH = re.compile(
    rf"\b(?:{MONTH})\s+\d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{MONTH})\b|\b(?:19|20)\d\d-\d\d-\d\d\b"
    r"|\b(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)


def asked_precision(question: str) -> str | None:
    """ "month" or "day" when a date question asks for that much ("what month did ...?"), else None."""
    match = ASKS_PRECISION.search(question.split("?", 1)[0] + "?")
    return (match.group("unit") or match.group("tail")).lower() if match else None


def gives_precision(sentence: str, precision: str) -> bool:
    """Whether `sentence` dates something to the `precision` asked: a month name for "month", a day of a month (or
    a weekday) for "day"."""
    return bool((DAY_OF_MONTH if precision == "day" else MONTH_NAME).search(sentence))


# "When will ...?" asks for a date still to come: a past date ("requested on September 8, 2023") doesn't give it.
ASKS_FUTURE = re.compile(r"\bwhen\s+(will|shall)\b|\bwhen\b.*\b(due|expected|scheduled|set to)\b", re.I)
FUTURE = re.compile(
    r"\b(will|shall|to be|going to|expected|scheduled|slated|planned|plans? to|intends? to|aims? to|due|next"
    rf"|upcoming|set to|by (the end of )?((early|mid|late)[- ]|({MONTH}) )?(1[89]|20)\d\d)\b",
    re.I,
)

YEAR = re.compile(r"\b(1[89]|20)\d\d\b")


def gives_future_date(sentence: str, question: str, document_date: str) -> bool:
    """Whether `sentence` gives a date still to come when its document was written: it speaks of the future, or
    names a year after the document's."""
    if FUTURE.search(sentence):
        return True
    year = document_date[:4]
    return year.isdigit() and any(int(m.group(0)) > int(year) for m in YEAR.finditer(sentence))


# "met today", "this week": the sentence's date is its dated document's (a readout, a statement).
RELATIVE_DATE = re.compile(r"\b(today|tonight|this (morning|afternoon|evening|week)|later that day)\b", re.I)
# A year opening a name of capitalised words ("the 2022 ASEAN-U.S. Special Summit", "with 2022 ASEAN Chair Prime
# Minister Hun Sen") names something; it dates no event. After a month, a day or a preposition ("in 2023 Prime
# Minister Kishida ...") it is a date.
NAMED_YEAR = re.compile(
    rf"(?<![Ii]n )(?<![Bb]y )(?<![Ss]ince )(?<![Uu]ntil )(?<![Ff]rom )(?<![Oo]f )(?<![,\d] )(?<!{MONTH_LOOKBEHIND})"
    r"\b(?:1[89]|20)\d\d(?=\s+[A-Z][\w.’'-]*\s+[A-Z])"
    # After an article or a possessive the year qualifies a noun ("ahead of the 2023 elections", "its 2022
    # strategy"): it dates that thing, not the event asked about.
    r"|(?<=\b(?:the|its|our) )(?:1[89]|20)\d\d\b(?=\s+[\w-])"
)


@dataclass(frozen=True)
class Dating:
    """How the composer reads a sentence's date: Settings' `relative_dates` and `named_years` switches."""

    relative: bool = True  # "met today" in a document dated 2022-11-12 is dated 12 November 2022
    named_years: bool = True  # a year opening a capitalised name is no date


def spoken_date(iso: str) -> str:
    """ "2022-11-12" as "12 November 2022"; '' for what is no full ISO date."""
    match = re.fullmatch(r"((?:1[89]|20)\d\d)-(\d\d)-(\d\d)", iso.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        return ""
    year, month, day = match.groups()
    return f"{int(day)} {MONTH.split('|')[int(month) - 1]} {year}"


def relative_date(sentence: str, date: str, dating: Dating) -> str:
    """The date a sentence saying "today"/"this week" means: its document's, spoken; '' when none."""
    return spoken_date(date) if dating.relative and RELATIVE_DATE.search(sentence) else ""


def as_dated(sentence: str, date: str, dating: Dating) -> str:
    """The sentence as a date question reads it: years opening a name blanked, its document's date after a "today".

    Only for the checks (`Detail.carries`, `answer_fit`); the answer shows the sentence as written.
    """
    if dating.named_years:
        sentence = NAMED_YEAR.sub("", sentence)
    if when := relative_date(sentence, date, dating):
        sentence = f"{sentence} ({when})"
    return sentence


# "Which newspaper published ...?", "who published it", "what outlet ran the op-ed": the document's publisher.
# "ran" only after a word for a publisher: "which ships ran aground?" asks no such thing.
ASKS_PUBLISHER = re.compile(
    r"\bwho published\b|\b(which|what)\s+(\w+\s+)?(or\s+\w+\s+)?published\b"
    r"|\b(which|what)\s+(news)?(paper|outlet|site|website|magazine|journal|publication|publisher|media)\s+"
    r"(or\s+\w+\s+)?ran\b",
    re.I,
)


def asks_publisher(question: str) -> bool:
    """Whether the question asks who published a document ("which newspaper published the op-ed?")."""
    return bool(ASKS_PUBLISHER.search(question))


def known_publisher(publisher: str | None) -> bool:
    """Whether a document's front matter names its publisher ("unknown (opinion article ...)" names none)."""
    return bool(publisher) and not re.match(r"\s*(unknown|n/?a|none)\b", publisher or "", re.I)


# A dateline or header line opens a document: short, no sentence's closing stop ("20 May 2023, Hiroshima",
# "Hosted by the Prime Minister of Australia, the Hon Anthony Albanese MP").
HEADER_WORDS = 16
EMPHASIS = re.compile(r"[*_#]+")


def header_lines(text: str) -> list[str]:
    """The dateline block opening a document's first passage: its leading short lines that end no sentence nor
    link to a source, read only when one of them dates it (a heading alone is no dateline); markdown emphasis
    dropped."""
    return list(_header_lines(text))


@functools.lru_cache(maxsize=256)
def _header_lines(text: str) -> tuple[str, ...]:
    # Cached: the composer asks it of each candidate sentence of a document's first passage.
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        line = " ".join(EMPHASIS.sub(" ", paragraph).split())
        if not line:
            continue
        if len(line.split()) > HEADER_WORDS or re.search(r"[.!?:;]$|https?://|\bwww\.", line):
            break  # a sentence, or a link to the source: the dateline block is over
        lines.append(line)
    return tuple(lines) if any(DAY_OF_MONTH.search(line) or YEAR.search(line) for line in lines) else ()


def dated_title(title: str) -> str:
    """The part of a title that is a dateline ("Biden-Hun Sen meeting, Phnom Penh, 12 November 2022" of
    "...: White House readout and remarks"), or ''."""
    head = re.split(r":\s", title or "", maxsplit=1)[0]
    return head if DAY_OF_MONTH.search(head) else ""
