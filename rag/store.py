"""The persisted index: documents, chunk offsets, vectors, FAISS and BM25, saved atomically under one folder.

Layout of ``index/``::

    CURRENT              name of the live generation (replaced atomically, last)
    FOLDER               the documents folder the live generation was synced from (replaced atomically after
                         CURRENT): a damaged index is rebuilt from that folder, never from the default one
    gen-<id>/            one complete index
        manifest.json    format version, model, dimension, chunking, files and their sizes, documents
        documents.jsonl  the text of every document (quotes are offsets into these)
        chunks.npz       per chunk: document number, start, end
        vectors.npy      float32 (chunks x dimension), L2-normalised
        sentences.npz    per chunk, its sentences' document offsets (``ptr`` gives each chunk's rows)
        sentence_vectors.npy  float16 (sentences x dimension): each sentence as read in its chunk
        dense.faiss      FAISS index over the vectors
        keyword/         bm25s index over the chunk texts

A generation is written in a temporary folder, fsynced, renamed into place, and only then named in
``CURRENT``: a crash at any moment leaves the previous generation live and complete.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from rag.chunking import Chunk
from rag.documents import Document
from rag.errors import IndexStoreError
from rag.filters import Filter
from rag.lexical import KeywordIndex, top_ids

logger = logging.getLogger(__name__)

FORMAT_VERSION = 2
FLAT_MAX = 200_000
"""Up to this many chunks FAISS searches exactly; beyond it an inverted file (IVF) keeps queries in milliseconds
(benchmarks/scale.py: recall@10 0.989, p95 22 ms at 1M)."""


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as an index holds it: where it stands, its vector, and its sentences with their vectors."""

    id: int
    """The chunk's number in its index (a FAISS row, a PostgreSQL key): what search results return."""
    chunk: Chunk
    vector: np.ndarray
    sentences: tuple[tuple[int, int], ...] = ()
    """Document offsets of the chunk's sentences."""
    sentence_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)
    """One vector per entry of ``sentences``: the sentence as read in its chunk."""


@dataclass(frozen=True)
class Catalog:
    """What an index holds, for people: how many documents and passages, and the first few documents."""

    documents: int
    chunks: int
    listed: list[tuple[str, str, int, int]]
    """(source, title, chunks, pages) of the first documents by source."""
    warnings: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    """(source, warnings) of the first documents by source that were indexed with warnings (a page without
    text, a hidden sheet, an attachment that could not be read): kept, unlike a sync's report, for as long as
    the document is indexed."""


