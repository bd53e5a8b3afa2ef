"""The chat handler, called directly: it streams, passes the history on, and shows errors as messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
import pytest

from rag.engine import Engine
from webui.events import Events, new_session


class RecordingEngine:
    """The real engine, with every stream() call's arguments recorded."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.calls: list[tuple[str, list[dict], list[str] | None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(
        self,
        question: str,
        history: list[dict] | None = None,
        countries: list[str] | None = None,
        docs: list[str] | None = None,
    ) -> Iterator:
        self.calls.append((question, [dict(turn) for turn in history or []], countries))
        self.docs = docs
        return self.inner.stream(question, history, countries, docs=docs)


@pytest.fixture
def recorded(engine: Engine) -> tuple[RecordingEngine, Callable]:
    recorder = RecordingEngine(engine)
    return recorder, Events(recorder, engine.settings).respond  # type: ignore[arg-type]


def test_answer_streams_then_renders_with_sources(recorded: tuple[RecordingEngine, Callable]) -> None:
    _, respond = recorded
    steps = list(respond("What did Japan pledge to the Philippines?", [], new_session()))
    streaming = [step[1][-1]["content"] for step in steps[:-1]]
    assert len(streaming) >= 2 and all('class="answer streaming"' in html for html in streaming)
    textbox, chat, sources, session = steps[-1]
    assert steps[0][0] == "" and textbox == gr.skip()  # the box is cleared as soon as the question is taken
    assert chat[-1]["role"] == "assistant" and '<a class="cite" href="#src-1-' in chat[-1]["content"]
    assert 'id="src-1-1"' in sources and '<mark id="src-1-1-q0">' in sources
    assert session["turn"] == 1 and len(session["history"]) == 2


def test_follow_up_question_gets_the_plain_text_history(recorded: tuple[RecordingEngine, Callable]) -> None:
    recorder, respond = recorded
    first = "What did Japan pledge to the Philippines?"
    session = list(respond(first, [], new_session()))[-1][3]
    *_, (_, chat, sources, session) = respond("And what about Vietnam?", ["Vietnam"], session)

    question, history, countries = recorder.calls[-1]
    assert question == "And what about Vietnam?" and countries == ["Vietnam"]
    assert [turn["role"] for turn in history] == ["user", "assistant"]
    assert history[0]["content"] == first
    assert "<" not in history[1]["content"] and "[1]" in history[1]["content"]  # the answer text, not our HTML
    assert len(chat) == 4 and sources.index('id="turn-2"') < sources.index('id="turn-1"')  # newest first


def test_errors_show_as_a_message_and_leave_the_history_alone(recorded: tuple[RecordingEngine, Callable]) -> None:
    _, respond = recorded
    *_, (_, chat, sources, session) = respond("What did Japan pledge?", ["Narnia"], new_session())
    assert 'class="error"' in chat[-1]["content"] and "Unknown country or grouping" in chat[-1]["content"]
    assert "Traceback" not in chat[-1]["content"]
    assert session["history"] == [] and sources == gr.skip()  # the source panel is left as it was


def test_document_focus_limits_the_answer_to_those_documents(recorded: tuple[RecordingEngine, Callable]) -> None:
    recorder, respond = recorded
    quad = "wh_2023-05-20_quad_leaders_joint_statement.md"
    *_, (_, chat, sources, _) = respond("What was agreed on maritime security?", [], new_session(), [quad])
    assert recorder.docs == [quad]
    assert 'class="answer' in chat[-1]["content"] and "Quad Leaders" in sources
