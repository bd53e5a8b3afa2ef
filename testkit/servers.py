"""Servers the tests and benchmarks start, written once: ports, `chroma run`, `llama_cpp.server`, `python ui.py`.

Every server runs under a guard that kills it when the process that started it dies (Linux's
PR_SET_PDEATHSIG), so a test run that crashes or is killed leaves no orphaned server behind.

Run as a script, this file is that guard: `python testkit/servers.py PARENT_PID COMMAND...`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def guarded(command: list[str]) -> list[str]:
    """`command`, run so that it is killed (SIGTERM) when this process dies, however it dies."""
    return [sys.executable, str(Path(__file__).resolve()), str(os.getpid()), *command]


def start_guarded(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `command` under the guard, its output to `log` (a file: a pipe could fill and block it)."""
    with log.open("wb") as out:
        return subprocess.Popen(guarded(command), stdout=out, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """Terminate `process` if it still runs; kill it if it won't go."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_until(ready: Callable[[], bool], process: subprocess.Popen, log: Path, what: str, timeout: float) -> None:
    """Poll `ready()` until it holds; raise with the log's tail if `process` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            state = f"exited with {process.returncode}" if process.poll() is not None else f"not up in {timeout:.0f} s"
            raise RuntimeError(f"{what} {state}:\n{tail}")
        time.sleep(0.2)


def answers(url: str, headers: dict[str, str] | None = None) -> bool:
    """True when a GET of `url` succeeds."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2):
            return True
    except OSError:
        return False


# --- Chroma -----------------------------------------------------------------------------------------


class ChromaServer(NamedTuple):
    """Where a started `chroma run` listens, and its process id (for memory figures)."""

    host: str
    port: int
    pid: int


@contextmanager
def chroma_server(workdir: Path, port: int | None = None) -> Iterator[ChromaServer]:
    """`chroma run` on loopback (a free port unless given), storing under `workdir`; stopped on exit."""
    host, port = "127.0.0.1", port or free_port()
    command = [str(VENV_BIN / "chroma"), "run", "--path", str(workdir / "data"), "--host", host, "--port", str(port)]
    log = workdir / "chroma_server.log"
    process = start_guarded(command, log)
    try:
        wait_until(lambda: answers(f"http://{host}:{port}/api/v2/heartbeat"), process, log, "`chroma run`", 60)
        yield ChromaServer(host, port, process.pid)
    finally:
        stop(process)


# --- llama.cpp server -------------------------------------------------------------------------------


@dataclass
class LlamaServer:
    """The bundled SmolLM2 behind an OpenAI-compatible `llama_cpp.server`, through our CPU-safe launcher."""

    log: Path
    api_key: str
    port: int = field(default_factory=free_port)
    n_ctx: int = 4096
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Its OpenAI-compatible base URL."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120) -> str:
        """Start it and wait until /v1/models answers; returns the base URL."""
        from rag.answering.llm import bundled_gguf

        command = [
            *(sys.executable, "-m", "rag.llama_server", "--model", str(bundled_gguf("smollm2"))),
            *("--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(self.port)),
            *("--n_ctx", str(self.n_ctx), "--api_key", self.api_key),
        ]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
        self.process = start_guarded(command, self.log, env=env)
        auth = {"Authorization": f"Bearer {self.api_key}"}
        wait_until(lambda: answers(f"{self.url}/models", auth), self.process, self.log, "llama_cpp.server", timeout)
        return self.url

    def stop(self) -> None:
        """Stop it if it runs."""
        stop(self.process, timeout=20)


# --- the UI and other ASGI apps ----------------------------------------------------------------------


@contextmanager
def ui_process(env: dict[str, str], log: Path, *args: str, timeout: float = 300) -> Iterator[str]:
    """`python ui.py ARGS` on a free loopback port, as a user starts it; yields its URL once it answers."""
    port = free_port()
    process = start_guarded([sys.executable, str(REPO / "ui.py"), "--port", str(port), *args], log, env)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until(lambda: answers(url), process, log, "python ui.py", timeout)
        yield url
    finally:
        stop(process)


@contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """An ASGI app (the API, or ui.build_server) under uvicorn in a thread on a free loopback port; yields its URL."""
    import threading

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


# --- in-process native code, isolated ----------------------------------------------------------------


def run_isolated(function: Callable[..., Any], *args: Any, timeout: float = 600) -> Any:
    """`function(*args)` in a fresh process; a native crash there fails the caller with the signal's name.

    llama.cpp can die with SIGSEGV on some CPUs; in-process that would end the whole test run.
    `function`, its arguments and its result must be picklable (a module-level function).
    """
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_call_and_send, args=(send, function, args), daemon=True)
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise AssertionError(f"{function.__name__} did not finish within {timeout:.0f} s")
        outcome, value = receive.recv()
    except EOFError:  # the process died without sending anything
        process.join(10)
        code = process.exitcode
        how = signal.Signals(-code).name if code is not None and code < 0 else f"exit code {code}"
        raise AssertionError(f"{function.__name__} crashed its process ({how}): a native crash, not a result") from None
    finally:
        if process.is_alive():
            process.kill()
        process.join(10)
    if outcome == "error":
        raise value
    return value


def ask_in_fresh_engine(settings: Any, backend: str, questions: list[str]) -> list[Any]:
    """Answers to `questions` from a new Engine over `settings`' store: for `run_isolated` (native backends)."""
    from rag.engine import Engine
    from rag.storage.embeddings import Embedder
    from rag.storage.store import Store

    engine = Engine(settings, Store(settings), Embedder.from_settings(settings), backend)
    return [engine.ask(question) for question in questions]


def _call_and_send(send: Any, function: Callable[..., Any], args: tuple) -> None:
    try:
        outcome = ("ok", function(*args))
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the caller to raise
        outcome = ("error", exc)
    send.send(outcome)


def _exec_with_parent(parent: int, command: list[str]) -> None:
    """Become `command`, set to receive SIGTERM when `parent` dies (the setting survives exec)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the setting took hold
        sys.exit(1)
    os.execvp(command[0], command)


if __name__ == "__main__":
    _exec_with_parent(int(sys.argv[1]), sys.argv[2:])
