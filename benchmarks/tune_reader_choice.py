"""Should the span reader help choose the answer's sentence? Measured on SQuAD v1.1 *train* articles.

For each question the product's answerer ranks the candidate sentences (the ranking head of
``rag/evidence.py``); the span reader (``rag/reader.py``) then reads the best ``k`` of them and says, per
sentence, how much more likely its best answer span is than "no answer here" (its margin). This script
records, once, the rank score, evidence score, margin and whether the sentence holds a gold answer for the
top 5 sentences of every question, then sweeps offline: the answer is the sentence with the highest
``rank + weight * margin`` among the first ``k`` (a sentence other than the best-ranked only if its evidence
score passes the refusal threshold: it is shown as the answer's support). It prints sentence@1 for each
(k, weight) and the best row.

    .venv/bin/python -m benchmarks.tune_reader_choice [--sample 3000] [--seed 0]

Never run on dev: the chosen (k, weight) is a product default.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import squad
from rag.answering import reader_choice
from rag.evidence import MIN_EVIDENCE
from rag.reader import SpanReader

TOP = 5


def collect(pipeline: Any, questions: list[squad.Question]) -> list[dict[str, np.ndarray]]:
    reader = SpanReader()
    scorer = pipeline.answerer.scorer
    original = scorer.score
    last: list[Any] = []

    def recording(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        last[:] = [out]
        return out

    scorer.score = recording
    rows = []
    started = time.perf_counter()
    for n, q in enumerate(questions, start=1):
        last.clear()
        pipeline.answer(q.question)
        scored = last[0][:TOP] if last else []
        if not scored:
            continue
        sentences = [s for _, _, s in scored]
        readings = reader.read(q.question, [s.text for s in sentences])
        rows.append(
            {
                "rank": np.asarray([r for r, _, _ in scored]),
                "evidence": np.asarray([e for _, e, _ in scored]),
                "margin": np.asarray([x.margin if x else -30.0 for x in readings]),
                "gold": np.asarray(
                    [
                        (s.source == q.source and squad.spans_contain(s.start, s.end, q.spans))
                        or squad.contains_answer(s.text, q.answers)
                        for s in sentences
                    ]
                ),
            }
        )
        if n % 500 == 0:
            print(f"  {n}/{len(questions)} questions ({time.perf_counter() - started:.0f} s)", flush=True)
    scorer.score = original
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", default=str(squad.DEFAULT_WORKDIR))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workdir = Path(args.workdir)
    articles = squad.pick_articles(squad.load_articles("train"), 48, args.seed)
    tag = f"train-48a-s{args.seed}"
    pipeline, _ = squad.open_pipeline(articles, workdir / f"{tag}-docs", workdir / f"{tag}-index")
    questions = squad.sample_questions(articles, args.sample, args.seed)
    rows = collect(pipeline, questions)
    spread = float(np.std(np.concatenate([r["rank"] for r in rows])))
    table = []
    best = (0.0, 1, 0.0)
    for k in range(1, TOP + 1):
        for w in (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5, 1.0):
            w_scaled = w * spread
            hits = 0
            for r in rows:
                pick = reader_choice(r["rank"][:k], r["evidence"][:k], r["margin"][:k], MIN_EVIDENCE, w_scaled)
                hits += bool(r["gold"][pick])
            rate = hits / len(rows)
            table.append([k, w, f"{w_scaled:.4f}", f"{rate:.4f}"])
            if rate > best[0] + 1e-9:
                best = (rate, k, w_scaled)
    squad.print_table(["k", "weight / rank spread", "weight", "sentence@1"], table)
    oracle = float(np.mean([r["gold"].any() for r in rows]))
    print(f"best: k={best[1]} weight={best[2]:.4f} sentence@1 {best[0]:.4f} (top-{TOP} oracle {oracle:.4f})")
    squad.write_json(
        "tune_reader_choice.json",
        {"benchmark": "tune_reader_choice", "split": f"SQuAD v1.1 train, {tag}", "questions": len(rows),
         "rank_spread": spread, "best": {"k": best[1], "weight": best[2], "sentence@1": best[0]},
         "oracle": oracle, "sweep": [{"k": k, "weight": float(w), "sentence@1": float(r)} for k, _, w, r in table]},
    )  # fmt: skip


if __name__ == "__main__":
    main()
