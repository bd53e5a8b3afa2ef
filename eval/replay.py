"""`rag eval --replay FILE`: recorded model replies through the real citation checker, no model needed.

Each line of FILE is one reply a model wrote (tests/data/llm_replies/replies.jsonl): the question, the passages
it was given (`sources`, numbered from 1, each verbatim from a corpus document), the reply, and the claims a
person marked in it: a snippet of each claim's sentence (`says`), the sources that back it, and whether it is
`supported`. The reply streams through the same `SentenceGate` the engine uses; a claim is kept when its
sentence is in the shown text.

keep rate: supported claims kept / supported claims. false support: unsupported claims shown / unsupported claims.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.chunking import Chunk
from rag import Embedder, Hit, Settings
from rag.answering.citations import SentenceGate


@dataclass
class Replayed:
    """One recorded reply after the checker: what it showed, and each marked claim's verdict against the mark."""

    question: str
    model: str
    shown: str
    claims: list[dict[str, Any]]  # says, supported (marked), shown (by the checker)


def load_replies(path: Path) -> list[dict[str, Any]]:
    """The recorded replies in `path` (JSONL)."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def passages(record: dict[str, Any]) -> list[Hit]:
    """The numbered passages a recorded reply was written from, as retrieved hits."""
    return [
        Hit(
            Chunk(f"{s['doc']}:replay{n}", s["doc"], n, s["text"], 0, len(s["text"]), metadata={"title": s["title"]}),
            rank=n,
            score=1.0,
        )
        for n, s in enumerate(record["sources"], start=1)
    ]


def replay(record: dict[str, Any], embedder: Embedder, threshold: float) -> Replayed:
    """Stream one recorded reply through the checker a few characters at a time, as a model would write it."""
    gate = SentenceGate(passages(record), embedder, threshold)
    reply = record["reply"]
    shown = "".join(gate.feed(reply[i : i + 7]) for i in range(0, len(reply), 7)) + gate.close()
    plain = " ".join(shown.split())
    claims = [
        {"says": c["says"], "supported": c["supported"], "shown": " ".join(c["says"].split()) in plain}
        for c in record["claims"]
    ]
    return Replayed(record["question"], record["model"], shown, claims)


def replay_file(path: Path, settings: Settings, embedder: Embedder | None = None) -> dict[str, Any]:
    """Replay every reply in `path`; the keep rate, the false-support rate and each reply's verdicts."""
    embedder = embedder or Embedder.from_settings(settings)
    results = [replay(r, embedder, settings.support_threshold) for r in load_replies(path)]
    claims = [c for r in results for c in r.claims]
    supported = [c for c in claims if c["supported"]]
    planted = [c for c in claims if not c["supported"]]
    return {
        "replies": len(results),
        "supported_claims": len(supported),
        "kept": sum(c["shown"] for c in supported),
        "keep_rate": round(sum(c["shown"] for c in supported) / max(1, len(supported)), 4),
        "unsupported_claims": len(planted),
        "shown_unsupported": sum(c["shown"] for c in planted),
        "false_support_rate": round(sum(c["shown"] for c in planted) / max(1, len(planted)), 4),
        "support_threshold": settings.support_threshold,
        "misses": [
            {"question": r.question, "model": r.model, "says": c["says"], "supported": c["supported"]}
            for r in results
            for c in r.claims
            if c["shown"] != c["supported"]
        ],
    }


def report(summary: dict[str, Any]) -> str:
    """The replay's figures as a few lines of text."""
    lines = [
        f"{summary['replies']} recorded replies, support threshold {summary['support_threshold']}",
        f"keep rate: {summary['kept']}/{summary['supported_claims']} supported claims shown "
        f"({summary['keep_rate']:.1%})",
        f"false support: {summary['shown_unsupported']}/{summary['unsupported_claims']} unsupported claims shown "
        f"({summary['false_support_rate']:.1%})",
    ]
    for miss in summary["misses"]:
        verdict = "dropped a supported claim" if miss["supported"] else "showed an unsupported claim"
        lines.append(f"  {verdict} ({miss['model']}): {miss['says']!r} in {miss['question']!r}")
    return "\n".join(lines)
