"""Writes docs/configuration.md from Settings' fields: `python docs/make_configuration.py > docs/configuration.md`.

tests/test_docs.py fails when the file is stale, so a new setting's description reaches the docs.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from rag.settings import Settings

HEADER = """# Configuration

One settings object, `rag.settings.Settings` (pydantic-settings): environment variables, or a `.env` file
in the working directory. Where a setting has two names, either works. What each backend does is in
[Usage](usage.md#backends); how the retrieval defaults were chosen is in [Evaluation](evaluation.md).

This file is generated from the fields' descriptions: `python docs/make_configuration.py > docs/configuration.md`.

| variable | default | meaning |
|---|---|---|
"""


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables that set a field, its preferred name first."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    if isinstance(alias, str):
        return [alias]
    return [f"RAG_{name.upper()}"]


def shown_default(field: FieldInfo) -> str:
    """The default as a reader would type it; unset when there is none (the description says what applies)."""
    default = field.get_default(call_default_factory=True)
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def markdown() -> str:
    """The whole of docs/configuration.md."""
    rows = []
    for name, field in Settings.model_fields.items():
        names = ", ".join(f"`{env}`" for env in env_names(name, field))
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| {names} | {shown_default(field)} | {description} |")
    return HEADER + "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
