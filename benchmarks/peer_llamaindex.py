"""The same corpus, model and k through LlamaIndex: ingestion time, query latency and hit@5, side by side.

    .venv/bin/python -m benchmarks.peer_llamaindex               # 12 SQuAD dev articles (quick)
    .venv/bin/python -m benchmarks.peer_llamaindex --articles 48 # all dev articles

Benchmark-only dependencies (not the product's)::

    .venv/bin/pip install -c constraints.txt llama-index-core llama-index-embeddings-huggingface \\
        llama-index-vector-stores-faiss

Both sides get the SQuAD dev articles as documents (``benchmarks.squad``) and the packaged all-MiniLM-L6-v2 by
its local folder. LlamaIndex runs as a user would set it up: ``SentenceSplitter`` at 150 tokens (about the
product's 600-character chunks) with 20 tokens overlap, ``HuggingFaceEmbedding`` (sentence-transformers,
its default batch of 10), a ``FaissVectorStore`` over ``IndexFlatIP`` (the vectors are normalised), and
``as_retriever(similarity_top_k=5)``. The product runs with its defaults (onnx embedding, hybrid retrieval);
its dense-only search is reported too, to separate the model from the fusion. A hit is a retrieved chunk of
the question's article whose character range overlaps a gold answer (as in ``benchmarks.retrieval``).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks import squad
from benchmarks.retrieval import first_hit, hit_at

logger = logging.getLogger(__name__)

DEFAULT_WORKDIR = Path("/tmp/rag-peer")
K = 5


def product_side(articles: list[squad.Article], questions: list[squad.Question], workdir: Path) -> dict[str, Any]:
    index_dir = workdir / "product-index"
    shutil.rmtree(index_dir, ignore_errors=True)  # time a fresh ingestion
    started = time.perf_counter()
    pipeline, info = squad.open_pipeline(articles, workdir / "docs", index_dir)
    ingest = time.perf_counter() - started
    store, embedder = pipeline.store, pipeline.embedder

    def located(i: int) -> tuple[str, int, int]:
        return store.documents[int(store.chunk_doc[i])].source, int(store.chunk_start[i]), int(store.chunk_end[i])

    pipeline.retrieve(questions[0].question, K)  # warm
    hybrid, dense, times = [], [], []
    for q in questions:
        t = time.perf_counter()
        passages = pipeline.retrieve(q.question, K)
        times.append((time.perf_counter() - t) * 1000)
        hybrid.append(first_hit([located(p.index) for p in passages], q))
        _, ids = store.dense.search(embedder.encode_query(q.question)[None, :], K)
        dense.append(first_hit([located(int(i)) for i in ids[0] if i >= 0], q))
    return {
        "chunks": info["chunks"],
        "backend": embedder.backend,
        "ingest_s": round(ingest, 1),
        "chunks_per_s": round(info["chunks"] / ingest, 1),
        "retrieve_p50_ms": round(squad.percentile(times, 50), 1),
        "retrieve_p95_ms": round(squad.percentile(times, 95), 1),
        "hit_at_5": round(hit_at(hybrid, K), 4),
        "dense_hit_at_5": round(hit_at(dense, K), 4),
    }


def llamaindex_side(articles: list[squad.Article], questions: list[squad.Question]) -> dict[str, Any]:
    import faiss
    from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.faiss import FaissVectorStore

    from rag.embedding import resolve_model

    Settings.llm = None  # retrieval only: no LLM, and never a default cloud one
    started = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=resolve_model("sentence-transformers/all-MiniLM-L6-v2"), device="cpu")
    documents = [Document(text=a.text, doc_id=a.source, metadata={"source": a.source}) for a in articles]
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(384))
    index = VectorStoreIndex.from_documents(
        documents,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[SentenceSplitter(chunk_size=150, chunk_overlap=20)],
    )
    ingest = time.perf_counter() - started
    chunks = len(index.docstore.docs)
    retriever = index.as_retriever(similarity_top_k=K)
    retriever.retrieve(questions[0].question)  # warm
    ranks, times, unlocated = [], [], 0
    for q in questions:
        t = time.perf_counter()
        nodes = retriever.retrieve(q.question)
        times.append((time.perf_counter() - t) * 1000)
        ranked = []
        for n in nodes:
            start, end = n.node.start_char_idx, n.node.end_char_idx
            if start is None or end is None:
                unlocated += 1
                continue
            ranked.append((n.node.metadata["source"], int(start), int(end)))
        ranks.append(first_hit(ranked, q))
    return {
        "chunks": chunks,
        "backend": "sentence-transformers torch (HuggingFaceEmbedding)",
        "ingest_s": round(ingest, 1),
        "chunks_per_s": round(chunks / ingest, 1),
        "retrieve_p50_ms": round(squad.percentile(times, 50), 1),
        "retrieve_p95_ms": round(squad.percentile(times, 95), 1),
        "hit_at_5": round(hit_at(ranks, K), 4),
        "dense_hit_at_5": round(hit_at(ranks, K), 4),
        "nodes_without_offsets": unlocated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=12, help="SQuAD dev articles (48 = all)")
    parser.add_argument("--sample", type=int, default=1000, help="questions asked (of those articles)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    articles = squad.pick_articles(squad.load_articles("dev"), args.articles)
    questions = squad.sample_questions(articles, args.sample)
    ours = product_side(articles, questions, args.workdir)
    theirs = llamaindex_side(articles, questions)
    print(f"\n{len(articles)} SQuAD dev articles, {len(questions)} questions, k={K} (load {os.getloadavg()[0]:.1f})")
    squad.print_table(
        ["system", "chunks", "ingest s", "chunks/s", "retrieve p50 ms", "p95 ms", "hit@5", "dense hit@5"],
        [
            [name, r["chunks"], r["ingest_s"], r["chunks_per_s"], r["retrieve_p50_ms"], r["retrieve_p95_ms"],
             r["hit_at_5"], r["dense_hit_at_5"]]
            for name, r in (("this product", ours), ("LlamaIndex", theirs))
        ],
    )  # fmt: skip
    payload = {
        "articles": len(articles),
        "questions": len(questions),
        "k": K,
        "load_average": os.getloadavg()[0],
        "product": ours,
        "llamaindex": theirs,
    }
    print(f"\nwrote {squad.write_json('peer_llamaindex.json', payload)}")


if __name__ == "__main__":
    main()
