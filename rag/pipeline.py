"""The :class:`Pipeline`: owns the settings, the models and the index; indexes folders and answers questions."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import logging
import os
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import numpy as np

from rag.acronyms import (
    age_group_written,
    as_written,
    expand,
    is_written,
    spelled_out,
    with_age_groups,
    with_dates,
)
from rag.answering import (
    CANNOT_SUMMARISE,
    Answer,
    Answerer,
    ExtractiveAnswerer,
    asks_for_overview,
    asks_for_summary,
    names_unwritten,
    question_names,
)
from rag.chunking import CHUNKER_VERSION, Chunk, chunk_document, sentence_spans
from rag.conversation import Message, guess_follow_up, resolve_follow_up, standalone_question
from rag.documents import LOADER_VERSIONS, OCR_LOADERS, Document, iter_files, load_file
from rag.embedding import Embedder
from rag.errors import DocumentError, DocumentsFolderError, IndexStoreError, QuestionError
from rag.evidence import EvidenceScorer
from rag.filters import FIELDS, Filter, FilterSpec
from rag.formats.ocr import LATE as OCR_LATE
from rag.formats.ocr import OCR_MARK, Ocr
from rag.formats.pdf import CUT_SHORT as PDF_CUT_SHORT
from rag.formats.pdf import NO_TEXT as PDF_NO_TEXT
from rag.formats.pptx import NO_TEXT as PPTX_NO_TEXT
from rag.lexical import KEYWORD_VERSION
from rag.overview import (
    ASKS_RELEASED,
    LATEST,
    ask_about_latest,
    latest_release,
    named_documents,
    overview,
    release_date,
)
from rag.reader import SpanReader
from rag.reranking import CrossEncoderReranker, SentenceReranker, load_reranker
from rag.retrieval import Passage, Retriever
from rag.settings import Settings
from rag.store import DocumentRecord, SearchIndex, SentenceTable, Store, StoredChunk
from rag.terms import Definition, asks_who_is, definitions, named_party, who_is, with_terms

logger = logging.getLogger(__name__)

ACRONYM_SCAN_CHUNKS = 50_000
"""Above this many chunks (~30 MB of text, ~1.5 s to search per acronym) the documents are not searched for the
acronyms they spell out."""

SUMMARY_LOOKUP = 1000
"""A request for a summary is matched against the names of the first this many documents (by path), and the list
of documents it may get counts a title's copies among them."""

Progress = Callable[[int, int, str], None]
"""Called as ``progress(done, total, what)`` while indexing."""
_FileState = tuple[int, int, int, int, str]
"""A file's size, modification and change times, its type's loader version and the OCR that could read it."""
SKIPPED_FILE = "skipped.json"
"""In the index folder: the files skipped and why, so that they are not read again until they change."""


