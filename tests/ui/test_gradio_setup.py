"""Importing webui first spares Gradio's stub regeneration and the first event's matplotlib import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = """
import json, os, sys
import webui
import gradio as gr
import gradio.component_meta
from gradio.utils import MatplotlibBackendMananger

box = gr.Textbox(label="still works")
with MatplotlibBackendMananger():  # what Gradio wraps around every event
    pass
print(json.dumps({
    "stubs": gradio.component_meta.create_or_modify_pyi.__module__,
    "label": box.label,
    "pyplot": "matplotlib.pyplot" in sys.modules,
    "backend": os.environ.get("MPLBACKEND"),
}))
"""


def probe(**env: str) -> dict:
    """What a fresh interpreter that imports webui, then gradio, reports."""
    base = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env=base | env, capture_output=True, text=True, timeout=300, check=False
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_gradio_imported_after_webui_skips_stub_regeneration_and_the_first_event_skips_pyplot():
    seen = probe()
    assert seen["stubs"] == "webui.gradio_setup"  # Gradio's own function is replaced, not merely present
    assert seen["label"] == "still works"
    assert seen["pyplot"] is False
    assert seen["backend"] == "agg"


def test_a_matplotlib_backend_the_user_chose_is_kept():
    assert probe(MPLBACKEND="svg")["backend"] == "svg"
