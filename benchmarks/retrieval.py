"""Retrieval quality on SQuAD v1.1 dev: does each retriever put a passage holding the answer near the top?

For every question, each retriever returns its 10 best chunks. A chunk is a hit when it comes from the
question's article and its character range overlaps a gold answer span (``hit@5 full`` asks instead that
the chunk hold a whole gold answer). Retrievers, all over the product's own index:

- ``bm25``: the store's keyword index alone (``store.keyword.scores``);
- ``dense``: the store's FAISS index alone (``store.dense.search``);
- ``fusion``: the product's first stage (dense + BM25 fused);
- ``fusion + sentence rerank``: what ``pipeline.retrieve`` runs (the retriever the product uses): the first
  ``rerank_candidates`` fused passages reordered by their best sentence (``rag.reranking``);
- ``fusion + sentence rerank + reader (4 reads)``: the same, then the span reader reads the best sentence of the
  4th to 7th passages and settles which of them make the top 5 (``RAG_RERANK_READS=4``; off by default).

Questions are embedded once, in batches (checked against ``encode_query``), and the vector is shared by
``dense`` and ``fusion``; the latency columns are search time alone.

Run from the checkout::

    .venv/bin/python -m benchmarks.retrieval                  # all 10,570 dev questions
    .venv/bin/python -m benchmarks.retrieval --sample 2000    # quick, fixed seed
    .venv/bin/python -m benchmarks.retrieval --distractors    # + 18,896 train paragraphs as extra documents

Prints a table and writes ``benchmarks/results/retrieval.json`` (``retrieval-distractors.json``).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import squad
from rag.reranking import SentenceReranker, reading_window

logger = logging.getLogger(__name__)

DEPTH = 10
CUTOFFS = (1, 5, 10)
READS = 4
READ = f"fusion + sentence rerank + reader ({READS} reads)"
"""The sentence rerank with the span reader settling the top 5 (``rerank_reads``), measured beside it."""

Ranked = list[tuple[str, int, int]]
"""A ranked list of retrieved chunks as (source, start, end), best first."""


def first_hit(ranked: Ranked, question: squad.Question, full: bool = False) -> int | None:
    """1-based rank of the first chunk that overlaps (``full``: contains) a gold span, or None."""
    test = squad.spans_contain if full else squad.spans_overlap
    for rank, (source, start, end) in enumerate(ranked, start=1):
        if source == question.source and test(start, end, question.spans):
            return rank
    return None


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions with a hit in the first ``k``."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    """Mean reciprocal rank of the first hit, counting 0 when there is none in the first ``k``."""
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def query_vectors(pipeline: Any, questions: Sequence[str]) -> np.ndarray:
    """Every question's vector, embedded in batches (much faster than one by one on a busy CPU).

    Checked against the product's own ``encode_query`` on a few questions: if the product embeds queries
    differently from passages (a query prefix, another model), every question is embedded its way."""
    embedder = pipeline.embedder
    probe = list(questions[:8])
    batch = embedder.encode(probe)
    single = np.stack([embedder.encode_query(q) for q in probe])
    if len(probe) and float(np.min(np.sum(batch * single, axis=1))) < 0.999:
        logger.info("encode_query differs from encode: embedding questions one by one")
        return np.stack([embedder.encode_query(q) for q in questions])
    return embedder.encode(list(questions))


def retrievers(pipeline: Any) -> dict[str, Callable[[str, np.ndarray], Ranked]]:
    """The retrievers to compare, each (question, its vector) -> ranked chunks, over the pipeline's own store."""
    from rag.retrieval import top_ids

    store = pipeline.store
    retriever = pipeline.retriever

    def as_ranked(ids: Sequence[int]) -> Ranked:
        out = []
        for i in ids:
            doc = store.documents[int(store.chunk_doc[i])]
            out.append((doc.source, int(store.chunk_start[i]), int(store.chunk_end[i])))
        return out

    def bm25(question: str, vector: np.ndarray) -> Ranked:
        return as_ranked(top_ids(store.keyword.scores(question), DEPTH).tolist())

    def dense(question: str, vector: np.ndarray) -> Ranked:
        _, ids = store.dense.search(vector[None, :].astype(np.float32), DEPTH)
        return as_ranked([i for i in ids[0].tolist() if i >= 0])

    def fusion(question: str, vector: np.ndarray) -> Ranked:
        return [(p.chunk.source, p.chunk.start, p.chunk.end) for p in retriever.run(question, DEPTH, vector)]

    out = {"bm25": bm25, "dense": dense, "fusion": fusion}
    reranker = pipeline.reranker
    if reranker is not None:
        name = "fusion + sentence rerank" if isinstance(reranker, SentenceReranker) else "fusion + rerank"

        def product(question: str, vector: np.ndarray) -> Ranked:
            # What pipeline.retrieve(question, DEPTH) runs, given the question's vector.
            return [(p.chunk.source, p.chunk.start, p.chunk.end) for p in pipeline.retrieve(question, DEPTH, vector)]

        reads = isinstance(reranker, SentenceReranker) and reranker.reader is not None
        out[f"{name} + reader ({pipeline.settings.rerank_reads} reads)" if reads else name] = product
        if isinstance(reranker, SentenceReranker) and not reads and pipeline.reader is not None:

            def read(question: str, vector: np.ndarray) -> Ranked:  # the product's retrieve, reading READS
                window = reranker.window
                reranker.reader, reranker.window = pipeline.reader, reading_window(pipeline.settings.top_k, READS)
                try:
                    return product(question, vector)
                finally:
                    reranker.reader, reranker.window = None, window

            out[READ] = read
    return out


