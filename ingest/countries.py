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

# Demonyms and abbreviations, case-insensitive unless listed in CASE_SENSITIVE.
ALIASES: dict[str, list[str]] = {
    "Japan": ["Japanese", "Nippon"],
    "China": ["Chinese", "PRC", "People's Republic of China", "People’s Republic of China"],
    "United States": [
        "US",
        "U.S.",
        "USA",
        "U.S.A.",
        "United States of America",
        "America",
        "American",
        "Americans",
    ],
    "United Kingdom": ["UK", "U.K.", "Britain", "Great Britain", "British"],
    "Philippines": ["Philippine", "Filipino", "Filipinos"],
    "Vietnam": ["Viet Nam", "Vietnamese"],
    "Indonesia": ["Indonesian", "Indonesians"],
    "Cambodia": ["Cambodian", "Cambodians"],
    "Thailand": ["Thai"],
    "India": ["Indian", "Indians"],
    "Australia": ["Australian", "Australians"],
    "Italy": ["Italian"],
    "Saudi Arabia": ["Saudi"],
    "Russia": ["Russian", "Kremlin"],
    "North Korea": ["DPRK", "North Korean"],
    "South Korea": ["ROK", "Republic of Korea", "South Korean"],
    "Taiwan": ["Taiwanese"],
    "Malaysia": ["Malaysian"],
    "Singapore": ["Singaporean"],
    "Myanmar": ["Burma", "Burmese"],
    "Laos": ["Lao PDR", "Laotian"],
    "New Zealand": ["Aotearoa"],
    "Papua New Guinea": ["PNG"],
    "France": ["French"],
    "Germany": ["German"],
    "Ukraine": ["Ukrainian"],
    "Pakistan": ["Pakistani"],
    "Bangladesh": ["Bangladeshi"],
    "Sri Lanka": ["Sri Lankan"],
    "Israel": ["Israeli"],
    "Iran": ["Iranian"],
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
# Capitals (and seats of government) stand for their country: "Tokyo's ambitions" are Japan's.
CAPITALS: dict[str, list[str]] = {
    "Japan": ["Tokyo"],
    "China": ["Beijing"],
    "United States": ["Washington"],
    "United Kingdom": ["London"],
    "Philippines": ["Manila"],
    "Vietnam": ["Hanoi"],
    "Indonesia": ["Jakarta"],
    "Cambodia": ["Phnom Penh"],
    "Thailand": ["Bangkok"],
    "India": ["New Delhi"],
    "Australia": ["Canberra"],
    "Italy": ["Rome"],
    "Saudi Arabia": ["Riyadh"],
    "Russia": ["Moscow"],
    "North Korea": ["Pyongyang"],
    "South Korea": ["Seoul"],
    "Taiwan": ["Taipei"],
    "Malaysia": ["Kuala Lumpur"],
    "Laos": ["Vientiane"],
    "France": ["Paris"],
    "Germany": ["Berlin"],
    "Ukraine": ["Kyiv"],
    "Pakistan": ["Islamabad"],
    "Bangladesh": ["Dhaka"],
    "Sri Lanka": ["Colombo"],
    "Iran": ["Tehran"],
}
# Leaders (2022-2024, the corpus's years) resolve to the country they lead, so
# "What did Kishida do in Jakarta?" is a question about Japan and Indonesia. Matched case-sensitively.
LEADERS: dict[str, list[str]] = {
    "Japan": ["Kishida", "Fumio Kishida", "Kishida Fumio", "Shinzo Abe", "Yoshihide Suga"],
    "United States": ["Biden", "Joe Biden", "Joseph R. Biden", "Kamala Harris", "Vice President Harris"],
    "India": ["Modi", "Narendra Modi"],
    "Indonesia": ["Widodo", "Joko Widodo", "Jokowi"],
    "Philippines": ["Marcos", "Ferdinand Marcos", "Marcos Jr.", "Bongbong Marcos", "Duterte"],
    "Cambodia": ["Hun Sen", "Hun Manet"],
    "Vietnam": ["Nguyen Phu Trong", "Vo Van Thuong", "Pham Minh Chinh", "Truong Tan Sang"],
    "China": ["Xi Jinping", "Li Qiang"],
    "Australia": ["Albanese", "Anthony Albanese"],
    "Italy": ["Meloni", "Giorgia Meloni"],
    "United Kingdom": ["Rishi Sunak", "Sunak"],
    "Russia": ["Putin", "Vladimir Putin"],
    "North Korea": ["Kim Jong Un", "Kim Jong-un"],
    "South Korea": ["Yoon Suk Yeol"],
    "Thailand": ["Prayut Chan-o-cha", "Prayut", "Srettha Thavisin"],
    "Papua New Guinea": ["James Marape", "Marape"],
    "Solomon Islands": ["Manasseh Sogavare", "Sogavare"],
    "Fiji": ["Bainimarama", "Sitiveni Rabuka"],
    "Marshall Islands": ["David Kabua"],
    "Palau": ["Surangel Whipps"],
    "Singapore": ["Lee Hsien Loong"],
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
# Phrases that contain a country word but are not about the country; a hard-wrapped line may break them
# anywhere ("Indian\nOcean").
NOT_A_MENTION = re.compile(
    r"Indian\s+Ocean|Indo-Pacific|Pacific\s+Ocean|New\s+Jersey|New\s+Mexico|New\s+South\s+Wales"
    r"|(Latin|South|Central|North)\s+America",
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
    for canonical, forms in (*CAPITALS.items(), *LEADERS.items()):
        for form in forms:
            table[form] = canonical
    return table


def _case_sensitive(form: str) -> bool:
    return form in CASE_SENSITIVE or any(form in forms for forms in LEADERS.values())


@cache
def _matchers() -> tuple[dict[str, str], dict[str, str], re.Pattern[str]]:
    table = _names()
    lower = {form.lower(): name for form, name in table.items() if not _case_sensitive(form)}
    exact = {form: name for form, name in table.items() if _case_sensitive(form)}
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


def is_leader(name: str) -> bool:
    """True when `name` is one of the leaders' name forms ("Nguyen Phu Trong", "Kishida Fumio"), as written."""
    return any(name in forms for forms in LEADERS.values())


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
