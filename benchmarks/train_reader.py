"""Train the span reader (rag/reader_weights.npz) and its key-phrase weights on SQuAD v1.1 *train*.

Examples are (question, the sentence of its article that holds the first gold answer). Articles are split
once (seeded): 40 articles are held out for the report, the rest give the examples, in three disjoint parts:

1. ``--head`` examples train the span head (rag/reader.py) on the frozen token states of the embedding model
   reading the pair: cross-entropy of the gold answer's first and last token, AdamW, fixed seed;
2. the next ``--phrase`` examples fit the key-phrase weights with the reader's three features
   (``weights_reader`` in rag/phrase_weights.json; listwise logistic as benchmarks/train_phrases.py), on
   reader scores the head did not train on;
3. the held-out articles' examples report key-phrase EM/F1 given the gold sentence: hand-made features only
   (what ships without the reader), the reader alone, and both.

    .venv/bin/python -m benchmarks.train_reader [--head 70000] [--phrase 8000] [--write]

Needs torch (training only; answering runs the head in numpy). About 15 minutes on two cores, mostly
reading the pairs with the model. Deterministic: a rerun writes the same weights. Token states are kept as
float16 while training (81,000 pairs fit in ~4 GB); answering reads them in float32.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.squad import best_over_golds, exact_match, f1_score, load_articles, print_table, write_json
from benchmarks.train_phrases import fit
from rag import phrases, reader
from rag.chunking import sentence_spans
from rag.embedding import Embedder, PairStates
from rag.settings import Settings

HELD_OUT_ARTICLES = 40
CHANNELS = 64
WIDTH = 3
SHARPNESS = 10.0

Example = tuple[str, str, tuple[int, int] | None, list[str]]
"""question, sentence, the first gold answer's offsets in the sentence, the gold answers."""


def examples(seed: int) -> tuple[list[Example], list[Example]]:
    """(training examples, held-out examples), each shuffled with ``seed``."""
    articles = load_articles("train")
    rng = random.Random(seed)
    order = list(range(len(articles)))
    rng.shuffle(order)
    held = set(order[:HELD_OUT_ARTICLES])
    train: list[Example] = []
    test: list[Example] = []
    for n, article in enumerate(articles):
        spans = sentence_spans(article.text)
        for q in article.questions:
            a, b = q.spans[0]
            sentence = next(((s, e) for s, e in spans if s <= a and b <= e), None)
            if sentence is None:
                continue
            row = (q.question, article.text[sentence[0] : sentence[1]], (a - sentence[0], b - sentence[0]))
            (test if n in held else train).append((*row, list(q.answers)))
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def read(embedder: Embedder, rows: list[Example]) -> list[PairStates]:
    started = time.perf_counter()
    out: list[PairStates] = []
    for i in range(0, len(rows), 512):
        states = embedder.encode_pairs([(q, s) for q, s, _, _ in rows[i : i + 512]])
        out.extend((h.astype(np.float16), seg, off) for h, seg, off in states)
        print(f"\r  read {len(out)}/{len(rows)} pairs ({time.perf_counter() - started:.0f} s)", end="", flush=True)
    print()
    return out


