"""Saved conversations, as kept in the browser (`gr.BrowserState`): a list of plain dicts, newest first.

Each is {"id", "title", "updated", "answers"}: its answers in `answer_json` form, in the order asked, so a
conversation can be reopened, exported or rated after a page reload. Functions return new lists; none mutates.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("rag.ui")

TITLE_CHARS = 60
MAX_SAVED = 50  # conversations kept per browser; the oldest go first (localStorage holds a few MB)
KEPT_PASSAGES = 3  # retrieved passages kept per answer: what an abstention shows

Conversation = dict[str, Any]


def new_id() -> str:
    """A fresh conversation id."""
    return uuid.uuid4().hex[:12]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _title(question: str) -> str:
    words = " ".join(question.split())
    return words if len(words) <= TITLE_CHARS else words[: TITLE_CHARS - 1].rstrip() + "…"


def slim(answer: dict[str, Any]) -> dict[str, Any]:
    """An answer as saved: its passages beyond the few an abstention shows are dropped."""
    return {**answer, "retrieved": answer.get("retrieved", [])[:KEPT_PASSAGES]}


def find(saved: list[Conversation] | None, chat_id: str | None) -> Conversation | None:
    """The saved conversation `chat_id`, or None."""
    return next((c for c in saved or [] if c.get("id") == chat_id), None)


def save_answer(saved: list[Conversation] | None, chat_id: str, answer: dict[str, Any]) -> list[Conversation]:
    """`saved` with `answer` added to conversation `chat_id` (created, titled by its first question, if new)."""
    current = find(saved, chat_id) or {"id": chat_id, "title": _title(answer["question"]), "answers": []}
    updated = {**current, "answers": [*current["answers"], slim(answer)], "updated": _now()}
    rest = [c for c in saved or [] if c.get("id") != chat_id]
    return [updated, *rest][:MAX_SAVED]


def rename(saved: list[Conversation] | None, chat_id: str | None, title: str) -> list[Conversation]:
    """`saved` with conversation `chat_id` renamed (a blank title changes nothing)."""
    title = " ".join((title or "").split())[:200]
    return [{**c, "title": title} if c.get("id") == chat_id and title else c for c in saved or []]


def delete(saved: list[Conversation] | None, chat_id: str | None) -> list[Conversation]:
    """`saved` without conversation `chat_id`."""
    return [c for c in saved or [] if c.get("id") != chat_id]


def choices(saved: list[Conversation] | None) -> list[tuple[str, str]]:
    """(label, id) per saved conversation, newest first, for the side list."""
    return [(f"{c['title']} ({len(c['answers'])})", c["id"]) for c in saved or [] if c.get("answers")]


def browser_state_secret(path: Path) -> str | None:
    """The key the browser's saved conversations are encrypted with, kept in `path` so they survive a restart.

    None (Gradio then picks one per start) when the file can't be written.
    """
    try:
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(24)
        path.touch(mode=0o600)
        path.write_text(secret, encoding="utf-8")
        return secret
    except OSError as exc:
        log.warning("saved conversations will not survive a restart: cannot keep a key in %s (%s)", path, exc)
        return None
