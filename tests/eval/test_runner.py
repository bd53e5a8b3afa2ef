"""End to end on a two-document corpus: every output file, row shape and the CLI entry point."""

from __future__ import annotations

import json

import pytest

from eval.runner import add_parser, run_eval
from rag.serving.cli import main
from rag.settings import Settings

ROW_KEYS = {"id", "question", "answer", "abstained", "citations", "retrieved", "metrics", "timings", "variant"}


@pytest.fixture
def settings(tmp_path, corpus_dir):
    """Settings that read and write only under tmp_path."""
    return Settings(corpus_dir=corpus_dir, store_dir=tmp_path / "store", llm_backend="extractive", _env_file=None)


def test_run_writes_results_summary_and_table_for_each_variant(tmp_path, settings, dataset_path):
    out = tmp_path / "out"
    summary = run_eval(dataset_path, out, settings, ["default", "bm25-only", "llamaindex-default"], k=3)

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3 * 4
    assert all(row.keys() >= ROW_KEYS for row in rows)
    answered = {r["id"]: r for r in rows if r["variant"] == "default"}
    assert answered["t-001"]["retrieved"][0].keys() >= {"rank", "chunk_id", "doc_id", "text", "score"}
    assert all(c.keys() >= {"n", "chunk_id", "doc_id", "text", "quote"} for r in rows for c in r["citations"])
    assert answered["t-001"]["metrics"]["hit@3"] == 1.0
    assert answered["t-004"]["metrics"]["hit@3"] is None  # no evidence, no retrieval score

    assert summary["variants"]["default"]["metrics"]["questions"] == 4
    assert summary["variants"]["bm25-only"]["metrics"]["token_f1"] is None
    assert summary["variants"]["default"]["collection"] == "eval_c900_o150"
    assert json.loads((out / "summary.json").read_text())["k"] == 3
    table = (out / "summary.md").read_text()
    assert "| default |" in table and "| llamaindex-default |" in table and "n/a" in table


def test_cli_limit_and_usage_errors(tmp_path, corpus_dir, dataset_path, monkeypatch, capsys):
    monkeypatch.setenv("RAG_CORPUS_DIR", str(corpus_dir))
    monkeypatch.chdir(tmp_path)
    argv = ["--dataset", str(dataset_path), "--variant", "bm25-only", "--limit", "2", "--out", "o", "--store-dir", "s"]
    assert main(["eval", *argv], commands=[add_parser]) == 0
    assert len((tmp_path / "o" / "results.jsonl").read_text().splitlines()) == 2
    assert "| bm25-only |" in capsys.readouterr().out

    assert main(["eval", "--dataset", str(tmp_path / "missing.jsonl")], commands=[add_parser]) == 1
    assert "Cannot read dataset" in capsys.readouterr().err
