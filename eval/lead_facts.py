"""How often an answer opens with what was asked: the share of a fact or reason row's key facts that its first
shown sentence holds, for two `rag eval` runs of the same dataset (before, after).

    python -m eval.lead_facts eval/datasets/dev.jsonl /tmp/base/dev/results.jsonl /tmp/mine/dev/results.jsonl
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

TITLE_LINE = re.compile(r"^.*\(\d{4}-\d\d-\d\d\):\n")  # a document overview's heading is no sentence


def _first_sentence(answer: str) -> str:
    return TITLE_LINE.sub("", answer).split("[", 1)[0].casefold()


def lead_facts(dataset: Path, results: Path) -> tuple[float, int]:
    """The mean share of key facts in the first sentence, and the rows counted (answered fact/reason rows)."""
    facts = {row["id"]: row.get("key_facts") or [] for row in map(json.loads, dataset.read_text().splitlines())}
    shares = []
    for row in map(json.loads, results.read_text().splitlines()):
        wanted = facts.get(row["id"])
        if row["type"] in ("fact", "reason") and not row["abstained"] and wanted:
            first = _first_sentence(row["answer"])
            shares.append(sum(fact.casefold() in first for fact in wanted) / len(wanted))
    return (sum(shares) / len(shares) if shares else 0.0), len(shares)


def main() -> None:
    if len(sys.argv) < 3 or not all(Path(a).is_file() for a in sys.argv[1:]):
        sys.exit("usage: python -m eval.lead_facts DATASET.jsonl RESULTS.jsonl [RESULTS.jsonl ...] (files that exist)")
    dataset, *runs = map(Path, sys.argv[1:])
    figures = [lead_facts(dataset, run) for run in runs]
    print(dataset.stem, " -> ".join(f"{share:.3f}" for share, _ in figures), f"(n={figures[-1][1]})")


if __name__ == "__main__":
    main()
