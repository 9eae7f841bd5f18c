"""Fused candidates -> reordered :class:`Passage` list: the second retrieval stage.

- :class:`SentenceReranker` (the default) orders passages by their best sentence's rerank score
  (:mod:`rag.evidence`): the vectors of every chunk's sentences are stored at index time, so this costs no
  model run. On SQuAD dev it lifts hit@1 from 0.73 to 0.83 (``benchmarks/retrieval.py``).
- :class:`CrossEncoderReranker` scores (question, passage) pairs with a cross-encoder given by hub name or
  local folder, for users who have one (none ships as a package here).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.errors import ModelLoadError
from rag.evidence import EvidenceScorer
from rag.retrieval import Passage

logger = logging.getLogger(__name__)


class Reranker(Protocol):
    """Anything that reorders retrieved passages for a question."""

    def run(self, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> list[Passage]: ...


class SentenceReranker:
    """Orders passages by the rerank score of their best sentence; ``score`` becomes that score."""

    def __init__(self, scorer: EvidenceScorer) -> None:
        self.scorer = scorer

    def run(self, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> list[Passage]:
        scored = [(score, sentence.rank) for score, sentence in self.scorer.rerank(query, passages, query_vector)]
        order = best_sentence_order(scored, len(passages))
        return [dataclasses.replace(passages[i], score=score) for i, score in order]


def best_sentence_order(scored: Sequence[tuple[float, int]], count: int) -> list[tuple[int, float]]:
    """Positions ``0..count-1`` of passages, with their scores, ordered by the best of their sentences' scores.

    ``scored`` holds ``(score, passage position)`` per sentence. A passage with no sentence to score (a list of
    short lines, a tiny file, or sentences all seen in an earlier overlapping passage) keeps its fused position,
    with its neighbour's score.
    """
    best: dict[int, float] = {}
    for score, i in scored:
        best[i] = max(score, best.get(i, score))
    ranked = sorted(best, key=lambda i: (-best[i], i))
    for i in range(count):
        if i not in best:
            ranked.insert(min(i, len(ranked)), i)
    out: list[tuple[int, float]] = []
    for i in ranked:
        out.append((i, best[i] if i in best else out[-1][1] if out else max(best.values(), default=0.0)))
    return out


class CrossEncoderReranker:
    """Scores each (question, passage text) pair with a sentence-transformers ``CrossEncoder``."""

    def __init__(self, model: str, device: str = "cpu", offline: bool = True, batch_size: int = 16) -> None:
        self.name = model
        self.device = device
        self.offline = offline
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            folder = Path(self.name).expanduser()
            if self.name.startswith(("/", ".", "~")) and not folder.is_dir():
                raise ModelLoadError(f"cannot load reranker '{self.name}': no such folder")
            if self.offline:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import CrossEncoder

                name = str(folder) if folder.is_dir() else self.name
                self._model = CrossEncoder(name, device=self.device, local_files_only=self.offline)
            except Exception as exc:  # the library raises many types (OSError, ValueError, HF errors)
                hint = " (offline: give a local folder, or set RAG_OFFLINE=0)" if self.offline else ""
                raise ModelLoadError(f"cannot load reranker '{self.name}'{hint}: {exc}") from exc
            logger.info("loaded cross-encoder reranker %s", self.name)
        return self._model

    def scores(self, query: str, passages: Sequence[Passage]) -> np.ndarray:
        pairs = [(query, p.chunk.text) for p in passages]
        raw = self.model.predict(pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(raw, dtype=np.float32).reshape(len(passages), -1)[:, -1]

    def run(self, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> list[Passage]:
        if not passages:
            return []
        scores = self.scores(query, passages).tolist()
        order = sorted(range(len(passages)), key=lambda i: (-scores[i], i))
        return [dataclasses.replace(passages[i], score=float(scores[i])) for i in order]


def load_reranker(
    name: str, scorer: EvidenceScorer, device: str = "cpu", offline: bool = True
) -> SentenceReranker | CrossEncoderReranker | None:
    """The reranker named in settings: ``sentences``, ``none`` (or empty) or a cross-encoder name/path."""
    key = name.strip()
    if key.lower() in {"", "none", "off"}:
        return None
    if key.lower() == "sentences":
        return SentenceReranker(scorer)
    return CrossEncoderReranker(key, device=device, offline=offline)
