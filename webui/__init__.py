"""What the Gradio app (ui.py) does: event handlers, HTML rendering, the background corpus sync, login, CSS.

It calls only `rag.engine.Engine` methods (and rag's public functions); nothing but ui.py and tests imports it.
Importing it first spares the later `import gradio` and the first event two needless costs (`webui.gradio_setup`).
"""

from webui.gradio_setup import install

install()