@dataclass
class IndexReport:
    """What an indexing run did, file by file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    reread: list[str] = field(default_factory=list)
    """Unchanged files read again: the loader of their type is newer than the one that read them, or they were
    read in part (a PDF over its time budget, scanned pages before OCR could run)."""
    skipped: list[DocumentError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Files indexed but possibly incomplete, e.g. a PDF page without text (a scanned image?)."""
    duplicates: list[tuple[str, str]] = field(default_factory=list)
    """Added or changed files with the same content as another file of the folder: ``(file, the other)``.
    Both stay indexed (each is a document of its own); answers list their common text once."""
    renamed: list[tuple[str, str]] = field(default_factory=list)
    """Removed files whose content came back under another name: ``(old name, new name)``. Each is in ``added``
    and in ``removed`` too (the index keeps documents by name); its vectors are reused."""
    chunks: int = 0
    embedded: int = 0
    """Chunks embedded in this run (0 when the index was reused as it was)."""
    reused: int = 0
    """Chunks of added or changed files whose text the index already held (the unchanged part of an edited
    file, a renamed file): their vectors were copied, not computed again."""
    seconds: float = 0.0
    rebuilt: str | None = None
    """Why the whole index was rebuilt (no index, corrupt, other model or chunking), if it was."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.reread or self.rebuilt)

    def summary(self) -> str:
        parts = [  # a renamed file is counted as renamed, not also as added and removed
            f"{len(self.added) - len(self.renamed)} added",
            f"{len(self.updated)} updated",
            f"{len(self.removed) - len(self.renamed)} removed",
            f"{len(self.unchanged)} unchanged",
            f"{len(self.skipped)} skipped",
        ]
        if self.reread:
            parts.insert(4, f"{len(self.reread)} re-read (newer loader or OCR)")
        if self.renamed:
            parts.insert(3, f"{len(self.renamed)} renamed")
        work = f"{self.embedded} embedded" + (f", {self.reused} reused" if self.reused else "")
        return f"{', '.join(parts)}; {self.chunks} chunks ({work}) in {self.seconds:.1f} s"


class Pipeline:
    """Documents folder + index folder + models: everything needed to answer questions.

    Models and the index are loaded on first use and kept, so one pipeline answers many questions quickly::

        pipeline = Pipeline(docs_dir="~/notes", index_dir="~/.cache/notes-index")
        answer = pipeline.answer("What did we decide about the budget?")

    Keyword arguments override fields of ``settings`` (or of ``Settings.from_env()`` when none is given).
    Pass ``embedder`` to share one loaded model between several pipelines.
    """

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | None = None, **overrides: Any) -> None:
        base = Settings.from_env() if settings is None else settings
        self.settings = base.replace(**{k: v for k, v in overrides.items() if v is not None})
        self._embedder: Embedder | None = embedder
        self._store: Any = None
        """A :class:`Store` (FAISS files) or a :class:`rag.pgstore.PgStore`."""
        self._answerer: Answerer | None = None
        self._generator: Any = None
        self.last_report: IndexReport | None = None
        """What the latest :meth:`index` of this pipeline did (None before the first): the web chat shows its
        skipped files."""
        self._scans: tuple[weakref.ref[Any], tuple[int, int], dict[str, Any]] | None = None
        """What reading every document found, for the index's current content (the index object, weakly, and its
        chunk and document counts): the name each acronym asked so far is spelled out as, the parties' terms."""
        self._pinned = threading.local()
        """The index one answer reads from start to end, per thread (see :meth:`_pinned_to`)."""
        self._skipped: dict[str, tuple[_FileState, DocumentError]] | None = None
        """Why each file was skipped, by source, with its size, modification and change times, its type's loader
        and the OCR that could read it then: a file none of these changed for is skipped again without being
        read (a watched folder is synced every few seconds, and reading a large binary or broken PDF each time
        would cost more than the sync; OCR finding no text in a photo takes seconds). Kept in the index folder
        (``skipped.json``), so that a new process (every ``rag ask``) does not read them all again either."""
        self.ocr = Ocr(self.settings.ocr_languages) if self.settings.ocr_languages else None
        """Reads image files and scanned PDF pages when tesseract is installed (``ocr_languages``; None: off)."""

    # ---- the parts, loaded once ---------------------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = Embedder(
                s.embedding_model,
                s.device,
                s.embedding_batch_size or None,
                s.offline,
                backend=s.embedding_backend,
            )
        return self._embedder

    @property
    def store(self) -> SearchIndex:
        """The index, synced with the documents folder on first use (built if missing or stale), or with
        ``sync_on_start`` off, read as it is (another process keeps it in sync)."""
        pinned = getattr(self._pinned, "store", None)
        if pinned is not None:
            return pinned  # an answer being computed on this thread
        if self._store is None and not self.settings.sync_on_start:
            self._adopt_held_folder()  # uploads and removals through this process go where the index's files are
            if self.settings.store == "pgvector":
                return self._pg_store()
            self._store = self._load_compatible(self._chunking(), IndexReport())  # None: build it after all
        if self._store is None:
            self.index()
        assert self._store is not None
        return self._store

    @property
    def generator(self) -> Any:
        """The generative model named by ``settings.generator`` (loaded on first use), or None."""
        s = self.settings
        if not s.generator:
            return None
        if self._generator is None:
            from rag.generation import load_generator

            self._generator = load_generator(
                s.generator,
                api_key=s.generator_api_key,
                max_tokens=s.generator_max_tokens,
                temperature=s.generator_temperature,
                engine=s.generator_engine,  # type: ignore[arg-type]
                device=s.device,
                offline=s.offline,
            )
        return self._generator

    @property
    def answerer(self) -> Answerer:
        """Extractive by default; generative prose with code-attached citations when a generator is set."""
        if self._answerer is None and self.settings.generator:
            from rag.generation import GenerativeAnswerer

            s = self.settings
            self._answerer = GenerativeAnswerer(
                self.generator,
                self.embedder,
                min_evidence=s.min_evidence,
                min_support=s.generator_min_support,
                unsupported=s.generator_unsupported,  # type: ignore[arg-type]
                page_at=self.page_at,
                idf=self._idf,
                excerpt=self._excerpt,
            )
        if self._answerer is None:
            s = self.settings
            self._answerer = ExtractiveAnswerer(
                self.embedder, s.min_evidence, s.max_quotes, self.page_at, self._idf, self.reader, self._excerpt
            )
        return self._answerer

    @answerer.setter
    def answerer(self, value: Answerer) -> None:
        self._answerer = value

    def page_at(self, source: str, offset: int) -> int | None:
        """The 1-based page (a slide, in a presentation) of ``source`` holding character ``offset``; None for
        formats without pages, or for a document removed from the index meanwhile."""
        try:
            return self.store.page_at(source, offset)
        except KeyError:  # removed since it was retrieved (by another replica sharing PostgreSQL): no page known
            return None

    def _excerpt(self, source: str, start: int, end: int) -> str:
        """:meth:`excerpt` for the answer's own reading (a table's header before a chunk): "" for a document
        removed since it was retrieved."""
        try:
            return self.excerpt(source, start, end)
        except KeyError:
            return ""

    def _idf(self, terms: Sequence[str]) -> np.ndarray:
        return self.store.idf(terms)

    @cached_property
    def reader(self) -> SpanReader | None:
        """The span reader (``settings.span_reader``), made once and shared by the reranker and the answerer; its
        model loads at its first reading."""
        s = self.settings
        return SpanReader(backend=s.reader_backend) if s.span_reader else None

    @cached_property
    def reranker(self) -> SentenceReranker | CrossEncoderReranker | None:
        """The second retrieval stage named by ``settings.reranker`` (None when it is ``none``), made once."""
        s = self.settings
        scorer = EvidenceScorer(self.embedder, self._idf, excerpt=self._excerpt)
        return load_reranker(s.reranker, scorer, s.device, s.offline, self.reader, s.top_k, s.rerank_reads)

    @property
    def retriever(self) -> Retriever:
        s = self.settings
        return Retriever(self.store, self.embedder, s.candidates, s.rrf_k, s.dense_weight, s.keyword_weight)

    # ---- indexing -------------------------------------------------------------------------------------

    def index(
        self, docs_dir: Path | str | None = None, rebuild: bool = False, progress: Progress | None = None
    ) -> IndexReport:
        """Bring the index in line with the documents folder; re-embed only added or changed files.

        The previous index stays live until the new one is completely written. ``rebuild`` re-embeds all.
        """
        if docs_dir is not None:
            self.settings = self.settings.replace(docs_dir=Path(docs_dir).expanduser())
        held = self._adopt_held_folder(missing_ok=False)
        folder = self.settings.docs_dir
        if not folder.exists():
            raise DocumentsFolderError(f"documents folder not found: {folder}")
        if not folder.is_dir():
            raise DocumentsFolderError(f"not a folder: {folder}")
        if held is not None and held != folder.resolve():
            if held.is_dir():  # its documents leave the index: say how to keep both
                why = "; its documents leave this index: to keep both, give each folder its own --index-dir"
            else:
                why = ", which no longer exists"
            logger.warning("index: now indexing %s (was %s%s)", folder.resolve(), held, why)
        started = time.perf_counter()
        report = IndexReport()
        if rebuild:
            report.rebuilt = "asked to rebuild"
        if self.settings.store == "pgvector":
            self._sync_pg(rebuild, report, progress)
        else:
            self._sync_faiss(rebuild, report, progress)
        report.chunks = len(self.store)
        report.seconds = time.perf_counter() - started
        logger.info("index: %s", report.summary())
        self.last_report = report
        return report

    sync = index

    def _adopt_held_folder(self, missing_ok: bool = True) -> Path | None:
        """With no folder chosen, take the one the index holds as ``settings.docs_dir``; if it is not there, keep
        the setting (``missing_ok``) or say so: syncing the seeds in its place would drop the user's documents
        (the drive may just be unmounted). Returns the held folder (None if the index records none)."""
        held = self._held_folder()
        if held is None or self.settings.docs_dir_chosen:
            return held
        if held.is_dir():
            self.settings = self.settings.replace(docs_dir=held)
        elif not missing_ok:
            raise DocumentsFolderError(
                f"the index holds the documents of {held}, which is not there now; name it again (--docs, "
                "RAG_DOCS_DIR or docs_dir) when it is back, or name another folder, whose documents will replace them"
            )
        return held

    def _held_folder(self) -> Path | None:
        """The documents folder the existing index was synced from, if it recorded one.

        With no folder chosen (no argument, no ``RAG_DOCS_DIR``) that folder is synced again, so forgetting
        ``--docs`` never swaps a user's documents for the seeds."""
        if self.settings.store == "pgvector":
            meta = self._pg_store().meta()
            held = meta.get("docs_dir") if meta else None
        else:
            held = Store.held_folder(self.settings.index_dir)  # also when the index is damaged and will rebuild
        return Path(held) if held else None

    def _chunking(self) -> dict[str, Any]:
        """What the index records of how its text was made: the chunking settings (another value rebuilds the
        index), the loaders' versions (another one re-reads that type's files: :data:`LOADER_VERSIONS`) and the
        keyword tokenizer's (another one rebuilds the keyword index at the next sync: :data:`KEYWORD_VERSION`)."""
        s = self.settings
        return {
            "chunk_chars": s.chunk_chars,
            "chunk_overlap_sentences": s.chunk_overlap_sentences,
            "chunker_version": CHUNKER_VERSION,
            "loaders": dict(LOADER_VERSIONS),
            "keywords": KEYWORD_VERSION,
        }

    def _scan(
        self,
        records: dict[str, DocumentRecord],
        report: IndexReport,
        held: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> tuple[list[DocumentRecord], list[tuple[DocumentRecord, Document]]]:
        """Compare the folder with what the index ``records``: the unchanged files (their records, with a new
        size or time when only that changed) and the added or changed ones, loaded; files of a type whose loader
        changed since the index was made (``held``: its recorded chunking) count as changed. Fills ``report``.
        ``progress`` hears of each file read (a scanned book's OCR takes minutes), not of the unchanged ones."""
        s = self.settings
        kept: list[DocumentRecord] = []
        fresh: list[tuple[DocumentRecord, Document]] = []
        seen: set[str] = set()
        was = (held or {}).get("loaders", {})
        reread = {suffix for suffix, version in LOADER_VERSIONS.items() if was.get(suffix, 0) < version}
        paths = list(iter_files(s.docs_dir))
        read = False
        skipped, still = self._skipped_files(), {}
        for number, path in enumerate(paths):
            source = path.relative_to(s.docs_dir).as_posix()
            stale = path.suffix.lower() in reread
            try:
                stat = path.stat()
            except OSError as exc:  # vanished, or a dangling link
                report.skipped.append(DocumentError(path, f"cannot be read ({exc.strerror or exc})"))
                continue
            record = records.get(source)
            same_file = record and record.size == stat.st_size and record.mtime_ns == stat.st_mtime_ns
            if record and same_file and not _unfinished(record, self.ocr) and not stale:
                kept.append(record)
                seen.add(source)
                continue
            # ctime: a chmod may make it readable; a newer loader or another OCR may read it now
            version = LOADER_VERSIONS.get(path.suffix.lower(), 0)
            state = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, version, self._ocr_state())
            known = skipped.get(source)
            if known and known[0] == state:
                report.skipped.append(known[1])
                still[source] = known
                continue
            if progress:
                progress(number, len(paths), "reading files")
                read = True
            try:
                doc = load_file(path, source, s.max_file_bytes, s.fallback_encoding, self.ocr)
            except DocumentError as error:
                logger.debug("skipped %s", error)  # the report lists it: `rag index` and the chat show it once
                report.skipped.append(error)
                if PDF_CUT_SHORT not in error.reason and OCR_LATE not in error.reason:  # out of time: try again
                    still[source] = (state, error)
                continue
            seen.add(source)
            new_record = DocumentRecord.of(doc, stat.st_size, stat.st_mtime_ns)
            report.warnings.extend(f"{source}: {w}" for w in doc.warnings)
            if record and record.fingerprint == doc.fingerprint and not _unfinished(record, self.ocr) and not stale:
                kept.append(new_record)  # touched, not changed
            else:
                fresh.append((new_record, doc))
                same = record and record.fingerprint == doc.fingerprint  # a newer loader, or now with OCR
                (report.reread if same else report.updated if record else report.added).append(source)
        if progress and read:
            progress(len(paths), len(paths), "reading files")
        if still != skipped:  # files gone from the folder leave the list too
            self._skipped = still
            self._save_skipped()
        report.removed = sorted(set(records) - seen)
        report.unchanged = [r.source for r in kept]
        gone: dict[str, list[str]] = {}  # a removed file's content back under another name: renamed (or moved)
        for source in report.removed:  # (sorted: copies of one content pair off in the order of their names)
            gone.setdefault(records[source].fingerprint, []).append(source)
        added = set(report.added)
        for record in sorted((r for r, _ in fresh if r.source in added), key=lambda r: r.source):
            if gone.get(record.fingerprint):
                report.renamed.append((gone[record.fingerprint].pop(0), record.source))
        first: dict[str, str] = {}
        newest_last = sorted((r for r, _ in fresh), key=lambda r: (r.mtime_ns, r.source))
        for r in [*sorted(kept, key=lambda r: r.source), *newest_last]:
            first.setdefault(r.fingerprint, r.source)  # the original: a file the index held, else the oldest
        report.duplicates = [(r.source, first[r.fingerprint]) for r, _ in fresh if first[r.fingerprint] != r.source]
        return kept, fresh

    def _ocr_state(self) -> str:
        """The OCR that would read a file now, as the skip list records it: "off", "tesseract (eng)", or that
        with " (cannot run)". Looked up only when a file is not kept as it was (an unchanged folder's sync,
        every ``rag ask``, starts no tesseract)."""
        if self.ocr is None:
            return "off"
        return f"{self.ocr.name}{' (cannot run)' if self.ocr.problem else ''}"

    def _skipped_files(self) -> dict[str, tuple[_FileState, DocumentError]]:
        """:attr:`_skipped`, read from the index folder's ``skipped.json`` on first use (missing or unreadable:
        none known, every file is read)."""
        if self._skipped is None:
            self._skipped = {}
            try:
                held = json.loads((self.settings.index_dir / SKIPPED_FILE).read_text(encoding="utf-8"))
                if held.get("version") == 1:
                    for source, (state, reason) in held["files"].items():
                        error = DocumentError(self.settings.docs_dir / source, str(reason))
                        self._skipped[str(source)] = (tuple(state), error)
            except (OSError, ValueError, TypeError, KeyError, AttributeError):
                self._skipped = {}
        return self._skipped

    def _save_skipped(self) -> None:
        """Write :attr:`_skipped` to ``skipped.json`` in the index folder, atomically; a cache, so a failure to
        write it costs only re-reading those files next time."""
        folder = self.settings.index_dir
        files = {source: [list(state), error.reason] for source, (state, error) in (self._skipped or {}).items()}
        try:
            if not folder.is_dir():
                return
            tmp = folder / f".{SKIPPED_FILE}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({"version": 1, "files": files}, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, folder / SKIPPED_FILE)
        except OSError:
            logger.debug("could not write %s", folder / SKIPPED_FILE, exc_info=True)

    def _sync_faiss(self, rebuild: bool, report: IndexReport, progress: Progress | None) -> None:
        """Write a new index generation from the unchanged part of the old one and the fresh files."""
        s = self.settings
        chunking = self._chunking()
        folder = str(s.docs_dir.resolve())
        with _lock(s.index_dir):
            old = None if rebuild else self._load_compatible(chunking, report)
            old_records = {r.source: r for r in old.manifest.documents} if old else {}
            kept, fresh = self._scan(old_records, report, old.manifest.chunking if old else None, progress)
            chunking = _recorded(chunking, old.manifest.chunking if old else None)
            same = old is not None and not fresh and not report.removed and kept == list(old.manifest.documents)
            if old is not None and same and old.manifest.chunking.get("keywords") == KEYWORD_VERSION:
                store = old
                if old.manifest.docs_dir == folder:
                    self._store = old
                    return
            else:
                reused = [(r, old.document(r.source)) for r in kept] if old else []
                store = self._build(old, reused, fresh, chunking, report, progress)
            store.manifest.docs_dir = folder
            try:
                store.save(s.index_dir)
            except OSError as exc:
                raise IndexStoreError(f"cannot write the index at {s.index_dir}: {exc.strerror or exc}") from None
            self._store = store

    def _sync_pg(self, rebuild: bool, report: IndexReport, progress: Progress | None) -> None:
        """Apply the folder's changes to the shared PostgreSQL index, in one transaction under the sync lock."""
        from rag.pgstore import FORMAT_VERSION as PG_FORMAT_VERSION

        store = self._pg_store()
        chunking = self._chunking()
        model = self.embedder.fingerprint
        with store.writer() as writer:
            meta = writer.meta()
            reset = rebuild or meta is None
            if meta is None:
                report.rebuilt = report.rebuilt or "no index in the database yet"
            elif meta["format_version"] != PG_FORMAT_VERSION:
                reset, report.rebuilt = True, f"index in the database is out of date (format {meta['format_version']})"
            elif meta["model"] != model:
                reset, report.rebuilt = True, f"embedding model changed ({meta['model']} -> {model})"
            elif not _same_chunks(meta["chunking"], chunking):
                reset, report.rebuilt = True, "chunking settings changed"
            old = {} if reset else writer.records()
            kept, fresh = self._scan(old, report, meta and meta["chunking"], progress)  # after a reset: all fresh
            chunking = _recorded(chunking, None if reset or meta is None else meta["chunking"])
            touched = [r for r in kept if old[r.source] != r]
            s = self.settings
            chunked = [(r, d, chunk_document(d, s.chunk_chars, s.chunk_overlap_sentences)) for r, d in fresh]
            donors = [*report.updated, *report.reread, *report.removed, *(other for _, other in report.duplicates)]
            texts = {c.text for _, _, cs in chunked for c in cs}
            known = writer.chunks_of(donors, texts) if texts and not reset else []
            embedded = iter(self._embed([c for _, _, cs in chunked for c in cs], progress, known, report))
            rows = [(r, d, cs, [next(embedded) for _ in cs]) for r, d, cs in chunked]
            folder = str(s.docs_dir.resolve())
            moved = meta is None or meta["docs_dir"] != folder
            if reset or rows or report.removed or touched or moved:
                writer.apply(model, self.embedder.dimension, chunking, reset, report.removed, touched, rows, folder)

    def _pg_store(self) -> Any:
        from rag.pgstore import PgStore

        if self._store is None:
            s = self.settings
            self._store = PgStore(s.store_url, s.store_read_url)
        return self._store

    def _load_compatible(self, chunking: dict[str, Any], report: IndexReport) -> Store | None:
        """The existing index if it can be reused (same format, model and chunking), else None with a reason."""
        try:
            store = Store.load(self.settings.index_dir)
        except IndexStoreError as error:
            report.rebuilt = str(error)
            if "no index" not in str(error):
                logger.warning("%s; rebuilding it", error)
            return None
        if store.manifest.model != self.embedder.fingerprint:
            report.rebuilt = f"embedding model changed ({store.manifest.model} -> {self.embedder.fingerprint})"
        elif not _same_chunks(store.manifest.chunking, chunking):
            report.rebuilt = "chunking settings changed"
        else:
            return store
        logger.info("rebuilding the index: %s", report.rebuilt)
        return None

    def _build(
        self,
        old: Store | None,
        kept: list[tuple[DocumentRecord, Document]],
        fresh: list[tuple[DocumentRecord, Document]],
        chunking: dict[str, Any],
        report: IndexReport,
        progress: Progress | None,
    ) -> Store:
        s = self.settings
        entries = sorted([(r, d, True) for r, d in kept] + [(r, d, False) for r, d in fresh], key=lambda e: e[0].source)
        chunks: list[Chunk] = []
        rows: list[tuple[np.ndarray, list[tuple[int, int]], np.ndarray] | None] = []
        new_chunks: list[Chunk] = []
        for record, doc, reused in entries:
            if reused and old is not None:
                ids = old.chunks_of(record.source)
                chunks.extend(old.chunk(i) for i in ids)
                rows.extend((np.asarray(old.vectors[i]), *old.sentences.of_chunk(i)) for i in ids)
            else:
                doc_chunks = chunk_document(doc, s.chunk_chars, s.chunk_overlap_sentences)
                chunks.extend(doc_chunks)
                new_chunks.extend(doc_chunks)
                rows.extend([None] * len(doc_chunks))
        kept_sources = {r.source for r, _ in kept}
        donors = [d.source for d in old.documents if d.source not in kept_sources] if old and new_chunks else []
        donors += [other for _, other in report.duplicates if other in kept_sources]
        texts = {c.text for c in new_chunks}
        matching = [i for source in donors for i in old.chunks_of(source) if old.chunk(i).text in texts] if old else []
        known = old.fetch(matching) if old else []
        embedded = iter(self._embed(new_chunks, progress, known, report))
        filled = [row if row is not None else next(embedded) for row in rows]
        dim = old.manifest.dimension if old and not new_chunks else self.embedder.dimension
        vectors = np.stack([v for v, _, _ in filled]) if filled else np.zeros((0, dim), dtype=np.float32)
        sentences = SentenceTable.of([(spans, sv) for _, spans, sv in filled], dim)
        return Store.build(
            [d for _, d, _ in entries],
            chunks,
            vectors,
            self.embedder.fingerprint,
            chunking,
            [r for r, _, _ in entries],
            sentences,
        )

    def _embed(
        self,
        wanted: list[Chunk],
        progress: Progress | None,
        known: Sequence[StoredChunk] = (),
        report: IndexReport | None = None,
    ) -> list[tuple[np.ndarray, list[tuple[int, int]], np.ndarray]]:
        """Each chunk's vector, its sentences' document offsets and their vectors (one model pass), computed
        here or, when ``embedding_cluster`` names one, on a Ray cluster. A chunk's vectors depend on its text
        alone, so each text is embedded once: a chunk whose text a ``known`` chunk has (one the index held) gets
        that chunk's vectors, and chunks of the same text in this sync (copies of a file) share theirs; only the
        sentence offsets move to where each chunk stands. Appending to a big file embeds its last chunks."""
        by_text = {c.chunk.text: c for c in known}
        spans = [sentence_spans(c.text) for c in wanted]
        copies = [_moved(by_text.get(c.text), c, s) for c, s in zip(wanted, spans, strict=True)]
        todo: dict[str, list[tuple[int, int]]] = {}  # each text still to embed, once, with its sentence spans
        for chunk, chunk_spans, copy in zip(wanted, spans, copies, strict=True):
            if copy is None:
                todo.setdefault(chunk.text, chunk_spans)
        texts, text_spans = list(todo), list(todo.values())
        if report is not None:
            report.embedded, report.reused = len(texts), len(wanted) - len(texts)
        if self.settings.embedding_cluster and texts:
            from rag.cluster import embed_spans

            def tell(done: int, total: int) -> None:
                if progress:
                    progress(done, total, "embedding chunks on the cluster")

            embedded = embed_spans(self.settings.embedding_cluster, self.embedder, texts, text_spans, tell)
        else:
            embedded = []
            batch = 32
            for i in range(0, len(texts), batch):
                vectors, pooled = self.embedder.encode_spans(texts[i : i + batch], text_spans[i : i + batch])
                embedded.extend(zip(vectors, pooled, strict=True))
                if progress:
                    progress(min(i + batch, len(texts)), len(texts), "embedding chunks")
        computed = dict(zip(texts, embedded, strict=True))
        out = []
        for chunk, chunk_spans, copy in zip(wanted, spans, copies, strict=True):
            if copy is None:
                vector, sentence_vectors = computed[chunk.text]
                copy = (vector, [(chunk.start + a, chunk.start + b) for a, b in chunk_spans], sentence_vectors)
            out.append(copy)
        return out

    # ---- asking ---------------------------------------------------------------------------------------

    def warm(self) -> None:
        """Load what answering needs now, not at the first question: the embedding model and the span
        reader (whose int8 graph is built on a machine's first run, ~5 s). The web chat calls it at start."""
        self.embedder.encode_query("warm")
        if self.settings.generator:  # a generative backend loads (or connects) when first asked, as before
            return
        answerer = self.answerer
        if isinstance(answerer, ExtractiveAnswerer) and answerer.reader is not None:
            _ = answerer.reader.available

    def retrieve(
        self,
        question: str,
        top_k: int | None = None,
        query_vector: np.ndarray | None = None,
        filters: FilterSpec | None = None,
    ) -> list[Passage]:
        """The passages most relevant to ``question``, best first: fused dense + keyword candidates, reordered
        by the reranker. ``query_vector`` skips embedding the question (when it is already embedded);
        ``filters`` keeps only some documents (:mod:`rag.filters`: ``{"folder": "reports"}``)."""
        question = self._check(question)
        where = _where(filters, self.settings.docs_dir)
        vector = self.embedder.encode_query(question) if query_vector is None else query_vector
        with self.pinned():
            return self._retrieve(question, vector, top_k, where)

    def answer(
        self, question: str, history: Sequence[Message] | None = None, filters: FilterSpec | None = None
    ) -> Answer:
        """Answer ``question`` from the documents, with verbatim quotes; refuse if they do not hold the answer.

        ``history`` is the conversation so far as ``{"role": ..., "content": ...}`` messages; a follow-up
        question ("How much could Ukraine borrow under it?") is resolved against it before searching.
        ``filters`` answers from some documents only, e.g. ``{"folder": "reports/2024"}`` (:mod:`rag.filters`).
        """
        with self.pinned():
            prepared = self._prepare(question, history, filters)
            if isinstance(prepared, Answer):
                return prepared
            asked, inputs = prepared
            return _as_asked(self._named_party(self.answerer.run(*inputs), filters), asked)

    def stream_answer(
        self, question: str, history: Sequence[Message] | None = None, filters: FilterSpec | None = None
    ) -> Iterator[str | Answer]:
        """Like :meth:`answer`, streamed: text pieces as a generative backend writes them, then the Answer."""
        store = self.store
        with self._pinned_to(store):
            prepared = self._prepare(question, history, filters)
        if isinstance(prepared, Answer):
            yield prepared
            return
        asked, inputs = prepared
        stream = getattr(self.answerer, "stream", None)
        if stream is None:
            with self._pinned_to(store):
                answer = self._named_party(self.answerer.run(*inputs), filters)
            yield _as_asked(answer, asked)
            return
        pieces = stream(*inputs)
        while True:  # each step pinned on its own: a caller may take the steps on different threads
            with self._pinned_to(store):
                piece = next(pieces, None)
                piece = self._named_party(piece, filters) if isinstance(piece, Answer) else piece
            if piece is None:
                return
            yield _as_asked(piece, asked) if isinstance(piece, Answer) else piece

    def pinned(self) -> contextlib.AbstractContextManager[None]:
        """A block in which this thread reads one index, even if a sync replaces it meanwhile: for a program that
        retrieves and then reads pages or excerpts of what it retrieved (:meth:`answer` does so itself)."""
        return self._pinned_to(self.store)

    @contextlib.contextmanager
    def _pinned_to(self, store: SearchIndex) -> Iterator[None]:
        """Within the block, :attr:`store` on this thread is ``store``: one answer reads one index from its
        retrieval to its last quote's page, while a sync (an upload, the folder watcher) may replace the index
        (a document removed meanwhile is no longer in the new one: its quote's page was a KeyError)."""
        before = getattr(self._pinned, "store", None)
        self._pinned.store = store
        try:
            yield
        finally:
            self._pinned.store = before

    def _prepare(
        self, question: str, history: Sequence[Message] | None, filters: FilterSpec | None = None
    ) -> Answer | tuple[str, tuple[str, str, list[Passage], np.ndarray]]:
        """Check the question, make it self-contained, retrieve: the question as asked and the answerer's inputs
        (the question as understood, the query searched, the passages, the query's vector), or an early
        Answer. A follow-up whose pronoun or ellipsis the conversation resolves is understood and searched as
        resolved ("How big is the SAFE fund?"); another one is searched with the turns it leans on."""
        question = self._check(question)
        where = _where(filters, self.settings.docs_dir)
        store = self.store
        if len(store) == 0:
            return Answer(
                question,
                f"There are no documents in the index yet: add files to {self.settings.docs_dir} and index them.",
                False,
                query=question,
            )
        allowed = store.sources(where) if where is not None else None
        if where is not None and not allowed:
            return Answer(question, _no_match(where, store.sources()), False, query=question)
        overview_asked, summary_asked = asks_for_overview(question), asks_for_summary(question)
        catalog = store.catalog(SUMMARY_LOOKUP) if overview_asked or summary_asked else None
        if catalog is not None and overview_asked:
            # "Summarise the board minutes": the overview of the one document it names, or is filtered to
            listed = [(source, title) for source, title, _, _ in catalog.listed]
            chosen = allowed if allowed is not None else [s for s, _ in listed]
            named = chosen[:1] if len(chosen) == 1 else named_documents(question, listed)
            named = [source for source in named if allowed is None or source in allowed]
            if named:
                return overview(question, [store.document(source) for source in named])
        if catalog is not None and summary_asked:  # of the documents as a whole: which they are; a topic is searched
            files = Counter(title or source for source, title, _, _ in catalog.listed)  # a title's copies once
            named = [f"{title} ({n} files)" if n > 1 else title for title, n in files.items()]
            hidden = sum(list(files.values())[5:]) + catalog.documents - len(catalog.listed)
            titles = "; ".join(named[:5]) + (f" and {hidden} more" if hidden else "")
            return Answer(question, CANNOT_SUMMARISE.format(titles=titles), False, query=question)
        resolved = resolve_follow_up(question, history)
        query = resolved or standalone_question(question, history)
        # a follow-up not surely resolved is searched with the turns it leans on, and read as best guessed
        resolved = resolved or guess_follow_up(question, history)
        # "Who is the CISO?" of documents that write "Chief Information …"; "the under 12s" of a club's "U12"
        spelled = self._from_documents(store, "acronym", _spelled_out)
        ages = self._from_documents(store, "age group", age_group_written)

        def in_their_words(text: str) -> str:  # (and "Boxing Day" as "Boxing Day (26 December)")
            return with_age_groups(with_dates(expand(text, spelled)), ages)

        understood = in_their_words(resolved or question)
        resolved = understood if understood != (resolved or question) else resolved
        query = in_their_words(query)
        terms = self._defined_terms(store, understood, allowed)  # "Who is the lender?"; "Stratus" as "the Provider"
        party = who_is(understood, terms, store.document)
        if party is not None:
            return dataclasses.replace(party, question=question)
        termed = with_terms(understood, terms)
        resolved = termed if termed != understood else resolved
        query = with_terms(query, terms)
        query_vector = self.embedder.encode_query(query)
        passages = self._retrieve(query, query_vector, None, where)
        if LATEST.search(resolved or question) or ASKS_RELEASED.match(resolved or question):
            # "the latest Tally version": the release notes' highest heading; "When was 2.4.0 released?": its heading
            sources = list(dict.fromkeys(p.chunk.source for p in passages))[:3]
            # and the changelogs no passage found ("What's the latest Tidemill release?" of install docs that
            # write "tidemill:3"), looked for once per index content
            released = self._scanned(store, "releases", lambda: [s for s in store.sources() if _releases(store, s)])
            sources += [source for source in released or [] if source not in sources]
            documents = [store.document(source) for source in sources]
            dated = release_date(resolved or question, documents)
            if dated is not None:
                return dataclasses.replace(dated, question=question)
            latest = ask_about_latest(resolved or question, documents)
            if isinstance(latest, Answer):
                return dataclasses.replace(latest, question=question)
            if latest is not None:  # "What did the latest Tally version fix?" asked as "What did Tally 3.2.1 fix?"
                resolved = query = latest
                query_vector = self.embedder.encode_query(query)
                passages = self._retrieve(query, query_vector, None, where)
        cased = as_written(resolved or question, [passage.chunk.text for passage in passages])  # "a diavola"
        resolved = cased if cased != (resolved or question) else resolved
        return question, (resolved or question, query, passages, query_vector)

    def _from_documents(
        self, store: SearchIndex, kind: str, find: Callable[[str, list[str]], str | None]
    ) -> Callable[[str], str | None]:
        """A lookup of what the documents write for a word of a question, ``find(word, their texts)``, each word
        looked up once per index content, none above :data:`ACRONYM_SCAN_CHUNKS` chunks. The index is asked for its
        size only when a question has such a word (on PostgreSQL that is a round trip)."""

        def lookup(word: str) -> str | None:
            def scan() -> str | None:
                return find(word, [store.document(source).text for source in store.sources()])

            return cast("str | None", self._scanned(store, f"{kind} {word}", scan))

        return lookup

    def _named_party(self, answer: Answer, filters: FilterSpec | None) -> Answer:
        """``answer`` with the party its key phrase stands for when that is a defined term ("The Provider")."""
        if not (answer.key_phrase and re.search(r"(?:^|\s)[A-Z]", answer.key_phrase)):
            return answer
        where = _where(filters, self.settings.docs_dir)
        allowed = self.store.sources(where) if where is not None else None
        terms = self._defined_terms(self.store, answer.key_phrase, allowed, always=True)
        return named_party(answer, terms, self.store.document) if terms else answer

    def _defined_terms(
        self, store: SearchIndex, question: str, allowed: Sequence[str] | None, always: bool = False
    ) -> list[Definition]:
        """The parties the documents (of ``allowed``, if given) define terms for (:mod:`rag.terms`), read once per
        index content and only for a question that may use them: one that asks who a term is, or names something
        (a capitalised word after its first); none above :data:`ACRONYM_SCAN_CHUNKS` chunks."""
        if not (always or asks_who_is(question) or re.search(r"\s[A-Z]", question.strip())):
            return []
        found = self._scanned(
            store, "terms", lambda: [d for source in store.sources() for d in definitions(store.document(source))]
        )
        return [d for d in found or [] if allowed is None or d.source in allowed]

    def _scanned(self, store: SearchIndex, key: str, scan: Callable[[], Any]) -> Any:
        """``scan()``'s result, read from every document once per index content and kept under ``key``; None
        above :data:`ACRONYM_SCAN_CHUNKS` chunks. The index is asked for its size at each call (on PostgreSQL a
        round trip: another replica may have synced it)."""
        # The object itself, not its id(): a sync's new index may reuse the id of the one it replaced.
        counts = (len(store), store.catalog(0).documents)
        cache = self._scans
        if cache is None or cache[0]() is not store or cache[1] != counts:
            cache = self._scans = (weakref.ref(store), counts, {})
        if key not in cache[2]:
            cache[2][key] = scan() if counts[0] <= ACRONYM_SCAN_CHUNKS else None
        return cache[2][key]

    def _retrieve(
        self, query: str, query_vector: np.ndarray, top_k: int | None = None, where: Filter | None = None
    ) -> list[Passage]:
        s = self.settings
        top_k = top_k or s.top_k
        reranker = self.reranker
        if reranker is None:
            return _distinct(self.retriever.run(query, 2 * top_k, query_vector, where))[:top_k]
        candidates = self.retriever.run(query, max(top_k, s.rerank_candidates), query_vector, where)
        return _naming(query, _distinct(reranker.run(query, candidates, query_vector)), top_k)

    def document_text(self, source: str) -> str:
        """The stored text of a document, the one quote offsets point into."""
        return self.store.document(source).text

    def excerpt(self, source: str, start: int, end: int) -> str:
        """``document_text(source)[start:end]``; PostgreSQL sends only those characters."""
        return self.store.excerpt(source, start, end)

    def _check(self, question: str) -> str:
        if not isinstance(question, str):
            raise QuestionError(f"The question must be text (a str), not {type(question).__name__}.")
        if not question.strip():
            raise QuestionError("The question is empty: type a question about the documents.")
        if not any(c.isalnum() for c in question):
            raise QuestionError("The question has no words: type a question about the documents.")
        if len(question) > self.settings.max_question_chars:
            raise QuestionError(
                f"The question is too long ({len(question):,} characters; the limit is "
                f"{self.settings.max_question_chars:,})."
            )
        return question.strip()


