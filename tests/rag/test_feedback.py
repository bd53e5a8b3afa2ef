"""Thumbs up/down kept as JSONL lines that never interleave, and disliked answers exported as eval cases."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from eval.runner import add_parser
from rag.answer import Answer
from rag.engine import Engine
from rag.feedback import FeedbackError, feedback_record, read_feedback, record_feedback
from rag.serving.cli import main
from rag.serving.json_forms import answer_from_json, answer_json

QUESTION = "How many patrol boats will Japan fund for the Philippine Coast Guard?"


def test_a_rating_is_one_line_with_question_history_answer_citations_backend_and_time(
    tiny_engine: Engine, tmp_path: Path
) -> None:
    history = [{"role": "user", "content": "What did Japan sign?"}, {"role": "assistant", "content": "A pact."}]
    answer = tiny_engine.ask(QUESTION, history)
    path = tmp_path / "data" / "feedback.jsonl"
    record_feedback(path, answer, "down", history, comment="  It should say twelve.  ")
    (line,) = path.read_text(encoding="utf-8").splitlines()
    stored = json.loads(line)
    assert stored["question"] == QUESTION and stored["history"] == history
    assert stored["answer"] == answer.text and stored["rating"] == "down"
    assert stored["comment"] == "It should say twelve."
    assert stored["citations"] == json.loads(json.dumps(answer_json(answer)["citations"]))
    assert stored["backend"] == "extractive" and stored["time"].endswith("+00:00")
    assert read_feedback(path) == ([stored], [])


def test_an_answer_the_ui_kept_in_its_saved_form_is_rated_as_the_answer_itself(tiny_engine: Engine) -> None:
    answer, when = tiny_engine.ask(QUESTION), datetime(2026, 1, 2, tzinfo=UTC)
    kept = answer_from_json(json.loads(json.dumps(answer_json(answer))))  # the UI session's form, read back

    assert feedback_record(kept, "up", when=when) == feedback_record(answer, "up", when=when)


def test_a_bad_rating_an_overlong_comment_and_a_broken_file_get_clear_errors(tiny_engine, tmp_path: Path) -> None:
    answer = tiny_engine.ask(QUESTION)
    with pytest.raises(FeedbackError, match="'up' or 'down'"):
        record_feedback(tmp_path / "f.jsonl", answer, "meh")
    with pytest.raises(FeedbackError, match="limit is 2,000"):
        record_feedback(tmp_path / "f.jsonl", answer, "up", comment="x" * 2001)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"rating": "up", "question": "Q?"}\n{"rating": \n', encoding="utf-8")  # a truncated last line
    records, skipped = read_feedback(broken)
    assert records == [{"rating": "up", "question": "Q?"}] and skipped == [f"{broken}:2 is not JSON (Expecting value)"]


WRITER = """
import sys
from pathlib import Path
from rag.answer import Answer
from rag.feedback import record_feedback

path, writer = Path(sys.argv[1]), sys.argv[2]
answer = Answer(question=writer, text=writer * 30_000, citations=[], retrieved=[], abstained=False)  # over PIPE_BUF
for i in range(40):
    record_feedback(path, answer, "down", comment=f"{writer}-{i}")
"""


@pytest.mark.slow
def test_concurrent_writers_in_several_processes_never_interleave_lines(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name]) for name in ("a", "b", "c", "d", "e", "f")
    ]
    assert all(w.wait(timeout=120) == 0 for w in writers)
    records, skipped = read_feedback(path)
    assert skipped == []  # every line whole JSON
    assert len(records) == 6 * 40
    assert all(r["answer"] == r["question"] * 30_000 for r in records)
    assert sorted(r["comment"] for r in records) == sorted(f"{w}-{i}" for w in "abcdef" for i in range(40))


def test_a_thumbs_down_becomes_a_case_that_rag_eval_runs_once_confirmed(
    tiny_engine: Engine, tmp_path: Path, monkeypatch, capsys
) -> None:
    feedback, out = tmp_path / "feedback.jsonl", tmp_path / "cases.jsonl"
    monkeypatch.setenv("RAG_FEEDBACK_FILE", str(feedback))
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tiny_engine.settings.corpus_dir))
    answer = tiny_engine.ask(QUESTION)
    record_feedback(feedback, answer, "down", comment="wrong")
    record_feedback(feedback, tiny_engine.ask("Where is the river commission's forecasting centre?"), "up")

    assert main(["feedback", "export", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    (case,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert case["question"] == QUESTION and case["type"] == "feedback" and case["feedback"]["comment"] == "wrong"
    assert case["evidence"] == [] and case["reference_answer"] == ""
    assert [c["text"] for c in case["candidate_evidence"]] == [q.quote for c in answer.citations for q in c.quotes]
    assert "Left to fill in" in printed and case["id"] in printed and "write reference_answer" in printed

    eval_args = ["eval", "--dataset", str(out), "--variant", "default", "--out", str(tmp_path / "run")]
    eval_args += ["--store-dir", str(tmp_path / "eval-store")]
    assert main(eval_args, commands=[add_parser]) == 1  # unconfirmed: no evidence yet
    assert "evidence" in capsys.readouterr().err

    # The person confirms: the cited span is the right evidence, and writes the reference answer.
    case["evidence"] = [case["candidate_evidence"][0]["text"]]
    case["reference_answer"] = "Twelve patrol boats, by 2026."
    out.write_text(json.dumps(case) + "\n", encoding="utf-8")
    assert main(["feedback", "export", "--out", str(out)]) == 0
    assert "All confirmed" in capsys.readouterr().out
    assert json.loads(out.read_text(encoding="utf-8"))["reference_answer"] == "Twelve patrol boats, by 2026."

    assert main(eval_args, commands=[add_parser]) == 0
    (row,) = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert row["id"] == case["id"] and row["metrics"]["hit@5"] == 1.0


def test_export_skips_damaged_feedback_lines_naming_each_and_refuses_a_folder_as_out(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    feedback, out = tmp_path / "feedback.jsonl", tmp_path / "cases.jsonl"
    monkeypatch.setenv("RAG_FEEDBACK_FILE", str(feedback))
    answer = Answer(question=QUESTION, text="Twelve.", citations=[], retrieved=[], abstained=False)
    good = json.dumps(feedback_record(answer, "down", comment="wrong")).encode()
    lacking_citation_fields = json.dumps({**json.loads(good), "citations": [{"n": 1}]}).encode()
    lines = [good, b"\xff\xfe\x00binary", b"[1,2,3]", b'{"rating":"down"}', lacking_citation_fields, b"[" * 100_000]
    feedback.write_bytes(b"\n".join(lines) + b"\n")

    assert main(["feedback", "export", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert [json.loads(line)["question"] for line in out.read_text(encoding="utf-8").splitlines()] == [QUESTION]
    warnings = [line for line in printed.err.splitlines() if line.startswith("warning: skipped")]
    assert [w.split(" ")[2] for w in warnings] == [f"{feedback}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "not UTF-8" in warnings[0] and "not a rating record" in warnings[1] and "no question" in warnings[2]
    assert "lacks the field 'doc_id'" in warnings[3] and "Traceback" not in printed.err

    assert main(["feedback", "export", "--out", str(tmp_path)]) == 1
    (error,) = capsys.readouterr().err.splitlines()
    assert error.startswith(f"error: {tmp_path} is a folder; name the file to write")
