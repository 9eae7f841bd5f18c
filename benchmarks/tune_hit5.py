"""Look for a lever that raises hit@5 of the product retriever without lowering hit@1, on SQuAD v1.1 *train* only.

    nice -n 15 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.tune_hit5 [--articles 48] [--sample 3000]
    nice -n 15 env OMP_NUM_THREADS=1 .venv/bin/python -m benchmarks.tune_hit5 --seed 1 --chunking 600x1 600x2 \\
        --no-prf --alt-fusion 1.0,10 1.4,10 2.0,10 --output benchmarks/results/tune_hit5-s1.json

Every row is the full product retriever (``pipeline.retrieve``: RRF fusion of dense + BM25, the first
``rerank_candidates`` fused passages reordered by their best sentence) or an experimental variation of it,
scored like ``benchmarks.retrieval`` (a hit is a chunk of the question's article overlapping a gold span) on
the same questions and articles as ``benchmarks.tune_retrieval`` (train, seed 0). Levers, in order:

1. chunking: ``chunk_chars`` x ``chunk_overlap_sentences``; each setting gets its own index in
   ``<workdir>/hit5-c<chars>o<overlap>-index`` (built once, then reused). Bigger chunks make a hit easier by
   construction, so the average chunk length is reported with each row, as is the share of chunks longer
   than the embedding model's window (their vector sees only the first tokens; their later sentences are
   embedded alone, not "as read in the chunk").
2. pseudo-relevance feedback for the BM25 side (RM3-like): the best terms of the first pass's top 3 chunks
   are added, down-weighted, to the keyword query; the expanded BM25 ranking is fused and reranked as usual.
   Implemented here only (the product is not changed).
3. cheap changes around the sentence reranker: how many fused candidates it reorders; the fusion weights
   and RRF constant chosen with the reranker on (``tune_retrieval`` chose them on the fused list alone); adding
   the neighbours of the best fused chunks, or the best chunks of dense and BM25 alone, to the reranked pool;
   reserving the last slot(s) of the top 5 for the best fused passages the reranker left out. ``--alt-fusion``
   pairs are also scored on every chunking's index.

Every index also gets an answer check (``pipeline.answer`` on the first ``--answers`` questions, scored as
``benchmarks.answers`` does: evidence@1, EM, F1, wrong refusals), since the answerer's heads were fitted on
the sentence vectors of 600-character chunks, and the drift of those late-chunked sentence vectors against the
first index is reported. The misses at 5 of the first index are profiled (rank in dense and BM25 alone).
"won/lost" columns count the questions a row gains and loses against the product row of the same index.
``--seed 1`` scores another 48 train articles (2 shared with seed 0) as a check of what seed 0 suggests.

The embedding model runs on one thread (the query vectors are computed once and shared by every index: they
do not depend on it). Prints Markdown tables and writes ``benchmarks/results/tune_hit5.json``.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import retrieval, squad
from rag.embedding import Embedder
from rag.lexical import tokenize
from rag.retrieval import Passage, Retriever, reciprocal_rank_fusion, top_ids

logger = logging.getLogger("tune_hit5")

DEPTH = 10
POOL = 30
"""Fused candidates computed per question (the deepest rerank depth tried)."""
FUSION_GRID = [(0.7, 10, 100), (0.5, 10, 50), (1.0, 10, 50), (1.4, 10, 50), (2.0, 10, 50), (3.0, 10, 50),
               (1.4, 5, 50), (2.0, 5, 50), (0.7, 30, 50), (1.0, 30, 50), (1.4, 30, 50), (1.0, 60, 50)]  # fmt: skip
"""(dense weight, rrf k, candidates per retriever) tried with the reranker on (keyword weight 1); the product
is (0.7, 10, 50), chosen by ``tune_retrieval`` on the fused ranking alone."""
BUDGET = 2500
"""A fixed reading budget in characters (about five 600-character chunks): ``hit@2500c`` asks for a chunk
overlapping a gold span that ends within the first 2,500 characters of the ranked list, so that chunkings
are compared for the same amount of text read, not the same number of chunks."""


# ---- scoring ------------------------------------------------------------------------------------------------


def as_ranked(passages: Sequence[Passage]) -> retrieval.Ranked:
    return [(p.chunk.source, p.chunk.start, p.chunk.end) for p in passages]


def metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    return {
        "hit@1": round(retrieval.hit_at(ranks, 1), 4),
        "hit@5": round(retrieval.hit_at(ranks, 5), 4),
        "hit@10": round(retrieval.hit_at(ranks, 10), 4),
        "mrr@10": round(retrieval.mrr_at(ranks, DEPTH), 4),
    }


def passages_of(store: Any, fused: Sequence[tuple[int, float]], keyword_scores: Any, q: np.ndarray) -> list:
    """Passages as ``Retriever.run`` makes them, from (chunk id, fused score) pairs, best first."""
    ids = np.array([i for i, _ in fused], dtype=np.int64)
    cosines = np.asarray(store.vectors[ids], dtype=np.float32) @ q if len(ids) else np.zeros(0)
    out = []
    for (i, score), cos in zip(fused, cosines, strict=True):
        spans, vectors = store.sentences.of_chunk(i)
        passage = Passage(store.chunk(i), score, float(cos), float(keyword_scores[i]), i, tuple(spans))
        out.append(dataclasses.replace(passage, sentence_vectors=vectors if spans else None))
    return out


def with_fused_slots(reranked: Sequence[Passage], fused: Sequence[Passage], keep: int, k: int = 5) -> list[Passage]:
    """The reranked list, except that slots ``keep+1..k`` go to the best fused passages not already in the
    first ``keep`` (then the rest of the reranked list follows, without repeats)."""
    head = list(reranked[:keep])
    taken = {p.index for p in head}
    for p in fused:
        if len(head) >= k:
            break
        if p.index not in taken:
            head.append(p)
            taken.add(p.index)
    return head + [p for p in reranked if p.index not in taken]


def with_neighbours(store: Any, fused: Sequence[Passage], top: int, place: str, q: np.ndarray) -> list[Passage]:
    """The fused candidates plus the chunks either side (same document) of the first ``top`` of them that are
    not candidates already: inserted right ``after`` their neighbour, or at the ``end`` of the list."""
    have = {p.index for p in fused}
    out: list[Passage] = []
    tail: list[Passage] = []
    for r, p in enumerate(fused):
        out.append(p)
        if r >= top:
            continue
        new = []
        for j in (p.index - 1, p.index + 1):
            if 0 <= j < len(store) and j not in have and store.chunk_doc[j] == store.chunk_doc[p.index]:
                have.add(j)
                new.append((j, p.score))
        made = passages_of(store, new, collections.defaultdict(float), q)
        (out if place == "after" else tail).extend(made)
    return out + tail


def with_single_tops(store: Any, text: str, q: np.ndarray, fused: Sequence[Passage], n: int) -> list[Passage]:
    """The fused candidates plus the top ``n`` of dense and of BM25 alone that are not among them (at the end)."""
    have = {p.index for p in fused}
    _, dense_ids = store.dense.search(q[None, :].astype(np.float32), n)
    keyword = store.keyword.scores(text)
    new = []
    for i in [*dense_ids[0].tolist(), *top_ids(keyword, n).tolist()]:
        if i >= 0 and i not in have:
            have.add(i)
            new.append((int(i), 0.0))
    return list(fused) + passages_of(store, new, keyword, q)


# ---- pseudo-relevance feedback (BM25 side) ------------------------------------------------------------------


class Feedback:
    """RM3-like query expansion over the store's bm25s index.

    Expanded score = BM25(query) + ``beta`` * sum over the ``terms`` best feedback terms of
    (term weight / best term weight) * BM25(term). A term's weight is sum over feedback chunks of
    P(chunk) * tf(term, chunk) / |chunk| (P from the first-pass scores, normalised), times its IDF when
    ``idf`` is set (plain RM3 has none; SQuAD chunks are short, so frequent words otherwise dominate)."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.bm25 = store.keyword._bm25
        self.vocab = self.bm25.vocab_dict
        self._tokens: dict[int, list[str]] = {}
        self._term_scores: dict[int, np.ndarray] = {}

    def tokens(self, i: int) -> list[str]:
        if i not in self._tokens:
            self._tokens[i] = tokenize(self.store.chunk(i).text)
        return self._tokens[i]

    def term_scores(self, term_id: int) -> np.ndarray:
        if term_id not in self._term_scores:
            self._term_scores[term_id] = np.asarray(self.bm25.get_scores_from_ids([term_id]), dtype=np.float32)
        return self._term_scores[term_id]

    def expand(
        self, query: str, base: np.ndarray, feedback: Sequence[tuple[int, float]], terms: int, beta: float, idf: bool
    ) -> np.ndarray:
        q_terms = set(tokenize(query))
        weights: dict[str, float] = {}
        total = sum(max(s, 0.0) for _, s in feedback) or 1.0
        for i, score in feedback:
            tokens = self.tokens(i)
            if not tokens:
                continue
            p = max(score, 0.0) / total
            for t in tokens:
                if t not in q_terms and t in self.vocab:
                    weights[t] = weights.get(t, 0.0) + p / len(tokens)
        if not weights:
            return base
        if idf:
            names = list(weights)
            values = self.store.keyword.idf(names)
            weights = {t: w * float(v) for t, w, v in zip(names, weights.values(), values, strict=True)}
        best = sorted(weights.items(), key=lambda kv: -kv[1])[:terms]
        top = best[0][1]
        out = base.astype(np.float32).copy()
        for t, w in best:
            out += beta * (w / top) * self.term_scores(self.vocab[t])
        return out


