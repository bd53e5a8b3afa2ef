"""What the page's events and the `ask`/`search`/`countries` API endpoints do; `ui.py` wires them to components.

Every handler calls the engine and returns rendered HTML or plain data: a RagError becomes a message for the
user (page or API caller), never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer import Answer
from rag.engine import Engine
from rag.errors import RagError
from rag.mcp_server import countries_result, search_result
from rag.settings import Settings
from rag.upload import add_upload
from webui.render import (
    NO_SOURCES,
    esc,
    esc_lines,
    mentions_frame,
    render_answer,
    render_error,
    render_incomplete,
    render_panel,
    render_passages,
    render_sources,
    render_status,
    render_streaming,
    user_message,
)
from webui.sync import CorpusSync

log = logging.getLogger("rag.ui")


def new_session() -> dict[str, Any]:
    """Per-browser-tab state: what the chat shows, the plain history the engine sees, the source panel."""
    return {"turn": 0, "chat": [], "history": [], "panels": []}


def country_choices(engine: Engine) -> list[tuple[str, str]]:
    """Dropdown choices: 'Japan (123)' -> 'Japan', most mentioned first."""
    return [(f"{name} ({count})", name) for name, count in engine.countries()]


def document_choices(engine: Engine) -> list[tuple[str, str]]:
    """Dropdown choices: 'Title (file)' -> the document's id, in title order."""
    labelled = [(f"{meta.get('title') or doc_id} ({doc_id})", doc_id) for doc_id, meta in engine.documents().items()]
    return sorted(labelled, key=lambda choice: choice[0].casefold())


def api_call(fn: Callable[[], Any], what: object, syncing: bool = False) -> Any:
    """`fn()`, its errors turned into messages for API and MCP callers (never a traceback)."""
    try:
        return fn()
    except RagError as exc:
        message = user_message(exc, syncing)
        log.info("API call for %r refused: %s", what, message)
        raise gr.Error(message, print_exception=False) from None
    except Exception:
        log.exception("API call for %r failed", what)
        raise gr.Error("Something went wrong; see the server log.") from None


class Events:
    """The handlers of one app: chat, country view, upload, status tick and the API, over one engine and sync."""

    def __init__(self, engine: Engine, settings: Settings, sync: CorpusSync | None = None) -> None:
        self.engine, self.settings = engine, settings
        self.sync = sync or CorpusSync(engine)

    def respond(
        self, question: str, countries: list[str] | None, session: dict, docs: list[str] | None = None
    ) -> Iterator[tuple]:
        """Stream an answer into the chat: (question box, chat, source panel, session) after each step."""
        if not (question or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        turn = session["turn"] + 1
        chat = [*session["chat"], {"role": "user", "content": esc_lines(question or "")}]
        reply = {"role": "assistant", "content": render_streaming("")}
        yield "", [*chat, reply], gr.skip(), gr.skip()
        answer, text = None, ""
        try:
            for item in self.engine.stream(question, session["history"], countries or None, docs=docs or None):
                if isinstance(item, Answer):
                    answer = item
                else:
                    text += item
                    reply = {"role": "assistant", "content": render_streaming(text)}
                    yield gr.skip(), [*chat, reply], gr.skip(), gr.skip()
        except RagError as exc:
            message = user_message(exc, self.sync.running)
            log.info("question not answered: %s", message)
            reply = {"role": "assistant", "content": render_incomplete(text, message)}
        except Exception:
            log.exception("answering %r failed", question)
            message = "Something went wrong; see the server log."
            reply = {"role": "assistant", "content": render_incomplete(text, message)}
        if answer is None:
            session = {**session, "chat": [*chat, reply]}
            yield gr.skip(), session["chat"], gr.skip(), session
            return
        reply = {"role": "assistant", "content": render_answer(answer, turn)}
        panels = [render_sources(answer, turn), *session["panels"]]
        history = [
            *session["history"],
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": answer.text},
        ]
        session = {"turn": turn, "chat": [*chat, reply], "history": history, "panels": panels}
        yield gr.skip(), session["chat"], render_panel(panels), session

    @staticmethod
    def clear() -> tuple:
        """An empty question box, chat, source panel and session."""
        return "", [], NO_SOURCES, new_session()

    def ask(
        self, question: str | None = None, countries: list[str] | None = None, docs: list[str] | None = None
    ) -> dict[str, Any]:
        """Answer a question from the corpus with checked citations.

        Args:
            question: the question, in plain words.
            countries: answer only from passages that mention any of these countries or groupings, e.g. ["Japan"].
            docs: answer only from these documents (file names or titles, as `rag ask --doc`).

        Returns:
            The answer (with [n] markers), whether it abstained, and its citations: n, title, url, doc_id,
            quote, and quote_start/quote_end (the quote's character offsets in the document).
        """
        answer = api_call(
            lambda: self.engine.ask(question, countries=countries or None, docs=docs or None),
            question,
            self.sync.running,
        )
        return {"answer": answer.text, **answer.to_dict()}

    def search(
        self, question: str | None = None, k: int = 5, countries: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The passages ranked best for a question, with their documents and character offsets.

        Args:
            question: what to look for.
            k: how many passages (1 to 50).
            countries: only passages that mention any of these countries or groupings.

        Returns:
            Passages best first: rank, title, url, doc_id, date, text, start/end offsets, countries, score.
        """
        return api_call(lambda: search_result(self.engine, question, k, countries or None), question, self.sync.running)

    def countries(self) -> list[dict[str, Any]]:
        """The countries and groupings the corpus mentions, each with the number of passages mentioning it.

        Returns:
            [{"country": name, "chunks": passages mentioning it}], most mentioned first.
        """
        return api_call(lambda: countries_result(self.engine), "countries")

    def show_country(self, country: str | None) -> tuple:
        """The country view: (summary, mentions per document for the chart, top passages)."""
        if not country:
            return "", mentions_frame({"documents": []}), ""
        try:
            profile = self.engine.country_profile(country)
        except RagError as exc:
            return render_error(user_message(exc)), mentions_frame({"documents": []}), ""
        summary = (
            f"<b>{esc(profile['country'])}</b> is mentioned {profile['mentions']:,} times in "
            f"{len(profile['documents'])} documents ({profile['chunks']:,} chunks)."
        )
        return summary, mentions_frame(profile), render_passages(profile)

    def on_upload(self, path: str | None) -> tuple:
        """Add an uploaded file to the corpus and the store: (result message, the cleared upload box)."""
        if not path:
            return gr.skip(), gr.skip()
        try:
            dest, report = add_upload(self.engine, path, Path(path).name)
        except RagError as exc:
            return render_error(user_message(exc)), None
        finally:
            self.sync.refresh()
        rel = dest.relative_to(self.settings.corpus_dir.resolve()).as_posix()
        return f"<p>Added <b>{esc(rel)}</b> ({esc(report.summary())}). Ask about it now.</p>", None

    def tick(self, seen: int) -> tuple:
        """The status line; the country and document lists too when an ingest finished since generation `seen`."""
        state = self.sync.describe()
        if state["generation"] == seen:
            return render_status(state), gr.skip(), gr.skip(), gr.skip(), seen
        fresh = country_choices(self.engine)
        documents = gr.update(choices=document_choices(self.engine))
        return render_status(state), gr.update(choices=fresh), gr.update(choices=fresh), documents, state["generation"]
