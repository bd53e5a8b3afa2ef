"""The floor under `python ui.py`'s start: a one-endpoint Gradio app served the way ui.py serves its own.

    python -m benchmarks.bare_gradio --port 7861

No engine, no store, no model: what is left is importing Gradio, building its FastAPI app (with MCP, as
ours) and uvicorn. `benchmarks.cold_start` times its first answer beside ui.py's.
"""

from __future__ import annotations

import argparse

import webui  # noqa: F401 - the same Gradio speedups ui.py has (webui/gradio_setup.py)

# isort: split
import gradio as gr
import uvicorn
from fastapi import FastAPI


def ask(question: str, countries: list[str] | None = None) -> dict:
    """Echo: the cheapest possible answer."""
    return {"answer": f"You asked: {question}"}


def main() -> None:
    """Serve the bare app on loopback."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    with gr.Blocks() as blocks:
        gr.Textbox()
        gr.api(ask, api_name="ask")
    app = gr.mount_gradio_app(FastAPI(), blocks.queue(), path="/", ssr_mode=False, mcp_server=True)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", timeout_graceful_shutdown=5)


if __name__ == "__main__":
    main()
