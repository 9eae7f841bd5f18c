"""The index in PostgreSQL + pgvector: one shared truth for many app replicas (``RAG_STORE=pgvector``).

Everything the FAISS folder holds lives in five tables, so any number of ``rag serve`` processes (and a
streaming read replica) answer from the same index the moment a sync commits::

    rag_meta        one row: format version, model, dimension, chunking, chunk and token counts, documents folder
    rag_documents   one row per file: source, title, type, fingerprint, size, mtime, pages, sections, text
    rag_chunks      text, offsets, section, the embedding (HNSW index), sentence offsets and vectors
    rag_postings    BM25 postings (term, chunk, tf, chunk length): the same scores as bm25s, in SQL
    rag_terms       document frequency of every term

The keyword side is BM25 computed in SQL from the product's own tokenizer, not PostgreSQL's ``ts_rank``, so
hybrid retrieval ranks exactly as with FAISS + bm25s. A sync holds an advisory lock (one writer at a time; a
second waits, then finds nothing left to do) and writes in one transaction: readers see the old index or the
new one, never half, and a crash mid-write leaves the old one. Bulk loads COPY first and build the HNSW index
after. Filtered vector searches use pgvector's iterative index scan so a selective filter keeps its recall.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rag.chunking import Chunk
from rag.documents import Document
from rag.errors import IndexStoreError
from rag.filters import Filter, suffix
from rag.lexical import tokenize
from rag.store import Catalog, DocumentRecord, StoredChunk

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
"""Twice pgvector's default: at 1M clustered 384-d vectors (``benchmarks/pgvector.py``) the graph built with 64
levelled off near recall@10 0.92 whatever the search kept; built with 128 (twice the build time) it reaches 0.99
at ef_search 200, and searches are faster. An index keeps the value it was built with."""
EF_SEARCH = 400
"""Candidates the HNSW scan keeps (at least 4 per result asked); with ``hnsw.iterative_scan = relaxed_order`` it
scans on until a filter leaves enough rows. Measured on clustered 384-d vectors (m 16, ef_construction 128),
recall@10 at ef_search 100 / 200 / 400: at 1M 0.93-0.95 / 0.992 / 0.997 (p50 2.2 / 2.9 / 4.1 ms), the same with
a 10% filter; at 100k 0.999 / 1.000 / 1.000, but with a 10% filter 0.926 / 0.934 / 1.000, hence 400.
pgvector's default (40, no iterative scan) returns too few rows under a filter."""
BM25_K1 = 1.5
BM25_B = 0.75
"""bm25s' defaults (Lucene variant), so both backends give the same keyword scores."""
_COPY_BATCH = 2_000
_LOCK_KEY = 0x7261675F73796E63
"""Advisory lock held by the one process syncing the index ("rag_sync")."""

Embedded = tuple[np.ndarray, list[tuple[int, int]], np.ndarray]
"""A chunk's vector, its sentences' document offsets and their vectors."""


