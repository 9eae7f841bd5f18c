"""Beyond one process: three web-chat replicas over one PostgreSQL index, and indexing on a Ray cluster.

Everything runs for real on 127.0.0.1: PostgreSQL 18 + pgvector, three ``rag serve`` processes, a Ray head.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import psutil
import psycopg
import pytest

from benchmarks.load import running_app
from rag import Pipeline
from rag.embedding import Embedder
from tests.conftest import ROOT, SEEDS
from tests.servers import RAY_LOOPBACK_ENV, RayHead, is_loopback, listening_sockets

pytestmark = pytest.mark.slow

DEPOT = "The grain depot at Odesa stores 41,000 tonnes of wheat, enough for three months of exports."


def ask(url: str, question: str) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # gradio_client looks up the hub otherwise
    from gradio_client import Client

    return Client(url, verbose=False).predict(question, api_name="/answer")


def test_three_replicas_share_one_index(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gradio_client import Client, handle_file

    docs = tmp_path / "shared-docs"  # one documents folder (a shared volume in production)
    shutil.copytree(SEEDS, docs)
    monkeypatch.setenv("RAG_STORE", "pgvector")
    monkeypatch.setenv("RAG_STORE_URL", pg_url)
    with contextlib.ExitStack() as stack:
        urls = []
        for n in range(3):
            root = tmp_path / f"replica-{n}"
            root.mkdir()
            (root / "docs").symlink_to(docs)
            urls.append(stack.enter_context(running_app(root)))
        for url in urls:
            loan = ask(url, "How much could Ukraine borrow under the reparations loan?")
            assert loan["answered"] and "140 billion" in loan["quotes"][0]["text"]
            assert not ask(url, "How much wheat does the Odesa depot store?")["answered"]

        upload = tmp_path / "depot-report.txt"
        upload.write_text(f"Depot report\n\n{DEPOT}\n", encoding="utf-8")
        status = Client(urls[0], verbose=False).predict([handle_file(str(upload))], api_name="/upload")[0]
        assert "Added" in status and "1 added" in status

        for url in urls:  # synced through the first replica, answered by every one at once
            depot = ask(url, "How much wheat does the Odesa depot store?")
            assert depot["answered"], url
            assert depot["quotes"][0]["source"] == "depot-report.txt"
            assert "41,000 tonnes" in depot["quotes"][0]["text"]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM rag_documents").fetchone()[0] == 3


def test_indexing_on_ray_writes_the_same_index(
    ray_address: str, pg_url: str, seeds_pipeline: Pipeline, seeds_copy: Path, embedder: Embedder
) -> None:
    # In process, FAISS files: the vectors embedded on the cluster are the local ones.
    index = seeds_copy.parent / "index"
    clustered = Pipeline(docs_dir=seeds_copy, index_dir=index, embedder=embedder, embedding_cluster=ray_address)
    report = clustered.index()
    assert report.embedded == len(seeds_pipeline.store) > 0
    assert np.allclose(clustered.store.vectors, seeds_pipeline.store.vectors, atol=1e-5)
    assert np.allclose(clustered.store.sentences.vectors, seeds_pipeline.store.sentences.vectors, atol=2e-3)

    # From the shell, into the shared PostgreSQL index: the same command, one flag more.
    done = subprocess.run(
        [sys.executable, "-m", "rag", "--store-url", pg_url, "index", str(seeds_copy), "--cluster", ray_address],
        cwd=ROOT,
        env=os.environ | RAY_LOOPBACK_ENV,  # a driver of the loopback-only head (tests/servers.py)
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "2 added" in done.stdout
    question = "How much could Ukraine borrow under the reparations loan?"
    pg = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=embedder, sync_on_start=False)
    got, expected = pg.answer(question), seeds_pipeline.answer(question)
    assert [(q.source, q.start, q.end) for q in got.quotes] == [(q.source, q.start, q.end) for q in expected.quotes]


def test_the_ray_cluster_listens_on_loopback_only(ray_cluster: RayHead) -> None:
    """Every TCP socket of the head (GCS, raylet, agents, workers) and of a driver is bound to loopback."""
    import ray

    driver = psutil.Process()
    before = set(listening_sockets(driver))
    ray.init(address=ray_cluster.address, log_to_driver=False, configure_logging=False, include_dashboard=False)
    try:
        assert ray.get(ray.remote(lambda: 42).remote()) == 42  # a worker has started and run a task
        node_ips = {node["NodeManagerAddress"] for node in ray.nodes()}
        sockets = ray_cluster.listening() + [s for s in listening_sockets(driver) if s not in before]
    finally:
        ray.shutdown()
    assert {"gcs_server", "raylet"} <= {name for name, *_ in sockets}, sockets  # the check sees the servers
    exposed = [s for s in sockets if not is_loopback(s[2])]
    assert not exposed, f"Ray listens beyond 127.0.0.1/::1 (name, pid, ip, port): {exposed}"
    assert node_ips == {"127.0.0.1"}  # and tells its workers and drivers to connect over loopback


def test_an_unreachable_cluster_is_one_clear_error(seeds_copy: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rag", "--index-dir", str(tmp_path / "i"), "index", str(seeds_copy), "--cluster",
         "127.0.0.1:9"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1
    read, error = done.stderr.splitlines()  # the files were read; then the one error, not a traceback
    assert read == "reading files: 2/2" and error.startswith("rag: error: cannot reach the Ray cluster at 127.0.0.1:9")
