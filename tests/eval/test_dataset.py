"""Loading eval datasets: shape checks, and evidence that must occur in the corpus."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import DatasetError, contains_evidence, load_dataset, normalize, read_dataset

REPO = Path(__file__).resolve().parents[2]


def test_normalize_folds_nbsp_curly_quotes_dashes_and_case():
    assert normalize("A\u00a0 \u201cQuoted\u201d\n\u2018x\u2019 \u2013 y \u2014 Z") == "a \"quoted\" 'x' - y - z"


def test_contains_evidence_matches_any_string():
    assert contains_evidence("He said: it\u2019s  FINE.", ["nothing", "it's fine"])
    assert not contains_evidence("He said nothing.", ["it's fine"])
    assert not contains_evidence("anything", [])


def test_load_keeps_optional_fields_and_history(corpus_dir, dataset_path):
    questions = load_dataset(dataset_path, corpus_dir)
    assert [q.id for q in questions] == ["t-001", "t-002", "t-003", "t-004"]
    assert questions[2].type == "followup"
    assert questions[2].history_list()[0] == {"role": "user", "content": "What did Japan do in Subic Bay?"}
    assert questions[0].history_list() is None
    assert questions[3].key_facts == () and not questions[3].answerable


def test_optional_fields_may_be_absent(rows, write_jsonl):
    row = {k: v for k, v in rows[0].items() if k not in ("key_facts", "type")}
    (question,) = read_dataset(write_jsonl([row]))
    assert question.key_facts == () and question.type == ""


def test_evidence_missing_from_the_corpus_fails_naming_id_and_string(corpus_dir, rows, write_jsonl):
    broken = [rows[0], {**rows[1], "evidence": ["Thailand and Saudi Arabia broke off ties"]}]
    with pytest.raises(DatasetError) as info:
        load_dataset(write_jsonl(broken), corpus_dir)
    assert "t-002" in str(info.value)
    assert "Thailand and Saudi Arabia broke off ties" in str(info.value)
    assert "t-001" not in str(info.value)


def test_front_matter_is_not_corpus_text(corpus_dir, rows, write_jsonl):
    with pytest.raises(DatasetError, match="t-001"):
        load_dataset(write_jsonl([{**rows[0], "evidence": ["title: Harbour Notes"]}]), corpus_dir)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"answerable": "yes"}, "'answerable' must be a bool"),
        ({"evidence": []}, "need at least one evidence string"),
        ({"evidence": [3]}, "every item of 'evidence'"),
        ({"history": [{"role": "user"}]}, "'history' must be a list"),
    ],
)
def test_malformed_questions_are_rejected(rows, write_jsonl, change, message):
    with pytest.raises(DatasetError, match=message):
        read_dataset(write_jsonl([{**rows[0], **change}]))


def test_missing_fields_duplicates_and_bad_json_are_rejected(tmp_path, rows, write_jsonl):
    row = {k: v for k, v in rows[0].items() if k != "reference_answer"}
    with pytest.raises(DatasetError, match="missing field 'reference_answer'"):
        read_dataset(write_jsonl([row]))
    with pytest.raises(DatasetError, match="duplicate id 't-001'"):
        read_dataset(write_jsonl([rows[0], rows[0]]))
    (tmp_path / "c.jsonl").write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"c\.jsonl:1: not valid JSON"):
        read_dataset(tmp_path / "c.jsonl")


@pytest.mark.parametrize("split", ["dev", "test"])
def test_shipped_datasets_evidence_occurs_in_the_shipped_corpus(split):
    questions = load_dataset(REPO / "eval" / "datasets" / f"{split}.jsonl", REPO / "corpus")
    assert len(questions) >= 104


@pytest.mark.parametrize("split", ["dev", "test"])
def test_shipped_datasets_cover_every_answer_shape_and_conversations(split):
    questions = read_dataset(REPO / "eval" / "datasets" / f"{split}.jsonl")
    shapes = Counter(q.type for q in questions)
    assert all(shapes[shape] >= 12 for shape in ("list", "overview", "comparison", "reason"))
    conversations = [q for q in questions if q.id.startswith("a-") and q.history]
    assert len(conversations) >= 8
    assert {len(q.history) // 2 + 1 for q in conversations} == {2, 3}  # two- and three-turn conversations