def _as_asked(answer: Answer, question: str) -> Answer:
    """``answer`` to the question in the user's words (the answerer may have been given it resolved)."""
    return answer if answer.question == question else dataclasses.replace(answer, question=question)


def _moved(
    stored: StoredChunk | None, chunk: Chunk, spans: list[tuple[int, int]]
) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray] | None:
    """``stored``'s vectors for ``chunk`` (same text, maybe elsewhere in its document), its sentence offsets moved
    to where ``chunk`` stands; None when there is nothing to copy (no stored chunk, or one kept without its
    sentence vectors)."""
    if stored is None or len(stored.sentences) != len(spans):
        return None
    if spans and stored.sentence_vectors is None:
        return None
    vectors = stored.sentence_vectors if stored.sentence_vectors is not None else np.zeros((0, len(stored.vector)))
    return stored.vector, [(chunk.start + a, chunk.start + b) for a, b in spans], np.asarray(vectors)


def _releases(store: SearchIndex, source: str) -> bool:
    """Whether the document ``source`` has versioned headings (release notes, a changelog)."""
    return latest_release(store.document(source)) is not None


def _naming(question: str, passages: list[Passage], top_k: int) -> list[Passage]:
    """The first ``top_k`` of ``passages``, the last of them replaced by the best-ranked further one that writes a
    name of the question none of them writes ("How long does the Intensive programme take?": the dishwasher
    guide's list of programmes, reranked 6th below passages on how long other things take). On SQuAD train it
    changes 19 questions of 3,000 (hit@5 0.9400 -> 0.9403)."""
    top = passages[:top_k]
    missing = names_unwritten(question_names(question), top) if len(passages) > top_k > 1 else []
    further = next((p for p in passages[top_k:] if len(names_unwritten(missing, [p])) < len(missing)), None)
    return top if further is None else [*top[:-1], further]