def evaluate(pipeline: Any, questions: Sequence[squad.Question]) -> dict[str, dict[str, float]]:
    """hit@k, MRR@10 and search latency (query embedding excluded) of every retriever over ``questions``."""
    started = time.perf_counter()
    vectors = query_vectors(pipeline, [q.question for q in questions])
    embed_seconds = time.perf_counter() - started
    logger.info("embedded %d questions in %.1f s", len(questions), embed_seconds)
    results: dict[str, dict[str, float]] = {"query embedding": {"seconds": round(embed_seconds, 1)}}
    for name, retrieve in retrievers(pipeline).items():
        ranks: list[int | None] = []
        full_ranks: list[int | None] = []
        seconds: list[float] = []
        started = time.perf_counter()
        for question, vector in zip(questions, vectors, strict=True):
            t = time.perf_counter()
            ranked = retrieve(question.question, vector)
            seconds.append(time.perf_counter() - t)
            ranks.append(first_hit(ranked, question))
            full_ranks.append(first_hit(ranked, question, full=True))
        row = {f"hit@{k}": hit_at(ranks, k) for k in CUTOFFS}
        row["mrr@10"] = mrr_at(ranks, DEPTH)
        row["hit@5 full"] = hit_at(full_ranks, 5)
        row["p50 ms"] = 1000 * squad.percentile(seconds, 50)
        row["p95 ms"] = 1000 * squad.percentile(seconds, 95)
        row["seconds"] = time.perf_counter() - started
        results[name] = {k: round(v, 4) for k, v in row.items()}
        logger.info("%s: %s", name, results[name])
    return results


def open_with_distractors(
    dev: Sequence[squad.Article], workdir: Path, dev_docs: Path, dev_index: Path, count: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """The dev articles plus every train article (under ``train/``) in one index.

    The dev files are hard-linked (same size and mtime) and the dev index is copied in first, so the
    product's incremental indexing reuses the dev vectors and embeds only the train paragraphs.
    """
    train = squad.pick_articles(squad.load_articles("train"), count)
    tag = "" if count is None else f"-{len(train)}a"
    docs, index = workdir / f"distractor-docs{tag}", workdir / f"distractor-index{tag}"
    docs.mkdir(parents=True, exist_ok=True)
    for article in dev:
        target, origin = docs / article.source, dev_docs / article.source
        if not target.exists():
            try:
                os.link(origin, target)
            except OSError:
                shutil.copy2(origin, target)
    squad.write_documents(train, docs / "train")
    if not (index / "CURRENT").exists() and (dev_index / "CURRENT").exists():
        shutil.copytree(dev_index, index, dirs_exist_ok=True)
    from rag import Pipeline

    pipeline = Pipeline(docs_dir=docs, index_dir=index)
    started = time.perf_counter()
    report = pipeline.index()
    seconds = time.perf_counter() - started
    squad.check_documents(pipeline, dev)
    info = {
        "docs_dir": str(docs),
        "index_dir": str(index),
        "documents": len(pipeline.store.documents),
        "distractor_articles": len(train),
        "distractor_paragraphs": sum(len(a.paragraph_offsets) for a in train),
        "chunks": report.chunks,
        "embedded": report.embedded,
        "index_seconds": round(seconds, 1),
        "embedded_per_second": round(report.embedded / seconds, 1) if report.embedded else None,
    }
    return pipeline, info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=None, help="score N random dev questions (fixed seed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--distractors",
        action="store_true",
        help="add the 18,896 train paragraphs as extra documents (embeds them once: slow)",
    )
    parser.add_argument(
        "--distractor-articles", type=int, default=None, help="only N train articles as distractors (fixed seed)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=squad.DEFAULT_WORKDIR, help="where the documents and the cached indexes live"
    )
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    squad.code_version()
    started = time.perf_counter()
    dev = squad.load_articles("dev")
    dev_docs, dev_index = args.workdir / "dev-docs", args.workdir / "dev-index"
    pipeline, info = squad.open_pipeline(dev, dev_docs, dev_index)
    if args.distractors:
        pipeline, info = open_with_distractors(dev, args.workdir, dev_docs, dev_index, args.distractor_articles)
    questions = squad.sample_questions(dev, args.sample, args.seed)
    results = evaluate(pipeline, questions)

    header = ["retriever", "hit@1", "hit@5", "hit@10", "MRR@10", "hit@5 full", "p50 ms", "p95 ms"]
    rows = [
        [
            name,
            r["hit@1"],
            r["hit@5"],
            r["hit@10"],
            r["mrr@10"],
            r["hit@5 full"],
            f"{r['p50 ms']:.2f}",
            f"{r['p95 ms']:.2f}",
        ]
        for name, r in results.items()
        if "hit@1" in r
    ]
    where = "dev + train distractors" if args.distractors else "dev"
    print(f"\nSQuAD v1.1 {where}: {len(questions)} questions, {info['documents']} documents, {info['chunks']} chunks")
    squad.print_table(header, rows)
    payload = {
        "benchmark": "retrieval",
        "dataset": "SQuAD v1.1 dev"
        + (f" + {info.get('distractor_paragraphs')} train paragraphs as distractors" if args.distractors else ""),
        "questions": len(questions),
        "sample": args.sample,
        "seed": args.seed,
        "hit": "chunk from the question's article whose char range overlaps a gold answer span",
        "index": info,
        "settings": squad.settings_summary(pipeline),
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    name = "retrieval.json"
    if args.distractors:
        name = f"retrieval-distractors{'' if args.distractor_articles is None else '-subset'}.json"
    print(f"wrote {squad.write_json(name, payload, args.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
