"""The span reader: the shipped adapters on the packaged model, run in numpy, point at answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.phrases import key_phrase
from rag.reader import WEIGHTS_FILE, SpanReader, load_weights

PAIRS = [
    ("How much could Ukraine borrow?", "The mechanism would allow Ukraine to borrow up to €140 billion."),
    ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg."),
]


@pytest.fixture(scope="module")
def reader() -> SpanReader:
    reader = SpanReader()
    assert reader.available
    return reader


def test_numpy_reader_matches_the_training_forward(reader: SpanReader) -> None:
    """Answering runs the merged model in numpy, without padding; benchmarks/train_reader.py trains it in torch
    as base model + adapters, on padded batches: the same logits for every token of pairs of different lengths
    (within the tanh form of GELU's difference, ~0.005 on logits of a few units)."""
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer

    from benchmarks import train_reader

    weights = load_weights(WEIGHTS_FILE)
    model, head, _ = train_reader.build(int(weights["rank"]), seed=0, init=weights)
    with torch.no_grad():
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(train_reader.base_model())
        items = train_reader.encode(tokenizer, [(q, s, None, []) for q, s in PAIRS])
        ids, types, mask, allowed = train_reader.tensors(items)
        want = train_reader.logits(model, head, ids, types, mask, allowed).numpy()
    got = reader._logits(reader._model, PAIRS)  # type: ignore[arg-type]
    assert len(got[0]) != len(got[1])
    for r, logits in enumerate(got):
        real = allowed[r, : len(logits)].numpy()
        assert np.allclose(logits[real], want[r, : len(logits)][real], atol=0.02)


@pytest.mark.parametrize(
    ("question", "sentence", "key"),
    [
        ("When was the bridge opened?", "The bridge was opened in 1932 by Mayor Anna Berg.", "1932"),
        ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg.", "Mayor Anna Berg"),
        ("How much could Ukraine borrow?", "The mechanism would allow Ukraine to borrow up to €140 billion.",
         "€140 billion"),
        ("What year did the Normans conquer England?", "The Normans conquered England in 1066 under William.", "1066"),
        ("Under whom did the Normans conquer England?", "The Normans conquered England in 1066 under William.",
         "William"),
    ],
)  # fmt: skip
def test_the_reader_points_at_the_answer(reader: SpanReader, question: str, sentence: str, key: str) -> None:
    scores = reader.read(question, [sentence])[0]
    assert scores is not None and scores.answers
    # The answer's first token is the likeliest start, its last the likeliest end.
    a, b = sentence.index(key.split()[-1]), sentence.index(key) + len(key)
    assert scores.starts[int(np.argmax(scores.start_logp))] <= a
    assert scores.ends[int(np.argmax(scores.end_logp))] == b
    span = key_phrase(sentence, question, scores=scores)
    assert span is not None and sentence[span[0] : span[1]] == key


def test_the_reader_tells_a_sentence_that_answers_from_one_that_does_not(reader: SpanReader) -> None:
    question = "When was the bridge opened?"
    yes, no = reader.read(
        question, ["The bridge was opened in 1932 by Mayor Anna Berg.", "The bridge is painted green every spring."]
    )
    assert yes is not None and no is not None
    assert yes.answers and not no.answers
    assert yes.margin > no.margin + 5


def test_the_reader_is_off_without_its_weights_or_with_other_base_weights(tmp_path: Path) -> None:
    missing = SpanReader(tmp_path / "none.npz")
    assert not missing.available
    assert missing.read("Who?", ["Anna Berg did."]) == [None]
    weights = load_weights(WEIGHTS_FILE)
    weights["probe"] = weights["probe"] + 1.0  # what another base model would read the probe pair as
    other = SpanReader(weights=weights)
    assert not other.available
    assert other.read("Who?", ["Anna Berg did."]) == [None]
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(WEIGHTS_FILE.read_bytes()[:1000])  # cut short
    assert not SpanReader(damaged).available
