"""Later turns of a conversation: the slot an "and X?" takes, who "they" are, what "that corridor" is."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rag.answering.condense import Rules, condense_question, person_named
from rag.profile import load_profile
from rag.settings import Settings
from tests.conftest import CORPUS

ACTORS = load_profile(CORPUS / "profile.yaml").actors


def turns(*said: str) -> list[dict[str, str]]:
    """A history of alternating user and assistant turns."""
    return [{"role": ("user", "assistant")[i % 2], "content": text} for i, text in enumerate(said)]


def test_and_x_takes_the_topic_between_which_and_its_noun() -> None:
    history = turns("Which naval exercise did Japan and India hold?", "JIMEX [1].")
    assert condense_question("and cyber?", history, ACTORS) == "Which cyber exercise did Japan and India hold?"
    old = condense_question("and cyber?", history, ACTORS, rules=Rules(slot=False))
    assert old == "Which naval exercise did Japan and India hold about cyber?"


def test_and_x_replaces_a_topic_asked_without_a_question_mark() -> None:
    history = turns("what did japan and vietnam sign on port calls", "An agreement [1].")
    asked = condense_question("what about cyber security?", history, ACTORS)
    assert asked == "what did japan and vietnam sign about cyber security?"


def test_and_x_keeps_a_question_whose_words_before_the_verb_are_no_topic() -> None:
    history = turns("What did they do in Hanoi?", "They met [1].")
    assert (
        condense_question("and semiconductors?", history, ACTORS) == "What did they do in Hanoi about semiconductors?"
    )


def test_that_noun_is_the_name_the_last_answer_gave_with_or_without_its_sources_list() -> None:
    answer = "They launched the Luzon Economic Corridor [1]."
    for reply in (answer, f"{answer}\n\nSources:\n[1] Joint Vision Statement"):
        history = turns("What did the three leaders launch in April 2024?", reply)
        asked = condense_question("Who will pay for that corridor?", history, ACTORS)
        assert asked == "Who will pay for Luzon Economic Corridor?"


def test_that_noun_two_names_could_mean_is_read_with_the_earlier_question() -> None:
    history = turns("What did Japan agree with Thailand?", "A Defence Equipment Agreement and a Trade Agreement [1].")
    asked = condense_question("When was that agreement signed?", history, ACTORS)
    assert asked == "When was that agreement signed? What did Japan agree with Thailand?"


def test_a_turn_that_points_back_without_a_pronoun_is_read_with_the_conversation() -> None:
    history = turns("Where did the Quad leaders meet in 2023?", "In Hiroshima [1].")
    asked = condense_question("who is chairing the next one?", history, ACTORS)
    assert asked == "who is chairing the next one? Where did the Quad leaders meet in 2023?"
    assert condense_question("who is chairing the next one?", history, ACTORS, rules=Rules(refers=False)) == (
        "who is chairing the next one?"
    )


def test_the_follow_up_rules_are_the_settings_switches() -> None:
    assert Rules.from_settings(Settings(followup_slot=False, followup_refers=False)) == Rules(slot=False, refers=False)


def test_they_is_read_with_the_earlier_question_not_replaced_by_the_country_it_named() -> None:
    # "they" may be either side (or the people the answer named): the earlier question, glued on, keeps both.
    history = turns("How much did Japan pledge to the Philippines?", "JPY 600 billion [1].")
    asked = condense_question("did they actually deliver it?", history, ACTORS)
    assert asked == "did they actually deliver it? How much did Japan pledge to the Philippines?"
    old = condense_question("did they actually deliver it?", history, ACTORS, rules=Rules(they_glued=False))
    assert old == "did Philippines actually deliver it? How much did Japan pledge to the Philippines?"


def test_a_turn_typed_without_a_question_mark_is_not_carried_into_the_next_turn() -> None:
    history = turns(
        "which ministers met in Canberra in march 2024",
        "The foreign and defence ministers [1].",
        "what did they agree on cyber defence",
        "A joint working group [1].",
    )
    asked = condense_question("when will they meet next", history, ACTORS)
    assert asked == "when will they meet next? which ministers met in Canberra in march 2024"
    old = condense_question("when will they meet next", history, ACTORS, rules=Rules(ended=False))
    assert (
        old
        == "when will they meet next what did they agree on cyber defence which ministers met in Canberra in march 2024"
    )


def test_there_is_the_earlier_event_when_the_turn_names_the_country_itself() -> None:
    history = turns("when did Biden visit Cambodia?", "In November 2022 [1].")
    asked = condense_question("who hosted him there for cambodia?", history, ACTORS)
    assert "in Cambodia for" not in asked and asked.endswith("when did Biden visit Cambodia?")
    alone = condense_question("any bases there?", history, ACTORS)
    assert "in Cambodia" in alone
    # A country named beside "there" that is not the one "there" stands for leaves it to be resolved.
    assert "in Cambodia" in condense_question("did Chinese firms invest there?", history, ACTORS)


def test_and_x_after_a_follow_up_takes_that_turns_topic_with_or_without_its_sources_list() -> None:
    reply = "An investment forum [1]."
    for answer in (reply, f"{reply}\n\nSources:\n[1] U.S.-Malaysia Joint Statement (2023-03-02)"):
        history = turns(
            "when did the US and Malaysia sign their partnership?",
            "In March 2023 [1].",
            "what did they decide on trade",
            answer,
        )
        rules = Rules.from_settings(Settings())
        asked = condense_question("and about fisheries?", history, ACTORS, rules=rules)
        assert asked == "what did they decide about fisheries? when did the US and Malaysia sign their partnership?"
        old = condense_question("and fisheries?", history, ACTORS, rules=replace(rules, last_turn=False))
        assert old == "when did the US and Malaysia sign their partnership about fisheries?"


def test_a_turn_that_asks_its_own_question_after_a_follow_up_drops_that_turns_words() -> None:
    history = turns("what is the Quad?", "A group of four [1].", "where did they meet in 2023", "Hiroshima [1].")
    assert condense_question("who hosted it?", history, ACTORS) == "who hosted it? what is the Quad?"


# Words a corpus writes in lower case too: "Minister" is a title, "Naval"/"Base" make a thing's name.
COMMON = {"minister", "foreign", "naval", "base", "diplomatic", "pacific", "forum"}


def test_he_is_the_leader_the_last_answer_named_with_or_without_its_sources_list() -> None:
    answer = "Prayut Chan-o-cha, at the APEC meeting [1]."
    listed = "Sources: [1] Diplomatic Overdrive"
    for reply in (answer, f"{answer}\n\n{listed}".replace(": ", ":\n"), f"{answer} {listed}"):
        history = turns("Who hosted the 2022 APEC leaders?", reply)
        asked = condense_question("did he meet Kishida there?", history, ACTORS, common=COMMON)
        assert asked.startswith("did Prayut Chan-o-cha meet Kishida there? ")
        unresolved = condense_question("did he meet Kishida there?", history, ACTORS, rules=Rules(person=False))
        assert "Prayut" not in unresolved


def test_she_is_a_titled_name_from_an_earlier_answer_when_the_last_names_nobody() -> None:
    history = turns(
        "Who spoke for Australia at the forum?",
        "Foreign Minister Penny Wong [1].",
        "when was that?",
        "In July 2023 [1].",
    )
    asked = condense_question("What did she say about her visit to Tonga?", history, ACTORS, common=COMMON)
    assert asked.startswith("What did Penny Wong say about Penny Wong's visit to Tonga?")


def test_a_things_name_is_no_person_for_he() -> None:
    history = turns("What did Biden raise with Hun Sen?", "Concerns about Ream Naval Base [1].")
    asked = condense_question("what did he want to know?", history, ACTORS, common=COMMON)
    assert asked.startswith("what did Hun Sen want to know?")


def test_she_in_a_conversation_about_the_author_is_still_the_author() -> None:
    history = turns("Did Minister Kenji Sato reply to it?", "No [1].", "Who wrote the op-ed?", "Mira Holt [1].")
    asked = condense_question("what does she say about Japan?", history, ACTORS, ["Mira Holt"], common=COMMON)
    assert "the author" in asked


def test_he_is_not_the_person_the_question_itself_names() -> None:
    history = turns("Who visited Washington in April?", "Prime Minister Kishida made an official visit [1].")
    # The last answer named Kishida, but so does the question: "he" is someone else, left as typed.
    asked = condense_question("did he meet Kishida there?", history, ACTORS, common=COMMON)
    assert "Kishida meet Kishida" not in asked and asked.startswith("did he meet Kishida")
    assert condense_question("did he meet Biden?", history, ACTORS, common=COMMON).startswith("did Kishida meet Biden")


@pytest.mark.parametrize("opening", ["Did", "Tell me whether", "Does"])
def test_a_titled_name_after_a_question_word_is_a_person(opening: str) -> None:
    assert person_named(f"{opening} Minister Wong attend?", COMMON) == "Wong"
