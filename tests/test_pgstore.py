"""The pgvector store against a real PostgreSQL 18 + pgvector 0.8 on 127.0.0.1 (started by the tests).

Where the two backends must behave alike, the same test runs on both (the ``backend`` fixture): the answers,
the quotes at their offsets, retrieval, sync and filters. Then what only a shared database can do: syncs
that race, a read replica, a sync killed mid-write.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fixtures.make_fixtures import make_pptx

from rag import IndexStoreError, Pipeline, QuestionError, Settings
from rag.chunking import Chunk
from rag.documents import Document
from rag.embedding import Embedder
from rag.filters import Filter
from rag.pgstore import PgStore
from rag.store import DocumentRecord
from tests.conftest import SEEDS, HashEmbedder
from tests.servers import PgServer, postgres, wait_replicated

pytestmark = pytest.mark.slow

LOAN = "How much could Ukraine borrow under the reparations loan?"
QUESTIONS = [
    LOAN,
    "Who won the 2022 World Cup?",
    "Who is the EU Defense Commissioner?",
    "What is the SAFE fund?",
    "What did Kallas say about peace talks?",
    "Where are the frozen Russian assets held?",
    "How many countries handed in spending plans?",
]

MakePipeline = Callable[..., Pipeline]


@pytest.fixture(params=["faiss", "pgvector"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, embedder: Embedder) -> MakePipeline:
    """Makes pipelines on one backend: FAISS files in tmp_path, or a fresh PostgreSQL database."""
    url = request.getfixturevalue("pg_url") if request.param == "pgvector" else ""

    def make(docs: Path, **settings: object) -> Pipeline:
        if url:
            settings = {"store": "pgvector", "store_url": url, **settings}
        return Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder, **settings)

    return make


def quotes(pipeline: Pipeline, question: str) -> list[tuple[str, int, int, str]]:
    answer = pipeline.answer(question)
    return [(q.source, q.start, q.end, q.text) for q in answer.quotes]


# ---- the same behaviour on both backends --------------------------------------------------------------------


def test_pgvector_answers_exactly_as_faiss(seeds_pipeline: Pipeline, pg_url: str, seeds_copy: Path) -> None:
    pg = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=seeds_pipeline.embedder)
    report = pg.index()
    assert report.chunks == len(seeds_pipeline.store) and report.embedded == report.chunks
    for question in QUESTIONS:
        expected, got = seeds_pipeline.answer(question), pg.answer(question)
        assert (got.text, got.answered) == (expected.text, expected.answered), question
        assert quotes(pg, question) == quotes(seeds_pipeline, question)
        mine = [(p.chunk.source, p.chunk.start, p.keyword_score) for p in pg.retrieve(question, top_k=10)]
        theirs = [(p.chunk.source, p.chunk.start, p.keyword_score) for p in seeds_pipeline.retrieve(question, top_k=10)]
        assert [m[:2] for m in mine] == [t[:2] for t in theirs], question
        assert np.allclose([m[2] for m in mine], [t[2] for t in theirs], rtol=1e-4), "BM25 in SQL = bm25s"
    loan = pg.answer(LOAN)
    assert loan.answered and "140 billion" in loan.quotes[0].text
    assert not pg.answer("Who won the 2022 World Cup?").answered


def test_every_quote_is_the_stored_text_at_its_offsets(backend: MakePipeline, seeds_copy: Path) -> None:
    pipeline = backend(seeds_copy)
    checked = 0
    for question in [*QUESTIONS, "What was discussed in Brussels?", "What does Euroclear hold?"]:
        answer = pipeline.answer(question)
        for quote in [*answer.quotes, *answer.related]:
            text = pipeline.document_text(quote.source)
            assert text[quote.start : quote.end] == quote.text
            assert pipeline.excerpt(quote.source, quote.start, quote.end) == quote.text  # "in context" reads these
            assert (
                pipeline.excerpt(quote.source, quote.start - 400, quote.end + 400)
                == text[max(quote.start - 400, 0) : quote.end + 400]
            )
            checked += 1
    assert checked >= 8
    text = pipeline.document_text("EU-defence-ministers-in-Brussels.txt")
    euro = text.index("€")  # offsets count characters, not bytes, on both backends
    assert pipeline.excerpt("EU-defence-ministers-in-Brussels.txt", euro, euro + 5) == text[euro : euro + 5]


def test_sync_re_embeds_only_what_changed(backend: MakePipeline, seeds_copy: Path) -> None:
    pipeline = backend(seeds_copy)
    first = pipeline.index()
    assert sorted(first.added) == sorted(p.name for p in SEEDS.iterdir()) and first.embedded == first.chunks
    again = pipeline.index()
    assert (again.added, again.updated, again.removed, again.embedded) == ([], [], [], 0)

    note = seeds_copy / "notes" / "depot.md"
    note.parent.mkdir()
    note.write_text("# Depot\n\nThe grain depot at Odesa stores 41,000 tonnes of wheat.\n", encoding="utf-8")
    added = pipeline.index()
    assert added.added == ["notes/depot.md"] and 0 < added.embedded < 5
    assert "41,000 tonnes" in pipeline.answer("How much wheat does the Odesa depot store?").quotes[0].text

    os.utime(note, ns=(time.time_ns(), time.time_ns() + 10**9))  # touched, not changed: nothing re-embedded
    touched = pipeline.index()
    assert (touched.added, touched.updated, touched.embedded) == ([], [], 0)

    note.write_text("# Depot\n\nThe grain depot at Odesa stores 52,000 tonnes of barley.\n", encoding="utf-8")
    updated = pipeline.index()
    assert updated.updated == ["notes/depot.md"] and 0 < updated.embedded < 5
    assert "52,000 tonnes" in pipeline.answer("How much barley does the Odesa depot store?").quotes[0].text

    note.unlink()
    removed = pipeline.index()
    assert removed.removed == ["notes/depot.md"] and removed.chunks == first.chunks
    assert not pipeline.answer("How much barley does the Odesa depot store?").answered

    assert backend(seeds_copy).index().embedded == 0  # a new pipeline finds the index as the last sync left it


def test_an_appended_or_renamed_file_copies_the_vectors_it_already_had(
    backend: MakePipeline, seeds_copy: Path, embedder: Embedder
) -> None:
    pipeline = backend(seeds_copy)
    pipeline.index()
    brussels = seeds_copy / "EU-defence-ministers-in-Brussels.txt"
    with brussels.open("a", encoding="utf-8") as f:
        f.write("\n\nThe ministers will meet again in Vilnius in March to review the SAFE loans.\n")
    appended = pipeline.index()
    fresh = Pipeline(docs_dir=seeds_copy, index_dir=seeds_copy.parent / "fresh", embedder=embedder)
    assert appended.updated == [brussels.name] and appended.chunks == len(fresh.store)
    assert 0 < appended.embedded <= 2 and appended.embedded + appended.reused == len(
        fresh.store.chunks_of(brussels.name)
    )

    kallas = seeds_copy / "Kallas-on-Ukraine-peace-diplomacy.txt"
    kallas.rename(seeds_copy / "kallas.txt")
    renamed = pipeline.index()
    assert (renamed.added, renamed.removed) == (["kallas.txt"], [kallas.name])
    assert renamed.embedded == 0 and renamed.reused > 0 and renamed.chunks == appended.chunks

    # The copied vectors answer as a fresh build's computed ones do, quotes verbatim at their offsets.
    fresh = Pipeline(docs_dir=seeds_copy, index_dir=seeds_copy.parent / "fresh", embedder=embedder)
    assert fresh.index(rebuild=True).embedded == renamed.chunks
    for question in [*QUESTIONS, "Where will the ministers meet again?"]:
        got = quotes(pipeline, question)
        assert got == quotes(fresh, question), question
        for source, start, end, text in got:
            assert pipeline.document_text(source)[start:end] == text
    assert "Vilnius" in pipeline.answer("Where will the ministers meet again?").quotes[0].text
    assert any(q.source == "kallas.txt" for q in pipeline.answer("What did Kallas say about peace talks?").quotes)


def test_the_catalog_keeps_each_documents_warnings(backend: MakePipeline, seeds_copy: Path) -> None:
    (seeds_copy / "deck.pptx").write_bytes(make_pptx([{"title": "Fleet", "bullets": ["Twelve ferries."]}, {}]))
    pipeline = backend(seeds_copy)
    pipeline.index()
    (seeds_copy / "notes.txt").write_text("The garage closes at 22:00.\n", encoding="utf-8")
    assert pipeline.index().warnings == []  # this sync added notes.txt alone
    catalog = pipeline.store.catalog(10)
    assert catalog.warnings == [("deck.pptx", ("slide 2 has no text",))]
    assert pipeline.store.catalog(0).warnings == []


def test_a_changed_loader_re_reads_its_own_files_and_keeps_their_vectors(
    backend: MakePipeline, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.pipeline

    (seeds_copy / "depot.md").write_text("# Depot\n\nThe depot at Odesa stores 41,000 tonnes of wheat.\n")
    pipeline = backend(seeds_copy)
    first = pipeline.index()
    assert pipeline.index().updated == []
    first_versions = rag.pipeline.LOADER_VERSIONS
    newer = {**first_versions, ".md": first_versions[".md"] + 1}
    monkeypatch.setattr(rag.pipeline, "LOADER_VERSIONS", newer)  # as after an upgrade that changed the .md loader
    again = pipeline.index()
    assert (again.reread, again.updated, again.added, again.embedded) == (["depot.md"], [], [], 0)  # same text
    assert again.chunks == first.chunks and "1 re-read (newer loader or OCR)" in again.summary()
    assert backend(seeds_copy).index().reread == []  # the new versions are recorded: read once, not every sync
    monkeypatch.setattr(rag.pipeline, "LOADER_VERSIONS", first_versions)  # a replica still on the older code
    assert backend(seeds_copy).index().reread == []  # neither re-reads nor lowers the recorded version
    monkeypatch.setattr(rag.pipeline, "LOADER_VERSIONS", newer)
    assert backend(seeds_copy).index().reread == []


def test_filters_keep_only_the_documents_asked_for(backend: MakePipeline, seeds_copy: Path) -> None:
    (seeds_copy / "archive").mkdir()
    shutil.copy(seeds_copy / "Kallas-on-Ukraine-peace-diplomacy.txt", seeds_copy / "archive" / "kallas-copy.md")
    pipeline = backend(seeds_copy)
    pipeline.index()
    kallas = "Kallas-on-Ukraine-peace-diplomacy.txt"
    cases = {
        "source": ({"source": kallas}, {kallas}),
        "folder": ({"folder": "archive"}, {"archive/kallas-copy.md"}),
        "type": ({"type": "md"}, {"archive/kallas-copy.md"}),
        "two values": ({"source": [kallas, "archive/kallas-copy.md"]}, {kallas, "archive/kallas-copy.md"}),
    }
    for name, (spec, allowed) in cases.items():
        passages = pipeline.retrieve(LOAN, top_k=5, filters=spec)
        assert len(passages) == 5, name  # filtered inside the search: still k results
        assert len({p.chunk.text for p in passages}) == 5, name  # a copy's text is not listed twice
        if name == "two values":  # the copy's passages repeat the original's: the original's are listed
            assert {p.chunk.source for p in passages} <= allowed, name
        else:
            assert {p.chunk.source for p in passages} == allowed, name
    assert pipeline.retrieve(LOAN, filters={"folder": "nowhere"}) == []
    # The loan is only in the Brussels article: with it filtered out the question is not answered from it.
    answer = pipeline.answer(LOAN, filters={"source": kallas})
    assert all(q.source == kallas for q in answer.quotes)
    assert pipeline.answer(LOAN, filters={"title": "EU defence ministers in Brussels"}).answered
    with pytest.raises(QuestionError, match="unknown filter field 'colour'"):
        pipeline.answer(LOAN, filters={"colour": "red"})
    # What a filter lets through, and a filter that lets nothing through: named, not "the documents do not say".
    store = pipeline.store
    assert store.sources() == sorted(["archive/kallas-copy.md", kallas, "EU-defence-ministers-in-Brussels.txt"])
    assert store.sources(Filter(folder=("archive",))) == ["archive/kallas-copy.md"]
    assert store.sources(Filter(source=("kallas-copy.md",))) == []
    bare = pipeline.answer(LOAN, filters={"source": "kallas-copy.md"})
    assert not bare.answered and bare.text.endswith("Did you mean source=archive/kallas-copy.md?")


def test_a_pipeline_given_no_folder_syncs_the_one_the_index_holds(
    backend: MakePipeline, seeds_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAG_DOCS_DIR", raising=False)
    backend(seeds_copy).index()
    forgetful = backend(None)  # no docs_dir: not the checkout's seeds/, the folder the index holds
    report = forgetful.index()
    assert not report.changed and report.embedded == 0
    assert forgetful.settings.docs_dir == seeds_copy


# ---- what only the shared database does ---------------------------------------------------------------------


def write_random_store(url: str, n: int, dim: int, groups: int) -> None:
    """``n`` random unit vectors as the chunks of ``groups`` documents (``gNN/doc.txt``), through the store's
    own bulk path (COPY, then the HNSW index)."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    fresh = []
    for g in range(groups):
        rows = range(g, n, groups)
        words = [f"w{i}" for i in rows]
        doc = Document(f"g{g:02d}/doc.txt", f"group {g}", " ".join(words), f"fp{g}")
        starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
        chunks = [
            Chunk(doc.source, doc.title, w, int(a), int(a) + len(w), k)
            for k, (w, a) in enumerate(zip(words, starts, strict=True))
        ]
        embedded = [(vectors[i], [], np.zeros((0, dim), np.float16)) for i in rows]
        fresh.append((DocumentRecord.of(doc), doc, chunks, embedded))
    store = PgStore(url)
    with store.writer() as writer:
        writer.apply("random", dim, {}, True, [], [], fresh)
    store.close()