def _psycopg() -> Any:
    try:
        import psycopg
        import psycopg_pool  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the installation
        raise IndexStoreError(
            "the pgvector store needs psycopg: pip install 'rag-docs[pgvector]' (psycopg, psycopg-pool, pgvector)"
        ) from None
    return psycopg


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PgStore:
    """A :class:`~rag.store.SearchIndex` over PostgreSQL: reads go to ``read_url`` (a replica) when given.

    Nothing is cached between calls, so every replica sees a sync as soon as it commits.
    """

    def __init__(self, url: str, read_url: str = "", ef_search: int = EF_SEARCH, pool_size: int = 8) -> None:
        _psycopg()
        from psycopg_pool import ConnectionPool, PoolTimeout

        self._lost = (_psycopg().OperationalError, PoolTimeout)
        """What a read raises when the server went away (or is restarting)."""
        self.url = url
        self.read_url = read_url or url
        self.ef_search = ef_search
        self._vector_info: Any = None
        self._created = False
        try:  # one plain connection first: a wrong URL fails at once, in one line, with the server's reason
            _psycopg().connect(self.read_url, connect_timeout=10).close()
        except Exception as exc:  # psycopg.OperationalError: no server, no such database or role, bad password
            raise IndexStoreError(
                f"cannot connect to the index database {redact(self.read_url)}: {_first(exc)}"
            ) from None
        try:
            self._pool = ConnectionPool(
                self.read_url, min_size=1, max_size=pool_size, kwargs={"autocommit": True}, open=True, timeout=10
            )
            self._pool.wait(timeout=10)
        except Exception as exc:  # psycopg_pool.PoolTimeout, psycopg.OperationalError: the server is not there
            raise IndexStoreError(f"cannot connect to the index database {redact(self.read_url)}: {exc}") from None

    def close(self) -> None:
        self._pool.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        try:
            with self._pool.connection() as conn:
                self._adapt(conn)
                yield conn
        except self._lost as exc:
            raise IndexStoreError(f"lost the index database {redact(self.read_url)}: {_first(exc)}") from None

    def _adapt(self, conn: Any) -> None:
        """Teach ``conn`` the vector type (looked up once; absent until the first sync creates it)."""
        from pgvector.psycopg.vector import register_vector_info
        from psycopg.types import TypeInfo

        if self._vector_info is None:
            self._vector_info = TypeInfo.fetch(conn, "vector")
        if self._vector_info is not None:
            register_vector_info(conn, self._vector_info)

    # ---- reading: the SearchIndex protocol ----------------------------------------------------------------

    def meta(self) -> dict[str, Any] | None:
        """The index's meta row (format, model, dimension, chunking, counts), or None before the first sync."""
        with self._read() as conn:
            # Once the tables exist they stay (a rebuild recreates them in the same transaction): one query.
            meta = _meta(conn, check=not self._created)
        self._created = meta is not None
        return meta

    def __len__(self) -> int:
        meta = self.meta()
        return int(meta["chunks"]) if meta else 0

    def document(self, source: str) -> Document:
        with self._read() as conn:
            row = conn.execute(
                "SELECT source, title, text, fingerprint, pages, sections, warnings FROM rag_documents"
                " WHERE source = %s",
                (source,),
            ).fetchone()
        if row is None:
            raise KeyError(source)
        return Document(row[0], row[1], row[2], row[3], *_paging(row[4], row[5], row[6]))

    def excerpt(self, source: str, start: int, end: int) -> str:
        start, end = max(start, 0), max(end, 0)
        with self._read() as conn:  # substr counts characters (code points), as Python's offsets do
            row = conn.execute(
                "SELECT substr(text, %s, %s) FROM rag_documents WHERE source = %s",
                (start + 1, max(end - start, 0), source),
            ).fetchone()
        if row is None:
            raise KeyError(source)
        return str(row[0])

    def page_at(self, source: str, offset: int) -> int | None:
        with self._read() as conn:
            row = conn.execute("SELECT pages FROM rag_documents WHERE source = %s", (source,)).fetchone()
        if row is None:
            raise KeyError(source)
        return Document(source, "", "", "", tuple(row[0] or ())).page_at(offset)

    def dense_search(self, vector: np.ndarray, k: int, where: Filter | None = None) -> np.ndarray:
        docs = self._documents_passing(where)
        if docs is not None and not docs:
            return np.zeros(0, dtype=np.int64)
        condition = "" if docs is None else "WHERE doc_id = ANY(%(docs)s)"
        # relaxed_order may return rows slightly out of order: the outer query sorts them again.
        query = (
            "WITH hits AS MATERIALIZED (SELECT id, embedding <#> %(q)s AS distance FROM rag_chunks "
            f"{condition} ORDER BY distance LIMIT %(k)s) SELECT id FROM hits ORDER BY distance + 0, id"
        )
        params = {"q": np.asarray(vector, dtype=np.float32), "k": k, "docs": docs}
        with self._read() as conn, conn.transaction():
            # SET LOCAL (by set_config) lasts one transaction: safe behind PgBouncer in transaction mode.
            conn.execute(
                "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order',"
                " true)",
                (str(max(self.ef_search, 4 * k)),),
            )
            rows = conn.execute(query, params).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64)

    def keyword_search(self, query: str, k: int, where: Filter | None = None) -> tuple[np.ndarray, np.ndarray]:
        terms = tokenize(query)
        docs = self._documents_passing(where)
        if not terms or (docs is not None and not docs):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        condition = "" if docs is None else "AND p.doc_id = ANY(%(docs)s)"
        # BM25 (Lucene variant, as bm25s): idf * tf / (tf + k1 (1 - b + b dl / avgdl)), summed over the
        # query's terms (a repeated term counts again, as in bm25s).
        sql = f"""
            WITH m AS (SELECT chunks::float8 AS n, greatest(tokens::float8 / greatest(chunks, 1), 1e-9) AS avgdl
                       FROM rag_meta),
                 q AS (SELECT t.term, ln(1 + (m.n - t.df + 0.5) / (t.df + 0.5)) AS idf
                       FROM unnest(%(terms)s::text[]) AS u(term) JOIN rag_terms t ON t.term = u.term, m)
            SELECT p.chunk_id, sum(q.idf * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.dl / m.avgdl))) AS score
            FROM q JOIN rag_postings p ON p.term = q.term {condition}, m
            GROUP BY p.chunk_id ORDER BY score DESC, p.chunk_id LIMIT %(k)s"""
        params = {"terms": terms, "k": k, "docs": docs, "k1": BM25_K1, "b": BM25_B}
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        return ids, np.array([r[1] for r in rows], dtype=np.float32)

    def fetch(self, ids: Sequence[int]) -> list[StoredChunk]:
        if not len(ids):
            return []
        with self._read() as conn:
            found = {c.id: c for c in _stored_chunks(conn, "c.id = ANY(%s)", list(map(int, ids)))}
        missing = [i for i in ids if int(i) not in found]
        if missing:  # a sync removed them between the search and this read
            raise IndexStoreError(f"chunks {missing[:5]} left the index while being read; ask again")
        return [found[int(i)] for i in ids]

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT m.chunks, t.term, t.df FROM rag_meta m LEFT JOIN rag_terms t ON t.term = ANY(%s)",
                (list(terms),),
            ).fetchall()
        n = float(rows[0][0]) if rows else 0.0
        df_of = {term: df for _, term, df in rows if term is not None}
        df = np.array([df_of.get(t, 0) for t in terms], dtype=np.float64)
        return np.log((n - df + 0.5) / (df + 0.5) + 1.0).astype(np.float32)

    def catalog(self, limit: int = 50) -> Catalog:
        meta = self.meta()
        if meta is None:
            return Catalog(0, 0, [])
        with self._read() as conn:
            count = conn.execute("SELECT count(*) FROM rag_documents").fetchone()[0]
            listed = conn.execute(
                "SELECT d.source, d.title, (SELECT count(*) FROM rag_chunks c WHERE c.doc_id = d.id),"
                " coalesce(cardinality(d.pages), 0) FROM rag_documents d ORDER BY d.source LIMIT %s",
                (limit,),
            ).fetchall()
            warned = []
            if limit:  # the acronym lookup asks for the counts alone (limit 0): no second query then
                warned = conn.execute(
                    "SELECT source, warnings FROM rag_documents WHERE cardinality(warnings) > 0"
                    " ORDER BY source LIMIT %s",
                    (limit,),
                ).fetchall()
        return Catalog(
            int(count),
            int(meta["chunks"]),
            [(s, t, int(n), int(p)) for s, t, n, p in listed],
            [(s, tuple(w)) for s, w in warned],
        )

    def sources(self, where: Filter | None = None) -> list[str]:
        if self.meta() is None:
            return []
        condition, params = _filter_sql(where)
        with self._read() as conn:
            rows = conn.execute(f"SELECT source FROM rag_documents WHERE {condition} ORDER BY source", params)
            return [r[0] for r in rows.fetchall()]

    def _documents_passing(self, where: Filter | None) -> list[int] | None:
        """Ids of the documents that pass ``where`` (None: no filter, every document)."""
        if where is None:
            return None
        condition, params = _filter_sql(where)
        with self._read() as conn:
            rows = conn.execute(f"SELECT id FROM rag_documents WHERE {condition}", params).fetchall()
        return [r[0] for r in rows]

    # ---- writing ----------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def writer(self) -> Iterator[PgWriter]:
        """The one writer: a connection to the primary holding the sync lock (other syncs wait for it)."""
        psycopg = _psycopg()
        try:
            conn = psycopg.connect(self.url, autocommit=True)
        except psycopg.Error as exc:
            raise IndexStoreError(f"cannot connect to the index database {redact(self.url)}: {exc}") from None
        with conn:
            if not conn.execute("SELECT pg_try_advisory_lock(%s)", (_LOCK_KEY,)).fetchone()[0]:
                logger.warning("index: another sync of %s is running; waiting for it to finish", redact(self.url))
                conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
            try:
                # First use of a new database; under the lock, as concurrent CREATE EXTENSIONs collide.
                conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
                self._vector_info = None
                self._adapt(conn)
                yield PgWriter(conn)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))


