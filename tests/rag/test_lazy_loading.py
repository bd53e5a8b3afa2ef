"""Nothing heavy loads before it is needed: help, an engine's construction and its status load no model;
an answer never loads llama-index."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "onnxruntime", "sentence_transformers", "transformers")


def loaded_modules(code: str, env: dict[str, str], heavy: tuple[str, ...] = HEAVY) -> set[str]:
    """The `heavy` modules a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {heavy!r} if m in sys.modules))"
    run = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


@pytest.mark.slow
def test_rag_help_loads_no_model(rag_env):
    assert loaded_modules("from rag.serving.cli import build_parser\nbuild_parser().format_help()", rag_env()) == set()


@pytest.mark.slow
def test_an_engine_opens_its_store_and_reports_status_without_loading_a_model(corpus_store, rag_env):
    code = (
        "from rag.engine import Engine\n"
        "from rag.settings import Settings\n"
        "engine = Engine.from_settings(Settings(_env_file=None), backend='extractive')\n"
        "assert engine.status()['chunks'] > 0\n"
    )
    assert loaded_modules(code, rag_env(RAG_STORE_DIR=corpus_store.settings.store_dir)) == set()


@pytest.mark.slow
def test_an_answer_never_imports_llama_index(corpus_store, rag_env):
    # Importing llama_index.core takes ~1.8 s, most of a cold `rag ask`: only rag/serving/llamaindex.py may import it.
    code = (
        "from rag.engine import Engine\n"
        "from rag.settings import Settings\n"
        "engine = Engine.from_settings(Settings(_env_file=None), backend='extractive')\n"
        "assert not engine.ask('What did Japan pledge to the Philippines?').abstained\n"
    )
    env = rag_env(RAG_STORE_DIR=corpus_store.settings.store_dir)
    assert loaded_modules(code, env, heavy=("llama_index", "llama_index.core")) == set()


@pytest.mark.slow
def test_a_built_in_command_loads_no_plugin_command(rag_env):
    # `rag ask` has no use for `eval` (registered by the eval package): loading it costs ~0.3 s a start.
    code = "from rag.serving.cli import build_parser\nbuild_parser(wanted='ask').parse_args(['ask', 'Why?'])"
    assert loaded_modules(code, rag_env(), heavy=("eval.runner", "eval.metrics")) == set()
    assert loaded_modules(
        "from rag.serving.cli import build_parser\nbuild_parser(wanted='eval')", rag_env(), heavy=("eval.runner",)
    ) == {"eval.runner"}


@pytest.mark.slow
def test_a_one_shot_read_turns_the_collector_off_only_in_its_own_process(corpus_store, rag_env, monkeypatch):
    import gc

    from rag.serving.cli import main

    env = rag_env(RAG_STORE_DIR=corpus_store.settings.store_dir, RAG_CORPUS_DIR=corpus_store.settings.corpus_dir)
    code = (
        "import gc, sys\nsys.argv = ['rag', 'status', '--json']\nfrom rag.serving.cli import main\nmain()\n"
        "print(gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and run.stderr.split()[-2:] == ["False", "True"], run.stderr  # its own command line

    monkeypatch.setenv("RAG_STORE_DIR", str(corpus_store.settings.store_dir))
    frozen = gc.get_freeze_count()
    assert main(["status", "--json"]) == 0  # a caller passing argv, as a test or a script does
    assert gc.isenabled() and gc.get_freeze_count() == frozen
