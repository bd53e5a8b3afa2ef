"""Document markup never reaches a client as live markup: /v1 (plain and streamed), the MCP tools and `rag ask` show
answers without HTML tags or unsafe link targets, and a source's URL is only ever http(s); citations' quotes stay
verbatim, checkable against their documents."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
from pathlib import Path

import openai
import pytest

from ingest.loaders import load_file
from rag.engine import Engine
from rag.safe_text import SafeStream, safe_text
from rag.serving.api import create_api
from rag.serving.mcp_server import build_server
from rag.storage.store import Store
from rag.storage.sync import sync
from testkit.servers import serve_asgi
from tests.conftest import tiny_copy
from tests.reliability.conftest import settings_env

QUESTION = "How many ferries will Japan fund for Vietnam?"
HOSTILE = """---
title: "Coral Accord <img src=x onerror=alert(1)>"
url: "javascript:alert(document.cookie)"
date: 2024-03-01
---

# Coral Accord

Vietnam and Japan signed the Coral Accord in Hanoi on 1 March 2024. Under the accord, Japan will fund nine river
ferries <img src=x onerror=alert(1)> for Vietnam [see the annex](javascript:alert(document.cookie)) by 2027. Crews
will be trained in Da Nang ![chart](data:text/html;base64,PHNjcmlwdD4=) every year.
"""
ATTACKS = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<a href='javascript:alert(1)'>x</a>",
    "<!-- <img src=x onerror=alert(1)> -->",
    "<javascript:alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVa&#115;cript:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x]( vbscript:msgbox(1))",
    "![x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x][r]\n\n[r]: javascript:alert(1)\n",
    "red \x1b[31mtext\x1b[0m",
]


def assert_safe(text: str) -> None:
    """No tag, no link or reference to an unsafe scheme, no terminal control code."""
    assert not re.search(r"<[A-Za-z/!]", text), text
    assert not re.search(r"(javascript|vbscript|data):", text, re.I), text
    assert "\x1b" not in text, text


@pytest.mark.parametrize("attack", ATTACKS)
def test_safe_text_removes_markup_whole_and_split_across_stream_pieces_at_every_point(attack: str) -> None:
    text = f"Japan pledged [1]. {attack} More [2]."
    assert_safe(safe_text(text))
    assert "Japan pledged [1]." in safe_text(text) and "More [2]." in safe_text(text)
    for cut in range(1, len(text)):
        stream = SafeStream()
        shown = stream.feed(text[:cut]) + stream.feed(text[cut:]) + stream.close()
        assert_safe(shown)


def test_safe_text_keeps_plain_answers_and_web_links_as_they_are() -> None:
    text = (
        "Japan [1] pledged 600 billion yen (about $4 bn) if x < 5 > y; see [the text](https://example.org/a_(b)) [2]."
    )
    assert safe_text(text) == text
    stream = SafeStream()
    assert "".join(stream.feed(piece) for piece in re.findall(r"\S*\s*", text)) + stream.close() == text


@pytest.fixture(scope="module")
def hostile_engine(tmp_path_factory, make_settings, embedder) -> Engine:
    """The tiny corpus plus a document laden with markup and a javascript: URL, ingested; extractive backend."""
    settings = tiny_copy(tmp_path_factory.mktemp("hostile"), make_settings)
    (settings.corpus_dir / "coral_accord.md").write_text(HOSTILE, encoding="utf-8")
    store = Store(settings)
    sync(settings, store=store, embedder=embedder)
    return Engine(settings.model_copy(update={"llm_backend": "extractive"}), store, embedder, "extractive")


def test_a_front_matter_url_that_is_not_http_is_dropped_at_ingest_with_a_warning(caplog, tmp_path: Path) -> None:
    (tmp_path / "coral_accord.md").write_text(HOSTILE, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="ingest.loaders"):
        document = load_file(tmp_path / "coral_accord.md", "coral_accord.md")
    assert document.metadata.get("url", "") == ""
    assert "front matter url 'javascript:alert(document.cookie)' is not an http(s) URL; dropped" in caplog.text


def test_v1_answers_plain_and_streamed_show_no_markup_and_keep_quotes_verbatim(hostile_engine: Engine) -> None:
    messages = [{"role": "user", "content": QUESTION}]
    with serve_asgi(create_api(hostile_engine)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=60)
        reply = client.chat.completions.create(model="rag", messages=messages)
        chunks = list(client.chat.completions.create(model="rag", messages=messages, stream=True))
    content = reply.choices[0].message.content
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    for text in (content, streamed):
        assert "nine" in text and "river ferries" in text and "\n\nSources:\n[1]" in text
        assert_safe(text)
    citations = reply.choices[0].message.model_extra["citations"]
    assert any("<img" in c["quote"] for c in citations)  # the structured quote is the document's text, verbatim
    for c in citations:
        assert_safe(c["title"])
        assert c["url"] == "" or c["url"].startswith(("http://", "https://"))
        document = load_file(hostile_engine.settings.corpus_dir / c["doc_id"], c["doc_id"])
        assert document.text[c["quote_start"] : c["quote_end"]] == c["quote"]


def test_the_mcp_ask_tool_shows_no_markup(hostile_engine: Engine) -> None:
    from mcp.shared.memory import create_connected_server_and_client_session

    async def ask() -> dict:
        server = build_server(hostile_engine)
        async with create_connected_server_and_client_session(server._mcp_server) as session:
            result = await session.call_tool("ask", {"question": QUESTION})
        return json.loads(result.content[0].text)

    answer = asyncio.run(asyncio.wait_for(ask(), 120))
    assert "nine" in answer["answer"] and not answer["abstained"]
    assert_safe(answer["answer"])
    for c in answer["citations"]:
        assert_safe(c["title"])
        assert c["url"] == "" or c["url"].startswith(("http://", "https://"))


@pytest.mark.slow
def test_rag_ask_prints_no_markup_in_answers_sources_or_closest_passages(
    hostile_engine: Engine, rag_env, rag_command
) -> None:
    env = settings_env(rag_env, hostile_engine.settings, RAG_LLM_BACKEND="extractive")
    for question, shown in [
        (QUESTION, "Sources:"),
        ("How much money will the Coral Accord cost in dollars?", "Closest passages:"),
    ]:
        done = subprocess.run([*rag_command, "ask", question], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert shown in done.stdout and "Coral Accord" in done.stdout
        assert_safe(done.stdout)
