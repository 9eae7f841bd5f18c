"""Keeping the index in sync with a folder that changes while the chat or ``rag index --watch`` runs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

import rag.pipeline
from benchmarks.load import running_app
from rag import IndexReport, Pipeline
from rag.watch import FolderWatcher
from tests.conftest import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
KIEL = "The Kestrel depot is in Kiel and is managed by Mira Lund."


def until(condition: Callable[[], bool], seconds: float = 60.0) -> bool:
    """Poll ``condition`` every 0.2 s until it holds or ``seconds`` pass; whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_a_sync_reports_what_changed_and_a_failed_one_leaves_the_index_answering(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "heron.txt").write_text("The Heron depot is in Bremen and has 42 staff.\n")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    pipeline.index()
    seen: list[IndexReport] = []
    watcher = FolderWatcher(pipeline, interval=0.1, on_change=seen.append)

    assert watcher.sync() is not None and seen == []  # nothing changed: nothing reported
    (docs / "kestrel.txt").write_text(KIEL + "\n")
    report = watcher.sync()
    assert report is not None and report.added == ["kestrel.txt"] and seen == [report] and watcher.changes == 1

    saved = tmp_path / "saved"
    shutil.move(docs, saved)  # the folder is gone (an unmounted drive): the sync fails, the index is kept
    assert watcher.sync() is None and watcher.sync() is None
    assert sorted(pipeline.store.sources()) == ["heron.txt", "kestrel.txt"]
    assert pipeline.retrieve("Kestrel depot Kiel")[0].chunk.source == "kestrel.txt"
    shutil.move(saved, docs)  # back
    assert watcher.sync() is not None
    said = [r.getMessage() for r in caplog.records if r.name == "rag.watch"]
    assert len(said) == 2 and "failed" in said[0] and "works again" in said[1]  # once each, not at every tick


def test_the_watcher_syncs_on_its_own_thread_until_stopped(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "heron.txt").write_text("The Heron depot is in Bremen.\n")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    pipeline.index()
    watcher = FolderWatcher(pipeline, interval=0.1).start()
    try:
        (docs / "kestrel.txt").write_text(KIEL + "\n")
        assert until(lambda: "kestrel.txt" in pipeline.store.sources(), 30)
        (docs / "heron.txt").unlink()
        assert until(lambda: "heron.txt" not in pipeline.store.sources(), 30)
    finally:
        watcher.stop()
    assert watcher.changes == 2
    with pytest.raises(ValueError, match="greater than 0"):
        FolderWatcher(pipeline, interval=0)


@pytest.mark.slow
def test_rag_index_watch_prints_each_change_as_it_syncs(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "heron.txt").write_text("The Heron depot is in Bremen and has 42 staff.\n")
    (docs / "blob.txt").write_bytes(b"\x00binary")
    out = tmp_path / "out.txt"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    command = [
        sys.executable,
        "-m",
        "rag",
        "index",
        str(docs),
        "--index-dir",
        str(tmp_path / "index"),
        "--watch",
        "0.3",
    ]
    with open(out, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.DEVNULL)
        try:
            assert until(lambda: "watching" in out.read_text(), 120), out.read_text()
            (docs / "kestrel.txt").write_text(KIEL + "\n")
            assert until(lambda: "added  kestrel.txt" in out.read_text()), out.read_text()
            (docs / "heron.txt").unlink()
            assert until(lambda: "removed  heron.txt" in out.read_text()), out.read_text()
        finally:
            process.terminate()
            process.wait(timeout=30)
    lines = out.read_text().splitlines()
    assert lines[0] == "   added  heron.txt"
    assert sum("skipped  " in line for line in lines) == 1  # listed at the start, not again at each change
    assert sum("1 added" in line for line in lines) == 2 and sum("1 removed" in line for line in lines) == 1


