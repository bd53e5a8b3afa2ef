"""How ingest, retrieval, memory and disk grow with the corpus: synthetic corpora of 1k, 10k and 100k chunks.

    python -m benchmarks.scale                                  # 1k, 10k, 100k, embedded store
    python -m benchmarks.scale --sizes 1000 10000 --server      # also 10k against a `chroma run` server
    python -m benchmarks.scale --sizes 1000 --queries 30 --plot /tmp/scale.png   # a quick look
    python -m benchmarks.scale --json figures.json ... ; python -m benchmarks.scale --from-json figures.json  # re-plot
    python -m benchmarks.scale --retrieval-only /tmp/big/store-100000   # latency only, on a store built before

Each size runs in a fresh process (so its peak RSS is its own) over a generated markdown corpus:
documents of DOC_CHUNKS sections, each section two short sentences (~100 characters) that become
exactly one chunk at chunk_size=160, with country names sprinkled in at Zipf-like rates. Short
chunks keep embedding affordable on a small CPU; the store and retrieval code paths are the real ones.

Retrieval is timed over distinct generated questions; the re-rank reads the sentence vectors that
ingest stored with each chunk, so it embeds nothing beyond the question.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ingest.countries import find_countries
from rag import Embedder, Settings
from rag.retrieval.retrieve import Retriever
from rag.storage.store import Store
from rag.storage.sync import sync
from testkit.servers import chroma_server

REPO = Path(__file__).resolve().parents[1]
DOC_CHUNKS = 100  # sections, hence chunks, per generated document
CHUNK_SIZE = 160  # every generated section (two sentences, <= ~130 chars) fits in one chunk
SEED = 20240601
# Country mention rates fall off like a Zipf law: Japan is in ~1 chunk in 6, Tuvalu in ~1 in 300.
COUNTRIES = [
    "Japan",
    "Philippines",
    "Vietnam",
    "China",
    "United States",
    "Indonesia",
    "Australia",
    "Cambodia",
    "Thailand",
    "India",
    "Malaysia",
    "South Korea",
    "Singapore",
    "Laos",
    "Myanmar",
    "Papua New Guinea",
    "Fiji",
    "Palau",
    "Tonga",
    "Tuvalu",
]
FILTER_COUNTRIES = ["Vietnam", "Singapore", "Tuvalu"]  # common, mid, rare: filtered queries cycle through them
TOPICS = ["port", "rail", "grid", "solar", "patrol", "fisheries", "customs", "cable", "chip", "vaccine", "bridge"]
CONFIGS = [  # (label, countries filter, re-rank on)
    ("hybrid", False, True),
    ("filter", True, True),
    ("hybrid no-rerank", False, False),
    ("filter no-rerank", True, False),
]


# --------------------------------------------------------------------------- synthetic corpus


def vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    """Pronounceable made-up words that no country detector mistakes for a country."""
    consonants, vowels = list("bdfgklmnprstvz"), list("aeiou")
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.integers(2, 4)
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables))
        if not find_countries(word) and not find_countries(word.capitalize()):
            words.add(word)
    return sorted(words)


class SyntheticText:
    """Sentences over a Zipf-distributed vocabulary, so BM25 sees realistic posting-list lengths."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.words = vocabulary(4000, np.random.default_rng(SEED))
        ranks = np.arange(1, len(self.words) + 1)
        self.word_p = (1 / ranks) / (1 / ranks).sum()
        country_ranks = np.arange(1, len(COUNTRIES) + 1)
        self.country_p = (1 / country_ranks**1.2) / (1 / country_ranks**1.2).sum()

    def word(self, n: int = 1) -> list[str]:
        """`n` words drawn by frequency."""
        return list(self.rng.choice(self.words, size=n, p=self.word_p))

    def countries(self) -> list[str]:
        """0, 1 or 2 distinct countries (about 0.45 mentions per chunk)."""
        n = self.rng.choice(3, p=[0.65, 0.25, 0.10])
        return list(self.rng.choice(COUNTRIES, size=n, replace=False, p=self.country_p))

    def section(self) -> str:
        """Two short sentences (>= 4 words each, so the re-ranker scores both)."""
        w = self.word(6)
        topic = self.rng.choice(TOPICS)
        year = self.rng.integers(2015, 2026)
        match self.countries():
            case [a, b]:
                subject = f"{a} and {b} agreed"
            case [a]:
                subject = f"{a} agreed"
            case _:
                subject = "Officials agreed"
        return (
            f"{subject} on {self.rng.integers(2, 99)} {w[0]} {topic} projects in {year}. "
            f"The {w[1]} plan covers {w[2]}, {w[3]} and {w[4]} {w[5]}."
        )

    def question(self) -> tuple[str, str]:
        """A question in the corpus's vocabulary, and a country it could be filtered on."""
        w = self.word(3)
        country = str(self.rng.choice(COUNTRIES, p=self.country_p))
        topic = self.rng.choice(TOPICS)
        return f"What did {country} agree on {w[0]} {topic} and the {w[1]} {w[2]} plan?", country


