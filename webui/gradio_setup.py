"""Two costs Gradio charges every process that change nothing for this app, and how `install()` avoids them.

1. **Type-stub regeneration on import.** Each Gradio component class, as it is defined, re-reads its own
   source file, parses it and rewrites the `.pyi` stub beside it (`gradio.component_meta.create_or_modify_pyi`):
   code generation for Gradio's own developers. It is about 40% of `import gradio` (2 s of 4.5-6 s on 2 cores;
   `python -m cProfile` shows `ast.get_source_segment` on top). A finder wraps the loading of
   `gradio.component_meta` and replaces that one function with a no-op before any component is defined.
   A Gradio that renames or drops the function still imports, only slower.
2. **Matplotlib on the first event.** Gradio wraps every event in `MatplotlibBackendMananger`, which asks
   matplotlib for its backend; with none chosen, matplotlib imports pyplot to pick one: 0.55 s added to the
   first answer. A server draws off-screen anyway, so `MPLBACKEND` defaults to `agg`.

`tests/ui/test_gradio_setup.py` checks both.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import ModuleType

MODULE, FUNCTION = "gradio.component_meta", "create_or_modify_pyi"


def _skip_stubs(*_args: object, **_kwargs: object) -> None:
    """Stands in for `create_or_modify_pyi`."""


class _SkipStubs(importlib.abc.MetaPathFinder):
    """Finds `gradio.component_meta` as usual, and patches it as soon as it has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None):
        if fullname != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            if hasattr(module, FUNCTION):
                setattr(module, FUNCTION, _skip_stubs)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Avoid both costs in this process; call before gradio is imported (later, the stubs part does nothing)."""
    os.environ.setdefault("MPLBACKEND", "agg")
    if MODULE not in sys.modules and not any(isinstance(f, _SkipStubs) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipStubs())
