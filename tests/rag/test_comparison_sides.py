"""A compared source's documents come from their metadata, and a topic label leading a question names no part."""

from rag.retrieval.scope import Scope
from rag.retrieval.sides import by_title_countries

DOCUMENTS = {
    "a.md": {"title": "Joint Statement of Australia and Canada", "date": "2021-03-02"},
    "b.md": {"title": "Australia-Canada Leaders' Statement", "date": "2022-07-09"},
    "c.md": {"title": "Statement of the Leaders of Australia, Canada and Mexico", "date": "2022-07-10"},
}
SIDES = (("2021-03", ("a.md",)), ("2022-07", ("b.md", "c.md")))


def test_a_dated_side_keeps_the_statement_whose_title_names_the_asked_countries():
    scope = Scope("both", ("a.md", "b.md", "c.md"), sides=SIDES)
    narrowed = by_title_countries(
        "How did the Australia-Canada statements of March 2021 and July 2022 differ?", scope, DOCUMENTS
    )
    assert narrowed.sides[1] == ("Australia-Canada Leaders' Statement", ("b.md",))
    assert "c.md" not in narrowed.doc_ids


def test_a_side_is_left_whole_when_no_title_names_exactly_the_asked_countries():
    scope = Scope("both", ("a.md", "b.md", "c.md"), sides=SIDES)
    assert by_title_countries("What did Mexico and Brazil say in 2021 and 2022?", scope, DOCUMENTS) is scope
