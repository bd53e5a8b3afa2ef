"""Concurrent clients asking through the UI's `ask` API, with an ingest running part of the time.

    python -m benchmarks.load [--clients 16] [--seconds 30] [--extra-chunks 120]

Starts `python ui.py` (extractive backend) on a free loopback port over a temporary store
holding the shipped corpus. The clients run in their own process (one `gradio_client` each,
in threads), so the server's figures aren't diluted by client work sharing its GIL.
A third of the way in, `rag ingest` adds a folder of extra documents from another process while
the clients keep asking; the load goes on until both the time is up and the ingest has finished. Afterwards
a question only the new documents answer must be answered from them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

from testkit.cli import RAG_COMMAND, rag_env, run_rag
from testkit.servers import ui_process

REPO = Path(__file__).resolve().parents[1]
NEEDLE_DOC = "zephyrine-accord.md"
NEEDLE_QUESTION = "What does the Zephyrine Harbour Accord fund?"
NEEDLE_FACT = "fourteen patrol boats"
WARM_UP = ("What did Japan pledge to the Philippines?", None)  # (question, countries) for the `ask` API
READERS_FOLLOW_S = 2.0  # a reader picks up another process's finished write about a second after it ends


@dataclass
class Request:
    """One `ask` call as a client saw it."""

    started: float  # time.time(), comparable across processes
    seconds: float
    problem: str | None  # None: a valid answer came back
    abstained: bool | None = None


def answer_problem(result: Any) -> str | None:
    """Why `result` is not a valid `ask` answer (answer text, citations list, abstained flag), or None."""
    if not isinstance(result, dict):
        return f"not a dict: {type(result).__name__}"
    if not isinstance(result.get("answer"), str) or not result["answer"].strip():
        return f"no answer text: {result.get('answer')!r}"
    if not isinstance(result.get("citations"), list):
        return f"citations is not a list: {result.get('citations')!r}"
    if not isinstance(result.get("abstained"), bool):
        return f"abstained is not a bool: {result.get('abstained')!r}"
    if not result["abstained"] and not result["citations"]:
        return "an answer without citations"
    return None


def ask_until(
    url: str,
    questions: list[tuple[str, list[str] | None]],
    first: int,
    start: threading.Barrier,
    stop: Any,
    answered: Any,
) -> list[Request]:
    """One client: connect, wait for the others, then ask question after question until `stop` is set."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
        start.wait(timeout=120)
    except Exception as exc:  # noqa: BLE001 - reported as this client's failure, and the others stop
        start.abort()
        return [Request(time.time(), 0.0, f"could not start: {type(exc).__name__}: {exc}")]
    requests, i = [], first
    while not stop.is_set():
        question, countries = questions[i % len(questions)]
        i += 1
        started, clock = time.time(), time.perf_counter()
        try:
            result = client.predict(question, countries, api_name="/ask")
            problem = answer_problem(result)
        except Exception as exc:  # noqa: BLE001 - every failure is a finding, whatever its type
            result, problem = None, f"{type(exc).__name__}: {exc}"
        abstained = result.get("abstained") if isinstance(result, dict) else None
        requests.append(Request(started, time.perf_counter() - clock, problem, abstained))
        with answered.get_lock():
            answered.value += 1
    return requests