def _stored_chunks(conn: Any, where: str, *params: Any) -> list[StoredChunk]:
    """The chunks ``where`` selects (SQL over ``c``, the chunk, and ``d``, its document), as stored."""
    rows = conn.execute(
        "SELECT c.id, d.source, d.title, c.text, c.start, c.stop, c.ordinal, c.section, c.embedding,"
        " c.sent_start, c.sent_end, c.sent_vectors FROM rag_chunks c JOIN rag_documents d ON d.id = c.doc_id"
        f" WHERE {where}",
        params,
    ).fetchall()
    out = []
    for cid, source, title, text, start, stop, ordinal, section, vector, s_start, s_end, s_vectors in rows:
        vector = np.asarray(vector.to_numpy() if hasattr(vector, "to_numpy") else vector, dtype=np.float32)
        spans = tuple(zip(s_start or (), s_end or (), strict=True))
        sentence_vectors = np.frombuffer(s_vectors, dtype=np.float16).reshape(len(spans), -1) if spans else None
        chunk = Chunk(source, title, text, start, stop, ordinal, section)
        out.append(StoredChunk(cid, chunk, vector, spans, sentence_vectors))
    return out


def _filter_sql(where: Filter | None) -> tuple[str, list[Any]]:
    """A WHERE condition on ``rag_documents`` for ``where`` (``true`` for no filter), and its parameters."""
    if where is None:
        return "true", []
    clauses, params = [], []
    for column, values in (("source", where.source), ("title", where.title), ("type", where.type)):
        if values:
            clauses.append(f"{column} = ANY(%s)")
            params.append(list(values))
    if where.folder:
        clauses.append("EXISTS (SELECT 1 FROM unnest(%s::text[]) f WHERE f = '' OR starts_with(source, f || '/'))")
        params.append(list(where.folder))
    return " AND ".join(clauses) or "true", params


