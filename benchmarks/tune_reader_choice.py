"""How should the span reader help decide the answer? Measured on SQuAD v1.1 *train* articles, never dev.

For each question the product's answerer ranks the candidate sentences (the ranking head of
``rag/evidence.py``); the span reader (``rag/reader.py``) then reads the best ``k`` of them and says, per
sentence, how much more likely its best answer span is than "no answer here" (its margin). This script
records, once, the rank score, evidence score, text and whether it holds a gold answer of the top 8 sentences
of every question: answerable questions asked of an index of 48 train articles, and unanswerable ones (the
questions of 16 of those articles asked of the index without their article, as ``calibrate_refusal.py``
does), for each ``--seeds`` value (another sample of questions and of articles held out). The reader then
reads them, with their context when its weights were trained for it (``--reader FILE`` tries other trained
weights, e.g. a run of ``train_reader.py`` kept in /tmp/reader_trained.npz), and, offline:

1. the choice: the answer is the sentence with the highest ``rank + weight * margin`` among the first ``k``:
   sentence@1 of answerable questions for each (k, weight), every question answered;
2. the confidence head (:func:`rag.answering.answer_confidence`): a logistic model over
   :func:`rag.answering.confidence_features` of the chosen sentence, fitted for "the question is answerable"
   (answerable against unanswerable questions), its threshold refusing ``--min-refused`` of the unanswerable
   ones (0.93 on train: a margin over the 0.90 asked on dev). The seeds' samples overlap (each question is
   kept once); the head is fitted on the questions of half of the articles and scored on the other half's
   (what it does on articles it has not seen), both ways, then fitted on all: the printed constants are the
   product's. Scored as the answerer answers (a question that only names something, named by the best-ranked
   sentence, is answered even when the head refuses). Beside it, the rule it replaced (an evidence threshold,
   and a reader's "rescue" of a weaker sentence), scored the same way.

    .venv/bin/python -m benchmarks.tune_reader_choice --reader-held-out [--sample 3000] [--seeds 0 1] [--top 8]
        [--k 8] [--reader FILE]

The chosen values are product defaults (``READER_CHOICE``, ``READER_WEIGHT``, ``CONFIDENCE_*`` in
``rag/answering.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import answers, squad, train_reader
from rag.answering import (
    CONFIDENCE_FEATURES,
    MARGIN_CLIP,
    READ_SHARE,
    READER_CHOICE,
    ExtractiveAnswerer,
    confidence_features,
)
from rag.evidence import MIN_EVIDENCE
from rag.reader import BACKENDS, WEIGHTS_FILE, SpanReader, load_weights

TOP = READER_CHOICE
"""Sentences recorded per question (``--top``); ``--k`` of them are read for the choice (default: the best)."""
WEIGHTS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5, 1.0)
"""Weights of the margin tried, in units of the ranking head's spread."""
FOLDS = 2
"""Folds by article for scoring the confidence head on articles it was not fitted on."""
HELD_OUT = 16
PER_ARTICLE = 60


def collect(pipeline: Any, questions: list[squad.Question], held_out: bool, top: int = TOP) -> list[dict[str, Any]]:
    """The top sentences of each question as the answerer ranks them (before it reads or refuses)."""
    scorer = pipeline.answerer.scorer
    rows = []
    started = time.perf_counter()
    for n, q in enumerate(questions, start=1):
        vector = pipeline.embedder.encode_query(q.question)
        passages = pipeline.retrieve(q.question, None, vector)
        scored = scorer.score(q.question, q.question, passages, vector)[:top]
        if not scored:
            continue
        rows.append(
            {
                "question": q.question,
                "held_out": held_out,
                "rank": [r for r, _, _ in scored],
                "evidence": [e for _, e, _ in scored],
                "texts": [s.text for _, _, s in scored],
                "contexts": [(s.title, s.previous) for _, _, s in scored],
                "gold": [
                    not held_out
                    and (
                        (s.source == q.source and squad.spans_contain(s.start, s.end, q.spans))
                        or squad.contains_answer(s.text, q.answers)
                    )
                    for _, _, s in scored
                ],
            }
        )
        if n % 500 == 0:
            print(f"  {n}/{len(questions)} questions ({time.perf_counter() - started:.0f} s)", flush=True)
    return rows


