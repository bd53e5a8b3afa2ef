"""Soak: `python ui.py` serves 8 concurrent askers while another process keeps ingesting and deleting documents.

SOAK_SECONDS sets how long the askers run (default 60; the README's figure is from SOAK_SECONDS=120).
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
from gradio_client import Client

from testkit.cli import run_rag
from testkit.servers import REPO, answers, free_port, start_guarded, stop, wait_until
from tests.conftest import tiny_copy
from tests.reliability.conftest import settings_env

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
ASKERS = 8
GRACE_S = 5.0  # an answer begun this long after an ingest removed a document must not cite it
NAMES = ["Amber", "Birch", "Cedar", "Dune"]


def rotating_doc(name: str) -> str:
    """A document that comes and goes, about a made-up compact only it mentions."""
    return (
        f"---\ntitle: {name} Compact\n---\n\n# {name} Compact\n\n"
        f"Fiji and Samoa signed the {name} Compact to build solar ferries between their islands. "
        f"Under the {name} Compact each country funds four ferries and a repair yard by 2027.\n"
    )


@dataclass
class Timeline:
    """When each rotating document may have entered the store (its ingest began) and had left it (its ingest ended)."""

    events: dict[str, list[tuple[float, bool]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, doc_id: str, present: bool) -> None:
        """`doc_id` is in the store (or gone) as of now."""
        with self.lock:
            self.events.setdefault(doc_id, []).append((time.time(), present))

    def stale(self, doc_id: str, started: float, ended: float) -> bool:
        """True if `doc_id` was removed more than GRACE_S before `started` and not added again by `ended`."""
        with self.lock:
            events = list(self.events.get(doc_id, []))
        removed = [t for t, present in events if not present and t + GRACE_S < started]
        return bool(removed) and not any(present and removed[-1] < t <= ended for t, present in events)


@pytest.mark.slow
def test_ui_serves_concurrent_askers_without_errors_or_deleted_sources_while_another_process_ingests(
    tmp_path, make_settings, rag_env, rag_command
):
    settings = tiny_copy(tmp_path, make_settings)
    env = settings_env(rag_env, settings, RAG_LLM_BACKEND="extractive")
    pool = tmp_path / "pool"
    pool.mkdir()
    for name in NAMES:
        (pool / f"{name.lower()}_compact.md").write_text(rotating_doc(name), encoding="utf-8")
    shutil.copy(pool / "amber_compact.md", settings.corpus_dir)
    first = run_rag([*rag_command, "ingest"], env, tmp_path, timeout=600)
    assert first.returncode == 0, first.stderr
    timeline = Timeline()
    timeline.record("amber_compact.md", True)

    port = free_port()
    log = tmp_path / "ui.log"
    ui = start_guarded([*rag_command[:1], str(REPO / "ui.py"), "--port", str(port)], log, env)
    url = f"http://127.0.0.1:{port}/"
    stop_at = time.time() + 600
    errors: list[str] = []
    ingests: list[int] = []
    answered: list[tuple[float, float, list[str]]] = []
    dumped = threading.Event()
    try:
        wait_until(lambda: answers(url), ui, log, "python ui.py", 300)

        def ingest_loop() -> None:
            i = 0
            while time.time() < stop_at:
                doc = f"{NAMES[i % len(NAMES)].lower()}_compact.md"
                target = settings.corpus_dir / doc
                present = not target.exists()
                if present:
                    shutil.copy(pool / doc, target)
                    timeline.record(doc, True)  # answers may cite it as soon as this ingest writes it
                else:
                    target.unlink()
                run = run_rag([*rag_command, "ingest"], env, tmp_path, timeout=600)
                if run.returncode:
                    errors.append(f"rag ingest: {run.stderr[-500:]}")
                if not present:
                    timeline.record(doc, False)  # gone for every reader once this ingest has finished
                ingests.append(run.returncode)
                i += 1

        def ask_loop(n: int) -> None:
            client = Client(url, verbose=False, httpx_kwargs={"timeout": 300})  # a busy CI machine is slow
            i = n
            while time.time() < stop_at:
                question = f"How many solar ferries does each country fund under the {NAMES[i % len(NAMES)]} Compact?"
                started = time.time()
                try:
                    result = client.predict(question, None, api_name="/ask")
                except Exception as exc:  # noqa: BLE001 - every failure is what this test counts
                    errors.append(f"{question}: {exc}")
                    if not dumped.is_set():  # while it still hangs: `python ui.py` prints every thread's stack
                        dumped.set()
                        os.kill(ui.pid, signal.SIGUSR1)
                else:
                    answered.append((started, time.time(), [c["doc_id"] for c in result["citations"]]))
                i += 1

        writer = threading.Thread(target=ingest_loop)
        askers = [threading.Thread(target=ask_loop, args=(n,)) for n in range(ASKERS)]
        writer.start()
        stop_at = time.time() + SOAK_SECONDS
        for asker in askers:
            asker.start()
        for thread in [*askers, writer]:
            thread.join(timeout=SOAK_SECONDS + 600)
    finally:
        stop(ui)

    stale = [(s, e, docs) for s, e, docs in answered if any(timeline.stale(d, s, e) for d in docs)]
    print(f"soak: {len(answered)} answers, {len(ingests)} ingests, {len(errors)} errors, {len(stale)} stale")
    assert not errors, (errors[:5], log.read_text(errors="replace")[-20000:])
    assert len(ingests) >= 2 and len(answered) >= ASKERS
    assert not stale, stale[:5]
    assert any(docs for _, _, docs in answered)  # the askers got cited answers, not only abstentions
