"""Bad corpus files are skipped with a warning naming them, fast, and everything else is ingested."""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from ingest.loaders import MAX_FRONT_MATTER, load_file
from rag.storage.store import Store
from rag.storage.sync import sync
from tests.conftest import TINY_CORPUS

BODY = "# Notes\n\nJapan and Vietnam agreed to hold coast guard drills in the Gulf of Tonkin every spring.\n"


def write_bad_files(folder: Path, make_pdf) -> dict[str, str]:
    """Write one file of each bad kind into `folder`; returns name -> a fragment of the reason it must be skipped."""
    with (folder / "huge.md").open("wb") as out:  # 50 MB: sparse, so writing it costs nothing
        out.truncate(50_000_000)
    (folder / "utf16.md").write_bytes(BODY.encode("utf-16-le"))  # no BOM
    (folder / "utf16be.txt").write_bytes(BODY.encode("utf-16-be"))
    (folder / "latin1.md").write_bytes("Café à Genève: déjà vu in São Tomé.".encode("latin-1"))
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (folder / "empty.md").write_bytes(b"")
    (folder / "malformed.pdf").write_bytes(make_pdf([["Half a page."]])[:180])
    yaml = "".join(f"key_{i}: {'value ' * 10}\n" for i in range(100_000))  # ~7 MB of front matter
    (folder / "front_matter.md").write_text(f"---\ntitle: Huge\n{yaml}---\n{BODY}", encoding="utf-8")
    return {
        "huge.md": "50.0 MB is over the 20 MB limit",
        "utf16.md": "binary",
        "utf16be.txt": "binary",
        "latin1.md": "not valid UTF-8",
        "binary.txt": "binary",
        "empty.md": "empty",
        "malformed.pdf": "malformed PDF",
        "front_matter.md": f"over the {MAX_FRONT_MATTER:,} limit",
    }


def test_bad_files_are_skipped_by_name_quickly_and_the_rest_is_ingested(
    tmp_path, make_settings, embedder, make_pdf, caplog, monkeypatch
):
    corpus = tmp_path / "corpus"
    shutil.copytree(TINY_CORPUS, corpus)
    reasons = write_bad_files(corpus, make_pdf)
    settings = make_settings(corpus_dir=corpus, store_dir=tmp_path / "store")
    read: list[str] = []
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self.name) or read_bytes(self))

    with caplog.at_level(logging.WARNING):
        started = time.monotonic()
        report = sync(settings, embedder=embedder)
        seconds = time.monotonic() - started

    assert "huge.md" not in read  # skipped on its size, never read
    assert report.added == 3
    assert sorted(m.split(":", 1)[0] for m in report.skipped) == sorted(reasons)
    for message in report.skipped:
        name = message.split(":", 1)[0]
        assert reasons[name] in message, message
        assert name in caplog.text
    stored = {r["metadata"]["doc_id"] for r in Store(settings).iter_records()}
    assert stored == {"harbour_pact.md", "island_forum.md", "river_commission.md"}
    assert seconds < 60, f"took {seconds:.0f} s"


def test_front_matter_with_nested_aliases_is_dropped_not_expanded(tmp_path):
    """YAML aliases nest a few bytes into a value whose str() would be millions of items long."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]  # 10 million leaves
    path = tmp_path / "bomb.md"
    path.write_text("---\n" + "\n".join(levels) + "\ntitle: *a6\ndate: 2024-01-02\n---\n" + BODY, encoding="utf-8")

    started = time.monotonic()
    doc = load_file(path, "bomb.md")

    assert time.monotonic() - started < 5
    assert doc.metadata["title"] == "Notes"  # the nested value was dropped; the first heading is the title
    assert doc.metadata["date"] == "2024-01-02"
