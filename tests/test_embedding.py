"""The embedding backends: the fast onnx path gives the torch vectors, int8 is kept apart, queries stay light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.chunking import chunk_document, sentence_spans
from rag.documents import iter_files, load_file
from rag.embedding import Embedder, onnx_unsupported_reason, pool_spans, resolve_model
from rag.errors import ModelLoadError

ROOT = Path(__file__).resolve().parent.parent
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def seed_chunks() -> list[str]:
    texts = []
    for path in iter_files(ROOT / "seeds"):
        texts.extend(c.text for c in chunk_document(load_file(path, path.name)))
    # One text far beyond the 256-token limit: both backends must truncate it the same way.
    texts.append(" ".join(texts))
    return texts


@pytest.fixture(scope="module")
def torch_vectors(torch_embedder: Embedder) -> np.ndarray:
    return torch_embedder.encode(seed_chunks())


@pytest.mark.slow
def test_onnx_vectors_match_torch_on_the_seed_chunks(torch_vectors: np.ndarray) -> None:
    onnx = Embedder(MODEL, backend="onnx")
    vectors = onnx.encode(seed_chunks())
    assert onnx.backend == "onnx"
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.min() > 0.999, cosines.min()
    # A question embedded alone (no batch padding) gives the same vector as in a batch.
    np.testing.assert_allclose(onnx.encode_query(seed_chunks()[0]), vectors[0], atol=1e-5)


@pytest.mark.slow
def test_sentence_vectors_come_from_the_chunk_pass_the_same_on_both_backends(torch_vectors: np.ndarray) -> None:
    texts = seed_chunks()
    spans = [sentence_spans(t) for t in texts]
    by_backend = {b: Embedder(MODEL, backend=b).encode_spans(texts, spans) for b in ("onnx", "torch")}
    (onnx_vectors, onnx_sentences), (torch_chunks, torch_sentences) = by_backend["onnx"], by_backend["torch"]
    assert np.sum(onnx_vectors * torch_vectors, axis=1).min() > 0.999  # the chunk vectors are plain encode()
    assert np.sum(torch_chunks * torch_vectors, axis=1).min() > 0.999
    alone = Embedder(MODEL, backend="onnx")
    nearest_is_itself = []
    for text, text_spans, a, b in zip(texts[:-1], spans, onnx_sentences, torch_sentences, strict=False):
        assert a.shape == b.shape == (len(text_spans), 384)
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        assert np.sum(a * b, axis=1).min() > 0.999
        # Read in its chunk, a sentence is still mostly about what it says: usually closest to itself alone.
        own = alone.encode([text[s:e] for s, e in text_spans])
        nearest_is_itself.extend(np.argmax(a @ own.T, axis=1) == np.arange(len(text_spans)))
    assert np.mean(nearest_is_itself) > 0.8  # 0.89 on the seeds; the rest lean towards their neighbours
    # The long text is cut at 256 tokens: the sentence the cut falls in, and every one after it, is embedded alone.
    last_text, last_spans = texts[-1], spans[-1]
    _, [(_, offsets)] = alone.encode_tokens([last_text])
    reached = max(b for _, b in offsets)
    crossing = next(k for k, (s, e) in enumerate(last_spans) if s < reached < e)
    for k in (crossing, len(last_spans) - 1):
        s, e = last_spans[k]
        np.testing.assert_allclose(onnx_sentences[-1][k], alone.encode([last_text[s:e]])[0], atol=1e-5)


def test_span_pooling_averages_the_tokens_inside_and_leaves_cut_spans_to_be_embedded_alone() -> None:
    hidden = np.eye(4, dtype=np.float32)  # one distinct state per token
    offsets = [(0, 0), (0, 5), (6, 11), (12, 15)]  # [CLS] "Hello" "world" "and" (cut here: "and more.")
    pooled = pool_spans(hidden, offsets, [(0, 11), (6, 11), (12, 21)])
    np.testing.assert_allclose(pooled[0], np.array([0, 1, 1, 0]) / np.sqrt(2), atol=1e-6)
    np.testing.assert_allclose(pooled[1], [0, 0, 1, 0], atol=1e-6)
    assert not pooled[2].any()  # "and more." reaches past the last token: zero, so the caller embeds it alone


@pytest.mark.slow
def test_int8_stays_close_but_has_its_own_fingerprint(torch_vectors: np.ndarray) -> None:
    int8 = Embedder(MODEL, backend="onnx-int8")
    vectors = int8.encode(seed_chunks())
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.mean() > 0.98, cosines.mean()
    # Each chunk's nearest torch vector is its own: quantisation does not reorder the seeds.
    assert (np.argmax(vectors @ torch_vectors.T, axis=1) == np.arange(len(vectors))).all()
    assert int8.fingerprint != Embedder(MODEL, backend="torch").fingerprint


def test_the_int8_graph_runs_plain_layer_norms_that_compute_what_the_fused_ones_did(tmp_path: Path) -> None:
    """The int8 file has its fused SkipLayerNormalization nodes split (they were slow there); the split graph
    gives the fused graph's states to float precision when both run unquantised."""
    import onnx
    import onnxruntime as ort

    from rag.embedding import default_cache_dir, onnx_model_file, split_skip_layer_norms

    folder = Path(resolve_model(MODEL))
    int8 = onnx_model_file(folder, default_cache_dir(), quantized=True)
    kinds = [n.op_type for n in onnx.load(str(int8)).graph.node]
    assert "SkipLayerNormalization" not in kinds and kinds.count("LayerNormalization") == 12
    fused = onnx_model_file(folder, default_cache_dir(), quantized=False)
    split = tmp_path / "split.onnx"
    split.write_bytes(fused.read_bytes())
    split_skip_layer_norms(split)
    assert "SkipLayerNormalization" in [n.op_type for n in onnx.load(str(fused)).graph.node]
    ids = np.asarray([[101, 7592, 2088, 2003, 2204, 1012, 102]], dtype=np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    states = []
    for path in (fused, split):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        states.append(session.run(None, {k: v for k, v in feed.items() if k in names})[0])
    assert np.abs(states[0] - states[1]).max() < 1e-4


@pytest.mark.slow
def test_a_reinstall_does_not_leave_the_old_export_in_the_cache(tmp_path: Path) -> None:
    """Exports are keyed by the model folder's path, so each new virtual environment makes one (~100 MB): the
    export of a folder that is gone, unused for a day, is removed when the next export is made."""
    import os
    import shutil
    import time

    from rag.embedding import SOURCE_RECORD, UNUSED_FOR, onnx_model_file

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "chat-history.key").write_bytes(b"k" * 32)
    old_venv = tmp_path / "old-venv" / "model"
    shutil.copytree(resolve_model(MODEL), old_venv)
    old = onnx_model_file(old_venv, cache, quantized=False).parent
    assert (old / SOURCE_RECORD).read_text(encoding="utf-8") == str(old_venv.resolve())
    shutil.rmtree(old_venv.parent)
    os.utime(old / SOURCE_RECORD, (time.time() - UNUSED_FOR - 60,) * 2)  # last used over a day ago

    new = onnx_model_file(Path(resolve_model(MODEL)), cache, quantized=False).parent
    assert new != old and (new / "model.onnx").is_file()
    assert sorted(p.name for p in cache.iterdir()) == sorted(["chat-history.key", new.name])