def ask(url: str, question: str) -> dict[str, object]:
    request = urllib.request.Request(
        url + "v1/answer",
        data=json.dumps({"question": question}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        return dict(json.loads(response.read()))


@pytest.mark.slow
def test_a_file_added_or_deleted_while_the_chat_runs_is_answered_from_without_a_sync(tmp_path: Path) -> None:
    """Before, a file saved into the folder while the chat ran was seen only after "Sync with the folder", an
    upload or a restart."""
    question = "Who manages the Kestrel depot?"
    with running_app(tmp_path, env={"RAG_WATCH_SECONDS": "0.5"}) as url:
        assert not ask(url, question)["answered"]
        (tmp_path / "docs" / "depots.txt").write_text(KIEL + "\n", encoding="utf-8")
        assert until(lambda: bool(ask(url, question)["answered"])), "the new file was not picked up"
        assert "Mira Lund" in str(ask(url, question)["key_phrase"])
        (tmp_path / "docs" / "depots.txt").unlink()
        assert until(lambda: not ask(url, question)["answered"]), "the deleted file is still answered from"
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert "synced with" in log and "1 added" in log and "1 removed" in log


def test_a_skipped_file_is_not_read_again_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A watched folder is synced every few seconds: a large binary or broken file was read at every sync."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "heron.txt").write_text("The Heron depot is in Bremen.\n")
    (docs / "blob.txt").write_bytes(b"\x00\x01binary" * 1000)
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    reads: list[str] = []
    real_load = rag.pipeline.load_file
    monkeypatch.setattr(rag.pipeline, "load_file", lambda path, *a: reads.append(path.name) or real_load(path, *a))
    first = pipeline.index()
    assert [e.path.name for e in first.skipped] == ["blob.txt"] and reads == ["blob.txt", "heron.txt"]
    again = pipeline.index()
    assert [e.reason for e in again.skipped] == [e.reason for e in first.skipped]  # still reported, not read
    assert reads == ["blob.txt", "heron.txt"]
    later = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())  # another process
    assert [e.reason for e in later.index().skipped] == [e.reason for e in first.skipped]
    assert reads == ["blob.txt", "heron.txt"]  # kept in the index folder: not read again either
    (docs / "blob.txt").write_text(KIEL + "\n")  # fixed: read, and indexed
    assert pipeline.index().added == ["blob.txt"] and reads[-1] == "blob.txt"
    assert later.index().skipped == [] and "blob.txt" not in (tmp_path / "index" / "skipped.json").read_text()


@pytest.mark.slow
def test_answers_stay_whole_while_the_folder_changes_under_them(tmp_path: Path, embedder: object) -> None:
    """An answer read its passages from one index and its quotes' pages from the next: a file removed by a sync
    in between (the watcher, an upload) failed about one answer in ten with a KeyError."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "seeds", docs)
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    pipeline.index()
    done = False
    errors: list[Exception] = []

    def churn() -> None:
        while not done:
            (docs / "depots.txt").write_text(KIEL + "\n")
            pipeline.index()
            (docs / "depots.txt").unlink()
            pipeline.index()

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        for _ in range(40):
            for question in (
                "Who manages the Kestrel depot?",
                "How much could Ukraine borrow under the reparations loan?",
            ):
                try:
                    answer = pipeline.answer(question)
                    assert not answer.answered or answer.quotes
                except Exception as error:  # every failure counts
                    errors.append(error)
    finally:
        done = True
        thread.join()
    assert errors == []


def test_a_document_removed_by_another_replica_mid_answer_leaves_its_quote_without_a_page(
    tmp_path: Path, embedder: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With PostgreSQL shared by replicas, another one may remove a document between an answer's retrieval and its
    quotes; the store then raises KeyError for it (as both stores do for a source they do not hold)."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "seeds", docs)
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    store = pipeline.store

    def gone(*args: object) -> None:
        raise KeyError(args[0])

    monkeypatch.setattr(store, "page_at", gone)
    monkeypatch.setattr(store, "excerpt", gone)
    answer = pipeline.answer("How much could Ukraine borrow under the reparations loan?")
    assert answer.answered and "140 billion" in answer.quotes[0].text and answer.quotes[0].page is None