# ---- one index --------------------------------------------------------------------------------------------


def evaluate_index(
    pipeline: Any,
    questions: Sequence[squad.Question],
    vectors: np.ndarray,
    prf: bool,
    second_stage: bool,
    alt_fusion: Sequence[tuple[float, int]] = (),
) -> dict[str, dict[str, float]]:
    """Every variant's metrics over one index (the product's own row first)."""
    s = pipeline.settings
    store, retriever, reranker = pipeline.store, pipeline.retriever, pipeline.reranker
    weights, k = [s.dense_weight, s.keyword_weight], s.rrf_k
    depths = (10, 15, 20, 30) if second_stage else (s.rerank_candidates,)
    ranks: dict[str, list[int | None]] = {}
    diag: dict[str, list[int | None]] = {}
    feedback = Feedback(store) if prf else None
    misses: list[dict[str, Any]] = []
    reading: dict[str, list[tuple[int | None, int]]] = {}
    prf_variants = [
        # (name, source of the feedback chunks, terms, beta, idf)
        ("prf bm25-top3 10t b0.3 idf", "bm25", 10, 0.3, True),
        ("prf bm25-top3 10t b0.5 idf", "bm25", 10, 0.5, True),
        ("prf bm25-top3 5t b0.3 idf", "bm25", 5, 0.3, True),
        ("prf bm25-top3 10t b0.3 rm3", "bm25", 10, 0.3, False),
        ("prf fused-top3 10t b0.3 idf", "fused", 10, 0.3, True),
        ("prf rerank-top3 10t b0.3 idf", "rerank", 10, 0.3, True),
    ]

    def add(name: str, passages: Sequence[Passage], question: squad.Question, table: dict = ranks) -> None:
        ranked = as_ranked(passages[:DEPTH])
        rank = retrieval.first_hit(ranked, question)
        table.setdefault(name, []).append(rank)
        if table is ranks:  # the text read up to the first hit, and the text of the top 5
            through = sum(e - b for _, b, e in ranked[:rank]) if rank is not None else None
            reading.setdefault(name, []).append((through, sum(e - b for _, b, e in ranked[:5])))

    started = time.perf_counter()
    for n, (question, vector) in enumerate(zip(questions, vectors, strict=True)):
        text = question.question.strip()
        fused30 = retriever.run(text, POOL, vector)
        product = reranker.run(text, fused30[: s.rerank_candidates], vector)[:DEPTH]
        if n < 50:  # the product row must be exactly what pipeline.retrieve returns
            same = as_ranked(pipeline.retrieve(question.question, DEPTH, vector))
            assert as_ranked(product) == same, f"product path differs on {question.id}"
        add(f"product (rerank {s.rerank_candidates})", product, question)
        add("fused (no rerank)", fused30, question)
        diag.setdefault("gold in fused top-20", []).append(retrieval.first_hit(as_ranked(fused30[:20]), question))
        diag.setdefault("gold in fused top-30", []).append(retrieval.first_hit(as_ranked(fused30[:30]), question))
        for dense_w, rrf_k in alt_fusion:
            fusion = Retriever(store, pipeline.embedder, s.candidates, rrf_k, dense_w, s.keyword_weight)
            pool = fusion.run(text, s.rerank_candidates, vector)
            add(f"product, fusion dense {dense_w} rrf_k {rrf_k}", reranker.run(text, pool, vector)[:DEPTH], question)
        if second_stage:
            for depth in depths:
                if depth != s.rerank_candidates:
                    add(f"rerank {depth}", reranker.run(text, fused30[:depth], vector)[:DEPTH], question)
            full = reranker.run(text, fused30[: s.rerank_candidates], vector)
            for top in (1, 3, 5):
                for place in ("after", "end"):
                    pool = with_neighbours(store, fused30[: s.rerank_candidates], top, place, vector)
                    add(f"rerank pool + neighbours of fused top {top} ({place})",
                        reranker.run(text, pool, vector)[:DEPTH], question)  # fmt: skip
            for dense_w, rrf_k, cands in FUSION_GRID:
                fusion = Retriever(store, pipeline.embedder, cands, rrf_k, dense_w, s.keyword_weight)
                pool = fusion.run(text, s.rerank_candidates, vector)
                add(f"fusion dense {dense_w} rrf_k {rrf_k} candidates {cands} + rerank",
                    reranker.run(text, pool, vector)[:DEPTH], question)  # fmt: skip
            for extra in (5, 10):
                pool = with_single_tops(store, text, vector, fused30[: s.rerank_candidates], extra)
                add(f"rerank pool + dense/bm25 top {extra} (end)", reranker.run(text, pool, vector)[:DEPTH], question)
            hit = ranks[f"product (rerank {s.rerank_candidates})"][-1]
            if hit is None or hit > 5:
                misses.append(miss_profile(store, text, vector, question, fused30, product))
            for keep in (4, 3):
                add(f"slots {keep + 1}-5 = best fused not in rerank top {keep}",
                    with_fused_slots(full, fused30, keep)[:DEPTH], question)  # fmt: skip
        if feedback is not None:
            _, dense_ids = store.dense.search(vector[None, :].astype(np.float32), min(s.candidates, len(store)))
            dense_ranking = dense_ids[0][dense_ids[0] >= 0]
            base = store.keyword.scores(text)
            bm25_top = top_ids(base, 3)
            first = {
                "bm25": [(int(i), float(base[i])) for i in bm25_top],
                # fused / reranked: weights from rank (1/rank), the scores are not on one scale
                "fused": [(p.index, 1.0 / r) for r, p in enumerate(fused30[:3], start=1)],
                "rerank": [(p.index, 1.0 / r) for r, p in enumerate(product[:3], start=1)],
            }
            for name, source, terms, beta, idf in prf_variants:
                expanded = feedback.expand(text, base, first[source], terms, beta, idf)
                keyword_ranking = top_ids(expanded, s.candidates)
                fused = reciprocal_rank_fusion([dense_ranking, keyword_ranking], weights, k)
                best = sorted(fused.items(), key=lambda item: -item[1])[: s.rerank_candidates]
                passages = passages_of(store, best, expanded, vector)
                add(name, reranker.run(text, passages, vector)[:DEPTH], question)
        if (n + 1) % 500 == 0:
            logger.info("%d/%d questions, %.0f s", n + 1, len(questions), time.perf_counter() - started)
    out: dict[str, Any] = {name: metrics(r) for name, r in ranks.items()}
    reference = ranks[f"product (rerank {s.rerank_candidates})"]
    for name, r in ranks.items():  # paired with the product: questions won and lost at 1 and at 5
        for k in (1, 5):
            hit = [x is not None and x <= k for x in r]
            ref = [x is not None and x <= k for x in reference]
            out[name][f"won@{k}"] = sum(a and not b for a, b in zip(hit, ref, strict=True))
            out[name][f"lost@{k}"] = sum(b and not a for a, b in zip(hit, ref, strict=True))
    for name, pairs in reading.items():
        out[name][f"hit@{BUDGET}c"] = round(sum(1 for t, _ in pairs if t is not None and t <= BUDGET) / len(pairs), 4)
        out[name]["top-5 chars"] = round(float(np.mean([c for _, c in pairs])), 1)
    if misses:
        out["_misses"] = summarize_misses(misses, len(questions))
    out["_ceiling"] = {
        "gold in fused top-20": round(sum(r is not None for r in diag["gold in fused top-20"]) / len(questions), 4),
        "gold in fused top-30": round(sum(r is not None for r in diag["gold in fused top-30"]) / len(questions), 4),
    }
    return out


