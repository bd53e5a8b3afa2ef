"""How the Gradio app is served: theme, CSS, login, MCP, alone (`launch`) or beside the API (`ui.build_server`)."""

from __future__ import annotations

import asyncio
import logging
from importlib.resources import files
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from rag import Settings
from rag.serving.api import LOOPBACK
from webui.auth import MCP_PATH, KeyRequired, LoginThrottle, key_required, login

log = logging.getLogger("rag.ui")

CSS = files("webui").joinpath("style.css").read_text(encoding="utf-8")
THEME = gr.themes.Soft(primary_hue="indigo")


def gradio_options(settings: Settings) -> dict[str, Any]:
    """How the app is served, alone (`launch`) or mounted beside the API (`build_server`)."""
    return {
        "auth": login(settings),
        "theme": THEME,
        "css": CSS,
        "show_error": False,
        "max_file_size": int(settings.upload_max_mb * 1e6),
        "ssr_mode": False,
        "mcp_server": True,  # the ask/search/countries endpoints as MCP tools at /gradio_api/mcp/
        "app_kwargs": {"middleware": _login_middleware(settings)} if settings.ui_auth is not None else None,
    }


def _login_middleware(settings: Settings) -> list[Middleware]:
    """With a login: the throttle on failed logins, and the API key required by the MCP tools."""
    return [Middleware(LoginThrottle), Middleware(KeyRequired, **key_required(settings, (MCP_PATH,)))]


def log_api_access(settings: Settings) -> None:
    """A start-up line when the login closes /v1 and MCP, saying how to open them."""
    if settings.ui_auth is not None and settings.api_key is None:
        log.warning(
            "RAG_UI_AUTH is set and RAG_API_KEY is not: /v1 and MCP refuse every request (401); "
            "set RAG_API_KEY to serve them to clients sending `Authorization: Bearer <key>`"
        )


def launch(app: gr.Blocks, settings: Settings, host: str, port: int, **kwargs: Any) -> tuple:
    """Serve the Gradio app alone on host:port with our theme and CSS, the optional login, and no share link."""
    if host not in LOOPBACK and settings.ui_auth is None:
        log.warning("serving on %s without a login; set RAG_UI_AUTH=user:password", host)
    log_api_access(settings)
    return app.queue(default_concurrency_limit=settings.ui_concurrency).launch(
        server_name=host, server_port=port, share=False, **gradio_options(settings), **kwargs
    )


class ShutdownCancels(logging.Filter):
    """uvicorn's records of the requests it cancels when the shutdown grace runs out, as one INFO line.

    An open page holds a stream open for as long as it is open, so a stop with a page open always ends that
    way: uvicorn's ERROR line and the CancelledError traceback of each such request would read as a fault.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Downgrade the "Cancel N running task(s)" line; drop the cancelled requests' tracebacks."""
        if record.msg.startswith("Cancel %s running task(s)"):
            record.msg = "stopping: %s open request(s) (an open page's stream, say) cancelled at the end of the grace"
            record.levelno, record.levelname = logging.INFO, "INFO"
        elif record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            return False
        return True
