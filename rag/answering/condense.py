"""Follow-up questions made standalone with the chat history, before retrieval.

Deterministic on purpose: it works the same for every backend (extractive has no LLM to ask)
and can't invent a topic. "And what about Vietnam?" after "What did Japan pledge to the
Philippines?" becomes "What did Japan pledge to Vietnam?"; a follow-up that asks something of its
own keeps it in front: "What defence arrangements has Japan made there? What did Japan pledge to
Vietnam?". The result drives every later step (retrieval, abstention, sentence choice, prompt).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Collection
from dataclasses import dataclass

from ingest.countries import country_mentions, is_leader
from rag.retrieval.conversation import without_sources
from rag.retrieval.wording import function_words

# A reply's sources list typed on its own line's end ("... [1]. Sources: [1] Title (Author, 2023)"): no one it names
# is who "he" or "she" is.
INLINE_SOURCES = re.compile(r"\bSources?:", re.I)
MONTHS = frozenset(m.casefold() for m in (*calendar.month_name[1:], *calendar.month_abbr[1:]))

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


ELLIPTIC = re.compile(r"^\s*(and|also|what about|how about|what of|same for)\b(?!.*\b(it|that|this|they)\b)", re.I)
# Words that make a follow-up a question of its own rather than a topic to add ("and when did it start?").
ASKS = re.compile(r"\b(who|whom|what|when|where|which|why|how|did|does|do|is|are|was|were)\b", re.I)
# A conversation about who wrote a document: its "she" is that author.
AUTHOR_WORDS = re.compile(r"\b(author|writer|wrote|written|columnist)\b", re.I)
# "What about India, did it ...?": the follow-up names the subject its pronoun stands for.
NAMED_SUBJECT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\s+(?P<subject>[^,?]{2,40}),\s*(?P<rest>.+)$", re.I)
PERSON_PRONOUN = re.compile(r"\b(she|he|her|him|his)\b", re.I)  # a person the conversation named
GROUP = re.compile(r"\b(they|them|their)\b", re.I)
# A turn that leans on the one before: an opening connective, or a reference with nothing to refer to yet.
LEANS = re.compile(
    r"^\s*(and|also|what about|how about|what of|same for|why|how so|really|then)\b"
    r"|\b(it|its|they|them|their|that|this|those|these|there|he|she|his|her|him)\b"
    r"|\b(the next|the last|the same|the other|that|this) one\b",
    re.I,
)


# "what jet engine deal did ...": the words between "what"/"which" and the head noun name the earlier topic.
AUX = r"(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could)\b"
WH_SLOT = re.compile(
    rf"^(?P<wh>\s*(?:what|which)\s+)(?P<topic>(?:(?!{AUX})[\w-]+\s+){{1,3}}?)(?P<head>(?!{AUX})[\w-]+\s+)(?={AUX})",
    re.I,
)
# A country named as what a turn asks about: "anything about North Korea?", "regarding the Philippines".
TOPIC_BEFORE = re.compile(r"(?<!what )(?<!how )\b(?:about|regarding|concerning)\s+(?:the\s+)?$", re.I)
# "that base", "this partnership": a thing the conversation named, by the last word of its name.
DEMONSTRATIVE = re.compile(r"\b(?:that|this)\s+(?P<noun>[a-z][\w-]{2,})\b", re.I)


@dataclass(frozen=True)
class Rules:
    """Which follow-up rewrites are on: Settings' `followup_*` switches (each an eval variant)."""

    slot: bool = True  # "and X?" takes the earlier question's topic slot, however the topic was asked
    names: bool = True  # "that base" is the "Ream Naval Base" the conversation named
    refers: bool = True  # any reference back ("the next one") makes a turn a follow-up, not only a pronoun
    they_glued: bool = True  # "they" is read with the earlier question glued on, not as the countries it named
    ended: bool = True  # a glued turn typed without "?" gets one, so the next turn can tell it from what it leaned on
    topic_unended: bool = True  # "what about missiles" replaces "about defence spending" typed without a "?"
    country_topic: bool = True  # "did they say anything about North Korea?" asks of a topic, not of a new subject
    last_turn: bool = True  # "and X?" after a glued follow-up keeps that turn's words ("what did they agree on Y?")
    person: bool = True  # "he"/"she" is the person the latest message naming one named, answers included

    @classmethod
    def from_settings(cls, settings: object) -> Rules:
        """The rules a Settings object switches on."""
        return cls(**{field: getattr(settings, f"followup_{field}") for field in cls.__dataclass_fields__})


