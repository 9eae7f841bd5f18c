"""The span reader: the (question, sentence) pair read together, on both backends, and its head's answers."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import HashEmbedder

from rag.embedding import Embedder
from rag.phrases import key_phrase
from rag.reader import SpanReader, load_head, scores_from_states

pytestmark = pytest.mark.slow

PAIRS = [
    ("How much could Ukraine borrow?", "The mechanism would allow Ukraine to borrow up to €140 billion."),
    ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg."),
]


def test_pairs_read_the_same_on_onnx_and_torch(embedder: Embedder) -> None:
    onnx = embedder.encode_pairs(PAIRS)
    torch = Embedder(embedder.name, backend="torch").encode_pairs(PAIRS)
    for (h1, seg1, off1), (h2, seg2, off2), (question, sentence) in zip(onnx, torch, PAIRS, strict=True):
        assert seg1.tolist() == seg2.tolist() and off1 == off2
        assert np.abs(h1 - h2).max() < 1e-3
        # Segment 0 is the question, 1 the sentence; offsets point into each one's own text.
        words = {sentence[a:b] for (a, b), s in zip(off1, seg1, strict=True) if s == 1}
        assert {"bridge", "opened"} <= words or {"borrow", "mechanism"} <= words
        assert all(question[a:b] for (a, b), s in zip(off1, seg1, strict=True) if s == 0)


@pytest.mark.parametrize(
    ("question", "sentence", "answer"),
    [
        ("When was the bridge opened?", "The bridge was opened in 1932 by Mayor Anna Berg.", "1932"),
        ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg.", "Anna Berg"),
        (
            "How much could Ukraine borrow?",
            "The mechanism would allow Ukraine to borrow up to €140 billion.",
            "€140 billion",
        ),
        ("What year did the Normans conquer England?", "The Normans conquered England in 1066 under William.", "1066"),
    ],
)
def test_the_reader_points_at_the_answer(embedder: Embedder, question: str, sentence: str, answer: str) -> None:
    scores = SpanReader(embedder).read(question, [sentence])[0]
    assert scores is not None
    a, b = sentence.index(answer), sentence.index(answer) + len(answer)
    # The answer's first and last tokens are among the two likeliest starts and ends.
    first, last = int(np.flatnonzero(scores.starts == a)[0]), int(np.flatnonzero(scores.ends == b)[0])
    assert (scores.start_logp > scores.start_logp[first]).sum() <= 1
    assert (scores.end_logp > scores.end_logp[last]).sum() <= 1
    span = key_phrase(sentence, question, scores=scores)
    assert span is not None and answer in sentence[span[0] : span[1]] and span[1] - span[0] <= len(answer) + 6


def test_numpy_head_matches_the_training_forward(embedder: Embedder) -> None:
    """The head runs in numpy at answer time; benchmarks/train_reader.py trains it in torch: same numbers."""
    torch = pytest.importorskip("torch")
    head = load_head()
    hidden, segment, _ = embedder.encode_pairs(PAIRS[:1])[0]
    got = head.run(hidden, segment == 0)
    h = torch.from_numpy(hidden)[None]
    unit = torch.nn.functional.normalize(h, dim=-1)
    sim = (unit @ unit.transpose(1, 2)).masked_fill(~torch.from_numpy(segment == 0)[None, None, :], -1e4)
    x = torch.cat(
        [h, h * (torch.softmax(sim * head.sharpness, -1) @ h), sim.max(-1).values.clamp(min=-1)[..., None]], -1
    )
    conv = torch.nn.functional.conv1d(
        x.transpose(1, 2), torch.from_numpy(head.conv_w), torch.from_numpy(head.conv_b), padding=1
    )
    y = torch.nn.functional.gelu(conv.transpose(1, 2), approximate="tanh")
    want = (y @ torch.from_numpy(head.out_w).T + torch.from_numpy(head.out_b))[0].numpy()
    sentence = segment == 1
    assert np.allclose(got[sentence], want[sentence], atol=1e-3)
    assert scores_from_states(head, (hidden, segment, [(0, 0)] * len(segment))) is not None


def test_the_reader_is_off_for_another_model() -> None:
    reader = SpanReader(HashEmbedder())
    assert not reader.available
    assert reader.read("Who?", ["Anna Berg did."]) == [None]
