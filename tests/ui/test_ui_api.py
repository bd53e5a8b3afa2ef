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


def test_only_the_ask_endpoint_is_offered_to_scripts(client: Client) -> None:
    assert list(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == ["/ask"]


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