def leans_on_history(question: str) -> bool:
    """True when the question can't stand alone: it opens with "and"/"what about", or refers back."""
    return bool(LEANS.search(question))


def last_user_question(history: list[dict[str, str]] | None) -> str | None:
    """The latest user turn in a messages-format history, if any."""
    for turn in reversed(history or []):
        if turn.get("role") == "user" and str(turn.get("content", "")).strip():
            return str(turn["content"]).strip()
    return None


def condense_question(
    question: str,
    history: list[dict[str, str]] | None,
    actors: Collection[str],
    authors: Collection[str] = (),
    glue: bool = True,
    rules: Rules = Rules(),
    common: Collection[str] = (),
) -> str:
    """A standalone question for `question` given the conversation so far.

    `actors` are the corpus's main actors (its profile's): rarely the country a question is about.
    `authors` are the documents' authors: "she" in a conversation that named one is that author.
    `glue` puts the earlier question after a follow-up no rewrite resolves; without it the follow-up stays
    as asked, for a caller that brings the conversation in by retrieval (rag/retrieval/conversation.py).
    `rules` switches the rewrites that read the last answer and the earlier question's slots.
    `common` are the words the corpus also writes in lower case: they tell a titled person's name ("Minister Wong")
    from a thing's ("Ream Naval Base"), for "he"/"she" (`rules.person`).
    """
    previous = last_user_question(history)
    refers = rules.refers and leans_on_history(question)
    if not previous or not (FOLLOW_UP.search(question) or refers or len(question.split()) <= 4):
        return question
    assert history is not None
    # The earlier question may itself have been a follow-up: read it with what came before it.
    earlier = history[: max(i for i, turn in enumerate(history) if turn.get("role") == "user")]
    # "and space?" after "what about defense?" replaces what that turn added, not the question under both.
    if ELLIPTIC.match(question) and ELLIPTIC.match(previous) and last_user_question(earlier):
        return condense_question(question, earlier, actors, authors, glue, rules, common)
    # "and the maritime side?" after "what did they agree on defence?" swaps that turn's topic: it keeps its words.
    own = rules.last_turn and bool(ELLIPTIC.match(question))
    previous = _base(condense_question(previous, earlier, actors, authors, glue, rules, common), own)
    if own and previous != (root := _base(previous)):
        # The topic takes that turn's slot ("what did they agree about the maritime side?"), whatever the slot rule:
        # the turn is short and its topic is what the "and X?" swaps; the question it leaned on stays after it.
        turn = previous[: len(previous) - len(root)].strip()
        if (swapped := _about(question, turn, True, rules.topic_unended)) is not None:
            return f"{swapped} {root}"
    if (named := _named_subject(question)) is not None:
        return named
    if rules.names and (thing := _named_thing(question, previous, history)) is not None:
        return thing
    if (resolved := _resolve_people(question, history, previous, authors, actors, glue, rules, common)) is not None:
        return resolved
    # A new country the follow-up asks about ("And with Vietnam?"), not one it names in passing
    # ("on the Vietnamese side", "for Japan's navy"): the corpus's main actors are rarely the topic.
    new = [
        name
        for start, end, name in country_mentions(question)
        if name not in actors and not question[start:end].lower().endswith(("ese", "ian", "ish"))
    ]
    if not new:
        return (
            _swap_actor(question, previous, actors)
            or _resolve_pronoun(question, previous)
            or _about(question, previous, rules.slot, rules.topic_unended)
            or _glued(question, previous, glue, rules.ended)
        )
    # "did they say anything about North Korea?": a country after "about" is what the turn asks about, while "they" is
    # still the earlier question's subject; swapping it into that subject's place would ask what North Korea said.
    topics = [name for start, _, name in country_mentions(question) if TOPIC_BEFORE.search(question[:start])]
    if rules.country_topic and ASKS.search(question) and set(new) <= set(topics):
        return _glued(question, previous, glue, rules.ended)
    old = country_mentions(previous)
    # "Has that pulled Bangkok away?" after a question about Thailand names the same country: nothing to swap.
    if not old or set(new) <= {name for _, _, name in old}:
        return _resolve_pronoun(question, previous) or _glued(question, previous, glue, rules.ended)
    # Swap the country the earlier question was about (not one of the corpus's main
    # actors, who are usually the ones doing the pledging) for the one asked about now.
    names = [name for _, _, name in old if name not in new]
    if not names:
        return _glued(question, previous, glue, rules.ended)
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


