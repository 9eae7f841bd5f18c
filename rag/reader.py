"""The span reader: which tokens of a sentence start and end the answer to a question.

The question and the sentence are read together by the embedding model (``[CLS] question [SEP] sentence
[SEP]``, :meth:`~rag.embedding.Embedder.encode_pairs`), so every sentence token has attended to the question.
A small head on those frozen token states gives each sentence token a start and an end log-probability:

1. each token is described by its state ``h``, ``h * c`` where ``c`` is the question tokens' states averaged
   by their cosine to ``h`` (a soft alignment), and its best cosine to any question token;
2. a width-3 convolution (so a token sees its neighbours) with GELU, then a linear layer to (start, end).

The head (about 150k numbers, ``reader_weights.npz``) is trained on SQuAD v1.1 *train* by
``benchmarks/train_reader.py`` for one embedding model (``all-MiniLM-L6-v2``); with any other model the
reader is off and the key phrase comes from the hand-made features alone. Its scores are features of the
key-phrase model (:mod:`rag.phrases`), not the answer on their own: together they find the gold answer's
words better than either (held-out train, gold sentence given: see the training script's table).
Pure numpy at answer time: one model pass per sentence read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.embedding import Embedder, PairStates

logger = logging.getLogger(__name__)

WEIGHTS_FILE = Path(__file__).with_name("reader_weights.npz")
FLOOR = -30.0
"""Log-probabilities are clipped here: a token the model rules out is just "very unlikely"."""


@dataclass(frozen=True, eq=False)
class TokenScores:
    """Start and end log-probabilities of a sentence's tokens, with the tokens' character offsets in it."""

    starts: np.ndarray
    ends: np.ndarray
    start_logp: np.ndarray
    end_logp: np.ndarray

    def span(self, start: int, end: int) -> tuple[float, float]:
        """(start, end) log-probabilities of the character span ``[start, end)`` of the sentence: its first
        token's start score and its last token's end score (``FLOOR`` where the tokens do not reach)."""
        first = np.flatnonzero(self.ends > start)
        last = np.flatnonzero(self.starts < end)
        s = float(self.start_logp[first[0]]) if len(first) else FLOOR
        e = float(self.end_logp[last[-1]]) if len(last) else FLOOR
        return max(s, FLOOR), max(e, FLOOR)


class SpanHead:
    """The trained head as numpy arrays (see the module docstring); ``run`` maps a pair's token states to
    start/end logits."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.conv_w = arrays["conv_weight"].astype(np.float32)  # (channels, features, width)
        self.conv_b = arrays["conv_bias"].astype(np.float32)
        self.out_w = arrays["out_weight"].astype(np.float32)  # (2, channels)
        self.out_b = arrays["out_bias"].astype(np.float32)
        self.model = str(arrays["model"])
        """The embedding model it was trained on (for messages; the check is :data:`PROBE`)."""
        self.sharpness = float(arrays["sharpness"])
        self.probe = arrays["probe"].astype(np.float32) if "probe" in arrays else np.zeros((0, 0), np.float32)

    @property
    def dimension(self) -> int:
        return (self.conv_w.shape[1] - 1) // 2

    def features(self, hidden: np.ndarray, question: np.ndarray) -> np.ndarray:
        """Per token: its state, its state times its soft-aligned question state, and its best cosine to a
        question token."""
        norms = np.maximum(np.linalg.norm(hidden, axis=1, keepdims=True), 1e-12)
        unit = hidden / norms
        sim = unit @ unit[question].T  # tokens x question tokens
        weights = np.exp(self.sharpness * (sim - sim.max(axis=1, keepdims=True)))
        weights /= weights.sum(axis=1, keepdims=True)
        aligned = weights @ hidden[question]
        best = np.maximum(sim.max(axis=1, keepdims=True), -1.0)
        return np.concatenate([hidden, hidden * aligned, best], axis=1).astype(np.float32)

    def run(self, hidden: np.ndarray, question: np.ndarray) -> np.ndarray:
        """(tokens, 2) start and end logits."""
        x = self.features(hidden.astype(np.float32), question)
        width = self.conv_w.shape[2]
        pad = width // 2
        padded = np.pad(x, ((pad, pad), (0, 0)))
        y = np.broadcast_to(self.conv_b, (len(x), len(self.conv_b))).copy()
        for k in range(width):
            y += padded[k : k + len(x)] @ self.conv_w[:, :, k].T
        y *= 0.5 * (1.0 + np.tanh(np.float32(0.7978845608) * (y + np.float32(0.044715) * y**3)))  # GELU (tanh)
        return np.asarray(y @ self.out_w.T + self.out_b, dtype=np.float32)


def load_head(path: Path = WEIGHTS_FILE) -> SpanHead:
    with np.load(path, allow_pickle=False) as data:
        return SpanHead({name: data[name] for name in data.files})


def scores_from_states(head: SpanHead, states: PairStates) -> TokenScores | None:
    """The sentence tokens' start/end log-probabilities from one pair's token states (None if the pair has
    no question or no sentence tokens left, e.g. cut at the model's limit)."""
    hidden, segment, offsets = states
    question = segment == 0
    sentence = segment == 1
    if not question.any() or not sentence.any():
        return None
    logits = head.run(hidden, question)[sentence]
    logp = logits - logits.max(axis=0)
    logp -= np.log(np.exp(logp).sum(axis=0))
    spans = np.asarray(offsets, dtype=np.int64)[sentence]
    return TokenScores(spans[:, 0], spans[:, 1], logp[:, 0], logp[:, 1])


PROBE = ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg.")
"""A pair whose token states are stored with the head: the reader runs only on a model that reads it the same."""


def probe_states(embedder: Embedder) -> np.ndarray:
    """The token states of :data:`PROBE` read by ``embedder`` (stored with the head by the training script)."""
    return embedder.encode_pairs([PROBE])[0][0]


class SpanReader:
    """Reads (question, sentence) pairs with the embedding model and the trained head.

    ``available`` is False (and :meth:`read` returns Nones) when the weights file is missing or the embedding
    model is not the one the head was trained on: the key phrase then comes from the hand-made features alone.
    "The same model" is checked by what it does, not its name: the model must read :data:`PROBE` into the
    token states stored with the head (mean cosine >= 0.98), so a local copy of the default model, or either
    of its backends (torch, onnx; onnx-int8 reads it at cosine ~0.99), keeps the reader on.
    """

    def __init__(self, embedder: Embedder, path: Path = WEIGHTS_FILE) -> None:
        self.embedder = embedder
        self.path = path

    @cached_property
    def head(self) -> SpanHead | None:
        if not self.path.is_file():
            logger.warning("no span reader weights at %s: key phrases from hand-made features only", self.path)
            return None
        head = load_head(self.path)
        if self.embedder.dimension != head.dimension:
            logger.info("span reader off: it was trained for %s, not %s", head.model, self.embedder.name)
            return None
        states = probe_states(self.embedder)
        if states.shape != head.probe.shape or _mean_cosine(states, head.probe) < 0.98:
            logger.info("span reader off: %s does not read like %s", self.embedder.name, head.model)
            return None
        return head

    @property
    def available(self) -> bool:
        return self.head is not None

    def read(self, question: str, sentences: list[str]) -> list[TokenScores | None]:
        """Token scores of each sentence for ``question`` (one batched model pass)."""
        head = self.head
        if head is None or not sentences:
            return [None] * len(sentences)
        states = self.embedder.encode_pairs([(question, s) for s in sentences])
        return [scores_from_states(head, s) for s in states]


def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((a * b).sum(axis=1).mean())
