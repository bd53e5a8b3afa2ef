"""Answers that hold on wording nobody tuned for: spellings, typos, capitals, pronouns, citation order.

Each case is one member of a class the blind set measures; none is copied from an eval set.
"""

from __future__ import annotations

import re

import pytest

from rag.answering.abstain import missing_detail
from rag.answering.citations import renumber
from rag.answering.condense import Rules, condense_question
from rag.answering.details import asked_anywhere, asked_details
from rag.answering.extractive import _Candidate, _cite, _claim, _cut_at_edge, _lead, _line, shared_terms
from rag.engine import Engine
from rag.retrieval.conversation import without_sources
from rag.retrieval.scope import exact_matches, question_names
from rag.retrieval.wording import (
    Vocabulary,
    corpus_names,
    derived_in,
    edits,
    named_in,
    spells_out,
    with_country_names,
)
from rag.storage.records import Chunk, Hit

ACTORS = frozenset({"Japan", "China", "United States"})
TEXT = (
    "Japan pledged support to the Philippines. The Philippines and Vietnam met in Manila. "
    "Their defence programme grew. Officials from the Philippines, Vietnam and Indonesia spoke in Jakarta "
    "and in Manila. Talks with Indonesia went on in Jakarta. North Korea launched missiles; North Korea was condemned. "
    "Officials briefed the Police in Manila, and the Police agreed."
)


@pytest.fixture(scope="module")
def vocabulary() -> Vocabulary:
    return Vocabulary.from_texts([TEXT])


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("What did Japan pledge to the Phillipines?", "What did Japan pledge to the Philippines?"),  # two slips
        ("Vietnan and Indoneisa", "Vietnam and Indonesia"),  # a wrong letter; two letters swapped
        ("the defense program", "the defence programme"),  # American spelling of a British source
        ("what happened in jakarta in Apr 2024?", "what happened in Jakarta in April 2024?"),
        ("the US-PH treaty", "the US-Philippines treaty"),  # a country code, not a word of the corpus
    ],
)
def test_a_question_is_read_in_the_corpus_words(vocabulary: Vocabulary, typed: str, meant: str) -> None:
    assert vocabulary.normalize(typed) == meant


@pytest.mark.parametrize(
    "question",
    [
        "What was the trade worth?",
        "What is the plan in May?",
        "What did Kishida say on TV?",  # a two-letter word in capitals is a country code only beside a country
        "what did the coast guard tell the police?",  # only places take the capital the sources give them
    ],
)
def test_words_that_are_no_slip_stay_as_typed(vocabulary: Vocabulary, question: str) -> None:
    # "worth" is one letter from "North", but slips rarely hit the first letter.
    assert vocabulary.normalize(question) == question


def test_edits_counts_a_swap_of_neighbours_as_one() -> None:
    assert edits("indoneisa", "indonesia", 2) == 1
    assert edits("phillipines", "philippines", 2) == 2
    assert edits("abc", "xyz", 1) == 2  # past the limit: limit + 1


def test_an_acronym_counts_as_named_where_its_words_are() -> None:
    assert spells_out("SCS", "tensions in the South China Sea grew")
    assert spells_out("FDI", "nearly $800 billion in foreign direct investment (FDI)")
    assert spells_out("HADR", "Humanitarian Assistance and Disaster Relief activities")
    # initials of words that merely sit side by side spell nothing
    assert not spells_out("ICC", "Indonesia, Cambodia, China and issues of common concern")


def test_a_capital_carries_its_country_and_a_leader_does_not() -> None:
    assert with_country_names("What did Kishida do in Manila?") == "What did Kishida do in Manila (Philippines)?"
    assert with_country_names("Hanoi and Washington") == "Hanoi (Vietnam) and Washington (United States)"
    # a longer name is no place, and a country said already is not said twice
    assert (
        with_country_names("the Washington Post in Canberra (Australia)")
        == "the Washington Post in Canberra (Australia)"
    )


