"""How far a running ingest is, shared across processes through a small file next to the store.

A question asked while the first ingest runs (in this process or another) gets an `IndexingError`
with these figures instead of an answer from a half-built store.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rag.errors import IndexingError

PROGRESS_FILE = "ingest-progress.json"
WRITE_EVERY_S = 0.5  # how stale another process's view may be; writes cost a rename each


@dataclass
class IngestProgress:
    """One running ingest: chunks embedded out of the total, and whether it began on an empty store."""

    first: bool
    done: int = 0
    total: int = 0  # 0 until the files have been read and chunked
    pid: int = field(default_factory=os.getpid)
    started: float = field(default_factory=time.time)
    # The rate is measured from the first finished batch on, so loading the model doesn't skew it.
    measured_from: float | None = None
    measured_done: int = 0

    def advance(self, done: int, total: int, now: float | None = None) -> None:
        """`done` of `total` chunks are embedded."""
        if done and self.measured_from is None:
            self.measured_from, self.measured_done = now or time.time(), done
        self.done, self.total = done, total

    def eta_s(self, now: float | None = None) -> float | None:
        """Seconds until done at the rate so far; None before there is a rate."""
        if self.measured_from is None or self.done <= self.measured_done:
            return None
        rate = (self.done - self.measured_done) / max((now or time.time()) - self.measured_from, 1e-3)
        return (self.total - self.done) / rate

    def as_dict(self) -> dict[str, object]:
        """Plain figures for a status line or `--json`, with the estimate of the time left."""
        return {**asdict(self), "eta_s": self.eta_s()}

    def error(self) -> IndexingError:
        """The error a question gets meanwhile."""
        return IndexingError(self.done, self.total, self.eta_s())


class ProgressFile:
    """Writes this process's ingest progress for others, and reads another process's."""

    def __init__(self, store_dir: Path) -> None:
        self.path = Path(store_dir) / PROGRESS_FILE
        self._written = 0.0

    def write(self, progress: IngestProgress, force: bool = False) -> None:
        """Publish `progress` (at most every WRITE_EVERY_S unless forced); atomic, so readers see whole files."""
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY_S:
            return
        self._written = now
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{PROGRESS_FILE}.{os.getpid()}")
            tmp.write_text(json.dumps(asdict(progress)))
            os.replace(tmp, self.path)
        except OSError:  # progress is a courtesy: a read-only or full disk must not stop the ingest
            pass

    def clear(self) -> None:
        """Remove the file when this process's ingest ends."""
        progress = self.read_any()
        if progress is not None and progress.pid == os.getpid():
            self.path.unlink(missing_ok=True)

    def read_any(self) -> IngestProgress | None:
        """The progress in the file, whoever wrote it; None if there is none or it can't be read."""
        try:
            return IngestProgress(**json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def read_other(self) -> IngestProgress | None:
        """Another live process's running ingest, if any (a file left by a killed ingest is ignored)."""
        progress = self.read_any()
        if progress is None or progress.pid == os.getpid() or not _alive(progress.pid):
            return None
        return progress


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True
