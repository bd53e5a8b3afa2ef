"""Comparisons on any wording: each side named by a date, by "the article", or as "X or Y" answers for itself.

The questions are members of the class, written for these tests; none is copied from an eval set.
"""

from __future__ import annotations

import pytest

from rag.answering.extractive import compared_topic
from rag.answering.shapes import alternatives
from rag.engine import Engine
from rag.profile import load_profile
from rag.retrieval.scope import find_scope, narrowest, scope_rules
from rag.retrieval.sides import article_against_countries
from tests.conftest import CORPUS


@pytest.mark.parametrize(
    ("question", "pair"),
    [
        ("Who moved first on semiconductors, Indonesia or Vietnam?", ["Indonesia", "Vietnam"]),
        ("Is Manila or Hanoi closer to Washington?", ["Philippines", "Vietnam"]),  # capitals name their countries
        ("Is Thailand's or Vietnam's net-zero date earlier?", ["Thailand", "Vietnam"]),
        ("What did Japan and India agree?", []),  # "and" joins a pair, it offers no choice
    ],
)
def test_two_countries_offered_as_alternatives_are_the_sides(question: str, pair: list[str]) -> None:
    assert alternatives(question) == pair


def test_of_two_nested_sources_only_the_narrower_is_a_side() -> None:
    sides = [("the article", ("a",)), ("publisher", ("b", "c")), ("fact sheets", ("b",)), ("b.md", ("b",))]
    assert narrowest(sides) == [("the article", ("a",)), ("fact sheets", ("b",))]


