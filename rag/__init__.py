"""Ask your documents: answers with verbatim, located quotes, from Python, a shell or a web chat.

>>> from rag import answer
>>> a = answer("How much could Ukraine borrow under the reparations loan?")
>>> a.answered, a.quotes[0].source
(True, 'eu-defence-ministers-brussels.txt')
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rag.answering import Answer, Quote
from rag.chunking import Chunk
from rag.conversation import Message
from rag.documents import Document
from rag.errors import (
    DocumentError,
    DocumentsFolderError,
    GenerationError,
    IndexStoreError,
    ModelLoadError,
    QuestionError,
    RagError,
    SettingsError,
)
from rag.filters import Filter, FilterSpec
from rag.pipeline import IndexReport, Pipeline
from rag.retrieval import Passage
from rag.settings import Settings

__all__ = [
    "Answer",
    "Chunk",
    "Document",
    "DocumentError",
    "DocumentsFolderError",
    "Filter",
    "GenerationError",
    "IndexReport",
    "IndexStoreError",
    "ModelLoadError",
    "Passage",
    "Pipeline",
    "QuestionError",
    "Quote",
    "RagError",
    "Settings",
    "SettingsError",
    "answer",
    "default_pipeline",
]


@lru_cache(maxsize=1)
def default_pipeline() -> Pipeline:
    """The pipeline :func:`answer` uses: default settings (and ``RAG_*`` variables), created once.

    Call ``default_pipeline.cache_clear()`` to drop it, e.g. after changing the environment.
    """
    return Pipeline()


def answer(question: str, history: Sequence[Message] | None = None, filters: FilterSpec | None = None) -> Answer:
    """Answer ``question`` from the default documents (the folder the index holds, else ``seeds/``; ``RAG_DOCS_DIR``
    chooses one);
    ``filters`` restricts it to some of them, e.g. ``{"folder": "reports"}`` (see :mod:`rag.filters`)."""
    return default_pipeline().answer(question, history, filters)
