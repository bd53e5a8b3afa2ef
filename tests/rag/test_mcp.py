"""`rag mcp`: the ask/search/countries tools over stdio, driven by the official `mcp` client."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest

from ingest.loaders import load_file

pytestmark = pytest.mark.slow  # a `rag mcp` subprocess loads the embedder


async def session_calls(env: dict[str, str], calls: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[Any]]:
    """Start `rag mcp`, list its tools and make `calls`; returns (tool names, CallToolResults)."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(command=sys.executable, args=["-m", "rag.serving.cli", "mcp"], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = [tool.name for tool in (await session.list_tools()).tools]
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def payload(result: Any) -> Any:
    """A tool result's structured value (FastMCP wraps non-object results in {"result": ...})."""
    assert not result.isError, result.content
    data = result.structuredContent
    return data["result"] if set(data) == {"result"} else data


def test_mcp_over_stdio_lists_three_tools_and_answers_with_checkable_citations(corpus_store, rag_env) -> None:
    env = rag_env(
        RAG_CORPUS_DIR=corpus_store.settings.corpus_dir,
        RAG_STORE_DIR=corpus_store.settings.store_dir,
        RAG_LLM_BACKEND="extractive",
    )
    calls = [
        ("ask", {"question": "How much did Japan pledge to the Philippines, and by when?"}),
        ("search", {"question": "Ream Naval Base", "k": 3, "countries": ["Cambodia"]}),
        ("countries", {}),
        ("ask", {"question": "What did Japan pledge?", "countries": ["Narnia"]}),
        ("search", {"question": "", "k": 3}),
    ]
    tools, (ask, search, countries, unknown, empty) = asyncio.run(asyncio.wait_for(session_calls(env, calls), 180))
    assert sorted(tools) == ["ask", "countries", "search"]

    answer = payload(ask)
    assert "600 billion" in answer["answer"] and not answer["abstained"]
    assert answer["backend"] == "extractive" and answer["text"] == answer["answer"]
    assert json.loads(ask.content[0].text) == answer  # clients that read text see the same
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["answer"]
        document = load_file(corpus_store.settings.corpus_dir / c["doc_id"], c["doc_id"])
        assert document.text[c["quote_start"] : c["quote_end"]] == c["quote"]

    passages = payload(search)
    assert len(passages) == 3 and all("Cambodia" in p["countries"] for p in passages)
    assert "Ream" in passages[0]["text"]
    for p in passages:
        document = load_file(corpus_store.settings.corpus_dir / p["doc_id"], p["doc_id"])
        assert document.text[p["start"] : p["end"]] == p["text"]

    names = {c["country"]: c["chunks"] for c in payload(countries)}
    assert names["Japan"] > names["Cambodia"] > 0

    assert unknown.isError and "Unknown country or grouping 'Narnia'" in unknown.content[0].text
    assert empty.isError and "question is empty" in empty.content[0].text
    assert "Traceback" not in unknown.content[0].text + empty.content[0].text
