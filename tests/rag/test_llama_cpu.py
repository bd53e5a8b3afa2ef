"""llama.cpp loads its weights into plain buffers on CPUs with AMX, where its extra buffer types crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.llama_cpu import cpu_flags, needs_plain_buffers

SAPPHIRE_RAPIDS = frozenset({"avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "amx_int8"})
EPYC = frozenset({"avx2", "fma", "sse4_2"})


@pytest.mark.parametrize(
    ("setting", "flags", "plain"),
    [
        ("auto", SAPPHIRE_RAPIDS, True),
        ("auto", EPYC, False),
        ("off", EPYC, True),
        ("on", SAPPHIRE_RAPIDS, False),
    ],
)
def test_extra_buffers_are_turned_off_only_where_needed(setting: str, flags: frozenset[str], plain: bool) -> None:
    assert needs_plain_buffers(setting, flags) is plain  # type: ignore[arg-type]


def test_cpu_flags_come_from_the_first_processor(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_tile\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "amx_tile"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
