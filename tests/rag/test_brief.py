"""The country brief: the article's sentences, a dated timeline, agreements and neighbours, every line cited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.loaders import load_file
from rag.brief import AGREEMENT, BriefLine, CountryBrief
from rag.engine import Engine
from rag.errors import UnknownCountryError
from rag.serving.cli import main

US_VIETNAM = "wh_2023-09-11_us_vietnam_comprehensive_strategic_partnership.md"


@pytest.fixture(scope="module")
def vietnam(extractive_engine: Engine) -> CountryBrief:
    """The Vietnam brief over the shipped corpus (asked with the name the statement uses)."""
    return extractive_engine.country_brief("Viet Nam")


def assert_cited(line: BriefLine, corpus: Path, engine: Engine) -> None:
    """The line is its document's text at its offsets, inside the chunk it names, with the document's title."""
    assert load_file(corpus / line.doc_id, line.doc_id).text[line.start : line.end] == line.text
    chunk = engine.store.get([line.chunk_id])[line.chunk_id]
    assert chunk.doc_id == line.doc_id and chunk.start <= line.start and line.end <= chunk.end
    assert line.text in chunk.text
    assert (line.title, line.url, line.date) == tuple(str(chunk.metadata.get(k, "")) for k in ("title", "url", "date"))


def test_vietnam_brief_has_the_september_2023_statement_in_its_timeline_and_agreements_all_cited(
    vietnam: CountryBrief, extractive_engine: Engine
) -> None:
    assert vietnam.country == "Vietnam"
    (entry,) = [line for line in vietnam.timeline if line.doc_id == US_VIETNAM]
    assert entry.date == "2023-09-11" and "met and held talks in Hanoi" in " ".join(entry.text.split())
    assert entry.url.startswith("https://www.whitehouse.gov/")
    assert vietnam.agreements and all(AGREEMENT.search(line.text) for line in vietnam.agreements)
    assert any("$2 million" in line.text for line in vietnam.agreements)
    corpus = extractive_engine.settings.corpus_dir
    for line in vietnam.article + vietnam.timeline + vietnam.agreements:
        assert_cited(line, corpus, extractive_engine)


def test_article_lines_are_the_articles_sentences_naming_the_country_in_order(vietnam: CountryBrief) -> None:
    assert {line.doc_id for line in vietnam.article} == {"diplomatic-overdrive.md"}
    assert all("Vietnam" in line.text for line in vietnam.article)
    assert [line.start for line in vietnam.article] == sorted(line.start for line in vietnam.article)
    assert any(line.text.startswith("Japan and Vietnam have come together") for line in vietnam.article)


def test_agreements_come_from_every_source_not_just_the_longest(vietnam: CountryBrief) -> None:
    assert {line.doc_id for line in vietnam.agreements} == {"diplomatic-overdrive.md", US_VIETNAM}


def test_timeline_is_one_line_per_dated_source_oldest_first(extractive_engine: Engine) -> None:
    timeline = extractive_engine.country_brief("Japan").timeline
    assert len({line.doc_id for line in timeline}) == len(timeline) > 3
    assert [line.date for line in timeline] == sorted(line.date for line in timeline)
    assert all(line.doc_id.startswith("wh_") for line in timeline)  # the article is dated to the year only


def test_co_mentioned_countries_are_counted_without_the_country_itself(vietnam: CountryBrief) -> None:
    names = dict(vietnam.co_mentioned)
    assert "Vietnam" not in names and names["United States"] == max(names.values())


def test_a_country_the_corpus_never_names_has_an_empty_brief_and_an_unknown_name_is_refused(
    extractive_engine: Engine,
) -> None:
    empty = extractive_engine.country_brief("Peru")
    assert (empty.passages, empty.article, empty.timeline, empty.agreements) == (0, [], [], [])
    with pytest.raises(UnknownCountryError, match="Narnia"):
        extractive_engine.country_brief("Narnia")


def test_rag_countries_name_prints_the_brief_as_text_and_json(corpus_store, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RAG_STORE_DIR", str(corpus_store.settings.store_dir))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus_store.settings.corpus_dir))
    assert main(["countries", "vietnam", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["country"] == "Vietnam" and data["co_mentioned"][0]["country"] == "United States"
    assert {"text", "doc_id", "chunk_id", "start", "end", "title", "url", "date"} <= data["timeline"][0].keys()

    assert main(["countries", "vietnam"]) == 0
    text = capsys.readouterr().out
    assert "Timeline:\n  2023-09-11: On September 10, 2023" in text
    assert f"{US_VIETNAM} chars 113-331" in text
    assert main(["countries", "Narnia"]) == 1
    assert "Unknown country" in capsys.readouterr().err
