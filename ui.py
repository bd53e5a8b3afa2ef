"""Gradio chat UI: layout and event wiring only; what the events do, and the HTML, is in `webui/`, the work in `rag/`.

Run it::

    python ui.py                       # http://127.0.0.1:7860 (loopback only)
    python ui.py --host 0.0.0.0 --port 8080     # or GRADIO_SERVER_NAME / GRADIO_SERVER_PORT
    RAG_UI_AUTH=alice:s3cret python ui.py       # require a login
    RAG_ALLOW_UPLOAD=true python ui.py          # let users add documents (stored in corpus/uploads/)

On start it syncs the corpus into the store in the background (a full ingest the first
time, only changed files afterwards); the status line shows how that is going.

Scripts can call the same engine through the `ask` endpoint::

    from gradio_client import Client

    client = Client("http://127.0.0.1:7860/")  # add auth=("alice", "s3cret") when RAG_UI_AUTH is set
    result = client.predict("What did Japan pledge to the Philippines?", ["Philippines"], api_name="/ask")
    print(result["answer"])
    for citation in result["citations"]:
        print(citation["n"], citation["title"], citation["url"], citation["quote"])

`countries` may be None (no filter); a third argument, `docs`, limits the answer to the named
documents (file names or titles, as `rag ask --doc`). The result is what `rag ask --json` prints plus
"answer", the text with its [n] markers (`ask_json`, rag/serving/json_forms.py), as `rag mcp`'s `ask` tool.
Errors (an empty question, an unknown country...) come back as a `gradio_client` AppError carrying the message.
`/search` and `/countries` work the same way; all three are also MCP tools at
http://127.0.0.1:7860/gradio_api/mcp/, and the same process serves the OpenAI-compatible
API (rag/serving/api.py) at http://127.0.0.1:7860/v1.
"""

from __future__ import annotations

import webui  # noqa: F401 - first: it spares `import gradio` 2 s and the first answer 0.5 s (webui/gradio_setup.py)

# isort: split
import argparse
import contextlib
import faulthandler
import logging
import signal
import sys

import gradio as gr
import uvicorn
from fastapi import FastAPI

from rag import Engine, RagError, Settings
from rag.feedback import MAX_COMMENT_CHARS
from rag.serving.api import LOOPBACK, create_api, proxy_options
from rag.upload import ALLOWED_SUFFIXES
from webui.auth import KeyRequired, key_required
from webui.brief import NO_BRIEF_SOURCES
from webui.conversations import browser_state_secret
from webui.events import Events, country_choices, document_choices, new_session
from webui.render import NO_SOURCES, render_status
from webui.serving import ShutdownCancels, gradio_options, log_api_access
from webui.sync import CorpusSync

log = logging.getLogger("rag.ui")

SHUTDOWN_GRACE_S = 5  # seconds a stopping server waits for open requests and streams


