"""`rag index | ask` as a user runs them: a real process, real files, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def rag(*args: str, index_dir: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RAG_INDEX_DIR=str(index_dir))
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def test_index_then_ask_prints_the_answer_with_located_quotes(tmp_path: Path, seeds_copy: Path) -> None:
    (seeds_copy / "notes.bin.txt").write_bytes(b"\x00\x01\x02binary")
    out = rag("index", str(seeds_copy), index_dir=tmp_path / "index")
    assert out.returncode == 0, out.stderr
    assert "added  EU-defence-ministers-in-Brussels.txt" in out.stdout
    assert "skipped" in out.stdout and "notes.bin.txt" in out.stdout and "binary" in out.stdout
    again = rag("index", str(seeds_copy), "--json", index_dir=tmp_path / "index")
    report = json.loads(again.stdout)
    assert report["embedded"] == 0 and len(report["unchanged"]) == 2

    out = rag(
        "ask",
        "--docs",
        str(seeds_copy),
        "How much could Ukraine borrow under the reparations loan?",
        index_dir=tmp_path / "index",
    )
    assert out.returncode == 0, out.stderr
    assert "up to **€140 billion**" in out.stdout
    assert "[1] EU defence ministers in Brussels (EU-defence-ministers-in-Brussels.txt, chars" in out.stdout
    assert "Loading weights" not in out.stderr


def test_ask_json_gives_quotes_that_are_verbatim(tmp_path: Path, seeds_copy: Path) -> None:
    out = rag(
        "ask",
        "--docs",
        str(seeds_copy),
        "--json",
        "Who is the EU Defense Commissioner?",
        index_dir=tmp_path / "index",
    )
    answer = json.loads(out.stdout)
    assert answer["answered"] is True
    for quote in answer["quotes"]:
        text = (seeds_copy / quote["source"]).read_text(encoding="utf-8")
        assert text[quote["start"] : quote["end"]] == quote["text"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", ""], "rag: error: The question is empty"),
        (["index", "/definitely/not/here"], "rag: error: documents folder not found: /definitely/not/here"),
        (["--reranker", "/no/cross-encoder", "ask", "Who?"], "rag: error: cannot load reranker '/no/cross-encoder'"),
    ],
)
def test_errors_are_one_line_without_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    out = rag(*args, index_dir=tmp_path / "index", timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().startswith(message)
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_off_topic_question_is_refused(tmp_path: Path, seeds_copy: Path) -> None:
    out = rag("ask", "--docs", str(seeds_copy), "Who won the 2022 World Cup?", index_dir=tmp_path / "index")
    assert out.returncode == 0
    assert out.stdout.startswith("The documents do not say.")
    assert "[1]" not in out.stdout