def write_corpus(folder: Path, chunks: int) -> None:
    """`chunks // DOC_CHUNKS` markdown files with YAML front matter, one chunk per `##` section."""
    text = SyntheticText(SEED + chunks)
    folder.mkdir(parents=True, exist_ok=True)
    for d in range(chunks // DOC_CHUNKS):
        sections = "\n\n".join(f"## Part {s + 1}\n\n{text.section()}" for s in range(DOC_CHUNKS))
        front = f'---\ntitle: "Brief {d}"\ndate: 2024-01-01\nurl: https://example.org/brief/{d}\n---\n\n'
        (folder / f"brief_{d:05d}.md").write_text(front + sections + "\n", encoding="utf-8")


def questions(n: int) -> list[tuple[str, str]]:
    """`n` distinct generated questions (a different stream from the corpus text)."""
    text, seen = SyntheticText(SEED - 1), {}
    while len(seen) < n:
        question, country = text.question()
        seen.setdefault(question, country)
    return list(seen.items())


# --------------------------------------------------------------------------- measuring


def rss_mb() -> float:
    """Current resident set size of this process."""
    return _proc_status(os.getpid(), "VmRSS")


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident set size of this process (or of `pid`)."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return _proc_status(pid, "VmHWM")


def _proc_status(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    """Bytes under `path`, in MB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


class TimedEmbedder:
    """The real Embedder, adding up the time spent in the model, so retrieval splits into model and search."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.batch_size = inner.batch_size
        self.seconds = 0.0

    def encode(self, texts: Any, progress: Any = None) -> np.ndarray:
        """Embed for real, timed."""
        started = time.perf_counter()
        try:
            return self.inner.encode(texts, progress=progress)
        finally:
            self.seconds += time.perf_counter() - started

    def encode_cached(self, texts: Any) -> np.ndarray:
        """Embed through the sentence cache, timed."""
        started = time.perf_counter()
        try:
            return self.inner.encode_cached(texts)
        finally:
            self.seconds += time.perf_counter() - started


def time_queries(retriever: Retriever, asked: list[tuple[str, str]], filtered: bool) -> dict[str, float]:
    """p50/p95 of retrieve() in ms: in all, and without the model's share."""
    embedder = retriever.embedder
    assert isinstance(embedder, TimedEmbedder)
    total, search = [], []
    load = os.getloadavg()[0]
    for i, (question, _) in enumerate(asked):
        countries = [FILTER_COUNTRIES[i % len(FILTER_COUNTRIES)]] if filtered else None
        embedder.seconds = 0.0
        started = time.perf_counter()
        retriever.retrieve(question, countries=countries)
        elapsed = time.perf_counter() - started
        total.append(elapsed * 1000)
        search.append((elapsed - embedder.seconds) * 1000)
    return {
        "p50_ms": np.percentile(total, 50),
        "p95_ms": np.percentile(total, 95),
        "search_p50_ms": np.percentile(search, 50),
        "search_p95_ms": np.percentile(search, 95),
        "loadavg": (load + os.getloadavg()[0]) / 2,
    }


def measure(size: int, server: bool, n_queries: int, workdir: Path) -> dict[str, Any]:
    """Every figure for one corpus size, measured in this process."""
    corpus = workdir / "corpus"
    write_corpus(corpus, size)
    embedder = Embedder()
    embedder.encode(["warm up"])
    figures: dict[str, Any] = {"size": size, "server": server, "rss_model_mb": rss_mb()}
    with chroma_server(workdir / "server") if server else _no_server() as (_, port, server_pid):
        settings = Settings(
            _env_file=None,
            corpus_dir=corpus,
            store_dir=workdir / "store",
            chunk_size=CHUNK_SIZE,
            chunk_overlap=0,
            chroma_host="127.0.0.1" if server else None,
            chroma_port=port or 8000,
        )
        load = os.getloadavg()[0]
        report = sync(settings, store=Store(settings), embedder=embedder, progress=True)
        figures["ingest_loadavg"] = (load + os.getloadavg()[0]) / 2
        if report.chunks != size:
            raise RuntimeError(f"expected {size} chunks, the store holds {report.chunks}")
        figures |= {"ingest_s": report.seconds, "ingest_chunks_per_s": size / report.seconds}
        figures["rss_after_ingest_mb"] = rss_mb()

        # A fresh Store and Retriever, as a restarted app would open them.
        store = Store(settings)
        started = time.perf_counter()
        records = sum(1 for _ in store.iter_records(include=("documents", "metadatas")))
        figures["fetch_all_s"] = time.perf_counter() - started
        if records != size:
            raise RuntimeError(f"fetched {records} records of {size}")
        timed = TimedEmbedder(embedder)
        retriever = Retriever(settings, store, timed)
        started = time.perf_counter()
        retriever.build_index()
        figures["bm25_build_s"] = time.perf_counter() - started
        figures["rss_after_bm25_mb"] = rss_mb()

        asked = questions(n_queries * len(CONFIGS) + 5)
        for question, country in asked[:5]:  # warm-up: first-touch costs in Chroma and torch
            retriever.retrieve(question, countries=[country])
        for n, (name, filtered, rerank) in enumerate(CONFIGS):
            batch = asked[5 + n * n_queries : 5 + (n + 1) * n_queries]
            # One retriever, so one BM25 index in memory; only the re-rank depth changes.
            retriever.settings = settings.model_copy(update={"rerank_depth": settings.rerank_depth if rerank else 0})
            figures[name] = time_queries(retriever, batch, filtered)
        figures["peak_rss_mb"] = peak_rss_mb()
        if server:
            figures["server_peak_rss_mb"] = peak_rss_mb(server_pid)
        figures["store_mb"] = disk_mb(workdir / ("server" if server else "store"))
    return figures


def retrieval_only(store_dir: Path, n_queries: int) -> dict[str, Any]:
    """Retrieval latency on a store built before (e.g. `benchmarks.cold_start --big-store`), with today's code.

    Such a store may hold random vectors in place of the model's: a vector query reads the same bytes.
    """
    settings = Settings(_env_file=None, store_dir=store_dir, chunk_size=CHUNK_SIZE, chunk_overlap=0)
    embedder = Embedder()
    embedder.encode(["warm up"])
    store = Store(settings)
    retriever = Retriever(settings, store, TimedEmbedder(embedder))
    retriever.build_index()
    asked = questions(n_queries * len(CONFIGS) + 5)
    for question, country in asked[:5]:
        retriever.retrieve(question, countries=[country])
    figures: dict[str, Any] = {"chunks": store.count(), "rerank_depth": settings.rerank_depth}
    for n, (name, filtered, rerank) in enumerate(CONFIGS):
        batch = asked[5 + n * n_queries : 5 + (n + 1) * n_queries]
        retriever.settings = settings.model_copy(update={"rerank_depth": settings.rerank_depth if rerank else 0})
        figures[name] = time_queries(retriever, batch, filtered)
    return figures


@contextmanager
def _no_server() -> Iterator[tuple[None, None, None]]:
    yield None, None, None


# --------------------------------------------------------------------------- reporting


def run_size(size: int, server: bool, n_queries: int) -> dict[str, Any]:
    """Measure one size in a fresh interpreter, so peak RSS and caches are its own."""
    command = [sys.executable, "-m", "benchmarks.scale", "--one", str(size), "--queries", str(n_queries)]
    result = subprocess.run(
        [*command, *(["--server"] if server else [])], cwd=REPO, stdout=subprocess.PIPE, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def label(f: dict[str, Any]) -> str:
    """'10k embedded' / '10k server'."""
    return f"{f['size'] // 1000}k {'server' if f['server'] else 'embedded'}"


def table(results: list[dict[str, Any]]) -> str:
    """The figures as two fixed-width tables: per corpus, then per corpus and retrieval configuration."""
    rows = [
        f"{'corpus':<14} {'ingest':>9} {'ingest':>7} {'fetch all':>9} {'BM25 build':>10} {'peak RSS':>9} "
        f"{'store':>7} {'load avg':>8}",
        f"{'':<14} {'chunks/s':>9} {'s':>7} {'s':>9} {'s':>10} {'MB':>9} {'MB':>7} {'(ingest)':>8}",
    ]
    for f in results:
        server = f"   chroma server peak RSS {f['server_peak_rss_mb']:.0f} MB" if f["server"] else ""
        rows.append(
            f"{label(f):<14} {f['ingest_chunks_per_s']:>9.0f} {f['ingest_s']:>7.0f} {f['fetch_all_s']:>9.2f} "
            f"{f['bm25_build_s']:>10.2f} {f['peak_rss_mb']:>9.0f} {f['store_mb']:>7.1f} {f['ingest_loadavg']:>8.1f}"
            f"{server}"
        )
    rows += [
        "",
        f"{'corpus':<14} {'retrieval':<17} {'p50 ms':>7} {'p95 ms':>7}   {'search-only p50':>15} {'p95':>5}   "
        f"{'load avg':>8}",
    ]
    for f in results:
        for name, _, _ in CONFIGS:
            c = f[name]
            rows.append(
                f"{label(f):<14} {name:<17} {c['p50_ms']:>7.0f} {c['p95_ms']:>7.0f}   {c['search_p50_ms']:>15.1f} "
                f"{c['search_p95_ms']:>5.1f}   {c['loadavg']:>8.1f}"
            )
    return "\n".join(rows)


def latency_series(rerank: bool) -> list[tuple[str, Any]]:
    """(name, figure getter) for the p95 of each configuration with re-rank on or off, total and search-only."""
    series = []
    for name, _, on in CONFIGS:
        if on == rerank:
            short = name.removesuffix(" no-rerank")
            series.append((short, lambda f, name=name: f[name]["p95_ms"]))
            series.append((f"{short}, search only", lambda f, name=name: f[name]["search_p95_ms"]))
    return series


def plot(results: list[dict[str, Any]], path: Path) -> None:
    """Six panels against corpus size (log x): what grows, and how fast."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    embedded = sorted((f for f in results if not f["server"]), key=lambda f: f["size"])
    served = [f for f in results if f["server"]]
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = [
        ("Ingest throughput", "chunks/s", [("ingest", lambda f: f["ingest_chunks_per_s"])]),
        ("Retrieval p95, re-rank on (default)", "ms", latency_series(rerank=True)),
        ("Retrieval p95, re-rank off", "ms", latency_series(rerank=False)),
        (
            "Start-up: BM25 index from the store",
            "s",
            [("fetch all records", lambda f: f["fetch_all_s"]), ("fetch + build BM25", lambda f: f["bm25_build_s"])],
        ),
        ("Peak memory (client process)", "MB RSS", [("peak RSS", lambda f: f["peak_rss_mb"])]),
        ("Store on disk", "MB", [("store", lambda f: f["store_mb"])]),
    ]
    for ax, (title, unit, series) in zip(axes.flat, panels, strict=True):
        for name, value in series:
            style = "--" if "search only" in name else "-"
            line = ax.plot([f["size"] for f in embedded], [value(f) for f in embedded], style, marker="o", label=name)
            for f in served:
                ax.plot(f["size"], value(f), marker="s", color=line[0].get_color(), fillstyle="none", ms=9)
        if served:
            ax.plot([], [], marker="s", fillstyle="none", ls="", color="grey", label="chroma run server")
        if "p95" in title:
            ax.axhline(150, color="red", ls=":", lw=1, label="150 ms target")
        ax.set(title=title, xlabel="chunks", ylabel=unit, xscale="log")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Scale on {os.cpu_count()} CPUs: all-MiniLM-L6-v2, ~100-char chunks (chunk_size={CHUNK_SIZE})")
    loads = ", ".join(f"{label(f)} {np.mean([f[c[0]]['loadavg'] for c in CONFIGS]):.1f}" for f in results)
    fig.text(
        0.5,
        0.005,
        f"Load average while querying (a shared machine): {loads}.\nTotals include embedding the question (~10 ms);"
        " 'search only' leaves it out and is what grows with the corpus.",
        ha="center",
        fontsize=8,
        color="dimgray",
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main() -> None:
    """Measure each size in its own process, print the table, write the plot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--server", action="store_true", help="also run 10k (or the sizes given) on `chroma run`")
    parser.add_argument("--server-sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--queries", type=int, default=100, help="timed questions per configuration")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "scale.png")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--from-json", type=Path, help="print and plot figures saved by --json; measure nothing")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    parser.add_argument("--retrieval-only", type=Path, metavar="STORE", help="only time retrieval on this store")
    args = parser.parse_args()

    if args.retrieval_only:
        figures = retrieval_only(args.retrieval_only, args.queries)
        print(f"{figures['chunks']:,} chunks, re-rank depth {figures['rerank_depth']}")
        for name, *_ in CONFIGS:
            f = figures[name]
            print(
                f"{name:18} p50 {f['p50_ms']:5.0f} ms  p95 {f['p95_ms']:5.0f} ms  "
                f"search-only p50 {f['search_p50_ms']:5.1f}  p95 {f['search_p95_ms']:5.1f}  load {f['loadavg']:.1f}"
            )
        return

    if args.from_json:
        results = json.loads(args.from_json.read_text())
        print(table(results))
        plot(results, args.plot)
        print(f"plot: {args.plot}")
        return

    if args.one:
        with tempfile.TemporaryDirectory(prefix="rag_scale_") as tmp:
            print(json.dumps(measure(args.one, args.server, args.queries, Path(tmp)), default=float))
        return

    runs = [(size, False) for size in args.sizes] + [(size, True) for size in args.server_sizes if args.server]
    results = []
    for size, server in runs:
        print(f"measuring {size:,} chunks ({'server' if server else 'embedded'})...", file=sys.stderr, flush=True)
        results.append(run_size(size, server, args.queries))
        print(table(results), file=sys.stderr, flush=True)
    print(table(results))
    plot(results, args.plot)
    print(f"plot: {args.plot}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float))


if __name__ == "__main__":
    main()