def _distinct(passages: list[Passage]) -> list[Passage]:
    """The passages without repeats of a text already listed (the same file copied under two names would
    otherwise fill the result with copies); the best-ranked copy stays."""
    seen: set[str] = set()
    out = []
    for passage in passages:
        if passage.chunk.text not in seen:
            seen.add(passage.chunk.text)
            out.append(passage)
    return out


def _where(filters: FilterSpec | None, root: Path | None = None) -> Filter | None:
    try:
        return Filter.of(filters, root)
    except ValueError as exc:
        raise QuestionError(str(exc)) from None


def _no_match(where: Filter, sources: list[str]) -> str:
    """Why nothing is answered when no document passes ``where`` (not "the documents do not say"); a ``source``
    given as a bare file name gets the full relative paths of the documents with that name."""
    named = ", ".join(f"{key}={value}" for key in FIELDS for value in getattr(where, key))
    text = f"No document matches the filter {named}, so there is nothing to answer from."
    known = set(sources)
    meant = [s for value in where.source if value not in known for s in sources if s.rsplit("/", 1)[-1] == value]
    if meant:
        text += " Did you mean " + " or ".join(f"source={s}" for s in meant) + "?"
    return text


def _spelled_out(acronym: str, texts: list[str]) -> str | None:
    """The name ``texts`` spell ``acronym`` out as, when they never write the acronym itself (:mod:`rag.acronyms`)."""
    return None if is_written(acronym, texts) else spelled_out(acronym, texts)


