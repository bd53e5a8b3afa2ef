"""A question names one document loosely (title words or initials, month, countries) and is answered from it."""

from __future__ import annotations

import pytest

from rag.retrieval.named_document import named_document, named_documents
from rag.retrieval.scope import find_scope

# Made-up documents shaped like a corpus of dated government statements: several share kind words, months
# and countries, so only the combination names one.
DOCUMENTS = {
    "a.md": {"title": "Joint Statement of Thailand and Vietnam", "date": "2021-03-02"},
    "b.md": {"title": "Thailand-Vietnam Joint Leaders’ Statement", "date": "2022-07-15"},
    "c.md": {"title": "Joint Vision Statement of Leaders of Thailand, Vietnam, and Indonesia", "date": "2022-07-16"},
    "d.md": {"title": "Joint Readout of the Trade Ministers Meeting of Malaysia and Singapore", "date": "2021-03-20"},
    "e.md": {"title": "Declaration on Andean Water Security", "date": "2020-10-01"},
    "f.md": {"title": "Nordic Leaders’ Joint Statement", "date": "2021-03-21"},
    "g.md": {"title": "Nordic Leaders’ Vision Statement – Partners for the Arctic", "date": "2021-03-21"},
}


@pytest.mark.parametrize(
    ("question", "doc_id"),
    [
        # month (any spelling) and kind words beside the countries, in the reader's order
        ("give me the gist of the jul 2022 vietnam thailand leaders statement", "b.md"),
        # capitals name the countries of a three-way statement; its sibling of the day before lacks Indonesia
        ("what came out of the Bangkok-Hanoi-Jakarta summit of the leaders in July 2022?", "c.md"),
        # initials of a title phrase, with the month
        ("what did the march 2021 TMM readout say?", "d.md"),
        # most of the main title, no date; a near-twin differs by one title word
        ("What does the Nordic Vision Statement say?", "g.md"),
        ("summarise the Andean water declaration", "e.md"),
        # a subtitle's words beside a main-title word
        ("what does the Nordic statement on partners for the Arctic say?", "g.md"),
        # a typo in a title word
        ("what's in the declaraton on andean water security", "e.md"),
    ],
)
def test_a_question_names_one_document_by_its_title_date_and_countries(question: str, doc_id: str) -> None:
    assert named_document(question, DOCUMENTS) == doc_id


@pytest.mark.parametrize(
    "question",
    [
        # countries alone name a topic, not a document
        "What did Thailand pledge to Vietnam?",
        # one shared kind word and a year: every statement of that year
        "what did the 2022 joint statement say about trade?",
        # a title word used as a topic word
        "How is water security changing?",
        # a subtitle's words alone are a topic
        "What are the Nordic countries doing in the Arctic?",
        # undated title words said of a country the title lacks are a topic
        "Should Malaysia get a joint leaders statement like Thailand and Vietnam?",
        # two documents of the same month and kind, nothing to choose between them
        "what did the march 2021 leaders statement say?",
    ],
)
def test_a_question_naming_no_one_document_names_none(question: str) -> None:
    assert named_document(question, DOCUMENTS) is None


def test_the_named_document_narrows_a_kind_of_source_that_holds_it() -> None:
    doc_ids = named_documents("the jul 2022 vietnam thailand leaders statement", DOCUMENTS)
    scope = find_scope("What does the joint statement of jul 2022 say?", None, DOCUMENTS, named_document=doc_ids[0])
    assert scope is not None and scope.doc_ids == ("b.md",)


def test_beside_a_named_document_the_article_is_the_other_side_without_the() -> None:
    documents = {**DOCUMENTS, "op.md": {"title": "An Opinion on Andes", "kind": "article"}}
    question = "andean water: article's view vs the water security declaration"
    doc_id = named_document(question, documents)
    scope = find_scope(question, None, documents, named_document=doc_id)
    assert scope is not None and set(scope.doc_ids) == {"e.md", "op.md"}
