"""Saying when an answer cites a source dated after the corpus's primary document.

The related sources were published around the primary document, some after it (corpus/README.md: "Two of them
(April 2024) come after the article"): a reader weighing the article's claims must know when a cited passage is
from later. Dates are compared at the precision both have, so a source of April 2024 is later than an article dated
"2023", and one of September 2023 is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer import Citation
from rag.answering.details import spoken_date

# The note as it closes an answer's text: "\n\nSource 2 is dated 11 April 2024, later than the article (2023)."
NOTE = re.compile(r"\n\nSources? [\d, and]+ (?:is|are) dated [^\n]*, later than [^\n]*\Z")


def later_note(citations: Sequence[Citation], primary_date: str, primary_label: str) -> str:
    """ "Source 3 is dated 11 April 2024, later than the article (2023)." for the later sources cited, or ""."""
    if not primary_date:
        return ""
    later = [c for c in citations if c.date and is_later(c.date, primary_date)]
    later.sort(key=lambda c: c.n)
    if not later:
        return ""
    if len(later) == 1:
        return f"Source {later[0].n} is dated {readable(later[0].date)}, later than {primary_label} ({primary_date})."
    numbers = ", ".join(str(c.n) for c in later[:-1]) + f" and {later[-1].n}"
    dates = list(dict.fromkeys(readable(c.date) for c in later))
    dated = dates[0] if len(dates) == 1 else ", ".join(dates[:-1]) + f" and {dates[-1]}"
    return f"Sources {numbers} are dated {dated}, later than {primary_label} ({primary_date})."


def is_later(date: str, than: str) -> bool:
    """Whether ISO date `date` is later than `than`, at the precision both have ("2024-04-11" after "2023")."""
    n = min(len(date), len(than))
    return date[:n] > than[:n]


def without_later_note(text: str) -> str:
    """The answer's text without its closing later-source note: the dates it names are not the answer's claims."""
    return NOTE.sub("", text)


def readable(date: str) -> str:
    """An ISO date as a reader writes it ("11 April 2024"); anything else as it stands."""
    return spoken_date(date) or date
