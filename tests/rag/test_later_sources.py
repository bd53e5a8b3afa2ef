"""An answer citing a source dated after the primary document says so (corpus/README.md: two sources of April 2024
come after the article)."""

from __future__ import annotations

import pytest

from rag.answering.later_sources import later_note
from rag.engine import Engine
from testkit.answers import citation


@pytest.mark.parametrize(
    ("dates", "note"),
    [
        (["2024-04-11"], "Source 1 is dated 11 April 2024, later than the article (2023)."),
        (["2022-11-12", "2024-04-10", "2024-04-11"], "Sources 2 and 3 are dated 10 April 2024 and 11"),
        (["2023-09-11", "2023"], ""),  # at the article's precision, September 2023 is not later than "2023"
        ([""], ""),  # an undated source is never said to be later
    ],
)
def test_sources_dated_after_the_primary_document_are_named_at_its_precision(dates: list[str], note: str) -> None:
    cited = [citation("a quote", n=n, doc_id=f"doc{n}.md", date=date) for n, date in enumerate(dates, start=1)]
    said = later_note(cited, "2023", "the article")
    assert said.startswith(note) if note else said == ""


def test_an_answer_from_a_later_statement_says_it_is_later_and_one_from_earlier_does_not(
    extractive_engine: Engine,
) -> None:
    later = extractive_engine.ask("What is the Luzon Economic Corridor meant to connect?")
    assert later.citations and not later.abstained
    assert "later than the article (2023)" in later.text.splitlines()[-1]
    earlier = extractive_engine.ask("What did Biden tell Hun Sen about Ream Naval Base?")
    assert earlier.citations and "later than" not in earlier.text
