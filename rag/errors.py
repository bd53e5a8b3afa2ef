"""The engine's own exceptions; each message tells the user what to do next."""


class RagError(Exception):
    """Base class: anything the CLI or UI should show as a message, not a stack trace."""


class StoreError(RagError):
    """The vector store can't be opened, read or written."""


class EmptyStoreError(RagError):
    """Nothing has been ingested yet."""


class QuestionError(RagError):
    """The question is empty, too long or otherwise unusable."""


class UnknownCountryError(RagError):
    """A country filter names something we don't recognise."""


class LLMError(RagError):
    """The LLM backend is misconfigured, down, slow, or refused us."""


class MissingPackageError(RagError):
    """An optional backend's package isn't installed; the message names the install command."""
