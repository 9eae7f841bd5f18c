"""The span reader: the (question, sentence) pair read together, on both backends, and its head's answers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from conftest import HashEmbedder

from rag.embedding import Embedder, PairStates
from rag.phrases import key_phrase
from rag.reader import SpanReader, load_head

pytestmark = pytest.mark.slow

PAIRS = [
    ("How much could Ukraine borrow?", "The mechanism would allow Ukraine to borrow up to €140 billion."),
    ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg."),
]


def test_pairs_read_the_same_on_onnx_and_torch(embedder: Embedder, torch_embedder: Embedder) -> None:
    assert embedder.backend == "onnx"
    onnx = embedder.encode_pairs(PAIRS)
    torch = torch_embedder.encode_pairs(PAIRS)
    for (h1, seg1, off1), (h2, seg2, off2), (question, sentence) in zip(onnx, torch, PAIRS, strict=True):
        assert seg1.tolist() == seg2.tolist() and off1 == off2
        assert np.abs(h1 - h2).max() < 1e-3
        # Segment 0 is the question, 1 the sentence; offsets point into each one's own text.
        words = {sentence[a:b] for (a, b), s in zip(off1, seg1, strict=True) if s == 1}
        assert {"bridge", "opened"} <= words or {"borrow", "mechanism"} <= words
        assert all(question[a:b] for (a, b), s in zip(off1, seg1, strict=True) if s == 0)


@pytest.mark.parametrize(
    ("question", "sentence", "answer", "key"),
    [
        ("When was the bridge opened?", "The bridge was opened in 1932 by Mayor Anna Berg.", "1932", "1932"),
        # The reader's answer starts at the name; the key phrase keeps the title the sentence puts before it.
        ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg.", "Anna Berg", "Mayor Anna Berg"),
        ("How much could Ukraine borrow?", "The mechanism would allow Ukraine to borrow up to €140 billion.",
         "€140 billion", "€140 billion"),
        ("What year did the Normans conquer England?", "The Normans conquered England in 1066 under William.",
         "1066", "1066"),
    ],
)  # fmt: skip
def test_the_reader_points_at_the_answer(
    embedder: Embedder, question: str, sentence: str, answer: str, key: str
) -> None:
    scores = SpanReader(embedder).read(question, [sentence])[0]
    assert scores is not None
    a, b = sentence.index(answer), sentence.index(answer) + len(answer)
    # The answer's first and last tokens are among the three likeliest starts and ends (of 11-13 tokens).
    first, last = int(np.flatnonzero(scores.starts == a)[0]), int(np.flatnonzero(scores.ends == b)[0])
    assert (scores.start_logp > scores.start_logp[first]).sum() <= 2
    assert (scores.end_logp > scores.end_logp[last]).sum() <= 2
    span = key_phrase(sentence, question, scores=scores)
    assert span is not None and sentence[span[0] : span[1]] == key


def test_numpy_head_matches_the_training_forward(embedder: Embedder) -> None:
    """The head runs in numpy at answer time; benchmarks/train_reader.py trains it in torch, on padded batches:
    the same logits for every sentence token of pairs of different lengths."""
    torch = pytest.importorskip("torch")
    from benchmarks import train_reader

    head = load_head()
    states = embedder.encode_pairs(PAIRS)
    assert len(states[0][1]) != len(states[1][1])
    conv, out = train_reader.layers(head.dimension)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(head.conv_w))
        conv.bias.copy_(torch.from_numpy(head.conv_b))
        out.weight.copy_(torch.from_numpy(head.out_w))
        out.bias.copy_(torch.from_numpy(head.out_b))
        want = train_reader.forward(conv, out, *train_reader.batch_inputs(states)).numpy()
    for r, (hidden, segment, _) in enumerate(states):
        got = head.run(hidden, segment == 0)
        sentence = segment == 1
        assert np.allclose(got[sentence], want[r, : len(segment)][sentence], atol=1e-3)


class OtherModel(HashEmbedder):
    """A model of the same width as the default one that reads pairs differently."""

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list[PairStates]:
        rng = np.random.default_rng(0)
        return [(rng.normal(size=(19, 384)).astype(np.float32), np.zeros(19, np.int8), [(0, 0)] * 19) for _ in pairs]


def test_the_reader_is_off_for_another_model(torch_embedder: Embedder) -> None:
    for other in (HashEmbedder(), OtherModel(dim=384)):
        reader = SpanReader(other)
        assert not reader.available
        assert reader.read("Who?", ["Anna Berg did."]) == [None]
    # The same model on the other backend reads the probe pair the same: the reader stays on.
    assert SpanReader(torch_embedder).available