def earlier_question(
    question: str,
    history: list[dict[str, str]],
    actors: Collection[str],
    authors: Collection[str],
    rules: Rules,
    common: Collection[str] = (),
) -> str | None:
    """The last question the conversation asked, read as it was answered (a follow-up with what it leaned on)."""
    previous = last_user_question(history)
    if not previous:
        return None
    earlier = history[: max(i for i, turn in enumerate(history) if turn.get("role") == "user")]
    return _base(condense_question(previous, earlier, actors, authors, True, rules, common))


def names_new(question: str, said: Collection[str]) -> bool:
    """True when the question names a country or a capitalised name (not its first word) that nothing said did."""
    before = " ".join(without_sources(text) for text in said).casefold()
    countries = {name for text in said for _, _, name in country_mentions(text)}
    if any(name not in countries for _, _, name in country_mentions(question)):
        return True
    return any(m.group(0).casefold() not in before for m in re.finditer(r"(?<=\w\s)[A-Z][\w-]+", question))


def glued(question: str, previous: str, ended: bool = True) -> str:
    """The follow-up with the earlier question after it.

    With `ended`, a follow-up typed without a "?" ("what did they say about coast guards") gets one: `_base` splits
    a glued question at its "?"s, so the next turn drops this one's leaning words instead of carrying them on.
    """
    if ended and not re.search(r"[?.!]\s*$", question):
        question = f"{question.rstrip()}?"
    return f"{question} {previous}"


def _glued(question: str, previous: str, glue: bool, ended: bool = True) -> str:
    """The follow-up with the earlier question after it (`glue`), else the follow-up as asked."""
    return glued(question, previous, ended) if glue else question


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


def _resolve_people(
    question: str,
    history: list[dict[str, str]],
    previous: str,
    authors: Collection[str],
    actors: Collection[str],
    glue: bool,
    rules: Rules,
    common: Collection[str] = (),
) -> str | None:
    """The follow-up with "she"/"he" made the author the conversation named (else, with `rules.person`, the person
    the latest message naming one named, the earlier question still glued on), and "they" its countries.

    With `rules.they_glued` "they" stays: it may be either side of the earlier question ("did they deliver it?" after
    Japan's pledge to the Philippines is Japan), both, or the people the last answer named, so the turn is
    read with the earlier question instead.

    "What does she say about Vietnam?" after "Who wrote Diplomatic Overdrive?" asks the author, whom the
    sources scope by "the author"; "When did they sign it?" after a question about the US and Vietnam asks
    of those two. None when the follow-up refers to neither, or the conversation names nobody it could mean.
    """
    said = " ".join([previous, *(without_sources(str(t.get("content", ""))) for t in history[-2:])]).casefold()
    resolved = question
    author_named = any(
        re.search(rf"\b{re.escape(part.casefold())}\b", said)
        for name in authors
        for part in name.split()
        if len(part) > 2
    )
    if PERSON_PRONOUN.search(resolved) and authors and (author_named or AUTHOR_WORDS.search(said)):
        resolved = re.sub(r"\b(her|his)\b(?=\s+\w)", "the author's", resolved, flags=re.I)
        resolved = PERSON_PRONOUN.sub("the author", resolved)
    person = latest_person(history, common) if rules.person and PERSON_PRONOUN.search(resolved) else None
    if person is not None and any(
        re.search(rf"\b{re.escape(part)}\b", question, re.I) for part in person.split() if len(part) > 2
    ):
        person = None  # "did he meet Kishida?" after an answer naming Kishida: "he" is someone else
    if person is not None and resolved == question:
        resolved = re.sub(r"\b(her|his)\b(?=\s+\w)", f"{person}'s", resolved, flags=re.I)
        resolved = PERSON_PRONOUN.sub(person, resolved)
    named = list(dict.fromkeys(name for _, _, name in country_mentions(previous)))
    countries = [n for n in named if n not in actors] or named  # the main actors are rarely who "they" are
    if GROUP.search(resolved) and countries and not rules.they_glued:
        group = " and ".join(countries)
        resolved = re.sub(r"\btheir\b", f"{group}'s", resolved, flags=re.I)
        resolved = GROUP.sub(group, resolved)
    # "any interest there?": in the country asked of; "who was there for Vietnam?" names it already, so "there" is
    # the event the earlier question asked about.
    asked = {name for _, _, name in country_mentions(question)}
    if countries and re.search(r"\bthere\b", resolved, re.I) and not asked & set(countries):
        resolved = re.sub(r"\bthere\b", f"in {' and '.join(countries)}", resolved, count=1, flags=re.I)
    if resolved == question:
        return None
    if person is not None and glue:
        # The person stands for the pronoun, but what the conversation asked of them still scopes the turn.
        return glued(resolved, previous, rules.ended)
    if (named := _resolve_pronoun(resolved, previous)) is not None:
        return named
    # "And what does the author think of Japan?" now stands alone: its opening "and" leans on nothing.
    alone = re.sub(r"^\s*(and|also|so|then)\b[,\s]*", "", resolved, flags=re.I)
    if FOLLOW_UP.search(alone) and glue:
        return glued(resolved, previous, rules.ended)
    return alone[:1].upper() + alone[1:]


