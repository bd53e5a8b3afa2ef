"""`python ui.py` with a login (RAG_UI_AUTH): the endpoints a login page can't protect, /v1 and MCP, take the API key
instead and are closed while RAG_API_KEY is unset; X-Forwarded-For names the client only from RAG_TRUSTED_PROXIES."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import openai
import pytest

from testkit.servers import REPO, answers, free_port, start_guarded, stop, wait_until
from tests.reliability.conftest import settings_env
from webui.auth import LOGIN_FREE_FAILURES

pytestmark = pytest.mark.slow

USER, PASSWORD, KEY = "alice", "s3cret-passphrase", "sk-rag-test-0123456789"
QUESTION = "How many patrol boats will Japan fund?"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"accept": "application/json, text/event-stream"}


@contextmanager
def ui_with_login(tiny_store, rag_env, rag_command, workdir: Path, **env: str) -> Iterator[tuple[str, Path]]:
    """`python ui.py --no-sync` over the tiny store with RAG_UI_AUTH set (and `env`); yields (url, its log)."""
    settings, _ = tiny_store
    environ = settings_env(rag_env, settings, RAG_LLM_BACKEND="extractive", RAG_UI_AUTH=f"{USER}:{PASSWORD}", **env)
    port, log = free_port(), workdir / "ui.log"
    ui = start_guarded([*rag_command[:1], str(REPO / "ui.py"), "--port", str(port), "--no-sync"], log, environ)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(url + "/"), ui, log, "python ui.py", 300)
        yield url, log
    finally:
        stop(ui)


async def mcp_tools(url: str, headers: dict[str, str] | None = None) -> list[str]:
    """The tools the MCP server at `url` lists to the mcp SDK's streamable HTTP client."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return [tool.name for tool in (await session.list_tools()).tools]


def mcp_refusal(url: str) -> int:
    """The HTTP status the mcp SDK's client meets at `url` when it is refused (it raises it in an exception group)."""
    try:
        asyncio.run(asyncio.wait_for(mcp_tools(url), 60))
    except BaseExceptionGroup as group:
        error: BaseException = group
        while isinstance(error, BaseExceptionGroup):
            error = error.exceptions[0]
        assert isinstance(error, httpx.HTTPStatusError), repr(error)
        return error.response.status_code
    raise AssertionError(f"the MCP server at {url} was not refused")


def wrong_logins_from_forwarded_clients(url: str) -> list[int]:
    """30 wrong passwords, each claiming another client in X-Forwarded-For; their status codes."""
    with httpx.Client(timeout=10) as client:
        return [
            client.post(
                f"{url}/login",
                data={"username": USER, "password": f"guess-{i}"},
                headers={"X-Forwarded-For": f"203.0.113.{i}"},
            ).status_code
            for i in range(30)
        ]


def test_with_a_login_and_no_api_key_v1_and_mcp_refuse_and_forwarded_headers_are_not_trusted(
    tiny_store, rag_env, rag_command, tmp_path: Path
) -> None:
    with ui_with_login(tiny_store, rag_env, rag_command, tmp_path) as (url, log):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-anything", max_retries=0, timeout=30)
        with pytest.raises(openai.AuthenticationError, match="set RAG_API_KEY"):
            client.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
        assert httpx.get(f"{url}/v1/models").status_code == 401

        mcp = httpx.post(f"{url}/gradio_api/mcp/", json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
        assert mcp.status_code == 401 and "RAG_API_KEY" in mcp.json()["error"]["message"]
        assert mcp_refusal(f"{url}/gradio_api/mcp/") == 401

        codes = wrong_logins_from_forwarded_clients(url)
        assert codes[:LOGIN_FREE_FAILURES] == [400] * LOGIN_FREE_FAILURES and codes[-1] == 429, codes
        started = log.read_text(errors="replace")
    assert "RAG_UI_AUTH is set and RAG_API_KEY is not: /v1 and MCP refuse every request" in started
    assert "set RAG_API_KEY" in started and "failed logins in a row from 127.0.0.1" in started


def test_with_a_login_and_an_api_key_v1_and_mcp_take_the_key_and_trusted_proxies_name_the_client(
    tiny_store, rag_env, rag_command, tmp_path: Path
) -> None:
    env = {"RAG_API_KEY": KEY, "RAG_TRUSTED_PROXIES": "127.0.0.1"}
    with ui_with_login(tiny_store, rag_env, rag_command, tmp_path, **env) as (url, log):
        keyed = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0, timeout=60)
        reply = keyed.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])
        assert "twelve" in reply.choices[0].message.content.lower()
        wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="sk-wrong", max_retries=0, timeout=30)
        with pytest.raises(openai.AuthenticationError, match="wrong API key"):
            wrong.chat.completions.create(model="rag", messages=[{"role": "user", "content": QUESTION}])

        bearer = {"Authorization": f"Bearer {KEY}"}
        tools = asyncio.run(asyncio.wait_for(mcp_tools(f"{url}/gradio_api/mcp/", bearer), 60))
        assert {"ask", "search", "countries"} <= set(tools)
        assert httpx.post(f"{url}/gradio_api/mcp/", json=INITIALIZE, headers=MCP_HEADERS).status_code == 401

        # Each forwarded client is its own: 30 clients failing once each are none of them slowed down.
        assert wrong_logins_from_forwarded_clients(url) == [400] * 30
    assert "RAG_API_KEY is not" not in log.read_text(errors="replace")
