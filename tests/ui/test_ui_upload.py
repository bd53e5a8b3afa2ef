"""Uploads (rag/upload.py): only allowed, size-capped files, stored under a safe name inside the corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

from rag.engine import Engine
from rag.settings import Settings
from rag.upload import UploadError, add_upload, safe_filename, save_upload

NOTE = """---
title: Reykjavik Glacier Accord
date: 2024-06-01
---
Iceland and Mongolia signed the Reykjavik Glacier Accord, under which both countries commit to build
seventy-seven glacier weather stations along their northern borders by 2030.
"""


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / "incoming" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def upload_dir(settings: Settings) -> Path:
    return (settings.corpus_dir / settings.upload_dir).resolve()


@pytest.mark.parametrize(
    ("original", "safe"),
    [
        ("../../evil.md", "evil.md"),
        ("..\\..\\windows\\evil.md", "evil.md"),
        ("/etc/passwd.txt", "passwd.txt"),
        (".hidden.md", "hidden.md"),
        ("...md", "upload.md"),
        ("a..b.MD", "a.b.md"),
        ("Résumé 2024 (final).docx", "Resume_2024_final.docx"),
        ("<script>.html", "script.html"),
        ("日本.pdf", "upload.pdf"),
    ],
)
def test_upload_names_are_sanitised(original: str, safe: str) -> None:
    assert safe_filename(original) == safe


def test_path_traversal_name_is_stored_inside_the_upload_dir(tmp_path: Path, upload_settings: Settings) -> None:
    src = write(tmp_path, "evil.md", "Harmless text about Japan.")
    dest = save_upload(src, "../../evil.md", upload_settings)
    assert dest.parent == upload_dir(upload_settings)
    assert dest.name == "evil.md" and dest.read_text() == "Harmless text about Japan."
    assert not (upload_settings.corpus_dir.parent / "evil.md").exists()
    assert not (tmp_path.parent / "evil.md").exists()


def test_disallowed_type_is_refused(tmp_path: Path, upload_settings: Settings) -> None:
    src = write(tmp_path, "tool.exe", b"MZ\x90\x00binary")
    with pytest.raises(UploadError, match=r"\.exe can't be added.*Allowed: \.md"):
        save_upload(src, "tool.exe", upload_settings)
    with pytest.raises(UploadError, match=r"not a valid \.pdf"):
        save_upload(src, "tool.pdf", upload_settings)  # a renamed binary is not a PDF
    assert not upload_dir(upload_settings).exists()  # refused before anything was written


def test_oversize_upload_is_refused(tmp_path: Path, upload_settings: Settings) -> None:
    src = write(tmp_path, "big.md", "Japan. " * 10_000)  # 70 kB over a 0.05 MB cap
    with pytest.raises(UploadError, match=r"limited to 0\.05 MB"):
        save_upload(src, "big.md", upload_settings)


def test_identical_upload_is_stored_once_and_a_different_one_is_not_overwritten(
    tmp_path: Path, upload_settings: Settings
) -> None:
    first = save_upload(write(tmp_path, "a.md", "One."), "note.md", upload_settings)
    assert save_upload(write(tmp_path, "b.md", "One."), "note.md", upload_settings) == first
    other = save_upload(write(tmp_path, "c.md", "Two."), "note.md", upload_settings)
    assert other.name == "note-2.md" and first.read_text() == "One."


def test_symlink_at_the_destination_is_never_written_through(tmp_path: Path, upload_settings: Settings) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("keep me")
    folder = upload_dir(upload_settings)
    folder.mkdir(parents=True)
    (folder / "evil.md").symlink_to(outside)
    dest = save_upload(write(tmp_path, "evil.md", "overwrite?"), "evil.md", upload_settings)
    assert dest.name == "evil-2.md" and outside.read_text() == "keep me"


def test_upload_dir_leading_outside_the_corpus_is_refused(tmp_path: Path, upload_settings: Settings) -> None:
    src = write(tmp_path, "ok.md", "Fine.")
    (tmp_path / "elsewhere").mkdir()
    (upload_settings.corpus_dir / "link").symlink_to(tmp_path / "elsewhere")
    for upload_dir_setting in ("../elsewhere", "link", "."):
        settings = upload_settings.model_copy(update={"upload_dir": upload_dir_setting})
        with pytest.raises(UploadError, match="not a folder inside the corpus dir"):
            save_upload(src, "ok.md", settings)
    assert not any((tmp_path / "elsewhere").iterdir())


def test_allowed_upload_becomes_answerable(tmp_path: Path, engine: Engine, client: Client) -> None:
    dest, report = add_upload(engine, write(tmp_path, "accord.md", NOTE), "../Glacier Accord.md")
    assert dest == upload_dir(engine.settings) / "Glacier_Accord.md"
    assert report.added == 1 and not report.skipped
    result = client.predict("What does the Reykjavik Glacier Accord commit Iceland and Mongolia to?", None,
                            api_name="/ask")  # fmt: skip
    assert not result["abstained"]
    assert any(c["doc_id"] == "uploads/Glacier_Accord.md" for c in result["citations"])
    assert "weather stations" in result["answer"]


def test_upload_that_cannot_be_ingested_is_removed(tmp_path: Path, engine: Engine) -> None:
    with pytest.raises(UploadError, match="could not be ingested"):
        add_upload(engine, write(tmp_path, "fake.docx", b"PK\x03\x04 not really a docx"), "fake.docx")
    assert not (upload_dir(engine.settings) / "fake.docx").exists()
