"""Fit the ranking head of the sentence evidence (``rag/evidence_weights.json``) on SQuAD v1.1 *train*:
which retrieved sentence holds the answer?

For each train question the product's fused retriever returns its ``--depth`` best passages (the reranker's
input); every candidate sentence gets its feature row (``rag.evidence.FEATURES``, with the sentence vectors
stored at index time) and the label "holds a gold answer span". A softmax over each question's candidates
is fitted (listwise logistic regression, numpy, fixed seed and steps: the same data gives the same weights).
Reported on held-out train questions: sentence@1 (the best-ranked sentence holds the answer) and chunk@1
(the passage of that sentence overlaps the answer: what the sentence reranker puts first).

    .venv/bin/python -m benchmarks.train_evidence [--questions 3000] [--write]

``--write`` saves the fitted weights as the ranking head in ``rag/evidence_weights.json`` (then rerun
``benchmarks.calibrate_refusal``, which fits the evidence head on the new ranking).
"""

from __future__ import annotations

import argparse
import json
import logging

import numpy as np

from benchmarks import squad
from benchmarks.train_phrases import fit
from rag.evidence import FEATURES, RANK_WEIGHTS, WEIGHTS_FILE, EvidenceScorer

Group = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""One question: features (sentences x FEATURES), sentence labels, passage of each sentence, passage labels."""


def collect(questions: int, depth: int, seed: int) -> list[Group]:
    articles = squad.pick_articles(squad.load_articles("train"), 48, seed)
    tag = f"train-{len(articles)}a-s{seed}"
    work = squad.DEFAULT_WORKDIR
    pipeline, _ = squad.open_pipeline(articles, work / f"{tag}-docs", work / f"{tag}-index")
    scorer = EvidenceScorer(pipeline.embedder, pipeline.store.keyword.idf)
    asked = squad.sample_questions(articles, questions, seed + 7)
    vectors = pipeline.embedder.encode([q.question for q in asked])
    groups = []
    for question, vector in zip(asked, vectors, strict=True):
        passages = pipeline.retriever.run(question.question, depth, vector)
        sentences, sentence_vectors, windows = scorer.sentences(passages)
        if not sentences:
            continue
        features = scorer.features(question.question, question.question, sentences, sentence_vectors, windows, vector)
        label = np.asarray(
            [s.source == question.source and any(s.start <= a and b <= s.end for a, b in question.spans)
             for s in sentences], dtype=np.float32)  # fmt: skip
        passage_hit = np.asarray(
            [p.chunk.source == question.source and squad.spans_overlap(p.chunk.start, p.chunk.end, question.spans)
             for p in passages], dtype=np.float32)  # fmt: skip
        groups.append((features, label, np.asarray([s.rank for s in sentences]), passage_hit))
    return groups


def at1(groups: list[Group], weights: np.ndarray) -> tuple[float, float]:
    """(sentence@1, chunk@1) when sentences are ranked by ``features @ weights``."""
    sentence, chunk = [], []
    for features, label, passage, passage_hit in groups:
        best = int(np.argmax(features @ weights))
        sentence.append(label[best])
        chunk.append(passage_hit[passage[best]])
    return float(np.mean(sentence)), float(np.mean(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--depth", type=int, default=20, help="passages per question (the reranker's candidates)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help=f"save the fitted weights to {WEIGHTS_FILE.name}")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    groups = collect(args.questions, args.depth, args.seed)
    cut = int(len(groups) * 0.8)
    fitted = fit([(f, y, [], []) for f, y, _, _ in groups[:cut] if y.any()], steps=800).astype(np.float32)
    held_out = groups[cut:]
    fused = float(np.mean([g[3][0] for g in held_out]))
    ceiling = float(np.mean([g[1].max() for g in held_out]))
    print(f"{len(groups)} train questions ({cut} to fit); held out: sentence ceiling {ceiling:.3f}, "
          f"chunk@1 of the fused order {fused:.3f}")  # fmt: skip
    print("| weights | " + " | ".join(FEATURES) + " | sentence@1 | chunk@1 |")
    print("|---|" + "---|" * (len(FEATURES) + 2))
    for name, weights in (("current", RANK_WEIGHTS), ("fitted", fitted)):
        sentence, chunk = at1(held_out, weights)
        print(f"| {name} | " + " | ".join(f"{x:.2f}" for x in weights) + f" | {sentence:.3f} | {chunk:.3f} |")
    if args.write:
        payload = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))
        fitted_on = f"SQuAD v1.1 train, {cut} questions, depth {args.depth}, seed {args.seed}"
        payload["rank"] = {"weights": [round(float(x), 3) for x in fitted], "fitted_on": fitted_on}
        WEIGHTS_FILE.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS_FILE} (rank head)")


if __name__ == "__main__":
    main()