def build_app(engine: Engine, settings: Settings, sync: CorpusSync | None = None) -> gr.Blocks:
    """The Gradio app: chat with sources, country view, status line, optional upload and the `ask` API."""
    events = Events(engine, settings, sync)
    sync = events.sync
    choices = country_choices(engine)

    words = settings.profile.ui  # the corpus profile's title, introduction and examples
    with gr.Blocks(title=words.title, analytics_enabled=False) as app:
        gr.Markdown(f"## {words.title}\n{words.intro}")
        status = gr.HTML(render_status(sync.describe()), elem_id="status")
        session = gr.State(new_session())
        seen = gr.State(sync.generation)
        saved = gr.BrowserState(
            [],
            storage_key="diplomatic-rag-conversations",
            secret=browser_state_secret(settings.feedback_file.parent / "browser-state.key"),
        )
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=190, elem_id="chats-panel"):
                new_chat = gr.Button("New chat", elem_id="new-chat", size="sm", variant="primary")
                chats = gr.Radio(choices=[], label="Saved chats", elem_id="chats")
                chat_title = gr.Textbox(
                    placeholder="Rename this chat", show_label=False, max_length=200, elem_id="chat-title"
                )
                with gr.Row():
                    rename_button = gr.Button("Rename", elem_id="rename-chat", size="sm", min_width=60)
                    delete_button = gr.Button("Delete", elem_id="delete-chat", size="sm", variant="stop", min_width=60)
                gr.Markdown("Export this chat")
                with gr.Row():
                    export_md = gr.DownloadButton(
                        "Markdown", elem_id="export-md", size="sm", interactive=False, min_width=60
                    )
                    export_json = gr.DownloadButton(
                        "JSON", elem_id="export-json", size="sm", interactive=False, min_width=60
                    )
            with gr.Column(scale=6), gr.Tabs() as tabs:
                with gr.Tab("Ask", id="ask"), gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(
                            elem_id="chat",
                            label="Chat",
                            show_label=False,
                            height=520,
                            render_markdown=False,  # messages are our own escaped HTML
                            latex_delimiters=[],  # and nothing in them is interpreted, not even $$math$$
                            sanitize_html=True,
                            feedback_options=("Like", "Dislike"),
                            buttons=["copy", "copy_all"],  # no "share": nothing leaves this machine
                            placeholder="Ask a question about the corpus, or pick an example below.",
                        )
                        with gr.Row():
                            question = gr.Textbox(
                                elem_id="question",
                                show_label=False,
                                placeholder=words.placeholder,
                                max_length=settings.max_question_chars,
                                autofocus=True,
                                scale=6,
                            )
                            ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1, min_width=80)
                        with gr.Row():
                            focus = gr.Dropdown(
                                choices=choices,
                                multiselect=True,
                                label="Country focus",
                                info="Answer only from passages that mention any of these.",
                                elem_id="focus",
                                scale=6,
                            )
                            doc_focus = gr.Dropdown(
                                choices=document_choices(engine),
                                multiselect=True,
                                label="Document focus",
                                info="Answer only from these documents.",
                                elem_id="doc-focus",
                                scale=6,
                            )
                            clear_button = gr.Button("Clear", elem_id="clear", scale=1, min_width=80)
                        with gr.Row():
                            comment = gr.Textbox(
                                placeholder="Optional comment, sent with your next thumbs up or down on an answer",
                                show_label=False,
                                max_length=MAX_COMMENT_CHARS,
                                elem_id="feedback-comment",
                                scale=6,
                            )
                            feedback_note = gr.HTML(elem_id="feedback-note")
                        if words.examples:
                            gr.Examples(list(words.examples), inputs=question, label="Examples")
                        if settings.allow_upload:
                            with gr.Accordion("Add a document", open=False, elem_id="add-document"):
                                upload = gr.File(
                                    label=f"{', '.join(ALLOWED_SUFFIXES)}; up to {settings.upload_max_mb:g} MB",
                                    file_types=list(ALLOWED_SUFFIXES),
                                    type="filepath",
                                    elem_id="upload",
                                )
                                upload_result = gr.HTML(elem_id="upload-result")
                            upload.upload(events.on_upload, upload, [upload_result, upload], api_visibility="private")
                    with gr.Column(scale=2, elem_id="sources-panel"):
                        gr.Markdown("### Sources")
                        sources = gr.HTML(NO_SOURCES, elem_id="sources", max_height=720)
                with gr.Tab("Countries", id="countries"), gr.Row(equal_height=False):
                    with gr.Column(scale=3):
                        country = gr.Dropdown(
                            choices=choices, value=None, label="Country or grouping", elem_id="country"
                        )
                        ask_country = gr.Button("Ask about", visible=False, elem_id="ask-country", variant="primary")
                        brief = gr.HTML(elem_id="brief")
                    with gr.Column(scale=2, elem_id="brief-panel"):
                        gr.Markdown("### Sources")
                        brief_sources = gr.HTML(NO_BRIEF_SOURCES, elem_id="brief-sources", max_height=720)

        country.change(events.show_country, country, [brief, brief_sources, ask_country], api_visibility="private")
        ask_country.click(events.ask_about, country, [question, focus, tabs], api_visibility="private")
        chat_event = {
            "fn": events.respond,
            "inputs": [question, focus, session, doc_focus],
            "outputs": [question, chatbot, sources, session],
            "concurrency_limit": settings.ui_concurrency,
            "concurrency_id": "chat",
            "api_visibility": "private",
        }
        answering = [question.submit(**chat_event), ask_button.click(**chat_event)]
        for asked in answering:
            asked.then(events.save, [session, saved], [saved, chats], api_visibility="private")
        # Leaving a chat stops its answer: one finishing later would write its session over the new chat's.
        leave = {"cancels": answering, "api_visibility": "private"}
        cleared = [question, chatbot, sources, session, chats]
        clear_button.click(events.clear, saved, cleared, **leave)
        new_chat.click(events.clear, saved, cleared, **leave).then(
            events.to_chat, None, tabs, queue=False, api_visibility="private"
        )
        chatbot.clear(events.clear, saved, cleared, **leave)
        chats.input(events.reopen, [chats, saved], [chatbot, sources, session], **leave).then(
            events.to_chat, None, tabs, queue=False, api_visibility="private"
        )
        rename_button.click(
            events.rename, [chat_title, session, saved], [saved, chats, chat_title], api_visibility="private"
        )
        delete_button.click(events.delete, [session, saved], [saved, *cleared], **leave)
        session.change(events.exports, session, [export_md, export_json], api_visibility="private")
        chatbot.like(events.rate, [session, comment], [feedback_note, comment], api_visibility="private")
        app.load(events.list_chats, saved, chats, api_visibility="private")
        timer = gr.Timer(2.0)
        timer.tick(
            events.tick,
            seen,
            [status, focus, country, doc_focus, seen],
            show_progress="hidden",
            queue=False,
            api_visibility="private",
        )
        gr.api(events.ask, api_name="ask", concurrency_limit=settings.ui_concurrency, concurrency_id="ask")
        gr.api(events.search, api_name="search", concurrency_limit=settings.ui_concurrency, concurrency_id="ask")
        gr.api(events.countries, api_name="countries", concurrency_limit=settings.ui_concurrency, concurrency_id="ask")
    return app


