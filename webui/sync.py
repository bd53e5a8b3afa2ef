"""The background corpus sync: `Engine.ingest` off the request threads, and what the status line shows of it."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from rag import Engine, RagError
from webui.render import user_message

log = logging.getLogger("rag.ui")


class CorpusSync:
    """Runs `engine.ingest` off the request threads and keeps what the status line shows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.generation = 0  # bumped after each ingest; pages refresh their country lists on a change
        self.running = False
        self.started_at: float | None = None
        self.message = ""
        self.failed = False
        self._lock = threading.Lock()
        self._status = engine.status()

    def start(self, paths: list[Path] | None = None) -> threading.Thread:
        """Sync `paths` (default: the whole corpus dir) in a daemon thread."""
        with self._lock:
            self.running, self.started_at, self.failed = True, time.time(), False
        thread = threading.Thread(target=self._run, args=(paths,), name="corpus-sync", daemon=True)
        thread.start()
        return thread

    def _run(self, paths: list[Path] | None) -> None:
        try:
            report = self.engine.ingest(paths, progress=True)
            message, failed = f"Corpus synced: {report.summary()}", False
            if report.chunks:
                self.engine.warm_up()  # load the models now, not on the first question
        except RagError as exc:
            log.warning("corpus sync failed: %s", exc)
            message, failed = f"Corpus sync failed: {user_message(exc)}", True
        except Exception:
            log.exception("corpus sync failed")
            message, failed = "Corpus sync failed; see the server log.", True
        with self._lock:
            self.running, self.failed, self.message = False, failed, message
        self.refresh()

    def refresh(self) -> None:
        """Re-read the store's status after an ingest (the background one, or an upload's)."""
        try:
            status = self.engine.status()
        except RagError as exc:  # the failure itself is what the caller reports
            log.warning("cannot read the store's status: %s", exc)
            return
        with self._lock:
            self._status = status
            self.generation += 1

    def describe(self) -> dict[str, Any]:
        """A snapshot for the status line: the engine status plus what the sync is doing."""
        with self._lock:
            state = {
                **self._status,
                "running": self.running,
                "failed": self.failed,
                "message": self.message,
                "generation": self.generation,
            }
            if self.running:
                state["elapsed"] = time.time() - (self.started_at or time.time())
        if state["running"]:
            state["chunks"] = self.engine.chunk_count()  # grows as groups are embedded
        running = self.engine.indexing()  # this process's ingest, or another process's on the same store
        state["indexing"] = None if running is None else running.as_dict()
        return state
