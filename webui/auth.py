"""The optional login (RAG_UI_AUTH) and the middleware that slows down a client guessing passwords."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from typing import Any

from rag import RagError, Settings
from rag.serving.api import WRONG_KEY, ApiError, bearer_matches

log = logging.getLogger("rag.ui")

# Failed logins one client may make before its logins are refused: for 1 s, then 2, 4... up to 5 minutes.
LOGIN_FREE_FAILURES, LOGIN_BACKOFF_S, LOGIN_BACKOFF_MAX_S = 5, 1.0, 300.0
LOGIN_FORGET_S = 3600.0  # failures older than this are forgotten
MCP_PATH = "/gradio_api/mcp"
NO_KEY = ApiError(
    401,
    "This server requires a login (RAG_UI_AUTH) and has no API key, so /v1 and MCP are closed: "
    "set RAG_API_KEY and send `Authorization: Bearer <RAG_API_KEY>`.",
    "api_key_not_set",
)


def login(settings: Settings) -> tuple[str, str] | None:
    """(user, password) from RAG_UI_AUTH="user:password", or None when no login is required."""
    if settings.ui_auth is None:
        return None
    user, sep, password = settings.ui_auth.get_secret_value().partition(":")
    if not (sep and user and password):
        raise RagError("RAG_UI_AUTH must look like user:password (both non-empty).")
    return user, password


class LoginThrottle:
    """ASGI middleware in front of Gradio's /login: after a few failed logins from one client, its next logins are
    refused (HTTP 429, Retry-After) for a time that doubles with each further failure; every refusal is logged.

    Gradio's auth callback sees only the user name and password, so the client is told apart here, by address
    (behind a reverse proxy every client shares the proxy's address, and so one backoff).
    """

    def __init__(self, app: Any, free: int = LOGIN_FREE_FAILURES, first_s: float = LOGIN_BACKOFF_S) -> None:
        self.app, self.free, self.first_s = app, free, first_s
        self._failures: dict[str, tuple[int, float]] = {}  # client -> (failed logins, when the last one was)
        self._lock = threading.Lock()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Refuse a throttled client's login; otherwise pass it to Gradio and count the outcome."""
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/login"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        if (wait := self.wait_s(client)) > 0:
            log.warning("login from %s refused: too many failed logins; it may try again in %.0f s", client, wait)
            await self._refuse(send, wait)
            return
        status: list[int] = []

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        self._record(client, ok=status == [200])

    def wait_s(self, client: str) -> float:
        """Seconds until `client` may try to log in again (0: now)."""
        with self._lock:
            failures, last = self._failures.get(client, (0, 0.0))
        if failures < self.free:
            return 0.0
        return max(0.0, last + self._backoff(failures) - time.monotonic())

    def _backoff(self, failures: int) -> float:
        return min(LOGIN_BACKOFF_MAX_S, self.first_s * 2 ** (failures - self.free))

    def _record(self, client: str, ok: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if ok:
                self._failures.pop(client, None)
                return
            failures, last = self._failures.get(client, (0, 0.0))
            if now - last > LOGIN_FORGET_S:  # a typo last week doesn't count against today
                failures = 0
            failures += 1
            self._failures[client] = (failures, now)
            if len(self._failures) > 10_000:  # many clients: forget those quiet the longest
                for old in sorted(self._failures, key=lambda c: self._failures[c][1])[:5000]:
                    del self._failures[old]
        if failures >= self.free:
            log.warning(
                "%d failed logins in a row from %s; its logins are refused for the next %.0f s",
                failures, client, self._backoff(failures),
            )  # fmt: skip

    @staticmethod
    async def _refuse(send: Any, wait: float) -> None:
        body = json.dumps({"detail": f"Too many failed logins; try again in {math.ceil(wait)} s."}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"retry-after", str(math.ceil(wait)).encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class KeyRequired:
    """ASGI middleware for a server with a login: the endpoints a login page can't protect (/v1, MCP) take the
    API key as a bearer token instead, and refuse everyone (401) while RAG_API_KEY is not set."""

    def __init__(self, app: Any, key: str | None, prefixes: tuple[str, ...]) -> None:
        self.app, self.key, self.prefixes = app, key, prefixes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        """Pass requests outside `prefixes`, and those with the key; refuse the rest in OpenAI's error shape."""
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if self.key is not None and bearer_matches(headers.get(b"authorization", b"").decode("latin-1"), self.key):
            await self.app(scope, receive, send)
            return
        await (WRONG_KEY if self.key is not None else NO_KEY).response()(scope, receive, send)


def key_required(settings: Settings, prefixes: tuple[str, ...]) -> dict[str, Any] | None:
    """KeyRequired's options for a server with a login (None without one: /v1 and MCP are as open as the page)."""
    if settings.ui_auth is None:
        return None
    key = settings.api_key.get_secret_value() if settings.api_key else None
    return {"key": key, "prefixes": prefixes}