def gold_tokens(states: PairStates, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """Indices of the first and last sentence tokens of the gold span."""
    if span is None:
        return None
    _, segment, offsets = states
    tokens = [j for j in range(len(segment)) if segment[j] == 1]
    first = [j for j in tokens if offsets[j][1] > span[0]]
    last = [j for j in tokens if offsets[j][0] < span[1]]
    if not first or not last or first[0] > last[-1]:
        return None
    return first[0], last[-1]


def batch_inputs(states: list[PairStates]) -> tuple[Any, Any, Any]:
    """Token states padded to one length, and the question and sentence token masks (torch tensors)."""
    import torch

    length = max(len(seg) for _, seg, _ in states)
    hidden = torch.zeros(len(states), length, states[0][0].shape[1])
    question = torch.zeros(len(states), length, dtype=torch.bool)
    sentence = torch.zeros(len(states), length, dtype=torch.bool)
    for r, (h, seg, _) in enumerate(states):
        hidden[r, : len(h)] = torch.from_numpy(h.astype(np.float32))
        question[r, : len(h)] = torch.from_numpy(seg == 0)
        sentence[r, : len(h)] = torch.from_numpy(seg == 1)
    return hidden, question, sentence


def forward(conv: Any, out: Any, hidden: Any, question: Any, sentence: Any) -> Any:
    """Start and end logits (batch x tokens x 2; -1e4 off the sentence): what ``rag.reader.SpanHead.run`` does
    in numpy for one pair."""
    import torch

    unit = torch.nn.functional.normalize(hidden, dim=-1)
    sim = (unit @ unit.transpose(1, 2)).masked_fill(~question[:, None, :], -1e4)
    aligned = torch.softmax(sim * SHARPNESS, dim=-1) @ hidden
    best = sim.max(-1).values.clamp(min=-1)[..., None]
    x = torch.cat([hidden, hidden * aligned, best], -1)
    y = torch.nn.functional.gelu(conv(x.transpose(1, 2)).transpose(1, 2), approximate="tanh")
    return out(y).masked_fill(~sentence[..., None], -1e4)


def layers(dim: int) -> tuple[Any, Any]:
    import torch

    return torch.nn.Conv1d(2 * dim + 1, CHANNELS, WIDTH, padding=WIDTH // 2), torch.nn.Linear(CHANNELS, 2)


def train_head(states: list[PairStates], rows: list[Example], epochs: int, seed: int) -> dict[str, np.ndarray]:
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    conv, out = layers(states[0][0].shape[1])
    params = [*conv.parameters(), *out.parameters()]
    optimizer = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    usable = [(i, g) for i, (s, r) in enumerate(zip(states, rows, strict=True)) if (g := gold_tokens(s, r[2]))]
    rng = random.Random(seed)
    for epoch in range(epochs):
        started = time.perf_counter()
        rng.shuffle(usable)
        total = 0.0
        for b in range(0, len(usable), 64):
            batch = usable[b : b + 64]
            logits = forward(conv, out, *batch_inputs([states[i] for i, _ in batch]))
            loss = torch.nn.functional.cross_entropy(logits[..., 0], torch.tensor([g[0] for _, g in batch]))
            loss = loss + torch.nn.functional.cross_entropy(logits[..., 1], torch.tensor([g[1] for _, g in batch]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        batches = (len(usable) + 63) // 64
        print(f"  epoch {epoch + 1}: loss {total / batches:.3f} ({time.perf_counter() - started:.0f} s)", flush=True)
    return {
        "conv_weight": conv.weight.detach().numpy().astype(np.float16),
        "conv_bias": conv.bias.detach().numpy().astype(np.float16),  # type: ignore[union-attr]
        "out_weight": out.weight.detach().numpy().astype(np.float16),
        "out_bias": out.bias.detach().numpy().astype(np.float16),
        "sharpness": np.asarray(SHARPNESS, dtype=np.float32),
    }


Group = tuple[np.ndarray, np.ndarray, list[str], list[str], list[tuple[int, int]], str, str, str]


def groups(head: reader.SpanHead | None, states: list[PairStates], rows: list[Example]) -> list[Group]:
    """Per example: candidate features (with the reader's when ``head``), soft targets, texts, golds, spans,
    question type, sentence, question."""
    out: list[Group] = []
    for (question, sentence, _, golds), pair in zip(rows, states, strict=True):
        scores = reader.scores_from_states(head, pair) if head is not None else None
        qtype = phrases.question_type(question)
        spans, features = phrases.candidates(sentence, question, qtype, scores)
        if not spans:
            continue
        texts = [sentence[a:b] for a, b in spans]
        target = np.asarray([best_over_golds(f1_score, t, golds) for t in texts], dtype=np.float32)
        out.append((features, target, texts, golds, spans, qtype, sentence, question))
    return out


def report(rows: list[Group], weights: np.ndarray) -> dict[str, float]:
    f1s, ems = [], []
    for features, _, _, golds, spans, qtype, sentence, question in rows:
        pick = phrases.choose(sentence, question, spans, features, weights, qtype)
        text = sentence[pick[0] : pick[1]] if pick else ""
        f1s.append(best_over_golds(f1_score, text, golds))
        ems.append(best_over_golds(exact_match, text, golds))
    return {"em": float(np.mean(ems)), "f1": float(np.mean(f1s)), "questions": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--head", type=int, default=70000, help="examples that train the span head")
    parser.add_argument("--phrase", type=int, default=8000, help="examples that fit the key-phrase weights")
    parser.add_argument("--test", type=int, default=3000, help="held-out examples reported")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write rag/reader_weights.npz and weights_reader")
    args = parser.parse_args()
    started = time.perf_counter()
    train, test = examples(args.seed)
    head_rows = train[: args.head]
    phrase_rows = train[args.head : args.head + args.phrase]
    test_rows = test[: args.test]
    settings = Settings()
    embedder = Embedder(settings.embedding_model, backend="onnx")
    print(f"reading {len(head_rows) + len(phrase_rows) + len(test_rows)} (question, sentence) pairs")
    head_states = read(embedder, head_rows)
    phrase_states = read(embedder, phrase_rows)
    test_states = read(embedder, test_rows)
    print("training the span head")
    arrays = train_head(head_states, head_rows, args.epochs, args.seed)
    arrays["model"] = np.asarray(settings.embedding_model)
    arrays["probe"] = reader.probe_states(embedder).astype(np.float16)
    head = reader.SpanHead(arrays)
    print("fitting the key-phrase weights with the reader's features")
    fit_groups = groups(head, phrase_states, phrase_rows)
    with_reader = fit([g[:4] for g in fit_groups])
    test_groups = groups(head, test_states, test_rows)
    only = np.zeros(len(phrases.FEATURES))
    only[phrases.FEATURES.index("reader_span")] = 1.0
    results = {
        "hand-made features (no reader)": report(test_groups, phrases.load_weights(False) * _hand_mask()),
        "span reader alone": report(test_groups, only),
        "hand-made features + span reader": report(test_groups, with_reader),
    }
    print_table(
        ["key phrase, held-out train (gold sentence)", "questions", "EM", "F1"],
        [[name, r["questions"], f"{r['em']:.3f}", f"{r['f1']:.3f}"] for name, r in results.items()],
    )
    seconds = time.perf_counter() - started
    print(f"{seconds:.0f} s")
    write_json(
        "train_reader.json",
        {"benchmark": "train_reader", "split": "SQuAD v1.1 train", "seed": args.seed, "head_examples": len(head_rows),
         "phrase_examples": len(phrase_rows), "held_out_articles": HELD_OUT_ARTICLES, "results": results,
         "seconds": round(seconds, 1)},
    )  # fmt: skip
    if args.write:
        np.savez_compressed(reader.WEIGHTS_FILE, **arrays)
        data = json.loads(Path(phrases.WEIGHTS_FILE).read_text(encoding="utf-8"))
        data["weights_reader"] = {n: round(float(x), 5) for n, x in zip(phrases.FEATURES, with_reader, strict=True)}
        data["trained_reader_on"] = (
            f"SQuAD v1.1 train: span head on {len(head_rows)} questions, these weights on {len(phrase_rows)} "
            f"others (seed {args.seed}); held-out train F1 {results['hand-made features + span reader']['f1']:.3f} "
            "given the gold sentence"
        )
        Path(phrases.WEIGHTS_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {reader.WEIGHTS_FILE} and weights_reader in {phrases.WEIGHTS_FILE}")


def _hand_mask() -> np.ndarray:
    return np.asarray([name not in phrases.READER_FEATURES for name in phrases.FEATURES], dtype=np.float32)


if __name__ == "__main__":
    main()
