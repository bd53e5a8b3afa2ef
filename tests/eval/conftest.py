"""Fixtures for the eval tests: a two-document corpus and a dataset over it, written to tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

ARTICLE = """---
title: Harbour Notes
date: 2023
---

# Harbour Notes

Japan has expressed its intention to develop a support base in Subic Bay. The base would help the
Philippine Coast Guard with maintenance and training.

Separately, Thailand and Saudi Arabia restored diplomatic ties\u00a0after three decades \u2014 a rare feat.
"""

STATEMENT = """---
title: Space Statement
date: 2024
---

# Space Statement

The United States and Japan agreed to expand their partnership into areas such as space, cyber and
information security. They will hold an annual dialogue on lunar exploration.
"""

QUESTIONS = [
    {
        "id": "t-001",
        "question": "Where does Japan want a support base for the Philippine Coast Guard?",
        "reference_answer": "In Subic Bay.",
        "evidence": ["Japan has expressed its intention to develop a support base in Subic Bay"],
        "key_facts": ["Subic Bay"],
        "answerable": True,
        "countries": ["Japan", "Philippines"],
        "type": "fact",
    },
    {
        "id": "t-002",
        "question": "Which country did Thailand restore diplomatic ties with?",
        "reference_answer": "Saudi Arabia.",
        "evidence": ["Thailand and Saudi Arabia restored diplomatic ties after three decades - a rare feat"],
        "key_facts": ["Saudi Arabia"],
        "answerable": True,
        "countries": ["Thailand", "Saudi Arabia"],
        "type": "fact",
    },
    {
        "id": "t-003",
        "question": "And into which areas will its partnership with the United States expand?",
        "reference_answer": "Space, cyber and information security.",
        "evidence": ["expand their partnership into areas such as space, cyber and information security"],
        "key_facts": ["space", "cyber"],
        "answerable": True,
        "countries": ["Japan", "United States"],
        "type": "followup",
        "history": [
            {"role": "user", "content": "What did Japan do in Subic Bay?"},
            {"role": "assistant", "content": "It plans a support base there."},
        ],
    },
    {
        "id": "t-004",
        "question": "Who won the 2022 FIFA World Cup?",
        "reference_answer": "The corpus does not say.",
        "evidence": [],
        "key_facts": [],
        "answerable": False,
        "countries": [],
        "type": "unanswerable",
    },
]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def rows() -> list[dict]:
    """The raw dataset rows behind `dataset_path`, to copy and break."""
    return [dict(row) for row in QUESTIONS]


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[[list[dict]], Path]:
    """Writes rows to a fresh JSONL file under tmp_path and returns its path."""
    count = iter(range(1_000_000))
    return lambda rows: _write_jsonl(tmp_path / f"dataset-{next(count)}.jsonl", rows)


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """Two markdown documents, one with a no-break space and an em dash inside evidence."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "harbour.md").write_text(ARTICLE, encoding="utf-8")
    (corpus / "space.md").write_text(STATEMENT, encoding="utf-8")
    return corpus


@pytest.fixture
def dataset_path(tmp_path: Path) -> Path:
    """Four questions over `corpus_dir`: two facts, a follow-up with history, one unanswerable."""
    return _write_jsonl(tmp_path / "mini.jsonl", QUESTIONS)
