"""Sync: idempotent, incremental, repairs a killed run, and `rag ingest` reports what it did."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from collections import Counter, defaultdict
from contextlib import closing
from pathlib import Path

import pytest

from ingest.chunking import chunk_document
from ingest.loaders import content_hash, load_file
from ingest.pipeline import CORPUS_NOTES
from rag.serving import cli
from rag.storage.store import Store
from rag.storage.sync import fingerprint, sync
from testkit.cli import run_rag

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
SUMMARY = re.compile(
    r"^(\d+) added, (\d+) updated, (\d+) removed, (\d+) unchanged, (\d+) skipped; "
    r"(\d+) chunks in store \((\d+) embedded\) in \d+\.\d s$"
)


def _records(settings) -> list[dict]:
    return list(Store(settings).iter_records(include=("documents", "metadatas")))


def _by_doc(records: list[dict]) -> dict[str, list[dict]]:
    docs = defaultdict(list)
    for record in records:
        docs[record["metadata"]["doc_id"]].append(record)
    return docs


def _assert_one_clean_copy(settings, corpus: Path, records: list[dict]) -> None:
    """Every file is stored exactly once: indexes 0..n-1, its current hash, the chunker's text and offsets."""
    pairs = Counter((r["metadata"]["doc_id"], r["metadata"]["chunk_index"]) for r in records)
    assert max(pairs.values()) == 1, "duplicate chunks"
    assert len({r["id"] for r in records}) == len(records)
    files = sorted(p for p in corpus.iterdir() if p.is_file() and p.name not in CORPUS_NOTES)
    docs = _by_doc(records)
    assert sorted(docs) == [p.name for p in files]
    for path in files:
        doc = load_file(path, path.name)
        chunks = chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
        stored = sorted(docs[path.name], key=lambda r: r["metadata"]["chunk_index"])
        assert [r["id"] for r in stored] == [c.chunk_id for c in chunks], path.name
        for record, chunk in zip(stored, chunks, strict=True):
            meta = record["metadata"]
            assert record["document"] == chunk.text
            assert (meta["start"], meta["end"]) == (chunk.start, chunk.end)
            assert meta["doc_hash"] == content_hash(path.read_bytes())
            assert meta["doc_chunks"] == len(chunks)
            assert meta["fingerprint"] == fingerprint(settings)


# --- idempotent and incremental ---------------------------------------------------------------------


def test_reingest_of_unchanged_corpus_embeds_nothing(tiny_settings, counting_embedder):
    first = sync(tiny_settings, embedder=counting_embedder)
    ids_after_first = sorted(r["id"] for r in _records(tiny_settings))
    assert first.added == 3
    assert first.embedded == first.chunks == len(ids_after_first) == counting_embedder.texts > 0
    _assert_one_clean_copy(tiny_settings, tiny_settings.corpus_dir, _records(tiny_settings))
    counting_embedder.reset()
    generation = Store(tiny_settings).generation

    second = sync(tiny_settings, embedder=counting_embedder)

    # Nothing written, so readers in other processes keep what they loaded (no reload, no reopen mid-answer).
    assert Store(tiny_settings).generation == generation
    assert counting_embedder.calls == 0
    assert counting_embedder.texts == 0
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, 3)
    assert second.embedded == 0
    assert second.chunks == first.chunks
    assert sorted(r["id"] for r in _records(tiny_settings)) == ids_after_first


def test_changed_file_replaces_its_chunks_with_no_stale_ones(tiny_settings, tiny_corpus, embedder, counting_embedder):
    sync(tiny_settings, embedder=embedder)
    before = _by_doc(_records(tiny_settings))
    assert len(before["harbour_pact.md"]) >= 4  # long enough that a shorter version would leave a stale tail
    path = tiny_corpus / "harbour_pact.md"
    path.write_text(
        "---\ntitle: Harbour Pact (revised)\n---\n\n# Harbour Pact\n\n"
        "The revised pact funds six patrol boats instead of twelve. It was signed in Cebu.\n",
        encoding="utf-8",
    )
    new_doc = load_file(path, "harbour_pact.md")
    new_chunks = chunk_document(new_doc, tiny_settings.chunk_size, tiny_settings.chunk_overlap)

    report = sync(tiny_settings, embedder=counting_embedder)

    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 2)
    assert report.embedded == counting_embedder.texts == len(new_chunks)
    after = _by_doc(_records(tiny_settings))
    stored = sorted(after["harbour_pact.md"], key=lambda r: r["metadata"]["chunk_index"])
    assert len(stored) == len(new_chunks) < len(before["harbour_pact.md"])
    assert [r["id"] for r in stored] == [c.chunk_id for c in new_chunks]
    for record, chunk in zip(stored, new_chunks, strict=True):
        assert record["metadata"]["doc_hash"] == new_doc.content_hash
        assert record["document"] == chunk.text == new_doc.text[chunk.start : chunk.end]
        assert record["metadata"]["title"] == "Harbour Pact (revised)"
    assert not any("cold-storage" in r["document"] for records in after.values() for r in records)
    for other in ("river_commission.md", "island_forum.md"):
        assert sorted(r["id"] for r in after[other]) == sorted(r["id"] for r in before[other])
    assert report.chunks == sum(len(v) for v in after.values())


