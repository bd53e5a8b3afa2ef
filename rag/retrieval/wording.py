"""A question's wording mapped onto the corpus's: spelling variants, typos in names, abbreviated months.

Readers write "defense" where a source writes "defence", "Phillipines" for "Philippines", "Apr" for
"April". Every later step matches words (BM25, the country and name checks, the sentence terms), so a
word the corpus never uses is mapped onto the corpus word it stands for, before any of them runs.
Nothing here is a list of examples: the corpus's own vocabulary is the dictionary.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

WORD = re.compile(r"[A-Za-z][A-Za-z’']*[A-Za-z]|[A-Za-z]")
# A capitalised word past a sentence's start: a name, a place or a country as the sources spell it.
NAME_IN_TEXT = re.compile(r"(?<=[a-z,;:] )[A-Z][a-z]{3,}\b")
POSSESSIVE = re.compile(r"(.+?)((?:[’']s?)?)$")
MONTHS = {name[:3].lower(): name for name in calendar.month_name[1:]} | {"sept": "September"}
ABBREVIATED_MONTH = re.compile(r"\b(" + "|".join(MONTHS) + r")\b\.?(?=\s*\d|\s*[,?.!]|\s*$)", re.I)

# British and American spellings of one word fold to one form: defence/defense, programme/program,
# organise/organize, labour/labor, centre/center. Applied to both sides, so over-folding is harmless.
_FOLDS = (
    (re.compile(r"ence$"), "ense"),
    (re.compile(r"mme$"), "m"),
    (re.compile(r"is(e|es|ed|ing|ation|ations)$"), r"iz\1"),
    (re.compile(r"our(s|ed|ing)?$"), r"or\1"),
    (re.compile(r"tre(s)?$"), r"ter\1"),
    (re.compile(r"ll(ed|ing)$"), r"l\1"),
)


def fold_spelling(word: str) -> str:
    """One form for a word's British and American spellings ("defence" and "defense": "defense")."""
    folded = word.lower()
    if len(folded) < 5:
        return folded
    for pattern, replacement in _FOLDS:
        folded = pattern.sub(replacement, folded)
    return folded


def edits(a: str, b: str, limit: int) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours that turn `a` into `b` (over `limit`: limit+1)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if before is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, row = row, current
    return row[-1]


def slips_allowed(word: str) -> int:
    """How many typing slips a word of this length may hold and still be recognised: none under 5 letters."""
    return 0 if len(word) < 5 else 1 if len(word) < 8 else 2


SPELLED = re.compile(r"[A-Za-z]+")
CAPITALISED_RUN = re.compile(r"[A-Z][\w-]*(?:\s+(?:(?:and|of|the|for|on|in|&)\s+)?[A-Z][\w-]*)+")
# Capitalised words next to each other, apart by a space or a hyphen: "South East Asian", "Indo-Pacific".
WRITTEN_APART = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+\b")
LINKING = frozenset({"and", "of", "the", "for", "on", "in", "to", "a", "an", "&"})


def spells_out(acronym: str, text: str) -> bool:
    """True when `text` spells `acronym` out: "South China Sea" for "SCS", or writes it after its words ("... (SCS)").

    The spelled-out words are capitalised and adjacent, linking words aside ("Humanitarian Assistance and Disaster
    Relief"): initials of ordinary words match three letters somewhere in any long passage by chance.
    """
    letters = acronym.lower()
    if len(letters) < 3:
        return False
    if re.search(rf"\({re.escape(acronym)}\)", text):
        return True
    for run in CAPITALISED_RUN.finditer(text):
        initials = "".join(w[0] for w in SPELLED.findall(run.group(0)) if w.lower() not in LINKING).lower()
        if letters in initials:
            return True
    return False


@functools.lru_cache(maxsize=256)
def _lower_case_run(letters: str) -> re.Pattern[str]:
    """Words of four letters or more, one per letter, adjacent but for linking words: "foreign direct investment".

    In lower case the run must spell the whole acronym, word for word; its words are long, so that "with the
    other" is no "WTO", and only a run of four or more may skip a linking word ("humanitarian assistance and
    disaster relief"): "issues of common concern" is no "ICC".
    """
    linking = "|".join(sorted(LINKING - {"&"})) if len(letters) >= 4 else "(?!)"
    words = rf"(?:\s+(?:(?:{linking})\s+)?|-)".join(rf"{c}[a-z]{{3,}}" for c in letters)
    return re.compile(rf"\b{words}\b", re.I)


def named_in(name: str, text: str, variants: bool = True) -> bool:
    """True when `text` names `name`: as written or spelled out; with `variants`, also spelled out in lower case
    ("foreign direct investment" for "FDI") or written apart ("South East" for "Southeast")."""
    folded, key = text.casefold(), name.casefold()
    if key in folded or spells_out(name, text):
        return True
    letters = key if key.isalpha() and len(key) >= 3 else ""
    return variants and (bool(letters and _lower_case_run(letters).search(text)) or _written_apart(key, text))


