"""Question -> ranked :class:`Passage` list: dense (FAISS) and keyword (BM25) search fused by reciprocal rank."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rag.chunking import Chunk
from rag.embedding import Embedder
from rag.store import Store


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with the scores that ranked it."""

    chunk: Chunk
    score: float
    """Fused score (higher is better); comparable only within one result list."""
    dense_score: float
    """Cosine similarity of question and chunk, -1..1: an absolute measure of topical closeness."""
    keyword_score: float
    index: int
    """Row of the chunk in the store."""
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


def top_ids(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest positive scores, best first."""
    n = min(n, len(scores))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    part = part[scores[part] > 0]
    return part[np.argsort(-scores[part], kind="stable")]


class Retriever:
    """Hybrid retrieval over a :class:`Store`."""

    def __init__(
        self,
        store: Store,
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

    def run(self, query: str, top_k: int = 5, query_vector: np.ndarray | None = None) -> list[Passage]:
        """The ``top_k`` best passages for ``query``."""
        if len(self.store) == 0:
            return []
        q = self.embedder.encode_query(query) if query_vector is None else query_vector
        _, dense_ids = self.store.dense.search(q[None, :].astype(np.float32), min(self.candidates, len(self.store)))
        dense_ranking = dense_ids[0][dense_ids[0] >= 0]
        keyword_scores = self.store.keyword.scores(query)
        keyword_ranking = top_ids(keyword_scores, self.candidates)
        fused = reciprocal_rank_fusion([dense_ranking, keyword_ranking], self.weights, self.rrf_k)
        best = sorted(fused.items(), key=lambda item: -item[1])[:top_k]
        ids = np.array([i for i, _ in best], dtype=np.int64)
        cosines = np.asarray(self.store.vectors[ids], dtype=np.float32) @ q if len(ids) else np.zeros(0)
        passages = []
        for (i, score), cos in zip(best, cosines, strict=True):
            spans, vectors = self.store.sentences.of_chunk(i)
            passages.append(
                Passage(
                    self.store.chunk(i),
                    score,
                    float(cos),
                    float(keyword_scores[i]),
                    i,
                    tuple(spans),
                    vectors if spans else None,
                )
            )
        return passages
