"""What `python ui.py` serves in one process: the OpenAI-compatible API, the Gradio app and its MCP tools."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from gradio_client import Client

from ingest.loaders import load_file
from rag.engine import Engine
from testkit.servers import serve_asgi

PLEDGE = "How much did Japan pledge to the Philippines, and by when?"


# The whole app on uvicorn, MCP included: its shutdown alone waits ~30 s for MCP sessions to close.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server_url(engine: Engine) -> Iterator[str]:
    """ui.build_server, served by uvicorn as `python ui.py` serves it."""
    import ui

    with serve_asgi(ui.build_server(engine, engine.settings)) as url:
        yield url


async def mcp_calls(url: str, calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    """List the tools of the MCP server at `url` (streamable HTTP) and make `calls`."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with streamable_http_client(url) as (read, write, _), ClientSession(read, write) as session:
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def test_one_process_serves_the_openai_api_and_the_gradio_app(server_url: str) -> None:
    client = openai.OpenAI(base_url=f"{server_url}/v1", api_key="unused", max_retries=0)
    reply = client.chat.completions.create(model="rag", messages=[{"role": "user", "content": PLEDGE}])
    assert "600 billion" in reply.choices[0].message.content
    assert "\n\nSources:\n[" in reply.choices[0].message.content
    assert httpx.get(server_url + "/", timeout=30).status_code == 200  # the chat page
    result = Client(server_url + "/", verbose=False).predict(PLEDGE, None, api_name="/ask")
    assert "600 billion" in result["answer"]


def test_gradio_mcp_server_offers_ask_search_and_countries_with_offsets(server_url: str, engine: Engine) -> None:
    calls = [
        ("ask", {"question": PLEDGE}),
        ("search", {"question": "Ream Naval Base", "k": 2}),
        ("countries", {}),
        ("ask", {"question": PLEDGE, "countries": ["Narnia"]}),
        ("ask", {"question": PLEDGE, "countries": "Japan"}),
    ]
    url = f"{server_url}/gradio_api/mcp/"
    tools, (ask, search, countries, unknown, malformed) = asyncio.run(asyncio.wait_for(mcp_calls(url, calls), 120))
    assert {"ask", "search", "countries"} <= set(tools)

    # Gradio's MCP server writes a tool's result as a Python literal (`rag mcp` writes JSON)
    answer = ast.literal_eval(ask.content[0].text)
    assert not ask.isError and "600 billion" in answer["answer"]
    for c in answer["citations"]:
        document = load_file(engine.settings.corpus_dir / c["doc_id"], c["doc_id"])
        assert document.text[c["quote_start"] : c["quote_end"]] == c["quote"]

    passages = ast.literal_eval(search.content[0].text)
    assert len(passages) == 2 and "Ream" in passages[0]["text"]
    assert any(c["country"] == "Japan" for c in ast.literal_eval(countries.content[0].text))
    assert unknown.isError and "Unknown country or grouping 'Narnia'" in unknown.content[0].text
    assert malformed.isError and "'Japan' is not valid" in malformed.content[0].text


def test_rag_mcp_and_the_gradio_mcp_server_return_the_same_ask_and_search_fields(
    server_url: str, engine: Engine, rag_env
) -> None:
    # One JSON module writes both (rag/serving/json_forms.py): a client may switch servers without a change.
    from tests.rag.test_mcp import payload, session_calls

    calls = [("ask", {"question": PLEDGE}), ("search", {"question": "Ream Naval Base", "k": 2})]
    env = rag_env(
        RAG_CORPUS_DIR=engine.settings.corpus_dir,
        RAG_STORE_DIR=engine.settings.store_dir,
        RAG_COLLECTION=engine.settings.collection,
        RAG_LLM_BACKEND=engine.backend,
    )
    _, (stdio_ask, stdio_search) = asyncio.run(asyncio.wait_for(session_calls(env, calls), 180))
    _, (http_ask, http_search) = asyncio.run(asyncio.wait_for(mcp_calls(f"{server_url}/gradio_api/mcp/", calls), 120))
    stdio_answer, http_answer = payload(stdio_ask), ast.literal_eval(http_ask.content[0].text)
    assert stdio_answer.keys() == http_answer.keys()
    assert stdio_answer["answer"] == http_answer["answer"] and "600 billion" in http_answer["answer"]
    assert [c.keys() for c in stdio_answer["citations"]] == [c.keys() for c in http_answer["citations"]]
    assert stdio_answer["citations"] and {"retrieved", "abstained", "backend"} <= http_answer.keys()
    stdio_passages, http_passages = payload(stdio_search), ast.literal_eval(http_search.content[0].text)
    assert [p.keys() for p in stdio_passages] == [p.keys() for p in http_passages] and len(http_passages) == 2
