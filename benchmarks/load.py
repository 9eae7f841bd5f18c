"""Does the web chat stay correct and responsive with many people asking at once?

Starts the real app (``ui.py``) in a subprocess on a free loopback port over a copy of ``seeds/`` (or uses
``--url``), then runs ``--users`` simulated chat users at the same time, each with its own Gradio client
session, each asking ``--questions`` questions in turn. Requests take in turn the chat endpoint (``/ask``:
what the browser calls; the rendered Markdown is parsed back), its JSON endpoint (``/answer``) and the HTTP API
(``/v1/answer``); follow-ups carry the conversation. Every reply is checked:

- no error, and the expected content (``140 billion`` for the loan question, a refusal for the World Cup);
- every quote is valid: ``document_text(source)[start:end] == text``, read through :class:`rag.Pipeline` on
  the same index folder (for the chat, the quote shown is parsed back from the Markdown, so this checks
  what a person sees).

Loopback only; the request count and the total time are bounded. Run from the checkout::

    .venv/bin/python -m benchmarks.load                    # 24 users x 5 questions
    .venv/bin/python -m benchmarks.load --users 40 --questions 10

Prints a table of latency percentiles and writes ``benchmarks/results/load.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
RESULTS = ROOT / "benchmarks" / "results" / "load.json"

REFUSAL = "do not say"
QUESTIONS: list[tuple[str, list[dict[str, str]], str | None]] = [
    ("How much could Ukraine borrow under the reparations loan?", [], "140 billion"),
    ("Who won the 2022 World Cup?", [], None),
    ("Who is the EU Defense Commissioner?", [], ""),
    (
        "How much could Ukraine borrow under it?",
        [
            {"role": "user", "content": "What is the reparations loan backed by?"},
            {"role": "assistant", "content": "Approximately €185 billion of frozen Russian sovereign assets."},
        ],
        "140 billion",
    ),
    ("What did Kallas say about Putin honouring an agreement?", [], ""),
]
"""(question, history, expected): expected is a phrase the reply must contain, "" for any answer with
quotes, None for a refusal without quotes."""


# ---- the app in a subprocess --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """Stop a server started for a measurement or a test: terminate it, and kill it if it has not ended within
    ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


