"""With RAG_UI_AUTH set, a client that keeps failing to log in is slowed down: after a few failures its logins are
refused (HTTP 429) for a time that doubles with each further failure, and each refusal is logged."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import serve
from webui.auth import LOGIN_FREE_FAILURES

USER, PASSWORD = "alice", "s3cret-passphrase"


@pytest.fixture
def login_url(tiny_engine):
    """The app served on loopback with a login, as `RAG_UI_AUTH=alice:... python ui.py` serves it."""
    settings = tiny_engine.settings.model_copy(update={"ui_auth": SecretStr(f"{USER}:{PASSWORD}")})
    app, url = serve(tiny_engine, settings)
    yield url.rstrip("/") + "/login"
    app.close()


def attempt(client: httpx.Client, url: str, password: str) -> httpx.Response:
    """One login, as Gradio's login form posts it."""
    return client.post(url, data={"username": USER, "password": password})


def test_a_burst_of_wrong_passwords_is_throttled_after_a_few_and_logged(login_url, caplog):
    with caplog.at_level(logging.WARNING, logger="rag.ui"), httpx.Client(timeout=10) as client:
        codes = [attempt(client, login_url, f"guess-{i}").status_code for i in range(30)]

    assert codes[:LOGIN_FREE_FAILURES] == [400] * LOGIN_FREE_FAILURES  # Gradio's "Incorrect credentials"
    assert codes.count(400) <= LOGIN_FREE_FAILURES + 1, codes
    assert codes[-1] == 429
    assert "failed logins in a row from 127.0.0.1" in caplog.text
    assert "login from 127.0.0.1 refused: too many failed logins" in caplog.text


def test_the_backoff_refuses_even_the_right_password_then_doubles_and_a_success_clears_it(login_url):
    with httpx.Client(timeout=10) as client:
        for i in range(LOGIN_FREE_FAILURES):
            assert attempt(client, login_url, f"guess-{i}").status_code == 400
        refused = attempt(client, login_url, PASSWORD)
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert "Too many failed logins" in refused.json()["detail"]

        time.sleep(1.1)
        assert attempt(client, login_url, "guess-again").status_code == 400  # one more failure: 2 s now
        assert attempt(client, login_url, PASSWORD).headers["retry-after"] == "2"

        time.sleep(2.1)
        assert attempt(client, login_url, PASSWORD).status_code == 200
        assert attempt(client, login_url, "one-typo").status_code == 400  # a clean slate again
        assert attempt(client, login_url, PASSWORD).status_code == 200