def miss_profile(
    store: Any, text: str, vector: np.ndarray, question: squad.Question, fused: Sequence[Passage], product: Sequence
) -> dict[str, Any]:
    """Where a question the product misses at 5 has its gold chunks: rank in dense and BM25 alone (top 500),
    whether a top-5 passage is from its article, and whether a gold chunk neighbours a fused top-3 passage."""

    def ranked(ids: Sequence[int]) -> retrieval.Ranked:
        return [(store.documents[int(store.chunk_doc[i])].source, int(store.chunk_start[i]), int(store.chunk_end[i]))
                for i in ids]  # fmt: skip

    _, dense_ids = store.dense.search(vector[None, :].astype(np.float32), min(500, len(store)))
    bm25_ids = top_ids(store.keyword.scores(text), 500).tolist()
    neighbours = [j for p in fused[:3] for j in (p.index - 1, p.index + 1) if 0 <= j < len(store)]
    return {
        "id": question.id,
        "question": text,
        "dense rank": retrieval.first_hit(ranked([i for i in dense_ids[0].tolist() if i >= 0]), question),
        "bm25 rank": retrieval.first_hit(ranked(bm25_ids), question),
        "article in top 5": any(p.chunk.source == question.source for p in product[:5]),
        "gold next to fused top 3": retrieval.first_hit(ranked(neighbours), question) is not None,
        "product rank": retrieval.first_hit(as_ranked(product), question),
    }


