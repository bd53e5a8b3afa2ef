"""The questions a new user asked that used to fail: exact phrases, bylines, aliases, source scope, absent details."""

from __future__ import annotations

import pytest

from rag.answer import ABSTAIN_TEXT
from rag.engine import Engine
from rag.errors import UnknownDocumentError

ARTICLE = "diplomatic-overdrive.md"


def test_quoted_phrase_is_answered_from_the_passage_that_contains_it(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What is the 'diamond hexagon'?")
    assert not answer.abstained
    assert answer.retrieved[0].doc_id == ARTICLE and "diamond hexagon" in answer.retrieved[0].text
    assert "diamond hexagon" in answer.text
    assert any(c.doc_id == ARTICLE and "diamond hexagon" in c.quote for c in answer.citations)


def test_unquoted_rare_phrase_still_ranks_its_passage_first(retriever) -> None:
    hits = retriever.retrieve("What is the diamond hexagon cooperation framework?")
    assert "diamond hexagon" in hits[0].text
    assert hits[0].exact == "diamond hexagon"


def test_who_wrote_the_article_names_its_author(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("Who wrote Diplomatic Overdrive?")
    assert not answer.abstained
    assert "Natasha Agarwal" in answer.text
    assert answer.citations and answer.citations[0].doc_id == ARTICLE


def test_the_author_named_in_a_question_is_found_in_the_byline(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("Who is Natasha Agarwal?")
    assert not answer.abstained
    assert "Natasha Agarwal" in answer.text and "Diplomatic Overdrive" in answer.text


def test_capital_and_leader_resolve_to_their_countries(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What did Kishida do in Jakarta?")
    assert not answer.abstained
    assert "Kishida" in answer.text and "Indonesia" in answer.text


def test_the_article_scopes_the_answer_to_the_article(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What does the article say about India?")
    assert not answer.abstained
    assert answer.docs == [ARTICLE]
    assert {h.doc_id for h in answer.retrieved} == {ARTICLE}
    assert answer.citations and all(c.doc_id == ARTICLE for c in answer.citations)
    assert "India" in answer.text


def test_a_date_the_sources_dont_give_is_not_taken_from_another_agreement(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("When was the Japan-UK RAA signed?")
    assert answer.abstained
    assert answer.text == "The sources don't give the date."
    assert answer.citations == [] and answer.retrieved  # the closest passages are still there to show
    assert any("Reciprocal Access Agreement" in h.text for h in answer.retrieved)


def test_a_name_the_sources_dont_give_is_said_to_be_missing(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What is the name of the fighter jet?")
    assert answer.abstained
    assert answer.text == "The sources don't give the name."


def test_a_date_the_sources_give_is_still_answered(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("When did Kishida visit Indonesia?")
    assert not answer.abstained and "2022" in answer.text


def test_white_house_questions_are_scoped_to_white_house_documents(retriever) -> None:
    hits = retriever.retrieve("What did the White House say about Vietnam?")
    assert hits and all(h.doc_id.startswith("wh_") for h in hits)


def test_a_two_part_question_is_not_scoped_to_one_source(retriever) -> None:
    question = "What did the article say about Vietnam's ties with China, and what did the US and Vietnam agree?"
    assert retriever.scope(question) is None


def test_docs_filter_keeps_only_the_named_documents(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask(
        "What was agreed on maritime security?", docs=["wh_2023-05-20_quad_leaders_joint_statement"]
    )
    assert answer.docs == ["wh_2023-05-20_quad_leaders_joint_statement.md"]
    assert {h.doc_id for h in answer.retrieved} == {"wh_2023-05-20_quad_leaders_joint_statement.md"}


def test_docs_filter_accepts_a_title(retriever) -> None:
    hits = retriever.retrieve("maritime security", docs=["Quad Leaders’ Joint Statement"])
    assert {h.doc_id for h in hits} == {"wh_2023-05-20_quad_leaders_joint_statement.md"}


def test_unknown_document_name_lists_the_names_that_exist(extractive_engine: Engine) -> None:
    with pytest.raises(UnknownDocumentError, match=r"Unknown document 'nope\.md'") as caught:
        extractive_engine.ask("What did Japan pledge?", docs=["nope.md"])
    assert ARTICLE in str(caught.value) and "wh_2023-05-20_quad_leaders_joint_statement.md" in str(caught.value)


def test_unanswerable_question_without_an_asked_detail_keeps_the_plain_abstention(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("Which university does Natasha Agarwal teach at?")
    assert answer.abstained and answer.text == ABSTAIN_TEXT


def test_a_month_the_question_names_ranks_that_months_document_first(retriever) -> None:
    hits = retriever.retrieve("Which economic security topics did Japan and the US list in January 2023?")
    assert hits[0].doc_id == "wh_2023-01-13_joint_statement_united_states_japan.md"  # not the April 2024 statement
