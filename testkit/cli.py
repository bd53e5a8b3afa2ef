"""`rag` run as a fresh process, the way a user runs it: the command, its environment, the run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAG_COMMAND = (sys.executable, "-m", "rag.serving.cli")  # `rag`, with this interpreter


def rag_env(**values: str | Path) -> dict[str, str]:
    """This process's environment without RAG_*/CHROMA_*/OPENAI_* variables, plus `values`: what a `rag` child sees."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "CHROMA_", "OPENAI_"))}
    # The checkout's packages, even where the editable install predates a new one (eval/ for `rag eval`).
    clean["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    clean.update({k: str(v) for k, v in values.items()})
    return clean


def run_rag(
    argv: list[str | bytes],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 180,
    *,
    text: bool = True,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run a `rag` command line (RAG_COMMAND + arguments, or a wrapper's argv) to its end, capturing its output."""
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=text, timeout=timeout, input=input)
