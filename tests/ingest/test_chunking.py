"""Chunking: exact offsets, size and overlap limits, section and page provenance, whole sentences."""

from __future__ import annotations

import itertools
import re
import textwrap
from functools import cache
from pathlib import Path

import pytest

from ingest.chunking import Chunk, chunk_document, sentence_spans
from ingest.loaders import Document, load_file
from ingest.pipeline import discover

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
CORPUS_FILES = sorted(f.doc_id for f in discover([CORPUS], CORPUS)[0])  # every file `rag ingest` reads
SETTINGS = [(900, 150), (300, 60), (120, 0)]  # (chunk_size, overlap): the default, small, and tiny without overlap


@cache
def _chunked(name: str, size: int, overlap: int) -> tuple[Document, list[Chunk]]:
    doc = load_file(CORPUS / name, name)
    return doc, chunk_document(doc, size, overlap)


corpus_cases = pytest.mark.parametrize(
    ("name", "size", "overlap"), [(n, s, o) for n in CORPUS_FILES for s, o in SETTINGS]
)


@corpus_cases
def test_chunk_text_is_exactly_its_span_of_the_document(name, size, overlap):
    doc, chunks = _chunked(name, size, overlap)

    assert chunks
    for chunk in chunks:
        assert doc.text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert [c.chunk_id for c in chunks] == [f"{name}#{i}" for i in range(len(chunks))]


@corpus_cases
def test_no_chunk_exceeds_the_chunk_size(name, size, overlap):
    _, chunks = _chunked(name, size, overlap)

    assert max(len(c.text) for c in chunks) <= size


@corpus_cases
def test_consecutive_chunks_move_forward_and_overlap_by_at_most_the_overlap(name, size, overlap):
    _, chunks = _chunked(name, size, overlap)

    for previous, current in itertools.pairwise(chunks):
        assert current.start > previous.start
        assert current.end > previous.end
        assert previous.end - current.start <= overlap, (previous.chunk_id, current.chunk_id)


@corpus_cases
def test_chunks_cover_all_text_except_heading_lines(name, size, overlap):
    doc, chunks = _chunked(name, size, overlap)
    covered = bytearray(len(doc.text))
    for start, end in [(c.start, c.end) for c in chunks] + [
        m.span() for m in re.finditer(r"^#{1,6}[ \t]+.*$", doc.text, re.M)
    ]:
        covered[start:end] = b"\x01" * (end - start)

    lost = [i for i, flag in enumerate(covered) if not flag and not doc.text[i].isspace()]

    assert not lost, f"text dropped by chunking: {doc.text[lost[0] : lost[0] + 60]!r}"


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_chunks_carry_the_heading_of_the_section_they_are_in(name):
    doc, chunks = _chunked(name, 300, 60)
    headings = [(m.start(), m.group(1).strip()) for m in re.finditer(r"^#{1,6} +(.+?)\s*$", doc.text, re.M)]

    for chunk in chunks:
        expected = next((title for pos, title in reversed(headings) if pos < chunk.start), "")
        assert chunk.section == expected, chunk.chunk_id
        assert not re.search(r"^#{1,6} ", chunk.text, re.M), "a chunk crosses a heading"


def test_article_chunks_name_their_sections():
    _, chunks = _chunked("diplomatic-overdrive.md", 900, 150)

    def section_of(phrase: str) -> str:
        return next(c.section for c in chunks if phrase in c.text)

    assert section_of("announced its National Security Strategy") == "Diplomatic Overdrive"
    assert section_of("Japan pledged JPY 600 billion by March 2024") == "Tighter Alliances"
    assert section_of("Domestic demands will sway") == "Lessons for Japan"


def test_pdf_chunks_carry_their_page_and_never_cross_pages(tmp_path, make_pdf):
    pages = [
        [f"Page {p} sentence {i} talks about port {p * 10 + i} in some detail." for i in range(1, 7)] for p in (1, 2, 3)
    ]
    path = tmp_path / "pages.pdf"
    path.write_bytes(make_pdf(pages))
    doc = load_file(path, "pages.pdf")

    chunks = chunk_document(doc, 150, 40)

    segments = {s.page: s for s in doc.segments}
    assert sorted(segments) == [1, 2, 3]
    assert {c.page for c in chunks} == {1, 2, 3}
    assert len(chunks) > 3  # several chunks per page, so a page-crossing chunk would be possible
    for chunk in chunks:
        page = segments[chunk.page]
        assert page.start <= chunk.start < chunk.end <= page.end, chunk.chunk_id
        assert f"Page {chunk.page} sentence" in chunk.text


# Sentences with abbreviations, initials, numbers and quotes that a naive splitter would cut.
SENTENCES = [
    "Mr. Sullivan met the Japanese and Philippine advisers in Tokyo on 16 June 2023.",
    "They discussed maritime security, e.g. coast guard patrols in the South China Sea.",
    "The U.S. President later endorsed the plan, worth USD 3.5 billion in total.",
    "“We will work together,” said Dr. Akiba after the meeting.",
    "Was the meeting a success?",
    "Officials said yes!",
    "Talks continue at No. 10 Harbour Road in Manila next spring.",
    "A follow-up summit (the third this year) is planned for September.",
    "Each side will name two envoys by the end of the month.",
    "The envoys report to the leaders every quarter.",
]


@pytest.mark.parametrize(("size", "overlap"), [(100, 0), (160, 60), (250, 100)])
@pytest.mark.parametrize("wrap", [False, True], ids=["one_line", "hard_wrapped"])
def test_chunks_hold_whole_sentences_and_start_at_a_sentence_start(size, overlap, wrap):
    text = " ".join(SENTENCES)
    if wrap:  # a hard-wrapped paragraph is still one paragraph
        text = textwrap.fill(text, width=47)
    doc = Document("p.txt", text, "hash")

    chunks = chunk_document(doc, size, overlap)

    runs = {" ".join(SENTENCES[i:j]) for i in range(len(SENTENCES)) for j in range(i + 1, len(SENTENCES) + 1)}
    assert len(chunks) > 2
    for chunk in chunks:
        words = " ".join(chunk.text.split())
        assert words in runs, f"chunk is not a run of whole sentences: {words!r}"


def test_sentence_spans_do_not_split_at_abbreviations():
    text = " ".join(SENTENCES)

    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]

    assert spans == SENTENCES


def test_blank_line_ends_a_sentence_that_has_no_full_stop():
    caption = "Indian Prime Minister Narendra Modi with Japanese counterpart Fumio Kishida"
    text = f"{caption}\n\nIt is evident that ties grew."

    spans = [text[s:e] for s, e in sentence_spans(text, 0, len(text))]

    assert spans == [caption, "It is evident that ties grew."]


def test_overlong_sentence_is_cut_at_word_boundaries_within_the_size():
    words = [f"w{'x' * (i % 7)}{i}" for i in range(150)]  # uneven lengths, so fixed-width cuts land mid-word
    doc = Document("long.txt", " ".join(words) + ".", "hash")

    chunks = chunk_document(doc, 100, 20)

    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk.text) <= 100
        assert chunk.start == 0 or doc.text[chunk.start - 1] == " "
        assert chunk.end == len(doc.text) or doc.text[chunk.end] == " "
    assert " ".join(c.text for c in chunks).replace(".", "").split() == words
