"""What does re-indexing cost when one file of a large folder changes? Full build vs incremental sync.

    .venv/bin/python -m benchmarks.sync [--files 10000] [--workdir /tmp/sync-bench]

Builds an index of N small text files and one big one (``--big-mb``, a log of short paragraphs), then times: a
sync with nothing changed, a sync after editing one small file, after adding one, after deleting one, after
appending a line to the big file (only its last chunk is new: the others keep their vectors), after renaming
the big file (nothing is new), and a full rebuild. Prints a table, writes benchmarks/results/sync.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from pathlib import Path

from rag import Pipeline

WORDS = ("grain wagons station river harbour ledger tariff canal freight mill barley timber quarry ferry "
         "market toll bridge warehouse dock cargo").split()  # fmt: skip


def write_folder(folder: Path, files: int) -> None:
    rng = random.Random(0)
    folder.mkdir(parents=True)
    for i in range(files):
        sentences = [
            f"Record {i}.{j}: the {rng.choice(WORDS)} at {rng.choice(WORDS)} {i % 97} moved {rng.randint(1, 999)} "
            f"loads of {rng.choice(WORDS)}."
            for j in range(3)
        ]
        (folder / f"record-{i:05d}.txt").write_text(" ".join(sentences), encoding="utf-8")


def write_big(path: Path, megabytes: float) -> None:
    rng = random.Random(1)
    paragraphs, size, i = [], 0, 0
    while size < megabytes * 1_000_000:
        text = " ".join(
            f"Entry {i}.{j}: {rng.randint(1, 999)} loads of {rng.choice(WORDS)} left the {rng.choice(WORDS)}."
            for j in range(4)
        )
        paragraphs.append(text)
        size += len(text) + 2
        i += 1
    path.write_text("\n\n".join(paragraphs), encoding="utf-8")


def timed(pipeline: Pipeline, **kwargs: bool) -> tuple[float, int]:
    started = time.perf_counter()
    report = pipeline.index(**kwargs)
    return time.perf_counter() - started, report.embedded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--big-mb", type=float, default=2.0, help="size of the big file (MB)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/sync-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    docs, index = args.workdir / "docs", args.workdir / "index"
    write_folder(docs, args.files)
    big = docs / "big-log.txt"
    write_big(big, args.big_mb)
    rows = []
    pipeline = Pipeline(docs_dir=docs, index_dir=index)
    rows.append(("first build", *timed(pipeline)))
    rows.append(("sync, nothing changed", *timed(Pipeline(docs_dir=docs, index_dir=index, embedder=pipeline.embedder))))
    target = docs / f"record-{args.files // 2:05d}.txt"
    target.write_text("An edited record about the canal toll, raised to 12 crowns.", encoding="utf-8")
    rows.append(("sync, one file edited", *timed(pipeline)))
    (docs / "new-record.txt").write_text("A new record: the ferry carried 40 loads of barley.", encoding="utf-8")
    rows.append(("sync, one file added", *timed(pipeline)))
    os.remove(docs / "record-00000.txt")
    rows.append(("sync, one file deleted", *timed(pipeline)))
    with big.open("a", encoding="utf-8") as f:
        f.write("\n\nThe last entry: the ferry left the dock with 12 loads of timber.\n")
    rows.append((f"sync, a line appended to the {args.big_mb:g} MB file", *timed(pipeline)))
    big.rename(docs / "big-log-renamed.txt")
    rows.append((f"sync, the {args.big_mb:g} MB file renamed", *timed(pipeline)))
    rows.append(("full rebuild", *timed(pipeline, rebuild=True)))
    full = rows[-1][1]
    print(f"{args.files} files, {len(pipeline.store)} chunks, backend {pipeline.embedder.backend}")
    print("| run | seconds | chunks embedded | share of a full rebuild |\n|---|---|---|---|")
    for name, seconds, embedded in rows:
        print(f"| {name} | {seconds:.2f} | {embedded} | {seconds / full:.3f} |")
    out = Path(__file__).parent / "results" / "sync.json"
    data = {"files": args.files, "chunks": len(pipeline.store), "rows": [
        {"run": n, "seconds": round(s, 3), "embedded": e, "share_of_rebuild": round(s / full, 4)} for n, s, e in rows
    ]}  # fmt: skip
    out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
