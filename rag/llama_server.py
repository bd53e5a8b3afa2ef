"""`python -m rag.llama_server ARGS`: llama-cpp-python's OpenAI-compatible server, safe on every x86-64 CPU.

Takes exactly the arguments of `python -m llama_cpp.server`; before the model loads it turns off
llama.cpp's extra buffer types where the CPU needs it (see rag/answering/llama_cpu.py, RAG_LOCAL_EXTRA_BUFFERS).
"""

from __future__ import annotations

from rag.answering import llama_cpu
from rag.errors import MissingPackageError
from rag.settings import Settings


def main() -> None:
    """Run llama_cpp.server with the CPU-safe model loading."""
    try:
        from llama_cpp.server.__main__ import main as serve
    except ImportError as exc:
        raise SystemExit(
            str(MissingPackageError.extra("rag.llama_server needs llama-cpp-python[server]", "local"))
        ) from exc
    llama_cpu.prepare(Settings().local_extra_buffers)

    serve()


if __name__ == "__main__":
    main()
