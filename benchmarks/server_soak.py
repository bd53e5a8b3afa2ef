"""Soak against a Chroma server: two `rag serve` replicas share one `chroma run` while a third process ingests.

    python -m benchmarks.server_soak [--seconds 120] [--askers 4]

Starts `chroma run` on a free loopback port, ingests a copy of the tiny test corpus into it, and serves
it from two `rag serve` replicas (extractive backend, CHROMA_HOST set). `--askers` clients per replica
post questions to `/v1/chat/completions` back to back for `--seconds`, while a loop of `rag ingest`
runs in a third process, adding and deleting small documents about made-up compacts. After each of
those ingests, each replica is asked about the document just added (or deleted) until its answer
follows: that wait is the replica's lag behind the store.

Prints answers, errors (must be 0), stale answers (begun more than GRACE_S after an ingest removed a
document, yet citing it; must be 0), and the replicas' lag (median and worst).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np

from benchmarks.api_load import completion_problem
from testkit.servers import REPO, answers, chroma_server, free_port, start_guarded, stop, wait_until

TINY_CORPUS = REPO / "tests" / "data" / "tiny_corpus"
NAMES = ["Amber", "Birch", "Cedar", "Dune"]
GRACE_S = 5.0  # an answer begun this long after an ingest removed a document must not cite it
RAG = [sys.executable, "-m", "rag.serving.cli"]
FOLLOW_LIMIT_S = 60.0  # a replica not following within this long counts as an error


def rotating_doc(name: str) -> str:
    """A document that comes and goes, about a made-up compact only it mentions."""
    return (
        f"---\ntitle: {name} Compact\n---\n\n# {name} Compact\n\n"
        f"Fiji and Samoa signed the {name} Compact to build solar ferries between their islands. "
        f"Under the {name} Compact each country funds four ferries and a repair yard by 2027.\n"
    )


def question(name: str) -> str:
    """The question only `name`'s compact answers."""
    return f"How many solar ferries does each country fund under the {name} Compact?"


def cited(client: httpx.Client, text: str) -> tuple[list[str], str | None]:
    """(doc ids cited, problem) of one chat completion."""
    reply = client.post("/v1/chat/completions", json={"model": "rag", "messages": [{"role": "user", "content": text}]})
    problem = completion_problem(reply)
    if problem:
        return [], problem
    return [c["doc_id"] for c in reply.json()["choices"][0]["message"]["citations"]], None


class Soak:
    """The shared record of a run: answers, errors, when each rotating document came and went, replica lags."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: list[tuple[float, float, list[str]]] = []
        self.errors: list[str] = []
        self.removed: dict[str, list[float]] = {}  # doc -> when ingests that deleted it ended
        self.added: dict[str, list[float]] = {}  # doc -> when ingests that added it began
        self.lags: dict[str, list[float]] = {}  # replica url -> seconds to follow each ingest

    def error(self, message: str) -> None:
        """Count a failure."""
        with self.lock:
            self.errors.append(message)

    def stale(self) -> list[tuple[float, float, list[str]]]:
        """Answers begun GRACE_S after a document's removal that cite it, with no re-adding in between."""
        out = []
        for started, ended, docs in self.answers:
            for doc in docs:
                gone = [t for t in self.removed.get(doc, []) if t + GRACE_S < started]
                if gone and not any(gone[-1] < t <= ended for t in self.added.get(doc, [])):
                    out.append((started, ended, docs))
                    break
        return out


def ask_loop(url: str, n: int, soak: Soak, stop_at: float) -> None:
    """One client of one replica: rotating questions until `stop_at`."""
    with httpx.Client(base_url=url, timeout=300) as client:
        i = n
        while time.time() < stop_at:
            started = time.time()
            try:
                docs, problem = cited(client, question(NAMES[i % len(NAMES)]))
            except httpx.HTTPError as exc:
                docs, problem = [], f"{type(exc).__name__}: {exc}"
            if problem:
                soak.error(f"{url}: {problem}")
            else:
                with soak.lock:
                    soak.answers.append((started, time.time(), docs))
            i += 1


