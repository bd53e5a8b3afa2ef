"""The page speaks for whatever corpus it serves: title, introduction and examples come from its profile."""

from __future__ import annotations

from rag.engine import Engine
from rag.settings import Settings
from rag.storage.store import Store
from ui import build_app
from webui.events import Events, new_session


def _strings(app) -> str:
    """Every component property of the built page, as one string to search."""
    return repr([c.get("props", {}) for c in app.config["components"]])


def test_the_tiny_corpus_page_shows_its_own_profile_and_answers_from_it(tiny_settings: Settings, embedder) -> None:
    engine = Engine(tiny_settings, Store(tiny_settings), embedder, "extractive")
    engine.ingest()
    app = build_app(engine, tiny_settings)

    profile = tiny_settings.profile.ui
    assert app.title == profile.title == "Harbour Pact: cited answers"
    page = _strings(app)
    assert profile.intro in page and profile.placeholder in page
    assert all(example in page for example in profile.examples)
    assert "Diplomatic Overdrive" not in page and "Ream Naval Base" not in page  # nothing of the shipped corpus

    *_, (_, chat, sources, _) = Events(engine, tiny_settings).respond(profile.examples[0], None, new_session())
    assert "[1]" in chat[-1]["content"] and "harbour" in sources.lower()
