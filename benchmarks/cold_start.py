"""Cold start: a fresh `rag ask`, `python ui.py` until its first answer, start-up on a big store, ingest speed, RSS.

    python -m benchmarks.cold_start                        # shipped corpus, 3 cold runs per runtime, 100k store
    python -m benchmarks.cold_start --big 20000 --runs 1   # quicker
    python -m benchmarks.cold_start --big-store /tmp/big   # keep (and reuse) the big store between runs

Every figure is taken for both embedding runtimes (RAG_EMBED_RUNTIME=onnx and torch) in the same run,
alternating, so a busy machine slows both alike; compare ratios more than absolute seconds.

- cold `rag ask`: wall time of a fresh `rag ask` process (extractive backend) on a built store;
- fresh clone: `python ui.py` on an empty store and an empty embedding cache, seconds from the page being served
  to its first answer, with the embedding cache shipped for corpus/ and with it off (a full embed), alternating
  (`--only-fresh-ui` measures just these);
- UI first answer: from starting `python ui.py` to its first answer through the `/ask` API, and the same for a
  bare one-endpoint Gradio app served the same way (`benchmarks/bare_gradio.py`): the framework's own floor;
- start-up on a big store: a fresh `rag ask` on a store of `--big` synthetic chunks (benchmarks.scale's
  generator), with the saved BM25 index, and with it deleted (what every process paid before it was saved).
  The big store holds random unit vectors instead of the model's (embedding 100k chunks takes ~17 min on
  2 cores): start-up reads the same bytes either way;
- ingest: chunks/s of `sync` into a fresh store, against raw torch `encode()` of the same texts (medians of
  `--runs` alternating runs);
- peak RSS of each process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.scale import CHUNK_SIZE, write_corpus
from testkit.servers import free_port

REPO = Path(__file__).resolve().parents[1]
QUESTION = "What did Japan pledge to the Philippines?"
RUNTIMES = ("onnx", "torch")


def env_for(store: Path, corpus: Path, runtime: str, **extra: str) -> dict[str, str]:
    """The environment of a child process: this one's, less RAG_*/CHROMA_* settings, plus ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAG_", "CHROMA_", "OPENAI_"))}
    env.update(
        PYTHONPATH=str(REPO),
        RAG_STORE_DIR=str(store),
        RAG_CORPUS_DIR=str(corpus),
        RAG_EMBED_RUNTIME=runtime,
        RAG_LLM_BACKEND="extractive",
        **extra,
    )
    return env


def run_timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of a child process run to completion; raises if it fails."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # the child's own rusage: its peak RSS, not the largest child's
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise RuntimeError(f"{argv} failed: {err.read()[-2000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read()


def cold_ask(store: Path, corpus: Path, runtime: str, **extra: str) -> dict[str, float]:
    """One fresh `rag ask` process: wall time and peak RSS."""
    argv = [sys.executable, "-m", "rag.serving.cli", "ask", QUESTION]
    seconds, rss, _ = run_timed(argv, env_for(store, corpus, runtime, **extra))
    return {"s": seconds, "rss_mb": rss}


def ui_first_answer(store: Path, corpus: Path, runtime: str) -> dict[str, float]:
    """Start `python ui.py` on a built store; seconds until its first answer, and its peak RSS then."""
    port = free_port()
    return first_answer([sys.executable, "ui.py"], env_for(store, corpus, runtime, RAG_UI_PORT=str(port)), port)


def fresh_ui_first_answer(work: Path, cache: bool) -> dict[str, float]:
    """`python ui.py` as on a fresh clone (empty store, empty embedding cache; the ONNX export already made):
    seconds from the page being served to the first answer, with the shipped embedding cache or a full embed."""
    import urllib.request

    from gradio_client import Client

    folder = Path(tempfile.mkdtemp(prefix=f"fresh-{'cached' if cache else 'full'}-", dir=work))
    (folder / "cache").mkdir()
    onnx = Path(os.environ.get("RAG_EMBED_CACHE_DIR") or Path.home() / ".cache" / "diplomatic-rag") / "onnx"
    if onnx.is_dir():  # made once per machine; a fresh clone on a new machine pays for it once too
        shutil.copytree(onnx, folder / "cache" / "onnx")
    port = free_port()
    extra = {"RAG_UI_PORT": str(port), "RAG_EMBED_CACHE_DIR": str(folder / "cache"), "RAG_EMBED_CACHE": str(cache)}
    env = env_for(folder / "store", REPO / "corpus", "onnx", **extra)
    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "ui.py"], env=env, cwd=REPO, stdout=log, stderr=log)
        try:
            while True:
                _raise_if_exited(process, log, "ui.py")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):
                        break
                except OSError:
                    time.sleep(0.1)
            served = time.perf_counter()
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            while True:
                try:
                    if client.predict(QUESTION, None, api_name="/ask").get("answer"):
                        break
                except Exception:  # noqa: BLE001 - "the corpus is being indexed": ask again
                    time.sleep(0.25)
            answered = time.perf_counter()
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"served_s": served - started, "s": answered - served}


