"""Requests/s and latency of `/v1/chat/completions` and of the Gradio `ask` API at 1, 4 and 16 concurrent clients.

    python -m benchmarks.api_load [--clients 1 4 16] [--seconds 15]

Starts `python ui.py` (the API and the Gradio app in one uvicorn process, extractive backend) on a
free loopback port over a temporary store holding the shipped corpus. For each
level, the OpenAI-compatible endpoint and then the Gradio `ask` endpoint get that many clients
asking eval questions back to back for `--seconds`. The clients run in a process of their own
(threads, one HTTP client each), so their work doesn't share the server's GIL.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import threading
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any

from benchmarks.load import REPO, WARM_UP, Request, eval_questions, rag, run_clients
from testkit.cli import rag_env
from testkit.servers import ui_process

Questions = list[tuple[str, list[str] | None]]


def completion_problem(reply: Any) -> str | None:
    """Why an HTTP reply is not a valid chat completion with its sources, or None."""
    if reply.status_code != 200:
        return f"HTTP {reply.status_code}: {reply.text[:200]}"
    message = reply.json()["choices"][0]["message"]
    if not message["abstained"] and ("\n\nSources:\n" not in message["content"] or not message["citations"]):
        return "an answer without its sources"
    return None


def chat_until(url: str, questions: Questions, first: int, start: threading.Barrier, stop: Any) -> list[Request]:
    """One OpenAI-protocol client: wait for the others, then post question after question until `stop`."""
    import httpx

    requests, i = [], first
    with httpx.Client(base_url=url, timeout=120) as client:
        start.wait(timeout=120)
        while not stop.is_set():
            question, countries = questions[i % len(questions)]
            i += 1
            body = {"model": "rag", "messages": [{"role": "user", "content": question}], "countries": countries}
            started, clock = time.time(), time.perf_counter()
            try:
                reply = client.post("/v1/chat/completions", json=body)
                problem, abstained = completion_problem(reply), None
                if problem is None:
                    abstained = reply.json()["choices"][0]["message"]["abstained"]
            except Exception as exc:  # noqa: BLE001 - every failure is a finding, whatever its type
                problem, abstained = f"{type(exc).__name__}: {exc}", None
            requests.append(Request(started, time.perf_counter() - clock, problem, abstained))
    return requests


def run_chat_clients(url: str, questions: Questions, clients: int, stop: Any) -> list[Request]:
    """`clients` concurrent chat clients until `stop` is set."""
    start = threading.Barrier(clients)
    results: list[list[Request]] = [[] for _ in range(clients)]

    def client(n: int) -> None:
        results[n] = chat_until(url, questions, n * 7, start, stop)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for rs in results for r in rs]


def _level(kind: str, url: str, questions: Questions, clients: int, seconds: float, out: Any) -> None:
    stop = threading.Event()
    threading.Timer(seconds, stop.set).start()
    if kind == "chat":
        requests = run_chat_clients(url, questions, clients, stop)
    else:
        requests = run_clients(url, questions, clients, stop, multiprocessing.Value("i", 0))
    out.put([astuple(r) for r in requests])


def measure(kind: str, url: str, questions: Questions, clients: int, seconds: float) -> list[Request]:
    """One level: `clients` clients of `kind` ("chat" or "gradio") for `seconds`, in a process of their own."""
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch and Chroma threads
    out = context.Queue()
    worker = context.Process(target=_level, args=(kind, url, questions, clients, seconds, out))
    worker.start()
    requests = [Request(*r) for r in out.get(timeout=seconds + 600)]
    worker.join()
    return requests


def line(name: str, clients: int, requests: list[Request]) -> str:
    """One table row: requests/s over the window, p50/p95 latency, errors."""
    import numpy as np

    if not requests:
        return f"| {name} | {clients} | 0 | - | - | - | - |"
    window = max(r.started + r.seconds for r in requests) - min(r.started for r in requests)
    ok = [r.seconds * 1000 for r in requests if not r.problem]
    p50, p95 = (f"{np.percentile(ok, q):.0f}" for q in (50, 95)) if ok else ("-", "-")
    errors = sum(1 for r in requests if r.problem)
    return f"| {name} | {clients} | {len(requests)} | {len(requests) / window:.1f} | {p50} | {p95} | {errors} |"


def main() -> None:
    """Serve, load each endpoint at each level, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    from gradio_client import Client

    questions = eval_questions()
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag_api_load_") as tmp:
        base = Path(tmp)
        shutil.copytree(REPO / "corpus", base / "corpus", ignore=shutil.ignore_patterns("uploads"))
        env = rag_env(RAG_CORPUS_DIR=base / "corpus", RAG_STORE_DIR=base / "store", RAG_LLM_BACKEND="extractive")
        print(rag(["ingest"], env, base), flush=True)
        with ui_process(env, base / "ui.log", "--no-sync") as url:
            Client(url, verbose=False).predict(*WARM_UP, api_name="/ask")  # the model and the BM25 index loaded
            url = url.rstrip("/")
            for clients in args.clients:
                for kind, name, target in (("chat", "/v1/chat/completions", url), ("gradio", "Gradio ask", url + "/")):
                    print(f"{name}: {clients} clients for {args.seconds:.0f} s ...", flush=True)
                    rows.append(line(name, clients, measure(kind, target, questions, clients, args.seconds)))
    import os

    print(f"\nload average over the last 5 minutes: {os.getloadavg()[1]:.1f} ({os.cpu_count()} cores)")
    print("\n| endpoint | clients | requests | requests/s | p50 ms | p95 ms | errors |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
