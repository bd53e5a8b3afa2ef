"""What the chat and the source panel render: escaped text, live citation links, flagged and abstained answers."""

from __future__ import annotations

import re

from rag.answer import ABSTAIN_TEXT, Answer, Citation
from rag.retrieval.retrieve import Hit
from testkit.answers import citation
from webui.render import render_answer, render_sources, render_streaming, source_urls

CHUNK = "Intro sentence here. Japan pledged <b>600</b> billion yen to the Philippines. Closing words."
QUOTE = "Japan pledged <b>600</b> billion yen to the Philippines."


def cited(url: str = "https://example.org/statement") -> Citation:
    """Source [1]: QUOTE in CHUNK, a passage at offset 1000 of page 7 of a statement whose title holds markup."""
    return citation(CHUNK, QUOTE, url=url, chunk_start=1000, title="Joint <Statement>", date="2024-04-11", page=7)


def hit(rank: int, title: str = "Closest doc") -> Hit:
    return Hit.from_dict(dict(
        rank=rank, chunk_id=f"c.md#{rank}", doc_id="c.md", title=title, url="", date="2023-01-13", section="",
        page=None, text=f"Passage {rank} <i>text</i>.", start=0, end=20, countries=["Japan"], score=0.1,
    ))  # fmt: skip


def answer(text: str, citations: list[Citation], **kwargs: object) -> Answer:
    return Answer(question="What did <Japan> pledge?", text=text, citations=citations, retrieved=[], abstained=False,
                  **kwargs)  # fmt: skip


def test_model_and_document_html_is_escaped() -> None:
    rendered = render_answer(answer('<img src=x onerror="alert(1)"> Japan pledged a lot [1].', [cited()]), 1)
    assert "<img" not in rendered and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in rendered
    panel = render_sources(answer("Japan pledged [1].", [cited()]), 1)
    assert "<b>600</b>" not in panel and "&lt;b&gt;600&lt;/b&gt;" in panel
    assert "Joint &lt;Statement&gt;" in panel and "&lt;Japan&gt;" in panel


def test_citation_markers_link_to_their_passage_in_the_source_panel() -> None:
    a = answer("Japan pledged 600 billion yen [1]. It also said more [2].", [cited()])
    rendered, panel = render_answer(a, 3), render_sources(a, 3)
    assert '<a class="cite" href="#src-3-1"' in rendered
    assert 'id="src-3-1"' in panel
    assert "[2]" in rendered and 'href="#src-3-2"' not in rendered  # no such source: plain text


def test_supporting_quote_is_highlighted_in_its_chunk() -> None:
    panel = render_sources(answer("Japan pledged [1].", [cited()]), 1)
    marked = re.findall(r"<mark>(.*?)</mark>", panel)
    assert marked == ["Japan pledged &lt;b&gt;600&lt;/b&gt; billion yen to the Philippines."]
    assert "Intro sentence here." in panel and "page 7" in panel and "2024-04-11" in panel
    assert '<a href="https://example.org/statement" target="_blank" rel="noopener noreferrer">' in panel


def test_links_and_images_in_model_output_are_inert_unless_they_point_at_a_cited_source() -> None:
    text = (
        "See [the statement](https://example.org/statement) [1]. Click [here](https://evil.example/x) or "
        "https://evil.example/y now. ![pixel](https://evil.example/p.png) [bad](javascript:alert(1))"
    )
    rendered = render_answer(answer(text, [cited()]), 1)
    assert '<a href="https://example.org/statement" target="_blank"' in rendered
    assert "evil.example" in rendered  # still readable...
    assert not re.search(r'href="[^"]*evil', rendered)  # ...but not a link
    assert "<img" not in rendered and "javascript:" not in re.findall(r'href="([^"]*)"', rendered)


def test_unsafe_source_urls_are_not_linked() -> None:
    panel = render_sources(answer("Japan pledged [1].", [cited(url="javascript:alert(1)")]), 1)
    assert "href=" not in panel.replace('href="#', "")
    two = source_urls("https://a.example/x ; https://b.example/y")
    assert two == ["https://a.example/x", "https://b.example/y"]


def test_unsupported_sentences_are_flagged() -> None:
    a = answer(
        "Japan pledged 600 billion yen [1]. Japan also promised a moon base [1].",
        [cited()],
        unsupported_sentences=["Japan also promised a moon base."],
    )
    rendered = render_answer(a, 1)
    flagged = re.findall(r'<span class="unsupported"[^>]*>(.*?)</span>', rendered)
    assert len(flagged) == 1 and "moon base" in flagged[0]
    assert "600 billion" not in flagged[0]


def test_abstention_says_so_and_lists_the_closest_passages() -> None:
    a = Answer(question="Who won?", text=ABSTAIN_TEXT, citations=[], retrieved=[hit(1), hit(2, "Other <doc>")],
               abstained=True)  # fmt: skip
    rendered, panel = render_answer(a, 2), render_sources(a, 2)
    assert 'class="abstain"' in rendered and "The sources don&#x27;t answer this." in rendered
    assert 'href="#src-2-c1"' in rendered and "Other &lt;doc&gt;" in rendered
    assert 'id="src-2-c1"' in panel and 'id="src-2-c2"' in panel and "&lt;i&gt;text&lt;/i&gt;" in panel
    assert "<mark>" not in panel


def test_abstention_names_the_missing_detail() -> None:
    a = Answer(question="When was the RAA signed?", text="The sources don't give the date.", citations=[],
               retrieved=[hit(1)], abstained=True)  # fmt: skip
    rendered = render_answer(a, 3)
    assert "The sources don&#x27;t give the date." in rendered and 'href="#src-3-c1"' in rendered


def test_streaming_text_is_escaped_as_it_arrives() -> None:
    assert "&lt;script&gt;" in render_streaming("<script>alert(1)</script>")
    assert "<br>" in render_streaming("line one\nline two")


def test_an_answer_lacking_the_asked_figure_says_so_and_links_the_closest_sentences() -> None:
    text = "The sources don't give the amount. The closest passages say:\nJapan pledged 600 billion yen [1]."
    a = answer(text, [cited()])
    a.abstained = True
    rendered, panel = render_answer(a, 4), render_sources(a, 4)
    assert "The sources don&#x27;t give the amount." in rendered and '<a class="cite" href="#src-4-1"' in rendered
    assert 'id="src-4-1"' in panel and "<mark" in panel  # the cited sentence, not the closest passages' list