def test_deleted_file_chunks_are_removed(tiny_settings, tiny_corpus, embedder):
    sync(tiny_settings, embedder=embedder)
    before = _by_doc(_records(tiny_settings))
    (tiny_corpus / "river_commission.md").unlink()

    report = sync(tiny_settings, embedder=embedder)

    after = _by_doc(_records(tiny_settings))
    assert report.removed == 1
    assert report.embedded == 0
    assert "river_commission.md" not in after
    assert report.chunks == len(before["harbour_pact.md"]) + len(before["island_forum.md"])


def test_file_that_becomes_unreadable_keeps_its_previously_ingested_chunks(tiny_settings, tiny_corpus, embedder):
    sync(tiny_settings, embedder=embedder)
    before = _by_doc(_records(tiny_settings))
    (tiny_corpus / "island_forum.md").write_bytes(b"\x00\x01\x02 overwritten by a binary blob")

    report = sync(tiny_settings, embedder=embedder)

    assert report.removed == 0
    assert len(report.skipped) == 1
    assert report.skipped[0].startswith("island_forum.md:")
    assert "previously ingested version is kept" in report.skipped[0]
    after = _by_doc(_records(tiny_settings))["island_forum.md"]
    assert sorted(after, key=lambda r: r["id"]) == sorted(before["island_forum.md"], key=lambda r: r["id"])


def test_changing_the_chunk_size_reembeds_every_document(tiny_settings, tiny_corpus, embedder, counting_embedder):
    sync(tiny_settings, embedder=embedder)
    resized = tiny_settings.model_copy(update={"chunk_size": 350, "chunk_overlap": 0})

    report = sync(resized, embedder=counting_embedder)

    assert (report.added, report.updated, report.unchanged) == (0, 3, 0)
    assert report.embedded == counting_embedder.texts == report.chunks
    _assert_one_clean_copy(resized, tiny_corpus, _records(resized))


def test_syncing_one_file_leaves_other_documents_in_place(tiny_settings, tiny_corpus, embedder):
    sync(tiny_settings, embedder=embedder)
    before = sorted(r["id"] for r in _records(tiny_settings))

    report = sync(tiny_settings, [tiny_corpus / "harbour_pact.md"], embedder=embedder)

    assert (report.removed, report.unchanged) == (0, 1)
    assert sorted(r["id"] for r in _records(tiny_settings)) == before


def test_syncing_one_file_keeps_a_document_whose_name_starts_with_it(tmp_path, make_settings, embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "readout.htm").write_text("<html><body><p>The old page talks about Japan.</p></body></html>")
    (corpus / "readout.html").write_text("<html><body><p>The new page talks about Vietnam.</p></body></html>")
    settings = make_settings(corpus_dir=corpus, store_dir=tmp_path / "store")
    sync(settings, embedder=embedder)

    report = sync(settings, [corpus / "readout.htm"], embedder=embedder)

    assert report.removed == 0
    assert sorted(_by_doc(_records(settings))) == ["readout.htm", "readout.html"]


def test_corpus_readme_is_not_ingested_and_every_corpus_file_is(corpus_store):
    expected = sorted(p.name for p in CORPUS.glob("*.md") if p.name != "README.md")

    docs = _by_doc(list(corpus_store.store.iter_records()))

    assert sorted(docs) == expected
    assert corpus_store.report.added == len(expected)
    assert corpus_store.report.skipped == []


# --- a killed ingest ---------------------------------------------------------------------------------


KILL_CORPUS = [
    "diplomatic-overdrive.md",
    "wh_2022-11-12_asean_us_comprehensive_strategic_partnership.md",
    "wh_2022-11-12_biden_hun_sen_cambodia_readout_and_remarks.md",
    "wh_2023-05-20_quad_leaders_vision_statement.md",
    "wh_2023-06-16_japan_philippines_us_nsa_trilateral_readout.md",
]


