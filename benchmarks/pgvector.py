"""FAISS as the product builds it against pgvector as the product stores it, side by side on the same vectors.

    .venv/bin/python -m benchmarks.pgvector              # 100,000 chunks (quick)
    .venv/bin/python -m benchmarks.pgvector --full       # 1,000,000 chunks
    .venv/bin/python -m benchmarks.pgvector --n 300000   # any size
    .venv/bin/python -m benchmarks.pgvector --full --no-faiss --ef-construction 64 --ef-search 400 100 200
        # a trial of other HNSW settings: pgvector only, the first ef_search reported, every one swept

FAISS: ``rag.store.build_faiss`` (exact up to ``FLAT_MAX``, IVF beyond), searched through ``Store.dense_search``
(filters by an id selector inside the search). pgvector: a fresh PostgreSQL 18 + pgvector cluster from
``tests.servers.postgres()``, loaded through ``PgStore.writer().apply(...)`` (COPY first, then the HNSW index
with ``rag.pgstore.HNSW_M`` / ``HNSW_EF_CONSTRUCTION``, then ANALYZE, all in one transaction) and searched
through ``PgStore.dense_search`` (ef_search ``rag.pgstore.EF_SEARCH``, ``hnsw.iterative_scan = relaxed_order``).
Before the load the benchmark raises ``shared_buffers`` (ALTER SYSTEM + a ``pg_ctl restart``: it cannot change
on reload) and ``maintenance_work_mem`` (reload) so the HNSW graph is built in memory and the index is served
from the buffer cache; other settings are the defaults.

Vectors (384-d, unit length): a Gaussian mixture shaped like sentence embeddings rather than uniform noise.
:data:`CENTRES` random unit centres with log-normal cluster weights; each point is its centre, plus a Gaussian
in a 16-d subspace of its own cluster (per-direction sd ~0.22, so neighbourhoods have structure), plus
isotropic noise (norm 0.25), normalised. Queries are fresh draws of the same mixture. At 100k the mean
cosine of a query to its top-1 / 10th neighbour is ~0.79 / 0.67, to a random point 0.00 (sd 0.05), and
>99% of the top-10 lie in the query's cluster (printed and saved per run). Chunk texts are one word each
(a 1,000-word vocabulary) so that BM25 postings do not dominate the load.

Filter: the chunks are spread over 10 documents ``gNN/doc.txt`` in contiguous blocks (the mixture is drawn
i.i.d., so a folder is unrelated to a vector's content) and ``Filter(folder=("g03",))`` keeps 10% of them.
Recall@10 is against exact search by numpy (for the filter: over the allowed rows only). Latency is one
query at a time, k=10, after :data:`WARMUP` unmeasured queries; pgvector latency includes the client round
trips (the filter's document lookup and the SET of ef_search / iterative scan), as in the product.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import logging
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.scale import _rss_mb
from benchmarks.squad import percentile, print_table, write_json
from rag import pgstore
from rag.chunking import Chunk
from rag.documents import Document
from rag.filters import Filter
from rag.pgstore import PgStore
from rag.store import FLAT_MAX, DocumentRecord, Manifest, SentenceTable, Store, build_faiss, ivf_shape

logger = logging.getLogger(__name__)

DIM = 384
CENTRES = 2_000
LOCAL_DIM = 16
LOCAL_SD = 0.22
NOISE = 0.25
QUERIES = 200
WARMUP = 30
K = 10
FOLDERS = 10
VOCABULARY = 1_000
WHERE = Filter(folder=("g03",))
SHARED_BUFFERS = "6GB"
MAINTENANCE_WORK_MEM = "4GB"
_DURATION = re.compile(r"\[(\d+)\] LOG:  duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*)")


# ---- vectors -----------------------------------------------------------------------------------------------


class Mixture:
    """The Gaussian mixture of the module doc (fixed seed: the same model for every N)."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        centres = rng.standard_normal((CENTRES, DIM)).astype(np.float32)
        self.centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
        self.bases = (rng.standard_normal((CENTRES, LOCAL_DIM, DIM)) / np.sqrt(DIM)).astype(np.float32)
        self.scales = (rng.uniform(0.7, 1.3, CENTRES) * LOCAL_SD).astype(np.float32)
        weights = np.exp(rng.normal(0, 0.7, CENTRES))
        self.weights = weights / weights.sum()

    def sample(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` unit vectors and their cluster numbers."""
        rng = np.random.default_rng(seed)
        labels = rng.choice(CENTRES, n, p=self.weights)
        out = np.empty((n, DIM), dtype=np.float32)
        order = np.argsort(labels, kind="stable")
        bounds = np.searchsorted(labels[order], np.arange(CENTRES + 1))
        for c in range(CENTRES):
            rows = order[bounds[c] : bounds[c + 1]]
            if not len(rows):
                continue
            local = rng.standard_normal((len(rows), LOCAL_DIM)).astype(np.float32) @ self.bases[c]
            noise = rng.standard_normal((len(rows), DIM)).astype(np.float32) * (NOISE / np.sqrt(DIM))
            out[rows] = self.centres[c] + self.scales[c] * local + noise
        for lo in range(0, n, 100_000):
            block = out[lo : lo + 100_000]
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        return out, labels


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
    """Row numbers of the ``k`` highest inner products among ``vectors[lo:hi]``, best first (numpy)."""
    hi = len(vectors) if hi is None else hi
    best_ids = np.zeros((len(queries), 0), dtype=np.int64)
    best = np.zeros((len(queries), 0), dtype=np.float32)
    for start in range(lo, hi, 100_000):
        stop = min(hi, start + 100_000)
        scores = queries @ vectors[start:stop].T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        best = np.concatenate([best, np.take_along_axis(scores, top, axis=1)], axis=1)
        best_ids = np.concatenate([best_ids, top + start], axis=1)
        keep = np.argsort(-best, axis=1, kind="stable")[:, :k]
        best, best_ids = np.take_along_axis(best, keep, axis=1), np.take_along_axis(best_ids, keep, axis=1)
    return best_ids


def describe(vectors: np.ndarray, labels: np.ndarray, queries: np.ndarray, q_labels: np.ndarray) -> dict[str, Any]:
    """How meaningful the neighbours are: cosines to the top-1 / 10th neighbour and to random points."""
    truth = exact_top(vectors, queries, K)
    top = np.array([queries[i] @ vectors[truth[i]].T for i in range(len(queries))])
    rng = np.random.default_rng(5)
    sample = vectors[rng.integers(0, len(vectors), 2_000)]
    random = queries @ sample.T
    return {
        "top1_cosine": round(float(top[:, 0].mean()), 3),
        "top10_cosine": round(float(top[:, K - 1].mean()), 3),
        "random_cosine_mean": round(float(random.mean()), 3),
        "random_cosine_sd": round(float(random.std()), 3),
        "top10_in_query_cluster": round(float((labels[truth] == q_labels[:, None]).mean()), 3),
    }


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:K].tolist()) & set(t.tolist())) / K for f, t in zip(found, truth, strict=True)]))


def timed(search: Any, queries: np.ndarray) -> tuple[list[float], list[np.ndarray]]:
    """Milliseconds of each single-query search and the ids found (after unmeasured warm-up queries)."""
    for q in queries[:WARMUP]:
        search(q)
    times, found = [], []
    for q in queries[WARMUP:]:
        started = time.perf_counter()
        ids = search(q)
        times.append((time.perf_counter() - started) * 1000)
        found.append(np.asarray(ids))
    return times, found


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


# ---- the corpus as documents and chunks --------------------------------------------------------------------


def corpus(n: int) -> tuple[list[Document], list[Chunk], list[range]]:
    """:data:`FOLDERS` documents ``gNN/doc.txt`` of one-word chunks, in contiguous blocks of rows."""
    documents, chunks, blocks = [], [], []
    edges = np.linspace(0, n, FOLDERS + 1).astype(int)
    for g in range(FOLDERS):
        rows = range(int(edges[g]), int(edges[g + 1]))
        words = [f"w{i % VOCABULARY}" for i in rows]
        doc = Document(f"g{g:02d}/doc.txt", f"group {g}", " ".join(words), f"fp{g}")
        start = 0
        for ordinal, word in enumerate(words):
            chunks.append(Chunk(doc.source, doc.title, word, start, start + len(word), ordinal))
            start += len(word) + 1
        documents.append(doc)
        blocks.append(rows)
    return documents, chunks, blocks


# ---- FAISS --------------------------------------------------------------------------------------------------


def run_faiss(vectors: np.ndarray, documents: list[Document], chunks: list[Chunk], queries: np.ndarray) -> dict:
    import faiss

    gc.collect()
    rss = _rss_mb()
    started = time.perf_counter()
    dense = build_faiss(vectors)
    build_s = time.perf_counter() - started
    rss_delta = _rss_mb() - rss
    index_bytes = int(faiss.serialize_index(dense).nbytes)
    records = [DocumentRecord.of(d) for d in documents]
    manifest = Manifest("synthetic", DIM, {}, records, len(chunks), type(dense).__name__)
    number = {d.source: i for i, d in enumerate(documents)}
    chunk_doc = np.array([number[c.source] for c in chunks], dtype=np.int32)
    starts = np.array([c.start for c in chunks], dtype=np.int64)
    ends = np.array([c.end for c in chunks], dtype=np.int64)
    # Store.dense_search never reads the keyword index: BM25 over one-word chunks is left out (None).
    store = Store(
        manifest, documents, chunk_doc, starts, ends, vectors, dense, None, SentenceTable.empty(len(chunks), DIM)
    )  # type: ignore[arg-type]
    plain_ms, plain = timed(lambda q: store.dense_search(q, K), queries)
    filtered_ms, filtered = timed(lambda q: store.dense_search(q, K, WHERE), queries)
    params: dict[str, Any] = {}
    if isinstance(dense, faiss.IndexIVF):
        params = {"nlist": int(dense.nlist), "nprobe": int(dense.nprobe)}
    result = {
        "index": type(dense).__name__,
        "params": params,
        "build_s": round(build_s, 2),
        "index_mb": round(index_bytes / 2**20, 1),
        "build_rss_delta_mb": round(rss_delta, 1),
        "process_rss_mb": round(_rss_mb(), 1),
        "plain_ms": plain_ms,
        "filtered_ms": filtered_ms,
    }
    return {**result, "_plain": plain, "_filtered": filtered}


# ---- pgvector -----------------------------------------------------------------------------------------------


def _server_pss_mb(data_dir: Path) -> float | None:
    """Proportional memory (PSS) of the cluster's processes: shared buffers counted once, not per process."""
    import psutil

    with contextlib.suppress(OSError, ValueError, psutil.Error):
        postmaster = psutil.Process(int((data_dir / "postmaster.pid").read_text().split()[0]))
        procs = [postmaster, *postmaster.children(recursive=True)]
        return round(sum(p.memory_full_info().pss for p in procs) / 2**20, 1)
    return None


def _durations(log: Path, offset: int, pid: int) -> list[tuple[float, str]]:
    """(seconds, statement) of what backend ``pid`` ran, as the server logged it after byte ``offset``."""
    with open(log, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    return [(float(m[2]) / 1000, m[3]) for m in _DURATION.finditer(text) if int(m[1]) == pid]


def run_pgvector(
    vectors: np.ndarray,
    documents: list[Document],
    chunks: list[Chunk],
    blocks: list[range],
    queries: np.ndarray,
    ef_searches: list[int],
) -> dict[str, Any]:
    """Load through the product's writer, then search at each ``ef_search`` (the first is reported as the
    result; every one is kept in ``ef_search_sweep`` as timed ``(found, filtered found)`` pairs)."""
    import psycopg

    from tests.servers import _run, pg_bin, postgres

    with postgres() as server:
        log = server.data_dir.parent / "log"
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET shared_buffers = '{SHARED_BUFFERS}'")
            conn.execute(f"ALTER SYSTEM SET maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
            conn.execute("ALTER SYSTEM SET log_min_duration_statement = 0")  # the load's statements, timed
        # shared_buffers takes a restart (pg_ctl keeps the start options in postmaster.opts).
        _run(pg_bin() / "pg_ctl", "-D", server.data_dir, "-l", log, "-m", "fast", "-w", "-t", "60", "restart", log=log)
        url = server.create_database("bench")
        store = PgStore(url, ef_search=ef_searches[0])
        started = time.perf_counter()
        no_sentences = np.zeros((0, DIM), np.float16)
        fresh = [
            (
                DocumentRecord.of(doc),
                doc,
                chunks[rows.start : rows.stop],
                [(vectors[i], [], no_sentences) for i in rows],
            )
            for doc, rows in zip(documents, blocks, strict=True)
        ]
        prepare_s = time.perf_counter() - started
        notices: list[str] = []
        with store.writer() as writer:
            writer.conn.add_notice_handler(lambda d: notices.append(str(d.message_primary)))
            writer.conn.execute("SELECT 1")  # the lock and setup statements are logged before the offset
            offset, pid = log.stat().st_size, writer.conn.info.backend_pid
            started = time.perf_counter()
            writer.apply("synthetic", DIM, {}, True, [], [], fresh)
            apply_s = time.perf_counter() - started
        del fresh
        gc.collect()
        slow = _durations(log, offset, pid)
        index_s = sum(s for s, sql in slow if sql.startswith("CREATE INDEX IF NOT EXISTS rag_chunks_embedding"))
        analyze_s = sum(s for s, sql in slow if sql.startswith("ANALYZE"))
        copy_s = sum(s for s, sql in slow if sql.startswith("COPY"))
        with psycopg.connect(server.url, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM RESET log_min_duration_statement")
            conn.execute("SELECT pg_reload_conf()")
        with psycopg.connect(url, autocommit=True) as conn:
            # Chunk ids come from a sequence starting at 1, in the order given: row i is id i + 1. Check it.
            rng = np.random.default_rng(3)
            sample = [int(i) for i in rng.integers(0, len(vectors), 20)]
            rows = conn.execute(
                "SELECT id, embedding::real[] FROM rag_chunks WHERE id = ANY(%s)", ([i + 1 for i in sample],)
            ).fetchall()
            assert len(rows) == len(sample) and all(np.allclose(vectors[i - 1], v) for i, v in rows), "id mapping"
            sizes = conn.execute(
                "SELECT pg_total_relation_size('rag_chunks'), pg_relation_size('rag_chunks'),"
                " pg_relation_size('rag_chunks_embedding'), pg_total_relation_size('rag_postings'),"
                " pg_database_size(current_database())"
            ).fetchone()
            names = ["shared_buffers", "maintenance_work_mem", "max_parallel_maintenance_workers", "work_mem"]
            settings = {name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0] for name in names}
            versions = conn.execute(
                "SELECT current_setting('server_version'), extversion FROM pg_extension WHERE extname = 'vector'"
            ).fetchone()
        plain_ms, plain = timed(lambda q: store.dense_search(q, K), queries)
        filtered_ms, filtered = timed(lambda q: store.dense_search(q, K, WHERE), queries)
        pss = _server_pss_mb(server.data_dir)
        store.close()
        sweep = {}
        for ef in ef_searches[1:]:
            other = PgStore(url, ef_search=ef)
            ms, found = timed(lambda q, s=other: s.dense_search(q, K), queries)
            filtered_ms_, filtered_ = timed(lambda q, s=other: s.dense_search(q, K, WHERE), queries)
            sweep[ef] = ((ms, [ids - 1 for ids in found]), (filtered_ms_, [ids - 1 for ids in filtered_]))
            other.close()
    mb = [round(s / 2**20, 1) for s in sizes]
    return {
        "index": f"HNSW m={pgstore.HNSW_M} ef_construction={pgstore.HNSW_EF_CONSTRUCTION}",
        "params": {"ef_search": ef_searches[0], "iterative_scan": "relaxed_order"},
        "sweep": sweep,
        "server": {"postgresql": versions[0], "pgvector": versions[1], **settings},
        "prepare_rows_s": round(prepare_s, 2),
        "apply_s": round(apply_s, 2),
        "hnsw_build_s": round(index_s, 2),
        "analyze_s": round(analyze_s, 2),
        "copy_s": round(copy_s, 2),
        "other_statements_s": round(sum(s for s, _ in slow) - index_s - analyze_s - copy_s, 2),
        "client_side_s": round(apply_s - sum(s for s, _ in slow), 2),
        "notices": [m for m in notices if not m.endswith("does not exist, skipping")][:10],
        "rag_chunks_total_mb": mb[0],
        "rag_chunks_heap_mb": mb[1],
        "hnsw_index_mb": mb[2],
        "rag_postings_total_mb": mb[3],
        "database_mb": mb[4],
        "server_pss_mb_after_queries": pss,
        "plain_ms": plain_ms,
        "filtered_ms": filtered_ms,
        "_plain": [ids - 1 for ids in plain],  # ids back to row numbers
        "_filtered": [ids - 1 for ids in filtered],
    }


# ---- main ---------------------------------------------------------------------------------------------------


def _summary(result: dict[str, Any], truth: np.ndarray, filtered_truth: np.ndarray) -> dict[str, Any]:
    plain, filtered = result.pop("plain_ms"), result.pop("filtered_ms")
    found, found_filtered = result.pop("_plain"), result.pop("_filtered")
    sweep = [
        {"ef_search": ef, "p50_ms": round(percentile(p[0], 50), 2), "p95_ms": round(percentile(p[0], 95), 2),
         "recall_at_10": round(recall(p[1], truth), 4),
         "filtered_p50_ms": round(percentile(f[0], 50), 2), "filtered_p95_ms": round(percentile(f[0], 95), 2),
         "filtered_recall_at_10": round(recall(f[1], filtered_truth), 4)}
        for ef, (p, f) in result.pop("sweep", {}).items()
    ]  # fmt: skip
    return {
        **result,
        **({"ef_search_sweep": sweep} if sweep else {}),
        "p50_ms": round(percentile(plain, 50), 2),
        "p95_ms": round(percentile(plain, 95), 2),
        "recall_at_10": round(recall(found, truth), 4),
        "filtered_p50_ms": round(percentile(filtered, 50), 2),
        "filtered_p95_ms": round(percentile(filtered, 95), 2),
        "filtered_recall_at_10": round(recall(found_filtered, filtered_truth), 4),
        "filtered_short_results": int(sum(len(f) < K for f in found_filtered)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, help="chunks (default 100,000; 1,000,000 with --full)")
    parser.add_argument("--full", action="store_true", help="1,000,000 chunks")
    parser.add_argument("--m", type=int, default=pgstore.HNSW_M, help="HNSW m (a trial of another build)")
    parser.add_argument("--ef-construction", type=int, default=pgstore.HNSW_EF_CONSTRUCTION, help="HNSW build")
    parser.add_argument(
        "--ef-search", type=int, nargs="+", default=[pgstore.EF_SEARCH], help="the first is reported; all are swept"
    )
    parser.add_argument("--no-faiss", action="store_true", help="pgvector only (a trial of its settings)")
    args = parser.parse_args()
    trial = (args.m, args.ef_construction) != (pgstore.HNSW_M, pgstore.HNSW_EF_CONSTRUCTION)
    pgstore.HNSW_M, pgstore.HNSW_EF_CONSTRUCTION = args.m, args.ef_construction  # what PgWriter builds
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    n = args.n or (1_000_000 if args.full else 100_000)
    wall = time.perf_counter()

    started = time.perf_counter()
    mixture = Mixture()
    vectors, labels = mixture.sample(n, seed=1)
    queries, q_labels = mixture.sample(WARMUP + QUERIES, seed=2)
    documents, chunks, blocks = corpus(n)
    allowed = blocks[int(WHERE.folder[0][1:])]
    truth = exact_top(vectors, queries[WARMUP:], K)
    filtered_truth = exact_top(vectors, queries[WARMUP:], K, allowed.start, allowed.stop)
    data = {"generate_and_exact_s": round(time.perf_counter() - started, 1)}
    data |= describe(vectors, labels, queries[WARMUP:], q_labels[WARMUP:])
    logger.info("%d vectors ready: %s", n, data)

    faiss_result: dict[str, Any] = {}
    if not args.no_faiss:
        logger.info("FAISS: build_faiss (%s)", "Flat" if n <= FLAT_MAX else f"IVF {ivf_shape(n)[:2]}")
        faiss_result = _summary(run_faiss(vectors, documents, chunks, queries), truth, filtered_truth)
        gc.collect()  # the FAISS index is gone before PostgreSQL starts
        logger.info("FAISS: %s", faiss_result)
    logger.info("pgvector: COPY + HNSW through PgWriter.apply")
    pg_result = _summary(
        run_pgvector(vectors, documents, chunks, blocks, queries, args.ef_search), truth, filtered_truth
    )
    logger.info("pgvector: %s", {k: v for k, v in pg_result.items() if k != "server"})

    f, p = faiss_result, pg_result
    print(f"\nN = {n:,} chunks, {DIM}-d; {QUERIES} single queries, top-{K}; filter {WHERE.folder} keeps 10%")
    rows = []
    if f:
        name = f["index"] + (f" nlist={f['params']['nlist']} nprobe={f['params']['nprobe']}" if f["params"] else "")
        rows.append(
            [
                "FAISS (build_faiss)",
                name,
                "-",
                f["build_s"],
                f["index_mb"],
                f["p50_ms"],
                f["p95_ms"],
                f["recall_at_10"],
                f["filtered_p50_ms"],
                f["filtered_p95_ms"],
                f["filtered_recall_at_10"],
            ]
        )
    for r in [{**p, "ef_search": args.ef_search[0]}, *p.get("ef_search_sweep", [])]:
        rows.append(
            [
                "pgvector (PgStore)",
                f"{p['index']} ef_search={r['ef_search']}",
                p["copy_s"],
                p["hnsw_build_s"],
                p["hnsw_index_mb"],
                r["p50_ms"],
                r["p95_ms"],
                r["recall_at_10"],
                r["filtered_p50_ms"],
                r["filtered_p95_ms"],
                r["filtered_recall_at_10"],
            ]
        )
    print_table(
        ["backend", "index", "load s", "index build s", "index MB", "p50 ms", "p95 ms", "recall@10",
         "filtered p50 ms", "filtered p95 ms", "filtered recall@10"],
        rows,
    )  # fmt: skip
    print("\nMemory and storage (MB)")
    print_table(
        ["backend", "what", "MB"],
        [*([["FAISS", "index (serialized bytes)", f["index_mb"]],
            ["FAISS", "process RSS growth during build", f["build_rss_delta_mb"]],
            ["FAISS", "process RSS after searches (vectors, exact truth, both stores' inputs)", f["process_rss_mb"]]]
           if f else []),
         ["pgvector", "pg_total_relation_size(rag_chunks)", p["rag_chunks_total_mb"]],
         ["pgvector", "  of which heap", p["rag_chunks_heap_mb"]],
         ["pgvector", "  of which HNSW index", p["hnsw_index_mb"]],
         ["pgvector", "pg_total_relation_size(rag_postings)", p["rag_postings_total_mb"]],
         ["pgvector", "database", p["database_mb"]],
         ["pgvector", f"server PSS after searches (shared_buffers = {p['server']['shared_buffers']})",
          p["server_pss_mb_after_queries"] or "-"]],
    )  # fmt: skip
    print(
        f"\npgvector load: apply() {p['apply_s']} s = COPY statements {p['copy_s']} s + HNSW build "
        f"{p['hnsw_build_s']} s + ANALYZE {p['analyze_s']} s + other statements {p['other_statements_s']} s "
        f"(server-side durations from its log) + client side between statements {p['client_side_s']} s; "
        f"building the rows in Python before apply(): {p['prepare_rows_s']} s"
    )
    if p["notices"]:
        print(f"server notices: {p['notices']}")
    payload = {
        "n": n,
        "dimension": DIM,
        "queries": QUERIES,
        "warmup_queries": WARMUP,
        "k": K,
        "filter": {"folder": list(WHERE.folder), "share": round(len(allowed) / n, 3)},
        "vectors": (
            f"Gaussian mixture: {CENTRES} random unit centres (log-normal weights), + N(0, {LOCAL_SD}^2) in a "
            f"{LOCAL_DIM}-d per-cluster subspace, + isotropic noise of norm {NOISE}, L2-normalised; queries drawn "
            "the same way"
        ),
        "data": data,
        "faiss": faiss_result or None,
        "pgvector": pg_result,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "cpu_model": _cpu_model(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
        "wall_s": round(time.perf_counter() - wall, 1),
    }
    name = "pgvector" if n == 100_000 else "pgvector-full" if n == 1_000_000 else f"pgvector-{n}"
    if trial:
        name += f"-m{args.m}-efc{args.ef_construction}"  # a trial: the product's figures stay as they are
    name += ".json"
    print(f"\nwall time {payload['wall_s']} s; wrote {write_json(name, payload)}")


if __name__ == "__main__":
    main()
