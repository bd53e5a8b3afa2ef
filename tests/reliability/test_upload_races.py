"""Uploads that arrive at once with the same name never overwrite each other: every accepted upload exists."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rag.upload import save_upload


def test_eight_different_files_uploaded_at_once_as_note_md_are_all_kept(tmp_path, make_settings):
    for round_ in range(5):  # a race: each round is another chance for check-then-replace to lose a file
        (tmp_path / f"corpus{round_}").mkdir()
        settings = make_settings(corpus_dir=tmp_path / f"corpus{round_}", allow_upload=True)
        notes = {f"Note {i}.{round_}: Japan pledged {i} patrol boats. " * 20_000 for i in range(8)}  # ~1 MB each
        sources = []
        for i, text in enumerate(sorted(notes)):
            sources.append(tmp_path / f"incoming-{round_}-{i}.md")
            sources[-1].write_text(text)
        start = threading.Barrier(len(sources))

        def upload(src: Path, settings=settings, start=start) -> Path:
            start.wait()
            return save_upload(src, "note.md", settings)

        with ThreadPoolExecutor(len(sources)) as pool:
            stored = list(pool.map(upload, sources))

        assert len(set(stored)) == len(sources), (round_, sorted(p.name for p in stored))
        assert {p.read_text() for p in stored} == notes
        folder = (settings.corpus_dir / "uploads").resolve()
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in stored)  # no temporary files left


def test_the_same_file_uploaded_twice_at_once_is_stored_once(tmp_path, upload_settings):
    src = tmp_path / "incoming.md"
    src.write_text("Japan pledged patrol boats. " * 400)
    start = threading.Barrier(4)

    def upload(_: int) -> Path:
        start.wait()
        return save_upload(src, "note.md", upload_settings)

    with ThreadPoolExecutor(4) as pool:
        stored = set(pool.map(upload, range(4)))

    folder = (upload_settings.corpus_dir / "uploads").resolve()
    assert stored == {folder / "note.md"} and [p.name for p in folder.iterdir()] == ["note.md"]