def build_server(engine: Engine, settings: Settings, sync: CorpusSync | None = None) -> FastAPI:
    """What `python ui.py` serves: the OpenAI-compatible API under /v1 and the Gradio app (with MCP) at /."""
    blocks = build_app(engine, settings, sync).queue(default_concurrency_limit=settings.ui_concurrency)
    api = create_api(engine)
    if (options := key_required(settings, ("/v1",))) is not None:
        api.add_middleware(KeyRequired, **options)  # Gradio's app, mounted below, guards MCP the same way
    log_api_access(settings)
    return gr.mount_gradio_app(api, blocks, path="/", **gradio_options(settings))


def main(argv: list[str] | None = None) -> int:
    """`python ui.py [--host H] [--port P] [--no-sync]`."""
    settings = Settings()
    parser = argparse.ArgumentParser(prog="python ui.py", description="Serve the chat UI.")
    parser.add_argument("--host", default=settings.ui_host, help="interface to bind (default %(default)s)")
    parser.add_argument("--port", type=int, default=settings.ui_port, help="port (default %(default)s)")
    parser.add_argument("--no-sync", action="store_true", help="serve the store as it is; don't sync the corpus")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # `kill -USR1 <pid>` prints every thread's stack to stderr: how a hung server says where it hangs (Windows has
    # no SIGUSR1, nor faulthandler.register).
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    try:
        engine = Engine.from_settings(settings, preload=True)  # the model loads while the page is built
        sync = CorpusSync(engine)
        if not args.no_sync:
            sync.start()
        if args.host not in LOOPBACK and settings.ui_auth is None:
            log.warning("serving on %s without RAG_UI_AUTH: anyone who can reach it can ask", args.host)
        config = uvicorn.Config(
            build_server(engine, settings, sync),
            host=args.host,
            port=args.port,
            log_level="warning",
            # An open page holds a stream open for as long as it is open: without a limit, Ctrl-C, `docker stop`
            # or systemd waited for every browser tab to close. Answers under way get this long to finish.
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            **proxy_options(settings),
        )
        logging.getLogger("uvicorn.error").addFilter(ShutdownCancels())  # after Config has set up uvicorn's logging
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is stopped (uvicorn.run swallows it too)
            uvicorn.Server(config).run()
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
