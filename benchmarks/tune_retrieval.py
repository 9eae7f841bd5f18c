"""Choose the fusion weights on SQuAD v1.1 *train* (never dev): sweep dense/keyword weights and the RRF constant.

    .venv/bin/python -m benchmarks.tune_retrieval [--articles 48] [--sample 3000]

Prints hit@1, hit@5 and MRR@10 per setting on a fixed subset of train articles (the index is the one
``benchmarks.answers --split train`` builds and caches), then the same for the number of fused candidates
the sentence reranker reorders (``rerank_candidates``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
from pathlib import Path

from benchmarks import retrieval, squad
from rag.retrieval import Retriever


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=48)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=squad.DEFAULT_WORKDIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    articles = squad.pick_articles(squad.load_articles("train"), args.articles, args.seed)
    tag = f"train-{len(articles)}a-s{args.seed}"
    pipeline, _ = squad.open_pipeline(articles, args.workdir / f"{tag}-docs", args.workdir / f"{tag}-index")
    questions = squad.sample_questions(articles, args.sample, args.seed)
    vectors = retrieval.query_vectors(pipeline, [q.question for q in questions])
    rows = []
    print(f"{len(questions)} train questions over {len(articles)} train articles, {len(pipeline.store)} chunks")
    print("| dense weight | keyword weight | rrf k | hit@1 | hit@5 | MRR@10 |\n|---|---|---|---|---|---|")
    for dense_w, keyword_w, k in itertools.product((1.0, 0.7, 0.5, 0.35), (1.0,), (10, 30, 60)):
        retriever = Retriever(pipeline.store, pipeline.embedder, 50, k, dense_w, keyword_w)
        ranks = []
        for question, vector in zip(questions, vectors, strict=True):
            ranked = [
                (p.chunk.source, p.chunk.start, p.chunk.end) for p in retriever.run(question.question, 10, vector)
            ]
            ranks.append(retrieval.first_hit(ranked, question))
        row = {"dense_weight": dense_w, "keyword_weight": keyword_w, "rrf_k": k,
               "hit@1": retrieval.hit_at(ranks, 1), "hit@5": retrieval.hit_at(ranks, 5),
               "mrr@10": retrieval.mrr_at(ranks, 10)}  # fmt: skip
        rows.append(row)
        print(f"| {dense_w} | {keyword_w} | {k} | {row['hit@1']:.3f} | {row['hit@5']:.3f} | {row['mrr@10']:.3f} |")
    best = max(rows, key=lambda r: (r["mrr@10"], r["hit@5"]))
    print(f"best by MRR@10: {best}")
    # The second stage: how many fused candidates the sentence reranker should reorder.
    rerank_rows = []
    print("\n| rerank candidates | hit@1 | hit@5 | MRR@10 |\n|---|---|---|---|")
    for depth in (10, 20, 30, 50):
        pipeline.settings = pipeline.settings.replace(rerank_candidates=depth)
        ranks = []
        for question, vector in zip(questions, vectors, strict=True):
            ranked = [
                (p.chunk.source, p.chunk.start, p.chunk.end) for p in pipeline.retrieve(question.question, 10, vector)
            ]
            ranks.append(retrieval.first_hit(ranked, question))
        row = {"rerank_candidates": depth, "hit@1": retrieval.hit_at(ranks, 1), "hit@5": retrieval.hit_at(ranks, 5),
               "mrr@10": retrieval.mrr_at(ranks, 10)}  # fmt: skip
        rerank_rows.append(row)
        print(f"| {depth} | {row['hit@1']:.3f} | {row['hit@5']:.3f} | {row['mrr@10']:.3f} |")
    out = Path(__file__).parent / "results" / "tune_retrieval.json"
    payload = {"questions": len(questions), "rows": rows, "best": best, "rerank": rerank_rows}
    out.write_text(json.dumps(payload, indent=1) + "\n")


if __name__ == "__main__":
    main()