@contextlib.contextmanager
def running_app(
    root: Path,
    *extra_args: str,
    startup_s: float = 120.0,
    port: int | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve the chat over ``root/docs`` (a copy of the seeds unless it exists) and ``root/index`` on a free
    loopback port (or ``port``); yield its URL; always stop it (terminate, then kill). The folder is not
    watched (``RAG_WATCH_SECONDS=0``: a test that changes it decides when it is synced) unless ``env`` says so."""
    docs = root / "docs"
    if not docs.exists():
        shutil.copytree(SEEDS, docs)
    port = port or free_port()
    environment = os.environ | {
        "RAG_PORT": str(port),
        "RAG_HOST": "127.0.0.1",
        "RAG_INDEX_DIR": str(root / "index"),
        "RAG_DOCS_DIR": str(docs),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RAG_WATCH_SECONDS": "0",
        **(env or {}),
    }
    command = [sys.executable, "-m", "rag", "serve", *extra_args] if extra_args else [sys.executable, "ui.py"]
    log_path = root / f"server-{port}.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            deadline = time.monotonic() + startup_s
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"the app exited with {server.returncode}: {log_path.read_text()[-2000:]}")
                try:
                    with urllib.request.urlopen(url, timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not answer HTTP 200 within {startup_s:.0f} s")
                time.sleep(0.3)
            yield url
        finally:
            stop(server)


# ---- reading replies back -----------------------------------------------------------------------------------

_QUOTE = re.compile(r"^> (?:\*\*\[\d+\]\*\* )?“(?P<text>.*)”  \n> — \*.*\* · `(?P<source>[^`]+)` · (?:§ .*, )?"
                    r"(?:p\. \d+, )?chars (?P<start>\d+)-(?P<end>\d+)(?: · \[in the document\]\([^)]*\))?$",
                    re.MULTILINE)  # fmt: skip
_UNESCAPE = re.compile(r"\\([\\`*_\[\]|~#])")


def quotes_in_markdown(markdown: str) -> list[dict[str, Any]]:
    """The quotes a chat reply shows, read back from its Markdown (the inverse of ``ui.render``)."""
    found = []
    for m in _QUOTE.finditer(markdown):
        text = html.unescape(_UNESCAPE.sub(r"\1", m["text"].replace("<mark>", "").replace("</mark>", "")))
        found.append({"text": text, "source": m["source"], "start": int(m["start"]), "end": int(m["end"])})
    return found


@dataclass
class Result:
    user: int
    endpoint: str
    question: str
    seconds: float
    error: str | None = None
    quotes: int = 0
    invalid_quotes: list[str] = field(default_factory=list)


def check(reply: Any, endpoint: str, expected: str | None, document_text: Any) -> tuple[int, list[str], str | None]:
    """(quotes checked, invalid quotes, error) for one reply."""
    if endpoint == "/ask":
        text = str(reply)
        quotes = quotes_in_markdown(text)
        sources_shown = "**Sources**" in text
    else:
        text = str(reply.get("text", ""))
        quotes = list(reply.get("quotes", []))
        sources_shown = bool(quotes)
    invalid = []
    for q in quotes:
        try:
            if document_text(q["source"])[q["start"] : q["end"]] != q["text"]:
                invalid.append(f"{q['source']}:{q['start']}-{q['end']}")
        except KeyError:
            invalid.append(f"unknown source {q['source']}")
    if expected is None:
        if REFUSAL not in text or quotes or sources_shown:
            return len(quotes), invalid, f"expected a refusal without quotes, got: {text[:120]!r}"
    elif not quotes or expected not in text:
        return len(quotes), invalid, f"expected {expected or 'an answer'!r} with quotes, got: {text[:120]!r}"
    return len(quotes), invalid, None


ENDPOINTS = ("/ask", "/answer", "/v1/answer")
"""Taken in turn: the chat's streaming endpoint and its JSON one (through ``gradio_client``), and the HTTP API."""


def run_users(url: str, users: int, questions: int, document_text: Any, deadline_s: float) -> list[Result]:
    """``users`` concurrent chat sessions, each asking ``questions`` questions; bounded by ``deadline_s``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # gradio_client looks up the hub otherwise
    from gradio_client import Client

    stop_at = time.monotonic() + deadline_s
    start = threading.Barrier(users, timeout=deadline_s)

    def user(n: int) -> list[Result]:
        client = Client(url, verbose=False)
        start.wait()  # everyone asks at the same time
        results = []
        for i in range(questions):
            if time.monotonic() > stop_at:
                results.append(Result(n, "-", "-", 0.0, error="deadline reached before asking"))
                break
            question, history, expected = QUESTIONS[(n + i) % len(QUESTIONS)]
            endpoint = ENDPOINTS[(n + i) % len(ENDPOINTS)]
            if history and endpoint == "/ask":
                endpoint = "/answer"  # the chat's own history is the browser's: a conversation goes to an API
            began = time.perf_counter()
            try:
                if endpoint == "/ask":
                    reply = client.predict(question, api_name="/ask")
                elif endpoint == "/answer":
                    reply = client.predict(question, history, api_name="/answer")
                else:
                    body = json.dumps({"question": question, "history": history}).encode()
                    request = urllib.request.Request(
                        url + "v1/answer", data=body, headers={"Content-Type": "application/json"}
                    )
                    with urllib.request.urlopen(request, timeout=deadline_s) as response:
                        reply = json.loads(response.read())
                seconds = time.perf_counter() - began
                count, invalid, error = check(reply, endpoint, expected, document_text)
                results.append(Result(n, endpoint, question, seconds, error, count, invalid))
            except Exception as exc:  # a failed request is a result to report, not a crash of the benchmark
                results.append(
                    Result(n, endpoint, question, time.perf_counter() - began, f"{type(exc).__name__}: {exc}")
                )
        return results

    with ThreadPoolExecutor(max_workers=users) as pool:
        per_user = list(pool.map(user, range(users)))
    return [r for rs in per_user for r in rs]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summarise(results: list[Result], wall_s: float) -> dict[str, Any]:
    rows = {}
    for name, subset in (
        ("all", results),
        *((e, [r for r in results if r.endpoint == e]) for e in ENDPOINTS),
    ):
        ok = [r.seconds for r in subset if r.error is None]
        rows[name] = {
            "requests": len(subset),
            "errors": sum(r.error is not None for r in subset),
            "quotes_checked": sum(r.quotes for r in subset),
            "invalid_quotes": sum(len(r.invalid_quotes) for r in subset),
            "p50_ms": round(percentile(ok, 50) * 1000, 1),
            "p95_ms": round(percentile(ok, 95) * 1000, 1),
            "max_ms": round(max(ok, default=float("nan")) * 1000, 1),
        }
    rows["all"]["throughput_per_s"] = round(len(results) / wall_s, 2) if wall_s else 0.0
    return rows


def measure(url: str, users: int, questions: int, index_dir: Path, docs_dir: Path, deadline_s: float) -> dict[str, Any]:
    """Run the load against ``url`` and check every quote against the same index; the summary as a dict."""
    from rag import Pipeline

    pipeline = Pipeline(index_dir=index_dir, docs_dir=docs_dir)
    lock = threading.Lock()

    def document_text(source: str) -> str:
        with lock:
            return pipeline.document_text(source)

    began = time.perf_counter()
    results = run_users(url, users, questions, document_text, deadline_s)
    wall = time.perf_counter() - began
    return {
        "users": users,
        "questions_per_user": questions,
        "wall_s": round(wall, 2),
        "summary": summarise(results, wall),
        "errors": [asdict(r) for r in results if r.error or r.invalid_quotes][:20],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "load_avg": os.getloadavg()},
    }


def table(report: dict[str, Any]) -> str:
    columns = [
        ("requests", "requests"),
        ("errors", "errors"),
        ("quotes", "quotes_checked"),
        ("invalid", "invalid_quotes"),
        ("p50 ms", "p50_ms"),
        ("p95 ms", "p95_ms"),
        ("max ms", "max_ms"),
    ]
    head = f"{'endpoint':<9}" + "".join(f"{label:>10}" for label, _ in columns)
    all_row = report["summary"]["all"]
    lines = [
        f"{report['users']} users x {report['questions_per_user']} questions in {report['wall_s']} s "
        f"({all_row['throughput_per_s']} requests/s)",
        head,
        "-" * len(head),
    ]
    for name, row in report["summary"].items():
        lines.append(f"{name:<9}" + "".join(f"{row[key]:>10}" for _, key in columns))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--questions", type=int, default=5, help="questions per user")
    parser.add_argument("--deadline", type=float, default=300.0, help="stop asking after this many seconds")
    parser.add_argument("--url", help="an already running app (loopback only); its --index-dir/--docs-dir too")
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--docs-dir", type=Path)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.users < 1 or args.questions < 1:
        parser.error("--users and --questions must be at least 1")
    if args.url:
        host = urllib.parse.urlparse(args.url).hostname
        if host not in {"127.0.0.1", "localhost", "::1"}:
            parser.error("load tests run against this machine only (127.0.0.1 / localhost)")
        if not args.index_dir or not args.docs_dir:
            parser.error("--url needs --index-dir and --docs-dir (the app's) to check the quotes")
        report = measure(args.url, args.users, args.questions, args.index_dir, args.docs_dir, args.deadline)
    else:
        with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp, running_app(Path(tmp)) as url:
            report = measure(url, args.users, args.questions, Path(tmp) / "index", Path(tmp) / "docs", args.deadline)
    print(table(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0 if report["summary"]["all"]["errors"] == 0 and report["summary"]["all"]["invalid_quotes"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