def summarize_misses(misses: Sequence[dict[str, Any]], total: int) -> dict[str, Any]:
    def share(test: Any) -> float:
        return round(sum(1 for m in misses if test(m)) / len(misses), 3)

    return {
        "misses at 5": len(misses),
        "share of questions": round(len(misses) / total, 4),
        "article in top 5": share(lambda m: m["article in top 5"]),
        "gold next to a fused top-3 chunk": share(lambda m: m["gold next to fused top 3"]),
        "dense rank <= 20": share(lambda m: m["dense rank"] is not None and m["dense rank"] <= 20),
        "bm25 rank <= 20": share(lambda m: m["bm25 rank"] is not None and m["bm25 rank"] <= 20),
        "dense or bm25 rank <= 50": share(
            lambda m: any(m[k] is not None and m[k] <= 50 for k in ("dense rank", "bm25 rank"))
        ),
        "neither in top 500": share(lambda m: m["dense rank"] is None and m["bm25 rank"] is None),
        "examples": list(misses[:15]),
    }


def chunk_stats(pipeline: Any) -> dict[str, float]:
    """Chunk count, mean/median length in characters, and the share over the model's token window."""
    store = pipeline.store
    lengths = (store.chunk_end - store.chunk_start).astype(np.float64)
    model = pipeline.embedder.model
    tokenizer = getattr(model, "tokenizer", None)
    over = None
    if tokenizer is not None and hasattr(tokenizer, "encode_batch"):
        texts = [store.chunk(i).text for i in range(len(store))]
        encodings = tokenizer.encode_batch(texts)
        over = round(sum(1 for e in encodings if e.overflowing) / len(texts), 4)
    return {
        "chunks": len(store),
        "avg chunk chars": round(float(lengths.mean()), 1),
        "median chunk chars": float(np.median(lengths)),
        "share over token window": over,
    }


