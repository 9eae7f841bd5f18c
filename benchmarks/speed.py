"""How fast does the product index, answer, and start?

    .venv/bin/python -m benchmarks.speed                    # all parts, quick sizes
    .venv/bin/python -m benchmarks.speed --parts indexing   # one part: indexing, quality, latency, cold, ocr

Parts (each prints a table; all go to ``benchmarks/results/speed.json``):

- ``indexing``: passages per second of each embedding backend on the same texts, in interleaved rounds (best
  round kept, since the machine is shared): sentence-transformers torch fp32 at batch 32 (the plain approach),
  onnx fp32 and onnx int8 (:mod:`rag.embedding`). Texts: SQuAD dev paragraphs truncated at the model's 256
  tokens ("256-token passages") and the product's own chunks of them (600 characters). Also per CPU-second,
  which other processes disturb less than wall time.
- ``quality``: does a backend change retrieval? Dense and hybrid hit@5 on SQuAD dev (the retrieval
  benchmark's definition) with the chunk and question vectors of each backend, over the same chunks.
- ``latency``: warm ``pipeline.retrieve`` and ``pipeline.answer`` p50/p95 over ~10k chunks (SQuAD dev + train
  articles, indexed once by the product under ``--workdir``).
- ``cold``: process start to printed answer for ``rag ask`` on the seeds (repeated runs, median), the same
  with the torch backend, and process start to the web chat's ``/answer`` API returning HTTP 200.
- ``ocr``: seconds per scanned A4 page read by OCR (:mod:`rag.formats.ocr`, tesseract on one thread), at 200 and
  300 dpi, as a PNG file and as a page of a scanned PDF (SQuAD dev paragraphs printed by Pillow, 11 pt), and
  the share of the printed words found in the text OCR stored, in order (a word misread or missed is lost).

Numbers are noisy: other jobs share the 2 cores; the load average is recorded with each part.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import unicodedata
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import squad
from benchmarks.load import stop

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_WORKDIR = Path("/tmp/rag-speed")
PARTS = ("indexing", "quality", "latency", "cold", "ocr")
SEED_QUESTION = "How much could Ukraine borrow under the reparations loan?"


def _load() -> float:
    return round(os.getloadavg()[0], 2)


# ---- indexing throughput ------------------------------------------------------------------------------------


def indexing_texts(n: int) -> dict[str, list[str]]:
    """``n`` SQuAD dev paragraphs (the model truncates them at 256 tokens) and ``n`` product chunks of them."""
    from rag.chunking import chunk_document
    from rag.documents import Document

    articles = squad.load_articles("dev")
    paragraphs = [p for a in articles for p in a.text.split(squad.SEP)[1:]]
    random.Random(0).shuffle(paragraphs)
    long = [" ".join(paragraphs[i : i + 2]) for i in range(0, 2 * n, 2)]  # two paragraphs: >= 256 tokens
    chunks = [
        c.text for i, p in enumerate(paragraphs[: 2 * n]) for c in chunk_document(Document(f"p{i}", "", p, str(i)))
    ]
    return {"256-token passages": long[:n], "600-char chunks": chunks[:n]}


def measure_indexing(n: int, rounds: int) -> dict[str, Any]:
    from rag.chunking import sentence_spans
    from rag.embedding import Embedder

    onnx, int8 = Embedder(MODEL, backend="onnx"), Embedder(MODEL, backend="onnx-int8")
    backends: dict[str, Callable[[list[str]], Any]] = {
        "torch fp32 (sentence-transformers, batch 32)": Embedder(MODEL, backend="torch", batch_size=32).encode,
        "onnx fp32": onnx.encode,
        "onnx int8": int8.encode,
        # What `rag index` runs: one pass that also gives every sentence's vector (rag.reranking needs them).
        "onnx fp32 + sentence vectors (the product's indexing)": lambda t: onnx.encode_spans(
            t, [sentence_spans(x) for x in t]
        ),
        "onnx int8 + sentence vectors": lambda t: int8.encode_spans(t, [sentence_spans(x) for x in t]),
    }
    for encode in backends.values():
        encode(["warm up the model and its threads"] * 8)
    results: dict[str, Any] = {}
    for kind, texts in indexing_texts(n).items():
        best: dict[str, tuple[float, float]] = {}
        for _ in range(rounds):
            for name, encode in backends.items():
                wall, cpu = time.perf_counter(), time.process_time()
                encode(texts)
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                rate = (len(texts) / wall, len(texts) / cpu)
                best[name] = max(best.get(name, (0.0, 0.0)), rate)
        base = best[next(iter(backends))]
        results[kind] = {
            name: {
                "per_s": round(wall, 1),
                "per_cpu_s": round(cpu, 1),
                "ratio": round(wall / base[0], 2),
                "ratio_cpu": round(cpu / base[1], 2),
            }
            for name, (wall, cpu) in best.items()
        }
    print(f"\nIndexing throughput, {n} texts, best of {rounds} interleaved rounds (load {_load()})")
    rows = [
        [kind, name, r["per_s"], r["ratio"], r["per_cpu_s"], r["ratio_cpu"]]
        for kind, per in results.items()
        for name, r in per.items()
    ]
    squad.print_table(["texts", "backend", "per s", "x torch", "per CPU-s", "x torch (CPU)"], rows)
    return {"texts": n, "rounds": rounds, "load_average": _load(), "results": results}


# ---- quality of each backend's vectors ----------------------------------------------------------------------


def _reuse_index(index_dir: Path) -> None:
    """Start from the SQuAD dev index of the other benchmarks (``/tmp/squad-bench``) when there is one: the
    product's incremental indexing then embeds only what differs."""
    shared = squad.DEFAULT_WORKDIR / "dev-index"
    if not index_dir.exists() and (shared / "CURRENT").is_file():
        shutil.copytree(shared, index_dir, ignore=shutil.ignore_patterns(".lock"))


