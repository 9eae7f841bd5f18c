"""The span reader: the shipped adapters on the packaged model, run as an int8 graph or in numpy, point at
answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import reader_onnx
from rag.phrases import key_phrase, reader_phrase
from rag.reader import WEIGHTS_FILE, SpanReader, TokenScores, linear_row, load_weights

PAIRS = [
    ("How much could Ukraine borrow?", "The mechanism would allow Ukraine to borrow up to €140 billion."),
    ("Who opened the bridge?", "The bridge was opened in 1932 by Mayor Anna Berg."),
]


@pytest.fixture(scope="module", params=["onnx-int8", "numpy"])
def reader(request: pytest.FixtureRequest) -> SpanReader:
    reader = SpanReader(backend=request.param)
    assert reader.available and reader.engine == request.param
    return reader


@pytest.fixture(scope="module")
def numpy_reader() -> SpanReader:
    return SpanReader(backend="numpy")


def test_numpy_reader_matches_the_training_forward(numpy_reader: SpanReader) -> None:
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
        items = train_reader.encode(tokenizer, [train_reader.Example(q, s, None, []) for q, s in PAIRS])
        ids, types, mask, allowed = train_reader.tensors(items)
        want = train_reader.logits(model, head, ids, types, mask, allowed).numpy()
    got = numpy_reader._logits(numpy_reader._model, PAIRS)  # type: ignore[arg-type]
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


@pytest.mark.parametrize(
    "question", ["What is the daily price of the Quasar lamp?", "How much is the deposit for the Quasar lamp?"]
)
def test_the_reader_never_marks_across_table_cells(reader: SpanReader, question: str) -> None:
    row = "| Quasar lamp | 137 EUR | 400 EUR |"
    scores = reader.read(question, [row], [("Rental", "Rental prices\n| Item | Daily price | Deposit |")])[0]
    assert scores is not None and "|" not in row[scores.best[0] : scores.best[1]]
    span = key_phrase(row, question, scores=scores)
    assert span is not None and row[span[0] : span[1]] in {"137 EUR", "400 EUR"}


@pytest.mark.parametrize(
    ("question", "sentence", "key"),
    [
        ("What did Hungary do?", "Despite lingering differences – notably Hungary’s frequent reluctance to endorse "
         "new sanctions or funding measures – the tone among most ministers was one of urgency and resolve.",
         "endorse new sanctions or funding measures"),
        ("Why does Belgium object to the loan?", "While Belgium has expressed serious reservations — citing "
         "potential legal risks and financial exposure for the eurozone — Kallas urged the bloc to share those "
         "risks collectively so the loan can move forward.", "potential legal risks and financial exposure"),
    ],
)  # fmt: skip
def test_the_key_phrase_ends_before_a_spaced_dash(reader: SpanReader, question: str, sentence: str, key: str) -> None:
    # Without the rule the first ran on past the dash into the next clause ("... measures – the tone among ..."),
    # as the second did in the product.
    context = ("EU defence ministers in Brussels", "Ministers met in Brussels on Monday.")
    scores = reader.read(question, [sentence], [context])[0]
    assert scores is not None and key in sentence[scores.best[0] : scores.best[1]]
    assert "–" not in sentence[scores.best[0] : scores.best[1]] and "—" not in sentence[scores.best[0] : scores.best[1]]
    # A dash that joins ("1962–1965") is part of the answer.
    years = "The bridge was built in 1962–1965 by the city."
    joined = reader.read("When was the bridge built?", [years])[0]
    assert joined is not None and years[joined.best[0] : joined.best[1]] == "1962–1965"


SENDER = "Tomas Berg <tomas@acme.example> sent this e-mail to Ines Ferreira <ines@acme.example> on 10 September."


@pytest.mark.parametrize(
    ("question", "sentence", "context", "key"),
    [
        ("Who was copied on the offsite e-mail?", "It was copied to board@acme.example.",
         ("Offsite agenda and venue", SENDER), "board@acme.example"),
        ("Where is the handbook published?", "The handbook is published at https://intranet.acme.example/hr/"
         "handbook.html.", ("Staff handbook", ""), "https://intranet.acme.example/hr/handbook.html"),
    ],
)  # fmt: skip
def test_the_key_phrase_takes_an_address_whole(
    reader: SpanReader, question: str, sentence: str, context: tuple[str, str], key: str
) -> None:
    # The reader's tokens end at dots: it marks "board@acme" of the e-mail's Cc sentence.
    scores = reader.read(question, [sentence], [context])[0]
    assert scores is not None
    span = key_phrase(sentence, question, scores=scores)
    assert span is not None and sentence[span[0] : span[1]] == key


@pytest.mark.parametrize(
    ("sentence", "span", "key"),
    [
        ("Nimbus Tisch | 299,00 EUR | 8,1 kg", "1 kg", "8,1 kg"),
        ("The upgrade cost 1,250.50 EUR in total.", "250.50 EUR", "1,250.50 EUR"),
        ("In 1995, 2000 people came.", "2000", "2000"),  # a comma and a space: two numbers
    ],
)
def test_the_key_phrase_takes_a_number_whole(sentence: str, span: str, key: str) -> None:
    # The reader's tokens end at a decimal comma: a more capacious reader tried in the seventeenth session marked
    # "1 kg" of "8,1 kg" in a CSV row.
    start = sentence.index(span)
    scores = TokenScores(*(np.zeros(1),) * 4, 1.0, (start, start + len(span)), np.zeros(1, dtype=np.int64))
    found = reader_phrase(sentence, scores)
    assert found is not None and sentence[found[0] : found[1]] == key


def test_a_table_row_is_written_as_a_sentence_and_its_reading_lands_on_the_row() -> None:
    row, header = "| Heron | Jonas Weber | Bremen | 42 |", "| Depot | Manager | City | Staff |"
    linear = linear_row(row, header)
    assert linear is not None
    sentence, where = linear
    assert sentence == "Depot Heron, Manager Jonas Weber, City Bremen, Staff 42."
    assert [sentence[a:b] for a, b, _ in where] == [row[at : at + b - a] for a, b, at in where]
    assert linear_row("Heron | Jonas Weber", "Depot | Manager") is not None  # rows as the HTML loader writes them
    assert linear_row(row, "| Depot | Manager |") is None  # a header that does not name every cell
    # Empty cells keep their column: an empty value is left out, a value under an empty name stands alone.
    assert linear_row("Saturday | 9:00 | 13:00 | ", " | Opens | Closes | Lunch break") == (
        "Saturday, Opens 9:00, Closes 13:00.",
        [(0, 8, 0), (16, 20, 11), (29, 34, 18)],
    )
    hall = linear_row("South Hall | Eva Stern |", "Warehouse |  | Region")
    assert hall is not None and hall[0] == "Warehouse South Hall, Eva Stern."
    # A reading of the sentence (token = character here) whose best span is "City Bremen": on the row, the
    # column name cannot be part of the answer.
    n = len(sentence)
    start, end = np.full(n, -5.0), np.full(n, -5.0)
    city = sentence.index("City Bremen")
    start[city], start[city + 5], end[city + 10] = 2.0, 1.0, 2.0
    offsets = np.arange(n)
    on_row = TokenScores(offsets, offsets + 1, start, end, 4.0, (city, city + 11)).on_row(where)
    assert on_row is not None and row[on_row.best[0] : on_row.best[1]] == "Bremen" and on_row.margin == 4.0


def test_the_reader_reads_a_table_row_as_a_sentence_of_its_values(reader: SpanReader) -> None:
    row, header = "| Heron | Jonas Weber | Bremen | 42 |", "| Depot | Manager | City | Staff |"
    sentence, where = linear_row(row, header) or ("", [])
    question = "Who manages the Heron depot?"
    as_cells = reader.read(question, [row], [("Depots", f"Depots\n{header}")])[0]
    as_sentence = reader.read(question, [sentence], [("Depots", "Depots")])[0]
    assert as_cells is not None and as_sentence is not None
    assert as_sentence.margin > as_cells.margin + 5  # sure where it was not
    on_row = as_sentence.on_row(where)
    assert on_row is not None and row[on_row.best[0] : on_row.best[1]] == "Jonas Weber"


def test_the_reader_tells_a_sentence_that_answers_from_one_that_does_not(reader: SpanReader) -> None:
    question = "When was the bridge opened?"
    yes, no = reader.read(
        question, ["The bridge was opened in 1932 by Mayor Anna Berg.", "The bridge is painted green every spring."]
    )
    assert yes is not None and no is not None
    assert yes.answers and not no.answers
    assert yes.margin > no.margin + 5


def test_sentences_read_side_by_side_read_as_one_by_one() -> None:
    reader = SpanReader(backend="onnx-int8")
    sentences = [sentence for _, sentence in PAIRS] + ["The bridge is painted green every spring."] * 2
    encoder = reader._model[0]  # type: ignore[index]
    assert isinstance(encoder, reader_onnx.Int8Encoder) and encoder.workers > 1
    together, workers = reader.read("When was the bridge opened?", sentences), encoder.workers
    encoder.workers = 1
    try:
        alone = reader.read("When was the bridge opened?", sentences)
    finally:
        encoder.workers = workers
    for a, b in zip(together, alone, strict=True):
        assert a is not None and b is not None
        assert np.array_equal(a.start_logp, b.start_logp) and a.margin == b.margin


def test_a_question_too_long_for_the_reader_is_read_up_to_its_limit(reader: SpanReader) -> None:
    """A question of ~200 tokens left the sentence no room, and the tokenizer raised: every answer failed."""
    sentence = "The bridge was opened in 1932 by Mayor Anna Berg."
    for question in ["When was the bridge opened? " * 60, "a," * 999]:
        (reading,) = reader.read(question, [sentence], [("Bridges", "")])
        assert reading is not None  # read: the sentence's tokens are all there to score
    (long,) = reader.read("When was the bridge opened? " + "Please answer. " * 80, [sentence])
    assert long is not None and sentence[long.best[0] : long.best[1]] == "1932"  # its start is what is read


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


def test_the_default_reader_is_the_int8_graph_and_reads_like_the_float32_model(numpy_reader: SpanReader) -> None:
    """``auto`` runs the int8 graph; its logits stay near the float32 model's, and its best spans are the
    same. A sentence is read alone, so its scores do not depend on the sentences read with it."""
    fast = SpanReader()
    assert fast.engine == "onnx-int8"
    sentences = [s for _, s in PAIRS] + ["An unrelated sentence about the weather in spring, which was mild."]
    question = PAIRS[1][0]
    for got, want in zip(fast.read(question, sentences), numpy_reader.read(question, sentences), strict=True):
        assert got is not None and want is not None
        assert np.abs(got.start_logp - want.start_logp).max() < 1.0
        assert (got.margin > 0) == (want.margin > 0) and abs(got.margin - want.margin) < 1.0
    for got, want in zip(fast.read_pairs(PAIRS), numpy_reader.read_pairs(PAIRS), strict=True):
        assert got is not None and want is not None and got.answers
        assert got.best == want.best  # the same answer span
    alone = fast.read(question, sentences[1:2])[0]
    together = fast.read(question, sentences)[1]
    assert alone is not None and together is not None
    assert np.allclose(alone.start_logp, together.start_logp, atol=1e-5)
    assert abs(alone.margin - together.margin) < 1e-4


def test_the_int8_graph_is_built_once_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    first = SpanReader(cache_dir=tmp_path)
    probe = first.probe()
    (built,) = tmp_path.glob("reader-*/reader-int8.onnx")
    stamp = built.stat().st_mtime_ns
    assert np.array_equal(SpanReader(cache_dir=tmp_path).probe(), probe)
    assert built.stat().st_mtime_ns == stamp  # reused, not rebuilt
    built.write_bytes(built.read_bytes()[:5000])  # damaged outside the program
    again = SpanReader(cache_dir=tmp_path)
    assert again.engine == "onnx-int8"
    assert np.allclose(again.probe(), probe, atol=1e-5)
    assert sorted(p.name for p in built.parent.iterdir()) == ["reader-int8.onnx", "source.txt"]  # no temporary


def test_without_onnxruntime_auto_falls_back_to_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ImportError("No module named 'onnxruntime'")

    monkeypatch.setattr(reader_onnx, "load", broken)
    assert SpanReader().engine == "numpy"
    assert not SpanReader(backend="onnx-int8").available  # asked for by name: no silent fallback


def test_an_unknown_reader_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="onnx-int8"):
        SpanReader(backend="gpu")


def test_weights_trained_with_context_read_each_sentence_with_its_title_and_previous_sentence() -> None:
    from rag.reader import CONTEXT_WORDS, with_context

    question, sentence = "When was it opened?", "It was opened in 1932 by Mayor Anna Berg."
    contexts = [("Harbour Bridge", "The harbour bridge is the oldest crossing of the river.")]
    first = with_context(question, *contexts[0])
    assert first == f"{question} [SEP] Harbour Bridge | The harbour bridge is the oldest crossing of the river."
    assert with_context(question) == question
    long = " ".join(f"w{k}" for k in range(100))
    assert with_context(question, "", long).split(" [SEP] ")[1] == " ".join(long.split()[-CONTEXT_WORDS:])

    weights = load_weights(WEIGHTS_FILE)
    plain = SpanReader(weights={**weights, "context": np.asarray(0)}, backend="numpy")
    alone = plain.read(question, [sentence])[0]
    ignored = plain.read(question, [sentence], contexts)[0]
    assert not plain.reads_context and alone is not None and ignored is not None
    assert ignored.margin == alone.margin  # weights trained without context never see it

    reading = SpanReader(weights={**weights, "context": np.asarray(1)}, backend="numpy")
    scores = reading.read(question, [sentence], contexts)[0]
    assert reading.reads_context and scores is not None
    paired = reading.read_pairs([(first, sentence)])[0]
    assert paired is not None and scores.margin == paired.margin and scores.margin != alone.margin
    assert len(scores.starts) == len(alone.starts)  # scores cover the sentence's tokens only, never the context
    assert sentence[scores.best[0] : scores.best[1]] in sentence


def test_a_list_items_marker_is_not_part_of_the_key_phrase(reader: SpanReader) -> None:
    sentence = "- Anna: organise the company offsite in Lisbon in May 2027."
    question = "Who organises the offsite?"
    (reading,) = reader.read(question, [sentence])
    span = key_phrase(sentence, question, None, reading)
    assert span is not None and sentence[span[0] : span[1]] == "Anna"


def test_an_amount_of_money_is_no_answer_to_when(reader: SpanReader) -> None:
    """ "When will Ukraine have to repay the loan?" marked "€140 billion" of the loan's sentence."""
    sentence = (
        "The mechanism would allow Ukraine to borrow up to €140 billion at little or no interest to fund its defense "
        "and reconstruction, with repayment due only when Russia eventually pays formal reparations."
    )
    question = "When will Ukraine have to repay the loan?"
    (reading,) = reader.read(question, [sentence])
    span = key_phrase(sentence, question, None, reading)
    assert span is not None and "Russia eventually pays" in sentence[span[0] : span[1]]
    (reading,) = reader.read("How much could Ukraine borrow?", [sentence])  # asked for, it stays the answer
    span = key_phrase(sentence, "How much could Ukraine borrow?", None, reading)
    assert span is not None and sentence[span[0] : span[1]] == "€140 billion"