def person_named(text: str, common: Collection[str]) -> str | None:
    """The last person's name in `text`: a leader's ("Nguyen Phu Trong"), or capitalised words the corpus never
    writes in lower case after a capitalised title it does ("Minister Wong" -> "Wong").

    A name with a common word after its title ("Ream Naval Base"), a country, a month or a word in capitals in it is
    a thing, a place or a date; one with no title ("San Francisco", "White House") can't be told from them.
    """
    found = None
    stop = function_words()
    for match in re.finditer(r"\b[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*)*", text):
        said = match.group(0)
        leaders = [said[s:e] for s, e, _ in country_mentions(said) if is_leader(said[s:e])]
        if leaders:
            found = max(leaders, key=len)
            continue
        words = [re.sub(r"'s$", "", w) for w in said.split()]
        # A sentence's or question's first word: "Did Minister Wong ...", "Tell me ...".
        while words and (words[0].casefold() in stop or ASKS.fullmatch(words[0]) or re.fullmatch(AUX, words[0], re.I)):
            words.pop(0)
        title = 0
        while title < len(words) and words[title].casefold() in common and words[title].casefold() not in stop:
            title += 1
        name = words[title:]
        if not title or not name or any(_not_a_name_word(w, common) for w in name):
            continue
        if not country_mentions(" ".join(name)):
            found = " ".join(name).rstrip(".")
    return found


def _not_a_name_word(word: str, common: Collection[str]) -> bool:
    """True for a word a person's name doesn't hold: one the corpus writes in lower case (or each part of a compound:
    "Self-Defence"), in capitals, or a month."""
    parts = word.casefold().split("-")
    return word.casefold() in common or all(p in common for p in parts) or word.isupper() or parts[0] in MONTHS


def latest_person(history: list[dict[str, str]], common: Collection[str]) -> str | None:
    """The person the latest message that names one names (answers included, without a "Sources:" list); None
    without the corpus's `common` words, which tell a person's name from a thing's."""
    if not common:
        return None
    for turn in reversed(history):
        said = INLINE_SOURCES.split(without_sources(str(turn.get("content", ""))))[0]
        if (person := person_named(said, common)) is not None:
            return person
    return None


def _last_answer(history: list[dict[str, str]]) -> str:
    """The assistant's reply that ends the history, without a "Sources:" list; '' when the user spoke last."""
    last = history[-1] if history else {}
    return without_sources(str(last.get("content", ""))) if last.get("role") == "assistant" else ""


def _last_word(name: str) -> str:
    """A name's last word, case and plural aside: "Ream Naval Base" -> "base"."""
    return name.split()[-1].casefold().rstrip("s")


def _named_thing(question: str, previous: str, history: list[dict[str, str]]) -> str | None:
    """ "what does the article say about that base?": "... about Ream Naval Base?", a name the conversation used.

    The demonstrative's noun must be the last word of a name of two or more capitalised words in the earlier
    question or the last answer (singular or plural alike); None when no such name, or more than one, fits.
    """
    match = DEMONSTRATIVE.search(question)
    if not match:
        return None
    answer = _last_answer(history)
    noun = _last_word(match.group("noun"))
    names = {m.group(0) for m in TOPIC.finditer(f"{previous} {answer}") if _last_word(m.group(0)) == noun}
    if len(names) != 1:
        return None
    resolved = f"{question[: match.start()]}{names.pop()}{question[match.end() :]}"
    return resolved if not leans_on_history(resolved) else None


