"""`rag eval`: run a dataset through each variant, score it, and write results, summary and chart.

Wire into the CLI with `eval.runner.add_parser(subparsers)` (it sets `run=run_command`, called as
`args.run(args, settings)` like the other commands); `python -m eval.runner` also works.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import typing
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.dataset import Question, load_dataset, normalize
from eval.metrics import evidence_coverage, score_question, summarize
from eval.pipeline import Pipeline, Ranked
from eval.replay import replay_file, report
from eval.report import markdown_report, markdown_table, shape_table, write_chart
from eval.variants import DEFAULT_VARIANTS, VARIANTS, Variant, resolve_variants
from rag import Backend, Embedder, Engine, MissingPackageError, RagError, Settings, without_later_note

log = logging.getLogger(__name__)

EVAL_STORE = Path("data/eval-store")  # never the user's store: eval collections live apart
NDCG_DEPTH = 10


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _ranked_rows(ranking: list[Ranked], evidence: tuple[str, ...]) -> list[dict[str, Any]]:
    folded = [normalize(e) for e in evidence]
    return [
        {
            "rank": r.rank,
            "chunk_id": r.chunk_id,
            "doc_id": r.doc_id,
            "text": r.text,
            "score": r.score,
            "relevant": any(e in normalize(r.text) for e in folded),
        }
        for r in ranking
    ]


def evaluate_question(
    pipeline: Pipeline,
    question: Question,
    k: int,
    depth: int,
    n_relevant: int,
    actors: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """One results.jsonl row (without `variant`): the answer, citations, ranking, metrics and timings.

    `actors` (the corpus profile's) condense follow-ups for the retrieval-only pipelines.
    """
    row: dict[str, Any] = {
        "id": question.id,
        "question": question.question,
        "type": question.type,
        "answerable": question.answerable,
        "answer": None,
        "abstained": None,
        "search_query": None,
        "shape": None,
        "citations": [],
        "retrieved": [],
        "timings": {},
        "error": None,
    }
    ranking: list[Ranked] = []
    try:
        if pipeline.answers:
            answer = pipeline.ask(question.question, question.history_list())
            row.update(
                # The later-source note names dates of sources, not of what was asked: it must not pass a key fact.
                answer=without_later_note(answer.text),
                abstained=answer.abstained,
                search_query=answer.search_query,
                shape=answer.shape,
            )
            row["citations"] = [
                {
                    "n": c.n,
                    "chunk_id": c.chunk_id,
                    "doc_id": c.doc_id,
                    "text": c.chunk_text,
                    "quote": c.quote,
                    "supported": c.supported,
                    "quotes": [{"claim": q.claim, "quote": q.quote} for q in c.quotes],
                }
                for c in answer.citations
            ]
            row["timings"] = {k_: getattr(answer, k_) for k_ in ("retrieve_ms", "first_token_ms", "total_ms")}
            # The same query and filter the answer used, ranked deeper for nDCG@10; its top_k prefix is what ask() saw.
            ranking = pipeline.rank(answer.search_query, depth, answer.countries, answer.conversation_docs)
            single = not answer.parts and answer.shape not in ("comparison", "list", "overview")
            if single and [h.chunk_id for h in answer.retrieved] != [
                r.chunk_id for r in ranking[: len(answer.retrieved)]
            ]:
                log.warning("%s: the deeper ranking does not start with the passages the answer used", question.id)
        else:
            # A retrieval-only pipeline can't prefer the conversation's documents: the earlier question, glued
            # on, stands in for them.
            row["search_query"] = query = Engine.condense(
                question.question, question.history_list(), actors, conversation=False
            )
            started = time.perf_counter()
            ranking = pipeline.rank(query, depth)
            row["timings"] = {"retrieve_ms": _ms(started)}
    except RagError as exc:
        log.warning("%s failed: %s", question.id, exc)
        row["error"] = str(exc)
    row["retrieved"] = _ranked_rows(ranking, question.evidence)
    for citation in row["citations"]:
        citation["relevant"] = any(normalize(e) in normalize(citation["text"]) for e in question.evidence)
    row["metrics"] = score_question(
        answerable=question.answerable,
        evidence=question.evidence,
        key_facts=question.key_facts,
        reference_answer=question.reference_answer,
        ranked_texts=[r.text for r in ranking],
        k=k,
        n_relevant=n_relevant,
        answer=row["answer"],
        abstained=row["abstained"],
        cited_texts=[c["text"] for c in row["citations"]],
        cited_supported=[c["supported"] for c in row["citations"]],
        claim_quotes=[(q["claim"], q["quote"]) for c in row["citations"] for q in c["quotes"]],
    )
    return row


def _engine_opener(embedder: Embedder, progress: bool) -> Callable[[Settings], Engine]:
    """Opens a variant's collection, syncing the corpus into it once per run (incremental, so cheap)."""
    opened: dict[str, Engine] = {}

    def open_engine(settings: Settings) -> Engine:
        if settings.collection not in opened:
            engine = Engine.for_ingest(settings, embedder=embedder)
            report = engine.ingest(progress=progress)
            log.info("%s: %s", settings.collection, report.summary())
            opened[settings.collection] = engine
        return opened[settings.collection]

    return open_engine


def run_variant(
    variant: Variant,
    questions: list[Question],
    settings: Settings,
    *,
    backend: str | None,
    k: int,
    embedder: Embedder,
    open_engine: Callable[[Settings], Engine],
    progress: bool = False,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Result rows for every question, and the variant's entry in summary.json."""
    started = time.perf_counter()
    pipeline = variant.build(settings, backend, embedder, open_engine)
    folded_chunks = [normalize(text) for text in pipeline.chunk_texts()]
    coverage = {q.id: evidence_coverage(q.evidence, folded_chunks) for q in questions}
    unreachable = [{"id": qid, "evidence": e} for qid, (_, missing) in coverage.items() for e in missing]
    for item in unreachable:
        log.warning("%s: evidence of %s is split across chunks: %r", variant.name, item["id"], item["evidence"])
    pipeline.rank("warm-up", 1)  # loads the embedder and builds BM25 before anything is timed
    rows = []
    for question in tqdm(questions, desc=variant.name, unit="q", disable=not progress):
        row = evaluate_question(
            pipeline,
            question,
            k,
            max(k, NDCG_DEPTH),
            coverage[question.id][0],
            settings.profile.actors,
        )
        rows.append({**row, "variant": variant.name})
    types = sorted({q.type for q in questions if q.type})
    entry = {
        **variant.describe(settings, backend),
        "chunks": len(folded_chunks),
        "metrics": summarize(rows, k),
        "by_type": {t: summarize([r for r in rows if r["type"] == t], k) for t in types},
        "unreachable_evidence": unreachable,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return rows, entry


def run_eval(
    dataset: Path,
    out_dir: Path,
    settings: Settings,
    variants: list[str] | None = None,
    *,
    backend: str | None = None,
    k: int | None = None,
    limit: int | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate `variants` on `dataset`; writes results.jsonl, summary.json, summary.md, variants.png to out_dir."""
    started, started_at = time.perf_counter(), datetime.now(UTC).isoformat(timespec="seconds")
    chosen = resolve_variants(variants)
    questions = load_dataset(dataset, settings.corpus_dir)[:limit]
    k = k or settings.top_k
    embedder = Embedder(settings.embed_batch_size)
    open_engine = _engine_opener(embedder, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, Any] = {}
    with (out_dir / "results.jsonl").open("w", encoding="utf-8") as results:
        for variant in chosen:
            rows, entries[variant.name] = run_variant(
                variant,
                questions,
                settings,
                backend=backend,
                k=k,
                embedder=embedder,
                open_engine=open_engine,
                progress=progress,
            )
            results.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    summary: dict[str, Any] = {
        "dataset": str(dataset),
        "questions": len(questions),
        "answerable": sum(q.answerable for q in questions),
        "k": k,
        "started": started_at,
        "seconds": round(time.perf_counter() - started, 1),
        "store_dir": str(settings.store_dir),
        "variants": entries,
        "chart": None,
    }
    (out_dir / "summary.md").write_text(markdown_report(summary), encoding="utf-8")
    try:
        write_chart(summary, out_dir / "variants.png")
        summary["chart"] = "variants.png"
    except MissingPackageError as exc:
        log.info("%s", exc)
        summary["chart_error"] = str(exc)
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return summary


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add `eval` to an argparse subparsers object; it sets `run=run_command`."""
    parser = subparsers.add_parser(
        "eval",
        help="score variants of the pipeline on a dataset; writes results.jsonl, summary.{json,md}, variants.png",
        description="Run every question of the dataset through each variant; compare retrieval, citation, "
        "answer, abstention and latency metrics.",
        epilog="variants:\n" + "\n".join(f"  {v.name:<20}{v.description}" for v in VARIANTS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", type=Path, metavar="FILE", help="JSONL, e.g. eval/datasets/dev.jsonl")
    source.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="recorded model replies (e.g. tests/data/llm_replies/replies.jsonl) through the citation checker, "
        "no model needed: citation keep rate and false-support rate",
    )
    parser.add_argument(
        "--backend", choices=typing.get_args(Backend), help="answer backend (default: RAG_LLM_BACKEND, else extractive)"
    )
    parser.add_argument("--k", type=int, default=None, help="cutoff for hit@K and recall@K (default: RAG_TOP_K)")
    parser.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="output folder (default: eval/runs/DATASET)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        choices=list(VARIANTS),
        metavar="NAME",
        help=f"repeatable; default: {' '.join(DEFAULT_VARIANTS)}; all: {' '.join(VARIANTS)}",
    )
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    parser.add_argument(
        "--store-dir",
        type=Path,
        default=EVAL_STORE,
        metavar="DIR",
        help=f"eval collections' store (default: {EVAL_STORE})",
    )
    parser.add_argument("--json", action="store_true", help="print summary.json instead of the table")
    parser.set_defaults(run=run_command)
    return parser


def _replay_command(path: Path, settings: Settings, as_json: bool) -> int:
    """`rag eval --replay FILE`: print the checker's keep and false-support rates on recorded replies."""
    if not path.is_file():
        raise RagError(f"No replies file at {path}; try tests/data/llm_replies/replies.jsonl.")
    summary = replay_file(path, settings)
    print(json.dumps(summary, ensure_ascii=False, indent=2) if as_json else report(summary))
    return 0


def run_command(args: argparse.Namespace, settings: Settings) -> int:
    """`rag eval`: run, then print the summary table (or JSON) and where the files are."""
    if any(n is not None and n < 1 for n in (args.k, args.limit)):
        raise RagError("--k and --limit must be at least 1.")
    if args.replay is not None:
        return _replay_command(args.replay, settings, args.json)
    out = args.out or Path("eval/runs") / args.dataset.stem
    summary = run_eval(
        args.dataset,
        out,
        settings.model_copy(update={"store_dir": args.store_dir}),
        args.variant,
        backend=args.backend,
        k=args.k,
        limit=args.limit,
        progress=True,
    )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return 0
    print(markdown_table(summary))
    print()
    print(shape_table(summary))
    print(
        f"\n{summary['questions']} questions in {summary['seconds']:.0f} s; "
        f"wrote {out}/results.jsonl, summary.json, summary.md"
    )
    if summary["chart"] is None:
        print(f"warning: variants.png not written: {summary['chart_error']}", file=sys.stderr)
    return 0