def collect_all(args: argparse.Namespace, workdir: Path, seed: int) -> list[dict[str, Any]]:
    tag = f"train-reader-held-out-s{seed}" if args.reader_held_out else f"train-48a-s{seed}"
    cache = workdir / f"tune-reader-choice-{tag}-{args.sample}-top{args.top}.json"
    if cache.is_file():
        return list(json.loads(cache.read_text(encoding="utf-8")))
    train = squad.load_articles("train")
    if args.reader_held_out:
        articles = [train[i] for i in sorted(train_reader.held_out(len(train), 0))]
    else:
        articles = squad.pick_articles(train, 48, seed)
    pipeline, _ = squad.open_pipeline(articles, workdir / f"{tag}-docs", workdir / f"{tag}-index")
    rows = collect(pipeline, squad.sample_questions(articles, args.sample, seed), held_out=False, top=args.top)
    for article in squad.pick_articles(list(articles), HELD_OUT, seed + 5):
        other = answers.held_out_pipeline(pipeline, article, articles, workdir / "tune-reader")
        rows += collect(other, squad.sample_questions([article], PER_ARTICLE, 0), held_out=True, top=args.top)
        shutil.rmtree(workdir / "tune-reader", ignore_errors=True)
    cache.write_text(json.dumps(rows), encoding="utf-8")
    return rows


def read(rows: list[dict[str, Any]], reader: SpanReader, cache: Path, top: int = TOP) -> None:
    """Each row's reader margins (kept in ``cache``, a file per reader and question set)."""
    if cache.is_file():
        with np.load(cache) as data:
            for r, margin in zip(rows, data["margins"], strict=True):
                r["margin"] = margin[: len(r["texts"])]
            return
    started = time.perf_counter()
    for n, r in enumerate(rows, start=1):
        readings = reader.read(r["question"], r["texts"], [tuple(c) for c in r["contexts"]])
        r["margin"] = np.asarray([x.margin if x else -2 * MARGIN_CLIP for x in readings])
        if n % 1000 == 0:
            print(f"  read {n}/{len(rows)} ({time.perf_counter() - started:.0f} s)", flush=True)
    padded = [np.pad(r["margin"], (0, top - len(r["margin"])), constant_values=-np.inf) for r in rows]
    np.savez(cache, margins=np.asarray(padded))


@dataclasses.dataclass(frozen=True)
class _Text:
    """A recorded sentence, as :meth:`rag.answering.ExtractiveAnswerer.names_what_is_asked` reads it."""

    text: str


