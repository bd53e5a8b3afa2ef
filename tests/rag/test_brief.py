"""The country brief: the article's sentences, a dated timeline, agreements and neighbours, every line cited."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from ingest.loaders import load_file
from rag.brief import AGREEMENT, BriefLine, CountryBrief, names_country
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


def test_a_capital_that_is_only_the_venue_does_not_file_the_line_under_its_country(extractive_engine: Engine) -> None:
    assert not names_country("We launched our dialogue partnership in Manila in 1977.", "Philippines")
    assert not names_country("Leaders met in Phnom Penh, Kingdom of Cambodia, on November 12.", "Cambodia")
    assert names_country("Manila protested the move, and Tokyo agreed.", "Philippines")  # the capital acts
    philippines = extractive_engine.country_brief("Philippines")
    shown = philippines.article + philippines.timeline + philippines.agreements
    assert not any("dialogue partnership in Manila" in line.text for line in shown)
    cambodia = extractive_engine.country_brief("Cambodia")
    assert [line.doc_id for line in cambodia.timeline] == [
        "wh_2022-11-12_biden_hun_sen_cambodia_readout_and_remarks.md"
    ]


def test_no_line_of_a_brief_repeats_another_or_itself(extractive_engine: Engine) -> None:
    for country in ("India", "Philippines", "Vietnam", "Japan", "United States"):
        brief = extractive_engine.country_brief(country)
        for lines in (brief.article, brief.timeline, brief.agreements):
            spans = sorted((line.doc_id, line.start, line.end) for line in lines)
            assert all(a[0] != b[0] or a[2] <= b[1] for a, b in itertools.pairwise(spans)), spans
            texts = [" ".join(line.text.lower().split()) for line in lines]
            assert len(set(texts)) == len(texts)
    caption = extractive_engine.country_brief("India").article[0]  # an image's alt text and caption, the same words
    assert caption.text == "Indian Prime Minister Narendra Modi with Japanese counterpart Fumio Kishida"


def test_a_line_whose_subject_points_back_shows_the_sentence_it_points_to(
    vietnam: CountryBrief, extractive_engine: Engine
) -> None:
    (evident,) = [line for line in vietnam.article if line.text.startswith("This was evident")]
    assert evident.context.startswith("Tapping into resources") and "Japan" in evident.context
    corpus = extractive_engine.settings.corpus_dir
    for line in vietnam.article + vietnam.timeline + vietnam.agreements:
        if line.context:
            text = load_file(corpus / line.doc_id, line.doc_id).text
            assert text[line.context_start : line.context_end] == line.context and line.context_end <= line.start
    india = extractive_engine.country_brief("India")
    assert not any(line.text.startswith("They welcomed") and not line.context for line in india.agreements)


def test_a_figure_is_filed_under_a_country_only_when_its_own_sentence_names_it(extractive_engine: Engine) -> None:
    for country in ("India", "Philippines", "Vietnam", "Indonesia"):
        for line in extractive_engine.country_brief(country).agreements:
            assert names_country(line.text, country), (country, line.text)
    india = extractive_engine.country_brief("India")
    # Glued sentences ("...by the end of 2023.The leaders...") are two lines; the one about NASA alone is out.
    assert not any("strategic framework for human spaceflight" in line.text for line in india.agreements)
    assert not any("Indian\nOcean" in line.text or "Indian Ocean" in line.text for line in india.timeline)
