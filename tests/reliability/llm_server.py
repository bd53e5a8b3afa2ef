"""A scripted OpenAI-compatible server on loopback: it answers chat completions with exactly the bytes a test
chooses (a slow trickle of valid chunks, malformed events, a body that isn't JSON), over real HTTP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Script = Callable[["Reply"], None]


@dataclass
class Reply:
    """What the script writes to: the response being sent, and what the server saw of the client."""

    handler: BaseHTTPRequestHandler
    log: ScriptedServer

    def head(self, content_type: str) -> None:
        """Status 200 and a content type; the body runs until the connection closes (HTTP/1.0)."""
        self.handler.send_response(200)
        self.handler.send_header("Content-Type", content_type)
        self.handler.end_headers()

    def send(self, data: bytes) -> bool:
        """Write `data` now; False once the client has gone (the time is recorded)."""
        try:
            self.handler.wfile.write(data)
            self.handler.wfile.flush()
            return True
        except OSError:
            self.log.client_left = time.monotonic()
            return False


@dataclass
class ScriptedServer:
    """The running server: its /v1 URL, and when (monotonic time) a client hung up mid-response."""

    url: str = ""
    client_left: float | None = None
    requests: int = 0
    bodies: list[dict] = field(default_factory=list)  # each request's JSON body, in order
    server: ThreadingHTTPServer | None = field(default=None, repr=False)


def event(text: str) -> bytes:
    """One valid chat-completion chunk as a server-sent event."""
    chunk = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()


def trickle(words: list[str], every: float) -> Script:
    """A stream that sends one valid chunk every `every` seconds, then [DONE]."""

    def script(reply: Reply) -> None:
        reply.head("text/event-stream")
        for word in words:
            if not reply.send(event(word)):
                return
            time.sleep(every)
        reply.send(b"data: [DONE]\n\n")

    return script


def raw(content_type: str, body: bytes) -> Script:
    """A response whose body is exactly `body`."""

    def script(reply: Reply) -> None:
        reply.head(content_type)
        reply.send(body)

    return script


@contextmanager
def serve(script: Script) -> Iterator[ScriptedServer]:
    """Run a server that answers every POST with `script`; yields it, and stops it afterwards."""
    state = ScriptedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}"))
            state.requests += 1
            script(Reply(self, state))

        def log_message(self, *args: object) -> None:  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.server, state.url = server, f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, name="scripted-llm", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
