"""Corpus markdown rendered safely, answer shapes on screen, each [n] to its claim's own span, saved chats."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from rag.answer import Answer
from testkit.answers import citation
from webui import conversations
from webui.render import render_answer, render_sources
from webui.text import render_corpus_text

HEADING = "**<u>PROMOTION AND PROTECTION OF HUMAN RIGHTS</u>**  \nBoth countries pledged continued support."


class Nesting(HTMLParser):
    """Checks that every tag closes in order."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag != "br":
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        self.ok = self.ok and bool(self.open) and self.open.pop() == tag


def well_formed(markup: str) -> bool:
    parser = Nesting()
    parser.feed(markup)
    return parser.ok and not parser.open


def visible(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def test_corpus_heading_markup_renders_as_bold_underline_not_raw_markers() -> None:
    html = render_corpus_text(HEADING)
    assert "<strong><u>PROMOTION AND PROTECTION OF HUMAN RIGHTS</u></strong>" in html
    assert "**" not in html and "&lt;u&gt;" not in html
    assert html.endswith("<br>Both countries pledged continued support.")  # markdown's hard line break


def test_html_in_a_passage_stays_text() -> None:
    html = render_corpus_text('<script>alert(1)</script> <u onclick="x()">a</u> <img src=x onerror=y>')
    assert "<script" not in html and "<img" not in html and 'onclick="' not in html
    assert visible(html).startswith("&lt;script&gt;")


def test_highlights_nest_inside_markup_at_any_offsets() -> None:
    for start in range(0, len(HEADING), 7):
        for end in range(start + 1, len(HEADING) + 1, 11):
            html = render_corpus_text(HEADING, [(start, end, "q0")])
            assert well_formed(html), (start, end, html)
            assert html.count('id="q0"') <= 1


def test_a_passage_cut_inside_markup_shows_no_stray_markers() -> None:
    html = render_corpus_text("RIGHTS</u>**  \nThe leaders met. ****\n\n**2** **APPRECIATING** the support")
    assert "**" not in visible(html) and "&lt;/u&gt;" not in html
    assert "<strong>2</strong> <strong>APPRECIATING</strong>" in html
    assert "The leaders met" in html and "<strong>The" not in html


def test_list_items_and_headings_start_their_own_lines_and_wrapped_lines_flow() -> None:
    html = render_corpus_text("# Harbour Pact\nJapan signed\na pact.\n\n- first item\n- second *item*")
    assert html == "<strong>Harbour Pact</strong><br>Japan signed a pact.<br><br>• first item<br>• second <em>item</em>"


def test_each_citation_link_goes_to_its_own_claims_span() -> None:
    chunk = "Japan signed a pact with Thailand. **Japan** also signed one with Vietnam."
    # The second span starts inside the bold markup: its <mark> must still nest.
    claims = [("Japan signed a pact with Thailand.", 0, 34), ("Japan also signed one with Vietnam.", 37, len(chunk))]
    cited = citation(chunk, claims=claims, chunk_start=100, support=1.0)
    answer = Answer("q", "- Japan signed a pact with Thailand [1].\n- Japan also signed one with Vietnam [1].", [cited],
                    [], False)  # fmt: skip
    links = re.findall(r'href="#([^"]+)"', render_answer(answer, 4))
    assert links == ["src-4-1-q0", "src-4-1-q1"]
    panel = render_sources(answer, 4)
    assert all(f'<mark id="{anchor}">' in panel for anchor in links)
    assert well_formed(panel)


def test_list_and_comparison_answers_render_as_lists_under_labels() -> None:
    text = "Thailand:\n- Japan signed a pact with Thailand [1].\n\nCambodia:\n- Japan also signed one with Vietnam [1]."
    chunk = "Japan signed a pact with Thailand. Japan also signed one with Vietnam."
    claims = [("Japan signed a pact with Thailand.", 0, 34), ("Japan also signed one with Vietnam.", 35, len(chunk))]
    cited = citation(chunk, claims=claims, chunk_start=100, support=1.0)
    html = render_answer(Answer("q", text, [cited], [], False, shape="comparison"), 1)
    assert html.count('<p class="part-label"><strong>') == 2 and html.count('<ul class="answer-list"><li>') == 2
    assert "- Japan" not in html and well_formed(html)


def test_saved_conversations_add_rename_delete_and_list_newest_first(tmp_path) -> None:
    first = {"question": "What did Japan pledge to the Philippines?", "text": "a", "retrieved": [{}] * 9}
    saved = conversations.save_answer([], "a", first)
    saved = conversations.save_answer(saved, "b", {**first, "question": "Ream?"})
    saved = conversations.save_answer(saved, "a", {**first, "question": "And Vietnam?"})
    assert conversations.choices(saved) == [("What did Japan pledge to the Philippines? (2)", "a"), ("Ream? (1)", "b")]
    assert len(saved[0]["answers"][0]["retrieved"]) == conversations.KEPT_PASSAGES
    saved = conversations.rename(saved, "b", "  Ream   base ")
    assert conversations.find(saved, "b")["title"] == "Ream base"
    assert conversations.rename(saved, "b", "   ") == saved
    assert [c["id"] for c in conversations.delete(saved, "a")] == ["b"]

    key = tmp_path / "data" / "browser-state.key"
    assert conversations.browser_state_secret(key) == conversations.browser_state_secret(key)  # kept across starts
    assert key.stat().st_mode & 0o077 == 0
