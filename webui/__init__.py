"""What the Gradio app (ui.py) does: event handlers, HTML rendering, the background corpus sync, login, CSS.

It calls only `rag.engine.Engine` methods (and rag's public functions); nothing but ui.py and tests imports it.
Importing it first makes the later `import gradio` skip Gradio's stub regeneration (`webui.gradio_import`).
"""

from webui.gradio_import import install

install()
