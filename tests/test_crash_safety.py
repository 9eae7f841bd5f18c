"""SIGKILL an indexing process at random moments, many times: the previous index must keep answering, and the
next run must finish with nothing lost or duplicated."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import Pipeline
from rag.store import Store

pytestmark = pytest.mark.slow

INDEX = "from rag import Pipeline; import sys; Pipeline(docs_dir=sys.argv[1], index_dir=sys.argv[2]).index()"


def write_docs(folder: Path, round_: int, count: int = 40) -> None:
    folder.mkdir(exist_ok=True)
    for i in range(count):
        # Every round changes a third of the files, so each run has real work to do (and to be killed in).
        version = round_ if i % 3 == round_ % 3 else 0
        body = " ".join(f"Station {i} logged {version * 7 + j} wagons of grain on day {j}." for j in range(60))
        (folder / f"log-{i:02d}.txt").write_text(f"Log {i}\n{body}", encoding="utf-8")


def chunk_keys(store: Store) -> list[tuple[str, int, int]]:
    return [(c.source, c.start, c.end) for c in (store.chunk(i) for i in range(len(store)))]


def test_killed_indexing_never_breaks_the_index(tmp_path: Path, embedder) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    write_docs(docs, 0)
    subprocess.run([sys.executable, "-c", INDEX, str(docs), str(index)], check=True, timeout=300)
    # How long one uninterrupted update takes on this machine: kills land anywhere inside that window.
    write_docs(docs, 100)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", INDEX, str(docs), str(index)], check=True, timeout=300)
    window = time.perf_counter() - started
    rng = random.Random(1234)
    kills = 0
    for round_ in range(1, 13):
        write_docs(docs, round_)
        process = subprocess.Popen([sys.executable, "-c", INDEX, str(docs), str(index)])
        time.sleep(rng.uniform(0.05, 0.95) * window)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
        store = Store.load(index)  # never raises: some complete generation is always live
        keys = chunk_keys(store)
        assert len(keys) == len(set(keys)), "duplicated chunks"
        assert sorted(d.source for d in store.documents) == sorted(p.name for p in docs.iterdir())
        assert store.keyword.scores("wagons grain").max() > 0
    assert kills >= 6, "the process finished before being killed too often to test anything"

    pipeline = Pipeline(docs_dir=docs, index_dir=index, embedder=embedder)
    pipeline.index()
    clean = Pipeline(docs_dir=docs, index_dir=tmp_path / "clean", embedder=embedder)
    clean.index()
    assert chunk_keys(Store.load(index)) == chunk_keys(Store.load(tmp_path / "clean"))
    assert [d.text for d in Store.load(index).documents] == [d.text for d in Store.load(tmp_path / "clean").documents]
    leftovers = [p.name for p in index.iterdir() if p.name.startswith((".tmp-", ".CURRENT-"))]
    assert leftovers == []
    assert len([p for p in index.iterdir() if p.name.startswith("gen-")]) == 1
    answer = pipeline.answer("How many wagons did station 5 log on day 3?")
    for quote in answer.quotes:
        assert pipeline.document_text(quote.source)[quote.start : quote.end] == quote.text
