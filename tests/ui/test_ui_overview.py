"""Overview data behind the focus lists and the country page: Engine.countries, .country_brief, .documents."""

from __future__ import annotations

from rag.engine import Engine
from webui.events import country_choices, document_choices


def test_corpus_countries_lists_what_the_store_mentions_most_first(engine: Engine) -> None:
    countries = engine.countries()
    names = [name for name, _ in countries]
    assert {"Japan", "Philippines", "Cambodia", "ASEAN"} <= set(names)
    counts = [count for _, count in countries]
    assert counts == sorted(counts, reverse=True) and min(counts) > 0
    assert country_choices(engine)[0] == (f"{names[0]} ({counts[0]})", names[0])


def test_a_country_brief_takes_any_alias_and_every_line_names_its_passage(engine: Engine) -> None:
    brief = engine.country_brief("cambodian")
    assert brief.country == "Cambodia" and brief.documents > 0 and brief.passages > 0
    lines = [*brief.article, *brief.timeline, *brief.agreements]
    assert lines and all(line.chunk_id.startswith(line.doc_id + "#") for line in lines)


def test_document_focus_lists_every_stored_document_by_title_and_file(engine: Engine) -> None:
    choices = document_choices(engine)
    quad = "wh_2023-05-20_quad_leaders_joint_statement.md"
    assert (f"Quad Leaders’ Joint Statement ({quad})", quad) in choices
    assert len(choices) == engine.status()["documents"]
    labels = [label for label, _ in choices]
    assert labels == sorted(labels, key=str.casefold)
