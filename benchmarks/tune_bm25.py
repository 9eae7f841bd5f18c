"""Do BM25's k1 and b matter for the product's retriever? Measured on SQuAD v1.1 *train* articles, never dev.

bm25s' defaults (k1 1.5, b 0.75, Lucene's scoring) build the product's keyword index. This script rebuilds
the keyword side of the cached 48-article train index (``benchmarks.squad.open_pipeline``) in memory for
each (k1, b) and reports hit@1 / hit@5 / MRR@10 of the whole product retriever (fusion + sentence rerank,
``Pipeline.retrieve``) and of BM25 alone, over the same questions.

    .venv/bin/python -m benchmarks.tune_bm25 [--sample 3000] [--seed 0]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from benchmarks import retrieval, squad
from rag import lexical

GRID = [(1.5, 0.75), (1.2, 0.75), (0.9, 0.4), (0.9, 0.6), (1.2, 0.5), (1.2, 0.9), (2.0, 0.75), (1.5, 0.9), (1.5, 0.5)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=str(squad.DEFAULT_WORKDIR))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(args.workdir)
    articles = squad.pick_articles(squad.load_articles("train"), 48, args.seed)
    tag = f"train-48a-s{args.seed}"
    pipeline, _ = squad.open_pipeline(articles, workdir / f"{tag}-docs", workdir / f"{tag}-index")
    store = pipeline.store
    questions = squad.sample_questions(articles, args.sample, args.seed + 11)
    vectors = [pipeline.embedder.encode_query(q.question) for q in questions]
    texts = [store.chunk(i).text for i in range(len(store))]
    shipped = store.keyword
    rows, results = [], []
    for k1, b in GRID:
        store.keyword = lexical.KeywordIndex.build(texts, k1, b)
        product, alone = [], []
        for q, v in zip(questions, vectors, strict=True):
            ranked = pipeline.retrieve(q.question, retrieval.DEPTH, v)
            product.append(retrieval.first_hit([(p.chunk.source, p.chunk.start, p.chunk.end) for p in ranked], q))
            ids = lexical.top_ids(store.keyword.scores(q.question), retrieval.DEPTH).tolist()
            chunks = [store.chunk(i) for i in ids]
            alone.append(retrieval.first_hit([(c.source, c.start, c.end) for c in chunks], q))
        row = {"k1": k1, "b": b}
        for name, ranks in (("product", product), ("bm25", alone)):
            for k in (1, 5):
                row[f"{name} hit@{k}"] = round(retrieval.hit_at(ranks, k), 4)
            row[f"{name} mrr@10"] = round(retrieval.mrr_at(ranks, retrieval.DEPTH), 4)
        results.append(row)
        rows.append([k1, b, *(f"{row[c]:.4f}" for c in list(row)[2:])])
        print(rows[-1], flush=True)
    store.keyword = shipped
    squad.print_table(
        ["k1", "b", "product hit@1", "product hit@5", "product MRR@10", "BM25 hit@1", "BM25 hit@5", "BM25 MRR@10"], rows
    )
    squad.write_json(
        "tune_bm25.json",
        {"benchmark": "tune_bm25", "split": f"SQuAD v1.1 train, {tag}", "questions": len(questions), "grid": results},
    )


if __name__ == "__main__":
    main()