def test_only_this_caches_folders_unused_for_a_day_are_pruned(tmp_path: Path) -> None:
    """Found by a review: any folder with an .onnx file or a source.txt was removed, another program's too."""
    import os
    import time

    from rag.embedding import SOURCE_RECORD, UNUSED_FOR, prune_cache

    def folder(name: str, files: dict[str, str], age: float) -> Path:
        path = tmp_path / name
        path.mkdir()
        for file, text in files.items():
            (path / file).write_text(text, encoding="utf-8")
        for item in [*path.iterdir(), path]:
            os.utime(item, (time.time() - age,) * 2)
        return path

    day = UNUSED_FOR + 60
    gone = str(tmp_path / "deleted-venv" / "model")
    stale = folder("model-0123456789abcdef", {SOURCE_RECORD: gone, "model-int8.onnx": "x"}, day)
    older_version = folder("model-1111111111111111", {"model.onnx": "x"}, day)
    folder("model-2222222222222222", {SOURCE_RECORD: gone, "model.onnx": "x"}, 60)  # used a minute ago
    folder("model-3333333333333333", {SOURCE_RECORD: str(tmp_path), "model.onnx": "x"}, day)  # its source is there
    folder("other-app-model", {"model.onnx": "x"}, day)  # not a name this cache gives
    folder("notes-0123456789abcdef", {SOURCE_RECORD: gone, "notes.md": "mine"}, day)  # a file it never writes
    assert prune_cache(tmp_path) == [stale, older_version]
    assert prune_cache(tmp_path / "missing") == []


