"""The API key never shows: not in errors, logs (even at DEBUG), CLI output, the UI, or repr(Settings)."""

from __future__ import annotations

import json
import logging
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gradio as gr
import pytest
from pydantic import SecretStr

from rag.engine import Engine
from rag.errors import LLMError
from testkit.cli import run_rag
from tests.reliability.conftest import PATCH_QUESTION, settings_env
from webui.events import Events, new_session

SECRET = "sk-test-SECRET-5f0c1e9a7b3d4c21a8e6"


class RefusingHandler(BaseHTTPRequestHandler):
    """An OpenAI-style server that turns every key down with 401."""

    def do_POST(self) -> None:
        body = json.dumps({"error": {"message": "Incorrect API key provided.", "code": "invalid_api_key"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def refusing_server() -> Iterator[str]:
    """A real HTTP server on loopback that answers every chat request with 401; yields its /v1 URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def everything_about(exc: BaseException) -> str:
    """The message, repr and full chained traceback of an exception: whatever could end up in a log."""
    return f"{exc}\n{exc!r}\n{''.join(traceback.format_exception(exc))}"


@pytest.mark.parametrize("where", ["refusing server", "closed port"])
def test_api_key_never_appears_in_errors_logs_or_the_ui(where, tiny_store, embedder, refusing_server,
                                                        closed_port_url, caplog):  # fmt: skip
    settings, store = tiny_store
    url = refusing_server if where == "refusing server" else closed_port_url
    settings = settings.model_copy(
        update={"openai_api_key": SecretStr(SECRET), "openai_base_url": url, "llm_retries": 0, "llm_timeout": 10}
    )
    engine = Engine(settings, store, embedder, "openai")
    events = Events(engine, settings)

    with caplog.at_level(logging.DEBUG):
        with pytest.raises(LLMError) as raised:
            engine.ask(PATCH_QUESTION)
        steps = list(events.respond(PATCH_QUESTION, [], new_session()))
        with pytest.raises(gr.Error) as shown:
            events.ask(PATCH_QUESTION)
        status = events.tick(-1)[0]

    assert ("401" if where == "refusing server" else "Cannot reach") in str(raised.value)
    seen = {
        "exception": everything_about(raised.value),
        "log": caplog.text,
        "chat": steps[-1][1][-1]["content"],
        "ask endpoint": everything_about(shown.value),
        "status line": status,
        "engine status": repr(engine.status()),
        "settings": f"{settings!r} {settings!s} {settings.model_dump()} {settings.model_dump_json()}",
    }
    assert {name: SECRET in text for name, text in seen.items()} == dict.fromkeys(seen, False)
    assert "DEBUG" in caplog.text  # the check ran with debug logging on


def test_api_key_never_appears_in_cli_output_even_verbose(tiny_store, refusing_server, rag_command, rag_env, tmp_path):
    settings, _ = tiny_store
    env = settings_env(
        rag_env, settings, RAG_LLM_BACKEND="openai", OPENAI_API_KEY=SECRET, OPENAI_BASE_URL=refusing_server,
        RAG_LLM_RETRIES="0",
    )  # fmt: skip

    run = run_rag([*rag_command, "--verbose", "ask", PATCH_QUESTION], env, tmp_path, timeout=120)

    assert run.returncode == 1
    assert "refused the API key (401); check OPENAI_API_KEY" in run.stderr
    assert "DEBUG" in run.stderr
    assert SECRET not in run.stdout + run.stderr