def wait_to_follow(url: str, name: str, present: bool, soak: Soak) -> None:
    """Ask `url` about `name`'s compact until its answer cites the document (or stops citing it); record the lag."""
    doc = f"{name.lower()}_compact.md"
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=300) as client:
        while time.monotonic() - started < FOLLOW_LIMIT_S:
            docs, problem = cited(client, question(name))
            if problem is None and (doc in docs) == present:
                with soak.lock:
                    soak.lags.setdefault(url, []).append(time.monotonic() - started)
                return
            time.sleep(0.1)
    soak.error(f"{url} did not follow the ingest of {doc} ({'added' if present else 'deleted'}) in {FOLLOW_LIMIT_S} s")


def ingest_loop(corpus: Path, pool: Path, env: dict, urls: list[str], soak: Soak, stop_at: float) -> int:
    """The third process: add or delete one rotating document per `rag ingest`; then time the replicas' lag."""
    i = 0
    while time.time() < stop_at:
        name = NAMES[i % len(NAMES)]
        doc = f"{name.lower()}_compact.md"
        present = not (corpus / doc).exists()
        if present:
            shutil.copy(pool / doc, corpus / doc)
            with soak.lock:
                soak.added.setdefault(doc, []).append(time.time())
        else:
            (corpus / doc).unlink()
        run = subprocess.run([*RAG, "ingest"], env=env, capture_output=True, text=True)
        if run.returncode:
            soak.error(f"rag ingest: {run.stderr[-500:]}")
        if not present:
            with soak.lock:
                soak.removed.setdefault(doc, []).append(time.time())
        followers = [threading.Thread(target=wait_to_follow, args=(url, name, present, soak)) for url in urls]
        for thread in followers:
            thread.start()
        for thread in followers:
            thread.join()
        i += 1
    return i


def main() -> None:
    """Start the server, the replicas and the ingest loop; ask; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--askers", type=int, default=4, help="clients per replica")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, chroma_server(Path(tmp)) as server:
        base = Path(tmp)
        corpus, pool = base / "corpus", base / "pool"
        shutil.copytree(TINY_CORPUS, corpus)
        pool.mkdir()
        for name in NAMES:
            (pool / f"{name.lower()}_compact.md").write_text(rotating_doc(name), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "CHROMA_"))}
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))),
            CHROMA_HOST=server.host,
            CHROMA_PORT=str(server.port),
            RAG_CORPUS_DIR=str(corpus),
            RAG_STORE_DIR=str(base / "local"),  # the writers' lock lives here; the chunks live on the server
            RAG_LLM_BACKEND="extractive",
        )
        subprocess.run([*RAG, "ingest"], env=env, check=True, capture_output=True)
        replicas, urls = [], []
        try:
            for n in range(2):
                port = free_port()
                log = base / f"replica{n}.log"
                command = [*RAG, "serve", "--port", str(port)]
                replicas.append(process := start_guarded(command, log, env))
                urls.append(url := f"http://127.0.0.1:{port}")
                wait_until(lambda url=url: answers(f"{url}/v1/models"), process, log, f"replica {n}", 300)
            print(f"2 replicas of `rag serve` on one `chroma run`; {args.askers} askers each for {args.seconds:.0f} s")
            soak = Soak()
            stop_at = time.time() + args.seconds
            askers = [
                threading.Thread(target=ask_loop, args=(url, n, soak, stop_at))
                for url in urls
                for n in range(args.askers)
            ]
            for thread in askers:
                thread.start()
            ingests = ingest_loop(corpus, pool, env, urls, soak, stop_at)
            for thread in askers:
                thread.join()
        finally:
            for process in replicas:
                stop(process)

    lags = [lag for per_replica in soak.lags.values() for lag in per_replica]
    stale = soak.stale()
    print(f"answers  {len(soak.answers)} ({len(soak.answers) / args.seconds:.1f}/s), {ingests} ingests")
    print(f"errors   {len(soak.errors)}" + (f": {soak.errors[:3]}" if soak.errors else ""))
    print(f"stale    {len(stale)}")
    if lags:
        print(
            f"follow   replicas answered from each ingest's result {np.median(lags):.1f} s (median), "
            f"{max(lags):.1f} s (worst) after it ended, over {len(lags)} follows"
        )
    sys.exit(1 if soak.errors or stale else 0)


if __name__ == "__main__":
    main()
