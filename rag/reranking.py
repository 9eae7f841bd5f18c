"""Fused candidates -> reordered :class:`Passage` list: the second retrieval stage.

- :class:`SentenceReranker` (the default) orders passages by their best sentence's rerank score
  (:mod:`rag.evidence`): the vectors of every chunk's sentences are stored at index time, so this costs no
  model run. On SQuAD dev it lifts hit@1 from 0.73 to 0.83 (``benchmarks/retrieval.py``). Given the span
  reader (:mod:`rag.reader`) and ``rerank_reads`` in settings, it then settles which passages make the
  answer's cut: the passages ranked just above and below it have their best sentence read, and reorder among
  themselves by rerank score plus :data:`READ_WEIGHT` times the reader's margin. With 4 reads, SQuAD dev hit@5
  0.957 -> 0.962 for ~20 ms more a question; off by default, since the answers do not gain (see
  ``Settings.rerank_reads``).
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
from rag.evidence import EvidenceScorer, Sentence, read_sentences
from rag.reader import SpanReader
from rag.retrieval import Passage

logger = logging.getLogger(__name__)

READ_WEIGHT = 0.3
"""How much a read passage's reader margin (logits) counts beside its rerank score. Chosen on SQuAD train
(3 sets of 48 articles, 3,000 questions each, reading the 4th to 7th passages without their context; with it
alike): hit@5 +0.0037 / +0.0044 / +0.0047 / +0.0043 / +0.0046 at 0.1 / 0.2 / 0.3 / 0.5 / 1.0."""


class Reranker(Protocol):
    """Anything that reorders retrieved passages for a question."""

    def run(self, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> list[Passage]: ...


class SentenceReranker:
    """Orders passages by the rerank score of their best sentence; ``score`` becomes that score."""

    def __init__(self, scorer: EvidenceScorer, reader: SpanReader | None = None, cut: int = 5, reads: int = 4) -> None:
        self.scorer = scorer
        self.reader = reader
        """Reads the best sentence of the passages around the ``cut`` (None: the rerank order stands)."""
        self.window = reading_window(cut, reads)
        """Positions (0-based, end excluded) of the passages read."""

    def run(self, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> list[Passage]:
        scored = self.scorer.rerank(query, passages, query_vector)
        order = best_sentence_order([(score, sentence.rank) for score, sentence in scored], len(passages))
        if self.reader is not None:
            order = self.read(query, scored, order)
        return [dataclasses.replace(passages[i], score=score) for i, score in order]

    def read(
        self, query: str, scored: Sequence[tuple[float, Sentence]], order: list[tuple[int, float]]
    ) -> list[tuple[int, float]]:
        """``order`` with the passages in :attr:`window` reordered by their best sentence's rerank score plus
        :data:`READ_WEIGHT` times the reader's margin on it; a passage with no sentence read keeps its place, and
        each place keeps its score.
        On SQuAD train the passages the rerank put 6th or 7th hold the answer more often than its 4th or 5th
        when the reader finds it in them, and its margin separates passages of one article that the sentence
        features score alike."""
        assert self.reader is not None
        best: dict[int, tuple[float, Sentence]] = {}
        for score, sentence in scored:
            if score > best.get(sentence.rank, (-np.inf,))[0]:
                best[sentence.rank] = (score, sentence)
        lo, hi = self.window
        slots = [k for k in range(lo, min(hi, len(order))) if order[k][0] in best]
        if len(slots) < 2:
            return order
        readings = read_sentences(self.reader, query, [best[order[k][0]][1] for k in slots])
        combined = {
            order[k][0]: best[order[k][0]][0] + READ_WEIGHT * reading.margin
            for k, reading in zip(slots, readings, strict=True)
            if reading is not None
        }
        movable = [k for k in slots if order[k][0] in combined]
        reordered = sorted((order[k] for k in movable), key=lambda item: -combined[item[0]])
        out = list(order)
        for k, (i, _) in zip(movable, reordered, strict=True):
            out[k] = (i, order[k][1])  # the score of the place it takes: scores stay in order
        return out


def reading_window(cut: int, reads: int) -> tuple[int, int]:
    """Positions (0-based, end excluded) of the ``reads`` passages read around the ``cut``: with ``cut`` 5 and 4
    reads, the 4th to 7th."""
    start = max(cut - reads // 2, 0)
    return start, start + reads


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
    name: str,
    scorer: EvidenceScorer,
    device: str = "cpu",
    offline: bool = True,
    reader: SpanReader | None = None,
    cut: int = 5,
    reads: int = 4,
) -> SentenceReranker | CrossEncoderReranker | None:
    """The reranker named in settings: ``sentences`` (with ``reader``, reading ``reads`` passages around the
    ``cut``), ``none`` (or empty) or a cross-encoder name/path."""
    key = name.strip()
    if key.lower() in {"", "none", "off"}:
        return None
    if key.lower() == "sentences":
        return SentenceReranker(scorer, reader if reads > 1 else None, cut, reads)
    return CrossEncoderReranker(key, device=device, offline=offline)