def measure_quality(workdir: Path, sample: int) -> dict[str, Any]:
    from benchmarks.retrieval import first_hit, hit_at
    from rag.embedding import Embedder
    from rag.retrieval import reciprocal_rank_fusion, top_ids

    articles = squad.load_articles("dev")
    _reuse_index(workdir / "dev-index")
    pipeline, _ = squad.open_pipeline(articles, workdir / "dev-docs", workdir / "dev-index")
    store = pipeline.store
    chunk_texts = [store.chunk(i).text for i in range(len(store))]
    questions = squad.sample_questions(articles, sample)
    locations = [
        (store.documents[int(store.chunk_doc[i])].source, int(store.chunk_start[i]), int(store.chunk_end[i]))
        for i in range(len(store))
    ]
    keyword = [top_ids(store.keyword.scores(q.question), 50) for q in questions]
    results: dict[str, Any] = {}
    for name, backend in (("torch fp32", "torch"), ("onnx fp32", "onnx"), ("onnx int8", "onnx-int8")):
        cache = workdir / f"chunk-vectors-{backend}.npy"
        embedder = Embedder(MODEL, backend=backend)
        if cache.is_file() and len(np.load(cache, mmap_mode="r")) == len(chunk_texts):
            vectors = np.load(cache)
        else:
            started = time.perf_counter()
            vectors = embedder.encode(chunk_texts)
            logger.info("%s: %d chunks in %.0f s", name, len(chunk_texts), time.perf_counter() - started)
            np.save(cache, vectors)
        query_vectors = embedder.encode([q.question for q in questions])
        dense_ranks, fused_ranks = [], []
        for q, qv, kw in zip(questions, query_vectors, keyword, strict=True):
            dense = np.argsort(-(vectors @ qv))[:50]
            fused = reciprocal_rank_fusion([dense, kw], [1.0, 1.0], 60)
            fused_ids = [i for i, _ in sorted(fused.items(), key=lambda item: -item[1])[:10]]
            dense_ranks.append(first_hit([locations[i] for i in dense[:10]], q))
            fused_ranks.append(first_hit([locations[i] for i in fused_ids], q))
        results[name] = {
            "dense_hit_at_5": round(hit_at(dense_ranks, 5), 4),
            "hybrid_hit_at_5": round(hit_at(fused_ranks, 5), 4),
            "dense_hit_at_1": round(hit_at(dense_ranks, 1), 4),
        }
    reference = np.load(workdir / "chunk-vectors-torch.npy")
    for name, backend in (("onnx fp32", "onnx"), ("onnx int8", "onnx-int8")):
        cosines = np.sum(np.load(workdir / f"chunk-vectors-{backend}.npy") * reference, axis=1)
        results[name]["cosine_to_torch_mean"] = round(float(cosines.mean()), 5)
        results[name]["cosine_to_torch_min"] = round(float(cosines.min()), 5)
    print(f"\nRetrieval quality per backend: SQuAD dev, {len(chunk_texts)} chunks, {len(questions)} questions")
    squad.print_table(
        ["backend", "dense hit@1", "dense hit@5", "hybrid hit@5", "cosine to torch (mean / min)"],
        [
            [
                name,
                r["dense_hit_at_1"],
                r["dense_hit_at_5"],
                r["hybrid_hit_at_5"],
                f"{r.get('cosine_to_torch_mean', 1.0):.5f} / {r.get('cosine_to_torch_min', 1.0):.5f}",
            ]
            for name, r in results.items()
        ],
    )
    return {"chunks": len(chunk_texts), "questions": len(questions), "results": results}