def _stored_rows(store_dir: Path) -> int:
    """Rows in the store's SQLite file, read-only, so the test never opens a second Chroma client on a store
    that another process is writing."""
    try:
        with closing(sqlite3.connect(f"file:{store_dir / 'chroma.sqlite3'}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    except sqlite3.Error:  # not created yet, mid-migration, or locked by the writer
        return 0


@pytest.mark.slow
def test_killed_ingest_is_completed_by_the_next_sync_with_exactly_one_copy_of_each_chunk(
    tmp_path, make_settings, counting_embedder, rag_command, rag_env
):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # Five real files in 100-char chunks: ~470 chunks in two embedding groups of 256+, written group by group.
    for name in KILL_CORPUS:
        shutil.copy(CORPUS / name, corpus)
    settings = make_settings(corpus_dir=corpus, store_dir=tmp_path / "store", chunk_size=100, chunk_overlap=0)
    # What one clean ingest stores, from the chunker alone (no need to embed it to learn ids and counts).
    clean_ids = sorted(
        c.chunk_id for name in KILL_CORPUS for c in chunk_document(load_file(corpus / name, name), 100, 0)
    )
    clean_total = len(clean_ids)

    env = rag_env(RAG_STORE_DIR=settings.store_dir, RAG_CORPUS_DIR=corpus, RAG_CHUNK_SIZE=100, RAG_CHUNK_OVERLAP=0)
    with (tmp_path / "ingest.log").open("wb") as log:
        process = subprocess.Popen([*rag_command, "ingest"], env=env, cwd=tmp_path, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 180
            while _stored_rows(settings.store_dir) == 0:
                assert process.poll() is None, (
                    "`rag ingest` finished before any chunk was seen (or Chroma's SQLite no longer has an "
                    "`embeddings` table to count)"
                )
                assert time.monotonic() < deadline, "no chunk reached the store in time"
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    partial = Store(settings).count()  # through Chroma now: it recovers whatever write the kill interrupted
    assert 0 < partial < clean_total, "the kill did not land mid-ingest"

    resumed = sync(settings, embedder=counting_embedder)

    assert resumed.unchanged >= 1  # documents finished before the kill are not embedded again
    assert resumed.added + resumed.updated >= 1
    assert counting_embedder.texts == resumed.embedded < clean_total
    records = _records(settings)
    assert len(records) == resumed.chunks == clean_total
    assert sorted(r["id"] for r in records) == clean_ids
    _assert_one_clean_copy(settings, corpus, records)


# --- the CLI -----------------------------------------------------------------------------------------


def test_rag_ingest_prints_a_one_line_summary_and_exits_0(tmp_path, tiny_corpus, rag_command, rag_env):
    (tiny_corpus / "scan.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    store_dir = tmp_path / "store"

    env = rag_env(RAG_STORE_DIR=store_dir, RAG_CORPUS_DIR=tiny_corpus)
    result = run_rag([*rag_command, "ingest"], env, tmp_path, timeout=300)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    added, updated, removed, unchanged, skipped, chunks, embedded = map(int, match.groups())
    assert (added, updated, removed, unchanged, skipped) == (3, 0, 0, 0, 1)
    assert chunks == embedded > 0
    assert re.search(r"warning: skipped scan\.md: .*binary", result.stderr)


def test_rag_ingest_rebuild_reembeds_everything(tiny_settings, tiny_corpus, embedder, monkeypatch, capsys):
    first = sync(tiny_settings, embedder=embedder)
    ids = sorted(r["id"] for r in _records(tiny_settings))
    monkeypatch.chdir(tiny_corpus.parent)  # away from any .env in the repo
    for name in [n for n in os.environ if n.startswith(("RAG_", "CHROMA_"))]:
        monkeypatch.delenv(name)
    for name, value in {
        "RAG_STORE_DIR": tiny_settings.store_dir,
        "RAG_CORPUS_DIR": tiny_corpus,
        "RAG_CHUNK_SIZE": tiny_settings.chunk_size,
        "RAG_CHUNK_OVERLAP": tiny_settings.chunk_overlap,
        "RAG_EMBED_CACHE": "false",  # a cache would serve the unchanged text: this is about rewriting the store
    }.items():
        monkeypatch.setenv(name, str(value))

    exit_code = cli.main(["ingest", "--rebuild"])

    assert exit_code == 0
    match = SUMMARY.match(capsys.readouterr().out.strip())
    assert match
    added, updated, removed, unchanged, skipped, chunks, embedded = map(int, match.groups())
    assert (added, updated, removed, unchanged, skipped) == (3, 0, 0, 0, 0)
    assert chunks == embedded == first.chunks
    assert sorted(r["id"] for r in _records(tiny_settings)) == ids


def test_rag_ingest_of_a_missing_path_prints_an_error_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith(("RAG_", "CHROMA_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_STORE_DIR", str(tmp_path / "store"))

    exit_code = cli.main(["ingest", str(tmp_path / "no_such_folder")])

    assert exit_code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert "no_such_folder" in err
    assert "Traceback" not in err