def sentence_drift(base: Any, other: Any) -> dict[str, float]:
    """How the stored (late-chunked) vector of one sentence changes between two indexes: cosine of the two
    vectors over the sentences both hold with the same offsets (first occurrence in each)."""

    def table(store: Any) -> dict[tuple[int, int, int], int]:
        sources = {i: d.source for i, d in enumerate(store.documents)}
        doc_of_row = np.repeat(store.chunk_doc, np.diff(store.sentences.ptr))
        out: dict[tuple[int, int, int], int] = {}
        by_source = {d.source: n for n, d in enumerate(base.documents)}
        for r, (d, a, b) in enumerate(zip(doc_of_row.tolist(), store.sentences.start.tolist(),
                                          store.sentences.end.tolist(), strict=True)):  # fmt: skip
            out.setdefault((by_source[sources[d]], a, b), r)
        return out

    mine, theirs = table(base), table(other)
    shared = [k for k in mine if k in theirs]
    if not shared:
        return {"shared sentences": 0}
    u = np.asarray(base.sentences.vectors[[mine[k] for k in shared]], dtype=np.float32)
    v = np.asarray(other.sentences.vectors[[theirs[k] for k in shared]], dtype=np.float32)
    cos = np.sum(u * v, axis=1) / (np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1) + 1e-9)
    return {
        "shared sentences": len(shared),
        "share of baseline sentences": round(len(shared) / len(mine), 4),
        "mean cosine": round(float(cos.mean()), 4),
        "p5 cosine": round(float(np.percentile(cos, 5)), 4),
        "share below 0.95": round(float(np.mean(cos < 0.95)), 4),
    }


