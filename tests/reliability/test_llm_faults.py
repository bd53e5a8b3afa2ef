"""An LLM server that trickles an answer forever is cut off at RAG_LLM_DEADLINE, and one that sends malformed bytes
gives "sent a malformed response" (never a traceback, never an abstention): in the engine, the UI and `rag ask`.

The servers are real HTTP servers on loopback (tests/reliability/llm_server.py) that send exactly these bytes."""

from __future__ import annotations

import html
import time

import pytest

from rag.errors import LLMError
from testkit.cli import run_rag
from tests.reliability.conftest import PATCH_QUESTION, settings_env
from tests.reliability.llm_server import event, raw, trickle
from tests.reliability.test_llm_outage import last_message, remote_engine
from webui.events import Events, new_session

# A checked sentence, then words that never make one: only the sentence may ever be shown.
SENTENCE = "Japan will fund twelve patrol boats for the Philippine Coast Guard [1][2]. "
WORDS = [SENTENCE] + [f"Word{i} " for i in range(11)]
MALFORMED = {
    "invalid JSON in an event": raw("text/event-stream", event("The pact ") + b'data: {"choices": [{"delta": \n\n'),
    "choices that are not a list": raw("text/event-stream", b'data: {"choices":"nope"}\n\n'),
    "a JSON body that is not JSON": raw("application/json", b"<html>upstream timed out</html>"),
    "an event stream with nothing in it": raw("text/event-stream", b": keep-alive\n\n"),
    "an HTML page": raw("text/html; charset=utf-8", b"<html><body>Welcome to nginx!</body></html>"),
}


def test_a_server_that_trickles_chunks_is_cut_off_at_the_deadline_and_the_ui_shows_the_partial_answer(
    tiny_store, embedder, scripted_llm
):
    server = scripted_llm(trickle(WORDS, every=1.5))  # each read well within RAG_LLM_TIMEOUT: only a deadline stops it
    engine = remote_engine(tiny_store, embedder, server.url, llm_timeout=5, llm_deadline=4)
    respond = Events(engine, engine.settings).respond
    engine.retriever.retrieve(PATCH_QUESTION)  # warm: the time below is the answer's

    started = time.monotonic()
    message, session = last_message(list(respond(PATCH_QUESTION, [], new_session())))
    elapsed = time.monotonic() - started

    assert elapsed < 4 + 3, f"took {elapsed:.1f} s"  # the deadline, plus retrieval
    text = html.unescape(message)
    assert "twelve patrol boats" in text and "(incomplete)" in text  # what was checked so far, marked
    assert "Word" not in text  # text no citation check has passed is never shown
    assert "did not finish the answer within 4 s (RAG_LLM_DEADLINE)" in text
    assert "Traceback" not in text and session["history"] == []
    # The connection is closed: the server's next writes fail (the first may still reach the kernel's buffer).
    until = time.monotonic() + 2 * 1.5 + 1
    while server.client_left is None and time.monotonic() < until:
        time.sleep(0.1)
    assert server.client_left is not None, "the server is still streaming to us"


def test_the_deadline_bounds_a_whole_answer_not_each_read(tiny_store, embedder, scripted_llm):
    pieces = ["Japan will fund twelve ", "patrol boats for the Philippine ", "Coast Guard [1][2]."]
    server = scripted_llm(trickle(pieces, every=0.5))
    engine = remote_engine(tiny_store, embedder, server.url, llm_timeout=1, llm_deadline=10)

    answer = engine.ask(PATCH_QUESTION)  # 1.5 s in all: over the read timeout, within the deadline

    assert answer.text == "".join(pieces) and not answer.abstained  # every chunk arrived, none cut off
    assert server.client_left is None


@pytest.mark.parametrize("fault", list(MALFORMED))
def test_a_malformed_response_is_an_llm_error_in_the_engine_and_the_ui_never_an_abstention(
    tiny_store, embedder, scripted_llm, fault
):
    server = scripted_llm(MALFORMED[fault])
    engine = remote_engine(tiny_store, embedder, server.url)
    respond = Events(engine, engine.settings).respond

    with pytest.raises(LLMError, match=rf"The LLM server at {server.url} sent a malformed response: "):
        engine.ask(PATCH_QUESTION)
    message, _ = last_message(list(respond(PATCH_QUESTION, [], new_session())))

    text = html.unescape(message)
    assert 'class="error"' in message and f"The LLM server at {server.url} sent a malformed response" in text
    assert "abstain" not in message and "don't answer" not in text and "Traceback" not in text


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(MALFORMED)[:3])
def test_rag_ask_exits_1_with_the_malformed_response_message(
    tiny_store, scripted_llm, rag_command, rag_env, tmp_path, fault
):
    server = scripted_llm(MALFORMED[fault])
    settings, _ = tiny_store
    env = settings_env(rag_env, settings, RAG_LLM_BACKEND="openai-compatible", OPENAI_BASE_URL=server.url,
                       RAG_LLM_RETRIES="0")  # fmt: skip

    run = run_rag([*rag_command, "ask", PATCH_QUESTION], env, tmp_path, timeout=120)

    assert run.returncode == 1, (run.stdout, run.stderr)
    assert f"error: The LLM server at {server.url} sent a malformed response: " in run.stderr
    assert "Traceback" not in run.stderr and "don't answer" not in run.stdout


@pytest.mark.slow
def test_rag_ask_prints_what_came_before_the_deadline_and_exits_1(
    tiny_store, scripted_llm, rag_command, rag_env, tmp_path
):
    server = scripted_llm(trickle(WORDS, every=1.5))
    settings, _ = tiny_store
    env = settings_env(rag_env, settings, RAG_LLM_BACKEND="openai-compatible", OPENAI_BASE_URL=server.url,
                       RAG_LLM_RETRIES="0", RAG_LLM_TIMEOUT="5", RAG_LLM_DEADLINE="4",
                       RAG_TOP_K="2")  # fmt: skip

    run = run_rag([*rag_command, "ask", PATCH_QUESTION], env, tmp_path, timeout=120)

    assert run.returncode == 1, (run.stdout, run.stderr)
    assert run.stdout.startswith("Japan will fund twelve patrol boats")
    assert "Word" not in run.stdout
    assert "did not finish the answer within 4 s (RAG_LLM_DEADLINE)" in run.stderr
    assert "Traceback" not in run.stderr
