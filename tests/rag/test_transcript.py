"""A conversation exported as Markdown (every citation, title, URL and quoted span) and as JSON (the Answers)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from rag.answer import Answer
from rag.engine import Engine
from rag.serving.cli import main
from rag.serving.json_forms import answer_from_json, answer_json
from rag.transcript import to_json, to_markdown

WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


@pytest.fixture(scope="module")
def conversation(extractive_engine: Engine) -> list[Answer]:
    """A question and a follow-up, answered with citations."""
    first = extractive_engine.ask("What did Japan sign with Thailand?")
    history = [{"role": "user", "content": first.question}, {"role": "assistant", "content": first.text}]
    return [first, extractive_engine.ask("And with Vietnam?", history)]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_markdown_holds_every_quote_with_its_title_url_and_offsets(conversation: list[Answer]) -> None:
    markdown = flat(to_markdown(conversation, when=WHEN))
    assert all(answer.citations for answer in conversation)
    for number, answer in enumerate(conversation, start=1):
        assert f"## {number}. {answer.question}" in markdown
        assert flat(answer.text) in markdown
        for citation in answer.citations:
            title = flat(citation.title)
            assert (f"[{title}]({citation.url})" if citation.url else f"** {title} ({citation.date})") in markdown
            for quote in citation.quotes:
                where = f"({citation.doc_id}, characters {quote.quote_start}–{quote.quote_end})"
                assert f"“{flat(quote.quote)}” {where}" in markdown
    assert "*Answered as:* What did Japan sign with Vietnam?" in markdown


def test_markdown_from_the_browsers_stored_dicts_is_the_same(conversation: list[Answer]) -> None:
    stored = json.loads(json.dumps([answer_json(answer) for answer in conversation]))
    assert to_markdown(stored, when=WHEN) == to_markdown(conversation, when=WHEN)


def test_json_export_is_the_answers_as_rag_ask_json_prints_them(conversation: list[Answer]) -> None:
    exported = json.loads(to_json(conversation))
    assert exported == json.loads(json.dumps([answer_json(answer) for answer in conversation]))
    assert exported[1]["standalone_question"] == "What did Japan sign with Vietnam?"


def test_rag_chat_save_writes_markdown_and_json(corpus_store, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("RAG_STORE_DIR", str(corpus_store.settings.store_dir))
    monkeypatch.setenv("RAG_LLM_BACKEND", "extractive")
    script = f"/save {tmp_path}/early.md\nWhat did Japan sign with Thailand?\n/save {tmp_path}/chat.md\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(script + f"/save {tmp_path}/chat.json\n/save\n"))
    assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "Nothing to save yet" in out and not (tmp_path / "early.md").exists()
    assert f"Saved 1 answer with their sources to {tmp_path}/chat.md." in out
    assert "Usage: /save FILE" in out
    (answer,) = json.loads((tmp_path / "chat.json").read_text())
    markdown = flat((tmp_path / "chat.md").read_text())
    assert answer["citations"] and all(flat(c["quote"]) in markdown for c in answer["citations"])


def test_an_answer_comes_back_whole_from_its_saved_form(conversation: list[Answer]) -> None:
    for answer in conversation:
        saved = json.loads(json.dumps(answer_json(answer)))
        restored = answer_from_json(saved)
        assert restored.citations[0].quotes[0].quote == answer.citations[0].quotes[0].quote
        assert json.loads(json.dumps(answer_json(restored))) == saved
