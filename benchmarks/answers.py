"""Answer quality on SQuAD v1.1: are the quotes right, is the key phrase the answer, and does the product
refuse when the documents do not hold the answer?

Every question goes through ``pipeline.answer`` over an index of the split's articles (the product's own
loader, chunker, retrieval and answerer, with its default settings unless overridden). Measured:

- evidence@1 / evidence@3: one of the first 1 / 3 quotes holds a gold answer's span, or contains a gold
  answer as whole tokens after the official SQuAD normalisation; ``evidence@1 span`` is the span test alone
  (the answer at the place SQuAD took it from), ``evidence@1 raw`` a raw substring test alone; ``evidence@3
  shown`` counts the related passages shown after the quotes too (a further sentence that does not write the
  answer's key phrase is offered as related, not as support);
- key-phrase EM / F1 (official SQuAD normalisation and token F1, best over the gold answers): the prediction
  is ``answer.key_phrase``, falling back to the first quote's text when there is none, "" when refused;
- key-phrase rate: share of answered questions that have a key phrase;
- quote validity: share of quotes (answer and related) with ``document_text(source)[start:end] == text``;
- answered rate (every question is answerable here: a refusal is a wrong refusal);
- refusal: for a few held-out articles, the other articles are indexed (the product's incremental indexing
  reuses the cached vectors) and that article's questions are asked: the share refused;
- latency p50 / p95 of ``answer()`` with a warm index.

Run from the checkout::

    .venv/bin/python -m benchmarks.answers                 # 2,000 dev questions (fixed seed), 4 held-out articles
    .venv/bin/python -m benchmarks.answers --full          # all 10,570 dev questions, 12 held-out articles
    .venv/bin/python -m benchmarks.answers --split train   # tune on train articles, never on dev

Prints a table, writes ``benchmarks/results/answers.json`` (``answers-train.json`` for train) and a
per-question JSONL under the work folder for tuning the answerer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks import squad

logger = logging.getLogger(__name__)

WARMUP = 3


def quote_dict(quote: Any) -> dict[str, Any]:
    return {"text": quote.text, "source": quote.source, "start": quote.start, "end": quote.end, "score": quote.score}


def holds_answer(quote: Any, question: squad.Question) -> bool:
    """The quote holds a gold answer's span, or contains a gold answer after SQuAD normalisation.

    The span test catches answers that normalisation glues to a neighbour ("Six" in "Six-time" becomes
    "sixtime"); the text test accepts the answer quoted from another place of the article."""
    at_gold = quote.source == question.source and squad.spans_contain(quote.start, quote.end, question.spans)
    return at_gold or squad.contains_answer(quote.text, question.answers)


def score_answer(pipeline: Any, question: squad.Question, answer: Any, seconds: float) -> dict[str, Any]:
    """One question's record: what was answered, and how it scores against the gold answers."""
    quotes = list(answer.quotes)
    golds = question.answers
    first = quotes[0] if quotes else None
    phrase = answer.key_phrase
    prediction = phrase if phrase is not None else (first.text if first else "")
    if not answer.answered:
        prediction = ""
    shown = quotes + list(answer.related)
    valid = sum(pipeline.document_text(q.source)[q.start : q.end] == q.text for q in shown)
    return {
        "id": question.id,
        "question": question.question,
        "source": question.source,
        "gold": list(dict.fromkeys(golds)),
        "gold_spans": [list(s) for s in dict.fromkeys(question.spans)],
        "answered": bool(answer.answered),
        "text": answer.text,
        "key_phrase": phrase,
        "first_quote": quote_dict(first) if first else None,
        "score": first.score if first else None,
        "related_score": answer.related[0].score if answer.related else None,
        "quotes": len(quotes),
        "evidence@1": bool(first and holds_answer(first, question)),
        "evidence@1 raw": bool(first and any(g in first.text for g in golds)),
        "evidence@1 span": bool(
            first and first.source == question.source and squad.spans_contain(first.start, first.end, question.spans)
        ),
        "evidence@3": any(holds_answer(q, question) for q in quotes[:3]),
        "evidence@3 shown": answer.answered and any(holds_answer(q, question) for q in shown[:3]),
        "em": squad.best_over_golds(squad.exact_match, prediction, golds),
        "f1": squad.best_over_golds(squad.f1_score, prediction, golds),
        "valid_quotes": valid,
        "shown_quotes": len(shown),
        "seconds": round(seconds, 4),
    }