def bare_gradio_first_answer() -> dict[str, float]:
    """The same for benchmarks/bare_gradio.py: Gradio alone, served as ui.py serves it (the floor under it)."""
    port = free_port()
    argv = [sys.executable, "-m", "benchmarks.bare_gradio", "--port", str(port)]
    return first_answer(argv, env_for(REPO / "unused", REPO / "corpus", "onnx"), port)


def _raise_if_exited(process: subprocess.Popen, log: Any, what: str) -> None:
    """A RuntimeError with the end of the server's log once it has exited before answering."""
    if process.poll() is not None:
        log.seek(0)
        raise RuntimeError(f"{what} exited: {log.read().decode()[-2000:]}")


def first_answer(argv: list[str], env: dict[str, str], port: int) -> dict[str, float]:
    """Start a Gradio server; seconds until its `/ask` endpoint answers through gradio_client, and its peak RSS."""
    from gradio_client import Client

    with tempfile.TemporaryFile() as log:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=log)
        try:
            while True:
                _raise_if_exited(process, log, str(argv))
                try:
                    answer = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(QUESTION, None, api_name="/ask")
                    if answer.get("answer"):
                        break
                except Exception:  # noqa: BLE001 - not up yet, or still loading: ask again
                    time.sleep(0.25)
            seconds = time.perf_counter() - started
            rss = _proc_peak_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return {"s": seconds, "rss_mb": rss}


def _proc_peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --------------------------------------------------------------------------- ingest (in a child process)


def ingest_child(runtime: str, workdir: Path) -> dict[str, float]:
    """Sync the shipped corpus into a fresh store with a warm model; for torch, also time raw encode()."""
    from benchmarks.ingest_retrieval import embedding_inputs
    from rag import Embedder, Settings
    from rag.storage.store import Store
    from rag.storage.sync import sync

    settings = Settings(_env_file=None, corpus_dir=REPO / "corpus", store_dir=workdir / f"store-{runtime}")
    embedder = Embedder.from_settings(settings.model_copy(update={"embed_runtime": runtime}))
    embedder.encode(["warm up"])
    figures: dict[str, float] = {}
    if runtime == "torch":
        # Raw encode() as sentence-transformers' defaults run it (batches of 32), then in our batch size.
        texts = embedding_inputs(settings)
        for key, options in (("raw_torch", {}), ("raw_torch_our_batch", {"batch_size": settings.embed_batch_size})):
            started = time.perf_counter()
            embedder.model.encode(texts, normalize_embeddings=True, **options)
            figures[f"{key}_chunks_per_s"] = len(texts) / (time.perf_counter() - started)
    report = sync(settings, store=Store(settings), embedder=embedder)
    figures |= {
        "ingest_chunks_per_s": report.chunks / report.seconds,
        "chunks": report.chunks,
        "batch_size": settings.embed_batch_size,
    }
    return figures


# --------------------------------------------------------------------------- the big store