def _same_chunks(held: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Whether an index chunked as ``held`` says can be kept for ``wanted``: the loaders' versions do not count
    (a changed loader re-reads its own files, see :meth:`Pipeline._scan`), nor the keyword tokenizer's (the
    keyword index is rebuilt from the stored chunks)."""
    mine = ("loaders", "keywords")
    return {k: v for k, v in held.items() if k not in mine} == {k: v for k, v in wanted.items() if k not in mine}


def _recorded(chunking: dict[str, Any], held: dict[str, Any] | None) -> dict[str, Any]:
    """``chunking`` to record after a sync of an index that held ``held``: each loader's version the newer of the
    two, so that a replica still on older code sharing the index does not make the newer one re-read its files
    at every sync (nor the other way round)."""
    versions = dict((held or {}).get("loaders", {}))
    for suffix, version in chunking["loaders"].items():
        versions[suffix] = max(version, versions.get(suffix, 0))
    return {**chunking, "loaders": versions}


def _unfinished(record: DocumentRecord, ocr: Ocr | None) -> bool:
    """A file read only in part, or by other means than now, is read again on the next sync: a PDF over its time
    budget; one whose scanned pages (or picture slides) were met while OCR could not run, once it can (tesseract
    installed, a language added); one read by OCR in other languages than the setting's now, or by OCR now turned
    off. Only the file's own warnings count (an e-mail's attached scan, never read by OCR, says "attachment …: page
    2 …")."""
    own = [w for w in record.warnings if not w.startswith("attachment ")]
    if any(PDF_CUT_SHORT in w or OCR_LATE in w for w in own):
        return True
    waiting = [
        w for w in own if (w.startswith("page ") and PDF_NO_TEXT in w) or (w.startswith("slide ") and PPTX_NO_TEXT in w)
    ]
    reads_pictures = Path(record.source).suffix.lower() in OCR_LOADERS  # an .odp's picture slide waits for nothing
    if waiting and reads_pictures and ocr is not None and not ocr.problem:
        return True
    read_by = [w for w in own if OCR_MARK in w]
    return bool(read_by) and (ocr is None or not any(f"{OCR_MARK}{ocr.name})" in w for w in read_by))


@contextlib.contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    """One writer at a time per index folder (other processes wait)."""
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexStoreError(f"the index folder {index_dir} is a file, not a folder")
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = open(index_dir / ".lock", "w")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise IndexStoreError(f"cannot create the index folder {index_dir}: {exc.strerror or exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
