"""The errors the library raises: each names what went wrong and what it happened to, so a user can act on it."""

from __future__ import annotations

from pathlib import Path


class RagError(Exception):
    """Base class of every error this package raises on purpose."""


class DocumentError(RagError):
    """A document file cannot be used: unreadable, empty, binary, too large or not valid text."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class NeedsOcrError(DocumentError):
    """A document whose text only OCR can read (an image, a scanned PDF), read without it."""


class DocumentsFolderError(RagError):
    """The documents folder is missing, is not a folder, or holds no usable document."""


class IndexStoreError(RagError):
    """The index folder cannot be read: missing, corrupt, half-written or built by another format version."""


class ModelLoadError(RagError):
    """A model (embedder, reranker or generator) could not be loaded from the name or path given."""


class SettingsError(RagError, ValueError):
    """A setting has a value that cannot work (from an argument or a ``RAG_*`` environment variable).

    Also a ValueError, as settings errors were before they had their own class."""


class QuestionError(RagError, ValueError):
    """The question cannot be answered as asked: empty, or too long."""


class GenerationError(RagError):
    """A generative backend failed while writing an answer (server error, model crash)."""
