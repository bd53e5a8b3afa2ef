"""Engine.search and Engine.countries, validated like ask; and the CLI commands built on them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.engine import Engine
from rag.errors import QuestionError, UnknownCountryError
from testkit.cli import RAG_COMMAND, run_rag


def test_search_ranks_passages_for_a_question(extractive_engine: Engine) -> None:
    hits = extractive_engine.search("What is happening at Ream Naval Base?", k=3)
    assert len(hits) == 3 and "Ream" in hits[0].text
    assert [h.rank for h in hits] == [1, 2, 3]


def test_search_keeps_only_passages_naming_the_countries(extractive_engine: Engine) -> None:
    hits = extractive_engine.search("maritime security", k=10, countries=["cambodia"])
    assert hits and all("Cambodia" in h.countries for h in hits)


def test_search_survives_an_undecodable_byte_in_the_question(extractive_engine: Engine) -> None:
    # what `rag search "Japan \xff"` receives: Python turns the invalid byte into a lone surrogate
    assert extractive_engine.search("Japan \udcff", k=2)


@pytest.mark.parametrize("question", ["", "  \n", None, 123])
def test_search_refuses_a_missing_or_empty_question(extractive_engine: Engine, question: object) -> None:
    with pytest.raises(QuestionError, match="question"):
        extractive_engine.search(question, k=3)  # type: ignore[arg-type]


@pytest.mark.parametrize("k", [-1, 0, 51, True, 2.5, "3"])
def test_search_refuses_k_outside_1_to_50(extractive_engine: Engine, k: object) -> None:
    with pytest.raises(QuestionError, match="k must be a whole number from 1 to 50"):
        extractive_engine.search("Japan", k=k)  # type: ignore[arg-type]


@pytest.mark.parametrize("countries", ["Japan", 123, [None], [["Japan"]], [""]])
def test_malformed_country_filters_get_a_clear_error(extractive_engine: Engine, countries: object) -> None:
    with pytest.raises(QuestionError, match="countries must be a list of"):
        extractive_engine.search("Japan", countries=countries)  # type: ignore[arg-type]
    with pytest.raises(QuestionError, match="countries must be a list of"):
        extractive_engine.ask("What did Japan pledge?", countries=countries)  # type: ignore[arg-type]


def test_unknown_country_names_itself(extractive_engine: Engine) -> None:
    with pytest.raises(UnknownCountryError, match="'Narnia'"):
        extractive_engine.search("Japan", countries=["Narnia"])


def test_countries_lists_names_with_chunk_counts(extractive_engine: Engine) -> None:
    counts = dict(extractive_engine.countries())
    assert counts["Japan"] > counts["Cambodia"] > 0
    assert "Narnia" not in counts


def test_a_search_engine_loads_no_llm(make_engine) -> None:
    engine = make_engine("local")
    assert engine.search("Ream Naval Base", k=1)
    assert engine.model.endswith(".gguf") and engine._chat_model is None


# --- the CLI ---------------------------------------------------------------------------------------------


def run_cli(args: list[str | bytes], env: dict[str, str]) -> subprocess.CompletedProcess:
    """`rag ARGS`, its output as bytes."""
    return run_rag([*RAG_COMMAND, *args], env, text=False)


@pytest.fixture(scope="module")
def cli_env(corpus_store, rag_env) -> dict[str, str]:
    """The CLI over the session store, with secrets set that must never be printed."""
    return rag_env(
        RAG_CORPUS_DIR=corpus_store.settings.corpus_dir,
        RAG_STORE_DIR=corpus_store.settings.store_dir,
        RAG_LLM_BACKEND="local",
        OPENAI_API_KEY="sk-never-printed-1111",
        RAG_API_KEY="sk-never-printed-2222",
    )


@pytest.mark.slow
def test_cli_status_and_countries_print_json_without_secrets_or_a_model(cli_env: dict[str, str], corpus_store) -> None:
    script = (
        "import sys; from rag.serving.cli import main; main(sys.argv[1:]);"
        "loaded = [m for m in ('llama_cpp', 'torch') if m in sys.modules]; assert not loaded, loaded"
    )
    status = run_rag([sys.executable, "-c", script, "status", "--json"], cli_env)
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["backend"] == "local" and data["model"].endswith(".gguf")
    assert data["chunks"] == corpus_store.report.chunks and data["documents"] == 15
    assert isinstance(data["last_ingest"], float)
    assert "sk-never-printed" not in status.stdout + status.stderr

    countries = run_rag([sys.executable, "-c", script, "countries", "--json"], cli_env)
    assert countries.returncode == 0, countries.stderr
    names = {c["country"]: c["chunks"] for c in json.loads(countries.stdout)}
    assert names["Japan"] > 0


@pytest.mark.slow
def test_cli_search_validates_like_ask(cli_env: dict[str, str]) -> None:
    invalid_byte = run_cli([b"search", b"Japan \xff", b"--k", b"2"], cli_env)
    assert invalid_byte.returncode == 0 and b"Traceback" not in invalid_byte.stderr
    assert invalid_byte.stdout.count(b"\n[") + invalid_byte.stdout.startswith(b"[") == 2
    empty = run_cli(["search", ""], cli_env)
    assert empty.returncode == 1 and b"error: The question is empty" in empty.stderr
    negative = run_cli(["search", "Japan", "--k", "-1"], cli_env)
    assert negative.returncode == 1 and b"k must be a whole number from 1 to 50" in negative.stderr
    assert b"Traceback" not in empty.stderr + negative.stderr


@pytest.mark.slow
def test_cli_ingest_json_reports_the_sync(tiny_settings, rag_env) -> None:
    env = rag_env(RAG_CORPUS_DIR=tiny_settings.corpus_dir, RAG_STORE_DIR=tiny_settings.store_dir)
    first = run_cli(["ingest", "--json"], env)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["added"] == 3 and report["chunks"] > 0 and report["embedded"] == report["chunks"]
    again = json.loads(run_cli(["ingest", "--json"], env).stdout)
    assert again["unchanged"] == 3 and again["embedded"] == 0


@pytest.mark.parametrize(("method", "signal"), [("vector", "vector_score"), ("bm25", "bm25_score")])
def test_retrieve_ranks_by_either_half_of_the_hybrid_alone(extractive_engine: Engine, method: str, signal: str) -> None:
    hits = extractive_engine.retrieve("What is happening at Ream Naval Base?", 5, method=method)

    scores = [getattr(h, signal) for h in hits]
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert scores == sorted(scores, reverse=True) and all(s is not None for s in scores)
    assert any("Ream" in h.text for h in hits)


def test_retrieve_refuses_an_unknown_method(extractive_engine: Engine) -> None:
    with pytest.raises(ValueError, match="hybrid, vector or bm25"):
        extractive_engine.retrieve("Japan", 3, method="fuzzy")


@pytest.mark.slow
def test_rag_ask_with_the_local_backend_exits_without_a_llama_del_type_error(cli_env: dict[str, str]) -> None:
    ask = subprocess.run(
        [sys.executable, "-m", "rag.serving.cli", "ask", "What did Japan sign with Thailand?"],
        env={**cli_env, "RAG_MAX_TOKENS": "16"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ask.returncode == 0, ask.stderr
    assert "TypeError" not in ask.stderr and "Exception ignored" not in ask.stderr  # llama.cpp freed before exit