AUTHOR_TURNS = [
    {"role": "user", "content": "Who wrote Diplomatic Overdrive?"},
    {"role": "assistant", "content": "Natasha Agarwal [1].\n\nSources:\n[1] Diplomatic Overdrive"},
]
COUNTRY_TURNS = [
    {"role": "user", "content": "What did the US and Indonesia agree on in November 2023?"},
    {"role": "assistant", "content": "A Comprehensive Strategic Partnership [1]."},
]


def test_she_is_the_author_the_conversation_named() -> None:
    asked = condense_question("What does she think of Thailand?", AUTHOR_TURNS, ACTORS, ["Natasha Agarwal"])
    assert asked == "What does the author think of Thailand?"


def test_they_is_both_sides_of_the_earlier_question_not_only_its_non_actor_country() -> None:
    asked = condense_question("What did they say about critical minerals?", COUNTRY_TURNS, ACTORS)
    assert asked == (
        "What did they say about critical minerals? What did the US and Indonesia agree on in November 2023?"
    )
    old = condense_question(
        "What did they say about critical minerals?", COUNTRY_TURNS, ACTORS, rules=Rules(they_glued=False)
    )
    assert old == "What did Indonesia say about critical minerals?"


def test_and_x_goes_into_the_earlier_question_and_replaces_an_earlier_and_y() -> None:
    turns = [*COUNTRY_TURNS, {"role": "user", "content": "and on climate?"}, {"role": "assistant", "content": "..."}]
    asked = condense_question("and on health?", turns, ACTORS)
    assert asked == "What did the US and Indonesia agree on in November 2023 about health?"


def test_a_follow_up_about_the_author_stands_alone() -> None:
    asked = condense_question("And what does she think of Japan?", AUTHOR_TURNS[:1], ACTORS, ["Natasha Agarwal"])
    assert asked == "What does the author think of Japan?"  # not glued to "Who wrote...?", which a byline answers


def test_and_a_main_actor_takes_the_other_actors_place() -> None:
    turns = [{"role": "user", "content": "What did Japan pledge to the Philippines?"}]
    assert condense_question("And the US?", turns, ACTORS) == "What did the United States pledge to the Philippines?"


def test_and_a_date_is_no_topic_added_to_the_earlier_question() -> None:
    asked = condense_question("and in 2022?", COUNTRY_TURNS, ACTORS)
    assert "about 2022" not in asked and asked.startswith("and in 2022?")


def test_a_new_topic_takes_the_place_of_the_earlier_one() -> None:
    turns = [{"role": "user", "content": "What did the US and Indonesia say about the South China Sea?"}]
    assert condense_question("and on health?", turns, ACTORS) == "What did the US and Indonesia say about health?"


def test_there_is_the_country_asked_of_and_a_named_subject_is_its_own() -> None:
    turns = [{"role": "user", "content": "What did Japan agree with Vietnam?"}]
    assert condense_question("Were firms interested there?", turns, ACTORS) == "Were firms interested in Vietnam?"
    asked = condense_question("and what about India, did it sign too?", turns, ACTORS)
    assert asked == "Did India sign too?"


def test_what_about_x_replaces_a_topic_typed_without_a_question_mark() -> None:
    turns = [{"role": "user", "content": "what did the US and Vietnam say about semiconductors"}]
    asked = condense_question("what about coal?", turns, ACTORS, rules=Rules(slot=False))
    assert asked == "what did the US and Vietnam say about coal?"
    old = condense_question("what about coal?", turns, ACTORS, rules=Rules(slot=False, topic_unended=False))
    assert old == "what did the US and Vietnam say about semiconductors about coal?"


def test_a_topic_that_names_the_conversations_country_is_kept() -> None:
    turns = [{"role": "user", "content": "tell me about Boeing's Indonesia plan"}]
    asked = condense_question("and Lockheed?", turns, ACTORS, rules=Rules(slot=False))
    assert "Indonesia" in asked and "Lockheed" in asked


def test_a_country_asked_about_is_no_new_subject() -> None:
    turns = [{"role": "user", "content": "What did the Quad leaders agree in Sydney?"}]
    for turn in ("did they talk about Cambodia?", "and what did they say regarding Laos?"):
        assert condense_question(turn, turns, ACTORS) == f"{turn} What did the Quad leaders agree in Sydney?"
    old = condense_question("did they talk about Cambodia?", turns, ACTORS, rules=Rules(country_topic=False))
    assert "Quad" not in old


