"""Cited answers over a document corpus: the public surface that ui.py, webui/, eval/ and benchmarks/ use.

    from rag import Engine, Settings
    answer = Engine.from_settings(Settings()).ask("What did Japan pledge to the Philippines?")

Names load on first use (PEP 562), so `import rag` stays cheap: every `rag` command imports this package
first, and a cold `rag ask` is measured. Their JSON forms are in rag/serving/json_forms.py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# name -> the module that defines it
_PUBLIC = {
    "Engine": "rag.engine",
    "Query": "rag.query",
    "Answer": "rag.answer",
    "Citation": "rag.answer",
    "ABSTAIN_TEXT": "rag.answer",
    "Hit": "rag.storage.records",
    "Settings": "rag.settings",
    "Backend": "rag.settings",
    "Embedder": "rag.storage.embeddings",
    "RagError": "rag.errors",
    "StoreError": "rag.errors",
    "EmptyStoreError": "rag.errors",
    "QuestionError": "rag.errors",
    "UnknownCountryError": "rag.errors",
    "UnknownDocumentError": "rag.errors",
    "LLMError": "rag.errors",
    "MissingPackageError": "rag.errors",
    "IndexingError": "rag.errors",
    "without_later_note": "rag.answering.later_sources",
}
__all__ = [
    "ABSTAIN_TEXT",
    "Answer",
    "Backend",
    "Citation",
    "Embedder",
    "EmptyStoreError",
    "Engine",
    "Hit",
    "IndexingError",
    "LLMError",
    "MissingPackageError",
    "Query",
    "QuestionError",
    "RagError",
    "Settings",
    "StoreError",
    "UnknownCountryError",
    "UnknownDocumentError",
    "without_later_note",
]

if TYPE_CHECKING:
    from rag.answer import ABSTAIN_TEXT, Answer, Citation
    from rag.answering.later_sources import without_later_note
    from rag.engine import Engine
    from rag.errors import (
        EmptyStoreError,
        IndexingError,
        LLMError,
        MissingPackageError,
        QuestionError,
        RagError,
        StoreError,
        UnknownCountryError,
        UnknownDocumentError,
    )
    from rag.query import Query
    from rag.settings import Backend, Settings
    from rag.storage.embeddings import Embedder
    from rag.storage.records import Hit


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
