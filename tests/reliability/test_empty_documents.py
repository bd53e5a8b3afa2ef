"""A document with no text to index (a heading alone, front matter alone, blank, a PDF of images, an empty .docx)
is skipped with a warning and counted; the documents after it are ingested, by `rag ingest`, the UI's start-up
sync and an upload alike."""

from __future__ import annotations

import logging
import shutil

import pytest

from ingest.loaders import NO_TEXT
from rag.engine import Engine
from rag.storage.store import Store
from rag.upload import UploadError, add_upload
from testkit.cli import run_rag
from tests.conftest import TINY_CORPUS, tiny_copy
from tests.reliability.conftest import settings_env
from webui.events import Events
from webui.sync import CorpusSync

TINY_DOCS = {"harbour_pact.md", "island_forum.md", "river_commission.md"}


def image_only_pdf() -> bytes:
    """A one-page PDF that draws a 2x2 grey image and no text, as a scan without OCR does."""
    content = b"q 100 0 0 100 72 600 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x10\x80\x80\x10 EI Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def write_textless_files(folder, make_docx) -> list[str]:
    """One file of each textless shape, named to sort before the real documents; returns their names."""
    files = {
        "a_heading.md": b"# Only a heading\n",
        "a_front_matter.md": b"---\ntitle: Nothing below\ndate: 2024-01-02\n---\n",
        "a_blank.txt": b" \n\t\n   \n",
        "a_scan.pdf": image_only_pdf(),
        "a_empty.docx": make_docx([]),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return sorted(files)


@pytest.mark.slow
def test_rag_ingest_skips_textless_documents_with_a_warning_and_ingests_the_rest(
    tmp_path, make_settings, make_docx, rag_command, rag_env
):
    settings = tiny_copy(tmp_path, make_settings)
    names = write_textless_files(settings.corpus_dir, make_docx)

    run = run_rag([*rag_command, "ingest"], settings_env(rag_env, settings), tmp_path)

    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert f"3 added, 0 updated, 0 removed, 0 unchanged, {len(names)} skipped" in run.stdout
    for name in names:
        assert f"skipped {name}: " in run.stderr and NO_TEXT in run.stderr, run.stderr
    again = run_rag([*rag_command, "ingest"], settings_env(rag_env, settings), tmp_path)
    assert again.returncode == 0 and f"3 unchanged, {len(names)} skipped" in again.stdout, again.stderr


def test_the_ui_start_up_sync_skips_a_heading_only_file_and_ingests_the_rest(tmp_path, make_settings, embedder):
    settings = tiny_copy(tmp_path, make_settings)
    (settings.corpus_dir / "a_notes.md").write_text("# Only a heading\n", encoding="utf-8")
    engine = Engine(settings, Store(settings), embedder, "extractive")
    sync = CorpusSync(engine)

    sync.start().join(timeout=120)

    assert not sync.failed, sync.message
    assert "3 added" in sync.message and "1 skipped" in sync.message
    assert {r["metadata"]["doc_id"] for r in engine.store.iter_records()} == TINY_DOCS


@pytest.mark.parametrize("name", ["heading.md", "front_matter.md", "scan.pdf", "empty.docx"])
def test_a_textless_upload_is_refused_with_a_clear_message_removed_and_logged_without_a_traceback(
    tmp_path, make_settings, embedder, make_docx, caplog, name
):
    settings = tiny_copy(tmp_path, make_settings).model_copy(update={"allow_upload": True})
    engine = Engine(settings, Store(settings), embedder, "extractive")
    folder = tmp_path / "incoming"
    folder.mkdir()
    write_textless_files(folder, make_docx)
    src = folder / f"a_{name}"

    refused = rf"{name} could not be ingested: .*{NO_TEXT}"
    with caplog.at_level(logging.DEBUG), pytest.raises(UploadError, match=refused):
        add_upload(engine, src, name)
    message, _ = Events(engine, settings).on_upload(str(src))

    assert NO_TEXT in message and 'class="error"' in message
    assert "Traceback" not in caplog.text and "IndexError" not in caplog.text
    uploads = settings.corpus_dir / settings.upload_dir
    assert not any(uploads.iterdir())


def test_a_document_edited_down_to_a_heading_keeps_its_previous_version(tmp_path, make_settings, embedder):
    corpus = tmp_path / "corpus"
    shutil.copytree(TINY_CORPUS, corpus)
    settings = make_settings(corpus_dir=corpus, store_dir=tmp_path / "store", chunk_size=200, chunk_overlap=40)
    engine = Engine(settings, Store(settings), embedder, "extractive")
    engine.ingest()
    (corpus / "harbour_pact.md").write_text("# Harbour Pact\n", encoding="utf-8")

    report = engine.ingest()

    assert report.skipped == [f"harbour_pact.md: {NO_TEXT} (its previously ingested version is kept)"]
    assert {r["metadata"]["doc_id"] for r in engine.store.iter_records()} == TINY_DOCS
