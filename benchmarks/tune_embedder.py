"""Does fine-tuning the embedding model on SQuAD v1.1 *train* lift dense retrieval, and the product? Not shipped.

The packaged all-MiniLM-L6-v2 gets low-rank adapters (LoRA, as the span reader: ``benchmarks.train_reader.build``)
on every linear layer, trained with in-batch negatives: each question against the product's chunk
(``rag.chunking.chunk_document``, default settings) that holds its first gold answer, the other questions'
chunks of the batch and one other chunk of the same article per question (scale 20, cross-entropy, one epoch,
fixed seeds). Training questions come from 48-article sets ``--train-sets`` (as ``benchmarks.tune_hit5`` picks
them), minus any article of the sets ``--held-out-sets`` and of the span reader's held-out articles (every head
that reads a cosine is fitted on those sets and articles); reported on ``--eval`` questions of held-out set 0:
dense hit@1 / hit@5 / hit@10 (a hit: a chunk overlapping a gold span), exact search over that set's chunks,
before and after, both sides embedded in float32 with torch.

    nice -n 15 .venv/bin/python -m benchmarks.tune_embedder --train-sets 3 4 5 6 --save /tmp/adapters.npz
    .venv/bin/python -m benchmarks.tune_embedder --merge /tmp/adapters.npz --into /tmp/minilm-qa
    RAG_EMBEDDING_MODEL=/tmp/minilm-qa .venv/bin/python -m benchmarks.retrieval   # or answers, any benchmark

2026-12-06 (fourteenth session): 4,000 questions of 95 articles, 15 minutes of training on two cores: hit@1
0.627 -> 0.675, hit@5 0.846 -> 0.889, hit@10 0.911 -> 0.942 on 1,500 questions (``results/tune_embedder.json``;
8,000 questions gave 0.685 / 0.898 / 0.937). On SQuAD dev the merged model lifts dense retrieval alone from
hit@1 / hit@5 0.591 / 0.828 to 0.662 / 0.877, but the product's reranked list only from 0.833 / 0.956 to
0.834 / 0.958, and the answers not at all (every head refitted for it: evidence@1 0.836, F1 0.709, refused
0.911 on all of dev, against 0.835, 0.708, 0.916), while a table row's cosine to its question drops (a test's
"Where is the Heron depot?" is refused): not shipped. ``notes/STATUS.md`` has the whole measurement.

Needs torch and transformers (training only). Prints a Markdown table and writes
``benchmarks/results/tune_embedder.json``; ``--save FILE`` keeps the adapters.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import squad
from benchmarks.train_reader import base_model, build, held_out
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


def write_model(adapters: Path, folder: Path) -> None:
    """Write the packaged model with ``adapters`` (a ``--save`` file) merged in, as a sentence-transformers folder:
    ``RAG_EMBEDDING_MODEL=folder`` then runs the product, and every benchmark, with it."""
    from safetensors.numpy import load_file, save_file

    base = base_model()
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("model.safetensors"))
    tensors = reader.merged(load_file(str(base / "model.safetensors")), reader.load_weights(adapters))
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(folder / "model.safetensors"))


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
    parser.add_argument("--merge", type=Path, default=None, help="no training: merge this --save file into --into")
    parser.add_argument("--into", type=Path, default=Path("/tmp/minilm-qa"), help="model folder --merge writes")
    args = parser.parse_args(argv)
    if args.merge is not None:
        write_model(args.merge, args.into)
        print(f"wrote {args.into}: RAG_EMBEDDING_MODEL={args.into} runs the product with it")
        return 0

    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    everything = squad.load_articles("train")
    held = {a.source for s in args.held_out_sets for a in squad.pick_articles(everything, 48, s)}
    held |= {everything[i].source for i in held_out(len(everything), 0)}  # tune_reader_choice fits on these
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
