"""A small PDF that is slow to read (many pages drawing one shared content stream, no text) is bounded by the page
cap and the extraction deadline, is read outside the writer lock so it delays no other writer, and is refused as an
upload with a clear message."""

from __future__ import annotations

import io
import threading
import time

import pytest

from ingest.loaders import SkippedFile, load_file
from rag.engine import Engine
from rag.storage.store import Store, writer_lock
from rag.storage.sync import sync
from rag.upload import UploadError, add_upload
from tests.reliability.conftest import tiny_copy

TINY_DOCS = {"harbour_pact.md", "island_forum.md", "river_commission.md"}


def shared_stream_pdf(pages: int, operations: int = 20_000) -> bytes:
    """`pages` pages that all draw one content stream of `operations` font selections: no text, and every page
    costs pypdf the whole stream (about 35 ms per page at 20,000) while the file stays small."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    stream = DecodedStreamObject()
    stream.set_data(b"BT /F1 12 Tf ET\n" * operations)
    content = writer._add_object(stream.flate_encode())
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    resources = writer._add_object(DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}))
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = content
        page[NameObject("/Resources")] = resources
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_over_the_page_cap_is_skipped_before_a_page_is_read(tmp_path):
    path = tmp_path / "pages.pdf"
    path.write_bytes(shared_stream_pdf(2000))
    assert path.stat().st_size < 400_000  # small: the character and size caps never trip

    started = time.monotonic()
    with pytest.raises(SkippedFile, match=r"pages.pdf: 2,000 pages, over the 1,000 .*RAG_MAX_PDF_PAGES"):
        load_file(path, "pages.pdf", max_pages=1000)
    assert time.monotonic() - started < 5


def test_a_pdf_slow_to_extract_is_skipped_at_the_deadline(tmp_path):
    path = tmp_path / "slow.pdf"
    path.write_bytes(shared_stream_pdf(300))  # about 10 s to read whole

    started = time.monotonic()
    with pytest.raises(SkippedFile, match=r"slow.pdf: reading its text took over 0.5 s.*RAG_MAX_EXTRACT_SECONDS"):
        load_file(path, "slow.pdf", max_pages=1000, max_seconds=0.5)
    assert time.monotonic() - started < 3


@pytest.mark.slow
def test_a_slow_pdf_is_read_outside_the_writer_lock_so_another_writer_does_not_wait(tmp_path, make_settings, embedder):
    settings = tiny_copy(tmp_path, make_settings)
    (settings.corpus_dir / "slow.pdf").write_bytes(shared_stream_pdf(60))  # 2 s or more to read
    reports = []
    ingest = threading.Thread(target=lambda: reports.append(sync(settings, embedder=embedder)))

    ingest.start()
    time.sleep(1.0)  # it is reading the PDF now
    started = time.monotonic()
    with writer_lock(settings):
        waited = time.monotonic() - started
        still_reading = ingest.is_alive()
    ingest.join(timeout=120)

    assert still_reading and waited < 0.5, f"waited {waited:.1f} s for the writer lock"
    assert reports[0].added == 3 and "slow.pdf: no text to index" in reports[0].skipped


def test_an_upload_over_the_page_cap_is_refused_and_removed(tmp_path, make_settings, embedder):
    settings = tiny_copy(tmp_path, make_settings).model_copy(update={"allow_upload": True, "max_pdf_pages": 100})
    engine = Engine(settings, Store(settings), embedder, "extractive")
    src = tmp_path / "pages.pdf"
    src.write_bytes(shared_stream_pdf(500))

    started = time.monotonic()
    with pytest.raises(UploadError, match=r"pages.pdf could not be ingested: 500 pages, over the 100 .*PDF_PAGES"):
        add_upload(engine, src, "pages.pdf")

    assert time.monotonic() - started < 10
    assert not any((settings.corpus_dir / settings.upload_dir).iterdir())
    assert {r["metadata"]["doc_id"] for r in engine.store.iter_records()} == set()
