"""Country and regional-grouping mentions under canonical names; used on chunks and on questions."""

from __future__ import annotations

import re
from functools import cache

import pycountry

# pycountry's formal names that people don't use.
CANONICAL_OVERRIDES = {
    "Viet Nam": "Vietnam",
    "Korea, Republic of": "South Korea",
    "Korea, Democratic People's Republic of": "North Korea",
    "Russian Federation": "Russia",
    "Lao People's Democratic Republic": "Laos",
    "Taiwan, Province of China": "Taiwan",
    "Iran, Islamic Republic of": "Iran",
    "Syrian Arab Republic": "Syria",
    "Türkiye": "Turkey",
    "Brunei Darussalam": "Brunei",
    "Micronesia, Federated States of": "Micronesia",
    "Timor-Leste": "Timor-Leste",
}

# Demonyms, capitals and abbreviations, case-insensitive unless listed in CASE_SENSITIVE.
ALIASES: dict[str, list[str]] = {
    "Japan": ["Japanese", "Tokyo", "Nippon"],
    "China": ["Chinese", "Beijing", "PRC", "People's Republic of China", "People’s Republic of China"],
    "United States": [
        "US",
        "U.S.",
        "USA",
        "U.S.A.",
        "United States of America",
        "America",
        "American",
        "Americans",
        "Washington",
    ],
    "United Kingdom": ["UK", "U.K.", "Britain", "Great Britain", "British", "London"],
    "Philippines": ["Philippine", "Filipino", "Filipinos", "Manila"],
    "Vietnam": ["Viet Nam", "Vietnamese", "Hanoi"],
    "Indonesia": ["Indonesian", "Indonesians", "Jakarta"],
    "Cambodia": ["Cambodian", "Cambodians", "Phnom Penh"],
    "Thailand": ["Thai", "Bangkok"],
    "India": ["Indian", "Indians", "New Delhi"],
    "Australia": ["Australian", "Australians", "Canberra"],
    "Italy": ["Italian", "Rome"],
    "Saudi Arabia": ["Saudi", "Riyadh"],
    "Russia": ["Russian", "Moscow", "Kremlin"],
    "North Korea": ["DPRK", "Pyongyang", "North Korean"],
    "South Korea": ["ROK", "Republic of Korea", "Seoul", "South Korean"],
    "Taiwan": ["Taiwanese", "Taipei"],
    "Malaysia": ["Malaysian", "Kuala Lumpur"],
    "Singapore": ["Singaporean"],
    "Myanmar": ["Burma", "Burmese"],
    "Laos": ["Lao PDR", "Laotian", "Vientiane"],
    "New Zealand": ["Aotearoa"],
    "Papua New Guinea": ["PNG"],
    "France": ["French", "Paris"],
    "Germany": ["German", "Berlin"],
    "Ukraine": ["Ukrainian", "Kyiv"],
    "Pakistan": ["Pakistani", "Islamabad"],
    "Bangladesh": ["Bangladeshi", "Dhaka"],
    "Sri Lanka": ["Sri Lankan", "Colombo"],
    "Israel": ["Israeli"],
    "Iran": ["Iranian", "Tehran"],
    "ASEAN": ["Asean", "Association of Southeast Asian Nations"],
    "Quad": ["Quadrilateral Security Dialogue", "QUAD"],
    "Pacific Islands": [
        "Pacific Island Countries",
        "Pacific Island Nations",
        "Pacific Island countries",
        "Pacific Island nations",
        "Pacific Islands Forum",
        "PIC",
        "PICs",
        "PIF",
    ],
    "European Union": ["EU", "E.U."],
    "G7": ["G-7", "Group of Seven"],
    "G20": ["G-20", "Group of Twenty"],
}
GROUPINGS = frozenset({"ASEAN", "Quad", "Pacific Islands", "European Union", "G7", "G20"})

# Short or ambiguous forms: "us", "thai" curry, "jordan" the name, "guinea" pig...
CASE_SENSITIVE = frozenset(
    {
        "US",
        "U.S.",
        "USA",
        "UK",
        "U.K.",
        "PRC",
        "DPRK",
        "ROK",
        "PNG",
        "PIC",
        "PICs",
        "PIF",
        "EU",
        "E.U.",
        "QUAD",
        "America",
        "Washington",
        "Chad",
        "Jordan",
        "Georgia",
        "Turkey",
        "Guinea",
        "Jersey",
        "Niger",
        "Oman",
        "Peru",
        "Mali",
        "Cuba",
        "Togo",
        "Rome",
        "Paris",
        "London",
        "Berlin",
        "Nippon",
        "Thai",
        "Saudi",
        "German",
        "French",
        "Indian",
        "Kremlin",
        "Dominica",
        "Monaco",
        "Malta",
    }
)
# Phrases that contain a country word but are not about the country.
NOT_A_MENTION = re.compile(
    r"Indian Ocean|Indo-Pacific|Pacific Ocean|New Jersey|New Mexico|New South Wales"
    r"|(Latin|South|Central|North) America",
    re.I,
)


def _names() -> dict[str, str]:
    """Every surface form -> canonical name."""
    table: dict[str, str] = {}
    for country in pycountry.countries:
        canonical = CANONICAL_OVERRIDES.get(country.name) or getattr(country, "common_name", None) or country.name
        for form in {country.name, getattr(country, "common_name", None), canonical}:
            if form and "," not in form:
                table[form] = canonical
    for canonical, forms in ALIASES.items():
        table[canonical] = canonical
        for form in forms:
            table[form] = canonical
    return table


@cache
def _matchers() -> tuple[dict[str, str], dict[str, str], re.Pattern[str]]:
    table = _names()
    lower = {form.lower(): name for form, name in table.items() if form not in CASE_SENSITIVE}
    exact = {form: name for form, name in table.items() if form in CASE_SENSITIVE}
    # One pass, longest form first, so "Papua New Guinea" is never also "Guinea".
    forms = sorted(table, key=len, reverse=True)
    alternation = "|".join(re.escape(f) if f in exact else f"(?i:{re.escape(f)})" for f in forms)
    # Hyphens don't block a match: "Japan-Philippines" names both countries.
    return lower, exact, re.compile(rf"(?<![\w.])(?:{alternation})(?!\w|\.\w)")


def country_mentions(text: str) -> list[tuple[int, int, str]]:
    """(start, end, canonical name) of each mention in `text`."""
    lower, exact, pattern = _matchers()
    masked = NOT_A_MENTION.sub(lambda m: " " * len(m.group(0)), text)
    return [(m.start(), m.end(), exact.get(m.group(0)) or lower[m.group(0).lower()]) for m in pattern.finditer(masked)]


def find_countries(text: str) -> list[str]:
    """Canonical names of the countries and groupings `text` mentions, sorted."""
    return sorted({name for _, _, name in country_mentions(text)})


def canonical_country(name: str) -> str | None:
    """The canonical name for a user-typed country or grouping ("uk", "Viet Nam"), or None if unknown."""
    lower, exact, _ = _matchers()
    typed = name.strip()
    return exact.get(typed) or lower.get(typed.lower()) or {k.lower(): v for k, v in exact.items()}.get(typed.lower())


def country_key(name: str) -> str:
    """The flat Chroma metadata key that flags a chunk as mentioning `name`."""
    return "country_" + re.sub(r"\W+", "_", name).strip("_")