def choice(r: dict[str, Any], k: int, weight: float) -> int:
    """The sentence :func:`rag.answering.decide` chooses among the first ``k`` read."""
    return int(np.argmax(np.asarray(r["rank"][:k]) + weight * np.clip(r["margin"][:k], -MARGIN_CLIP, MARGIN_CLIP)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method on standardised inputs; weights and bias for the
    raw inputs."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[(x - mean) / scale, np.ones(len(x))]
    w = np.zeros(z.shape[1])
    penalty = l2 * np.r_[np.ones(z.shape[1] - 1), 0.0]
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        w -= np.linalg.solve(hessian, z.T @ (p - y) + penalty * w)
    weights = w[:-1] / scale
    return weights, float(w[-1] - weights @ mean)


def old_rule(r: dict[str, Any], k: int, weight: float, min_evidence: float) -> int | None:
    """The rule the confidence head replaced: a sentence qualifies with evidence over ``min_evidence``, or over
    half of it with a margin of at least 1; the answer is the best qualifying choice."""
    evidence, margins = np.asarray(r["evidence"][:k]), np.clip(r["margin"][:k], -MARGIN_CLIP, MARGIN_CLIP)
    qualifies = (evidence >= min_evidence) | ((evidence >= 0.5 * min_evidence) & (margins >= 1.0))
    if not qualifies.any():
        return None
    return int(np.argmax(np.where(qualifies, np.asarray(r["rank"][:k]) + weight * margins, -np.inf)))


def rates(rows: list[dict[str, Any]], picks: list[int | None]) -> tuple[float, float, float]:
    """Answerable questions answered with a gold sentence and wrongly refused; unanswerable ones refused."""
    asked = [(r, p) for r, p in zip(rows, picks, strict=True) if not r["held_out"]]
    held = [p for r, p in zip(rows, picks, strict=True) if r["held_out"]]
    right = float(np.mean([p is not None and r["gold"][p] for r, p in asked]))
    return right, float(np.mean([p is None for _, p in asked])), float(np.mean([p is None for p in held]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=3000, help="answerable questions per seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="question samples (two or more)")
    parser.add_argument("--reader", type=Path, help="trained reader weights (default: the shipped ones)")
    parser.add_argument(
        "--reader-held-out", action="store_true", help="the 40 articles train_reader.py holds out (not 48 of seed)"
    )
    parser.add_argument("--reader-backend", default="auto", choices=BACKENDS, help="how the reader runs")
    parser.add_argument("--top", type=int, default=TOP, help="sentences recorded and read per question")
    parser.add_argument("--k", type=int, help="sentences the answerer reads (default: the sweep's best)")
    parser.add_argument("--min-refused", type=float, default=0.93, help="unanswerable questions refused, at least")
    parser.add_argument("--workdir", default=str(squad.DEFAULT_WORKDIR))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    weights = args.reader or WEIGHTS_FILE
    reader = SpanReader(weights=load_weights(weights), backend=args.reader_backend)
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        part = collect_all(args, Path(args.workdir), seed)
        digest = hashlib.sha256(weights.read_bytes() + reader.engine.encode()).hexdigest()[:12]
        tag = f"reader-held-out-s{seed}" if args.reader_held_out else f"s{seed}"
        name = f"tune-reader-choice-{tag}-{args.sample}-top{args.top}-{digest}.npz"
        read(part, reader, Path(args.workdir) / name, args.top)
        rows += [{**r, "seed": seed} for r in part]
    # Seeds draw overlapping samples (with --reader-held-out, from the same 40 articles): each question once,
    # and the article it is about, so that the head is scored on articles it was not fitted on.
    article = {q.question: a.title for a in squad.load_articles("train") for q in a.questions}
    unique = {(r["question"], r["held_out"]): r for r in rows}
    rows = [{**r, "article": article.get(r["question"], r["question"])} for r in unique.values()]
    asked = [r for r in rows if not r["held_out"]]
    spread = float(np.std(np.concatenate([r["rank"] for r in asked])))

    table = []
    right: dict[tuple[int, float], float] = {}
    for k in range(1, args.top + 1):
        for w in WEIGHTS:
            rate = float(np.mean([r["gold"][choice(r, k, w * spread)] for r in asked]))
            table.append([k, w, f"{w * spread:.4f}", f"{rate:.4f}"])
            right[k, w * spread] = rate
    squad.print_table(["k", "weight / rank spread", "weight", "answered with a gold sentence"], table)
    best_rate, (k, weight) = max((rate, key) for key, rate in right.items() if args.k in (None, key[0]))
    oracle = float(np.mean([any(r["gold"]) for r in asked]))
    print(f"best choice: k={k} weight={weight:.4f} ({best_rate:.4f}; top-{args.top} oracle {oracle:.4f})")

    def features(r: dict[str, Any]) -> np.ndarray:
        return confidence_features(np.asarray(r["evidence"][:k]), r["margin"][:k], choice(r, k, weight))

    def fitted(train: list[dict[str, Any]]) -> tuple[np.ndarray, float, float]:
        x = np.stack([features(r) for r in train])
        y = np.asarray([0.0 if r["held_out"] else 1.0 for r in train])
        w, b = fit_logistic(x, y)
        held = x[y == 0] @ w + b
        return w, b, float(np.quantile(held, args.min_refused))

    def head_picks(test: list[dict[str, Any]], head: tuple[np.ndarray, float, float]) -> list[int | None]:
        """What the answerer does: the head's choice when it is confident enough (and the reader read), else
        the best-ranked sentence when the question only names something that sentence names, else refuse."""
        w, b, threshold = head
        floor = np.log(READ_SHARE * MIN_EVIDENCE / (1 - READ_SHARE * MIN_EVIDENCE))
        picks: list[int | None] = []
        for r in test:
            f = features(r)
            if f @ w + b >= threshold and f[0] >= floor:
                picks.append(choice(r, k, weight))
            else:
                named = ExtractiveAnswerer.names_what_is_asked([(0.0, _Text(r["texts"][0]))], r["question"])
                picks.append(0 if named else None)
        return picks

    def row(rule: str, seed: object, picks: list[int | None], test: list[dict[str, Any]]) -> list[object]:
        return [rule, seed, *(f"{v:.4f}" for v in rates(test, picks))]

    titles = sorted({r["article"] for r in rows})
    fold_of = {t: int(hashlib.sha256(t.encode()).hexdigest(), 16) % FOLDS for t in titles}
    report = []
    for fold in range(FOLDS):
        test = [r for r in rows if fold_of[r["article"]] == fold]
        head = fitted([r for r in rows if fold_of[r["article"]] != fold])
        report.append(row("head fitted on the other articles", fold, head_picks(test, head), test))
        old = [old_rule(r, k, weight, MIN_EVIDENCE) for r in test]
        report.append(row("evidence threshold + rescue", fold, old, test))
        # Thresholds move with the articles held out (a few per fold): compare the two rules at equal refusal.
        refused = rates(test, old)[2]
        x = np.stack([features(r) for r in test if r["held_out"]]) @ head[0] + head[1]
        level = (head[0], head[1], float(np.quantile(x, refused)))
        report.append(row("head, refusing as many as that rule", fold, head_picks(test, level), test))
    final = fitted(rows)
    report.append(row("head fitted on all", "all", head_picks(rows, final), rows))
    columns = ["rule", "fold", "answered with a gold sentence", "wrongly refused", "refused (held out)"]
    squad.print_table(columns, report)
    w, b, threshold = final
    print(f"CONFIDENCE_WEIGHTS = np.asarray([{', '.join(f'{v:.4f}' for v in w)}])")
    print(f"CONFIDENCE_BIAS = {b:.4f}\nCONFIDENCE_THRESHOLD = {threshold:.4f}")
    squad.write_json(
        "tune_reader_choice.json",
        {"benchmark": "tune_reader_choice", "split": "SQuAD v1.1 train", "reader_held_out": args.reader_held_out,
         "seeds": args.seeds, "questions": len(asked), "unanswerable": len(rows) - len(asked),
         "reader": str(args.reader or "shipped"), "rank_spread": spread, "oracle": oracle,
         "choice": {"k": k, "weight": weight, "sentence@1": best_rate},
         "sweep": [{"k": k_, "weight": w_, "sentence@1": r} for (k_, w_), r in right.items()],
         "min_refused": args.min_refused,
         "confidence_head": {"features": list(CONFIDENCE_FEATURES), "weights": w.tolist(), "bias": b,
                             "threshold": threshold},
         "rules": [dict(zip(["rule", "seed", "right", "wrongly refused", "refused"], r, strict=True)) for r in report]},
    )  # fmt: skip


if __name__ == "__main__":
    main()