# ---- warm latency at ~10k chunks ----------------------------------------------------------------------------


def measure_latency(workdir: Path, target_chunks: int, queries: int) -> dict[str, Any]:
    dev = squad.load_articles("dev")
    train = squad.load_articles("train")
    # ~104 chunks per dev article: add train articles until the corpus holds about target_chunks chunks.
    extra = max(0, round((target_chunks - 4958) / 45))
    articles = dev + squad.pick_articles(train, extra)
    started = time.perf_counter()
    _reuse_index(workdir / "big-index")
    pipeline, info = squad.open_pipeline(articles, workdir / "big-docs", workdir / "big-index")
    logger.info("10k index ready in %.0f s: %s", time.perf_counter() - started, info)
    questions = [q.question for q in squad.sample_questions(dev, queries, seed=1)]
    pipeline.answer(questions[0])  # warm: models, index pages, first-call allocations
    retrieve = _timed(lambda q: pipeline.retrieve(q), questions)
    answer = _timed(lambda q: pipeline.answer(q), questions)
    embed = _timed(lambda q: pipeline.embedder.encode_query(q), questions)
    result = {
        "chunks": len(pipeline.store),
        "faiss": pipeline.store.manifest.faiss,
        "backend": pipeline.embedder.backend,
        "queries": len(questions),
        "load_average": _load(),
        "index": info,
        "encode_query_ms": embed,
        "retrieve_ms": retrieve,
        "answer_ms": answer,
    }
    print(
        f"\nWarm latency, {result['chunks']} chunks ({result['faiss']}, {result['backend']}), "
        f"{len(questions)} questions (load {result['load_average']})"
    )
    squad.print_table(
        ["step", "p50 ms", "p95 ms"],
        [
            ["encode_query", embed["p50"], embed["p95"]],
            ["retrieve (embed + fusion + rerank)", retrieve["p50"], retrieve["p95"]],
            ["answer (retrieve + evidence + quotes)", answer["p50"], answer["p95"]],
        ],
    )
    return result


def _timed(step: Callable[[str], Any], questions: Sequence[str]) -> dict[str, float]:
    times = []
    for q in questions:
        started = time.perf_counter()
        step(q)
        times.append((time.perf_counter() - started) * 1000)
    return {"p50": round(squad.percentile(times, 50), 1), "p95": round(squad.percentile(times, 95), 1)}


# ---- cold start ---------------------------------------------------------------------------------------------


