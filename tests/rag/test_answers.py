"""Answers shaped to the question: shapes, multi-part questions, follow-ups end to end, one quote per claim."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from ingest.countries import find_countries
from rag.answering.condense import condense_question
from rag.answering.extractive import CONNECTIVE
from rag.answering.llm import LLMWriter
from rag.answering.shapes import classify, comparison_entities, split_parts
from rag.engine import Engine
from rag.profile import load_profile
from rag.serving.json_forms import answer_json
from testkit.answers import assert_every_quote_is_its_claim
from testkit.cli import run_rag
from tests.conftest import CORPUS

PROFILE = load_profile(CORPUS / "profile.yaml")
ACTORS, SUBJECT = PROFILE.actors, PROFILE.subject

THAILAND = [
    {"role": "user", "content": "What did Japan sign with Thailand?"},
    {"role": "assistant", "content": "Japan signed an agreement with Thailand on defence hardware [1]."},
]


@pytest.mark.parametrize(
    ("question", "shape"),
    [
        ("How much did Japan pledge to the Philippines, and by when?", "fact"),
        ("Which countries has Japan signed defence agreements with?", "list"),
        ("Name the regions FOIP focuses on.", "list"),
        ("What is Japan doing with Indonesia?", "overview"),
        ("Tell me about the Quad.", "overview"),
        ("Japan-Vietnam relations", "overview"),
        ("How do Japan's ties with Thailand and Cambodia differ?", "comparison"),
        ("Compare India and Australia as Japan's partners.", "comparison"),
        ("Thailand vs Indonesia: what has Japan done with each?", "comparison"),
        ("Why are Japan's outreach efforts towards Vietnam dismal?", "reason"),
        ("What explains ASEAN's changed outlook?", "reason"),
        ("Did the US upgrade its relationship with Vietnam in 2023?", "yesno"),
        # everyday phrasings (issue 21): what a reader types, not what an eval set tuned
        ("what's Canberra up to in the Pacific?", "overview"),
        ("what is going on with Japan and Thailand", "overview"),
        ("give me the gist of the vision statement", "overview"),
        ("How do Indonesia and Vietnam each see China?", "comparison"),
        ("What changed between the 2023 and 2024 statements on Taiwan?", "comparison"),
        ("How many ships did each country send?", "fact"),
    ],
)
def test_questions_are_classified_by_shape(question: str, shape: str) -> None:
    assert classify(question) == shape


def test_multi_part_question_is_split_into_standalone_parts() -> None:
    assert split_parts("What did Japan agree with the US, and with Italy?") == [
        "What did Japan agree with the US?",
        "What did Japan agree with Italy?",
    ]
    assert split_parts("What did Japan pledge to the Philippines, and what did it sign with Thailand?") == [
        "What did Japan pledge to the Philippines?",
        "what did it sign with Thailand?",
    ]


def test_two_asked_facts_of_one_question_are_not_split() -> None:
    question = "How much did Japan pledge to the Philippines, and by when?"
    assert split_parts(question) == [question]


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        ("How do Japan's ties with Thailand and Cambodia differ?", ["Thailand", "Cambodia"]),
        ("How does China's approach to the Pacific Islands differ from Japan's?", ["China", "Japan"]),
        ("How do the US treaty commitments to Japan and to the Philippines differ?", ["Japan", "Philippines"]),
        ("Compare Japan's economic and military support to the Philippines.", []),
    ],
)
def test_comparison_sides_are_the_compared_countries_not_the_actor(question: str, sides: list[str]) -> None:
    assert comparison_entities(question, SUBJECT) == sides


def test_country_follow_up_becomes_the_earlier_question_about_the_new_country() -> None:
    assert condense_question("And with Vietnam?", THAILAND, ACTORS) == "What did Japan sign with Vietnam?"


def test_pronoun_follow_up_names_the_earlier_topic() -> None:
    history = [{"role": "user", "content": "What is happening at Ream Naval Base?"}]
    assert (
        condense_question("What did Biden say about it?", history, ACTORS)
        == "What did Biden say about Ream Naval Base?"
    )


def test_an_event_named_only_as_the_visit_is_read_with_the_earlier_question() -> None:
    history = [{"role": "user", "content": "What did Vietnam's leader do in China?"}]
    condensed = condense_question("How many agreements were signed during the visit?", history, ACTORS)
    assert condensed == "How many agreements were signed during the visit? What did Vietnam's leader do in China?"
    assert condense_question("Who attended the summit in Hiroshima?", history, ACTORS).endswith(
        "Hiroshima?"
    )  # names its own


def test_follow_up_and_with_vietnam_answers_with_japans_agreements_with_vietnam(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("And with Vietnam?", history=THAILAND)
    assert answer.search_query == "What did Japan sign with Vietnam?"
    assert answer_json(answer)["standalone_question"] == "What did Japan sign with Vietnam?"
    assert not answer.abstained
    assert "Japan and Vietnam have come together on several defence and security arrangements" in answer.text
    assert_every_quote_is_its_claim(answer, extractive_engine)


def test_follow_up_about_it_selects_the_sentence_that_answers_it(extractive_engine: Engine) -> None:
    history = [{"role": "user", "content": "What is happening at Ream Naval Base?"}]
    answer = extractive_engine.ask("What did Biden say about it?", history=history)
    assert "full transparency about activities by the PRC military at Ream Naval Base" in " ".join(answer.text.split())


def test_comparison_answers_in_one_labelled_part_per_country(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("How do Japan's ties with Thailand and Cambodia differ?")
    assert answer.shape == "comparison"
    parts = dict(re.findall(r"^(Thailand|Cambodia):\n((?:- .*\n?)+)", answer.text, re.M))
    assert set(parts) == {"Thailand", "Cambodia"}
    cited = {c.n: c for c in answer.citations}
    for country, body in parts.items():
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", body)]
        assert numbers
        assert all(country in find_countries(cited[n].chunk_text) for n in numbers)
    assert_every_quote_is_its_claim(answer, extractive_engine)


def test_list_question_answers_with_a_cited_bullet_per_country(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("Which countries has Japan signed defence agreements with?")
    assert answer.shape == "list"
    bullets = answer.text.splitlines()
    assert len(bullets) >= 3
    assert all(line.startswith("- ") and re.search(r"\[\d+\]", line) for line in bullets)
    named = set(find_countries(answer.text))
    assert {"Thailand", "Vietnam"} <= named
    assert_every_quote_is_its_claim(answer, extractive_engine)


def test_overview_groups_the_article_apart_from_the_statements(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("Tell me about the US-Japan alliance.")
    assert answer.shape == "overview"
    assert answer.text.splitlines()[0].startswith(("- ", "What the article argues:", "What the statements record:"))
    dates = re.findall(r"^- (\d{4}-\d\d-\d\d): ", answer.text, re.M)
    assert dates == sorted(dates)
    assert_every_quote_is_its_claim(answer, extractive_engine)


def test_leading_connective_is_cut_and_the_quote_moves_with_it(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask(
        "What did Japan and the Philippines sign on humanitarian assistance and disaster relief?"
    )
    assert "Japan and the Philippines signed a ‘terms of reference’" in answer.text
    assert not any(CONNECTIVE.match(q.quote) for c in answer.citations for q in c.quotes)
    assert "Moreover, Japan and the Philippines signed" not in answer.text
    assert_every_quote_is_its_claim(answer, extractive_engine)


def test_sentence_about_both_the_countries_is_shown_with_who_they_are(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What agreements has Japan signed?", countries=["Viet Nam"])
    text = " ".join(answer.text.split())
    assert "13 cooperative agreements were signed by both the countries" in text, text
    before = text[: text.index("13 cooperative agreements")]
    assert "visit China" in before[-400:] or "(Vietnam" in before[-60:]  # the sentence before, or a tag


def test_multi_part_question_answers_each_part(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What did Japan agree with the US, and with Italy?")
    assert answer.parts == ["What did Japan agree with the US?", "What did Japan agree with Italy?"]
    assert "What did Japan agree with Italy?\n" in answer.text
    assert "strategic partnership" in answer.text
    assert_every_quote_is_its_claim(answer, extractive_engine)


class UnsupportedModel(LLMWriter):
    """A backend whose every sentence the sources don't support: the fault the stand-in exists for."""

    backend, model, compact_prompt = "local", "fake-unsupported", True

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        yield "The moon is made of green cheese according to every treaty [1]. Penguins signed it in 1802 [2]."