def test_a_selective_filter_keeps_its_recall(pg_url: str) -> None:
    write_random_store(pg_url, 20_000, 48, groups=10)
    store = PgStore(pg_url)
    where = Filter(folder=("g03",))  # 10% of the chunks
    rng = np.random.default_rng(1)
    recalls = []
    with psycopg.connect(pg_url) as conn:
        docs = [r[0] for r in conn.execute("SELECT id FROM rag_documents WHERE source LIKE 'g03/%'")]
        conn.execute("SET enable_indexscan = off")  # the oracle: an exact scan of the same rows
        for q in rng.standard_normal((30, 48)).astype(np.float32):
            q /= np.linalg.norm(q)
            got = store.dense_search(q, 10, where)
            exact = conn.execute(
                "SELECT id FROM rag_chunks WHERE doc_id = ANY(%s) ORDER BY embedding <#> %s::real[]::vector LIMIT 10",
                (docs, q.tolist()),
            ).fetchall()
            assert len(got) == 10  # pgvector alone would return what survives the filter of 100 candidates
            recalls.append(len(set(got.tolist()) & {r[0] for r in exact}) / 10)
    assert np.mean(recalls) >= 0.9, recalls
    store.close()


SYNC = (
    "import sys; from rag import Pipeline; "
    "r = Pipeline(docs_dir=sys.argv[1], store='pgvector', store_url=sys.argv[2], index_dir=sys.argv[3]).index(); "
    "print(r.embedded)"
)


