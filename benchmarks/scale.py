"""How do the dense (FAISS) and keyword (BM25) indexes behave at 100k and 1M chunks?

    .venv/bin/python -m benchmarks.scale            # 100k vectors and passages (a few minutes)
    .venv/bin/python -m benchmarks.scale --full     # + 1M (about 10-20 minutes, ~6 GB of RAM, ~2 GB on disk)

Vectors: real all-MiniLM-L6-v2 vectors of SQuAD sentences (embedded once with the product's embedder and cached
under ``--workdir``), expanded to N by mixing two random real vectors (weight 0.5-1 on the first) plus Gaussian
noise (norm ~0.4), then L2-normalised: a corpus that lives in the model's real embedding subspace, unlike
uniform random vectors (which make every index look good). Queries are real SQuAD question vectors.

Per N: the index the product builds (``rag.store.build_faiss``: exact while small, IVF beyond), its build
time, memory, file size, write and load time (memory-mapped where FAISS allows, as ``Store.load`` does),
single-query p50/p95 at k = the product's candidate count, and recall@10 against exact search. For scale,
exact (Flat) search latency at the same N. BM25: the product's ``KeywordIndex`` over N synthetic passages of
three random SQuAD sentences each: build time (tokenise + index), save/load time and query p50/p95 (scores of
every passage + top candidates, as retrieval does). Numbers are noisy on a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

import rag.store
from benchmarks.squad import RESULTS, load_articles, percentile, print_table, write_json

logger = logging.getLogger(__name__)

DEFAULT_WORKDIR = Path("/tmp/rag-scale")
BASE_SENTENCES = 5_000
QUERIES = 300
CANDIDATES = 50
"""k of a dense search in the product (``Settings.candidates``)."""
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _rss_mb() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss / 2**20)


def squad_text() -> tuple[list[str], list[str]]:
    """SQuAD dev+train sentences and questions, in a fixed shuffled order."""
    sentences: list[str] = []
    questions: list[str] = []
    for split in ("dev", "train"):
        for article in load_articles(split):
            body = article.text.split("\n\n", 1)[-1]
            sentences.extend(s for s in _SENTENCE.split(body) if len(s) > 30)
            questions.extend(q.question for q in article.questions)
    rng = random.Random(0)
    rng.shuffle(sentences)
    rng.shuffle(questions)
    return sentences, questions


def base_vectors(workdir: Path, sentences: list[str], questions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Real MiniLM vectors of :data:`BASE_SENTENCES` sentences and :data:`QUERIES` questions (cached)."""
    cache = workdir / f"base-{BASE_SENTENCES}-{QUERIES}.npz"
    if cache.is_file():
        with np.load(cache) as data:
            return data["base"], data["queries"]
    from rag.embedding import Embedder

    embedder = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    started = time.perf_counter()
    base = embedder.encode(sentences[:BASE_SENTENCES])
    queries = embedder.encode(questions[:QUERIES])
    logger.info("embedded base vectors in %.0f s (%s)", time.perf_counter() - started, embedder.backend)
    workdir.mkdir(parents=True, exist_ok=True)
    np.savez(cache, base=base, queries=queries)
    return base, queries


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: a random real vector, mixed with another, plus noise (see the module doc)."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        a = base[rng.integers(0, len(base), hi - lo)]
        b = base[rng.integers(0, len(base), hi - lo)]
        w = rng.uniform(0.5, 1.0, (hi - lo, 1)).astype(np.float32)
        x = w * a + (1 - w) * b + rng.normal(0, 0.4 / np.sqrt(dim), (hi - lo, dim)).astype(np.float32)
        out[lo:hi] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def latencies(search: Any, queries: np.ndarray, k: int) -> tuple[list[float], np.ndarray]:
    """Milliseconds of each single-query search, and the ids found."""
    times, found = [], []
    for q in queries:
        started = time.perf_counter()
        _, ids = search(q[None, :], k)
        times.append((time.perf_counter() - started) * 1000)
        found.append(ids[0])
    return times, np.array(found)


def dense_at(n: int, base: np.ndarray, queries: np.ndarray, workdir: Path) -> dict[str, Any]:
    import faiss

    from rag.store import build_faiss

    vectors = synthetic_vectors(base, n)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, truth = exact.search(queries, 10)
    flat_ms, _ = latencies(exact.search, queries[:50], CANDIDATES)
    del exact
    gc.collect()

    rss = _rss_mb()
    started = time.perf_counter()
    index = build_faiss(vectors)
    build_s = time.perf_counter() - started
    memory_mb = _rss_mb() - rss
    path = workdir / f"dense-{n}.faiss"
    started = time.perf_counter()
    faiss.write_index(index, str(path))
    write_s = time.perf_counter() - started
    kind = type(index).__name__
    del index, vectors
    gc.collect()

    started = time.perf_counter()
    flags = faiss.IO_FLAG_MMAP if kind != "IndexFlatIP" else 0  # what Store.load does
    loaded = faiss.read_index(str(path), flags)
    load_s = time.perf_counter() - started
    latencies(loaded.search, queries[:20], CANDIDATES)  # warm the pages a first query would touch
    times, found = latencies(loaded.search, queries, CANDIDATES)
    recall = float(np.mean([len(set(f[:10]) & set(t)) / 10 for f, t in zip(found, truth, strict=True)]))
    result = {
        "n": n,
        "index": kind,
        "params": _params(loaded),
        "build_s": round(build_s, 2),
        "memory_mb": round(memory_mb, 1),
        "file_mb": round(path.stat().st_size / 2**20, 1),
        "write_s": round(write_s, 2),
        "load_s": round(load_s, 3),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "recall_at_10": round(recall, 4),
        "flat_p50_ms": round(percentile(flat_ms, 50), 2),
        "flat_p95_ms": round(percentile(flat_ms, 95), 2),
    }
    del loaded
    path.unlink()
    gc.collect()
    return result


