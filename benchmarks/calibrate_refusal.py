"""Fit the evidence head (``rag/evidence_weights.json``) and choose ``min_evidence`` on SQuAD *train*, never dev.

Answerable questions are asked of an index of 48 train articles; unanswerable ones are questions of held-out
articles asked of a copy of that index without their article (the product's incremental indexing drops it,
nothing is re-embedded). Each question contributes the feature row (``rag.evidence.FEATURES``) of the
sentence the ranking head puts first among its retrieved passages, labelled answerable or not. A logistic
regression (numpy, Newton steps, small L2) is fitted on half of the held-out articles and half of the
answerable questions and evaluated on the other halves, then refitted on all of them for shipping. The
recommended threshold is the highest one that wrongly refuses at most 8% of answerable train questions
(a margin under the 10% allowed on dev).

    .venv/bin/python -m benchmarks.calibrate_refusal [--answerable 1500] [--held-out 16] [--write]

``--write`` saves the head to ``rag/evidence_weights.json``; set ``Settings.min_evidence`` to the printed
threshold.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil

import numpy as np

from benchmarks import answers, squad
from rag.evidence import FEATURES, RANK_WEIGHTS, WEIGHTS_FILE, EvidenceScorer


def top_sentence_features(pipeline: object, questions: list[squad.Question]) -> np.ndarray:
    """Features of the best-ranked sentence of each question's passages (zeros when there is none)."""
    scorer = EvidenceScorer(pipeline.embedder, pipeline.store.keyword.idf)  # type: ignore[attr-defined]
    rows = []
    for question in questions:
        vector = pipeline.embedder.encode_query(question.question)  # type: ignore[attr-defined]
        passages = pipeline.retrieve(question.question, None, vector)  # type: ignore[attr-defined]
        sentences, vectors, windows = scorer.sentences(passages)
        features = scorer.features(question.question, question.question, sentences, vectors, windows, vector)
        rows.append(features[int(np.argmax(features @ RANK_WEIGHTS))] if len(features) else np.zeros(len(FEATURES)))
    return np.asarray(rows, dtype=np.float64)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 30) -> tuple[np.ndarray, float]:
    """Logistic regression by Newton's method: weights and bias."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    penalty = l2 * np.eye(len(w))
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(design @ w)))
        gradient = design.T @ (p - y) + penalty @ w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hessian, gradient)
    return w[:-1], float(w[-1])


def scores(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(x @ weights + bias)))


def threshold(answerable: np.ndarray, max_wrong: float) -> float:
    """The highest threshold (step 0.01) that refuses at most ``max_wrong`` of the answerable scores."""
    best = 0.0
    for step in range(1, 100):
        if np.mean(answerable < step / 100) <= max_wrong:
            best = step / 100
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answerable", type=int, default=1500, help="answerable train questions")
    parser.add_argument("--held-out", type=int, default=16, help="train articles held out (unanswerable)")
    parser.add_argument("--per-article", type=int, default=60, help="questions asked per held-out article")
    parser.add_argument("--max-wrongly-refused", type=float, default=0.08, help="on train; dev gets a margin to 0.10")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help=f"save the head to {WEIGHTS_FILE.name}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    articles = squad.pick_articles(squad.load_articles("train"), 48, args.seed)
    tag = f"train-{len(articles)}a-s{args.seed}"
    work = squad.DEFAULT_WORKDIR
    pipeline, _ = squad.open_pipeline(articles, work / f"{tag}-docs", work / f"{tag}-index")
    positive = top_sentence_features(pipeline, squad.sample_questions(articles, args.answerable, args.seed + 3))
    negative_parts = []
    for held_out in squad.pick_articles(list(articles), args.held_out, args.seed + 5):
        other = answers.held_out_pipeline(pipeline, held_out, articles, work / "calibrate")
        negative_parts.append(top_sentence_features(other, squad.sample_questions([held_out], args.per_article, 0)))
        shutil.rmtree(work / "calibrate", ignore_errors=True)
    half_p, half_n = len(positive) // 2, len(negative_parts) // 2
    fit_x = np.vstack([positive[:half_p], *negative_parts[:half_n]])
    fit_y = np.r_[np.ones(half_p), np.zeros(len(fit_x) - half_p)]
    weights, bias = fit_logistic(fit_x, fit_y)
    test_p, test_n = positive[half_p:], np.vstack(negative_parts[half_n:])
    t = threshold(scores(test_p, weights, bias), args.max_wrongly_refused)
    print(f"{len(positive)} answerable and {sum(len(n) for n in negative_parts)} held-out-article train questions")
    print("fitted on half (by article for the held-out ones), evaluated on the other half:")
    print("| threshold | wrongly refused (answerable) | refused (held out) |\n|---|---|---|")
    for step in range(20, 81, 5):
        wrong = np.mean(scores(test_p, weights, bias) < step / 100)
        refused = np.mean(scores(test_n, weights, bias) < step / 100)
        print(f"| {step / 100:.2f} | {wrong:.3f} | {refused:.3f} |")
    weights, bias = fit_logistic(np.vstack([positive, *negative_parts]), np.r_[np.ones(len(positive)),
                                 np.zeros(sum(len(n) for n in negative_parts))])  # fmt: skip
    all_p, all_n = scores(positive, weights, bias), scores(np.vstack(negative_parts), weights, bias)
    t = threshold(all_p, args.max_wrongly_refused)
    print(f"refit on all: at {t:.2f}, {np.mean(all_p < t):.3f} answerable refused, {np.mean(all_n < t):.3f} held out")
    print(f"recommended min_evidence: {t:.2f}")
    if args.write:
        payload = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
        payload["evidence"] = {
            "weights": [round(float(x), 3) for x in weights],
            "bias": round(bias, 3),
            "min_evidence": t,
            "fitted_on": f"SQuAD v1.1 train: {len(positive)} answerable questions, {args.held_out} held-out articles",
        }
        WEIGHTS_FILE.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE} (evidence head)")


if __name__ == "__main__":
    main()
