"""An OpenAI-compatible model that cites in a trailing sentence keeps its supported claim, and a claim its sources
don't support is never shown: in the engine, the UI, /v1 (stream and not) and `rag ask`.

The model is a loopback server that sends exactly this reply (tests/reliability/llm_server.py): a fault injection,
since no small real model can be made to write a given citation style on demand."""

from __future__ import annotations

import html

import openai
import pytest

from rag.serving.api import create_api
from testkit.cli import run_rag
from testkit.servers import serve_asgi
from tests.reliability.conftest import PATCH_QUESTION, settings_env
from tests.reliability.llm_server import event
from tests.reliability.test_llm_outage import last_message, remote_engine
from webui.events import Events, new_session

REPLY = [
    "Japan will fund twelve patrol boats ",
    "for the Philippine Coast Guard. ",
    "This is stated in [1][2]. ",
    "Unlike the river commission, the harbour pact was ",
    "signed in Beijing in 1999 [1][2].",
]
KEPT = "Japan will fund twelve patrol boats for the Philippine Coast Guard."
PLANTED = "Beijing"


def cites_in_a_trailing_sentence(reply) -> None:
    reply.head("text/event-stream")
    for piece in REPLY:
        reply.send(event(piece))
    reply.send(b"data: [DONE]\n\n")


@pytest.fixture
def citing_engine(tiny_store, embedder, scripted_llm):
    server = scripted_llm(cites_in_a_trailing_sentence)
    return remote_engine(tiny_store, embedder, server.url, max_tokens=200)


def test_a_claim_cited_by_a_trailing_sentence_is_kept_and_an_unsupported_one_never_streams(citing_engine):
    items = list(citing_engine.stream(PATCH_QUESTION))
    answer, streamed = items[-1], "".join(items[:-1])

    assert KEPT in " ".join(answer.text.split())
    assert PLANTED not in streamed and PLANTED not in answer.text
    assert any(PLANTED in s for s in answer.unsupported_sentences)
    assert "1 sentence of the model's answer dropped" in answer.text
    assert streamed.strip() == answer.text.strip()  # what streamed is the checked answer
    assert not answer.abstained and all(c.supported for c in answer.citations)


def test_the_ui_shows_only_the_checked_sentences(citing_engine):
    message, _ = last_message(
        list(Events(citing_engine, citing_engine.settings).respond(PATCH_QUESTION, [], new_session()))
    )
    text = html.unescape(message)
    assert "twelve patrol boats" in text and PLANTED not in text


def test_v1_shows_only_the_checked_sentences_streamed_or_not(citing_engine):
    with serve_asgi(create_api(citing_engine)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
        messages = [{"role": "user", "content": PATCH_QUESTION}]
        whole = client.chat.completions.create(model="rag", messages=messages).choices[0].message.content
        chunks = client.chat.completions.create(model="rag", messages=messages, stream=True)
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    for text in (whole, streamed):
        assert "twelve patrol boats" in text and PLANTED not in text
        assert "Checked answer" not in text  # the stream was already the checked answer


@pytest.mark.slow
def test_rag_ask_prints_only_the_checked_sentences(tiny_store, scripted_llm, rag_command, rag_env, tmp_path):
    server = scripted_llm(cites_in_a_trailing_sentence)
    settings, _ = tiny_store
    env = settings_env(rag_env, settings, RAG_LLM_BACKEND="openai-compatible", OPENAI_BASE_URL=server.url,
                       RAG_LLM_RETRIES="0")  # fmt: skip

    run = run_rag([*rag_command, "ask", PATCH_QUESTION], env, tmp_path, timeout=120)

    assert run.returncode == 0, run.stderr
    assert "twelve patrol boats" in run.stdout
    assert "not supported by the cited sources: Unlike the river commission" in run.stdout  # listed, flagged
    assert "Checked answer" not in run.stdout and "Traceback" not in run.stderr
