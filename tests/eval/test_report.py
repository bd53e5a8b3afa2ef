"""summary.md and variants.png from a hand-made summary."""

from __future__ import annotations

import sys

import pytest

from eval.report import markdown_report, markdown_table, write_chart
from rag.errors import MissingPackageError


def _summary() -> dict:
    answering = {"hit@5": 0.9, "mrr": 0.75, "citation_precision": 0.8, "key_fact_containment": 0.5,
                 "abstention_accuracy": 1.0, "total_ms_p50": 812.4, "errors": 0}  # fmt: skip
    retrieving = {"hit@5": 0.6, "mrr": 0.5, "citation_precision": None, "errors": 2}
    return {
        "dataset": "mini.jsonl",
        "questions": 4,
        "answerable": 3,
        "k": 5,
        "seconds": 3.2,
        "started": "2025-01-01T00:00:00+00:00",
        "variants": {
            "default": {"metrics": answering, "unreachable_evidence": []},
            "bm25-only": {"metrics": retrieving, "unreachable_evidence": [{"id": "t-1", "evidence": "x"}]},
        },
    }


def test_table_has_a_row_per_variant_and_na_for_unmeasured_metrics():
    lines = markdown_table(_summary()).splitlines()
    assert lines[0].startswith("| variant | hit@1 | hit@5 | MRR | nDCG@10 | recall@5 | cit. precision")
    assert lines[2].startswith("| default | n/a | 0.900 | 0.750 |")
    assert "| 812 |" in lines[2]
    assert lines[3].startswith("| bm25-only | n/a | 0.600 | 0.500 |")
    assert len(lines) == 4


def test_report_flags_failed_questions_and_split_evidence():
    report = markdown_report(_summary())
    assert "bm25-only: 2 question(s) failed" in report
    assert "bm25-only: 1 evidence string(s) lie in no single chunk" in report
    assert "default:" not in report


def test_chart_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingPackageError, match=r'needs matplotlib.*pip install -e "\.\[charts\]"'):
        write_chart(_summary(), tmp_path / "variants.png")


def test_chart_is_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    write_chart(_summary(), tmp_path / "variants.png")
    assert (tmp_path / "variants.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