@pytest.mark.slow
def test_an_int8_vector_does_not_depend_on_the_texts_embedded_with_it() -> None:
    """Dynamic int8 quantisation scales a batch's activations together: batched, a chunk's vector would change
    with its neighbours (cosine 0.992 beside a long text), and one sync would not give the next one's vectors."""
    int8 = Embedder(MODEL, backend="onnx-int8", batch_size=8)
    chunk = seed_chunks()[0]
    alone = int8.encode([chunk])
    beside = int8.encode([chunk, "Ministers met in Brussels on Tuesday. " * 20, "Yes."])
    np.testing.assert_array_equal(alone[0], beside[0])
    vectors, _ = int8.encode_spans([chunk, "Ministers met in Brussels on Tuesday. " * 20], [[(0, 20)], [(0, 9)]])
    np.testing.assert_array_equal(vectors[0], alone[0])  # the indexing path too


def test_fingerprint_is_shared_by_backends_that_give_the_same_vectors() -> None:
    names = {Embedder(MODEL, backend=b).fingerprint for b in ("torch", "onnx")}
    assert names == {MODEL}
    assert Embedder(MODEL, backend="onnx-int8").fingerprint == f"{MODEL} [onnx-int8 v2]"


@pytest.mark.slow
def test_auto_records_the_backend_that_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``auto`` is int8 where the export works; where it fails, auto embeds with torch and says so in its
    fingerprint, so an index never records int8 for torch vectors."""
    default = Embedder(MODEL)
    assert default.fingerprint == f"{MODEL} [onnx-int8 v2]" and default.backend == "onnx-int8"

    def export_fails(*args: object) -> Path:
        raise RuntimeError("exporter crashed")

    monkeypatch.setattr("rag.embedding.onnx_model_file", export_fails)
    fallback = Embedder(MODEL, cache_dir=tmp_path)
    assert fallback.fingerprint == MODEL and fallback.backend == "torch"


def test_unknown_backend_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'tensorrt'"):
        Embedder(MODEL, backend="tensorrt")


def test_models_the_onnx_path_cannot_run_are_recognised(tmp_path: Path) -> None:
    packaged = Path(resolve_model(MODEL))
    assert onnx_unsupported_reason(str(packaged)) is None
    assert onnx_unsupported_reason("some/hub-model") == "not a local folder"
    model = tmp_path / "cls-model"
    model.mkdir()
    for name in ("config.json", "tokenizer.json", "modules.json"):
        (model / name).write_bytes((packaged / name).read_bytes())
    (model / "1_Pooling").mkdir()
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    assert "not mean pooling" in str(onnx_unsupported_reason(str(model)))
    with pytest.raises(ModelLoadError, match="not mean pooling"):
        Embedder(str(model), backend="onnx").encode(["x"])


@pytest.mark.slow
def test_a_query_on_the_default_backend_imports_neither_torch_nor_sentence_transformers() -> None:
    Embedder(MODEL).encode(["warm the export cache"])  # the one-time export may use torch
    code = (
        "import sys; from rag.embedding import Embedder; "
        f"e = Embedder({MODEL!r}); v = e.encode_query('Who is the EU Defence Commissioner?'); "
        "print(e.backend, v.shape[0], 'torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["onnx-int8", "384", "False", "False"], out.stderr[-2000:]
