"""The corpus profile: read through Settings from the corpus folder, neutral without one, clear when broken,
and what the engine's prompt and follow-ups go by."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.engine import Engine
from rag.profile import Profile, ProfileError
from rag.storage.store import Store
from tests.conftest import CORPUS
from tests.reliability.llm_server import serve, trickle

HISTORY = [{"role": "user", "content": "How many patrol boats will the pact fund for the Philippines?"}]


def test_a_corpus_without_a_profile_gets_neutral_words(make_settings, tmp_path: Path) -> None:
    profile = make_settings(corpus_dir=tmp_path).profile
    assert profile == Profile()
    assert not profile.actors and profile.subject is None


def test_rag_profile_points_at_a_profile_outside_the_corpus(monkeypatch, tmp_path: Path) -> None:
    from rag.settings import Settings

    (tmp_path / "elsewhere.yaml").write_text("name: Elsewhere\nactors: [USA]\n", encoding="utf-8")
    monkeypatch.setenv("RAG_PROFILE", str(tmp_path / "elsewhere.yaml"))
    profile = Settings(_env_file=None, corpus_dir=CORPUS).profile
    assert profile.name == "Elsewhere"
    assert profile.actors == {"United States"}  # canonical names: what country detection compares with


def test_an_edited_profile_is_read_again(make_settings, tmp_path: Path) -> None:
    settings = make_settings(corpus_dir=tmp_path)
    (tmp_path / "profile.yaml").write_text("name: First\n", encoding="utf-8")
    assert settings.profile.name == "First"
    (tmp_path / "profile.yaml").write_text("name: Second, longer\n", encoding="utf-8")
    assert settings.profile.name == "Second, longer"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed", "is not valid YAML"),
        ("- just\n- a list\n", "must be a mapping"),
        ("actors: [Atlantis]\n", r"actors: Value error, 'Atlantis' is not a country or grouping"),
        ("titel: A typo\n", "titel: Extra inputs are not permitted"),
        ("ui:\n  examples: 3\n", r"ui\.examples: Input should be a valid tuple"),
        ("actors: " + "[" * 900 + "]" * 900, "nested too deep"),
    ],
)
def test_a_broken_profile_names_its_file_and_the_problem(make_settings, tmp_path: Path, text: str, message: str):
    (tmp_path / "profile.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError, match=message) as caught:
        _ = make_settings(corpus_dir=tmp_path).profile
    assert str(tmp_path / "profile.yaml") in str(caught.value)


def test_the_engine_on_the_tiny_corpus_takes_prompt_and_actors_from_its_profile(
    tiny_corpus: Path, tmp_path: Path, make_settings, embedder
) -> None:
    answer_words = ["Japan will fund twelve patrol boats ", "for the Philippine Coast Guard [1]."]
    with serve(trickle(answer_words, 0)) as server:
        llm = {"openai_base_url": server.url, "openai_api_key": "unused", "openai_model": "scripted"}
        settings = make_settings(corpus_dir=tiny_corpus, store_dir=tmp_path / "store", chunk_size=200, **llm)
        store = Store(settings)
        tiny = Engine(settings, store, embedder, "openai-compatible")
        tiny.ingest()
        # Japan is not one of the tiny corpus's actors: the follow-up is about it, in place of the Philippines.
        answer = tiny.ask("And Japan?", HISTORY)
        assert answer.search_query == "How many patrol boats will the pact fund for Japan?"
        system = server.bodies[-1]["messages"][0]
        assert system["role"] == "system"
        assert system["content"].startswith(
            "You answer questions about the harbour pact between Japan and the Philippines using ONLY"
        )
        # The shipped corpus's profile over the same store: Japan is an actor there, so the question stays put.
        shipped_settings = make_settings(
            corpus_dir=tiny_corpus, store_dir=tmp_path / "store", profile_file=CORPUS / "profile.yaml", **llm
        )
        answer = Engine(shipped_settings, store, embedder, tiny.backend).ask("And Japan?", HISTORY)
        assert answer.search_query == f"And Japan? {HISTORY[0]['content']}"
        assert "Japan's diplomacy in the Indo-Pacific" in server.bodies[-1]["messages"][0]["content"]


def test_the_engine_takes_its_corpus_words_from_a_profile_about_another_country(
    tiny_corpus: Path, tmp_path: Path, make_settings, embedder
) -> None:
    # Nothing in the code knows this corpus's kinds of source: "the forum" is this profile's word.
    (tiny_corpus / "profile.yaml").write_text(
        "subject: Australia\nactors: [Australia, New Zealand]\n"
        "sources: [{label: the forum, cue: '\\bthe forum\\b', field: title, value: '(?i)\\bforum\\b'}]\n",
        encoding="utf-8",
    )
    settings = make_settings(corpus_dir=tiny_corpus, store_dir=tmp_path / "store", chunk_size=200)
    engine = Engine(settings, Store(settings), embedder, "extractive")
    engine.ingest()
    forum = engine.ask("What did the forum agree?")
    assert forum.docs == ["island_forum.md"]
    assert "seventeen atolls" in forum.text and not forum.abstained
    # The shipped corpus's profile over the same store knows no forum.
    shipped = make_settings(corpus_dir=tiny_corpus, store_dir=tmp_path / "store", profile_file=CORPUS / "profile.yaml")
    assert Engine(shipped, engine.store, embedder, "extractive").ask("What did the forum agree?").docs == []