def test_wholly_unsupported_model_answer_is_replaced_by_the_extractive_one(make_engine) -> None:
    engine = make_engine("extractive")
    engine._chat_model, engine.backend, engine.model = UnsupportedModel(), "local", "fake-unsupported"
    answer = engine.ask("How much did Japan pledge to the Philippines, and by when?")
    assert "600 billion" in answer.text and "cheese" not in answer.text
    assert "local" in answer.note
    assert answer.unsupported_sentences == []
    assert_every_quote_is_its_claim(answer, engine)


@pytest.mark.slow
def test_rag_chat_reads_questions_from_a_pipe_and_keeps_the_conversation(
    corpus_store, rag_env, rag_command, repo_root
) -> None:
    env = rag_env(RAG_STORE_DIR=corpus_store.settings.store_dir, RAG_LLM_BACKEND="extractive")
    questions = "What did Japan sign with Thailand?\nAnd with Vietnam?\n/quit\n"
    run = run_rag([*rag_command, "chat"], env, repo_root, timeout=300, input=questions)
    assert run.returncode == 0, run.stderr
    first, second = run.stdout.split("> And with Vietnam?")
    assert "transfer of defence hardware and technology from Japan to Thailand" in " ".join(first.split())
    assert "Sources:" in first and "Sources:" in second
    assert "Japan and Vietnam have come together" in " ".join(second.split())
    assert "(answered as: What did Japan sign with Vietnam?)" in second


@pytest.mark.slow
def test_rag_ask_json_returns_the_standalone_question(corpus_store, rag_env, rag_command, repo_root) -> None:
    env = rag_env(RAG_STORE_DIR=corpus_store.settings.store_dir, RAG_LLM_BACKEND="extractive")
    question = "Which countries has Japan signed Reciprocal Access Agreements with?"
    run = run_rag([*rag_command, "ask", question, "--json"], env, repo_root, timeout=300)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["standalone_question"] == data["question"]
    assert data["shape"] == "list"
    assert all(q["claim"] and q["quote"] for c in data["citations"] for q in c["quotes"])
