"""The `ask` endpoint, called the way scripts call it (gradio_client), and what the served page exposes."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError
from pydantic import SecretStr

from rag.answer import ABSTAIN_TEXT
from rag.engine import Engine
from rag.settings import Settings


def cited_countries(result: dict) -> list[list[str]]:
    """The countries of each cited chunk, looked up in the retrieved passages."""
    by_chunk = {hit["chunk_id"]: hit["countries"] for hit in result["retrieved"]}
    return [by_chunk[c["chunk_id"]] for c in result["citations"]]


def test_ask_endpoint_returns_a_cited_answer(client: Client) -> None:
    result = client.predict("What did Japan pledge to the Philippines?", None, api_name="/ask")
    assert not result["abstained"]
    assert result["citations"], result
    assert result["answer"] == result["text"]
    for citation in result["citations"]:
        assert f"[{citation['n']}]" in result["answer"]
        assert citation["quote"] in citation["chunk_text"]
    assert "600 billion" in result["answer"]
    assert {"retrieved", "unsupported_sentences", "backend", "model", "countries"} <= result.keys()


def test_country_filter_restricts_citations_to_that_country(client: Client) -> None:
    question = "What was agreed on maritime security?"
    filtered = client.predict(question, ["Cambodia"], api_name="/ask")
    assert filtered["countries"] == ["Cambodia"]
    assert not filtered["abstained"] and filtered["citations"]
    assert all("Cambodia" in countries for countries in cited_countries(filtered))
    assert all("Cambodia" in hit["countries"] for hit in filtered["retrieved"])
    unfiltered = client.predict(question, None, api_name="/ask")
    assert any("Cambodia" not in countries for countries in cited_countries(unfiltered))


def test_unanswerable_question_abstains(client: Client) -> None:
    result = client.predict("Who won the 2022 FIFA World Cup?", None, api_name="/ask")
    assert result["abstained"]
    assert result["answer"] == ABSTAIN_TEXT
    assert result["citations"] == []


def test_bad_input_comes_back_as_a_message_not_a_traceback(client: Client) -> None:
    with pytest.raises(AppError, match="Unknown country or grouping 'Narnia'") as caught:
        client.predict("What did Japan pledge?", ["Narnia"], api_name="/ask")
    assert "Traceback" not in str(caught.value)
    with pytest.raises(AppError, match="question is empty"):
        client.predict("   ", None, api_name="/ask")


@pytest.mark.parametrize(
    ("countries", "message"),
    [
        ("Japan", 'countries must be a list of names, e.g. ["Japan"]; got str.'),
        (123, 'countries must be a list of names, e.g. ["Japan"]; got int.'),
        ([None], 'countries must be a list of non-empty names, e.g. ["Japan"]; got None.'),
        ([["Japan"]], "countries must be a list of non-empty names, e.g. [\"Japan\"]; got ['Japan']."),
    ],
    ids=["string", "number", "null", "nested"],
)
def test_malformed_country_parameters_get_a_clear_message_and_no_traceback(
    client: Client, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture, countries: object, message: str
) -> None:
    with pytest.raises(AppError) as caught:
        client.predict("What did Japan pledge?", countries, api_name="/ask")
    assert str(caught.value) == message
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert "Traceback" not in capfd.readouterr().err


def test_a_missing_question_gets_a_clear_message(client: Client, app_url: str) -> None:
    with pytest.raises(AppError, match="The question is missing"):
        client.predict(api_name="/ask")
    started = httpx.post(app_url + "gradio_api/call/ask", json={"data": [None, None, None]}, timeout=30)
    assert started.status_code == 200, started.text
    events = httpx.get(app_url + f"gradio_api/call/ask/{started.json()['event_id']}", timeout=60).text
    assert "event: error" in events and "The question is missing" in events


def test_search_and_countries_endpoints_validate_like_ask(client: Client) -> None:
    passages = client.predict("Ream Naval Base", 2, ["Cambodia"], api_name="/search")
    assert len(passages) == 2 and all("Cambodia" in p["countries"] for p in passages)
    with pytest.raises(AppError, match="k must be a whole number from 1 to 50"):
        client.predict("Ream Naval Base", -1, None, api_name="/search")
    with pytest.raises(AppError, match="question is empty"):
        client.predict("", 3, None, api_name="/search")
    assert any(c["country"] == "Cambodia" for c in client.predict(api_name="/countries"))


def test_only_the_ask_search_and_countries_endpoints_are_offered_to_scripts(client: Client) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert sorted(endpoints) == ["/ask", "/countries", "/search"]


def test_secrets_never_reach_the_page(app_url: str, engine: Engine) -> None:
    key = engine.settings.openai_api_key.get_secret_value()
    for path in ("", "config", "gradio_api/info"):
        page = httpx.get(app_url + path, timeout=30)
        assert page.status_code == 200
        assert key not in page.text


def test_login_is_required_when_ui_auth_is_set(engine: Engine, serve_with: Callable[[Settings], str]) -> None:
    url = serve_with(engine.settings.model_copy(update={"ui_auth": SecretStr("alice:wonderland")}))
    assert httpx.get(url + "config", timeout=30).status_code == 401
    with pytest.raises(ValueError):
        Client(url, auth=("alice", "wrong"), verbose=False)
    client = Client(url, auth=("alice", "wonderland"), verbose=False)
    assert client.predict("Who won the 2022 FIFA World Cup?", None, api_name="/ask")["abstained"]


def test_docs_limit_the_answer_to_the_named_documents(client: Client) -> None:
    result = client.predict(
        "What was agreed on maritime security?", None, ["Quad Leaders’ Joint Statement"], api_name="/ask"
    )
    assert result["docs"] == ["wh_2023-05-20_quad_leaders_joint_statement.md"]
    assert {hit["doc_id"] for hit in result["retrieved"]} == {"wh_2023-05-20_quad_leaders_joint_statement.md"}
    with pytest.raises(AppError, match="Unknown document 'Narnia'"):
        client.predict("What was agreed?", None, ["Narnia"], api_name="/ask")
