"""Does fine-tuning the embedding model on SQuAD v1.1 *train* lift dense retrieval? A measurement, not shipped.

The default embedder (all-MiniLM-L6-v2 from its PyPI package) gets low-rank adapters (LoRA, as the span reader:
``benchmarks.train_reader.build``) on every linear layer, trained with in-batch negatives: each question against
the product's chunk (``rag.chunking.chunk_document``, default settings) that holds its first gold answer, the
other questions' chunks of the batch and one other chunk of the same article per question (scale 20,
cross-entropy, one epoch, fixed seeds). Training questions come from 48-article sets ``--train-sets`` (as
``benchmarks.tune_hit5`` picks them), minus any article of the sets ``--held-out-sets``; reported on ``--eval``
questions of held-out set 0: dense hit@1 / hit@5 / hit@10 (a hit: a chunk overlapping a gold span), exact search
over that set's chunks, before and after, both sides embedded in float32 with torch.

    nice -n 15 .venv/bin/python -m benchmarks.tune_embedder [--questions 4000] [--threads 2]

Recorded in ``notes/STATUS.md`` (2026-12-06, thirteenth session): adapting the
*query* side only, against the stored chunk and sentence vectors (the index kept), gave nothing on held-out
articles (sentence@1 0.623 -> 0.630 at lr 5e-4, worse at 3e-3). This symmetric one, on 4,000 questions of 57
articles (15 minutes of training on two cores): hit@1 0.627 -> 0.682, hit@5 0.846 -> 0.895, hit@10 0.911 -> 0.946
on 1,500 questions (``results/tune_embedder.json``; a first prototype, scored on another 1,500: 0.642 / 0.867 /
0.927 -> 0.707 / 0.911 / 0.950). Shipping it means shipping the adapters (merged into the packaged model before the
ONNX export), re-indexing, and refitting every head that reads a cosine (``train_evidence``, ``calibrate_refusal``,
``tune_reader_choice``).

Needs torch and transformers (training only). Prints a Markdown table and writes
``benchmarks/results/tune_embedder.json``; ``--save FILE`` keeps the adapters.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import squad
from benchmarks.train_reader import base_model, build
from rag import reader
from rag.chunking import chunk_document
from rag.documents import Document

SCALE = 20.0
BATCH = 32
QUERY_TOKENS = 64
CHUNK_TOKENS = 256


def chunked(articles: Sequence[squad.Article]) -> list[tuple[str, int, int, str]]:
    """(source, start, end, text) of every chunk the product makes of the articles."""
    out = []
    for a in articles:
        document = Document(a.source, a.title, a.text, "")
        out += [(c.source, c.start, c.end, c.text) for c in chunk_document(document)]
    return out


def by_source(chunks: Sequence[tuple[str, int, int, str]]) -> dict[str, list[int]]:
    """Indices of each document's chunks."""
    out: dict[str, list[int]] = {}
    for i, (source, *_rest) in enumerate(chunks):
        out.setdefault(source, []).append(i)
    return out


def answering(chunks: Sequence[tuple[str, int, int, str]], of: dict[str, list[int]], q: squad.Question) -> list[int]:
    """Indices of the chunks that overlap one of ``q``'s gold spans (``of``: :func:`by_source` of ``chunks``)."""
    return [i for i in of[q.source] if squad.spans_overlap(chunks[i][1], chunks[i][2], q.spans)]


