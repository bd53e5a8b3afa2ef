"""The OpenAI-compatible API, served for real on loopback and called with the `openai` client and raw HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import SecretStr

from ingest.loaders import load_file
from rag.answer import ABSTAIN_TEXT
from rag.engine import Engine
from rag.serving.api import create_api
from rag.storage.store import Store
from testkit.servers import answers, free_port, serve_asgi, start_guarded, stop, wait_until
from tests.conftest import CORPUS

PLEDGE = "How much did Japan pledge to the Philippines, and by when?"
KEY = "sk-rag-test-0123456789"


@pytest.fixture(scope="module")
def api_url(extractive_engine: Engine) -> Iterator[str]:
    """The API alone (as `rag serve` runs it) over the shipped corpus, extractive backend, no key."""
    with serve_asgi(create_api(extractive_engine)) as url:
        yield url


@pytest.fixture(scope="module")
def client(api_url: str) -> openai.OpenAI:
    """The official OpenAI client pointed at our API."""
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def keyed_url(make_engine: Callable[..., Engine]) -> Iterator[str]:
    """The API with RAG_API_KEY set."""
    with serve_asgi(create_api(make_engine("extractive", api_key=SecretStr(KEY)))) as url:
        yield url


def assert_quotes_match_documents(citations: list[dict], corpus_dir: Path) -> None:
    """Every structured citation's quote is its document's text at quote_start:quote_end."""
    assert citations
    for c in citations:
        assert {"n", "title", "url", "doc_id", "quote", "quote_start", "quote_end"} <= c.keys()
        document = load_file(corpus_dir / c["doc_id"], c["doc_id"])
        assert document.text[c["quote_start"] : c["quote_end"]] == c["quote"]


def assert_still_serving(api_url: str) -> None:
    """A good request right after a bad one is answered."""
    reply = httpx.post(f"{api_url}/v1/chat/completions", json={"messages": [{"role": "user", "content": PLEDGE}]})
    assert reply.status_code == 200, reply.text
    assert "600 billion" in reply.json()["choices"][0]["message"]["content"]


def test_openai_client_gets_a_cited_answer_with_a_sources_list(client: openai.OpenAI, corpus_store) -> None:
    reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": PLEDGE}])
    message = reply.choices[0].message
    answer, _, sources = message.content.partition("\n\nSources:\n")
    assert "600 billion" in answer and re.search(r"\[\d+\]", answer)
    citations = message.model_extra["citations"]
    assert_quotes_match_documents(citations, corpus_store.settings.corpus_dir)
    first: dict[str, int] = {}
    for c in sorted(citations, key=lambda c: c["n"]):
        assert f"[{c['n']}]" in answer
        if first.setdefault(c["doc_id"], c["n"]) == c["n"]:  # a document's title is listed once
            assert f"[{c['n']}] {c['title']}" in sources and c["url"] in sources
        else:
            assert f"[{c['n']}] same document as [{first[c['doc_id']]}]" in sources
    assert message.model_extra["abstained"] is False
    assert reply.model == "extractive"
    assert reply.usage.prompt_tokens > reply.usage.completion_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.choices[0].finish_reason == "stop"


def test_streaming_sends_deltas_then_sources_and_citations_on_the_last_chunk(
    client: openai.OpenAI, corpus_store
) -> None:
    chunks = list(
        client.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": "What is happening at Ream Naval Base?"}], stream=True
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert len(chunks) > 3
    assert "Ream" in content and "\n\nSources:\n[" in content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert_quotes_match_documents(last.choices[0].delta.model_extra["citations"], corpus_store.settings.corpus_dir)
    assert last.usage.completion_tokens > 0
    assert all(c.model == "extractive" for c in chunks)


def test_stream_ends_with_done(api_url: str) -> None:
    body = {"messages": [{"role": "user", "content": PLEDGE}], "stream": True}
    with httpx.stream("POST", f"{api_url}/v1/chat/completions", json=body, timeout=60) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        events = [line for line in reply.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"


def test_second_turn_is_a_follow_up_on_the_first(client: openai.OpenAI) -> None:
    first = "What did Japan pledge to the Philippines?"
    messages = [{"role": "user", "content": first}]
    reply = client.chat.completions.create(model="rag", messages=messages)
    messages += [{"role": "assistant", "content": reply.choices[0].message.content}]
    messages += [{"role": "user", "content": "And what about Vietnam?"}]
    follow_up = client.chat.completions.create(model="rag", messages=messages).choices[0].message
    alone = (
        client.chat.completions.create(model="rag", messages=[{"role": "user", "content": "And what about Vietnam?"}])
        .choices[0]
        .message
    )
    assert not follow_up.model_extra["abstained"]
    assert "Vietnam" in follow_up.content
    assert follow_up.content != alone.content


@pytest.mark.parametrize(
    "extra",
    [{"extra_body": {"countries": ["Cambodia"]}}, {"metadata": {"countries": "cambodia"}}],
    ids=["body", "metadata"],
)
def test_country_filter_from_body_or_metadata_restricts_the_sources(
    client: openai.OpenAI, extractive_engine: Engine, extra: dict
) -> None:
    question = "What was agreed on maritime security?"
    reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": question}], **extra)
    citations = reply.choices[0].message.model_extra["citations"]
    assert citations
    chunks = extractive_engine.search(question, k=50, countries=["Cambodia"])
    allowed = {(h.doc_id, h.start, h.end) for h in chunks}
    for c in citations:  # each quote lies inside a passage that mentions Cambodia
        assert any(d == c["doc_id"] and s <= c["quote_start"] and c["quote_end"] <= e for d, s, e in allowed)


@pytest.mark.parametrize(
    "extra",
    [
        {"extra_body": {"docs": ["Quad Leaders’ Joint Statement"]}},
        {"metadata": {"docs": "Quad Leaders’ Joint Statement"}},
    ],
    ids=["body", "metadata"],
)
def test_document_filter_from_body_or_metadata_limits_the_sources(client: openai.OpenAI, extra: dict) -> None:
    reply = client.chat.completions.create(
        model="rag", messages=[{"role": "user", "content": "What was agreed on maritime security?"}], **extra
    )
    citations = reply.choices[0].message.model_extra["citations"]
    assert citations
    assert {c["doc_id"] for c in citations} == {"wh_2023-05-20_quad_leaders_joint_statement.md"}
    with pytest.raises(openai.BadRequestError, match="Unknown document 'Narnia'"):
        client.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": PLEDGE}], extra_body={"docs": ["Narnia"]}
        )


def test_abstention_is_a_normal_reply(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="rag", messages=[{"role": "user", "content": "Who won the 2022 FIFA World Cup?"}]
    )
    message = reply.choices[0].message
    assert message.content == ABSTAIN_TEXT
    assert message.model_extra["citations"] == [] and message.model_extra["abstained"] is True


def test_models_lists_what_answers(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list()} == {"extractive", "rag"}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b'{"messages": [', 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"{}", 400, "messages"),
        (b'{"messages": [{"role": "assistant", "content": "hi"}]}', 400, "last message must be the user"),
        (b'{"messages": [{"role": "user", "content": "  "}]}', 400, "question is empty"),
        (b'{"messages": [{"role": "user", "content": "Japan?"}], "countries": "Japan"}', 400, "countries"),
        (b'{"messages": [{"role": "user", "content": "Japan?"}], "countries": ["Narnia"]}', 400, "Unknown country"),
        (b'{"messages": [{"role": "user", "content": "Japan?"}], "metadata": {"countries": "Narnia"}}', 400, "Narnia"),
        (b'{"messages": [{"role": "user", "content": "Japan?"}], "docs": [null]}', 400, "docs"),
        (b"[" * 100_000, 400, "nested too deep"),
        (b'{"messages": ' + b"[" * 100_000, 400, "nested too deep"),
    ],
    ids=[
        *("malformed", "array", "no-messages", "no-question", "empty", "string-filter", "unknown", "meta", "docs"),
        *("nested", "nested-in-object"),
    ],
)
def test_bad_requests_get_a_clear_openai_error_and_the_server_keeps_serving(
    api_url: str, body: bytes, status: int, message: str
) -> None:
    reply = httpx.post(f"{api_url}/v1/chat/completions", content=body, headers={"content-type": "application/json"})
    assert reply.status_code == status
    error = reply.json()["error"]
    assert message in error["message"]
    assert error["type"] == "invalid_request_error" and "Traceback" not in reply.text
    assert_still_serving(api_url)


def test_openai_client_raises_a_bad_request_for_an_unknown_country(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Unknown country or grouping 'Narnia'"):
        client.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": PLEDGE}], extra_body={"countries": ["Narnia"]}
        )


def test_a_one_megabyte_message_is_refused_as_too_large(api_url: str) -> None:
    body = {"messages": [{"role": "user", "content": "Japan " * 175_000}]}
    reply = httpx.post(f"{api_url}/v1/chat/completions", json=body, timeout=60)
    assert reply.status_code == 413
    assert "larger than 256 KB" in reply.json()["error"]["message"]
    assert_still_serving(api_url)


def test_a_key_is_required_when_rag_api_key_is_set(keyed_url: str) -> None:
    wrong = openai.OpenAI(base_url=f"{keyed_url}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        wrong.chat.completions.create(model="rag", messages=[{"role": "user", "content": PLEDGE}])
    assert KEY not in str(caught.value)
    assert httpx.get(f"{keyed_url}/v1/models").status_code == 401
    right = openai.OpenAI(base_url=f"{keyed_url}/v1", api_key=KEY, max_retries=0)
    reply = right.chat.completions.create(model="rag", messages=[{"role": "user", "content": PLEDGE}])
    assert "600 billion" in reply.choices[0].message.content


def test_unknown_endpoints_say_what_is_offered(api_url: str) -> None:
    reply = httpx.post(f"{api_url}/v1/embeddings", json={"input": "x"})
    assert reply.status_code == 404
    assert "/v1/chat/completions" in reply.json()["error"]["message"]


@pytest.mark.slow
def test_a_request_during_the_first_ingest_gets_503_with_retry_after_then_an_answer(
    tmp_path: Path, make_settings, embedder
) -> None:
    settings = make_settings(corpus_dir=CORPUS, store_dir=tmp_path / "store", llm_backend="extractive")
    engine = Engine(settings, Store(settings), embedder, "extractive")
    ingest = threading.Thread(target=engine.ingest, name="first-ingest")
    body = {"messages": [{"role": "user", "content": PLEDGE}]}
    with serve_asgi(create_api(engine)) as url:
        ingest.start()
        try:
            deadline = time.monotonic() + 120
            while engine.indexing() is None:
                assert ingest.is_alive() and time.monotonic() < deadline, "the ingest never started"
                time.sleep(0.05)
            during = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
            still_indexing = engine.indexing() is not None
        finally:
            ingest.join(timeout=300)
        after = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
    assert still_indexing, "the ingest ended before the request was answered; nothing was tested"
    assert during.status_code == 503
    assert during.json()["error"]["code"] == "indexing"
    assert "being indexed" in during.json()["error"]["message"]
    assert 1 <= int(during.headers["Retry-After"]) <= 60
    assert after.status_code == 200 and "600 billion" in after.json()["choices"][0]["message"]["content"]


@pytest.mark.slow
@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "whole"])
def test_llm_cli_shows_the_answer_with_its_sources(api_url: str, tmp_path: Path, stream: bool) -> None:
    (tmp_path / "extra-openai-models.yaml").write_text(
        f"- model_id: rag\n  model_name: rag\n  api_base: {api_url}/v1\n", encoding="utf-8"
    )
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path)}
    command = [str(Path(sys.executable).parent / "llm"), "-m", "rag", *([] if stream else ["--no-stream"]), PLEDGE]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\n\nSources:\n")
    assert "600 billion" in answer and re.search(r"\[\d+\]", answer)
    # [n] title (date) URL, or the file name of a document without one - "quote"
    line = r"^\[\d+\] .+ \(\d{4}[-\d]*\) (https?://\S+|\S+\.md) - \".*600 billion.*\"$"
    assert re.search(line, sources, re.M), sources


@pytest.mark.slow
def test_rag_serve_answers_curl_with_a_cited_answer(corpus_store, rag_env, tmp_path: Path) -> None:
    port = free_port()
    env = rag_env(
        RAG_CORPUS_DIR=corpus_store.settings.corpus_dir,
        RAG_STORE_DIR=corpus_store.settings.store_dir,
        RAG_LLM_BACKEND="extractive",
        RAG_API_KEY=KEY,
    )
    log = tmp_path / "serve.log"
    process = start_guarded([sys.executable, "-m", "rag.serving.cli", "serve", "--port", str(port)], log, env=env)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        auth = {"Authorization": f"Bearer {KEY}"}
        wait_until(lambda: answers(f"{url}/models", auth), process, log, "rag serve", 120)
        body = json.dumps({"model": "rag", "messages": [{"role": "user", "content": PLEDGE}]})
        curl = subprocess.run(
            ["curl", "-sS", f"{url}/chat/completions", "-H", f"Authorization: Bearer {KEY}",
             "-H", "Content-Type: application/json", "-d", body],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
    finally:
        stop(process)
    message = json.loads(curl.stdout)["choices"][0]["message"]
    assert "600 billion" in message["content"] and "\n\nSources:\n[" in message["content"]
    assert message["citations"] and all(c["quote"] for c in message["citations"])
    assert KEY not in log.read_text()
