"""Question shapes (fact, list, overview, comparison, reason, yes/no) and multi-part splitting, by rule.

Deterministic on purpose: every backend sees the same shape, and a rule that misfires can be read and fixed.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

from ingest.countries import LEADERS, country_mentions
from rag.answering.condense import AUTHOR_WORDS, AUX, PERSON_PRONOUN
from rag.answering.details import asked_anywhere

Shape = Literal["fact", "list", "overview", "comparison", "reason", "yesno"]
SHAPES: tuple[Shape, ...] = ("fact", "list", "overview", "comparison", "reason", "yesno")

COMPARISON = re.compile(
    r"\b(compare[ds]?|comparison|comparing|differ(s|ed)?|differences?|different(ly)?|contrast(s|ed)?|versus|vs\.?"
    r"|similar(ities|ity)?|in common|alike)\b",
    re.I,
)
REASON = re.compile(
    r"^\s*(and\s+)?why\b|\bwhat (explains|drives|drove|motivates|motivated|is behind|lies behind|are the reasons?"
    r"|is the reason|reasons?)\b|\bfor what reasons?\b|\bhow come\b|\breasons? (for|behind|why)\b",
    re.I,
)
LIST = re.compile(
    r"\b(which|what)\s+(\w+\s+){0,3}?(countries|nations|partners|members|agreements|deals|areas|fields|sectors|concerns"
    r"|efforts|regions|threats|capabilities|priorities|items|companies|places|investments|exercises|activities"
    r"|projects|initiatives|steps|measures|commitments|programs|programmes|exercises|issues|topics|ways|pledges"
    r"|documents|statements|sources|organi[sz]ations|groupings|leaders|arrangements|treaties)\b"
    r"|^\s*(please\s+)?(name|list|enumerate)\b|\bname (the|all|some|three|two|four|five)\b",
    re.I,
)
OVERVIEW = re.compile(
    r"\btell me (about|more)\b|\boverview\b|\bsummar(y|i[sz]e)\b|\bsum up\b|\brundown\b|\brecap\b|\bgist\b"
    r"|\btl;?\s?dr\b|\bin a nutshell\b|\bin brief\s*[?.!]*\s*$|\bkey (points|takeaways)\b"
    r"|\bbig picture\b|\bdescribe\b|\bstate of\b|\b(relations?|relationship|ties)\b|\bmain (argument|point|idea)s?\b"
    r"|\bwhat(['’]?s| is| are|['’]re| has| have)\s+(\S+\s+){0,5}?(doing|done|happening|going on|up to)\b"
    r"|\bwhat do(es)? the (article|sources?|statements?) say about\b",
    re.I,
)
# "What's the fact sheet about?", "What came out of the summit?", "What does the vision statement say?": the whole
# of a thing asked for, in the words readers use (the phrase ends the question, so "what does X say about Y" stays).
OVERVIEW_ASKS = re.compile(
    r"\bwhat(['’]s| is| are|['’]re| was| were)\s+(\S+\s+){1,8}?about\s*[?.!]*\s*$"
    r"|\bwhat (came|has come|will come|come) out of\b|\bwhat (resulted|emerged) from\b"
    r"|\bwhat (does|do|did) (\S+\s+){1,8}?say\s*[?.!]*\s*$",
    re.I,
)
# "How do X and Y each ...", "what changed between 2023 and 2024": two things side by side.
SIDE_BY_SIDE = re.compile(
    r"^\s*how\b(?!\s+(many|much|long|often)\b).*\b(each|both)\b(?!\s+(sides?|leaders|countries)\s+(sign|agree|met))"
    r"|\bwhat changed between\b|\bhow (has|have|did) .* changed? between\b",
    re.I,
)
YESNO = re.compile(r"^\s*(is|are|does|do|did|has|have|was|were|can|could|will|would|should|had)\b", re.I)
QUESTION_WORD = re.compile(
    r"^\s*(what|which|who|whom|whose|how|when|where|why|is|are|does|do|did|has|have|was|were)\b", re.I
)
# "..., and with Italy?" / "...; and what about India?": a second part after a comma, semicolon or "and also".
PART_BREAK = re.compile(r"\s*(?:[,;]\s*(?:and\s+(?:also\s+)?)?|\s+and\s+also\s+)(?=\S)", re.I)
# "What is the IPMDA and how has it progressed?": a bare "and" before a whole question (or "with China and with
# the US") splits too, when the head is a question of three words or more ("When and where ..." stays whole).
BARE_AND = re.compile(r"\s+and\s+(?=\S)", re.I)
# What joins the two sides of a comparison: "Thailand and Cambodia", "Japan vs China", "to Japan and to the US".
PAIR = re.compile(r"\s*(?:,|and|or|vs\.?|versus|with|and with|and to|and in|and for|from)\s+(?:the\s+)?", re.I)
# "Thailand or Vietnam", "Thailand's or Vietnam's": two countries offered as alternatives, each looked up.
ALTERNATIVE = re.compile(r"(?:['’]s?)?\s*,?\s+or\s+(?:the\s+)?", re.I)
PREPOSITION = re.compile(r"^(with|to|for|in|from|on|about|toward|towards|against|by)\s+", re.I)


def classify(question: str, open_what: bool = True, overview_asks: bool = True) -> Shape:
    """The question's shape, by the first rule that matches (comparison, reason, yes/no, list, overview).

    With `overview_asks`, "what's X about", "what came out of X" and "what does X say" ask for an overview. With
    `open_what`, "What did <someone> <do>?" with nothing after the verb ("What did Biden and Hun Sen talk
    about?", "What did the fact sheet announce?") asks for what they did, all of it: an overview.
    """
    if COMPARISON.search(question) or _versus(question) or SIDE_BY_SIDE.search(question):
        return "comparison"
    if REASON.search(question):
        return "reason"
    if YESNO.search(question):
        return "yesno"
    if LIST.search(question):
        return "list"
    if (
        OVERVIEW.search(question)
        or (open_what and _open_what(question))
        or (overview_asks and OVERVIEW_ASKS.search(question))
    ):
        return "overview"
    return "fact"


OPEN_WHAT = re.compile(r"^\s*what\s+(did|does|do|has|have|will)\s+(?P<body>.+?)\s*[?.!]*\s*$", re.I)
# Where and in which source it was done: "... agree in their January 2023 joint statement", "... say, per the op-ed".
PLACE_TAIL = re.compile(r",?\s+(in|at|during|from|according to|per)\s+.*$", re.I)
PARTICLES = frozenset({"to", "about", "on", "for", "with"})


def _open_what(question: str) -> bool:
    """True for "what did <a named subject> <verb> [about]?": at most two lower-case words after the last name,
    and no date, amount, number, place or person asked for."""
    match = OPEN_WHAT.match(question)
    if not match or asked_anywhere(question):
        return False
    words = PLACE_TAIL.sub("", match.group("body")).split()
    named = [i for i, word in enumerate(words) if word[:1].isupper()]
    if not named:
        return False
    after = [word for word in words[named[-1] + 1 :] if word.lower() not in PARTICLES]
    return 1 <= len(after) <= 2 and all(word.islower() for word in after)


def _versus(question: str) -> bool:
    return bool(re.search(r"\b\w+\s+(v|vs)\.?\s+\w+", question, re.I))


def comparison_entities(question: str, subject: str | None = None) -> list[str]:
    """The countries a comparison sets side by side; [] when it compares aspects of one relationship.

    In order of trust: countries in the possessive ("Japan's ... China's"), a pair joined by "and",
    "vs" or "with" ("Thailand and Cambodia"), then every country but the corpus's `subject` when two
    others are named.
    """
    mentions = country_mentions(question)
    possessive = [name for _, end, name in mentions if re.match(r"['’]s?(?![A-Za-z])", question[end : end + 3])]
    if len(set(possessive)) >= 2:
        return list(dict.fromkeys(possessive))
    for (_, end, first), (start, _, second) in itertools.pairwise(mentions):
        if first != second and PAIR.fullmatch(question[end:start]):
            return [first, second]
    others = list(dict.fromkeys(name for _, _, name in mentions if name != subject))
    return others if len(others) >= 2 else []


def alternatives(question: str) -> list[str]:
    """The two countries a question offers to choose between ("Which came first, Thailand or Vietnam?"), or []."""
    for (_, end, first), (start, _, second) in itertools.pairwise(country_mentions(question)):
        if first != second and ALTERNATIVE.fullmatch(question[end:start]):
            return [first, second]
    return []


def split_parts(question: str, bare_and: bool = True) -> list[str]:
    """A multi-part question as standalone parts; one part when it isn't one.

    "What did Japan agree with the US, and with Italy?" -> ["What did Japan agree with the US?",
    "What did Japan agree with Italy?"]. Only a tail that is a whole question, or a preposition and a
    country, splits: "How much did Japan pledge, and by when?" stays one question with two asked facts.
    With `bare_and`, a plain "and" splits as a comma does when the head is a question of three words or more.
    """
    body = question.strip()
    mark = "?" if body.endswith("?") else ""
    body = body.rstrip("?").strip()
    breaks = [(m, False) for m in PART_BREAK.finditer(body)]
    if bare_and:
        breaks += [(m, True) for m in BARE_AND.finditer(body)]
    for match, bare in sorted(breaks, key=lambda b: b[0].start()):
        head, tail = body[: match.start()].strip(), body[match.end() :].strip()
        if not head or not tail or (bare and len(head.split()) < 3):
            continue
        if QUESTION_WORD.match(tail) and len(tail.split()) >= 3 and QUESTION_WORD.match(head):
            return [f"{head}?", *split_parts(f"{tail}{mark}", bare_and)]
        prep = PREPOSITION.match(tail)
        if prep and _is_country_phrase(tail[prep.end() :]):
            keyword = prep.group(1).lower()
            at = [m.start() for m in re.finditer(rf"\b{keyword}\b", head, re.I)]
            if at and _is_country_phrase(head[at[-1] + len(keyword) :].strip()):
                # "commitments to Japan and to the Philippines differ": the verb after the last country is both's.
                after = tail[country_mentions(tail)[-1][1] :]
                shared = after if after.strip() and not after.lstrip().startswith((",", ";")) else ""
                return [f"{head}{shared}?", f"{head[: at[-1]].rstrip()} {tail}?"]
    return [question]


def _is_country_phrase(text: str) -> bool:
    """True when `text` is a country name, with at most an article or "the" before it ("the US")."""
    text = re.sub(r"^(the)\s+", "", text.strip(), flags=re.I)
    mentions = country_mentions(text)
    return bool(mentions) and mentions[0][0] == 0 and len(text[mentions[-1][1] :].split()) <= 2


# A name a later part's pronoun may stand for: an acronym ("IPMDA"), or capitalised words ("Nguyen Phu Trong").
NAME = re.compile(r"\b(?:[A-Z]{2,}s?|[A-Z][a-z]+(?:[-\s]+(?:of\s+)?[A-Z][a-z]+)*)\b")
# What a question asks of: the name right after its auxiliary ("What is the IPMDA", "what did Japan's navy ...").
# "it"/"them" as an object; with an auxiliary before it ("did it"), the subject that `SUBJECT` stands for.
OBJECT = re.compile(rf"(?P<before>(?P<aux>\b{AUX}\s+)?)\b(it|them)\b", re.I)
SUBJECT = re.compile(rf"\b{AUX}\s+(?:the\s+)?(?P<name>{NAME.pattern}(?:['’]s\s+{NAME.pattern})?)")


def carry_subject(parts: list[str]) -> list[str]:
    """Later parts with their pronouns replaced by the first part's subject, as a follow-up's would be.

    "he"/"him" take the author when the first part asks who wrote something, else the person it names
    ("Kishida"). "it"/"they" right after an auxiliary ("how has it progressed") take the name the first part asks
    of ("What is the IPMDA", "What did Japan pledge"); elsewhere "it"/"them" take the name the first part ends on
    ("How does the article frame North Korea, and how did the statement describe it?"). A part whose pronoun has
    nothing to take stays as asked; when that pronoun is a person's, the question is answered whole instead.
    """
    if len(parts) < 2:
        return parts
    first = parts[0]
    names = [m for m in NAME.finditer(first) if m.start() > 0 and not QUESTION_WORD.fullmatch(m.group(0))]
    spans = [(start, end) for start, end, _ in country_mentions(first)]
    leaders = {name for forms in LEADERS.values() for name in forms}
    # A leader's name is also a mention of their country; any other name a country mention covers is the country.
    people = [m.group(0) for m in names if m.group(0) in leaders or not (m.group(0).isupper() or _overlaps(m, spans))]
    # "Who wrote Diplomatic Overdrive, and what's her background?": a title is no person; the author is.
    person = "the author" if AUTHOR_WORDS.search(first) else (people[-1] if people else None)
    asked_of = SUBJECT.search(first)
    subject = asked_of.group("name") if asked_of else None
    ends_on = next((m.group(0) for m in names if not first[m.end() :].strip(" ?.!")), None)
    carried = [first]
    for part in parts[1:]:
        if person:
            # Every reference is named, not just the first: the name weighs in the part's retrieval as in the first's.
            part = re.sub(r"\b(his|her)\b(?=\s+\w)", f"{person}'s", part, flags=re.I)
            part = PERSON_PRONOUN.sub(person, part)
        elif PERSON_PRONOUN.search(part):
            return [_whole(parts)]
        if subject:
            part = re.sub(rf"\b({AUX})\s+(it|they)\b", rf"\1 {subject}", part, flags=re.I)
        if ends_on:
            part = OBJECT.sub(lambda m: m.group(0) if m.group("aux") else f"{m.group('before')}{ends_on}", part)
        carried.append(part)
    return carried


def _whole(parts: list[str]) -> str:
    """The parts read as one question again."""
    return " and ".join(part.rstrip(" ?") for part in parts) + "?"


def _overlaps(match: re.Match[str], spans: list[tuple[int, int]]) -> bool:
    return any(match.start() < end and start < match.end() for start, end in spans)