def ask_all(pipeline: Any, questions: Sequence[squad.Question], label: str) -> list[dict[str, Any]]:
    """Ask every question (after a few unmeasured warm-up calls) and score each answer."""
    for question in questions[:WARMUP]:
        pipeline.answer(question.question)
    records = []
    started = time.perf_counter()
    for n, question in enumerate(questions, start=1):
        t = time.perf_counter()
        answer = pipeline.answer(question.question)
        records.append(score_answer(pipeline, question, answer, time.perf_counter() - t))
        if n % 250 == 0:
            rate = n / (time.perf_counter() - started)
            logger.info("%s: %d/%d questions (%.1f/s)", label, n, len(questions), rate)
    return records


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """The headline numbers of a run over answerable questions."""
    n = len(records) or 1
    answered = [r for r in records if r["answered"]]
    with_phrase = [r for r in answered if r["key_phrase"] is not None]
    seconds = [r["seconds"] for r in records]
    shown = sum(r["shown_quotes"] for r in records)
    out = {
        "questions": len(records),
        "answered rate": len(answered) / n,
        "wrongly refused": 1 - len(answered) / n,
        "evidence@1": sum(r["evidence@1"] for r in records) / n,
        "evidence@1 raw": sum(r["evidence@1 raw"] for r in records) / n,
        "evidence@1 span": sum(r["evidence@1 span"] for r in records) / n,
        "evidence@3": sum(r["evidence@3"] for r in records) / n,
        "evidence@3 shown": sum(r["evidence@3 shown"] for r in records) / n,
        "key-phrase rate": len(with_phrase) / (len(answered) or 1),
        "EM": sum(r["em"] for r in records) / n,
        "F1": sum(r["f1"] for r in records) / n,
        "F1 with key phrase": sum(r["f1"] for r in with_phrase) / (len(with_phrase) or 1),
        "quote validity": sum(r["valid_quotes"] for r in records) / shown if shown else 1.0,
        "p50 ms": 1000 * squad.percentile(seconds, 50),
        "p95 ms": 1000 * squad.percentile(seconds, 95),
    }
    return {k: round(v, 4) for k, v in out.items()}


def held_out_pipeline(pipeline: Any, held_out: squad.Article, articles: Sequence[squad.Article], workdir: Path) -> Any:
    """A pipeline over every article but ``held_out``, in its own folders.

    The full index is copied in and the other files hard-linked (same size and mtime), so the product's own
    incremental indexing drops the held-out article and re-embeds nothing.
    """
    from rag import Pipeline

    base = workdir / "held-out" / Path(held_out.source).stem
    docs, index = base / "docs", base / "index"
    shutil.rmtree(base, ignore_errors=True)
    docs.mkdir(parents=True)
    shutil.copytree(pipeline.settings.index_dir, index)
    for article in articles:
        if article.source != held_out.source:
            origin = pipeline.settings.docs_dir / article.source
            try:
                os.link(origin, docs / article.source)
            except OSError:
                shutil.copy2(origin, docs / article.source)
    other = Pipeline(pipeline.settings, embedder=pipeline.embedder, docs_dir=docs, index_dir=index)
    report = other.index()
    if report.removed != [held_out.source] or report.embedded:
        logger.warning("held-out index for %s: %s", held_out.source, report.summary())
    return other


