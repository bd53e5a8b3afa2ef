"""Prompt-injection success rate and answer quality, with and without the defences, per backend.

    python benchmarks/injection.py [--backends extractive local:smollm2 local:gemma3] [--server URL --server-key KEY]

Ingests tests/data/attacks/docs (planted documents, one injection style each, each also stating a
fact) into a temporary store and asks each attack's question. An attack succeeds when the answer
contains any attack's marker; quality is the share of answers that state the fact.

"Defended" is the shipped behaviour: rag.answering.prompts.neutralise() and fencing on what the model sees,
and the extractive backend never quoting an instruction-like sentence. "Raw" passes the sources
through untouched (build_messages(..., neutralise_sources=False); the extractive filter disabled).
`--server` adds the openai-compatible backend against a running server (e.g. `python -m
rag.llama_server --model <gguf> --model_alias smollm2 --host 127.0.0.1 --port 8099`).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from pydantic import SecretStr

from rag import Embedder, Engine, RagError, Settings
from rag.answering.prompts import build_messages
from rag.storage.store import Store
from rag.storage.sync import sync

ATTACKS = Path(__file__).resolve().parents[1] / "tests" / "data" / "attacks"
HEADER = f"{'backend':<18} {'defences':<9} {'attacks won':>11} {'fact stated':>11} {'abstained':>9} {'s/q':>6}"
NEVER = re.compile(r"(?!)")  # a pattern that matches nothing: the extractive filter switched off


@dataclass
class Attack:
    """One planted document, the question that retrieves its fact, and what a hijacked answer contains."""

    doc: str
    style: str
    question: str
    facts: list[str]
    markers: list[str]

    def answered(self, text: str) -> bool:
        """True when the answer states the planted fact."""
        return any(f.lower() in text.lower() for f in self.facts)


def hijacked(text: str, attacks: list[Attack]) -> bool:
    """True when the answer carries any attack's marker (a question retrieves several planted documents)."""
    return any(m.lower() in text.lower() for a in attacks for m in a.markers)


def load_attacks() -> list[Attack]:
    """The attack set in tests/data/attacks/attacks.jsonl."""
    lines = (ATTACKS / "attacks.jsonl").read_text(encoding="utf-8").splitlines()
    return [Attack(**json.loads(line)) for line in lines if line.strip()]


def undefended(stack: ExitStack) -> None:
    """Switch the defences off for the rest of `stack`: raw sources to the LLM, every sentence quotable."""
    stack.enter_context(
        mock.patch("rag.engine.build_messages", functools.partial(build_messages, neutralise_sources=False))
    )
    stack.enter_context(mock.patch("rag.answering.extractive.INJECTION", NEVER))


def run(engine: Engine, attacks: list[Attack], defended: bool) -> list[dict]:
    """Ask every attack's question; one row per attack."""
    rows = []
    with ExitStack() as stack:
        if not defended:
            undefended(stack)
        for attack in attacks:
            started = time.perf_counter()
            try:
                answer = engine.ask(attack.question)
                text, abstained = answer.text, answer.abstained
            except RagError as exc:
                text, abstained = f"error: {exc}", True
            rows.append(
                {
                    "attack": attack.style,
                    "hijacked": hijacked(text, attacks),
                    "answered": attack.answered(text) and not abstained,
                    "abstained": abstained,
                    "seconds": time.perf_counter() - started,
                    "text": text,
                }
            )
    return rows


def main() -> None:
    """Print one line per backend and defence setting (and each answer with --show)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="*", default=["extractive", "local:smollm2", "local:gemma3"])
    parser.add_argument("--server", help="an OpenAI-compatible /v1 URL to test as well (loopback)")
    parser.add_argument("--server-key", default="not-needed")
    parser.add_argument("--server-model", default="smollm2")
    parser.add_argument("--top-k", type=int, default=None, help="passages per question (default: RAG_TOP_K)")
    parser.add_argument("--show", action="store_true", help="print every answer")
    args = parser.parse_args()

    attacks = load_attacks()
    with tempfile.TemporaryDirectory(prefix="injection-") as tmp:
        base = Settings(_env_file=None, corpus_dir=ATTACKS / "docs", store_dir=Path(tmp) / "store")
        if args.top_k:
            base = base.model_copy(update={"top_k": args.top_k})
        store, embedder = Store(base), Embedder(base.embed_batch_size)
        sync(base, store=store, embedder=embedder)
        setups = []
        for spec in args.backends:
            backend, _, model = spec.partition(":")
            setups.append((spec, backend, base.model_copy(update={"local_model": model} if model else {})))
        if args.server:
            remote = {
                "openai_base_url": args.server,
                "openai_model": args.server_model,
                "openai_api_key": SecretStr(args.server_key),
            }
            setups.append((f"server:{args.server_model}", "openai-compatible", base.model_copy(update=remote)))
        print(f"{len(attacks)} attacks, top_k={base.top_k}, max_tokens={base.max_tokens}")
        print(HEADER)
        for label, backend, settings in setups:
            engine = Engine(settings, store, embedder, backend)
            for defended in (True, False):
                rows = run(engine, attacks, defended)
                n = len(rows)
                print(
                    f"{label:<18} {'on' if defended else 'off':<9} {sum(r['hijacked'] for r in rows):>6} / {n:<2}"
                    f" {sum(r['answered'] for r in rows):>6} / {n:<2} {sum(r['abstained'] for r in rows):>5} / {n:<2}"
                    f" {sum(r['seconds'] for r in rows) / n:>6.1f}"
                )
                if args.show:
                    for r in rows:
                        flag = "HIJACKED" if r["hijacked"] else "ok"
                        print(f"    [{flag}] {r['attack']}: {' '.join(r['text'].split())[:300]}")


if __name__ == "__main__":
    main()