def _first(exc: BaseException) -> str:
    """The first line of a driver's message (psycopg adds DETAIL and HINT lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _meta(conn: Any, check: bool = True) -> dict[str, Any] | None:
    """The meta row; ``check`` first asks whether the table exists (it does not before the first sync)."""
    if check and conn.execute("SELECT to_regclass('rag_meta')").fetchone()[0] is None:
        return None
    # As JSON, so that a column added later (docs_dir) may be missing from an older database.
    row = conn.execute("SELECT to_jsonb(m) FROM rag_meta m").fetchone()
    if row is None:
        return None
    meta: dict[str, Any] = row[0]
    meta.setdefault("docs_dir", None)
    return meta


def _paging(pages: Any, sections: Any, warnings: Any) -> tuple[tuple[int, ...], tuple[tuple[int, str], ...], tuple]:
    return (
        tuple(pages or ()),
        tuple((int(o), str(h)) for o, h in (sections or ())),
        tuple(warnings or ()),
    )


@dataclass
class PgWriter:
    """Writes of one sync, on the connection that holds the sync lock."""

    conn: Any

    def meta(self) -> dict[str, Any] | None:
        return _meta(self.conn)

    def records(self) -> dict[str, DocumentRecord]:
        """What the index holds of every document, by source (to tell which files changed)."""
        if self.meta() is None:
            return {}
        rows = self.conn.execute(
            "SELECT source, title, fingerprint, size, mtime_ns, pages, sections, warnings FROM rag_documents"
        ).fetchall()
        return {r[0]: DocumentRecord(r[0], r[1], r[2], r[3], r[4], *_paging(r[5], r[6], r[7])) for r in rows}

    def chunks_of(self, sources: Sequence[str], texts: Collection[str]) -> list[StoredChunk]:
        """The stored chunks of these documents whose text is one of ``texts`` (to copy the vectors of text a
        changed file still holds); matched on the texts' MD5 in the database, so only those are sent."""
        if not sources or not texts:
            return []
        digests = [hashlib.md5(t.encode("utf-8"), usedforsecurity=False).hexdigest() for t in texts]
        where = "d.source = ANY(%s) AND md5(c.text) = ANY(%s)"
        return [c for c in _stored_chunks(self.conn, where, list(sources), digests) if c.chunk.text in texts]

    def apply(
        self,
        model: str,
        dimension: int,
        chunking: dict[str, Any],
        reset: bool,
        removed: Sequence[str],
        touched: Sequence[DocumentRecord],
        fresh: Sequence[tuple[DocumentRecord, Document, list[Chunk], list[Embedded]]],
        docs_dir: str = "",
    ) -> None:
        """In one transaction: drop ``removed`` documents (and the old version of each fresh one), update the
        size and time of ``touched`` ones, add ``fresh`` ones with their chunks, record ``docs_dir`` as the
        folder the index holds. ``reset`` starts from empty tables (first sync, or another model or chunking)."""
        meta = self.meta()
        reset = reset or meta is None
        with self.conn.transaction():
            if reset:
                self._create(model, dimension, chunking)
            elif meta is not None and meta["docs_dir"] is None:  # a database from before docs_dir was kept
                self.conn.execute("ALTER TABLE rag_meta ADD COLUMN IF NOT EXISTS docs_dir text NOT NULL DEFAULT ''")
            bulk = reset or self._count() == 0
            if bulk and fresh:  # COPY first, index after: much faster than inserting into a live HNSW index
                self.conn.execute("DROP INDEX IF EXISTS rag_chunks_embedding")
            self._remove([*removed, *(r.source for r, _, _, _ in fresh)])
            for r in touched:
                sql = "UPDATE rag_documents SET size = %s, mtime_ns = %s WHERE source = %s"
                self.conn.execute(sql, (r.size, r.mtime_ns, r.source))
            if fresh:
                self._add(fresh)
            if bulk and fresh:
                self.conn.execute(
                    "CREATE INDEX IF NOT EXISTS rag_chunks_embedding ON rag_chunks USING hnsw (embedding vector_ip_ops)"
                    f" WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
                )
                self.conn.execute("ANALYZE rag_chunks")
                self.conn.execute("ANALYZE rag_postings")
            # chunking: the same settings (else a reset), maybe newer loaders' versions
            self.conn.execute(
                "UPDATE rag_meta SET updated = now(), docs_dir = %s, chunking = %s", (docs_dir, json.dumps(chunking))
            )

    def _count(self) -> int:
        return int(self.conn.execute("SELECT chunks FROM rag_meta").fetchone()[0])

    def _create(self, model: str, dimension: int, chunking: dict[str, Any]) -> None:
        c = self.conn
        c.execute("DROP TABLE IF EXISTS rag_postings, rag_terms, rag_chunks, rag_documents, rag_meta CASCADE")
        c.execute("DROP SEQUENCE IF EXISTS rag_chunk_ids")
        c.execute(
            "CREATE TABLE rag_meta (one boolean PRIMARY KEY DEFAULT true CHECK (one), format_version int NOT NULL,"
            " model text NOT NULL, dimension int NOT NULL, chunking jsonb NOT NULL, chunks bigint NOT NULL DEFAULT 0,"
            " tokens bigint NOT NULL DEFAULT 0, updated timestamptz NOT NULL DEFAULT now(),"
            " docs_dir text NOT NULL DEFAULT '')"
        )
        c.execute(
            "CREATE TABLE rag_documents (id bigserial PRIMARY KEY, source text NOT NULL UNIQUE, title text NOT NULL,"
            " type text NOT NULL, fingerprint text NOT NULL, size bigint NOT NULL, mtime_ns bigint NOT NULL,"
            " pages int[], sections jsonb, warnings text[], text text NOT NULL)"
        )
        c.execute("CREATE INDEX rag_documents_type ON rag_documents (type)")
        c.execute("CREATE INDEX rag_documents_title ON rag_documents (title)")
        c.execute(
            "CREATE TABLE rag_chunks (id bigint PRIMARY KEY, doc_id bigint NOT NULL REFERENCES rag_documents(id)"
            " ON DELETE CASCADE, ordinal int NOT NULL, start int NOT NULL, stop int NOT NULL, section text,"
            f" text text NOT NULL, length int NOT NULL, embedding vector({int(dimension)}) NOT NULL,"
            " sent_start int[], sent_end int[], sent_vectors bytea)"
        )
        c.execute("CREATE INDEX rag_chunks_doc ON rag_chunks (doc_id)")
        c.execute(
            "CREATE TABLE rag_postings (term text NOT NULL, chunk_id bigint NOT NULL, doc_id bigint NOT NULL,"
            " tf real NOT NULL, dl real NOT NULL, PRIMARY KEY (term, chunk_id) INCLUDE (doc_id, tf, dl))"
        )
        c.execute("CREATE INDEX rag_postings_doc ON rag_postings (doc_id)")
        c.execute("CREATE TABLE rag_terms (term text PRIMARY KEY, df bigint NOT NULL)")
        c.execute("CREATE SEQUENCE rag_chunk_ids")
        c.execute(
            "INSERT INTO rag_meta (format_version, model, dimension, chunking) VALUES (%s, %s, %s, %s)",
            (FORMAT_VERSION, model, dimension, json.dumps(chunking)),
        )

    def _remove(self, sources: Sequence[str]) -> None:
        if not sources:
            return
        c = self.conn
        ids = [r[0] for r in c.execute("SELECT id FROM rag_documents WHERE source = ANY(%s)", (list(sources),))]
        if not ids:
            return
        chunks, tokens = c.execute(
            "SELECT count(*), coalesce(sum(length), 0) FROM rag_chunks WHERE doc_id = ANY(%s)", (ids,)
        ).fetchone()
        c.execute(
            "WITH gone AS (DELETE FROM rag_postings WHERE doc_id = ANY(%s) RETURNING term),"
            " counts AS (SELECT term, count(*) AS n FROM gone GROUP BY term)"
            " UPDATE rag_terms t SET df = t.df - counts.n FROM counts WHERE t.term = counts.term",
            (ids,),
        )
        c.execute("DELETE FROM rag_terms WHERE df <= 0")
        c.execute("DELETE FROM rag_documents WHERE id = ANY(%s)", (ids,))  # chunks go with them (cascade)
        c.execute("UPDATE rag_meta SET chunks = chunks - %s, tokens = tokens - %s", (chunks, tokens))

    def _add(self, fresh: Sequence[tuple[DocumentRecord, Document, list[Chunk], list[Embedded]]]) -> None:
        c = self.conn
        with c.cursor().copy(
            "COPY rag_documents (source, title, type, fingerprint, size, mtime_ns, pages, sections, warnings, text)"
            " FROM STDIN"
        ) as copy:
            for record, doc, _, _ in fresh:
                sections = json.dumps([list(s) for s in record.sections], ensure_ascii=False)
                copy.write_row(
                    (record.source, record.title, suffix(record.source), record.fingerprint, record.size,
                     record.mtime_ns, list(record.pages), sections, list(record.warnings), doc.text)
                )  # fmt: skip
        sources = [r.source for r, _, _, _ in fresh]
        doc_ids = dict(c.execute("SELECT source, id FROM rag_documents WHERE source = ANY(%s)", (sources,)).fetchall())
        n = sum(len(chunks) for _, _, chunks, _ in fresh)
        if n == 0:
            return
        last = c.execute("SELECT setval('rag_chunk_ids', nextval('rag_chunk_ids') + %s - 1)", (n,)).fetchone()[0]
        next_id = last - n + 1
        df: Counter[str] = Counter()
        tokens = 0
        rows_in_order = [
            (doc_ids[chunk.source], chunk, row)
            for _, _, chunks, rows in fresh
            for chunk, row in zip(chunks, rows, strict=True)
        ]
        # One COPY at a time per connection: chunks and their postings alternate, a batch at a time.
        for at in range(0, n, _COPY_BATCH):
            postings: list[tuple[str, int, int, float, float]] = []
            with c.cursor().copy(
                "COPY rag_chunks (id, doc_id, ordinal, start, stop, section, text, length, embedding, sent_start,"
                " sent_end, sent_vectors) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(
                    ["int8", "int8", "int4", "int4", "int4", "text", "text", "int4", "vector", "int4[]", "int4[]",
                     "bytea"]
                )  # fmt: skip
                for cid, (doc_id, chunk, (vector, spans, sentence_vectors)) in enumerate(
                    rows_in_order[at : at + _COPY_BATCH], start=next_id + at
                ):
                    words = tokenize(chunk.text)
                    length = max(len(words), 1)  # bm25s counts an empty chunk as one placeholder token
                    tokens += length
                    counts = Counter(words)
                    df.update(counts.keys())
                    postings.extend((term, cid, doc_id, float(tf), float(length)) for term, tf in counts.items())
                    copy.write_row(
                        (cid, doc_id, chunk.ordinal, chunk.start, chunk.end, chunk.section, chunk.text, length,
                         np.asarray(vector, dtype=np.float32), [a for a, _ in spans], [b for _, b in spans],
                         np.ascontiguousarray(sentence_vectors, dtype=np.float16).tobytes())
                    )  # fmt: skip
            sql = "COPY rag_postings (term, chunk_id, doc_id, tf, dl) FROM STDIN WITH (FORMAT BINARY)"
            with c.cursor().copy(sql) as copy:
                copy.set_types(["text", "int8", "int8", "float4", "float4"])
                for posting in postings:
                    copy.write_row(posting)
        terms = list(df)
        c.execute(
            "INSERT INTO rag_terms (term, df) SELECT * FROM unnest(%s::text[], %s::bigint[])"
            " ON CONFLICT (term) DO UPDATE SET df = rag_terms.df + EXCLUDED.df",
            (terms, [df[t] for t in terms]),
        )
        c.execute("UPDATE rag_meta SET chunks = chunks + %s, tokens = tokens + %s", (n, tokens))