def answer_check(pipeline: Any, questions: Sequence[squad.Question]) -> dict[str, float]:
    """``pipeline.answer`` over ``questions``, scored as ``benchmarks.answers`` does (train: optimistic for the
    heads fitted on it, but comparable between chunkings)."""
    from benchmarks import answers

    summary = answers.summarize(answers.ask_all(pipeline, questions, "answers"))
    keep = ("questions", "wrongly refused", "evidence@1", "evidence@3", "EM", "F1", "p50 ms")
    return {k: summary[k] for k in keep}


# ---- main ---------------------------------------------------------------------------------------------------


def parse_variant(tag: str) -> tuple[int, int]:
    """``600x1`` -> (600, 1)."""
    chars, overlap = tag.lower().split("x")
    return int(chars), int(overlap)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=48)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, default=squad.DEFAULT_WORKDIR)
    parser.add_argument(
        "--chunking", nargs="+", default=["600x1", "800x1", "1000x1", "1200x1", "600x2", "800x2"],
        help="chunk_chars x chunk_overlap_sentences settings to index and score (the first is the baseline)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="embedding threads (indexing)")
    parser.add_argument("--no-prf", action="store_true", help="skip the feedback variants (run on the baseline)")
    parser.add_argument("--no-second-stage", action="store_true", help="skip the rerank-depth / slot variants")
    parser.add_argument(
        "--alt-fusion", nargs="*", default=["1.0,10", "1.4,10"],
        help="dense_weight,rrf_k pairs scored (with the reranker, and in the answer check) on every index",
    )  # fmt: skip
    parser.add_argument("--answers", type=int, default=1000, help="also ask the first N questions (0: skip)")
    parser.add_argument("--output", type=Path, default=squad.RESULTS / "tune_hit5.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("rag").setLevel(logging.WARNING)
    squad.code_version()
    alt_fusion = [(float(a), int(b)) for a, b in (pair.split(",") for pair in args.alt_fusion)]

    articles = squad.pick_articles(squad.load_articles("train"), args.articles, args.seed)
    tag = f"train-{len(articles)}a-s{args.seed}"
    default_set = (len(articles), args.seed) == (48, 0)
    docs = args.workdir / (f"{tag}-docs" if default_set else f"hit5-{tag}-docs")
    prefix = "hit5-" if default_set else f"hit5-{len(articles)}a-s{args.seed}-"
    questions = squad.sample_questions(articles, args.sample, args.seed)
    from rag.settings import Settings

    base = Settings.from_env()
    embedder = Embedder(base.embedding_model, base.device, base.embedding_batch_size or None, base.offline,
                        backend=base.embedding_backend, threads=args.threads)  # fmt: skip
    started = time.perf_counter()
    vectors = None
    rows: list[dict[str, Any]] = []
    miss_report: dict[str, Any] = {}
    drift: dict[str, Any] = {}
    checked: dict[str, Any] = {}
    baseline = None
    for n, variant in enumerate(args.chunking):
        chars, overlap = parse_variant(variant)
        index_dir = args.workdir / f"{prefix}c{chars}o{overlap}-index"
        pipeline, info = squad.open_pipeline(
            articles, docs, index_dir, chunk_chars=chars, chunk_overlap_sentences=overlap, embedder=embedder
        )
        built = (index_dir / "BUILD_SECONDS").read_text().split() if (index_dir / "BUILD_SECONDS").exists() else None
        if info["embedded"]:
            (index_dir / "BUILD_SECONDS").write_text(f"{info['index_seconds']} {info['embedded']}\n")
            build_seconds, embedded = info["index_seconds"], info["embedded"]
        elif built:
            build_seconds, embedded = float(built[0]), int(built[1])
        else:
            build_seconds, embedded = None, 0
        if vectors is None:
            t = time.perf_counter()
            vectors = retrieval.query_vectors(pipeline, [q.question for q in questions])
            logger.info("embedded %d questions in %.1f s", len(questions), time.perf_counter() - t)
        stats = chunk_stats(pipeline)
        logger.info("%s: %s, index %s s", index_dir.name, stats, build_seconds)
        first = n == 0
        results = evaluate_index(
            pipeline,
            questions,
            vectors,
            prf=first and not args.no_prf,
            second_stage=first and not args.no_second_stage,
            alt_fusion=alt_fusion,
        )
        ceiling = results.pop("_ceiling")
        if "_misses" in results:
            miss_report[variant] = results.pop("_misses")
            logger.info("misses at 5 on %s: %s", variant,
                        {k: v for k, v in miss_report[variant].items() if k != "examples"})  # fmt: skip
        for name, m in results.items():
            rows.append({"chunk_chars": chars, "overlap": overlap, "variant": name, **m, **stats,
                         "index seconds": build_seconds, "index chunks/s":
                         round(embedded / build_seconds, 1) if build_seconds else None, **ceiling})  # fmt: skip
        logger.info("%s done: %s", variant, results)
        if baseline is None:
            baseline = pipeline
        else:
            drift[variant] = sentence_drift(baseline.store, pipeline.store)
            logger.info("sentence vectors %s vs %s: %s", args.chunking[0], variant, drift[variant])
        if args.answers:
            checked[variant] = {"chunking": variant, **answer_check(pipeline, questions[: args.answers])}
            logger.info("answers on %s: %s", variant, checked[variant])
            product_settings = pipeline.settings
            for dense_w, rrf_k in alt_fusion:
                label = f"{variant} dense {dense_w} rrf_k {rrf_k}"
                pipeline.settings = product_settings.replace(dense_weight=dense_w, rrf_k=rrf_k)
                checked[label] = {"chunking": label, **answer_check(pipeline, questions[: args.answers])}
                logger.info("answers on %s: %s", label, checked[label])
            pipeline.settings = product_settings

    header = ["chunking", "variant", "hit@1", "hit@5", "MRR@10", "won/lost@1", "won/lost@5", f"hit@{BUDGET}c",
              "top-5 chars", "avg chunk chars", "chunks", "index s"]  # fmt: skip
    table = [
        [f"{r['chunk_chars']}/{r['overlap']}", r["variant"], r["hit@1"], r["hit@5"], r["mrr@10"],
         f"+{r['won@1']}/-{r['lost@1']}", f"+{r['won@5']}/-{r['lost@5']}",
         r.get(f"hit@{BUDGET}c", ""), f"{r['top-5 chars']:.0f}" if "top-5 chars" in r else "",
         f"{r['avg chunk chars']:.0f}", r["chunks"], "" if r["index seconds"] is None else f"{r['index seconds']:.0f}"]
        for r in rows
    ]  # fmt: skip
    print(f"\nSQuAD v1.1 train: {len(questions)} questions over {len(articles)} articles (seed {args.seed})")
    squad.print_table(header, table)
    payload = {
        "benchmark": "tune_hit5",
        "dataset": f"SQuAD v1.1 train, {len(articles)} articles (seed {args.seed})",
        "questions": len(questions),
        "hit": "chunk from the question's article whose char range overlaps a gold answer span",
        "settings": squad.settings_summary(pipeline),
        "embedding_threads": args.threads,
        "seconds": round(time.perf_counter() - started, 1),
        "rows": rows,
        "misses": miss_report,
        "sentence_vector_drift": drift,
        "answers": checked,
    }
    if checked:
        print()
        keys = list(next(iter(checked.values())))
        squad.print_table(keys, [[r[k] for k in keys] for r in checked.values()])
    if drift:
        print()
        keys = ["chunking", *next(iter(drift.values()))]
        squad.print_table(keys, [[v, *d.values()] for v, d in drift.items()])
    print(f"wrote {squad.write_json('tune_hit5.json', payload, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