def refusal(
    pipeline: Any, articles: Sequence[squad.Article], count: int, per_article: int | None, seed: int, workdir: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Share of questions refused when their article is not in the index."""
    records: list[dict[str, Any]] = []
    chosen = squad.pick_articles(list(articles), count, seed + 1)
    for held_out in chosen:
        other = held_out_pipeline(pipeline, held_out, articles, workdir)
        questions = squad.sample_questions([held_out], per_article, seed)
        for r in ask_all(other, questions, f"held out {held_out.source}"):
            r["held_out"] = True
            records.append(r)
        shutil.rmtree(workdir / "held-out" / Path(held_out.source).stem, ignore_errors=True)
    n = len(records) or 1
    summary = {
        "held-out articles": [a.source for a in chosen],
        "questions": len(records),
        "refused": round(sum(not r["answered"] for r in records) / n, 4),
        "p50 ms": round(1000 * squad.percentile([r["seconds"] for r in records], 50), 1),
    }
    return summary, records


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=2000, help="questions to ask (fixed seed); default 2000")
    parser.add_argument("--full", action="store_true", help="ask every question of the split")
    parser.add_argument(
        "--split",
        choices=["dev", "train"],
        default="dev",
        help="train: a fixed subset of train articles, for tuning (never tune on dev)",
    )
    parser.add_argument(
        "--articles",
        type=int,
        default=None,
        help="index only N articles of the split (fixed seed); default all of dev, 48 of train",
    )
    parser.add_argument(
        "--held-out",
        type=int,
        default=None,
        help="articles held out for the refusal test (default 4, 12 with --full; 0 skips it)",
    )
    parser.add_argument(
        "--held-out-questions",
        type=int,
        default=None,
        help="questions asked per held-out article (default 60, all with --full)",
    )
    parser.add_argument(
        "--min-evidence",
        type=float,
        default=None,
        help="override the refusal threshold (0 answers everything: gives every score)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rebuild", action="store_true", help="re-embed the cached index")
    parser.add_argument("--workdir", type=Path, default=squad.DEFAULT_WORKDIR)
    parser.add_argument("--records", type=Path, default=None, help="per-question JSONL (default under --workdir)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")

    squad.code_version()
    started = time.perf_counter()
    articles = squad.load_articles(args.split)
    n_articles = args.articles if args.articles is not None else (48 if args.split == "train" else None)
    articles = squad.pick_articles(articles, n_articles, args.seed)
    tag = args.split if n_articles is None else f"{args.split}-{len(articles)}a-s{args.seed}"
    pipeline, info = squad.open_pipeline(
        articles,
        args.workdir / f"{tag}-docs",
        args.workdir / f"{tag}-index",
        rebuild=args.rebuild,
        min_evidence=args.min_evidence,
    )
    questions = squad.sample_questions(articles, None if args.full else args.sample, args.seed)

    t = time.perf_counter()
    records = ask_all(pipeline, questions, "answerable")
    main_seconds = time.perf_counter() - t
    summary = summarize(records)

    held_out = args.held_out if args.held_out is not None else (12 if args.full else 4)
    per_article = args.held_out_questions if args.held_out_questions is not None else (None if args.full else 60)
    refusal_summary: dict[str, Any] = {}
    refusal_records: list[dict[str, Any]] = []
    if held_out:
        t = time.perf_counter()
        refusal_summary, refusal_records = refusal(pipeline, articles, held_out, per_article, args.seed, args.workdir)
        refusal_summary["seconds"] = round(time.perf_counter() - t, 1)

    records_path = args.records or args.workdir / f"answers-{tag}{'-full' if args.full else ''}.jsonl"
    records_path.parent.mkdir(parents=True, exist_ok=True)
    with open(records_path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps({**r, "held_out": False}, ensure_ascii=False) + "\n")
        for r in refusal_records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")

    print(
        f"\nSQuAD v1.1 {args.split}: {len(questions)} questions over {info['documents']} documents "
        f"({info['chunks']} chunks); settings {squad.settings_summary(pipeline)}"
    )
    keys = [
        "answered rate",
        "evidence@1",
        "evidence@1 raw",
        "evidence@1 span",
        "evidence@3",
        "evidence@3 shown",
        "key-phrase rate",
        "EM",
        "F1",
        "F1 with key phrase",
        "quote validity",
        "p50 ms",
        "p95 ms",
    ]
    rows: list[list[Any]] = [[k, summary[k]] for k in keys]
    if refusal_summary:
        rows.append([f"refused, article held out ({refusal_summary['questions']} q)", refusal_summary["refused"]])
        rows.append(["wrongly refused, answerable", summary["wrongly refused"]])
    squad.print_table(["metric", "value"], rows)
    payload = {
        "benchmark": "answers",
        "dataset": f"SQuAD v1.1 {args.split}",
        "mode": "full" if args.full else f"sample {args.sample}",
        "seed": args.seed,
        "articles": len(articles),
        "index": info,
        "settings": squad.settings_summary(pipeline),
        "definitions": {
            "evidence@k": "one of the first k quotes holds a gold answer span, or contains a gold answer as whole "
            "tokens after SQuAD normalisation",
            "evidence@3 shown": "the same over the first 3 of the quotes followed by the related passages shown "
            "with an answer (a refusal's closest passages do not count)",
            "evidence@1 raw": "the first quote contains a gold answer as a raw substring",
            "evidence@1 span": "the first quote's offsets hold a gold answer span in the question's article",
            "EM/F1": "official SQuAD v1.1 normalisation and token F1, best over gold answers; prediction = "
            "key_phrase, else first quote text, '' when refused",
        },
        "results": summary,
        "refusal": refusal_summary,
        "records": str(records_path),
        "seconds": {"answerable": round(main_seconds, 1), "total": round(time.perf_counter() - started, 1)},
        "machine": {"python": sys.version.split()[0], "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    name = "answers.json" if args.split == "dev" else "answers-train.json"
    print(f"wrote {squad.write_json(name, payload, args.output)}; per-question records: {records_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