def test_concurrent_syncs_neither_duplicate_nor_lose_chunks(pg_url: str, seeds_copy: Path, tmp_path: Path) -> None:
    for i in range(12):
        counts = " ".join(f"Station {i} counted {i * 3 + j} wagons." for j in range(40))  # no two chunks alike
        (seeds_copy / f"log-{i}.txt").write_text(f"Log {i}. {counts}")
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", SYNC, str(seeds_copy), pg_url, str(tmp_path / f"i{n}")],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    embedded = [int(p.communicate(timeout=300)[0].strip().splitlines()[-1]) for p in runs]
    assert all(p.returncode == 0 for p in runs)
    assert sorted(embedded)[:2] == [0, 0] and max(embedded) > 0  # one sync did the work; the others waited
    with psycopg.connect(pg_url) as conn:
        chunks, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (doc_id, start, stop)) FROM rag_chunks"
        ).fetchone()
        meta = conn.execute("SELECT chunks FROM rag_meta").fetchone()[0]
        docs = conn.execute("SELECT count(*) FROM rag_documents").fetchone()[0]
    assert chunks == distinct == meta == max(embedded)
    assert docs == 14


def test_a_sync_killed_mid_write_leaves_the_last_index(pg_url: str, seeds_copy: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-c", SYNC, str(seeds_copy), pg_url, str(tmp_path / "i")]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    reader = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, sync_on_start=False)
    before = quotes(reader, LOAN)
    for i in range(60):
        # Every sentence its own text: identical chunks are embedded once, which would end the sync too soon.
        depots = " ".join(f"Depot {i}.{j} holds {j} tonnes of grain." for j in range(300))
        (seeds_copy / f"extra-{i}.txt").write_text(f"Extra {i}. {depots}")
    for delay in (1.0, 2.5, 4.0, 6.0):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        assert quotes(reader, LOAN) == before  # the killed sync's transaction never became visible
        with psycopg.connect(pg_url) as conn:
            counted = conn.execute("SELECT count(*) FROM rag_chunks").fetchone()[0]
            assert counted == conn.execute("SELECT chunks FROM rag_meta").fetchone()[0]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    assert int(done.stdout.strip().splitlines()[-1]) > 0
    assert len(reader.store.catalog(200).listed) == 62
    assert "tonnes of grain" in reader.answer("How many tonnes of grain does depot 7 hold?").quotes[0].text


def test_a_read_replica_answers_the_same(pg_server: PgServer, seeds_copy: Path, tmp_path: Path, embedder) -> None:
    url = pg_server.create_database("replicated")
    primary = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=url, embedder=embedder)
    primary.index()
    with pg_server.replica() as replica:
        replica_url = url.replace(f":{pg_server.port}/", f":{replica.port}/")
        wait_replicated(url, replica_url)
        reading = Pipeline(
            docs_dir=seeds_copy, store="pgvector", store_url=url, store_read_url=replica_url, embedder=embedder
        )
        for question in QUESTIONS:
            assert quotes(reading, question) == quotes(primary, question)
        (seeds_copy / "depot.txt").write_text("The grain depot at Odesa stores 41,000 tonnes of wheat.")
        reading.index()  # writes go to the primary, reads come back from the replica once replayed
        wait_replicated(url, replica_url)
        assert "41,000 tonnes" in reading.answer("How much wheat does the Odesa depot store?").quotes[0].text
        with psycopg.connect(replica_url) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]


