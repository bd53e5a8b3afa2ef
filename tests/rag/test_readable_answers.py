"""What an extractive answer shows a reader: no subject the reader was not shown, no tag repeating the sentence,
a sources list naming each document once. Every case is written here, not copied from an eval set."""

from __future__ import annotations

from ingest.chunking import sentence_spans
from rag.answer import Answer
from rag.answering.citations import Claim, earlier_of_document
from rag.answering.extractive import Extract, _Candidate, _line, _units, without_repeats
from rag.serving.api import sources_text
from rag.storage.records import Chunk, Hit
from testkit.answers import citation
from webui.render import render_sources


def _candidates(*sentences: str) -> list[_Candidate]:
    """Each sentence of one passage (at document offset 500) as a candidate."""
    text = " ".join(sentences)
    hit = Hit(Chunk("river#3", "river.md", 3, text, 500, 500 + len(text)), rank=1, score=1.0)
    spans = list(sentence_spans(text, 0, len(text)))
    return [_Candidate(1, hit, i, spans, text[a:b]) for i, (a, b) in enumerate(spans)]


def _shown(c: _Candidate, reach: int) -> list[str]:
    return [_line(claim) for _, unit in _units([c], set(), reach) for claim in unit]


def test_an_antecedent_that_points_back_itself_is_shown_after_the_sentence_naming_its_subject() -> None:
    *_, pointing = _candidates(
        "The river authority of Norland opened two new locks on the canal.",
        "It also dredged the harbour entrance at Kessel.",
        "These works are in addition to the dam that Norland will finish by 2031.",
    )
    assert _shown(pointing, 2) == [
        "The river authority of Norland opened two new locks on the canal [1].",
        "It also dredged the harbour entrance at Kessel [1].",
        "These works are in addition to the dam that Norland will finish by 2031 [1].",
    ]
    assert _shown(pointing, 1)[0] == "It also dredged the harbour entrance at Kessel [1]."  # the switch off


def test_the_chain_stops_at_the_first_sentence_that_names_its_subject() -> None:
    *_, pointing = _candidates(
        "Fishing fleets left the bay early in spring.",
        "The ministry of Norland paid for new nets for every boat.",
        "This cost more than the ministry had planned for the year.",
    )
    assert _shown(pointing, 2)[0].startswith("The ministry of Norland paid")


def test_a_country_tag_is_dropped_where_the_sentence_names_that_country() -> None:
    (first,) = _candidates("These grants will help Thailand train its own coast guard crews.")
    assert _shown(first, 2) == ["These grants will help Thailand train its own coast guard crews [1]."]


def test_a_tag_keeps_only_the_countries_the_sentence_leaves_unnamed() -> None:
    *_, pointing = _candidates("Laos and Japan.", "These grants will help Japan train its own coast guard crews.")
    assert _shown(pointing, 2) == ["(Laos) These grants will help Japan train its own coast guard crews [1]."]


def test_a_sources_list_names_a_long_title_once_and_keeps_every_quote() -> None:
    title = "Joint Statement of the River Commission on the Future of Navigation in the Northern Basin"
    cited = [
        citation("Two locks opened.", n=1, doc_id="river.md", title=title),
        citation("The harbour was dredged.", n=2, doc_id="river.md", title=title),
        citation("The dam is due in 2031.", n=3, doc_id="dam.md", title="Dam report"),
    ]
    assert earlier_of_document(cited) == {2: 1}
    listed = sources_text(cited)
    assert listed.count(title) == 1
    assert '[2] same document as [1] - "The harbour was dredged."' in listed
    assert "[3] Dam report" in listed


def test_a_later_part_shows_only_what_an_earlier_part_did_not() -> None:
    first, second = (
        Claim("The fund gives 4 million euros to the river towns.", (1,)),
        Claim("The towns will plant 9,000 trees along the banks.", (2,)),
    )
    part = Extract(f"{_line(first)} {_line(second)}", [first, second])
    assert without_repeats(part, {first.text}) == Extract(_line(second), [second])
    assert without_repeats(Extract(_line(first), [first]), {first.text}).claims == [first]  # nothing else to say


def test_the_source_panel_names_a_document_once() -> None:
    title = "Joint Statement of the River Commission on the Future of Navigation in the Northern Basin"
    cited = [citation(q, n=n, doc_id="river.md", title=title) for n, q in ((1, "Two locks."), (2, "A dredge."))]
    answer = Answer(
        question="What opened?", text="Two locks [1]. A dredge [2].", citations=cited, retrieved=[], abstained=False
    )
    panel = render_sources(answer, 1)
    assert panel.count(title) == 1 and "<strong>[2]</strong> same document as [1]" in panel
    assert "A dredge." in panel  # each card keeps its quote


def test_the_chain_does_not_reach_back_past_a_paragraph_break() -> None:
    *_, pointing = _candidates(
        "**Fourth, the way ahead for the river towns.**\n\xa0 \nThis plan will guide the towns for ten years.",
        "Its cost will be shared by every town on the river.",
    )
    assert _shown(pointing, 2)[0] == "This plan will guide the towns for ten years [1]."


def test_a_heading_right_before_a_pointing_sentence_is_no_antecedent() -> None:
    *_, pointing = _candidates("**Fifth, the river towns' plan**\n\nThese works will take ten years.")
    for reach in (1, 2):
        assert not any("Fifth" in line for line in _shown(pointing, reach))
