"""Question -> ranked :class:`Passage` list: dense and keyword (BM25) search fused by reciprocal rank.

The searches themselves belong to the index (:class:`rag.store.SearchIndex`: FAISS files or PostgreSQL), so
the same retriever, with the same fusion, runs on every store backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rag.chunking import Chunk
from rag.embedding import Embedder
from rag.filters import Filter
from rag.lexical import top_ids
from rag.store import SearchIndex

__all__ = ["Passage", "Retriever", "reciprocal_rank_fusion", "top_ids"]


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float
    """Fused score (higher is better); comparable only within one result list."""
    dense_score: float
    """Cosine similarity of question and chunk, -1..1: an absolute measure of topical closeness."""
    keyword_score: float
    """BM25 score of the chunk, when it was among the keyword candidates (else 0)."""
    index: int
    """Id of the chunk in its index."""
    sentences: tuple[tuple[int, int], ...] = ()
    """Document offsets of the chunk's sentences, when the index stores them."""
    sentence_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)
    """One vector per entry of ``sentences``: the sentence as read in its chunk."""


def reciprocal_rank_fusion(rankings: list[np.ndarray], weights: list[float], k: int = 60) -> dict[int, float]:
    """Fuse ranked id lists: each list adds ``weight / (k + rank)`` to the ids it ranks (rank from 1)."""
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, idx in enumerate(ranking.tolist(), start=1):
            fused[idx] = fused.get(idx, 0.0) + weight / (k + rank)
    return fused


class Retriever:
    """Hybrid retrieval over a :class:`~rag.store.SearchIndex`."""

    def __init__(
        self,
        store: SearchIndex,
        embedder: Embedder,
        candidates: int = 50,
        rrf_k: int = 60,
        dense_weight: float = 1.0,
        keyword_weight: float = 1.0,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.weights = [dense_weight, keyword_weight]

    def run(
        self, query: str, top_k: int = 5, query_vector: np.ndarray | None = None, where: Filter | None = None
    ) -> list[Passage]:
        """The ``top_k`` best passages for ``query``, only from documents that pass ``where`` when given."""
        if len(self.store) == 0:
            return []
        q = self.embedder.encode_query(query) if query_vector is None else query_vector
        dense_ranking = self.store.dense_search(q, self.candidates, where)
        keyword_ranking, keyword_scores = self.store.keyword_search(query, self.candidates, where)
        fused = reciprocal_rank_fusion([dense_ranking, keyword_ranking], self.weights, self.rrf_k)
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        keyword = dict(zip(keyword_ranking.tolist(), keyword_scores.tolist(), strict=True))
        rows = self.store.fetch([i for i, _ in best])
        cosines = np.stack([r.vector for r in rows]) @ q if rows else np.zeros(0)
        return [
            Passage(row.chunk, score, float(cos), keyword.get(i, 0.0), i, row.sentences, row.sentence_vectors)
            for (i, score), cos, row in zip(best, cosines, rows, strict=True)
        ]
