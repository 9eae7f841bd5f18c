"""Choose ``min_evidence`` (the refusal threshold) from SQuAD *train* records, never dev.

    .venv/bin/python -m benchmarks.answers --split train --sample 400 --held-out 4 --held-out-questions 60 \\
        --min-evidence 0
    .venv/bin/python -m benchmarks.calibrate_refusal [/tmp/squad-bench/answers-train-48a-s0.jsonl]

With the threshold at 0 every question gets an evidence score (``quotes[0].score``). Held-out questions are
asked of an index without their own article, so the right reply is a refusal. The recommended threshold is
the highest one that wrongly refuses at most 10% of answerable questions.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks import squad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = squad.DEFAULT_WORKDIR / "answers-train-48a-s0.jsonl"
    parser.add_argument("records", type=Path, nargs="?", default=default)
    parser.add_argument("--max-wrongly-refused", type=float, default=0.10)
    args = parser.parse_args()
    records = [json.loads(line) for line in args.records.read_text(encoding="utf-8").splitlines() if line]
    answerable = [r.get("score") or 0.0 for r in records if not r.get("held_out")]
    held_out = [r.get("score") or 0.0 for r in records if r.get("held_out")]
    print(f"{len(answerable)} answerable and {len(held_out)} held-out train questions")
    print("| threshold | wrongly refused (answerable) | refused (held out) |\n|---|---|---|")
    best = 0.0
    for step in range(30, 71):
        t = step / 100
        wrong = sum(s < t for s in answerable) / len(answerable)
        refused = sum(s < t for s in held_out) / len(held_out)
        if step % 2 == 0:
            print(f"| {t:.2f} | {wrong:.3f} | {refused:.3f} |")
        if wrong <= args.max_wrongly_refused:
            best = t
    print(f"recommended min_evidence: {best:.2f}")


if __name__ == "__main__":
    main()
