"""Country tagging: capitals, demonyms and abbreviations resolve to canonical names; look-alikes don't."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.chunking import chunk_document
from ingest.countries import canonical_country, country_key, find_countries
from ingest.loaders import load_file
from ingest.pipeline import Version
from rag.storage.embeddings import EMBED_DIM
from rag.storage.records import encode
from rag.storage.sync import fingerprint
from tests.conftest import CORPUS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Japan had the world’s attention when Tokyo announced its strategy.", ["Japan"]),
        ("The summit was held in Tokyo.", ["Japan"]),
        ("the transfer of Japanese defence equipment and technology", ["Japan"]),
        (
            "Philippines, as a member of the Asean and independently, continue to maintain that disputes"
            " should not define relationships",
            ["ASEAN", "Philippines"],
        ),
        ("the Philippines perceived as the PRC’s provocative act", ["China", "Philippines"]),
        ("President Marcos Jr. visited Beijing in early 2023", ["China", "Philippines"]),  # a leader names his country
        ("Manila summoned the envoy to express concerns", ["Philippines"]),
        ("thereby in-roading into the Pacific Island Countries", ["Pacific Islands"]),
        ("the geo-strategic importance of Asean and PIC (Pacific Island Nations)", ["ASEAN", "Pacific Islands"]),
        ("it is evident that under Quad or not, Japan is seeking tighter alliances", ["Japan", "Quad"]),
        ("Japan has also signed a Reciprocal Access Agreement (RAA) with the UK.", ["Japan", "United Kingdom"]),
        ("Indian Prime Minister Narendra Modi with Japanese counterpart Fumio Kishida", ["India", "Japan"]),
        ("a traditional deterrence alliance partner in the US", ["United States"]),
        ("the Association of Southeast Asian Nations met in Phnom Penh", ["ASEAN", "Cambodia"]),
    ],
)
def test_mentions_resolve_to_canonical_names(text, expected):
    assert find_countries(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Let us take the example of Thailand.", ["Thailand"]),
        ("tell us what you think about it", []),
        ("shipping lanes across the Indian Ocean", []),
        ("a free and open Indo-Pacific region", []),
        ("the Indo-Pacific and the Indian Ocean, with India as a partner", ["India"]),
    ],
)
def test_pronoun_us_and_ocean_or_region_names_are_not_country_mentions(text, expected):
    assert find_countries(text) == expected


def test_lowercase_question_finds_the_countries_it_asks_about():
    assert find_countries("what did japan pledge to the philippines?") == ["Japan", "Philippines"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("In a recently concluded Japan-Philippines meeting", ["Japan", "Philippines"]),
        ("Puppeting the US-Japan alliance as the cornerstone", ["Japan", "United States"]),
        ("the first India-Japan bilateral air drill exercises", ["India", "Japan"]),
    ],
)
def test_hyphenated_country_pairs_tag_both_countries(text, expected):
    assert find_countries(text) == expected


def test_latin_america_is_not_the_united_states():
    assert find_countries("the Middle East, Africa, and Latin America, and other regions") == []


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("cambodia", "Cambodia"), ("Asean", "ASEAN"), ("PRC", "China"), ("viet nam", "Vietnam"), ("UK", "United Kingdom")],
)
def test_user_typed_country_names_resolve_to_canonical_names(typed, canonical):
    assert canonical_country(typed) == canonical


def test_unknown_country_name_resolves_to_none():
    assert canonical_country("Atlantis") is None


def test_stored_chunks_flag_every_country_they_mention(make_settings):
    # What ingest stores for each chunk, from the chunker alone: no embedding needed to check the flags.
    settings = make_settings(corpus_dir=CORPUS)
    records = []
    for path in sorted(CORPUS.glob("*.md")):
        doc = load_file(path, path.name)
        chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
        for chunk in chunks:
            version = Version(doc.content_hash, fingerprint(settings), len(chunks))
            meta = encode(chunk, version, np.zeros((0, EMBED_DIM)))
            records.append({"id": chunk.chunk_id, "document": chunk.text, "metadata": meta})
    assert records

    for record in records:
        meta = record["metadata"]
        named = [c for c in meta["countries"].split("; ") if c]
        flags = {key for key, value in meta.items() if key.startswith("country_")}
        assert flags == {country_key(c) for c in named}, record["id"]
        assert all(meta[key] is True for key in flags)
        assert named == find_countries(f"{meta['section']}\n{record['document']}"), record["id"]

    pledge = next(r for r in records if "Japan pledged JPY 600 billion" in r["document"])
    assert pledge["metadata"][country_key("Japan")] is True
    assert pledge["metadata"][country_key("Philippines")] is True
    ream = next(r for r in records if "Cambodia’s Ream Naval Base" in r["document"])
    assert ream["metadata"][country_key("Cambodia")] is True
    assert country_key("Pacific Islands") == "country_Pacific_Islands"
    assert any(r["metadata"].get("country_Pacific_Islands") for r in records)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What did Kishida do in Jakarta?", ["Indonesia", "Japan"]),
        ("President Biden met Prime Minister Hun Sen", ["Cambodia", "United States"]),
        ("Marcos went to Beijing", ["China", "Philippines"]),
        ("Hanoi welcomed General Secretary Nguyen Phu Trong", ["Vietnam"]),
    ],
)
def test_capitals_and_leaders_resolve_to_their_countries(text, expected):
    assert find_countries(text) == expected


def test_leader_names_are_matched_case_sensitively():
    assert find_countries("the marcos family and a modi-fied plan") == []