# ---- errors a user can act on -------------------------------------------------------------------------------


def test_an_unreachable_database_is_named_without_its_password(seeds_copy: Path) -> None:
    url = "postgresql://rag:hunter2@127.0.0.1:9/rag"
    with pytest.raises(IndexStoreError, match=r"cannot connect to the index database .*rag:\*\*\*@127.0.0.1:9") as e:
        Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=url, embedder=HashEmbedder()).index()
    assert "hunter2" not in str(e.value)
    with pytest.raises(ValueError, match="store=pgvector needs store_url"):
        Settings(store="pgvector")


def test_a_wrong_database_fails_at_once_in_one_line_with_the_servers_reason(pg_url: str, seeds_copy: Path) -> None:
    wrong = pg_url.rsplit("/", 1)[0] + "/nosuchdb"
    started = time.monotonic()
    with pytest.raises(IndexStoreError, match='database "nosuchdb" does not exist') as e:
        Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=wrong, embedder=HashEmbedder()).index()
    assert "\n" not in str(e.value) and time.monotonic() - started < 5  # no pool retrying for 10 s


def test_a_database_lost_while_serving_is_an_index_error_not_a_driver_one(seeds_copy: Path) -> None:
    with postgres() as server:
        pipeline = Pipeline(
            docs_dir=seeds_copy, store="pgvector", store_url=server.create_database("lost"), embedder=HashEmbedder()
        )
        pipeline.index()
        assert pipeline.retrieve(LOAN)
    with pytest.raises(IndexStoreError, match="lost the index database"):  # the server is stopped now
        pipeline.retrieve(LOAN)


