"""Overview data behind the focus lists and the country view: Engine.countries, .country_profile, .documents."""

from __future__ import annotations

import pytest

from ingest.countries import canonical_country
from rag.engine import Engine
from rag.errors import UnknownCountryError
from webui.events import country_choices, document_choices


def test_corpus_countries_lists_what_the_store_mentions_most_first(engine: Engine) -> None:
    countries = engine.countries()
    names = [name for name, _ in countries]
    assert {"Japan", "Philippines", "Cambodia", "ASEAN"} <= set(names)
    counts = [count for _, count in countries]
    assert counts == sorted(counts, reverse=True) and min(counts) > 0
    assert country_choices(engine)[0] == (f"{names[0]} ({counts[0]})", names[0])


def test_country_profile_counts_mentions_per_document_and_finds_passages(engine: Engine) -> None:
    profile = engine.country_profile("cambodian")  # any alias works
    assert profile["country"] == "Cambodia"
    docs = {d["doc_id"]: d for d in profile["documents"]}
    assert "wh_2022-11-12_biden_hun_sen_cambodia_readout_and_remarks.md" in docs
    assert all(d["mentions"] > 0 and d["chunks"] > 0 for d in docs.values())
    assert profile["mentions"] == sum(d["mentions"] for d in docs.values()) > 0
    assert profile["passages"]
    for passage in profile["passages"]:
        assert "Cambodia" in passage["countries"]
        for start, end in passage["mentions"]:
            assert canonical_country(passage["text"][start:end]) == "Cambodia"


def test_country_profile_of_an_unknown_name_raises(engine: Engine) -> None:
    with pytest.raises(UnknownCountryError):
        engine.country_profile("Narnia")


def test_document_focus_lists_every_stored_document_by_title_and_file(engine: Engine) -> None:
    choices = document_choices(engine)
    quad = "wh_2023-05-20_quad_leaders_joint_statement.md"
    assert (f"Quad Leaders’ Joint Statement ({quad})", quad) in choices
    assert len(choices) == engine.status()["documents"]
    labels = [label for label, _ in choices]
    assert labels == sorted(labels, key=str.casefold)
