"""Uploads land in the upload folder under a plain name, whatever name the browser sends."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.upload import UploadError, save_upload

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.(md|markdown|txt|html|htm|pdf|docx)$")


def files_under(folder: Path) -> set[Path]:
    """Every file and link below `folder`."""
    return {p for p in folder.rglob("*") if p.is_file() or p.is_symlink()}


@pytest.mark.parametrize(
    "name",
    [
        "/etc/cron.d/evil.md",  # absolute paths
        "C:\\Windows\\System32\\evil.md",
        "\\\\server\\share\\evil.md",
        "file:///etc/evil.md",
        "../../../../tmp/evil.md",
        "evil\x00.md",  # NUL bytes
        "\x00../evil.md",
        "．．／．．／evil.md",  # fullwidth dots and slash: NFKD turns them into ../../
        "‥／evil.md",  # two-dot leader
        "..\u2215..\u2215evil.md",  # division slash
        "e\u0301vil\u200b.md",  # combining accent, zero-width space
        "evil\u202egpj.md",  # right-to-left override
        "x" * 300 + ".md",
        "CON.md",
    ],
)
def test_hostile_names_are_stored_inside_the_upload_folder_under_a_plain_name(tmp_path, upload_settings, name):
    src = tmp_path / "incoming.md"
    src.write_text("Japan pledged support.")
    before = files_under(tmp_path)

    dest = save_upload(src, name, upload_settings)

    folder = (upload_settings.corpus_dir / "uploads").resolve()
    assert dest.parent == folder and not dest.is_symlink()
    assert SAFE_NAME.match(dest.name) and len(dest.name) <= 100, dest.name
    assert dest.read_text() == "Japan pledged support."
    assert files_under(tmp_path) - before == {dest}


@pytest.mark.parametrize("name", ["evil.md\x00.exe", "\x00", "..", "evil.ｍｄ", "evil.md/", "/"])
def test_names_without_an_allowed_type_are_refused_before_anything_is_written(tmp_path, upload_settings, name):
    src = tmp_path / "incoming.md"
    src.write_text("Japan pledged support.")

    with pytest.raises(UploadError, match="can't be added"):
        save_upload(src, name, upload_settings)
    assert not (upload_settings.corpus_dir / "uploads").exists()


def test_a_link_planted_in_the_upload_folder_is_never_written_through(tmp_path, upload_settings):
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = upload_settings.corpus_dir / "uploads"
    folder.mkdir()
    (folder / "evil.md").symlink_to(outside / "evil.md")  # dangling: writing through it would create a file outside
    (folder / "evil-2.md").symlink_to(outside)  # a link to a folder
    src = tmp_path / "incoming.md"
    src.write_text("Japan pledged support.")

    dest = save_upload(src, "evil.md", upload_settings)

    assert dest == folder.resolve() / "evil-3.md"
    assert not any(outside.iterdir())