def test_another_model_rebuilds_the_database_index(pg_url: str, seeds_copy: Path) -> None:
    first = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=HashEmbedder(16, "hash-a"))
    assert first.index().embedded > 0
    second = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=HashEmbedder(24, "hash-b"))
    report = second.index()
    assert report.rebuilt and "embedding model changed" in report.rebuilt
    assert report.embedded == report.chunks > 0
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT model, dimension FROM rag_meta").fetchone() == ("hash-b", 24)


def test_a_database_from_before_the_folder_was_recorded_is_read_then_records_it(
    pg_url: str, seeds_copy: Path, embedder
) -> None:
    Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=embedder).index()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE rag_meta DROP COLUMN docs_dir")
    reader = Pipeline(store="pgvector", store_url=pg_url, embedder=embedder, sync_on_start=False)
    assert reader.answer(LOAN).answered
    report = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=embedder).index()
    assert not report.rebuilt and report.embedded == 0
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT docs_dir FROM rag_meta").fetchone() == (str(seeds_copy.resolve()),)


def test_rag_index_on_pgvector_names_the_database_not_a_folder(pg_url: str, seeds_copy: Path) -> None:
    env = os.environ | {"RAG_STORE": "pgvector", "RAG_STORE_URL": pg_url, "RAG_DOCS_DIR": str(seeds_copy)}
    out = subprocess.run([sys.executable, "-m", "rag", "index"], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"index {pg_url}: " in out.stdout and "index/" not in out.stdout.splitlines()[-1]


def test_a_sync_waiting_for_another_says_so(pg_url: str, seeds_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    import threading

    from rag.pgstore import _LOCK_KEY

    pipeline = Pipeline(docs_dir=seeds_copy, store="pgvector", store_url=pg_url, embedder=HashEmbedder())
    with psycopg.connect(pg_url, autocommit=True) as other:  # another sync holds the lock
        other.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        with caplog.at_level(logging.WARNING, logger="rag"):
            syncing = threading.Thread(target=pipeline.index)
            syncing.start()
            deadline = time.monotonic() + 30
            while "waiting for it to finish" not in caplog.text and time.monotonic() < deadline:
                time.sleep(0.05)
            assert syncing.is_alive()  # it waits, and says so
        other.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    syncing.join(timeout=120)
    assert "another sync of" in caplog.text and pipeline.last_report is not None