CAPITALISED_WORD = re.compile(r"\b[A-Z][a-z]{3,}")
DERIVED_SHARE = 0.75  # of the shorter word
DERIVED_STEM = 4  # letters a name and its derivation share at least: "Ital" (Italians, Italy), "Quad"


def derived_in(name: str, text: str) -> bool:
    """True when `text` writes a capitalised word that `name` derives from or into, by a shared start of
    `DERIVED_STEM` letters or more, most of the shorter word: "Italians" and "Italy", "Brits" and "British",
    "Quadrilateral" and "Quad", "European" and "Europe"; not "Albanese" and "Alba"."""
    key = name.casefold()
    if len(key) < DERIVED_STEM or not key.isalpha():
        return False
    for word in {w.casefold() for w in CAPITALISED_WORD.findall(text)} - calendar_words():  # "March" is no "Marco"
        shared = next((i for i, (a, b) in enumerate(zip(key, word, strict=False)) if a != b), min(len(key), len(word)))
        if shared >= DERIVED_STEM and shared >= DERIVED_SHARE * min(len(key), len(word)):
            return True
    return False


def _written_apart(key: str, text: str) -> bool:
    """True when two or three adjacent capitalised words of `text`, joined, are `key`: "South East" for "southeast"."""
    for run in WRITTEN_APART.finditer(text):
        words = re.split(r"[\s-]+", run.group(0).casefold())
        if any("".join(words[i : i + n]) == key for n in (2, 3) for i in range(len(words) - n + 1)):
            return True
    return False


@functools.lru_cache(maxsize=1)
def _country_codes() -> dict[str, str]:
    """ISO 3166 two-letter code -> the country's common name ("PH" -> "Philippines")."""
    import pycountry

    return {c.alpha_2: getattr(c, "common_name", None) or c.name for c in pycountry.countries}


# A country code only where it stands beside another country: "US-PH", "JP/PH" (alone, "TV" or "ID" are words).
CODE = re.compile(r"(?<=[A-Za-z][-–/])[A-Z]{2}\b|\b[A-Z]{2}(?=[-–/][A-Za-z])")
# Two capitals standing alone ("what did PH and China do"): a code where the question isn't written in capitals.
LONE_CODE = re.compile(r"\b[A-Z]{2}\b")


@functools.lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """A standard English stop-word list ("much", "so", "it"): words that name no topic, entity or place."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Ordinary English words: the embedder's whole WordPiece tokens (its ~20,000 commonest words) and stop words.

    A word the reader types that is one of these ("police", "price", "stationed") is that word, not a typing
    slip in a corpus name ("Police", "Prime", "Station"); a slip ("phillipines") is seldom a whole token.
    """
    return frozenset(_whole_words()) | function_words()