class SearchIndex(Protocol):
    """What retrieval and answering read from an index, whichever backend holds it (FAISS files here,
    PostgreSQL + pgvector in :mod:`rag.pgstore`). Ids are the backend's chunk numbers."""

    def __len__(self) -> int: ...

    def document(self, source: str) -> Document: ...

    def excerpt(self, source: str, start: int, end: int) -> str:
        """``document(source).text[start:end]``, without reading the whole document where the backend can."""
        ...

    def page_at(self, source: str, offset: int) -> int | None: ...

    def dense_search(self, vector: np.ndarray, k: int, where: Filter | None = None) -> np.ndarray:
        """Ids of the ``k`` chunks nearest to ``vector`` (inner product), best first."""
        ...

    def keyword_search(self, query: str, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Ids and BM25 scores of the ``k`` best-scoring chunks (score > 0), best first."""
        ...

    def fetch(self, ids: Sequence[int]) -> list[StoredChunk]:
        """The chunks with these ids, in the same order."""
        ...

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 inverse document frequency of each (tokenized) term over the indexed chunks."""
        ...

    def catalog(self, limit: int = 50) -> Catalog: ...

    def sources(self, where: Filter | None = None) -> list[str]:
        """The sources (paths relative to the documents folder) of the documents that pass ``where``, sorted."""
        ...


class FormatVersionError(ValueError):
    """The index was written by a version of this program with another on-disk format."""


@dataclass(frozen=True)
class DocumentRecord:
    """What the manifest keeps of a document, to tell later whether its file changed."""

    source: str
    title: str
    fingerprint: str
    size: int = 0
    mtime_ns: int = 0
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def of(cls, document: Document, size: int = 0, mtime_ns: int = 0) -> DocumentRecord:
        return cls(
            document.source,
            document.title,
            document.fingerprint,
            size,
            mtime_ns,
            document.pages,
            document.sections,
            document.warnings,
        )

    def document(self, text: str) -> Document:
        return Document(self.source, self.title, text, self.fingerprint, self.pages, self.sections, self.warnings)


@dataclass
class Manifest:
    model: str
    dimension: int
    chunking: dict[str, Any]
    documents: list[DocumentRecord]
    chunks: int
    faiss: str
    format_version: int = FORMAT_VERSION
    created: float = field(default_factory=time.time)
    files: dict[str, int] = field(default_factory=dict)
    docs_dir: str = ""
    """The documents folder the index holds (absolute), so a run that names none syncs that one again; empty in
    indexes written before it was recorded."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("format_version") != FORMAT_VERSION:
            raise FormatVersionError(
                f"it was written in format {data.get('format_version')} and this version reads {FORMAT_VERSION}"
            )
        data["documents"] = [
            DocumentRecord(
                **{
                    **d,
                    "pages": tuple(d.get("pages", ())),
                    "sections": tuple((int(o), str(h)) for o, h in d.get("sections", ())),
                    "warnings": tuple(d.get("warnings", ())),
                }
            )
            for d in data["documents"]
        ]
        return cls(**data)


def build_faiss(vectors: np.ndarray) -> Any:
    """Exact inner-product search while it is fast enough, an inverted file (IVF) beyond :data:`FLAT_MAX`.

    IVF rather than HNSW, measured at 1M MiniLM-derived vectors (benchmarks/scale.py, busy machine): IVF4096
    with 64 lists probed gave recall@10 0.986 at p95 7 ms and built in 137 s; HNSW32 (efConstruction 40,
    efSearch 256) gave 0.79 and took 798 s. IVF lists are also memory-mapped on load (``IO_FLAG_MMAP``).
    """
    import faiss

    n, dim = vectors.shape
    index: Any
    if n <= FLAT_MAX:
        index = faiss.IndexFlatIP(dim)
    else:
        lists, probes, sample = ivf_shape(n)
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        # k-means on an evenly spread sample (deterministic: the same vectors give the same index).
        index.train(np.ascontiguousarray(vectors[:: max(1, n // sample)][:sample]))
        index.nprobe = probes  # saved with the index, so a loaded index searches the same way
    if n:
        index.add(vectors)
    return index


def ivf_shape(n: int) -> tuple[int, int, int]:
    """(lists, lists probed per query, k-means training sample) for an IVF index of ``n`` vectors.

    About 4 sqrt(n) lists (a power of two: 2048 at 200k, 4096 at 1M) keeps a few hundred vectors per list;
    probing 64 of them scans ~1.5% of 1M vectors. Training on 64 vectors per list is what k-means needs.
    """
    lists = 1 << max(8, round(np.log2(4 * np.sqrt(n))))
    return lists, min(64, lists), min(n, 64 * lists)


class Store:
    """An index in memory: documents, chunk offsets, vectors, the FAISS index and the BM25 index."""

    def __init__(
        self,
        manifest: Manifest,
        documents: list[Document],
        chunk_doc: np.ndarray,
        chunk_start: np.ndarray,
        chunk_end: np.ndarray,
        vectors: np.ndarray,
        dense: Any,
        keyword: KeywordIndex,
        sentences: SentenceTable | None = None,
    ) -> None:
        self.manifest = manifest
        self.documents = documents
        self.chunk_doc = chunk_doc
        self.chunk_start = chunk_start
        self.chunk_end = chunk_end
        self.vectors = vectors
        self.dense = dense
        self.keyword = keyword
        self.sentences = sentences or SentenceTable.empty(len(chunk_doc), vectors.shape[1] if vectors.ndim == 2 else 0)
        self._by_source = {d.source: i for i, d in enumerate(documents)}
        self._allowed: dict[Filter, tuple[np.ndarray, Any]] = {}
        """Per recent filter: the ids it allows and a FAISS selector of them (a hash set, costly to build)."""

    # ---- building -------------------------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        documents: list[Document],
        chunks: list[Chunk],
        vectors: np.ndarray,
        model: str,
        chunking: dict[str, Any],
        records: list[DocumentRecord] | None = None,
        sentences: SentenceTable | None = None,
    ) -> Store:
        """Assemble a store from documents, their chunks (grouped by document, in order), chunk vectors and
        optionally each chunk's sentences with their vectors."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        if sentences is not None and sentences.chunks != len(chunks):
            raise ValueError(f"{len(chunks)} chunks but sentences for {sentences.chunks}")
        number = {d.source: i for i, d in enumerate(documents)}
        chunk_doc = np.fromiter((number[c.source] for c in chunks), dtype=np.int32, count=len(chunks))
        chunk_start = np.fromiter((c.start for c in chunks), dtype=np.int64, count=len(chunks))
        chunk_end = np.fromiter((c.end for c in chunks), dtype=np.int64, count=len(chunks))
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dense = build_faiss(vectors)
        keyword = KeywordIndex.build([c.text for c in chunks])
        records = records or [DocumentRecord.of(d) for d in documents]
        manifest = Manifest(
            model=model,
            dimension=int(vectors.shape[1]),
            chunking=chunking,
            documents=records,
            chunks=len(chunks),
            faiss=type(dense).__name__,
        )
        return cls(manifest, documents, chunk_doc, chunk_start, chunk_end, vectors, dense, keyword, sentences)

    # ---- reading ---------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.chunk_doc)

    def document(self, source: str) -> Document:
        return self.documents[self._by_source[source]]

    def excerpt(self, source: str, start: int, end: int) -> str:
        return self.document(source).text[max(start, 0) : max(end, 0)]

    def chunk(self, i: int) -> Chunk:
        doc = self.documents[int(self.chunk_doc[i])]
        start, end = int(self.chunk_start[i]), int(self.chunk_end[i])
        ordinal = i - int(np.searchsorted(self.chunk_doc, self.chunk_doc[i]))
        return Chunk(doc.source, doc.title, doc.text[start:end], start, end, ordinal, doc.section_from(start))

    def page_at(self, source: str, offset: int) -> int | None:
        return self.document(source).page_at(offset)

    def dense_search(self, vector: np.ndarray, k: int, where: Filter | None = None) -> np.ndarray:
        import faiss

        query = np.ascontiguousarray(vector, dtype=np.float32)[None, :]
        if where is None:
            _, ids = self.dense.search(query, min(k, len(self)))
            return ids[0][ids[0] >= 0]
        allowed = self.allowed(where)
        if not len(allowed):
            return allowed
        # The selector filters inside the search, so k results come back however selective the filter is.
        ivf = isinstance(self.dense, faiss.IndexIVF)
        params: Any = faiss.SearchParametersIVF() if ivf else faiss.SearchParameters()
        params.sel = self._allowed[where][1]
        if ivf:
            params.nprobe = self.dense.nprobe
        _, ids = self.dense.search(query, min(k, len(allowed)), params=params)
        return ids[0][ids[0] >= 0]

    def keyword_search(self, query: str, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        scores = self.keyword.scores(query)
        if where is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[self.allowed(where)] = True
            scores = np.where(mask, scores, 0.0).astype(np.float32)
        ids = top_ids(scores, k)
        return ids, scores[ids]

    def fetch(self, ids: Sequence[int]) -> list[StoredChunk]:
        out = []
        for i in ids:
            spans, vectors = self.sentences.of_chunk(int(i))
            vector = np.asarray(self.vectors[int(i)], dtype=np.float32)
            out.append(StoredChunk(int(i), self.chunk(int(i)), vector, tuple(spans), vectors if spans else None))
        return out

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        return self.keyword.idf(terms)

    def catalog(self, limit: int = 50) -> Catalog:
        listed = [(d.source, d.title, len(self.chunks_of(d.source)), len(d.pages)) for d in self.documents[:limit]]
        warned = [(d.source, d.warnings) for d in self.documents if d.warnings][:limit] if limit else []
        return Catalog(len(self.documents), len(self), listed, warned)

    def sources(self, where: Filter | None = None) -> list[str]:
        return sorted(d.source for d in self.documents if where is None or where.matches(d.source, d.title))

    def allowed(self, where: Filter) -> np.ndarray:
        """Ids of the chunks of the documents that pass ``where`` (kept for the few filters last used)."""
        import faiss

        if where not in self._allowed:
            ranges = [self.chunks_of(d.source) for d in self.documents if where.matches(d.source, d.title)]
            parts = [np.arange(r.start, r.stop, dtype=np.int64) for r in ranges]
            ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
            if len(self._allowed) >= 16:
                self._allowed.pop(next(iter(self._allowed)))
            self._allowed[where] = (ids, faiss.IDSelectorBatch(ids))
        return self._allowed[where][0]

    def chunks_of(self, source: str) -> range:
        """Chunk numbers of one document (chunks are stored grouped by document)."""
        number = self._by_source[source]
        return range(
            int(np.searchsorted(self.chunk_doc, number, "left")),
            int(np.searchsorted(self.chunk_doc, number, "right")),
        )

    # ---- persistence -----------------------------------------------------------------------------------

    def save(self, index_dir: Path) -> Path:
        """Write a new generation under ``index_dir`` and make it current, atomically. Returns its folder."""
        import faiss

        index_dir.mkdir(parents=True, exist_ok=True)
        tmp = index_dir / f".tmp-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()
        try:
            with open(tmp / "documents.jsonl", "w", encoding="utf-8") as f:
                for d in self.documents:
                    f.write(json.dumps({"source": d.source, "text": d.text}, ensure_ascii=False) + "\n")
            np.savez(tmp / "chunks.npz", doc=self.chunk_doc, start=self.chunk_start, end=self.chunk_end)
            np.save(tmp / "vectors.npy", self.vectors)
            self.sentences.save(tmp)
            faiss.write_index(self.dense, str(tmp / "dense.faiss"))
            self.keyword.save(tmp / "keyword")
            self.manifest.files = {
                p.relative_to(tmp).as_posix(): p.stat().st_size for p in sorted(tmp.rglob("*")) if p.is_file()
            }
            (tmp / "manifest.json").write_text(self.manifest.to_json(), encoding="utf-8")
            for p in tmp.rglob("*"):
                if p.is_file():
                    _fsync(p)
            final = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
            os.rename(tmp, final)
            _fsync_dir(index_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _write_atomically(index_dir / "CURRENT", final.name + "\n")
        if self.manifest.docs_dir:
            _write_atomically(index_dir / "FOLDER", self.manifest.docs_dir + "\n")
        _fsync_dir(index_dir)
        _remove_stale(index_dir, keep=final.name)
        logger.info("saved index generation %s (%d chunks)", final.name, len(self))
        return final

    @classmethod
    def read_manifest(cls, index_dir: Path) -> Manifest:
        """The live generation's manifest; raises :class:`IndexStoreError` if there is no complete index."""
        folder = current_generation(index_dir)
        try:
            manifest = Manifest.from_json((folder / "manifest.json").read_text(encoding="utf-8"))
        except FormatVersionError as exc:
            raise IndexStoreError(f"index at {index_dir} is out of date: {exc}") from None
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexStoreError(f"index at {index_dir} is corrupt: unreadable manifest ({exc})") from None
        for name, size in manifest.files.items():
            path = folder / name
            if not path.is_file() or path.stat().st_size != size:
                raise IndexStoreError(f"index at {index_dir} is corrupt: {name} is missing or truncated")
        return manifest

    @classmethod
    def held_folder(cls, index_dir: Path) -> str | None:
        """The documents folder the index was synced from, even when the index is damaged: from the live
        manifest if it parses (its data files may be broken), else from ``FOLDER``; None if neither says."""
        with contextlib.suppress(IndexStoreError, OSError, ValueError, TypeError, AttributeError):
            held = json.loads((current_generation(index_dir) / "manifest.json").read_text(encoding="utf-8"))
            if isinstance(held.get("docs_dir"), str) and held["docs_dir"]:
                return str(held["docs_dir"])
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return (index_dir / "FOLDER").read_text(encoding="utf-8").removesuffix("\n") or None  # as written
        return None

    @classmethod
    def load(cls, index_dir: Path, mmap: bool = True) -> Store:
        """Load the live generation; raises :class:`IndexStoreError` if it is missing or damaged."""
        import faiss

        manifest = cls.read_manifest(index_dir)
        folder = current_generation(index_dir)
        try:
            texts: dict[str, str] = {}
            with open(folder / "documents.jsonl", encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    texts[row["source"]] = row["text"]
            documents = [r.document(texts[r.source]) for r in manifest.documents]
            with np.load(folder / "chunks.npz") as arrays:
                chunk_doc, chunk_start, chunk_end = arrays["doc"], arrays["start"], arrays["end"]
            vectors = np.load(folder / "vectors.npy", mmap_mode="r" if mmap else None)
            flags = faiss.IO_FLAG_MMAP if mmap and manifest.faiss != "IndexFlatIP" else 0
            dense = faiss.read_index(str(folder / "dense.faiss"), flags)
            keyword = KeywordIndex.load(folder / "keyword", mmap=mmap)
            sentences = SentenceTable.load(folder, mmap=mmap)
            sentences.check(chunk_start, chunk_end, manifest.dimension)
        except (OSError, ValueError, KeyError, RuntimeError, json.JSONDecodeError, zipfile.BadZipFile) as exc:
            raise IndexStoreError(f"index at {index_dir} is corrupt: {exc}") from None
        sizes = {len(chunk_doc), len(chunk_start), len(chunk_end), len(vectors), dense.ntotal, len(keyword)}
        sizes.add(sentences.chunks)
        if sizes != {manifest.chunks} or len(sentences.vectors) != len(sentences.start):
            raise IndexStoreError(f"index at {index_dir} is corrupt: part sizes {sorted(sizes)} disagree")
        return cls(manifest, documents, chunk_doc, chunk_start, chunk_end, vectors, dense, keyword, sentences)


@dataclass
class SentenceTable:
    """Each chunk's sentences: document offsets and vectors, rows ``ptr[i]:ptr[i + 1]`` for chunk ``i``.

    Vectors are float16 (half the disk and memory; cosines change by < 0.001) and memory-mapped on load.
    """

    ptr: np.ndarray
    start: np.ndarray
    end: np.ndarray
    vectors: np.ndarray

    @property
    def chunks(self) -> int:
        return len(self.ptr) - 1

    @classmethod
    def empty(cls, chunks: int, dimension: int) -> SentenceTable:
        """No sentence vectors (they are then computed when needed)."""
        zeros = np.zeros(0, dtype=np.int64)
        return cls(np.zeros(chunks + 1, dtype=np.int64), zeros, zeros, np.zeros((0, dimension), dtype=np.float16))

    @classmethod
    def of(cls, rows: list[tuple[list[tuple[int, int]], np.ndarray]], dimension: int) -> SentenceTable:
        """From one ``(spans, vectors)`` pair per chunk, in chunk order."""
        counts = [len(spans) for spans, _ in rows]
        ptr = np.zeros(len(rows) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(counts)
        spans = [span for chunk_spans, _ in rows for span in chunk_spans]
        start = np.fromiter((s for s, _ in spans), dtype=np.int64, count=len(spans))
        end = np.fromiter((e for _, e in spans), dtype=np.int64, count=len(spans))
        parts = [np.asarray(v, dtype=np.float16).reshape(-1, dimension) for _, v in rows]
        vectors = np.concatenate(parts) if parts else np.zeros((0, dimension), dtype=np.float16)
        return cls(ptr, start, end, vectors)

    def of_chunk(self, i: int) -> tuple[list[tuple[int, int]], np.ndarray]:
        """Chunk ``i``'s sentence spans (document offsets) and their vectors."""
        a, b = int(self.ptr[i]), int(self.ptr[i + 1])
        return list(zip(self.start[a:b].tolist(), self.end[a:b].tolist(), strict=True)), self.vectors[a:b]

    def check(self, chunk_start: np.ndarray, chunk_end: np.ndarray, dimension: int) -> None:
        """Raise ValueError unless the table fits the chunks: rows in order, spans inside their chunk."""
        rows = len(self.start)
        if (
            len(self.ptr) != len(chunk_start) + 1
            or self.ptr[0] != 0
            or self.ptr[-1] != rows
            or np.any(np.diff(self.ptr) < 0)
            or len(self.end) != rows
            or self.vectors.ndim != 2
            or len(self.vectors) != rows
            or (rows and self.vectors.shape[1] != dimension)
        ):
            raise ValueError("the sentence table does not fit the chunks")
        owner = np.repeat(np.arange(len(chunk_start)), np.diff(self.ptr))
        inside = (chunk_start[owner] <= self.start) & (self.start < self.end) & (self.end <= chunk_end[owner])
        if not inside.all():
            raise ValueError("a sentence lies outside its chunk")

    def save(self, folder: Path) -> None:
        np.savez(folder / "sentences.npz", ptr=self.ptr, start=self.start, end=self.end)
        np.save(folder / "sentence_vectors.npy", np.ascontiguousarray(self.vectors, dtype=np.float16))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> SentenceTable:
        with np.load(folder / "sentences.npz") as arrays:
            ptr, start, end = arrays["ptr"], arrays["start"], arrays["end"]
        vectors = np.load(folder / "sentence_vectors.npy", mmap_mode="r" if mmap else None)
        return cls(ptr, start, end, vectors)


def current_generation(index_dir: Path) -> Path:
    pointer = index_dir / "CURRENT"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexStoreError(f"no index at {index_dir}") from None
    except OSError as exc:
        raise IndexStoreError(f"index at {index_dir} is unreadable: {exc}") from None
    folder = index_dir / name
    if not name.startswith("gen-") or "/" in name or not folder.is_dir():
        raise IndexStoreError(f"index at {index_dir} is corrupt: CURRENT names a missing generation {name!r}")
    return folder


def _remove_stale(index_dir: Path, keep: str) -> None:
    """Delete older generations and leftovers of interrupted writes (never the live one)."""
    for path in index_dir.iterdir():
        if path.name == keep or path.name in {"CURRENT", "FOLDER", ".gitignore"}:
            continue
        if path.name.startswith(("gen-", ".tmp-", ".CURRENT-", ".FOLDER-")):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    """``path`` holds ``text`` or what it held before, never a part: written beside it, fsynced, renamed."""
    tmp = path.with_name(f".{path.name}-{uuid.uuid4().hex[:6]}")
    tmp.write_text(text, encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # some filesystems do not allow fsync on folders
        _fsync(path)