def test_an_or_question_retrieves_and_answers_both_countries(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("Whose partnership with Washington is described as broader, India or Vietnam?")
    assert answer.shape == "comparison" and not answer.abstained
    assert "India:" in answer.text and "Vietnam:" in answer.text


def test_two_dated_statements_without_a_source_word_answer_from_each(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What did the Jan 2023 and Apr 2024 US-Japan texts say about space exploration?")
    assert answer.shape == "comparison" and not answer.abstained
    assert {"2023-01", "2024-04"} <= {c.date[:7] for c in answer.citations}


def test_a_question_quoting_the_article_gets_the_asked_statement_too(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask(
        "The op-ed says Japan courts Thailand with arms transfers. What did the Nov 2022 White House fact sheet offer?"
    )
    cited = {c.doc_id for c in answer.citations}
    assert "wh_2022-11-18_fact_sheet_us_thailand_alliance_mekong.md" in cited


@pytest.mark.parametrize("shared_topic", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
def test_each_side_of_a_comparison_speaks_of_what_is_compared(make_engine, shared_topic: bool) -> None:
    # without: Thailand's side led with "the Vice President is launching the following initiatives", no energy in it
    engine = make_engine("extractive", shared_topic=shared_topic)
    answer = engine.ask("Thailand or Indonesia: who gets more for clean energy from the US?")
    bullets = [line for line in answer.text.splitlines() if line.startswith("- ")]
    assert len(bullets) >= 4, answer.text
    assert all("energy" in line.lower() or "reactor" in line.lower() for line in bullets), answer.text


DATED = {
    "op-ed.md": {"title": "An op-ed", "kind": "article", "date": "2022"},
    "wh_hanoi.md": {"title": "Hanoi statement", "publisher": "The White House", "date": "2023-09-11"},
    "wh_manila.md": {"title": "Manila statement", "publisher": "The White House", "date": "2023-05-01"},
}


@pytest.mark.parametrize("per_side", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
def test_a_month_and_year_beside_one_named_source_names_the_other_side(per_side: bool) -> None:
    # without: "in the commentary" was the only source, so the answer ran per country and Hanoi's side was lost
    question = "Laos's links to Tokyo in the commentary versus its links to Hanoi in the September 2023 text?"
    rules = scope_rules(load_profile(CORPUS / "profile.yaml"))
    scope = find_scope(question, None, DATED, rules, compare_sources=True, per_side=per_side)
    assert scope is not None and [ids for _, ids in scope.sides] == [("op-ed.md",), ("wh_hanoi.md",)]


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        (
            "Did the commentary and the 2023 text treat Hanoi alike?",
            [("op-ed.md",), ("wh_hanoi.md", "wh_manila.md")],
        ),  # the named one is no year side
        ("Has the commentary's line moved by the 2023 Hanoi text?", [("op-ed.md",), ("wh_hanoi.md", "wh_manila.md")]),
        ("What did the commentary say Hanoi did in 2023?", []),  # a year not after "the" dates an event
        ("How does the 2022 commentary see Hanoi?", []),  # the named source's own year
    ],
)
def test_a_year_after_the_names_a_source_beside_another(question: str, sides: list[tuple[str, ...]]) -> None:
    rules = scope_rules(load_profile(CORPUS / "profile.yaml"))
    scope = find_scope(question, None, DATED, rules, compare_sources=True, per_side=True)
    assert ([ids for _, ids in scope.sides] if scope else []) == sides


def test_one_named_source_without_a_dated_other_stays_one_source() -> None:
    rules = scope_rules(load_profile(CORPUS / "profile.yaml"))
    scope = find_scope(
        "How does the commentary describe Hanoi's hedging?", None, DATED, rules, compare_sources=True, per_side=True
    )
    assert scope is not None and scope.doc_ids == ("op-ed.md",) and not scope.sides


BY_YEAR = {
    "kr_2021.md": {"title": "Joint Statement of the United States and South Korea", "date": "2021-05-21"},
    "kr_2023.md": {"title": "United States-South Korea Leaders' Statement", "date": "2023-04-26"},
    "kr_jp_2023.md": {"title": "Statement of South Korea, Japan and the United States", "date": "2023-08-18"},
    "au_2023.md": {"title": "Australia-United States Ministerial Consultations", "date": "2023-07-29"},
}


@pytest.mark.parametrize("year_sides", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
@pytest.mark.parametrize(
    "question",
    [
        "How did Washington talk about Seoul's nuclear deterrence in 2021 vs 2023?",
        "Did the American line on South Korean chip supply change from 2021 to 2023?",
    ],
)
def test_two_years_and_two_countries_name_each_year_s_bilateral_statement(question: str, year_sides: bool) -> None:
    # without: no source was named, so the answer ran as one fact from whichever statement ranked first
    scope = find_scope(question, None, BY_YEAR, compare_sources=True, year_sides=year_sides)
    assert scope is not None and [ids for _, ids in scope.sides] == [("kr_2021.md",), ("kr_2023.md",)]


def test_two_years_and_one_country_name_no_sources() -> None:
    scope = find_scope(
        "How did Seoul's economy do in 2021 vs 2023?", None, BY_YEAR, compare_sources=True, year_sides=True
    )
    assert scope is None


@pytest.mark.parametrize("topic_label", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
@pytest.mark.parametrize(
    "question",
    [
        "chip export controls: how did the May 2021 and April 2023 statements differ?",
        "Extended deterrence: what did Washington say to Seoul in 2021 vs 2023?",
    ],
)
def test_a_leading_topic_label_is_no_first_question(question: str, topic_label: bool) -> None:
    # without: "topic: what ..." read as two questions, so neither statement was named
    scope = find_scope(question, None, BY_YEAR, compare_sources=True, year_sides=True, topic_label=topic_label)
    assert scope is not None and len(scope.sides) == 2


def test_a_question_before_a_colon_still_asks_first() -> None:
    question = "What did the May 2021 statement say: and what did the April 2023 one add?"
    assert find_scope(question, None, BY_YEAR, compare_sources=True, year_sides=True, topic_label=True) is None


@pytest.mark.parametrize("topic_run", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
def test_a_compared_source_shows_the_next_sentence_on_the_same_point(make_engine, topic_run: bool) -> None:
    # without: the April 2024 side stopped at "our partnership extends to space"; the lunar rover came next
    engine = make_engine("extractive", source_topic_run=topic_run)
    answer = engine.ask("Space cooperation: how did the Jan 2023 and Apr 2024 US-Japan statements differ?")
    assert answer.shape == "comparison" and "lunar rover" in answer.text, answer.text


LOOSE = {
    "op-ed.md": {"title": "An op-ed", "kind": "article", "author": "Jane Moreau", "date": "2023"},
    "wh_laos.md": {"title": "Joint Statement of the United States and Laos", "publisher": "The White House"},
    "wh_cambodia.md": {"title": "Joint Statement of the United States and Cambodia", "publisher": "The White House"},
    "wh_fiji.md": {"title": "Declaration on U.S.-Fiji Partnership", "publisher": "The White House"},
}


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("commentary vs white house on Laos - who stresses trade more?", [LOOSE.keys() - {"op-ed.md"}, {"op-ed.md"}]),
        ("Moreau on Cambodia versus the White House", [LOOSE.keys() - {"op-ed.md"}, {"op-ed.md"}]),
    ],
)
@pytest.mark.parametrize("article_sides", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
def test_a_bare_article_word_or_its_author_beside_another_source_is_a_side(question, sides, article_sides) -> None:
    # without: only "the article" named it, so the White House alone answered (or nothing did)
    rules = scope_rules(load_profile(CORPUS / "profile.yaml"))
    scope = find_scope(question, None, LOOSE, rules, compare_sources=True, article_sides=article_sides)
    assert scope is not None and [set(ids) for _, ids in scope.sides] == sides


def test_a_treaty_article_is_not_the_article() -> None:
    rules = scope_rules(load_profile(CORPUS / "profile.yaml"))
    scope = find_scope(
        "Article 5 vs the White House pledge", None, LOOSE, rules, compare_sources=True, article_sides=True
    )
    assert scope is not None and not scope.sides


@pytest.mark.parametrize(
    ("question", "statement"),
    [
        ("how does the column's view of Laos compare with the US-Laos statement?", "wh_laos.md"),
        ("Moreau on Fiji vs the US declaration", "wh_fiji.md"),
        ("fiji: the writer's take versus the American declaration", "wh_fiji.md"),
    ],
)
def test_the_article_against_a_statement_named_by_its_countries_is_two_sides(question: str, statement: str) -> None:
    # without: no source was named, so the answer ran per country and the article's side was missing
    scope = article_against_countries(question, None, LOOSE)
    assert scope is not None and [ids for _, ids in scope.sides] == [(statement,), ("op-ed.md",)]


def test_a_one_sided_question_on_the_article_stays_one_source() -> None:
    assert article_against_countries("What does the op-ed say about the US-Laos statement?", None, LOOSE) is None


@pytest.mark.parametrize("own", [True, pytest.param(False, marks=pytest.mark.xfail(strict=True))])
def test_a_side_that_is_a_main_actor_keeps_its_own_statement(make_engine, own: bool) -> None:
    # without: Japan (a corpus actor) kept only passages naming India too, so its own statement was never quoted
    engine = make_engine("extractive", side_own_passages=own)
    answer = engine.ask("permanent Security Council membership: India vs Japan?")
    japan = answer.text.split("Japan:")[-1]
    assert "Japan’s permanent membership" in japan, answer.text


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("net zero years - Thailand vs Vietnam?", "net zero years - ?"),
        ("Compare India and Japan", ""),  # nothing is compared but the sides: no topic to score by
    ],
)
def test_the_compared_topic_is_the_question_less_the_sides(question: str, topic: str) -> None:
    assert compared_topic(question, ["Thailand", "Vietnam", "India", "Japan"]) == topic
