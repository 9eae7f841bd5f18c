"""Fit the evidence weights (rag.answering.EVIDENCE_WEIGHTS) on SQuAD v1.1 *train*: which retrieved sentence
holds the answer?

For each train question the product retrieves its passages; every candidate sentence gets its feature row
(ExtractiveAnswerer.features) and the label "holds a gold answer span". A softmax over each question's
candidates is fitted (listwise logistic regression, numpy), the weights are rescaled so the positive ones sum
to 1 (scores stay in 0..1; refusal is recalibrated after), and sentence@1 is reported on held-out train.

    .venv/bin/python -m benchmarks.train_evidence [--questions 3000]
"""

from __future__ import annotations

import argparse
import logging

import numpy as np

from benchmarks import squad
from benchmarks.train_phrases import fit
from rag.answering import EVIDENCE_FEATURES, EVIDENCE_WEIGHTS, ExtractiveAnswerer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    articles = squad.pick_articles(squad.load_articles("train"), 48, args.seed)
    tag = f"train-{len(articles)}a-s{args.seed}"
    work = squad.DEFAULT_WORKDIR
    pipeline, _ = squad.open_pipeline(articles, work / f"{tag}-docs", work / f"{tag}-index", min_evidence=0.0)
    answerer = pipeline.answerer
    assert isinstance(answerer, ExtractiveAnswerer)
    groups = []
    for question in squad.sample_questions(articles, args.questions, args.seed + 7):
        vector = pipeline.embedder.encode_query(question.question)
        passages = pipeline.retriever.run(question.question, pipeline.settings.top_k, vector)
        candidates = answerer._sentences(passages)
        if not candidates:
            continue
        features = answerer.features(question.question, question.question, candidates, vector)
        label = np.asarray(
            [c.source == question.source and any(c.start <= s and e <= c.end for s, e in question.spans)
             for c in candidates], dtype=np.float32)  # fmt: skip
        groups.append((features, label, [], []))
    cut = int(len(groups) * 0.8)
    trainable = [g for g in groups[:cut] if g[1].any()]
    w = fit(trainable, steps=600)
    positive = float(np.clip(w, 0, None).sum())
    w = w / positive if positive > 0 else w

    def at1(weights: np.ndarray) -> float:
        return float(np.mean([g[1][int(np.argmax(g[0] @ weights))] for g in groups[cut:]]))

    ceiling = float(np.mean([g[1].max() for g in groups[cut:]]))
    print(f"{len(groups)} train questions ({cut} to fit); held-out sentence ceiling {ceiling:.3f}")
    print("| weights | " + " | ".join(EVIDENCE_FEATURES) + " | held-out sentence@1 |")
    print("|---|" + "---|" * (len(EVIDENCE_FEATURES) + 1))
    for name, weights in (("current", EVIDENCE_WEIGHTS), ("fitted", w)):
        print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in weights) + f" | {at1(np.asarray(weights)):.3f} |")


if __name__ == "__main__":
    main()
