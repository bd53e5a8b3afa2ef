"""An LLM server that is down or hangs gives a clear, actionable message within the timeout, in the CLI and the UI;
once it is back, the same Engine answers the next question."""

from __future__ import annotations

import html
import time

import gradio as gr
import pytest
from pydantic import SecretStr

from rag.engine import Engine
from testkit.cli import run_rag
from tests.reliability.conftest import PATCH_QUESTION, SERVER_KEY, settings_env
from webui.events import Events, new_session


def remote_engine(tiny_store, embedder, url: str, **overrides) -> Engine:
    """The openai-compatible engine over the tiny corpus, pointed at `url`; short answers, no retries."""
    settings, store = tiny_store
    settings = settings.model_copy(
        update={
            "llm_backend": "openai-compatible",
            "openai_base_url": url,
            "openai_model": "smollm2",
            "openai_api_key": SecretStr(SERVER_KEY),
            "llm_retries": 0,
            "max_tokens": 48,
            "top_k": 2,
            **overrides,
        }
    )
    return Engine(settings, store, embedder, "openai-compatible")


def last_message(steps: list[tuple]) -> tuple[str, dict]:
    """The last chat message the UI showed, as text, and the session it ended with."""
    _, chat, _, session = steps[-1]
    return chat[-1]["content"], session


def test_server_down_shows_the_fix_in_the_ui_and_the_same_engine_answers_once_it_is_up(
    tiny_store, embedder, llama_server_later
):
    engine = remote_engine(tiny_store, embedder, llama_server_later.url, llm_timeout=30)
    events = Events(engine, engine.settings)
    respond, ask = events.respond, events.ask

    started = time.monotonic()
    message, session = last_message(list(respond(PATCH_QUESTION, [], new_session())))

    assert time.monotonic() - started < engine.settings.llm_timeout
    assert 'class="error"' in message and "Traceback" not in message
    assert f"Cannot reach the LLM server at {llama_server_later.url}; is it running?" in html.unescape(message)
    assert session["history"] == []
    with pytest.raises(gr.Error, match=r"Cannot reach the LLM server at .*OPENAI_BASE_URL"):
        ask(PATCH_QUESTION)

    llama_server_later.start()
    message, session = last_message(list(respond(PATCH_QUESTION, [], session)))

    assert 'class="error"' not in message, message
    # Answered and cited (the model's own sentences, or the source's when the model's were unsupported).
    assert 'class="answer"' in message and 'title="Harbour Pact between Japan and the Philippines">[1]' in message
    assert session["turn"] == 1 and session["history"][0]["content"] == PATCH_QUESTION


def test_hanging_server_shows_the_timeout_in_the_ui_within_it(tiny_store, embedder, silent_server):
    engine = remote_engine(tiny_store, embedder, silent_server, llm_timeout=2)
    respond = Events(engine, engine.settings).respond

    started = time.monotonic()
    message, _ = last_message(list(respond(PATCH_QUESTION, [], new_session())))

    assert time.monotonic() - started < 2 + 5  # the timeout, plus retrieval
    assert "did not answer within 2 s; is it running?" in html.unescape(message)
    assert "RAG_LLM_TIMEOUT" in message and "Traceback" not in message


def test_cli_reports_a_hanging_server_within_the_timeout(tiny_store, silent_server, rag_command, rag_env, tmp_path):
    settings, _ = tiny_store
    env = settings_env(
        rag_env,
        settings,
        RAG_LLM_BACKEND="openai-compatible",
        OPENAI_BASE_URL=silent_server,
        RAG_LLM_TIMEOUT="2",
        RAG_LLM_RETRIES="0",
    )

    run = run_rag([*rag_command, "ask", PATCH_QUESTION], env, tmp_path, timeout=120)

    assert run.returncode == 1, run.stderr
    assert f"error: LLM server at {silent_server} did not answer within 2 s" in run.stderr
    assert "Traceback" not in run.stderr