def run_clients(
    url: str, questions: list[tuple[str, list[str] | None]], clients: int, stop: Any, answered: Any
) -> list[Request]:
    """`clients` concurrent clients asking until `stop` (an Event) is set; `answered` counts finished requests."""
    start = threading.Barrier(clients)
    results: list[list[Request]] = [[] for _ in range(clients)]

    def client(n: int) -> None:
        results[n] = ask_until(url, questions, n * 7, start, stop, answered)

    threads = [threading.Thread(target=client, args=(n,), name=f"client-{n}") for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [r for rs in results for r in rs]


def _client_process(url: str, questions: list, clients: int, stop: Any, answered: Any, out: Any) -> None:
    out.put([astuple(r) for r in run_clients(url, questions, clients, stop, answered)])  # tuples cross processes


def wait_for_answers(answered: Any, target: int, worker: Any, timeout: float = 300) -> None:
    """Block until `target` requests have finished (the clients' own pace, not a guessed sleep)."""
    deadline = time.monotonic() + timeout
    while answered.value < target:
        if not worker.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the clients stopped after {answered.value} of {target} requests")
        time.sleep(0.05)


def eval_questions() -> list[tuple[str, list[str] | None]]:
    """Eval questions; every third one filtered on the countries it names (as the UI's focus would)."""
    import json

    from ingest.countries import find_countries

    items = [
        json.loads(line)["question"]
        for split in ("dev", "test")
        for line in (REPO / "eval" / "datasets" / f"{split}.jsonl").read_text().splitlines()
        if line.strip()
    ]
    return [(q, (find_countries(q) or None) if n % 3 == 0 else None) for n, q in enumerate(items)]


def write_extra_documents(folder: Path, chunks: int) -> Path:
    """A needle document only it answers NEEDLE_QUESTION from, plus filler making about `chunks` 900-char chunks."""
    from benchmarks.scale import SyntheticText

    folder.mkdir(parents=True, exist_ok=True)
    (folder / NEEDLE_DOC).write_text(
        '---\ntitle: "The Zephyrine Harbour Accord"\ndate: 2025-03-01\n---\n\n# The Zephyrine Harbour Accord\n\n'
        f"The Zephyrine Harbour Accord, signed by Japan and Fiji in March 2025, funds {NEEDLE_FACT} "
        "for the Fijian navy. Deliveries start in 2026 at the port of Lautoka.\n",
        encoding="utf-8",
    )
    text = SyntheticText(7)
    for d in range(max(chunks // 5, 1)):
        paragraphs = "\n\n".join(" ".join(text.section() for _ in range(8)) for _ in range(5))  # ~5 chunks
        (folder / f"filler_{d:03d}.md").write_text(f'---\ntitle: "Filler {d}"\n---\n\n{paragraphs}\n', "utf-8")
    return folder


@dataclass
class LoadReport:
    """What a load run saw."""

    requests: list[Request]
    window: tuple[float, float]  # first start, last end (time.time())
    ingest: tuple[float, float]  # ingest start, end (time.time())
    ingest_chunks: int

    def overlaps_ingest(self, request: Request) -> bool:
        """True when `request` was in flight at some point during the ingest."""
        start, end = self.ingest
        return request.started < end and request.started + request.seconds > start

    def during_ingest(self) -> list[Request]:
        """Requests that overlapped the ingest."""
        return [r for r in self.requests if self.overlaps_ingest(r)]

    def answered_between(self, start: float, end: float) -> int:
        """How many requests finished in [start, end]: the throughput of that stretch, whenever they began."""
        return sum(1 for r in self.requests if start <= r.started + r.seconds <= end)

    def problems(self) -> list[str]:
        """Every failed or invalid request's problem."""
        return [r.problem for r in self.requests if r.problem]


def run_load(
    url: str,
    ingest: Callable[[], int],
    questions: list[tuple[str, list[str] | None]],
    clients: int,
    seconds: float = 0.0,
    in_process: bool = False,
) -> LoadReport:
    """Clients ask; `ingest` runs once each client has had about one answer; the load then goes on until
    about two more answers per client have come back after the ingest, and for at least `seconds` in all."""
    context = multiprocessing.get_context("spawn")  # no fork of a process holding torch and Chroma threads
    answered = context.Value("i", 0)
    if in_process:
        stop: Any = threading.Event()
        box: list[list[Request]] = []
        worker: Any = threading.Thread(target=lambda: box.append(run_clients(url, questions, clients, stop, answered)))
    else:
        stop, out = context.Event(), context.Queue()
        worker = context.Process(target=_client_process, args=(url, questions, clients, stop, answered, out))
    begun = time.time()
    worker.start()
    try:
        wait_for_answers(answered, clients, worker)
        ingest_start = time.time()
        chunks = ingest()
        ingest_end = time.time()
        wait_for_answers(answered, answered.value + 2 * clients, worker)  # requests wholly after the ingest
        time.sleep(max(0.0, begun + seconds - time.time()))
    finally:
        stop.set()
    if in_process:
        worker.join()
        requests = box[0]
    else:
        requests = [Request(*r) for r in out.get()]
        worker.join()
    window = (min(r.started for r in requests), max(r.started + r.seconds for r in requests))
    return LoadReport(requests, window, (ingest_start, ingest_end), chunks)


def summary(name: str, requests: list[Request], answered: int, seconds: float) -> str:
    """One line: requests, answers per second (`answered` in `seconds`), latency p50 / p95, errors, abstentions."""
    import numpy as np

    if not requests:
        return f"{name:<22} no requests"
    latencies = [r.seconds * 1000 for r in requests]
    return (
        f"{name:<22} {len(requests):>5} requests {answered / seconds:>6.1f} answers/s   "
        f"p50 {np.percentile(latencies, 50):>6.0f} ms  p95 {np.percentile(latencies, 95):>6.0f} ms  "
        f"errors {sum(1 for r in requests if r.problem)}  abstained {sum(1 for r in requests if r.abstained)}"
    )


def rag(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """`rag ARGS`'s output; its error ends the benchmark."""
    run = run_rag([*RAG_COMMAND, *args], env, cwd, timeout=1800)
    if run.returncode:
        raise SystemExit(f"rag {' '.join(args)} failed:\n{run.stderr}")
    return run.stdout


def main() -> None:
    """Serve, load, ingest under load, check the new content is answerable, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--extra-chunks", type=int, default=120, help="size of the ingest run under load")
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    args = parser.parse_args()

    from gradio_client import Client

    with tempfile.TemporaryDirectory(prefix="rag_load_") as tmp:
        base = Path(tmp)
        shutil.copytree(args.corpus, base / "corpus", ignore=shutil.ignore_patterns("uploads"))
        env = rag_env(RAG_CORPUS_DIR=base / "corpus", RAG_STORE_DIR=base / "store", RAG_LLM_BACKEND="extractive")
        print(f"ingesting {args.corpus} ...", flush=True)
        print(rag(["ingest"], env, base), flush=True)
        extra = write_extra_documents(base / "corpus" / "extra", args.extra_chunks)
        with ui_process(env, base / "ui.log", "--no-sync") as url:
            Client(url, verbose=False).predict(*WARM_UP, api_name="/ask")  # the model and the BM25 index loaded
            print(f"{args.clients} clients for {args.seconds:.0f} s against {url} ...", flush=True)
            report = run_load(
                url,
                lambda: json.loads(rag(["ingest", "--json", str(extra)], env, base))["embedded"],
                eval_questions(),
                args.clients,
                args.seconds,
            )
            time.sleep(READERS_FOLLOW_S)  # the UI sees another process's writes about a second after they end
            needle = Client(url, verbose=False).predict(NEEDLE_QUESTION, None, api_name="/ask")

    start, end = report.window
    ingest_start, ingest_end = report.ingest
    during = report.during_ingest()
    steady = [r for r in report.requests if not report.overlaps_ingest(r)]
    took = ingest_end - ingest_start
    print(f"\nwindow {end - start:.1f} s; ingest of {report.ingest_chunks} chunks took {took:.1f} s (under load)")
    in_ingest = report.answered_between(ingest_start, ingest_end)
    print(summary("all", report.requests, len(report.requests), end - start))
    print(summary("outside the ingest", steady, len(report.requests) - in_ingest, end - start - took))
    print(summary("during the ingest", during, in_ingest, took))
    for problem in sorted(set(report.problems()))[:10]:
        print(f"  problem: {problem}")
    cited = [c.get("doc_id") for c in needle.get("citations", [])]
    found = not needle.get("abstained") and any(str(d).endswith(NEEDLE_DOC) for d in cited)
    print(f"after the ingest, {NEEDLE_QUESTION!r}: {'answered from the new document' if found else 'NOT answered'}")
    print(f"  {needle.get('answer')!r}")


if __name__ == "__main__":
    main()
