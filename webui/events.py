"""What the page's events and the `ask`/`search`/`countries` API endpoints do; `ui.py` wires them to components.

Every handler calls the engine and returns rendered HTML or plain data: a RagError becomes a message for the
user (page or API caller), never a stack trace.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Answer, Engine, RagError, Settings
from rag.serving.json_forms import answer_from_json, answer_json, ask_json, countries_json, hit_json
from rag.transcript import to_json, to_markdown
from rag.upload import add_upload
from webui import conversations
from webui.brief import NO_BRIEF_SOURCES, render_brief
from webui.render import (
    NO_SOURCES,
    esc,
    esc_lines,
    render_answer,
    render_error,
    render_incomplete,
    render_panel,
    render_sources,
    render_status,
    render_streaming,
    user_message,
)
from webui.sync import CorpusSync

log = logging.getLogger("rag.ui")


def chat_list(saved: list[dict] | None, selected: str | None) -> Any:
    """The side list of saved conversations, with `selected` chosen."""
    choices = conversations.choices(saved)
    return gr.update(choices=choices, value=selected if any(v == selected for _, v in choices) else None)


def new_session() -> dict[str, Any]:
    """Per-browser-tab state: what the chat shows, the plain history the engine sees, the source panel, and the
    conversation's id and answers (`answer_json` form; `answer_at` maps a chat message's index to its answer)."""
    return {
        "turn": 0,
        "chat": [],
        "history": [],
        "panels": [],
        "chat_id": None,  # given with the first answer: the initial state is shared by every page
        "answers": [],
        "answer_at": {},
    }


def reopened_session(saved: dict[str, Any]) -> dict[str, Any]:
    """The session of a saved conversation: its chat, source panel and history rebuilt from its answers."""
    session = {**new_session(), "chat_id": saved["id"], "answers": saved["answers"]}
    for turn, data in enumerate(saved["answers"], start=1):
        answer = answer_from_json(data)
        session["answer_at"][len(session["chat"]) + 1] = turn - 1
        session["chat"] += [
            {"role": "user", "content": esc_lines(answer.question)},
            {"role": "assistant", "content": render_answer(answer, turn)},
        ]
        session["panels"].insert(0, render_sources(answer, turn))
        session["history"] += [
            {"role": "user", "content": answer.question},
            {"role": "assistant", "content": answer.text},
        ]
        session["turn"] = turn
    return session


def country_choices(engine: Engine) -> list[tuple[str, str]]:
    """Dropdown choices: 'Japan (123)' -> 'Japan', most mentioned first."""
    return [(f"{name} ({count})", name) for name, count in engine.countries()]


def document_choices(engine: Engine) -> list[tuple[str, str]]:
    """Dropdown choices: 'Title (file)' -> the document's id, in title order."""
    labelled = [(f"{title or doc_id} ({doc_id})", doc_id) for doc_id, title in engine.document_titles().items()]
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
        session = {
            **session,
            "chat_id": session["chat_id"] or conversations.new_id(),
            "turn": turn,
            "chat": [*chat, reply],
            "history": history,
            "panels": panels,
            "answers": [*session["answers"], answer_json(answer)],
            "answer_at": {**session["answer_at"], len(chat): len(session["answers"])},
        }
        yield gr.skip(), session["chat"], render_panel(panels), session

    @staticmethod
    def save(session: dict, saved: list[dict] | None) -> tuple:
        """After `respond`: keep the conversation's new answer in the browser: (saved chats, the side list)."""
        stored = conversations.find(saved, session["chat_id"])
        if not session["answers"] or (stored and len(stored["answers"]) >= len(session["answers"])):
            return gr.skip(), gr.skip()
        saved = conversations.save_answer(saved, session["chat_id"], session["answers"][-1])
        return saved, chat_list(saved, session["chat_id"])

    @staticmethod
    def clear(saved: list[dict] | None = None) -> tuple:
        """A new conversation: an empty question box, chat, source panel and session; no saved chat selected."""
        return "", [], NO_SOURCES, new_session(), chat_list(saved, None)

    @staticmethod
    def to_chat() -> Any:
        """Show the chat tab."""
        return gr.Tabs(selected="ask")

    @staticmethod
    def list_chats(saved: list[dict] | None) -> Any:
        """The side list of saved conversations (on page load)."""
        return chat_list(saved, None)

    @staticmethod
    def reopen(chat_id: str | None, saved: list[dict] | None) -> tuple:
        """Show saved conversation `chat_id`: (chat, source panel, session)."""
        found = conversations.find(saved, chat_id)
        if found is None:
            return gr.skip(), gr.skip(), gr.skip()
        session = reopened_session(found)
        return session["chat"], render_panel(session["panels"]), session

    @staticmethod
    def rename(title: str, session: dict, saved: list[dict] | None) -> tuple:
        """Rename the conversation on screen: (saved chats, chat list, the cleared title box)."""
        saved = conversations.rename(saved, session["chat_id"], title)
        return saved, chat_list(saved, session["chat_id"]), ""

    def delete(self, session: dict, saved: list[dict] | None) -> tuple:
        """Delete the conversation on screen and start a new one: (saved, ... as `clear`)."""
        saved = conversations.delete(saved, session["chat_id"])
        return saved, *self.clear(saved)

    @staticmethod
    def exports(session: dict) -> tuple:
        """The conversation as Markdown and JSON files for the two download buttons (none before an answer)."""
        if not session["answers"]:
            return gr.update(value=None, interactive=False), gr.update(value=None, interactive=False)
        folder = Path(tempfile.gettempdir()) / "diplomatic-rag-exports" / session["chat_id"]
        folder.mkdir(parents=True, exist_ok=True)
        markdown, data = folder / "conversation.md", folder / "conversation.json"
        markdown.write_text(to_markdown(session["answers"]), encoding="utf-8")
        data.write_text(to_json(session["answers"]), encoding="utf-8")
        return gr.update(value=str(markdown), interactive=True), gr.update(value=str(data), interactive=True)

    def rate(self, data: gr.LikeData, session: dict, comment: str) -> tuple:
        """A thumbs up/down on an answer, with the comment box's text: appended to the feedback file.

        Returns (what the page says, the comment box: cleared once sent).
        """
        index = data.index if isinstance(data.index, int) else data.index[0]
        k = session["answer_at"].get(index)
        rating = {True: "up", False: "down"}.get(data.liked) if isinstance(data.liked, bool) else None
        if k is None or rating is None:
            return gr.skip(), gr.skip()
        try:
            self.engine.record_feedback(
                answer_from_json(session["answers"][k]),
                rating,
                session["history"][: 2 * k],
                comment or "",
            )
        except RagError as exc:  # the comment box caps its length, so this is the server's disk or file
            log.warning("feedback not recorded: %s", exc)
            return render_error("Your feedback could not be saved; the server log has the details."), gr.skip()
        question = esc(session["answers"][k]["question"])
        return f'<p class="muted">Thanks: your thumbs-{rating} on “{question}” was recorded.</p>', ""

    def ask(
        self, question: str | None = None, countries: list[str] | None = None, docs: list[str] | None = None
    ) -> dict[str, Any]:
        """Answer a question from the corpus with checked citations.

        Args:
            question: the question, in plain words.
            countries: answer only from passages that mention any of these countries or groupings, e.g. ["Japan"].
            docs: answer only from these documents (file names or titles, as `rag ask --doc`).

        Returns:
            The answer (with [n] markers), whether it abstained, its citations (n, title, url, doc_id,
            quote, and quote_start/quote_end: the quote's character offsets in the document) and the
            passages it `retrieved`: what `rag ask --json` prints, as `rag mcp`'s `ask` tool returns.
        """
        answer = api_call(
            lambda: self.engine.ask(question, countries=countries or None, docs=docs or None),
            question,
            self.sync.running,
        )
        return ask_json(answer)

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
        return api_call(
            lambda: [hit_json(hit) for hit in self.engine.search(question, k, countries or None)],
            question,
            self.sync.running,
        )

    def countries(self) -> list[dict[str, Any]]:
        """The countries and groupings the corpus mentions, each with the number of passages mentioning it.

        Returns:
            [{"country": name, "chunks": passages mentioning it}], most mentioned first.
        """
        return api_call(lambda: countries_json(self.engine.countries()), "countries")

    def show_country(self, country: str | None) -> tuple:
        """The country page: (the brief, its source panel, the "Ask about" button)."""
        if not country:
            return "", NO_BRIEF_SOURCES, gr.update(visible=False)
        try:
            brief = self.engine.country_brief(country)
        except RagError as exc:
            return render_error(user_message(exc)), NO_BRIEF_SOURCES, gr.update(visible=False)
        page, sources = render_brief(brief)
        return page, sources, gr.update(value=f"Ask about {brief.country}", visible=True)

    def ask_about(self, country: str | None) -> tuple:
        """The chat, prefilled to ask about `country` with it as the focus: (question, focus, tabs).

        A corpus about one country (its profile's `subject`) asks what that country does with this one.
        """
        if not country:
            return gr.skip(), gr.skip(), gr.skip()
        subject = self.settings.profile.subject
        if subject is None:
            question = f"Tell me about {country}."
        elif country == subject:
            question = f"What is {subject} doing, and with whom?"
        else:
            question = f"What is {subject} doing with {country}?"
        return question, [country], gr.Tabs(selected="ask")

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