@functools.lru_cache(maxsize=1)
def _whole_words() -> tuple[str, ...]:
    """The embedder's whole-word tokens, commonest first (WordPiece lists its words by frequency)."""
    from rag.storage.embeddings import model_dir

    tokens = (model_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    return tuple(t for t in tokens if t.isalpha() and t.islower())


@functools.lru_cache(maxsize=8)
def commonest_words(count: int) -> frozenset[str]:
    """The `count` commonest English words that are no stop words ("people", "years", "states")."""
    return frozenset([w for w in _whole_words() if w not in function_words()][:count])


def _is_place(name: str) -> bool:
    """True for a country, grouping or capital: the names a reader types in lower case ("jakarta")."""
    from ingest.countries import country_mentions

    return bool(country_mentions(name))


@dataclass
class Vocabulary:
    """The corpus's words (lower-cased) and its names (as capitalised in the text)."""

    words: set[str] = field(default_factory=set)
    names: dict[str, str] = field(default_factory=dict)  # lower-cased -> as written
    lowercase: set[str] = field(default_factory=set)  # words the text also writes in lower case
    _by_fold: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for word in sorted(self.words):
            self._by_fold.setdefault(fold_spelling(word), word)

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_name_count: int = 2) -> Vocabulary:
        """The vocabulary of `texts`; a name must be capitalised mid-sentence at least `min_name_count` times."""
        words: set[str] = set()
        lowercase: set[str] = set()
        names: Counter[str] = Counter()
        for text in texts:
            found = WORD.findall(text)
            words.update(w.lower() for w in found)
            lowercase.update(w for w in found if w.islower())
            names.update(NAME_IN_TEXT.findall(text))
        named = {n.lower(): n for n, count in names.items() if count >= min_name_count}
        return cls(words, named, lowercase)

    def as_json(self) -> dict[str, list[str]]:
        """What the saved keyword index keeps of it."""
        return {"words": sorted(self.words), "names": sorted(self.names.values()), "lowercase": sorted(self.lowercase)}

    @classmethod
    def from_json(cls, saved: dict[str, list[str]]) -> Vocabulary:
        """The vocabulary `as_json` wrote."""
        names = {n.lower(): n for n in saved.get("names", [])}
        return cls(set(saved.get("words", [])), names, set(saved.get("lowercase", [])))

    def variant(self, word: str) -> str | None:
        """The corpus's spelling of a word it never uses as written ("programme" -> "program"), if any."""
        lower = word.lower()
        if not self.words or lower in self.words:
            return None
        found = self._by_fold.get(fold_spelling(lower))
        return found if found and found != lower else None

    def name_for(self, word: str) -> str | None:
        """The corpus name a word with a typing slip stands for ("Phillipines" -> "Philippines"), if just one."""
        lower = word.lower()
        limit = slips_allowed(lower)
        if not limit or not self.words or lower in self.words:
            return None
        # Slips rarely hit a word's first letter: "worth" is not "North".
        distances = {name: edits(lower, key, limit) for key, name in self.names.items() if key[0] == lower[0]}
        best = min(distances.values(), default=limit + 1)
        close = [name for name, d in distances.items() if d == best]
        return close[0] if best <= limit and len(close) == 1 else None

    def country_for(self, code: str) -> str | None:
        """The country a two-letter code in capitals stands for ("PH"), if the sources name it."""
        from ingest.countries import canonical_country

        name = canonical_country(_country_codes().get(code, ""))
        return name if name and name.lower() in self.names else None

    def lone_country(self, code: str) -> str | None:
        """The country a two-letter code standing alone stands for ("PH"), unless the code is also a word ("IT")."""
        lower = code.lower()
        if lower in function_words() or lower in self.lowercase:
            return None
        return self.country_for(code)

    def normalize(self, question: str, lone_codes: bool = False, real_words: bool = False) -> str:
        """The question in the corpus's words: month abbreviations spelt out, variants and typos in names mapped.

        With `lone_codes`, a country code standing alone ("PH") names its country where the question is not written
        in capitals. With `real_words`, an ordinary English word (`english_words`) in lower case, or opening the
        question, is kept: "shout" is not a slip for "Shot", nor "price" for "Prime".
        """
        question = ABBREVIATED_MONTH.sub(lambda m: MONTHS[m.group(1).lower()], question)
        question = CODE.sub(lambda m: self.country_for(m.group(0)) or m.group(0), question)
        if lone_codes and re.search(r"[a-z]", question):
            question = LONE_CODE.sub(lambda m: self.lone_country(m.group(0)) or m.group(0), question)

        def mapped(match: re.Match[str]) -> str:
            word, possessive = POSSESSIVE.match(match.group(0)).groups()  # type: ignore[union-attr]
            if word.islower() and word in self.names and _is_place(self.names[word]):  # "jakarta", typed casually
                return self.names[word] + possessive
            ordinary = real_words and (word.islower() or match.start() == 0) and word.lower() in english_words()
            name = None if ordinary else self.name_for(word)
            if name is not None:
                return name + possessive
            if (variant := self.variant(word)) is not None:
                return (variant.capitalize() if word[0].isupper() else variant) + possessive
            return match.group(0)

        return WORD.sub(mapped, question)


@functools.cache
def calendar_words() -> frozenset[str]:
    """Months and weekdays in lower case: capitalised, yet they name no thing a passage must speak of."""
    return frozenset(w.lower() for w in [*calendar.month_name[1:], *calendar.day_name])


@functools.cache
def _leader_forms() -> frozenset[str]:
    """Every leader's name form, folded: a leader is a person, where the country check reads a place."""
    from ingest.countries import LEADERS

    return frozenset(form.casefold() for forms in LEADERS.values() for form in forms)


def corpus_names(question: str, vocabulary: Vocabulary) -> list[str]:
    """The question's words that are names in the corpus, the text never writing them in lower case ("Modi", "ream"
    for "Ream"); countries, capitals and demonyms are left out (the country check reads those), leaders are not."""
    from ingest.countries import country_mentions

    leaders = _leader_forms()

    def place(text: str) -> bool:
        return text.casefold() not in leaders and bool(country_mentions(text))

    spans = [(s, e) for s, e, _ in country_mentions(question) if question[s:e].casefold() not in leaders]
    found = []
    for match in WORD.finditer(question):
        lower = match.group(0).lower()
        if any(s <= match.start() < e for s, e in spans) or lower in function_words() or lower in calendar_words():
            continue
        if lower in vocabulary.names and lower not in vocabulary.lowercase and not place(vocabulary.names[lower]):
            found.append(vocabulary.names[lower])
    return list(dict.fromkeys(found))


def with_country_names(question: str) -> str:
    """Capitals and cities followed by the country they stand for: "Jakarta" -> "Jakarta (Indonesia)".

    The sources mostly name countries; the embedding of "Washington and Jakarta" is far from a sentence about
    the United States and Indonesia, so the question carries both. A leader is a person, not a place: kept as is.
    """
    from ingest.countries import CAPITALS, country_mentions

    places = {form.casefold() for forms in CAPITALS.values() for form in forms}
    out, pos = [], 0
    for start, end, name in country_mentions(question):
        after = question[end:]
        # "Washington Post", "Paris Agreement" name no place; "Canberra (Australia)" has its country already.
        if question[start:end].casefold() in places and not re.match(r"\s*\(|\s+[A-Z]", after):
            out += [question[pos:end], f" ({name})"]
            pos = end
    return "".join(out) + question[pos:]
