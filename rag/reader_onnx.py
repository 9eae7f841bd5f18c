"""The span reader's encoder as an int8 onnxruntime graph: the same model as :class:`rag.reader.Encoder`,
several times as fast on the CPUs here.

The graph is written from the merged weights with ``onnx.helper`` (no torch, no export) for one
(question, sentence) pair at a time, so no padding is computed. onnxruntime's dynamic quantisation then
stores the weights of every linear layer as int8, per output channel (the attention products stay float32).
The file is built once per weights and cached beside the embedding model's exports (``$RAG_CACHE_DIR``);
building it takes about five seconds.

Measured on SQuAD v1.1 (2026-12-03, 2-vCPU Xeon): reading an answer's 5 sentences ~100 -> ~45 ms,
``answer()`` p50 107 -> 49 ms; dev evidence@1 0.826 -> 0.829, key-phrase F1 0.703 -> 0.704
(``benchmarks/answers.py``); given the gold sentence, held-out train F1 0.7625 float32, 0.7634 int8. Logits
differ from the float32 model's by ~0.2 on average, ~0.3 at most on the probe pair (values of a few units).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding import cache_folder, default_cache_dir, onnx_session, quantize_onnx, replacing

logger = logging.getLogger(__name__)

GRAPH_VERSION = 1
"""Bump when the graph written here changes, so that cached files are rebuilt."""
_QKV = ("attention.self.query", "attention.self.key", "attention.self.value")


def graph_file(
    tensors: Mapping[str, np.ndarray],
    heads: int,
    eps: float,
    identity: str,
    source: Path,
    cache_dir: Path | None = None,
) -> Path:
    """The cached int8 graph of the encoder ``tensors``, built first if it is not there yet; ``identity``
    names the tensors in the cache key (cheaper than hashing them: see ``rag.reader``), ``source`` is the
    weights file they came from (the cache drops the graph once it is gone)."""
    key = hashlib.sha256(f"v{GRAPH_VERSION}|{heads}|{eps}|{identity}".encode())
    folder = cache_folder(cache_dir or default_cache_dir(), f"reader-{key.hexdigest()[:16]}", source)
    target = folder / "reader-int8.onnx"
    if not target.is_file():
        import onnx

        with replacing(target) as int8:
            fp32 = int8.with_name(int8.name + ".fp32")
            try:
                onnx.save(build_graph(tensors, heads, eps), str(fp32))
                quantize_onnx(fp32, int8, op_types=["MatMul"], extra_options={"MatMulConstBOnly": True})
            finally:
                fp32.unlink(missing_ok=True)
    return target


def build_graph(tensors: Mapping[str, np.ndarray], heads: int, eps: float) -> Any:
    """An ONNX model of the encoder on one sequence: inputs ``ids``, ``positions`` and ``types`` (tokens,),
    output ``states`` (tokens, dim)."""
    from onnx import TensorProto, helper, numpy_helper

    t = {k: np.asarray(v, dtype=np.float32) for k, v in tensors.items() if k != "embeddings.position_ids"}
    nodes: list[Any] = []
    initializers: list[Any] = []

    def const(array: Any, dtype: Any = np.float32) -> str:
        name = f"c{len(initializers)}"
        initializers.append(numpy_helper.from_array(np.asarray(array, dtype=dtype), name))
        return name

    def op(kind: str, *inputs: str, **attributes: Any) -> str:
        name = f"n{len(nodes)}"
        nodes.append(helper.make_node(kind, list(inputs), [name], **attributes))
        return name

    def linear(x: str, prefix: str, *names: str) -> str:
        weight = np.concatenate([t[prefix + n + ".weight"] for n in names]).T
        bias = np.concatenate([t[prefix + n + ".bias"] for n in names])
        return op("Add", op("MatMul", x, const(np.ascontiguousarray(weight))), const(bias))

    def norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", x, const(t[prefix + ".weight"]), const(t[prefix + ".bias"]), epsilon=eps)

    dim = t["embeddings.word_embeddings.weight"].shape[1]
    size = dim // heads
    x = op(
        "Add",
        op(
            "Add",
            op("Gather", const(t["embeddings.word_embeddings.weight"]), "ids"),
            op("Gather", const(t["embeddings.position_embeddings.weight"]), "positions"),
        ),
        op("Gather", const(t["embeddings.token_type_embeddings.weight"]), "types"),
    )
    x = norm(x, "embeddings.LayerNorm")
    split = const([-1, 3, heads, size], np.int64)
    join = const([-1, dim], np.int64)
    scale = const(1 / np.sqrt(size))
    parts = [const(j, np.int64) for j in range(3)]
    half, one, root2 = const(0.5), const(1.0), const(np.sqrt(2.0))
    count = 1 + max(int(k.split(".")[2]) for k in t if k.startswith("encoder.layer."))
    for k in range(count):
        p = f"encoder.layer.{k}."
        qkv = op("Transpose", op("Reshape", linear(x, p, *_QKV), split), perm=[1, 2, 0, 3])  # (3, heads, T, size)
        q, key, v = (op("Gather", qkv, j, axis=0) for j in parts)
        scores = op("MatMul", op("Mul", q, scale), op("Transpose", key, perm=[0, 2, 1]))
        context = op("MatMul", op("Softmax", scores, axis=-1), v)
        context = op("Reshape", op("Transpose", context, perm=[1, 0, 2]), join)
        x = norm(op("Add", x, linear(context, p, "attention.output.dense")), p + "attention.output.LayerNorm")
        up = linear(x, p, "intermediate.dense")
        gelu = op("Mul", op("Mul", up, half), op("Add", op("Erf", op("Div", up, root2)), one))
        x = norm(op("Add", x, linear(gelu, p, "output.dense")), p + "output.LayerNorm")
    nodes.append(helper.make_node("Identity", [x], ["states"]))
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["tokens"]) for n in ("ids", "positions", "types")]
    states = helper.make_tensor_value_info("states", TensorProto.FLOAT, ["tokens", dim])
    graph = helper.make_graph(nodes, "span-reader", inputs, [states], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="rag-docs")
    model.ir_version = 8
    return model


class Int8Encoder:
    """:class:`rag.reader.Encoder`'s interface over the int8 graph of :func:`graph_file`.

    Each row runs alone: onnxruntime quantises a product's input with one scale for the whole input, so a
    sentence read alone gets its own scale, and its scores never depend on the sentences read with it (read
    in groups, held-out F1 given the gold sentence lost 0.002; alone it is the float32 model's). One
    intra-op thread (:func:`rag.embedding.onnx_session`), and the rows of one call run side by side on a pool
    of ``workers`` threads (4 SQuAD sentences: 22.8 -> 15.3 ms on two cores).
    """

    def __init__(self, path: Path, workers: int | None = None) -> None:
        self.session = onnx_session(path)
        self.workers = workers or os.cpu_count() or 1
        """Rows read side by side (onnxruntime's ``run`` releases the GIL and is safe to call from threads)."""
        self._pool: ThreadPoolExecutor | None = None

    def __call__(self, ids: np.ndarray, types: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Hidden states (batch, tokens, dimension) of padded ``ids`` (``mask`` 1 for real tokens, first; the
        padding's states are 0)."""
        lengths = mask.sum(axis=1).astype(np.int64).tolist()

        def run(r: int) -> np.ndarray:
            m = lengths[r]
            feed = {"ids": ids[r, :m], "positions": np.arange(m, dtype=np.int64), "types": types[r, :m]}
            return np.asarray(self.session.run(["states"], feed)[0])

        if len(lengths) > 1 and self.workers > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="span-reader")
            rows = list(self._pool.map(run, range(len(lengths))))
        else:
            rows = [run(r) for r in range(len(lengths))]
        states = np.zeros((*ids.shape, rows[0].shape[1]), dtype=np.float32)
        for r, x in enumerate(rows):
            states[r, : lengths[r]] = x
        return states


def load(
    tensors: Mapping[str, np.ndarray],
    heads: int,
    eps: float,
    identity: str,
    source: Path,
    cache_dir: Path | None = None,
) -> Int8Encoder:
    """The int8 encoder of ``tensors`` (building and caching its graph on first use, see :func:`graph_file`;
    a cached file that onnxruntime cannot load, damaged outside this program, is built again)."""
    path = graph_file(tensors, heads, eps, identity, source, cache_dir)
    try:
        return Int8Encoder(path)
    except Exception as exc:
        logger.warning("rebuilding the span reader's int8 graph %s: it could not load (%s)", path, exc)
        path.unlink(missing_ok=True)
        return Int8Encoder(graph_file(tensors, heads, eps, identity, source, cache_dir))
