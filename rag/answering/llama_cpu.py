"""llama.cpp on every x86-64 CPU.

On CPUs with AMX (Intel Sapphire Rapids and later: `amx_tile` and `avx512_*` flags), llama.cpp's
"extra" weight buffer types (the AMX and repacked-weight buffers) segfault in decode. Loading the
model with `use_extra_bufts = False` keeps the weights in plain CPU buffers and avoids the crash.
llama-cpp-python has no switch for it, so its model-parameter defaults are patched.
"""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

ExtraBuffers = Literal["auto", "on", "off"]
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The first CPU's feature flags (empty where /proc/cpuinfo doesn't exist)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def needs_plain_buffers(setting: ExtraBuffers = "auto", flags: frozenset[str] | None = None) -> bool:
    """True when models must load without extra buffer types: `off`, or `auto` on a CPU with AMX."""
    if setting != "auto":
        return setting == "off"
    return "amx_tile" in (cpu_flags() if flags is None else flags)


@cache
def use_plain_buffers() -> None:
    """Make every later llama.cpp model load in this process use plain CPU buffers (idempotent)."""
    import llama_cpp.llama_cpp as native

    original = native.llama_model_default_params

    def plain_defaults() -> object:
        params = original()
        params.use_extra_bufts = False
        return params

    native.llama_model_default_params = plain_defaults
    log.info("llama.cpp: extra buffer types off (CPU with AMX, or RAG_LOCAL_EXTRA_BUFFERS=off)")


def prepare(setting: ExtraBuffers = "auto") -> None:
    """Apply the plain-buffer patch when this CPU (or the setting) needs it; call before loading a model."""
    if needs_plain_buffers(setting):
        use_plain_buffers()
