"""Shared fixtures: the real packaged embedding model (loaded once), tmp copies of the seeds, and a network guard."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import socket
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

from rag import Pipeline
from rag.embedding import Embedder
from tests.servers import PgServer, RayHead, postgres, ray_head

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"

# The property and fuzz tests draw the same examples on every run, so a green run is repeatable (a landing
# gate must not fail at random); `HYPOTHESIS_PROFILE=explore pytest ...` draws new ones to look for bugs.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", print_blob=True)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "repeatable")
if _PROFILE not in ("repeatable", "explore"):
    raise pytest.UsageError(f"HYPOTHESIS_PROFILE must be 'repeatable' or 'explore', not {_PROFILE!r}")
settings.load_profile(_PROFILE)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection from test code to a non-loopback address fails loudly: the product must work offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(host):
            raise RuntimeError(f"test tried to reach the network: {address}")
        return real_connect(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


class HashEmbedder(Embedder):
    """A tiny deterministic stand-in for unit tests of storage and plumbing (never for answer quality)."""

    def __init__(self, dim: int = 16, name: str = "hash-embedder") -> None:
        super().__init__(name, backend="torch")  # a fixed backend: its fingerprint loads nothing
        self.dim = dim
        self.calls = 0

    @property
    def dimension(self) -> int:
        return self.dim

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        self.calls += len(texts)
        return self._hash(texts)

    def encode_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        self.calls += len(texts)  # one model pass per text, as with a real model
        return self._hash(texts), [self._hash([t[a:b] for a, b in s]) for t, s in zip(texts, spans, strict=True)]

    def _hash(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[i, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model (all-MiniLM-L6-v2 from its PyPI package), loaded once per test session."""
    model = Embedder("sentence-transformers/all-MiniLM-L6-v2")
    _ = model.model
    return model


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    """The same model on the sentence-transformers (torch) backend, loaded once per test session."""
    model = Embedder("sentence-transformers/all-MiniLM-L6-v2", backend="torch")
    _ = model.model
    return model


@pytest.fixture
def seeds_copy(tmp_path: Path) -> Path:
    target = tmp_path / "docs"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(scope="session")
def seeds_pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Pipeline]:
    """A pipeline over a copy of the seeds with the real model and its own index folder."""
    root = tmp_path_factory.mktemp("seeds")
    docs = root / "docs"
    shutil.copytree(SEEDS, docs)
    pipeline = Pipeline(docs_dir=docs, index_dir=root / "index", embedder=embedder)
    pipeline.index()
    yield pipeline


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A real PostgreSQL 18 + pgvector on 127.0.0.1, for the whole session."""
    with postgres() as server:
        yield server


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on that server."""
    return pg_server.create_database(f"test_{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayHead]:
    """A one-node Ray cluster listening on 127.0.0.1 only, for the whole session."""
    with ray_head() as head:
        yield head


@pytest.fixture(scope="session")
def ray_address(ray_cluster: RayHead) -> str:
    """That cluster's address (``127.0.0.1:port``)."""
    return ray_cluster.address