def test_a_sources_list_sent_back_with_a_reply_is_not_part_of_it() -> None:
    assert without_sources(AUTHOR_TURNS[1]["content"]) == "Natasha Agarwal [1]."


def test_markers_run_from_one_in_the_order_shown(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What did Japan and the Philippines agree on maritime security?")
    shown = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
    assert shown and list(dict.fromkeys(shown)) == list(range(1, len(set(shown)) + 1))
    assert [c.n for c in answer.citations] == sorted(set(shown))


def test_renumber_keeps_each_marker_on_its_citation(extractive_engine: Engine) -> None:
    from dataclasses import replace

    first, second = extractive_engine.ask("What is the Quad doing on maritime security?").citations[:2]
    text, citations = renumber("A [7]. B [3]. C [7].", [replace(first, n=3), replace(second, n=7)])
    assert text == "A [1]. B [2]. C [1]."
    assert [(c.n, c.quote) for c in citations] == [(1, second.quote), (2, first.quote)]
    text, _ = renumber("A source's own footnote [12] stays [3].", [replace(first, n=3)])
    assert text == "A source's own footnote [12] stays [1]."


def test_a_shown_sentence_is_capitalised_and_never_cut_at_a_chunk_edge() -> None:
    assert _cite("that counts too.", 2) == "That counts too [2]."
    chunk = "Start here. The last sentence runs off the chunk, including"
    assert _cut_at_edge(chunk, chunk.index("The"), len(chunk))
    assert not _cut_at_edge(chunk, 0, chunk.index("The"))
    assert _cut_at_edge("part of a sentence. Then more.", 0, 20)


def test_an_amount_asked_in_a_currency_needs_that_currency() -> None:
    question = "What is the 600 billion yen pledge worth in US dollars?"
    assert [d.name for d in asked_details(question)] == ["the amount"]
    assert missing_detail(question, ["Japan pledged JPY 600 billion."], _all(1)) is not None
    assert missing_detail(question, ["The 600 billion yen pledge is worth $4 billion."], _all(1)) is None
    assert [d.name for d in asked_details("What exact date was it signed?")] == ["the date"]
    assert asked_details("Was the deal worth it for Japan?") == []


def _all(n: int):
    import numpy as np

    return np.ones(n, dtype=bool)


def test_a_paraphrased_amount_question_is_answered_not_refused(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("How much money did Tokyo promise Manila?")
    assert not answer.abstained
    assert "600 billion" in answer.text


def test_a_misspelt_country_still_finds_its_passages(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("what did japan sign with the phillipines on disaster relief")
    assert not answer.abstained
    assert "Philippines" in answer.search_query
    assert any("Philippines" in c.quote for c in answer.citations)


def test_an_amount_in_another_currency_is_not_claimed(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("How many US dollars did Japan pledge to the Philippines?")
    assert answer.abstained and answer.text == "The sources don't give the amount."


def test_the_author_follow_up_is_answered_from_the_article(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What does she say about Cambodia?", AUTHOR_TURNS)
    assert answer.search_query == "What does the author say about Cambodia?"
    assert answer.citations and all(c.doc_id == "diplomatic-overdrive.md" for c in answer.citations)


def test_a_new_topic_after_a_conversation_is_asked_on_its_own(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What is the Quad Fellowship?", COUNTRY_TURNS)
    assert answer.search_query == "What is the Quad Fellowship?"


@pytest.mark.parametrize(
    "question",
    [
        "How do the op-ed and the White House each frame the Ream Naval Base?",
        "How does the article's take on Thailand compare with the White House's?",
    ],
)
def test_a_comparison_of_two_sources_answers_from_each(extractive_engine: Engine, question: str) -> None:
    answer = extractive_engine.ask(question)
    assert "The article:" in answer.text and "White House documents:" in answer.text
    cited = {c.doc_id for c in answer.citations}
    assert "diplomatic-overdrive.md" in cited and any(d.startswith("wh_") for d in cited)


def test_a_comparison_of_two_dated_statements_answers_from_each(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask(
        "How do the January 2023 and April 2024 joint statements each describe the alliance?"
    )
    assert not answer.abstained
    dates = {c.date[:7] for c in answer.citations}
    assert {"2023-01", "2024-04"} <= dates


@pytest.mark.parametrize(
    "question",
    [
        "What should Japan keep in mind when it reaches out to smaller countries, according to the writer?",
        "What does the article say China offers countries when it builds partnerships?",
    ],
)
def test_when_as_a_conjunction_asks_for_no_date(extractive_engine: Engine, question: str) -> None:
    assert asked_anywhere(question) == []
    answer = extractive_engine.ask(question)
    assert not answer.abstained and answer.citations


def test_a_second_clause_asks_too_but_an_earlier_turn_glued_on_does_not() -> None:
    assert "the date" in [d.name for d in asked_anywhere("When did the three advisers first meet, and where?")]
    assert [d.name for d in asked_anywhere("how many sites? when was the agreement signed?")] == ["the number"]
    assert asked_details("Who wrote the op-ed and what's her background?") == []  # two questions


@pytest.mark.parametrize(
    ("acronym", "text", "named"),
    [
        ("FDI", "nearly $800 billion in foreign direct investment", True),
        ("HADR", "a pact on humanitarian assistance and disaster relief activities", True),
        ("EEZ", "lies within the Philippines’ exclusive economic zone", True),
        ("Southeast", "countries in the South East Asian region", True),
        ("WTO", "agreed with the other members", False),
        ("Sato", "members at one", False),
        ("Indopacific", "the Indo-Pacific region", True),
        ("ICC", "issues of common concern", False),
        ("FDI", "funds for direct investment", False),
    ],
)
def test_a_name_is_found_spelled_out_or_written_apart(acronym: str, text: str, named: bool) -> None:
    assert named_in(acronym, text) is named


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("how much FDI has japan put into the US", "800 billion"),
        ("why is the HADR terms of reference between Tokyo and Manila important?", "disaster relief"),
    ],
)
def test_an_acronym_the_sources_spell_out_is_answered(extractive_engine: Engine, question: str, expected: str) -> None:
    answer = extractive_engine.ask(question)
    assert not answer.abstained
    assert expected in answer.text


@pytest.mark.parametrize(
    ("question", "sentence", "gives"),
    [
        ("How much is the grant worth in baht?", "The agency will provide nearly $600,000.", False),
        ("How much is the loan in rupees?", "India will lend 5 billion rupees.", True),
        ("How much is the loan in rupees?", "India will borrow $5 billion.", False),
        ("How much, in sum, did the US pledge?", "The US pledged $5 billion.", True),
        ("What is the 2 billion yen grant worth in dollars?", "A $12 billion fund.", False),
        ("What is the 600 billion yen pledge worth in dollars?", "It adds $1 billion in investment.", False),
        ("What is the 600 billion yen pledge worth in dollars?", "The 600 billion yen pledge is $4 billion.", True),
    ],
)
def test_an_amount_in_any_currency_is_given_only_in_that_currency(question: str, sentence: str, gives: bool) -> None:
    assert (missing_detail(question, [sentence], _all(1)) is None) is gives


@pytest.mark.parametrize(
    ("question", "continued"),
    [
        (
            "What does the op-ed say Japan hopes to get from Southeast Asian countries with South China Sea disputes?",
            "This was evident",
        ),
        ("What's the point of the Master Ship Repair Agreements with Indian shipyards?", "This will allow"),
    ],
)
def test_a_sentence_that_points_back_follows_the_answer(
    extractive_engine: Engine, question: str, continued: str
) -> None:
    answer = extractive_engine.ask(question)
    assert continued in answer.text
    assert not answer.text.startswith(continued)  # after the sentence it points back to


def test_a_question_about_one_source_and_then_another_is_answered_from_both(extractive_engine: Engine) -> None:
    answer = extractive_engine.ask("What does the article say about Cambodia and what does the White House say?")
    cited = {c.doc_id for c in answer.citations}
    assert "diplomatic-overdrive.md" in cited and any(d.startswith("wh_") for d in cited)


def test_a_country_side_holds_its_publishers_sentences_that_name_no_side(extractive_engine: Engine) -> None:
    # The White House readout says "The President raised concerns ... Ream Naval Base" without naming a country.
    answer = extractive_engine.ask("Compare what the US and Cambodia say about the Ream naval base")
    us_side = answer.text.split("Cambodia:\n")[0]
    assert us_side.startswith("United States:") and "Ream" in us_side


def test_sources_compared_are_compared_on_the_terms_every_source_holds() -> None:
    # "budget" is only in one statement: the sides are compared on what both speak of, not on the side's names.
    sides = [
        ["Ministers will reinforce cooperation on counterstrike capabilities."],
        ["Japan raises its defence budget.", "We deepen cooperation on Japan's counterstrike capabilities."],
    ]
    question = "What did the Japan statements each say about counterstrike and the budget?"
    assert shared_terms(question, ["Joint Statement of Japan"], sides) == {"counterstrik"}


@pytest.mark.parametrize(
    "question",
    [
        "What did Kishida say about the Mekong?",
        "what did Marcos say about Ream Naval Base?",
        "what does Modi think of the Mekong river",
    ],
)
def test_names_the_sources_speak_of_only_apart_are_not_answered_as_one_topic(make_engine, question: str) -> None:
    # Each name is in the corpus, never in one passage with the other: a passage about either is no answer.
    assert make_engine("extractive").ask(question).abstained
    assert not make_engine("extractive", names_together=False).ask(question).abstained  # as it was answered


@pytest.mark.parametrize(
    "question",
    ["What did Biden tell Hun Sen about Ream Naval Base?", "What did Kishida and Biden say about AUKUS?"],
)
def test_names_that_meet_in_a_passage_are_answered(extractive_engine: Engine, question: str) -> None:
    assert not extractive_engine.ask(question).abstained


def test_the_names_a_question_must_find_together_leave_places_and_dates_aside() -> None:
    text = (
        "Prime Minister Modi spoke in Delhi in January. Later Modi praised Semiverse. Engineers use Semiverse in June."
    )
    vocabulary = Vocabulary.from_texts([text])
    # Leaders are people; countries, capitals and months are read by the country and date checks.
    assert corpus_names("what did modi say of semiverse in delhi in january?", vocabulary) == ["Modi", "Semiverse"]


@pytest.mark.parametrize(
    "question", ["the iron-clad friendship thing, what is it", "whats this diamond hexagon stuff they talk about"]
)
def test_a_phrase_few_passages_hold_is_answered_though_the_rest_is_filler(make_engine, question: str) -> None:
    # "thing" and "stuff" make the question far from every passage; the phrase says what it asks about.
    assert not make_engine("extractive").ask(question).abstained
    assert make_engine("extractive", rare_phrase_close=False).ask(question).abstained  # the untrue abstention


def test_a_pair_of_names_is_no_phrase_that_answers(extractive_engine: Engine) -> None:
    # "Natasha Agarwal" is rare, but it says who is asked about: the byline gives no employer.
    assert extractive_engine.ask("Which hospital does Natasha Agarwal work at?").abstained


@pytest.mark.parametrize(
    ("source", "shown"),
    [
        # A preamble verb set off by markup, before "that": the main clause shows, not "That at the summit...".
        (
            "**4 NOTING** that at the Lisbon summit, the ministers pledged EUR 40 million for river clean-up**.**",
            "At the Lisbon summit, the ministers pledged EUR 40 million for river clean-up [1].",
        ),
        # An emphasised subject the sentence reads on from stays, as a word: "We, the..." not "The... gathered".
        (
            "**2 WE,** the river councils of the Alpine states, gathered in Graz on 3 May 2021; ****",
            "We, the river councils of the Alpine states, gathered in Graz on 3 May 2021 [1].",
        ),
        # An ordinal heading, its comma and a second emphasis: neither "**we resolve" nor ", **we resolve".
        (
            "**Fourth**, **we resolve to keep the glacier lakes clean and open to all.**",
            "Fourth, we resolve to keep the glacier lakes clean and open to all [1].",
        ),
        (
            "**Fifth,** **we resolve to share flood warnings across every border.**",
            "Fifth, we resolve to share flood warnings across every border [1].",
        ),
        # A heading before a sentence that starts with its own capital is cut, with the punctuation after it.
        (
            "**Water**: The councils will publish the river data every month.",
            "The councils will publish the river data every month [1].",
        ),
    ],
)
def test_a_sentence_led_by_markup_shows_as_a_whole_sentence_and_quotes_the_source(source: str, shown: str) -> None:
    text = f"Intro line.\n\n{source}\n"
    hit = Hit(Chunk("rivers#0", "rivers", 0, text, 100, 100 + len(text)), rank=1, score=1.0)
    start = text.index(source)
    claim = _claim(1, hit, start, start + len(source))
    assert _line(claim) == shown
    # The quote is the source's own text at the claim's offsets, whatever the shown text tidied.
    assert text[claim.start - 100 : claim.end - 100] == claim.text
    assert not re.search(r"^[\W\d]|\*", _line(claim))


def test_the_sentence_closest_to_a_why_question_leads_the_answer(embedder) -> None:
    sentences = [
        "The mayor also urged the council to reopen the harbour to fishing boats before the autumn vote.",
        "The mayor also thanked Lisbon for lending two fire planes to fight the forest blazes in July.",
    ]
    text = " ".join(sentences)
    spans = [(text.index(s), text.index(s) + len(s)) for s in sentences]
    hit = Hit(Chunk("city#0", "city", 0, text, 0, len(text)), rank=1, score=1.0)
    vectors = embedder.encode(sentences)
    urged, thanked = (_Candidate(1, hit, i, spans, s, 1.0 - i / 10, vectors[i]) for i, s in enumerate(sentences))
    question = "why did the mayor thank lisbon"
    assert _lead(question, [urged, thanked], embedder, None, None) == [thanked, urged]
    # Among sentences stating what a fact question asks for, the closest of those leads, not a closer one lacking it.
    assert _lead(question, [urged, thanked], embedder, lambda s: "harbour" in s, None) == [urged, thanked]


@pytest.mark.parametrize(
    ("name", "text", "derived"),
    [
        ("Italians", "signed with Italy and the UK", True),  # a people, the sources name the country
        ("Brits", "the British minister", True),
        ("Quadrilateral", "the Quad leaders met", True),  # the full form, the sources write the short one
        ("Europeans", "partners in Europe", True),
        ("Albanese", "talks with Albania", False),  # a surname is no derivation of a country
        ("Aussies", "with Australia", False),  # too little shared to tell a derivation from chance
        ("Modi", "the Model Law", False),
        ("Marco", "talks in March", False),  # a month is no name a name derives from
    ],
)
def test_a_name_the_sources_write_in_a_derived_form_counts_as_named(name: str, text: str, derived: bool) -> None:
    assert derived_in(name, text) is derived


def test_a_rare_one_word_name_keeps_its_passage_in_the_candidates() -> None:
    chunks = [("a", "The Setsu docked at Cam Ranh Bay."), ("b", "Japan and Vietnam met."), ("c", "Vietnam spoke.")]
    assert exact_matches("what did the Setsu do in vietnam?", chunks, rare=2, names=True) == {"a": "setsu"}
    assert exact_matches("what did the Setsu do in vietnam?", chunks, rare=2) == {}  # one word alone: not a pair
    assert question_names("what did they say about TLAM in Vietnam") == ["tlam"]  # countries are read elsewhere


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the OSA for?", "Official Security Assistance"),  # held by one passage, asked about alone
        ("what did they say about TLAM", "Tomahawk"),
        ("What are the Italians developing with Japan by 2035?", "Italy"),  # the sources name the country
        ("What did the Quadrilateral leaders say about health security?", "health security"),  # and the short form
    ],
)
def test_a_question_about_a_rare_or_derived_name_is_answered(
    extractive_engine: Engine, question: str, expected: str
) -> None:
    answer = extractive_engine.ask(question)
    assert not answer.abstained
    assert expected in answer.text


def test_a_rare_name_beside_a_word_no_passage_holds_is_still_refused(extractive_engine: Engine) -> None:
    assert extractive_engine.ask("What did the OSA say about whaling?").abstained
