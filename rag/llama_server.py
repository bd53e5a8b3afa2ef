"""`python -m rag.llama_server ARGS`: llama-cpp-python's OpenAI-compatible server, safe on every x86-64 CPU.

Takes exactly the arguments of `python -m llama_cpp.server`; before the model loads it turns off
llama.cpp's extra buffer types where the CPU needs it (see rag/llama_cpu.py, RAG_LOCAL_EXTRA_BUFFERS).
"""

from __future__ import annotations

from rag import llama_cpu
from rag.settings import Settings


def main() -> None:
    """Run llama_cpp.server with the CPU-safe model loading."""
    llama_cpu.prepare(Settings().local_extra_buffers)
    from llama_cpp.server.__main__ import main as serve

    serve()


if __name__ == "__main__":
    main()