def _about(question: str, previous: str, slot: bool = True, unended: bool = True) -> str | None:
    """ "and space?" after "What did they announce?": "What did they announce about space?"; None if it asks more.

    The new topic goes into the earlier question, so the sentence choice weighs it as the question's own.
    """
    opener = ELLIPTIC.match(question)
    if not opener:
        return None
    topic = re.sub(r"^\s*(about|on|regarding|with|for|in)\s+", "", question[opener.end() :], flags=re.I)
    topic = topic.strip(" ?.!,")
    # A country ("and Japan?") is the country swap's; a date ("and in 2022?") or a reference ("the next one")
    # changes what the earlier question asked rather than adding a topic to it.
    if (
        not topic
        or ASKS.search(topic)
        or len(topic.split()) > 5
        or country_mentions(topic)
        or re.search(r"\b(1[89]|20)\d\d\b", topic)
        or LEANS.search(topic)
    ):
        return None
    # "...say about the South China Sea?" then "and on critical minerals?": the new topic takes the old one's place.
    if not slot:
        # With `unended` a topic typed without a "?" ("... say about defence spending") is replaced too.
        # A tail that names the only countries the question does ("tell me about Micron's India plan") holds the
        # conversation's scope too: the new topic is added after it.
        end = r"\??" if unended else r"\?"
        tail = re.search(rf"\s+(about|regarding|concerning)\s+[^?]{{1,60}}{end}\s*$", previous)
        base = previous
        if tail and (not unended or not country_mentions(tail.group(0)) or country_mentions(previous[: tail.start()])):
            base = previous[: tail.start()]
        return f"{base.rstrip(' ?.!')} about {topic}?"
    # With `slot` the topic is found however it was asked: "agree on the ocean" (with or without a "?"), or
    # "what jet engine deal did ..." ("and drones?": "what drones deal did ...").
    # A tail with a figure ("agree on in November 2023") is a date, not a topic.
    base, replaced = re.subn(r"\s+(about|regarding|concerning|on)\s+[^?\d]{1,60}\??\s*$", "", previous, flags=re.I)
    if not replaced and (wh := WH_SLOT.match(previous)):
        return f"{wh.group('wh')}{topic} {wh.group('head')}{previous[wh.end() :]}"
    return f"{base.rstrip(' ?.!')} about {topic}?"


def _base(standalone: str, last_turn: bool = False) -> str:
    """What a condensed question asks on its own: "when was that? What did X say?" is "What did X say?".

    A follow-up's own words were needed for its turn; glued on again, those of turns before it would pull the next
    turn's passages and sentences towards what was asked two turns ago. With `last_turn` the condensed turn's own
    leaning question stays in front (only those under it go), for an "and X?" that swaps a topic into that turn.
    """
    questions = [q.strip() for q in re.findall(r"[^?]+\?|[^?]+$", standalone) if q.strip()]
    own = questions.pop(0) if last_turn and len(questions) > 1 and leans_on_history(questions[0]) else None
    while len(questions) > 1 and leans_on_history(questions[0]):
        questions.pop(0)
    return " ".join([own, *questions] if own else questions)


def _swap_actor(question: str, previous: str, actors: Collection[str]) -> str | None:
    """ "And Japan?" after "What did the US pledge to the Philippines?": "What did Japan pledge to the Philippines?".

    Only for a follow-up that names a main actor and asks nothing else, when the earlier question has another
    actor in that slot; None otherwise.
    """
    asked = [(s, e, name) for s, e, name in country_mentions(question) if name in actors]
    rest = question
    for start, end, _ in reversed(asked):
        rest = rest[:start] + rest[end:]
    if not asked or FILLER.sub(" ", rest).split():
        return None
    names = {name for _, _, name in asked}
    slot = next(((s, e) for s, e, name in country_mentions(previous) if name in actors and name not in names), None)
    if slot is None:
        return None
    start, end = slot
    before = re.sub(r"\bthe\s+$", "", previous[:start], flags=re.I)
    replacement = " and ".join(dict.fromkeys(n for _, _, n in asked))
    if THE.match(replacement):  # "the United States"
        replacement = f"the {replacement}"
    return f"{before}{replacement}{previous[end:]}"


def _named_subject(question: str) -> str | None:
    """ "What about the US, did it upgrade ties with Hanoi?": "did the US upgrade ties with Hanoi?".

    The follow-up names its own subject before asking; its "it"/"they" is that subject, not the earlier topic.
    """
    match = NAMED_SUBJECT.match(question)
    if not match or not re.search(r"\b(it|they|them|its|their)\b", match.group("rest"), re.I):
        return None
    subject, rest = match.group("subject").strip(), match.group("rest")
    rest = re.sub(r"\b(its|their)\b", f"{subject}'s", rest, count=1, flags=re.I)
    rest = re.sub(r"\b(it|they|them)\b", subject, rest, count=1, flags=re.I)
    return rest[:1].upper() + rest[1:]