def measure_cold(workdir: Path, runs: int) -> dict[str, Any]:
    docs, index = workdir / "seeds-docs", workdir / "seeds-index"
    shutil.rmtree(docs, ignore_errors=True)
    shutil.copytree(ROOT / "seeds", docs)
    python = sys.executable
    rag = str(Path(python).with_name("rag"))
    env = {**os.environ, "RAG_DOCS_DIR": str(docs), "RAG_INDEX_DIR": str(index)}
    subprocess.run([rag, "index"], env=env, check=True, capture_output=True)  # build the index once
    torch_script = (
        "import sys; from rag import Pipeline; from rag.embedding import Embedder; "
        f"p = Pipeline(embedder=Embedder({MODEL!r}, backend='torch')); print(p.answer(sys.argv[1]).text)"
    )
    commands = {
        "rag ask (product, onnx)": [rag, "ask", SEED_QUESTION],
        "same with the torch backend": [python, "-c", torch_script, SEED_QUESTION],
        "python -c 'import rag'": [python, "-c", "import rag"],
    }
    results: dict[str, Any] = {}
    for name, command in commands.items():
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=ROOT)
            times.append(time.perf_counter() - started)
            if "rag ask" in name and "140 billion" not in out.stdout:
                raise RuntimeError(f"unexpected answer from {command}: {out.stdout[:300]}")
        results[name] = {"median_s": round(statistics.median(times), 2), "runs": [round(t, 2) for t in times]}
    results["web chat: start -> /answer HTTP 200"] = _web_cold(env, max(1, runs // 2))
    print(f"\nCold start, process start -> answer (median of {runs} runs, load {_load()})")
    squad.print_table(
        ["command", "median s", "runs"],
        [[name, r["median_s"], " ".join(str(t) for t in r["runs"])] for name, r in results.items()],
    )
    return {"load_average": _load(), "results": results}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _web_cold(env: dict[str, str], runs: int) -> dict[str, Any]:
    """Seconds from ``python ui.py`` to the ``/answer`` API answering a question with HTTP 200."""
    times = []
    for _ in range(runs):
        port = _free_port()
        run_env = {**env, "RAG_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
        started = time.perf_counter()
        server = subprocess.Popen(
            [sys.executable, "ui.py"], env=run_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _ask_web(port, started + 120)
            times.append(time.perf_counter() - started)
        finally:
            stop(server)
    return {"median_s": round(statistics.median(times), 2), "runs": [round(t, 2) for t in times]}


def _ask_web(port: int, deadline: float) -> None:
    """Poll until the server's ``/answer`` API returns the seeds answer (Gradio's two-step call API)."""
    base = f"http://127.0.0.1:{port}/gradio_api/call/answer"
    body = json.dumps({"data": [SEED_QUESTION, [], None]}).encode()  # question, history, filters
    while True:
        try:
            request = urllib.request.Request(base, body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                event = json.loads(response.read())["event_id"]
            with urllib.request.urlopen(f"{base}/{event}", timeout=60) as response:
                status, text = response.status, response.read().decode()
            if status == 200 and "140 billion" in text:
                return
            raise RuntimeError(f"unexpected /answer reply: {text[:300]}")
        except (ConnectionError, urllib.error.URLError):
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.05)


# ---- main ---------------------------------------------------------------------------------------------------


# ---- OCR ------------------------------------------------------------------------------------------------------


def scanned_pages(count: int, dpi: int) -> list[tuple[str, Any]]:
    """``count`` A4 pages at ``dpi`` with SQuAD dev paragraphs printed at 11 pt (in ASCII, as the font has it),
    wrapped to the page: (the text printed, the Pillow image)."""
    from PIL import Image, ImageDraw, ImageFont

    paragraphs = [p for article in squad.load_articles("dev") for p in article.text.split(squad.SEP)[1:]]
    font = ImageFont.load_default(size=round(11 / 72 * dpi))
    width, height, margin = round(8.27 * dpi), round(11.69 * dpi), dpi
    pages = []
    for number in range(count):
        image = Image.new("L", (width, height), 255)
        draw, y, printed = ImageDraw.Draw(image), margin, []
        for paragraph in paragraphs[number * 6 : number * 6 + 6]:
            dashes = paragraph.replace("\u2013", "-").replace("\u2014", "-")  # the font has ASCII only
            text = unicodedata.normalize("NFKD", dashes).encode("ascii", "ignore").decode()
            line = ""
            for word in text.split():
                if font.getlength(f"{line} {word}") > width - 2 * margin and line:
                    draw.text((margin, y), line, fill=0, font=font)
                    printed.append(line)
                    y, line = y + round(font.size * 1.5), word
                else:
                    line = f"{line} {word}".strip()
                if y > height - 2 * margin:
                    break
            if y > height - 2 * margin:
                break
            draw.text((margin, y), line, fill=0, font=font)
            printed.append(line)
            y += round(font.size * 3)
        pages.append((" ".join(printed), image))
    return pages


def _words_kept(printed: str, read: str) -> float:
    """The share of the printed words that OCR's text has, in order (the longest common subsequence)."""
    a, b = printed.split(), read.split()
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal = 0
        for j, y in enumerate(b, start=1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1] / len(a) if a else 1.0


def measure_ocr(workdir: Path, count: int) -> dict[str, Any]:
    from rag.documents import load_file
    from rag.formats.ocr import Ocr

    ocr = Ocr()
    if ocr.problem:
        print(f"\nOCR: not measured, {ocr.problem}")
        return {"skipped": ocr.problem}
    folder = workdir / "ocr"
    folder.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    for dpi in (200, 300):
        pages = scanned_pages(count, dpi)
        pngs, kept, seconds = [], [], []
        for number, (printed, image) in enumerate(pages):
            path = folder / f"page-{dpi}-{number}.png"
            image.save(path)
            pngs.append(path)
            started = time.perf_counter()
            doc = load_file(path, ocr=ocr)
            seconds.append(time.perf_counter() - started)
            kept.append(_words_kept(printed, doc.text))
        pdf = folder / f"scan-{dpi}.pdf"
        pages[0][1].save(pdf, "PDF", resolution=float(dpi), save_all=True, append_images=[i for _, i in pages[1:]])
        started = time.perf_counter()
        load_file(pdf, ocr=ocr)
        pdf_seconds = (time.perf_counter() - started) / count
        results[f"{dpi} dpi"] = {
            "s_per_page_png": round(statistics.median(seconds), 2),
            "s_per_page_pdf": round(pdf_seconds, 2),
            "words_kept": round(statistics.mean(kept), 4),
            "pages": count,
        }
    print(f"\nOCR of scanned A4 pages ({ocr.name}, one thread; load {_load()})")
    rows = [[k, r["pages"], r["s_per_page_png"], r["s_per_page_pdf"], r["words_kept"]] for k, r in results.items()]
    squad.print_table(["scan", "pages", "s/page (PNG, median)", "s/page (PDF)", "printed words kept"], rows)
    return {"load_average": _load(), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", nargs="*", choices=PARTS, default=list(PARTS))
    parser.add_argument("--texts", type=int, default=256, help="texts per backend for indexing throughput")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds for indexing throughput")
    parser.add_argument("--sample", type=int, default=2000, help="questions for the quality part")
    parser.add_argument("--chunks", type=int, default=10_000, help="corpus size for the latency part")
    parser.add_argument("--queries", type=int, default=200, help="questions for the latency part")
    parser.add_argument("--runs", type=int, default=5, help="process starts per cold-start command")
    parser.add_argument("--pages", type=int, default=6, help="scanned pages per resolution for the OCR part")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--out", default="speed.json", help="file name under benchmarks/results/")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args.workdir.mkdir(parents=True, exist_ok=True)
    target = squad.RESULTS / args.out
    payload: dict[str, Any] = json.loads(target.read_text()) if target.is_file() else {}
    payload["cpus"] = os.cpu_count()
    for part in args.parts:
        if part == "indexing":
            payload[part] = measure_indexing(args.texts, args.rounds)
        elif part == "quality":
            payload[part] = measure_quality(args.workdir, args.sample)
        elif part == "latency":
            payload[part] = measure_latency(args.workdir, args.chunks, args.queries)
        elif part == "cold":
            payload[part] = measure_cold(args.workdir, args.runs)
        else:
            payload[part] = measure_ocr(args.workdir, args.pages)
        squad.write_json(args.out, payload)  # after every part, so a long run keeps what it measured
    print(f"\nwrote {target}")


if __name__ == "__main__":
    main()
