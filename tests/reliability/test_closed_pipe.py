"""A reader that leaves early (`rag search ... | head -1`) ends every printing command quietly with exit status 141
(128 + SIGPIPE, as Unix tools report it), never a BrokenPipeError traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rag.serving.cli import CLOSED_PIPE_EXIT
from tests.reliability.conftest import settings_env

QUESTION = "How many patrol boats will Japan fund?"
EVAL_ROW = {
    "id": "patrol-boats",
    "question": QUESTION,
    "reference_answer": "Twelve, by 2026.",
    "evidence": ["The pact commits Japan to fund twelve patrol boats for the Philippine Coast Guard by 2026."],
    "answerable": True,
    "countries": ["Japan"],
    "key_facts": [],
    "type": "fact",
}

COMMANDS = {
    "search": ["search", QUESTION, "--k", "10"],
    "search-json": ["search", QUESTION, "--json"],
    "ask": ["ask", QUESTION],
    "ask-json": ["ask", QUESTION, "--json"],
    "countries": ["countries"],
    "country-brief": ["countries", "Japan"],
    "status": ["status"],
    "feedback-export": ["feedback", "export", "--out", "{tmp}/cases.jsonl"],
    "chat": ["chat"],
    "eval-json": ["eval", "--dataset", "{tmp}/dataset.jsonl", "--variant", "default", "--json"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_closed_pipe_ends_the_command_quietly_with_141(
    tiny_store, rag_env, rag_command, tmp_path: Path, command: str
) -> None:
    settings, _ = tiny_store
    (tmp_path / "dataset.jsonl").write_text(json.dumps(EVAL_ROW) + "\n", encoding="utf-8")
    argv = [arg.format(tmp=tmp_path) for arg in COMMANDS[command]]
    if command == "eval-json":
        argv += ["--out", str(tmp_path / "run"), "--store-dir", str(tmp_path / "eval-store")]
    env = settings_env(rag_env, settings, RAG_LLM_BACKEND="extractive", RAG_FEEDBACK_FILE=tmp_path / "fb.jsonl")
    process = subprocess.Popen(
        [*rag_command, *argv],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # the reader is gone before the first line: every write meets a closed pipe
    _, err = process.communicate(f"{QUESTION}\n/quit\n", timeout=300)
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err, err
    assert process.returncode == CLOSED_PIPE_EXIT, err
