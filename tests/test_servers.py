"""The servers tests start never outlive the test process, and a native crash fails one test, not the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testkit.servers import REPO, run_isolated

STARTER = """
import sys, time
from pathlib import Path
from testkit.servers import start_guarded
server = start_guarded(["sleep", "300"], Path(sys.argv[1]))
print(server.pid, flush=True)
time.sleep(300)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_a_server_outlives_no_killed_test_process(tmp_path: Path) -> None:
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER, str(tmp_path / "server.log")], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    server_pid = int(starter.stdout.readline())  # type: ignore[union-attr]
    assert _alive(server_pid)

    starter.send_signal(signal.SIGKILL)  # no cleanup code runs: only the kernel can stop the server now
    starter.wait()

    deadline = time.monotonic() + 10
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server_pid)


def _segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _double(x: int) -> int:
    return 2 * x


def test_a_native_crash_in_isolated_work_fails_with_the_signal_name() -> None:
    assert run_isolated(_double, 21) == 42
    with pytest.raises(AssertionError, match="crashed its process \\(SIGSEGV\\)"):
        run_isolated(_segfault)
