"""Fit the key-phrase weights (rag/phrase_weights.json) on SQuAD v1.1 *train*, and report F1 on held-out train.

For each question, the sentence holding the first gold answer is taken from its article; every candidate span
of that sentence (rag.phrases.candidates) gets the SQuAD F1 of its text against the gold answers as a soft
target, and a softmax over the question's candidates is fitted to it (listwise logistic regression, numpy,
full-batch Adam). Deterministic: fixed sample seed, fixed initialisation.

    .venv/bin/python -m benchmarks.train_phrases [--questions 20000] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np

from benchmarks.squad import best_over_golds, exact_match, f1_score, load_articles
from rag import phrases
from rag.chunking import sentence_spans


def build(questions: int, seed: int) -> list[tuple[np.ndarray, np.ndarray, list[str], list[str]]]:
    articles = load_articles("train")
    pool = [(a, q) for a in articles for q in a.questions]
    random.Random(seed).shuffle(pool)
    groups = []
    for article, question in pool:
        if len(groups) >= questions:
            break
        start, end = question.spans[0]
        sentence = next(((s, e) for s, e in sentence_spans(article.text) if s <= start and end <= e), None)
        if sentence is None:
            continue
        text = article.text[sentence[0] : sentence[1]]
        spans, features = phrases.candidates(text, question.question)
        if not spans:
            continue
        texts = [text[a:b] for a, b in spans]
        target = np.asarray([best_over_golds(f1_score, t, question.answers) for t in texts], dtype=np.float32)
        groups.append((features, target, texts, list(question.answers)))
    return groups


def fit(groups: list[tuple[np.ndarray, np.ndarray, list[str], list[str]]], steps: int = 400) -> np.ndarray:
    features = np.concatenate([g[0] for g in groups])
    owner = np.concatenate([np.full(len(g[0]), i) for i, g in enumerate(groups)])
    target = np.concatenate([(g[1] ** 2) / max(float((g[1] ** 2).sum()), 1e-6) for g in groups])
    useful = np.asarray([g[1].max() > 0 for g in groups])[owner]
    w = np.zeros(features.shape[1], dtype=np.float64)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for step in range(1, steps + 1):
        logits = features @ w
        maxes = np.full(len(groups), -np.inf)
        np.maximum.at(maxes, owner, logits)
        exp = np.exp(logits - maxes[owner])
        p = exp / np.bincount(owner, weights=exp)[owner]
        grad = features.T @ ((p - target) * useful) / len(groups) + 1e-3 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= 0.05 * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w


def evaluate(groups: list[tuple[np.ndarray, np.ndarray, list[str], list[str]]], w: np.ndarray) -> dict[str, float]:
    f1s, ems = [], []
    for features, _, texts, golds in groups:
        pick = texts[int(np.argmax(features @ w))]
        f1s.append(best_over_golds(f1_score, pick, golds))
        ems.append(best_over_golds(exact_match, pick, golds))
    return {"f1": float(np.mean(f1s)), "em": float(np.mean(ems)), "questions": len(groups)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write rag/phrase_weights.json")
    args = parser.parse_args()
    started = time.perf_counter()
    groups = build(args.questions, args.seed)
    cut = int(len(groups) * 0.8)
    w = fit(groups[:cut])
    held_out = evaluate(groups[cut:], w)
    ceiling = float(np.mean([g[1].max() for g in groups[cut:]]))
    print("| split | questions | key-phrase EM | key-phrase F1 | candidate ceiling F1 |")
    print("|---|---|---|---|---|")
    print(
        f"| held-out train (gold sentence) | {held_out['questions']} | {held_out['em']:.3f} | "
        f"{held_out['f1']:.3f} | {ceiling:.3f} |"
    )
    print(f"fitted on {cut} train questions in {time.perf_counter() - started:.0f} s")
    if args.write:
        data = {
            "trained_on": f"SQuAD v1.1 train, {cut} questions (seed {args.seed}); held-out train F1 "
            f"{held_out['f1']:.3f} given the gold sentence",
            "weights": {name: round(float(x), 5) for name, x in zip(phrases.FEATURES, w, strict=True)},
        }
        Path(phrases.WEIGHTS_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {phrases.WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
