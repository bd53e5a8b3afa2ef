"""Loaders: every format becomes the same Document shape, and every unusable file is skipped with a reason."""

from __future__ import annotations

import io
import logging
import shutil
import zipfile
from pathlib import Path

import pytest

from ingest.loaders import Segment, SkippedFile, content_hash, load_file
from rag.storage.store import Store
from rag.storage.sync import sync

DATA = Path(__file__).resolve().parents[1] / "data"
FORMATS = DATA / "formats"


def _load(path: Path):
    return load_file(path, path.name)


# --- markdown and text ------------------------------------------------------------------------------


def test_markdown_front_matter_becomes_document_metadata():
    doc = _load(FORMATS / "statement.md")

    assert doc.metadata == {
        "title": "Joint Statement on Coastal Resilience",
        "url": "https://example.org/statements/coastal-resilience",  # original_url wins over archived_url
        "date": "2023-06-16",
        "publisher": "Test Fixtures Office, Geneva",
        "license": "CC0 1.0, written for the test suite",
        "countries_topics": "Japan; Philippines; coastal resilience",
        "source": "statement.md",
    }


def test_markdown_text_is_the_body_after_front_matter_so_offsets_point_into_it():
    raw = (FORMATS / "statement.md").read_text(encoding="utf-8")
    body = raw[raw.index("\n---\n", 3) + len("\n---\n") :]

    doc = _load(FORMATS / "statement.md")

    assert doc.text == body
    assert "original_url" not in doc.text
    assert doc.segments == [Segment(0, len(body))]
    assert doc.content_hash == content_hash(raw.encode("utf-8"))
    start = doc.text.index("The work starts in 2025.")
    assert body[start : start + 24] == "The work starts in 2025."


def test_markdown_url_falls_back_to_archived_url(tmp_path):
    path = tmp_path / "archived.md"
    path.write_text("---\ntitle: Archived\narchived_url: https://archive.example.org/a\n---\nSome text here.\n")

    assert _load(path).metadata["url"] == "https://archive.example.org/a"


def test_markdown_without_front_matter_takes_its_title_from_the_first_heading(tmp_path):
    path = tmp_path / "plain.md"
    path.write_text("Intro line.\n\n## Port Upgrades\n\nThe port gets a new crane.\n")

    doc = _load(path)

    assert doc.metadata["title"] == "Port Upgrades"
    assert doc.text == path.read_text()


def test_invalid_front_matter_yaml_is_ignored_but_the_body_still_loads(tmp_path, caplog):
    path = tmp_path / "badyaml.md"
    path.write_text("---\ntitle: [unclosed\n---\n# Real Title\n\nBody sentence.\n")

    with caplog.at_level(logging.WARNING):
        doc = _load(path)

    assert doc.text == "# Real Title\n\nBody sentence.\n"
    assert doc.metadata["title"] == "Real Title"
    assert "badyaml.md" in caplog.text


def test_plain_text_loads_verbatim_with_a_title_from_the_file_name():
    path = FORMATS / "field_notes.txt"

    doc = _load(path)

    assert doc.text == path.read_text(encoding="utf-8")
    assert doc.metadata == {"title": "field notes", "source": "field_notes.txt"}


# --- html -------------------------------------------------------------------------------------------


def test_html_keeps_main_text_and_headings_and_drops_scripts_and_navigation():
    doc = _load(FORMATS / "page.html")

    assert doc.text.splitlines() == [
        "# Mekong Patrol Boats",
        "",
        "The United States will donate twelve rigid-hull boats to the Royal Thai Marine Police.",
        "",
        "## Training",
        "",
        "Crews will train in Bangkok for six weeks.",
        "",
        "Night navigation",
        "",
        "Search and rescue",
    ]
    for dropped in ("trackingSecret", "inline script", "Navigation link", "banner", "sidebar", "Footer", "font-family"):
        assert dropped not in doc.text
    assert doc.metadata["title"] == "Mekong Patrol Boats | Example Briefing Room"


# --- pdf --------------------------------------------------------------------------------------------


def test_pdf_has_one_segment_per_page_with_its_page_number(tmp_path, make_pdf):
    path = tmp_path / "brief.pdf"
    path.write_bytes(
        make_pdf(
            [["Page one is about Japan.", "It has a second line."], ["Page two is about the Philippines."]],
            title="Two Page Brief",
        )
    )

    doc = _load(path)

    assert [s.page for s in doc.segments] == [1, 2]
    assert doc.text[doc.segments[0].start : doc.segments[0].end] == "Page one is about Japan.\nIt has a second line."
    assert doc.text[doc.segments[1].start : doc.segments[1].end] == "Page two is about the Philippines."
    assert doc.segments[0].end <= doc.segments[1].start
    assert doc.metadata["title"] == "Two Page Brief"


