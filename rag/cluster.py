"""Embedding spread over a Ray cluster (``RAG_EMBEDDING_CLUSTER=host:port``): the same ``rag index``, scaled out.

Each Ray worker loads the embedding model once (an actor), then embeds batches of chunks; results come back in
order, so the index written is the same as with the in-process loop. Workers must have this package and the
model installed (a cluster started from the same environment, or a Ray ``runtime_env``). On one 2-core machine
expect parity with the plain loop; the point is that the same command scales out unchanged.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rag.embedding import Embedder
from rag.errors import RagError

logger = logging.getLogger(__name__)

BATCH = 64
"""Chunks per task: large enough that Ray's per-task cost (~1 ms) is noise next to the model's work."""

Spans = Sequence[tuple[int, int]]


class ClusterError(RagError):
    """The Ray cluster cannot be reached or a worker failed."""


class _Worker:
    """Holds one loaded model inside a Ray worker process."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.embedder = Embedder(**options)

    def fingerprint(self) -> str:
        return self.embedder.fingerprint

    def run(self, texts: list[str], spans: list[Spans]) -> tuple[np.ndarray, list[np.ndarray]]:
        return self.embedder.encode_spans(texts, spans)


def _check_reachable(address: str) -> None:
    """Fail at once on a ``host:port`` nobody listens on (``ray.init`` would retry for minutes)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto", or a form Ray resolves itself
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def embed_spans(
    address: str,
    embedder: Embedder,
    texts: Sequence[str],
    spans: Sequence[Spans],
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``embedder.encode_spans`` over the Ray cluster at ``address``, one (vector, sentence vectors) per text.

    The workers build their own copy of ``embedder`` (same model, backend and batch size) and must produce
    the same fingerprint, so their vectors are interchangeable with this process's.
    """
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:  # pragma: no cover - depends on the installation
        raise ClusterError("embedding on a cluster needs Ray: pip install 'rag-docs[ray]'") from None
    if not texts:
        return []
    started_here = not ray.is_initialized()
    if started_here:
        _check_reachable(address)
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        try:
            ray.init(address=address, log_to_driver=False, configure_logging=False, include_dashboard=False)
        except Exception as exc:  # ConnectionError, RuntimeError, ValueError: Ray raises many kinds
            raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc}") from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 1))
        threads = 2 if cpus >= 2 else 1
        workers = max(1, cpus // threads)
        options = {
            "model": embedder.name,
            "device": embedder.device,
            "batch_size": embedder.batch_size,
            "offline": embedder.offline,
            "backend": embedder.requested_backend,
            "threads": threads,
        }
        actor: Any = ray.remote(num_cpus=threads)(_Worker)
        actors = [actor.remote(options) for _ in range(workers)]
        theirs = ray.get(actors[0].fingerprint.remote())
        if theirs != embedder.fingerprint:
            raise ClusterError(f"the cluster's workers embed with {theirs}, not {embedder.fingerprint}")
        logger.info("embedding %d chunks on %d Ray workers at %s", len(texts), workers, address)
        batches = [(list(texts[i : i + BATCH]), list(spans[i : i + BATCH])) for i in range(0, len(texts), BATCH)]
        out: list[tuple[np.ndarray, np.ndarray]] = []
        pool = ActorPool(actors)
        for vectors, pooled in pool.map(lambda a, batch: a.run.remote(*batch), batches):
            out.extend(zip(vectors, pooled, strict=True))
            if progress:
                progress(len(out), len(texts))
        return out
    except ray.exceptions.RayError as exc:
        raise ClusterError(f"embedding on the Ray cluster at {address} failed: {exc}") from None
    finally:
        if started_here:
            ray.shutdown()
