"""`python ui.py` stops promptly and quietly on SIGTERM or Ctrl-C, even while a page holds its stream open."""

from __future__ import annotations

import signal
import time

import pytest
from gradio_client import Client

from testkit.servers import REPO, answers, free_port, start_guarded, stop, wait_until
from tests.conftest import tiny_copy
from tests.reliability.conftest import settings_env
from ui import SHUTDOWN_GRACE_S


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_ui_stops_within_its_grace_period_with_a_page_open(tmp_path, make_settings, rag_env, rag_command, stop_signal):
    settings = tiny_copy(tmp_path, make_settings)
    env = settings_env(rag_env, settings, RAG_LLM_BACKEND="extractive")
    port, log = free_port(), tmp_path / "ui.log"
    ui = start_guarded([*rag_command[:1], str(REPO / "ui.py"), "--port", str(port)], log, env)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: answers(url), ui, log, "python ui.py", 300)
        page = Client(url, verbose=False)  # like an open browser tab, it keeps a heartbeat stream open
        assert page.predict("What does the Harbour Pact do?", None, api_name="/ask")["answer"]
        ui.send_signal(signal.SIGUSR1)  # how a hung server shows where it hangs: every thread's stack, then on
        wait_until(lambda: "most recent call first" in log.read_text(errors="replace"), ui, log, "the stack dump", 10)
        assert page.predict("What does the Harbour Pact do?", None, api_name="/ask")["answer"]
        asked = time.monotonic()
        ui.send_signal(stop_signal)
        ui.wait(timeout=SHUTDOWN_GRACE_S + 25)  # it waited for the tab to close before: forever
        assert time.monotonic() - asked < SHUTDOWN_GRACE_S + 10
    finally:
        stop(ui)
    logged = log.read_text(errors="replace")
    # The open page's stream is cancelled at the end of the grace period: an expected end, not an error.
    assert "ERROR" not in logged and "Traceback" not in logged and "CancelledError" not in logged, logged