def test_pdf_blank_page_leaves_later_page_numbers_right(tmp_path, make_pdf):
    path = tmp_path / "gap.pdf"
    path.write_bytes(make_pdf([["First page text."], [], ["Third page text."]]))

    doc = _load(path)

    assert [(s.page, doc.text[s.start : s.end]) for s in doc.segments] == [
        (1, "First page text."),
        (3, "Third page text."),
    ]


# --- docx -------------------------------------------------------------------------------------------


def test_docx_paragraphs_load_and_heading_styles_become_markdown_headings(tmp_path, make_docx):
    path = tmp_path / "memo.docx"
    path.write_bytes(
        make_docx(
            [
                ("Heading 1", "Background"),
                ("Normal", "Japan and Vietnam agreed on cyber-security cooperation."),
                ("Normal", "   "),
                ("Heading 2", "Next Steps"),
                ("Normal", "Officials meet again in Hanoi."),
            ],
            title="Cyber Memo",
        )
    )

    doc = _load(path)

    assert doc.text == (
        "# Background\n\nJapan and Vietnam agreed on cyber-security cooperation.\n\n"
        "## Next Steps\n\nOfficials meet again in Hanoi."
    )
    assert doc.metadata["title"] == "Cyber Memo"


# --- files that cannot be ingested ------------------------------------------------------------------


def _docx_with_corrupt_xml(make_docx) -> bytes:
    """A real .docx zip whose word/document.xml is not well-formed (a damaged or hand-edited file)."""
    good = zipfile.ZipFile(io.BytesIO(make_docx([("Normal", "Hello.")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for item in good.infolist():
            data = good.read(item.filename)
            broken.writestr(item, b"<w:document>unclosed" if item.filename == "word/document.xml" else data)
    return out.getvalue()


BAD_FILES = {
    # name: (bytes, fragment of the reason)
    "scan.md": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    "empty.md": (b"", "empty"),
    "blank.txt": (b"  \n\t\n   \n", "empty"),
    "latin1.txt": ("Café au lait à Genève, déjà vu.".encode("latin-1"), "UTF-8"),
    "data.xyz": (b"perfectly readable text in an unsupported format", "unsupported"),
    "broken.pdf": (b"%PDF-1.4\nthis is not really a pdf\n", "PDF"),
    "broken.docx": (b"PK\x03\x04 this is not really a zip archive", "docx"),
    "only_front_matter.md": (b"---\ntitle: Nothing below\n---\n\n", "no text"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unusable_file_is_skipped_with_a_reason_naming_it(tmp_path, name):
    data, reason = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)

    with pytest.raises(SkippedFile) as skipped:
        _load(path)

    assert name in str(skipped.value)
    assert reason.lower() in str(skipped.value).lower()


def test_truncated_pdf_is_skipped_as_malformed(tmp_path, make_pdf):
    data = make_pdf([["A page that will be cut off halfway through the file."]])
    path = tmp_path / "truncated.pdf"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(SkippedFile, match=r"truncated\.pdf: malformed PDF"):
        _load(path)


def test_file_over_the_size_limit_is_skipped_naming_its_size(tmp_path):
    path = tmp_path / "huge.md"
    path.write_text("A sentence that repeats. " * 400)

    with pytest.raises(SkippedFile, match=r"huge\.md: .* over the .* limit"):
        load_file(path, "huge.md", max_bytes=5_000)


def test_docx_with_corrupt_xml_is_skipped_not_raised(tmp_path, make_docx):
    path = tmp_path / "corrupt.docx"
    path.write_bytes(_docx_with_corrupt_xml(make_docx))

    with pytest.raises(SkippedFile, match=r"corrupt\.docx"):
        _load(path)


def test_ingesting_a_folder_with_bad_files_ingests_the_good_ones_and_lists_every_bad_one(
    tmp_path, make_settings, embedder, caplog
):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(FORMATS / "statement.md", folder)
    shutil.copy(FORMATS / "field_notes.txt", folder)
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    (folder / ".hidden.md").write_text("Editor scratch files are neither ingested nor reported.")
    settings = make_settings(corpus_dir=folder, store_dir=tmp_path / "store")

    with caplog.at_level(logging.WARNING):
        report = sync(settings, embedder=embedder)

    assert report.added == 2
    assert len(report.skipped) == len(BAD_FILES)
    for name in BAD_FILES:
        assert sum(message.startswith(f"{name}:") for message in report.skipped) == 1, (name, report.skipped)
        assert name in caplog.text
    assert not any(".hidden.md" in message for message in report.skipped)
    stored = {record["metadata"]["doc_id"] for record in Store(settings).iter_records()}
    assert stored == {"statement.md", "field_notes.txt"}
