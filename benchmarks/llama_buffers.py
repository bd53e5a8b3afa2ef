"""What turning off llama.cpp's extra buffer types costs: prompt and generation speed, on and off, one run.

    python -m benchmarks.llama_buffers [--models smollm2 gemma3] [--rounds 3]

On CPUs with AMX the extra buffer types crash llama.cpp, so `RAG_LOCAL_EXTRA_BUFFERS=auto` turns them
off there (rag/answering/llama_cpu.py). This measures what that costs on the machine it runs on. Each setting
runs in a fresh process (the switch is per process), alternating, and the best round counts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

PROMPT = "Summarise Japan's official development assistance to the Philippines in two sentences. " * 12


def measure(model: str, extra_buffers: str) -> dict[str, float]:
    """In this process: load `model` with the setting, then time one prompt's evaluation and 64 new tokens."""
    from llama_cpp import Llama

    from rag.answering import llama_cpu
    from rag.answering.llm import bundled_gguf

    if extra_buffers == "off":
        llama_cpu.use_plain_buffers()
    llama = Llama(model_path=str(bundled_gguf(model)), n_ctx=2048, verbose=False)
    tokens = llama.tokenize(PROMPT.encode())
    started = time.perf_counter()
    llama.eval(tokens)
    prompt_s = time.perf_counter() - started
    started = time.perf_counter()
    generated = 0
    for _ in llama.generate(tokens, temp=0.0, reset=False):
        generated += 1
        if generated == 64:
            break
    gen_s = time.perf_counter() - started
    return {"prompt_tok_s": len(tokens) / prompt_s, "gen_tok_s": generated / gen_s}


def main() -> None:
    """Alternate on/off in fresh processes and print the best round of each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["smollm2", "gemma3"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "SETTING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child)))
        return

    from rag.answering.llama_cpu import cpu_flags

    print(f"AMX on this CPU: {'amx_tile' in cpu_flags()}")
    print(f"{'model':<10} {'extra buffers':<14} {'prompt tok/s':>13} {'generate tok/s':>15}")
    for model in args.models:
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for setting in ("on", "off"):
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.llama_buffers", "--child", model, setting],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                kept = best.setdefault(setting, figures)
                best[setting] = {k: max(kept[k], figures[k]) for k in figures}
        for setting in ("on", "off"):
            f = best[setting]
            print(f"{model:<10} {setting:<14} {f['prompt_tok_s']:>13.0f} {f['gen_tok_s']:>15.1f}")
        ratio = {k: best["off"][k] / best["on"][k] for k in best["on"]}
        print(f"{model:<10} {'off / on':<14} {ratio['prompt_tok_s']:>13.2f} {ratio['gen_tok_s']:>15.2f}")


if __name__ == "__main__":
    main()
