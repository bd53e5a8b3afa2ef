"""summary.md (a variants x metrics table) and variants.png (a bar chart) from a run's summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rag import MissingPackageError

NA = "n/a"


def columns(k: int) -> list[tuple[str, str, str]]:
    """(summary key, column header, format) for the table, in order."""
    return [
        ("hit@1", "hit@1", "ratio"),
        (f"hit@{k}", f"hit@{k}", "ratio"),
        ("mrr", "MRR", "ratio"),
        ("ndcg@10", "nDCG@10", "ratio"),
        (f"recall@{k}", f"recall@{k}", "ratio"),
        ("citation_precision", "cit. precision", "ratio"),
        ("citation_focus", "cit. focus", "ratio"),
        ("citation_recall", "cit. recall", "ratio"),
        ("token_f1", "token F1", "ratio"),
        ("key_fact_containment", "key facts", "ratio"),
        ("abstention_accuracy", "abstain acc.", "ratio"),
        ("over_abstention", "over-abstain", "ratio"),
        ("crag", "CRAG", "score"),
        ("quote_mismatches", "quote ≠ claim", "count"),
        ("total_ms_p50", "p50 ms", "ms"),
        ("total_ms_p95", "p95 ms", "ms"),
        ("retrieve_ms_p50", "p50 retrieve ms", "ms"),
    ]


def chart_metrics(k: int) -> list[tuple[str, str]]:
    """(summary key, label) of the metrics variants.png compares."""
    return [
        (f"hit@{k}", f"hit@{k}"),
        ("mrr", "MRR"),
        ("citation_precision", "citation\nprecision"),
        ("key_fact_containment", "key-fact\ncontainment"),
        ("abstention_accuracy", "abstention\naccuracy"),
    ]


def _cell(value: float | None, fmt: str) -> str:
    if value is None:
        return NA
    if fmt == "score":
        return f"{value:+.3f}"
    return f"{value:.0f}" if fmt in ("ms", "count") else f"{value:.3f}"


def markdown_table(summary: dict[str, Any]) -> str:
    """One row per variant, one column per metric; n/a where a variant doesn't measure it."""
    cols = columns(summary["k"])
    lines = [
        "| variant | " + " | ".join(header for _, header, _ in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for name, result in summary["variants"].items():
        metrics = result["metrics"]
        lines.append(f"| {name} | " + " | ".join(_cell(metrics.get(key), fmt) for key, _, fmt in cols) + " |")
    return "\n".join(lines)


def shape_table(summary: dict[str, Any]) -> str:
    """Per question type, for the first variant that answers: key facts, citation focus and abstention."""
    answering = [(n, r) for n, r in summary["variants"].items() if r["metrics"].get("key_fact_containment") is not None]
    if not answering:
        return ""
    name, result = answering[0]
    lines = [
        f"| question type ({name}) | questions | key facts | cit. focus | abstain acc. | over-abstain | quote ≠ claim"
        " |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, m in [*result.get("by_type", {}).items(), ("all", result["metrics"])]:
        cells = [
            _cell(m.get(key), fmt)
            for key, fmt in (
                ("key_fact_containment", "ratio"),
                ("citation_focus", "ratio"),
                ("abstention_accuracy", "ratio"),
                ("over_abstention", "ratio"),
                ("quote_mismatches", "count"),
            )
        ]
        lines.append(f"| {kind} | {m.get('questions', NA)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(summary: dict[str, Any]) -> str:
    """The whole summary.md: what was run, the table, and what to read into it."""
    notes = []
    for name, result in summary["variants"].items():
        if result["metrics"].get("errors"):
            notes.append(f"- {name}: {result['metrics']['errors']} question(s) failed; see `error` in results.jsonl.")
        if result.get("unreachable_evidence"):
            notes.append(
                f"- {name}: {len(result['unreachable_evidence'])} evidence string(s) lie in no single chunk "
                "(split across a chunk boundary), so no ranking can find them."
            )
    lines = [
        f"# Eval: {summary['dataset']}",
        "",
        f"{summary['questions']} questions ({summary['answerable']} answerable), k={summary['k']}, "
        f"{summary['seconds']:.0f} s, {summary['started']}.",
        "",
        markdown_table(summary),
        "",
        shape_table(summary),
        "",
        "Retrieval and citation metrics count a chunk as relevant when it contains an evidence string "
        "(whitespace, quotes, dashes and case normalised); they, token F1 and key facts cover answerable "
        "questions only, abstention accuracy covers unanswerable ones. CRAG is the mean over all questions "
        "of +1 (right: every key fact stated), 0 (abstained) and -1 (wrong, or any answer to an unanswerable one). "
        "n/a: the variant only retrieves. "
        "Latency is Answer.total_ms (ms); `p50 retrieve ms` includes question checks and condensing.",
    ]
    return "\n".join([*lines, *([""] if notes else []), *notes]) + "\n"


def write_chart(summary: dict[str, Any], path: Path) -> None:
    """variants.png: grouped bars, one group per metric, one bar per variant (n/a bars are left out)."""
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingPackageError.extra("variants.png needs matplotlib", "charts") from exc
    matplotlib.use("Agg")  # no display on servers and in CI
    import matplotlib.pyplot as plt

    metrics = chart_metrics(summary["k"])
    names = list(summary["variants"])
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(4 + len(metrics) * max(1.2, 0.25 * len(names)), 4.5))
    for i, name in enumerate(names):
        values = summary["variants"][name]["metrics"]
        xs = [
            m + (i - (len(names) - 1) / 2) * width for m, (key, _) in enumerate(metrics) if values.get(key) is not None
        ]
        ys = [values[key] for key, _ in metrics if values.get(key) is not None]
        ax.bar(xs, ys, width, label=name)
    ax.set_xticks(range(len(metrics)), [label for _, label in metrics])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title(f"{summary['dataset']}: variants compared (missing bar = n/a)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
