"""Later turns of a conversation: answered from what the conversation was about, unless they change the subject.

The conversations are our own, written from the corpus; none is copied from an eval set.
"""

from __future__ import annotations

import pytest

from rag.engine import Engine
from rag.retrieval.conversation import cited_documents, conversation_text

VIETNAM = "wh_2023-09-11_us_vietnam_comprehensive_strategic_partnership.md"
SPACE = "wh_2024-04-10_united_states_japan_joint_leaders_statement.md"
CORRIDOR = "wh_2024-04-11_japan_philippines_us_joint_vision_statement.md"


def turns(question: str, reply: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": reply}]


CHIPS = turns(
    "What did the US and Vietnam agree on semiconductors?",
    "The two leaders pledged to support the rapid development of Vietnam's semiconductor ecosystem [1].",
)
MOON = turns(
    "What did Biden and Kishida say about space in 2024?",
    "They welcomed a Lunar Surface Exploration Implementing Arrangement [1].\n\nSources:\n"
    "[1] United States-Japan Joint Leaders' Statement",
)
HUN_SEN = turns(
    "What did Biden raise with Hun Sen about human rights?",
    "He urged Hun Sen to reopen civic and political space ahead of the 2023 elections [1].",
)
QUAD_HEALTH = turns(
    "What did the Quad leaders announce on health in 2023?", "They launched the Quad Health Security Partnership [1]."
)


def test_the_conversation_text_is_the_last_exchange_without_its_sources_list() -> None:
    history = [*QUAD_HEALTH, *MOON]
    assert conversation_text(history) == (
        "What did Biden and Kishida say about space in 2024? "
        "They welcomed a Lunar Surface Exploration Implementing Arrangement [1]."
    )
    assert conversation_text(MOON[:1]) == MOON[0]["content"]  # a client that sent no reply yet
    assert conversation_text([]) == ""


def test_a_turn_naming_nothing_is_answered_from_the_conversation(conversation_engine: Engine) -> None:
    # On its own words the turn is too far from every passage; the conversation makes the Quad statement close.
    answer = conversation_engine.ask("who's up next as host?", QUAD_HEALTH)
    assert not answer.abstained and "India will host" in answer.text


def test_a_turn_naming_nothing_is_answered_from_the_conversations_document(conversation_engine: Engine) -> None:
    answer = conversation_engine.ask("when did the leaders meet?", CHIPS)
    assert "September 10, 2023" in answer.text
    assert {c.doc_id for c in answer.citations} == {VIETNAM}
    assert VIETNAM in answer.conversation_docs
    alone = conversation_engine.ask("when did the leaders meet?")  # the same words, no conversation: another meeting
    assert VIETNAM not in {c.doc_id for c in alone.citations}


def test_a_turn_that_keeps_the_subject_stays_in_its_document(conversation_engine: Engine) -> None:
    answer = conversation_engine.ask("what will Japan contribute?", MOON)
    assert answer.citations and {c.doc_id for c in answer.citations} == {SPACE}


def test_a_source_the_turn_names_wins_over_the_conversations(conversation_engine: Engine) -> None:
    # The conversation was about a White House readout; the turn asks the article about the same base.
    answer = conversation_engine.ask("how does the op-ed see that naval base?", HUN_SEN)
    assert "Ream" in answer.text
    assert answer.citations and {c.doc_id for c in answer.citations} == {"diplomatic-overdrive.md"}


def test_a_new_topic_is_not_merged_with_the_conversation(conversation_engine: Engine) -> None:
    question = "Different question: what is the Luzon Economic Corridor?"
    answer = conversation_engine.ask(question, MOON)
    assert answer.search_query == question
    assert "Luzon Economic Corridor" in answer.text and {c.doc_id for c in answer.citations} == {CORRIDOR}


def test_a_follow_up_the_sources_cannot_answer_still_abstains(conversation_engine: Engine) -> None:
    answer = conversation_engine.ask("how much did they spend on the Mars mission?", QUAD_HEALTH)
    assert answer.abstained


@pytest.mark.parametrize(
    "question",
    ["who won the cricket?", "did they mention whaling?", "when is the olympics?", "what did they say about tiktok?"],
)
def test_a_follow_up_about_something_no_source_holds_is_not_vouched_for(
    conversation_engine: Engine, question: str
) -> None:
    # the conversation lifts the similarity floor only for a turn whose words the corpus knows
    assert conversation_engine.ask(question, QUAD_HEALTH).abstained


def test_the_documents_a_sources_list_names_are_the_conversations_whatever_form_it_names_them_in() -> None:
    documents = {
        "notes/harbour-report.md": {"title": "Harbour Report: Ports of the Coral Sea"},
        "wh_2024-02-01_trade_statement.md": {"title": "Joint Trade Statement"},
        "other.md": {"title": "Another Document"},
    }
    said = "The port opened in 2021 [1][2].\n\nSources:\n[1] harbour report (2022)\n[2] wh_2024-02-01_trade_statement"
    history = [{"role": "user", "content": "when did the port open?"}, {"role": "assistant", "content": said}]
    assert set(cited_documents(history, documents)) == {"notes/harbour-report.md", "wh_2024-02-01_trade_statement.md"}
    # The latest list counts, also when later replies carry none; a reply without any gives nothing.
    later = [
        *history,
        {"role": "user", "content": "and who runs it?"},
        {"role": "assistant", "content": "A board [1]."},
    ]
    assert set(cited_documents(later, documents)) == set(cited_documents(history, documents))
    assert cited_documents([{"role": "assistant", "content": "A board [1]."}], documents) == {}


def test_a_follow_up_prefers_the_documents_the_reply_it_follows_cited(make_engine) -> None:
    # Without `conversation`, no conversation documents are retrieved; the reply's "Sources:" list still names MOON's.
    cited = make_engine("extractive", followup_cited=True)
    assert set(cited.query("and who pays for it?", MOON).prefer) == {SPACE}
    assert cited.query("and who pays for it?", CHIPS).prefer == {}
    assert make_engine("extractive").query("and who pays for it?", MOON).prefer == {}  # off by default