def embed(model: Any, tokenizer: Any, texts: Sequence[str], max_length: int) -> Any:
    """Mean-pooled, normalised vectors (the sentence-transformers recipe of all-MiniLM-L6-v2), with gradients."""
    import torch

    enc = tokenizer(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def hits(model: Any, tokenizer: Any, chunks: Sequence[tuple[str, int, int, str]], asked: Sequence[Any]) -> dict:
    """Dense hit@1/5/10 of ``asked`` ((question, answering chunk indices) pairs) over ``chunks``."""
    import torch

    order = np.argsort([len(c[3]) for c in chunks])
    matrix = np.zeros((len(chunks), 384), dtype=np.float32)
    with torch.no_grad():
        for i in range(0, len(order), 64):
            rows = order[i : i + 64]
            matrix[rows] = embed(model, tokenizer, [chunks[j][3] for j in rows], CHUNK_TOKENS).numpy()
        queries = np.concatenate(
            [
                embed(model, tokenizer, [q for q, _ in asked[i : i + 128]], QUERY_TOKENS).numpy()
                for i in range(0, len(asked), 128)
            ]
        )
    top = np.argsort(-(queries @ matrix.T), axis=1)[:, :10]
    return {
        f"hit@{k}": round(float(np.mean([bool(set(top[r, :k]) & set(gold)) for r, (_, gold) in enumerate(asked)])), 4)
        for k in (1, 5, 10)
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=4000, help="training questions (one epoch)")
    parser.add_argument("--eval", type=int, default=1500, help="held-out questions reported")
    parser.add_argument("--train-sets", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--held-out-sets", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--save", type=Path, default=None, help="write the trained adapters here (.npz)")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    everything = squad.load_articles("train")
    held = {a.source for s in args.held_out_sets for a in squad.pick_articles(everything, 48, s)}
    evaluated = squad.pick_articles(everything, 48, args.held_out_sets[0])
    eval_chunks = chunked(evaluated)
    eval_of = by_source(eval_chunks)
    asked = [
        (q.question, gold)
        for q in squad.sample_questions(evaluated, args.eval, 7)
        if (gold := answering(eval_chunks, eval_of, q))
    ]
    training = [a for s in args.train_sets for a in squad.pick_articles(everything, 48, s) if a.source not in held]
    training = list({a.source: a for a in training}.values())
    train_chunks = chunked(training)
    train_of = by_source(train_chunks)
    rng = random.Random(0)
    items = []
    for q in squad.sample_questions(training, None):
        gold = answering(train_chunks, train_of, q)
        others = [i for i in train_of[q.source] if i not in gold]
        if gold and others:
            items.append((q.question, gold[0], others))
    rng.shuffle(items)
    items = items[: args.questions]

    tokenizer = AutoTokenizer.from_pretrained(base_model())
    model, _, _ = build(args.rank, 0)
    model.eval()
    before = hits(model, tokenizer, eval_chunks, asked)
    print(f"before: {before}; training on {len(items)} questions", file=sys.stderr, flush=True)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=args.lr)
    model.train()
    started = time.perf_counter()
    for b in range(0, len(items), BATCH):
        batch = items[b : b + BATCH]
        texts = [train_chunks[g][3] for _, g, _ in batch] + [train_chunks[rng.choice(o)][3] for _, _, o in batch]
        logits = (
            embed(model, tokenizer, [q for q, _, _ in batch], QUERY_TOKENS)
            @ embed(model, tokenizer, texts, CHUNK_TOKENS).T
        )
        loss = torch.nn.functional.cross_entropy(logits * SCALE, torch.arange(len(batch)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if b // BATCH % 20 == 0:
            done = f"{b + len(batch)}/{len(items)} questions"
            print(f"{done}, loss {loss.item():.3f}, {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    model.eval()
    after = hits(model, tokenizer, eval_chunks, asked)
    if args.save is not None:
        adapters = {
            f"{n}.{name}.{part}": getattr(layer.get_submodule(name), part).detach().numpy().astype(np.float16)
            for n, layer in enumerate(model.encoder.layer)
            for name in reader.ADAPTED
            for part in ("a", "b")
        }
        np.savez(args.save, **adapters)
    rows = [["all-MiniLM-L6-v2", *before.values()], [f"+ LoRA {args.rank}, {len(items)} questions", *after.values()]]
    squad.print_table(["dense retriever", "hit@1", "hit@5", "hit@10"], rows)
    payload = {
        "benchmark": "tune_embedder",
        "train_articles": len(training),
        "train_questions": len(items),
        "eval_questions": len(asked),
        "lr": args.lr,
        "rank": args.rank,
        "train_seconds": round(seconds, 1),
        "before": before,
        "after": after,
        "code": squad.code_version(),
    }
    print(f"wrote {squad.write_json('tune_embedder.json', payload, args.output)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
