"""The engine's own exceptions; each message tells the user what to do next."""

from __future__ import annotations


class RagError(Exception):
    """Base class: anything the CLI or UI should show as a message, not a stack trace."""


class StoreError(RagError):
    """The vector store can't be opened, read or written.

    `public` says the same without server paths or raw error text: what a remote (UI) user is shown.
    """

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or "The document store is unavailable; the server log has the details."


class EmptyStoreError(RagError):
    """Nothing has been ingested yet."""


class OutsideCorpusError(RagError):
    """A file or folder named for ingest lies outside the corpus dir; only the corpus is ingested."""


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class UnknownCountryError(RagError):
    """A country filter names something we don't recognise."""


class UnknownDocumentError(RagError):
    """A document filter names no stored document; the message lists the names that exist."""


class LLMError(RagError):
    """The LLM backend is misconfigured, down, slow, or refused us."""


class MissingPackageError(RagError):
    """An optional backend's package isn't installed; the message names the install command."""

    @classmethod
    def extra(cls, needs: str, extra: str) -> MissingPackageError:
        """The error for a part of the optional `extra` (pyproject.toml) that a plain install leaves out."""
        return cls(f'{needs}, from the {extra!r} extra: pip install -e ".[{extra}]" (or "diplomatic-rag[{extra}]")')


class IndexingError(RagError):
    """The corpus is being indexed (by this process or another) and the store can't answer yet.

    Scripts can recognise it and retry after `retry_after_s`.
    """

    def __init__(self, done: int, total: int, eta_s: float | None) -> None:
        self.done, self.total, self.eta_s = done, total, eta_s
        if not total:
            where = "reading and splitting the files"
        else:
            ready = f", ready in about {max(1, round(eta_s))} s" if eta_s is not None else ""
            where = f"{done:,} of {total:,} passages{ready}"
        super().__init__(f"The corpus is being indexed: {where}. Ask again then.")

    @property
    def retry_after_s(self) -> int:
        """Seconds a client should wait before asking again."""
        return max(1, min(60, round(self.eta_s))) if self.eta_s is not None else 5