class RandomEmbedder:
    """Random unit vectors in place of the model's: builds a big store in minutes, with the same bytes."""

    def __init__(self) -> None:
        self.rng = np.random.default_rng(0)

    def encode_with_spans(self, texts: Any, spans: Any, progress: Any = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """A vector per text and per span."""
        vectors = self._unit(len(texts))
        if progress is not None:
            progress.update(len(texts))
        return vectors, [self._unit(len(s)) for s in spans]

    def _unit(self, n: int) -> np.ndarray:
        v = self.rng.standard_normal((n, 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def build_big_store(folder: Path, size: int) -> tuple[Path, Path, float]:
    """(store, corpus, seconds the BM25 index took to build) for `size` synthetic chunks; reused when present.

    Run in a child process (`--big-child`): a process keeps the peak memory of the one it was started from,
    so building here would inflate every later child's peak RSS figure.
    """
    from rag import Settings
    from rag.retrieval.bm25 import Bm25Index
    from rag.storage.store import Store
    from rag.storage.sync import sync

    corpus, store_dir = folder / f"corpus-{size}", folder / f"store-{size}"
    settings = Settings(_env_file=None, corpus_dir=corpus, store_dir=store_dir, chunk_size=CHUNK_SIZE, chunk_overlap=0)
    if not corpus.is_dir():
        write_corpus(corpus, size)
    store = Store(settings)
    if store.count() != size:
        print(f"building a {size:,}-chunk store in {store_dir} ...", file=sys.stderr, flush=True)
        sync(settings, store=store, embedder=RandomEmbedder(), progress=True)  # type: ignore[arg-type]
    shutil.rmtree(store_dir / "bm25", ignore_errors=True)
    started = time.perf_counter()
    Bm25Index.open(store)
    return store_dir, corpus, time.perf_counter() - started


# --------------------------------------------------------------------------- report


def median(rows: list[dict[str, float]], key: str) -> float:
    """The median of `key` over runs."""
    return float(np.median([r[key] for r in rows]))


def main() -> None:
    """Measure everything, print one table per section as JSON-able figures and a text table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per runtime (median reported)")
    parser.add_argument("--big", type=int, default=100_000, help="chunks in the big store (0: skip)")
    parser.add_argument("--big-store", type=Path, help="folder to keep the big store in (reused if there)")
    parser.add_argument("--skip-ui", action="store_true")
    parser.add_argument("--only-fresh-ui", action="store_true", help="only the fresh-clone UI rows")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--ingest-child", help=argparse.SUPPRESS)  # internal: one runtime's ingest, as JSON
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--big-child", type=Path, help=argparse.SUPPRESS)  # internal: build_big_store, as JSON
    args = parser.parse_args()

    if args.ingest_child:
        print(json.dumps(ingest_child(args.ingest_child, args.workdir)))
        return
    if args.big_child:
        print(json.dumps([str(v) for v in build_big_store(args.big_child, args.big)]))
        return

    figures: dict[str, Any] = {"cpus": os.cpu_count(), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="rag_cold_") as tmp:
        work = Path(tmp)
        if not args.skip_ui:  # alternating, so a busy spell slows both alike
            rows = {"cached": [], "full": []}
            for i in range(args.runs):
                for name in rows:
                    print(f"fresh-clone ui.py, {name} embed {i + 1} ...", file=sys.stderr, flush=True)
                    rows[name].append(fresh_ui_first_answer(work, cache=name == "cached"))
            figures["fresh_ui"] = {n: {k: median(v, k) for k in ("served_s", "s")} for n, v in rows.items()}
        if args.only_fresh_ui:
            figures["load_after"] = os.getloadavg()[0]
            print(json.dumps(figures, indent=1))
            print(fresh_table(figures))
            return
        ingests: dict[str, list[dict[str, float]]] = {r: [] for r in RUNTIMES}
        for i in range(args.runs):  # alternating, each into a fresh store, so a busy spell slows both alike
            for runtime in RUNTIMES:
                print(f"ingest ({runtime}) {i + 1} ...", file=sys.stderr, flush=True)
                folder = str(work / f"ingest-{i}")
                argv = [sys.executable, "-m", "benchmarks.cold_start", "--ingest-child", runtime, "--workdir", folder]
                _, rss, out = run_timed(argv, env_for(work / "unused", REPO / "corpus", runtime))
                ingests[runtime].append(json.loads(out.strip().splitlines()[-1]) | {"rss_mb": rss})
        for runtime, rows in ingests.items():
            figures[f"ingest_{runtime}"] = {key: median(rows, key) for key in rows[0]}
        store = work / "ingest-0" / "store-onnx"  # the shipped corpus, built by the first ONNX ingest above
        corpus = REPO / "corpus"
        subprocess.run(
            [sys.executable, "-m", "rag.serving.cli", "ingest"],
            env=env_for(store, corpus, "onnx"),
            cwd=REPO,
            check=True,
            capture_output=True,
        )  # an unchanged corpus: embeds nothing, saves the BM25 index
        for name in ("ask", "ui"):
            if name == "ui" and args.skip_ui:
                continue
            runs: dict[str, list[dict[str, float]]] = {r: [] for r in RUNTIMES}
            for i in range(args.runs):
                for runtime in RUNTIMES:
                    print(f"cold {name} ({runtime}) {i + 1} ...", file=sys.stderr, flush=True)
                    measure = cold_ask if name == "ask" else ui_first_answer
                    runs[runtime].append(measure(store, corpus, runtime))
            figures[name] = {r: {"s": median(v, "s"), "rss_mb": median(v, "rss_mb")} for r, v in runs.items()}
        if not args.skip_ui:
            print("bare Gradio app ...", file=sys.stderr, flush=True)
            figures["bare_gradio"] = {"s": median([bare_gradio_first_answer() for _ in range(args.runs)], "s")}
        if args.big:
            big_folder = args.big_store or work
            big_folder.mkdir(parents=True, exist_ok=True)
            argv = [sys.executable, "-m", "benchmarks.cold_start", "--big-child", str(big_folder)]
            argv += ["--big", str(args.big)]
            built = subprocess.run(argv, cwd=REPO, check=True, stdout=subprocess.PIPE, text=True)
            store_dir, corpus_dir, build_s = json.loads(built.stdout.strip().splitlines()[-1])
            big_store, big_corpus, bm25_build_s = Path(store_dir), Path(corpus_dir), float(build_s)
            figures["big"] = {"chunks": args.big, "bm25_build_s": bm25_build_s}
            for runtime in RUNTIMES:
                print(f"cold ask on {args.big:,} chunks ({runtime}) ...", file=sys.stderr, flush=True)
                rows = [cold_ask(big_store, big_corpus, runtime) for _ in range(args.runs)]
                figures["big"][runtime] = {"s": median(rows, "s"), "rss_mb": median(rows, "rss_mb")}
            shutil.rmtree(big_store / "bm25", ignore_errors=True)  # as every process was before the index was saved
            figures["big"]["onnx_bm25_rebuilt"] = cold_ask(big_store, big_corpus, "onnx")
    figures["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    print(table(figures))


def table(f: dict[str, Any]) -> str:
    """The figures as a markdown table: ONNX, torch and their ratio per measure."""
    rows = ["| measure | ONNX Runtime | torch | torch / ONNX |", "|---|---:|---:|---:|"]

    def add(label: str, onnx: float, torch: float, unit: str, digits: int = 1) -> None:
        rows.append(f"| {label} | {onnx:.{digits}f} {unit} | {torch:.{digits}f} {unit} | {torch / onnx:.2f} x |")

    if "ask" in f:
        add("cold `rag ask`, shipped corpus", f["ask"]["onnx"]["s"], f["ask"]["torch"]["s"], "s")
        add("peak RSS of that `rag ask`", f["ask"]["onnx"]["rss_mb"], f["ask"]["torch"]["rss_mb"], "MB", 0)
    if "ui" in f:
        add("`python ui.py` to first answer", f["ui"]["onnx"]["s"], f["ui"]["torch"]["s"], "s")
        add("UI peak RSS", f["ui"]["onnx"]["rss_mb"], f["ui"]["torch"]["rss_mb"], "MB", 0)
    if "big" in f:
        b = f["big"]
        add(f"cold `rag ask` on {b['chunks'] // 1000}k chunks", b["onnx"]["s"], b["torch"]["s"], "s")
        add(f"peak RSS of that `rag ask` ({b['chunks'] // 1000}k)", b["onnx"]["rss_mb"], b["torch"]["rss_mb"], "MB", 0)
    i_onnx, i_torch = f["ingest_onnx"], f["ingest_torch"]
    add("ingest of the shipped corpus", i_onnx["ingest_chunks_per_s"], i_torch["ingest_chunks_per_s"], "chunks/s")
    add("peak RSS of that ingest", i_onnx["rss_mb"], i_torch["rss_mb"], "MB", 0)
    raw, ours = i_torch["raw_torch_chunks_per_s"], i_torch["raw_torch_our_batch_chunks_per_s"]
    rate = i_onnx["ingest_chunks_per_s"]
    notes = [
        f"ingest (ONNX) vs raw torch `encode()` of the same {int(i_torch['chunks'])} chunks: "
        f"{rate:.1f} vs {raw:.1f} chunks/s = **{rate / raw:.2f} x** (`encode()` in its default batches of 32; "
        f"in batches of {int(i_torch['batch_size'])}, as ours: {ours:.1f} chunks/s = {rate / ours:.2f} x)",
    ]
    if "big" in f:
        b = f["big"]
        notes.append(
            f"{b['chunks']:,} chunks, saved BM25 index deleted (every process rebuilt it before): cold `rag ask` "
            f"{b['onnx_bm25_rebuilt']['s']:.1f} s (ONNX); building the index alone took {b['bm25_build_s']:.1f} s"
        )
    if "bare_gradio" in f:
        notes.append(
            f"a bare Gradio app (one endpoint, MCP on, served as ui.py serves it: `benchmarks/bare_gradio.py`) "
            f"to first answer: {f['bare_gradio']['s']:.1f} s, the floor under `python ui.py`'s "
            f"{f['ui']['onnx']['s']:.1f} s"
        )
    notes.append(f"{f['cpus']} CPUs, load average {f['load_before']:.1f} before and {f['load_after']:.1f} after")
    return "\n".join(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n\n" + fresh_table(f)


def fresh_table(f: dict[str, Any]) -> str:
    """The fresh-clone rows: page served to first answer, with the shipped embedding cache and with a full embed."""
    if "fresh_ui" not in f:
        return ""
    cached, full = f["fresh_ui"]["cached"], f["fresh_ui"]["full"]
    return "\n".join(
        [
            "| fresh clone, `python ui.py` (ONNX) | shipped embedding cache | full embed | full / cached |",
            "|---|---:|---:|---:|",
            f"| page served to first answer | {cached['s']:.1f} s | {full['s']:.1f} s "
            f"| {full['s'] / cached['s']:.1f} x |",
            f"| start to page served | {cached['served_s']:.1f} s | {full['served_s']:.1f} s | |",
        ]
    )


if __name__ == "__main__":
    main()