def _params(index: Any) -> dict[str, int]:
    import faiss

    real = faiss.downcast_index(index)
    if hasattr(real, "hnsw"):
        return {
            "M": int(real.hnsw.nb_neighbors(1)),
            "efConstruction": int(real.hnsw.efConstruction),
            "efSearch": int(real.hnsw.efSearch),
        }
    if hasattr(real, "nprobe"):
        return {"nlist": int(real.nlist), "nprobe": int(real.nprobe)}
    return {}


def keyword_at(n: int, sentences: list[str], questions: list[str], workdir: Path) -> dict[str, Any]:
    import shutil

    from rag.lexical import KeywordIndex
    from rag.retrieval import top_ids

    rng = random.Random(n)
    passages = [" ".join(rng.choices(sentences, k=3)) for _ in range(n)]
    words = sum(len(p.split()) for p in passages[:1000]) / 1000
    rss = _rss_mb()
    started = time.perf_counter()
    index = KeywordIndex.build(passages)
    build_s = time.perf_counter() - started
    memory_mb = _rss_mb() - rss
    del passages
    folder = workdir / f"keyword-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    index.save(folder)
    save_s = time.perf_counter() - started
    del index
    gc.collect()
    started = time.perf_counter()
    loaded = KeywordIndex.load(folder, mmap=True)
    load_s = time.perf_counter() - started
    times = []
    for q in questions[:QUERIES]:
        started = time.perf_counter()
        top_ids(loaded.scores(q), CANDIDATES)
        times.append((time.perf_counter() - started) * 1000)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder, ignore_errors=True)
    return {
        "n": n,
        "words_per_passage": round(words, 1),
        "build_s": round(build_s, 1),
        "memory_mb": round(memory_mb, 1),
        "files_mb": round(size / 2**20, 1),
        "save_s": round(save_s, 2),
        "load_s": round(load_s, 3),
        "p50_ms": round(percentile(times, 50), 2),
        "p95_ms": round(percentile(times, 95), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also run 1M vectors and passages (slow, GBs)")
    parser.add_argument("--sizes", type=int, nargs="*", help="explicit sizes instead of 100k [1M]")
    parser.add_argument("--no-keyword", action="store_true", help="skip the BM25 part")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--flat-max", type=int, help="override rag.store.FLAT_MAX (which index a size gets)")
    args = parser.parse_args()
    if args.flat_max is not None:
        rag.store.FLAT_MAX = args.flat_max
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args.workdir.mkdir(parents=True, exist_ok=True)
    sizes = args.sizes or ([100_000, 1_000_000] if args.full else [100_000])

    sentences, questions = squad_text()
    base, queries = base_vectors(args.workdir, sentences, questions)
    dense = []
    for n in sizes:
        logger.info("dense: %d vectors", n)
        dense.append(dense_at(n, base, queries, args.workdir))
    print(f"\nDense (FAISS), single query, k={CANDIDATES}; recall@10 vs exact search")
    print_table(
        ["N", "index", "build s", "memory MB", "file MB", "write s", "load s", "p50 ms", "p95 ms",
         "recall@10", "Flat p50 ms", "Flat p95 ms"],
        [[r["n"], r["index"], r["build_s"], r["memory_mb"], r["file_mb"], r["write_s"], r["load_s"],
          r["p50_ms"], r["p95_ms"], r["recall_at_10"], r["flat_p50_ms"], r["flat_p95_ms"]] for r in dense],
    )  # fmt: skip
    keyword = []
    if not args.no_keyword:
        for n in sizes:
            logger.info("keyword: %d passages", n)
            keyword.append(keyword_at(n, sentences, questions, args.workdir))
        print(f"\nKeyword (BM25, bm25s), scores of every passage + top {CANDIDATES} per query")
        print_table(
            ["N", "words/passage", "build s", "memory MB", "files MB", "save s", "load s", "p50 ms", "p95 ms"],
            [[r["n"], r["words_per_passage"], r["build_s"], r["memory_mb"], r["files_mb"], r["save_s"],
              r["load_s"], r["p50_ms"], r["p95_ms"]] for r in keyword],
        )  # fmt: skip
    payload = {
        "vectors": (
            f"{BASE_SENTENCES} real all-MiniLM-L6-v2 SQuAD sentence vectors, mixed pairwise (weight 0.5-1) + "
            "Gaussian noise (norm ~0.4), L2-normalised; queries: real SQuAD question vectors"
        ),
        "queries": QUERIES,
        "k": CANDIDATES,
        "flat_max": rag.store.FLAT_MAX,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg()[0],
        "dense": dense,
        "keyword": keyword,
    }
    name = "scale-full.json" if args.full else "scale.json"
    previous = RESULTS / name
    if args.no_keyword and previous.is_file():  # a dense-only rerun keeps the BM25 figures it did not redo
        payload["keyword"] = json.loads(previous.read_text()).get("keyword", [])
    print(f"\nwrote {write_json(name, payload)}")


if __name__ == "__main__":
    main()
