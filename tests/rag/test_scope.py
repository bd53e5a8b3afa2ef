"""Source scope from the question, the explicit document filter, and exact phrase matches."""

from __future__ import annotations

import pytest

from rag.errors import UnknownDocumentError
from rag.profile import load_profile
from rag.retrieval.scope import (
    asked_dates,
    exact_matches,
    find_scope,
    question_ngrams,
    quoted_phrases,
    resolve_documents,
    scope_rules,
    without_dates,
)
from tests.conftest import CORPUS

RULES = scope_rules(load_profile(CORPUS / "profile.yaml"))  # the shipped corpus's kinds of source
DOCUMENTS = {
    "diplomatic-overdrive.md": {"title": "Diplomatic Overdrive: Japan trying to upgrade relations", "kind": "article"},
    "wh_a.md": {"title": "Quad Leaders’ Joint Statement", "publisher": "The White House (Briefing Room)"},
    "wh_b.md": {"title": "FACT SHEET: New Initiatives with Thailand", "publisher": "The White House (Briefing Room)"},
}


@pytest.mark.parametrize(
    ("question", "doc_ids"),
    [
        ("What does the article say about India?", ("diplomatic-overdrive.md",)),
        ("How has the BRI affected ASEAN, according to the author?", ("diplomatic-overdrive.md",)),
        ("What is the author's verdict on Tokyo's outreach?", ("diplomatic-overdrive.md",)),
        ("Who is the writer?", ("diplomatic-overdrive.md",)),
        ("What did the White House say about Vietnam?", ("wh_a.md", "wh_b.md")),
        ("What does the joint statement say about Quad vaccines?", ("wh_a.md",)),
        ("Which fact sheet mentions the Mekong?", ("wh_b.md",)),
        ("Who wrote Diplomatic Overdrive?", ("diplomatic-overdrive.md",)),
        ("Besides the RAA mentioned in the article, what step did the US and Japan announce?", None),
        ("What did the article say about Vietnam, and what did the US agree?", None),
        ("What did Japan pledge to the Philippines?", None),
    ],
)
def test_the_question_scopes_itself_to_the_source_it_names(question: str, doc_ids) -> None:
    scope = find_scope(question, None, DOCUMENTS, RULES)
    assert (scope.doc_ids if scope else None) == doc_ids


@pytest.mark.parametrize(
    ("question", "doc_ids"),
    [
        ("what's the article about?", ("diplomatic-overdrive.md",)),
        ("summarise the op-ed for me", ("diplomatic-overdrive.md",)),
        ("the gist of the column, please", ("diplomatic-overdrive.md",)),
        # a name may be another source compared, or the article's subject: not the whole article
        ("How do the article and the US-Pacific declaration differ?", None),
        ("Is the piece fair to Japan?", None),
    ],
)
def test_a_question_about_the_whole_article_names_it_in_any_wording(question: str, doc_ids) -> None:
    scope = find_scope(question, None, DOCUMENTS, RULES, compare_sources=True, article_named=True)
    assert (scope.doc_ids if scope else None) == doc_ids
    assert find_scope(question, None, DOCUMENTS, RULES, compare_sources=True, article_named=False) is None


def test_scope_can_be_turned_off() -> None:
    assert find_scope("What does the article say about India?", None, DOCUMENTS, RULES, infer=False) is None


def test_explicit_docs_win_over_the_question() -> None:
    scope = find_scope("What does the article say about India?", ["wh_a"], DOCUMENTS)
    assert scope.doc_ids == ("wh_a.md",) and scope.explicit


@pytest.mark.parametrize(
    "name", ["wh_a.md", "wh_a", "WH_A.MD", "quad leaders’ joint statement", "Diplomatic Overdrive"]
)
def test_documents_resolve_by_file_name_stem_or_title(name: str) -> None:
    assert len(resolve_documents([name], DOCUMENTS)) == 1


def test_unknown_document_lists_the_names_that_exist() -> None:
    with pytest.raises(UnknownDocumentError, match=r"Unknown document 'x'.*diplomatic-overdrive.md, wh_a.md, wh_b.md"):
        resolve_documents(["x"], DOCUMENTS)


def test_quoted_phrases_are_found_and_apostrophes_are_not_quotes() -> None:
    assert quoted_phrases("What is the 'diamond hexagon'?") == ["diamond hexagon"]
    assert quoted_phrases("What is the “diamond hexagon”?") == ["diamond hexagon"]
    assert quoted_phrases("What is Japan's view of China's plan?") == []


def test_question_ngrams_skip_function_words_and_country_pairs() -> None:
    assert question_ngrams("When was the Japan-UK RAA signed?") == ["raa signed"]
    assert "diamond hexagon" in question_ngrams("What is the diamond hexagon framework?")


def test_exact_matches_keep_quoted_phrases_and_rare_ngrams_only() -> None:
    candidates = [("a", "the diamond hexagon framework"), ("b", "naval base here"), ("c", "naval base there")]
    found = exact_matches("Is the 'diamond hexagon' near the naval base?", candidates, rare=1)
    assert found == {"a": "diamond hexagon"}
    assert exact_matches("Is it near the naval base?", candidates, rare=2) == {"b": "naval base", "c": "naval base"}
    assert exact_matches("Is it near the naval base?", candidates, rare=0) == {}


def test_a_year_or_month_in_the_question_narrows_a_named_kind_of_source_to_those_dated_then():
    documents = {
        "a.md": {"title": "Joint Statement of A and B", "date": "2023-01-13"},
        "b.md": {"title": "Joint Statement of A and C", "date": "2024-04-10"},
        "c.md": {"title": "Joint Statement of A and D", "date": "2023-05-01"},
    }
    assert find_scope(
        "Describe the alliance as the 2023 joint statement presents it.", None, documents, RULES
    ).doc_ids == (
        "a.md",
        "c.md",
    )
    assert find_scope("What did the May 2023 joint statement say?", None, documents, RULES).doc_ids == ("c.md",)
    assert find_scope("What may the joint statement mean?", None, documents, RULES).doc_ids == ("a.md", "b.md", "c.md")
    assert find_scope("What did the 1999 joint statement say?", None, documents, RULES).doc_ids == (
        "a.md",
        "b.md",
        "c.md",
    )


def test_asked_dates_reads_month_year_pairs_and_bare_years():
    assert asked_dates("in their January 2023 statement, and since 2021?") == ("2023-01", "2021")
    assert asked_dates("on 20 May 2023 or Sept. 11, 2023") == ("2023-05", "2023-09")
    assert asked_dates("What may Japan do next?") == ()


def test_without_dates_drops_the_month_and_year_that_pick_a_source():
    assert without_dates("What did they say about space in their January 2023 statement?") == (
        "What did they say about space in their statement?"
    )
    assert without_dates("What will happen in 2035?") == "What will happen in 2035?"  # a bare year may be the topic
