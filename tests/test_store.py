"""The index on disk: round trips, atomic writes, and damaged indexes that are detected, then rebuilt."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import HashEmbedder

from rag import IndexStoreError, Pipeline
from rag.filters import Filter
from rag.store import Store, current_generation


def make_docs(folder: Path, n: int = 3) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(
            f"Document {i} title\nThe river number {i} flows north. Its bridge was built in 19{i}0. "
            f"Fishermen catch trout there every spring.",
            encoding="utf-8",
        )


def pipeline(tmp_path: Path, embedder: HashEmbedder | None = None) -> Pipeline:
    return Pipeline(docs_dir=tmp_path / "docs", index_dir=tmp_path / "index", embedder=embedder or HashEmbedder())


def test_round_trip_keeps_documents_chunks_vectors_and_search(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs")
    built = pipeline(tmp_path).store
    loaded = Store.load(tmp_path / "index")
    assert [d.text for d in loaded.documents] == [d.text for d in built.documents]
    assert len(loaded) == len(built) > 0
    np.testing.assert_array_equal(np.asarray(loaded.vectors), built.vectors)
    for i in range(len(loaded)):
        chunk = loaded.chunk(i)
        assert loaded.document(chunk.source).text[chunk.start : chunk.end] == chunk.text
    _, ids = loaded.dense.search(built.vectors[:1], 1)
    assert ids[0][0] == 0
    assert loaded.keyword.scores("trout").max() > 0


def test_unchanged_folder_reuses_the_index_without_embedding(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs")
    first = pipeline(tmp_path).index()
    generation = current_generation(tmp_path / "index")
    embedder = HashEmbedder()
    second = pipeline(tmp_path, embedder).index()
    assert first.embedded > 0 and second.embedded == 0 and embedder.calls == 0
    assert not second.changed
    assert current_generation(tmp_path / "index") == generation


def test_only_changed_and_added_files_are_embedded(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs", 3)
    pipeline(tmp_path).index()
    (tmp_path / "docs" / "doc1.txt").write_text("Changed text about owls. Owls hunt at night.", encoding="utf-8")
    (tmp_path / "docs" / "new.md").write_text("# New\nBadgers dig setts.", encoding="utf-8")
    (tmp_path / "docs" / "doc2.txt").unlink()
    embedder = HashEmbedder()
    report = pipeline(tmp_path, embedder).index()
    assert report.updated == ["doc1.txt"] and report.added == ["new.md"] and report.removed == ["doc2.txt"]
    assert report.unchanged == ["doc0.txt"]
    store = Store.load(tmp_path / "index")
    assert sorted(d.source for d in store.documents) == ["doc0.txt", "doc1.txt", "new.md"]
    assert embedder.calls == report.embedded == len(store.chunks_of("doc1.txt")) + len(store.chunks_of("new.md"))
    # Every chunk keeps its own sentences and their vectors through the partial rebuild, as a full build makes them.
    fresh = Pipeline(docs_dir=tmp_path / "docs", index_dir=tmp_path / "fresh", embedder=HashEmbedder()).store
    assert fresh.sentences.chunks == store.sentences.chunks == len(store)
    for i in range(len(store)):
        spans, vectors = store.sentences.of_chunk(i)
        fresh_spans, fresh_vectors = fresh.sentences.of_chunk(i)
        chunk = store.chunk(i)
        assert spans == fresh_spans and spans and all(chunk.start <= s < e <= chunk.end for s, e in spans)
        np.testing.assert_array_equal(np.asarray(vectors), np.asarray(fresh_vectors))
    # A touched but unchanged file is not re-embedded either.
    (tmp_path / "docs" / "doc0.txt").touch()
    again = HashEmbedder()
    assert pipeline(tmp_path, again).index().embedded == 0 and again.calls == 0


def test_renamed_copies_of_one_content_pair_off_in_the_order_of_their_names(tmp_path: Path) -> None:
    """Found by a review: with a.txt and b.txt the same, renaming them to c.txt and d.txt reported b -> c, and
    d.txt added and a.txt removed."""
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a.txt", "b.txt"):
        (docs / name).write_text("The depot opens at six.\n", encoding="utf-8")
    pipeline(tmp_path).index()
    (docs / "a.txt").rename(docs / "c.txt")
    (docs / "b.txt").rename(docs / "d.txt")
    report = pipeline(tmp_path).index()
    assert report.renamed == [("a.txt", "c.txt"), ("b.txt", "d.txt")]
    assert report.summary().startswith("0 added, 0 updated, 0 removed, 2 renamed, ")


def test_an_edited_or_renamed_file_embeds_only_the_text_it_did_not_have(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    paragraphs = [
        f"Station {i} lies on the line to the coast. It opened in {1900 + i} with {i + 2} platforms. "
        f"Its clock was made in workshop {i * 7}, and the café sells {i + 3} kinds of bread."
        for i in range(40)
    ]
    (docs / "big.txt").write_text("Stations\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    first = pipeline(tmp_path).index()
    assert first.reused == 0 and first.embedded == first.chunks > 10

    paragraphs[36] = "Station 36 was closed in 1975 and is now a museum of railway clocks."
    paragraphs.append("Station 40 is the newest: it opened in 2024 with a single platform.")
    (docs / "big.txt").write_text("Stations\n\n" + "\n\n".join(paragraphs), encoding="utf-8")
    embedder = HashEmbedder()
    edited = pipeline(tmp_path, embedder).index()
    assert edited.updated == ["big.txt"] and edited.reused > 0
    # Chunks are packed from the top, so those before the edit are the same text: only the rest is embedded.
    assert embedder.calls == edited.embedded < edited.chunks // 3 and edited.embedded + edited.reused == edited.chunks
    assert f"{edited.embedded} embedded, {edited.reused} reused" in edited.summary()

    (docs / "big.txt").rename(docs / "stations.txt")
    renamed_with = HashEmbedder()
    renamed = pipeline(tmp_path, renamed_with).index()
    assert renamed.added == ["stations.txt"] and renamed.removed == ["big.txt"]
    assert renamed.renamed == [("big.txt", "stations.txt")]
    assert renamed.summary().startswith("0 added, 0 updated, 0 removed, 1 renamed, ")
    assert renamed.embedded == renamed_with.calls == 0 and renamed.reused == renamed.chunks

    # What was copied is what a full build computes: the same chunks, sentence offsets and vectors.
    store = Store.load(tmp_path / "index")
    fresh = Pipeline(docs_dir=docs, index_dir=tmp_path / "fresh", embedder=HashEmbedder()).store
    assert len(store) == len(fresh)
    np.testing.assert_array_equal(np.asarray(store.vectors), np.asarray(fresh.vectors))
    for i in range(len(store)):
        assert store.chunk(i) == fresh.chunk(i)
        spans, vectors = store.sentences.of_chunk(i)
        fresh_spans, fresh_vectors = fresh.sentences.of_chunk(i)
        assert spans == fresh_spans
        np.testing.assert_array_equal(np.asarray(vectors), np.asarray(fresh_vectors))


def test_a_copy_of_a_file_is_reported_and_embeds_nothing(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs", 2)
    pipeline(tmp_path).index()
    (tmp_path / "docs" / "copy of doc1.txt").write_bytes((tmp_path / "docs" / "doc1.txt").read_bytes())
    embedder = HashEmbedder()
    report = pipeline(tmp_path, embedder).index()
    assert report.added == ["copy of doc1.txt"] and report.duplicates == [("copy of doc1.txt", "doc1.txt")]
    assert report.embedded == embedder.calls == 0 and report.reused > 0
    (tmp_path / "docs" / "doc1.txt").write_text("Now about owls.", encoding="utf-8")
    assert pipeline(tmp_path).index().duplicates == []  # an unchanged copy is not reported again
    # Two copies added in one sync: the text is embedded once; the newer file is named the copy.
    (tmp_path / "docs" / "b.txt").write_text("Badgers dig setts. They sleep by day.", encoding="utf-8")
    (tmp_path / "docs" / "a.txt").write_text("Badgers dig setts. They sleep by day.", encoding="utf-8")
    os.utime(tmp_path / "docs" / "a.txt", ns=(time.time_ns(), time.time_ns() + 10**9))  # a second newer
    both = HashEmbedder()
    report = pipeline(tmp_path, both).index()
    assert report.added == ["a.txt", "b.txt"] and report.duplicates == [("a.txt", "b.txt")]
    assert report.embedded == both.calls == 1 and report.reused == 1
    store = Store.load(tmp_path / "index")
    np.testing.assert_array_equal(
        store.vectors[store.chunks_of("a.txt")[0]], store.vectors[store.chunks_of("b.txt")[0]]
    )


def test_a_crash_while_writing_leaves_the_previous_index_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_docs(tmp_path / "docs")
    pipeline(tmp_path).index()
    before = Store.load(tmp_path / "index")
    (tmp_path / "docs" / "doc0.txt").write_text("Entirely new content about volcanoes.", encoding="utf-8")

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", crash)
    with pytest.raises(IndexStoreError, match=f"cannot write the index at {tmp_path / 'index'}: disk full"):
        pipeline(tmp_path).index()
    monkeypatch.undo()
    after = Store.load(tmp_path / "index")
    assert [d.text for d in after.documents] == [d.text for d in before.documents]
    assert not [p for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")]
    # The next run completes the change.
    assert pipeline(tmp_path).index().updated == ["doc0.txt"]


@pytest.mark.parametrize(
    "damage",
    [
        "truncate_vectors",
        "garbage_manifest",
        "missing_generation",
        "garbage_faiss",
        "garbage_sentences",
        "sentences_out_of_order",
        "damaged_zip_directory",
        "wrong_format_version",
        "empty_current",
    ],
)
def test_a_damaged_index_is_reported_then_rebuilt_from_its_own_folder(
    tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAG_DOCS_DIR", raising=False)
    make_docs(tmp_path / "docs")
    pipeline(tmp_path).index()
    index_dir = tmp_path / "index"
    gen = current_generation(index_dir)
    if damage == "truncate_vectors":
        data = (gen / "vectors.npy").read_bytes()
        (gen / "vectors.npy").write_bytes(data[: len(data) // 2])
    elif damage == "garbage_manifest":
        (gen / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "missing_generation":
        (index_dir / "CURRENT").write_text("gen-does-not-exist\n", encoding="utf-8")
    elif damage == "garbage_faiss":
        size = (gen / "dense.faiss").stat().st_size
        (gen / "dense.faiss").write_bytes(b"\x00" * size)
    elif damage == "garbage_sentences":
        size = (gen / "sentences.npz").stat().st_size
        (gen / "sentences.npz").write_bytes(b"PK" + b"\x00" * (size - 2))
    elif damage == "sentences_out_of_order":  # same size, valid arrays, wrong content
        with np.load(gen / "sentences.npz") as arrays:
            ptr, start, end = arrays["ptr"].copy(), arrays["start"], arrays["end"]
        ptr[1] = ptr[-1] + 5
        np.savez(gen / "sentences.npz", ptr=ptr, start=start, end=end)
    elif damage == "damaged_zip_directory":  # the end of a .npz (its zip directory) overwritten in place
        data = bytearray((gen / "chunks.npz").read_bytes())
        data[-22:] = b"\x00" * 22
        (gen / "chunks.npz").write_bytes(bytes(data))
    elif damage == "wrong_format_version":
        manifest = json.loads((gen / "manifest.json").read_text())
        manifest["format_version"] = 999
        (gen / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "empty_current":
        (index_dir / "CURRENT").write_text("")
    with pytest.raises(IndexStoreError, match=str(index_dir)):
        Store.load(index_dir)
    # No folder named: the rebuild reads the folder the damaged index held, never the default (the seeds).
    rebuilt = Pipeline(index_dir=index_dir, embedder=HashEmbedder())
    report = rebuilt.index()
    assert report.rebuilt and report.embedded > 0
    assert rebuilt.settings.docs_dir == tmp_path / "docs"
    assert sorted(report.added) == ["doc0.txt", "doc1.txt", "doc2.txt"]
    assert len(Store.load(index_dir)) == report.chunks


def test_another_embedding_model_triggers_a_rebuild(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs")
    pipeline(tmp_path).index()
    other = pipeline(tmp_path, HashEmbedder(name="another-model"))
    report = other.index()
    assert report.rebuilt and "embedding model changed" in report.rebuilt
    assert Store.load(tmp_path / "index").manifest.model == "another-model"


def test_sections_survive_the_round_trip_and_label_chunks(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "guide.md").write_text(
        "# Guide\n\nIntro text is here.\n\n## Install\n\nRun the installer twice. It takes a minute.\n",
        encoding="utf-8",
    )
    pipeline(tmp_path).index()
    store = Store.load(tmp_path / "index")
    chunks = [store.chunk(i) for i in store.chunks_of("guide.md")]
    assert any(c.section == "Install" and "installer" in c.text for c in chunks)
    assert store.document("guide.md").sections == pipeline(tmp_path).store.document("guide.md").sections


def test_a_large_index_switches_to_ivf_and_keeps_its_recall_through_a_memory_mapped_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import faiss

    from rag import store

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(40, 32))
    vectors = (centres[rng.integers(0, 40, 6000)] + 0.3 * rng.normal(size=(6000, 32))).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    monkeypatch.setattr(store, "FLAT_MAX", 1000)
    index = store.build_faiss(vectors)
    assert "IVF" in type(index).__name__
    faiss.write_index(index, str(tmp_path / "ivf.faiss"))
    loaded = faiss.read_index(str(tmp_path / "ivf.faiss"), faiss.IO_FLAG_MMAP)
    queries = vectors[:200] + 0.05 * rng.normal(size=(200, 32)).astype(np.float32)
    _, approx = loaded.search(queries, 10)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.95


def test_an_index_written_before_the_folder_was_recorded_loads_and_is_reused(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs")
    pipeline(tmp_path).index()
    gen = current_generation(tmp_path / "index")
    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    assert manifest.pop("docs_dir") == str((tmp_path / "docs").resolve())
    (gen / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert Store.load(tmp_path / "index").manifest.docs_dir == ""

    embedder = HashEmbedder()
    report = pipeline(tmp_path, embedder).index()
    assert not report.rebuilt and embedder.calls == 0
    assert Store.load(tmp_path / "index").manifest.docs_dir == str((tmp_path / "docs").resolve())  # recorded now


def test_an_index_folder_that_is_a_file_or_cannot_be_made_is_named(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs")
    (tmp_path / "index").write_text("my notes, not an index", encoding="utf-8")
    with pytest.raises(IndexStoreError, match=f"the index folder {tmp_path / 'index'} is a file, not a folder"):
        pipeline(tmp_path).index()
    assert (tmp_path / "index").read_text(encoding="utf-8") == "my notes, not an index"
    unmakeable = Pipeline(docs_dir=tmp_path / "docs", index_dir="/proc/rag-test/index", embedder=HashEmbedder())
    with pytest.raises(IndexStoreError, match="cannot create the index folder /proc/rag-test/index"):
        unmakeable.index()


def test_sources_lists_the_documents_a_filter_lets_through(tmp_path: Path) -> None:
    make_docs(tmp_path / "docs" / "rivers", 2)
    make_docs(tmp_path / "docs", 1)
    store = pipeline(tmp_path).store
    assert store.sources() == ["doc0.txt", "rivers/doc0.txt", "rivers/doc1.txt"]
    assert store.sources(Filter(folder=("rivers",))) == ["rivers/doc0.txt", "rivers/doc1.txt"]
    assert store.sources(Filter(source=("doc1.txt",))) == []


def test_filter_paths_are_taken_as_typed_in_a_shell(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    typed = {
        "./reports/": "reports",
        f"{root}/reports": "reports",
        f"{root}/reports/q3.md": "reports/q3.md",
        str(root): "",
        "e\u0301quipe": "\u00e9quipe",  # "é" as macOS types it (e + combining accent) is the stored "é"
        "/elsewhere/x.md": "elsewhere/x.md",  # outside the documents folder: left as a relative name
    }
    for value, expected in typed.items():
        where = Filter.of({"folder": value, "source": value}, root)
        assert where is not None and where.folder == (expected,) and where.source == (expected,), value


@pytest.mark.parametrize("spec", ["x", [1], 5, {"source": 5}, {"source": [5]}, {"folder": ""}, {"type": []}])
def test_a_filter_of_the_wrong_shape_is_a_value_error_that_says_so(spec: object) -> None:
    """From JSON (the HTTP API) any shape can come: each was a TypeError or an AttributeError (a 500) before."""
    with pytest.raises(ValueError, match="filter"):
        Filter.of(spec)  # type: ignore[arg-type]


def test_keyword_search_finds_a_word_with_or_without_its_accents(tmp_path: Path) -> None:
    """Found by a restaurant's trial: "allergens in the tiramisu?" did not find the chart's "Tiramisù" row (BM25
    held the word with its accent), while "tiramisù" did. An index built before accents were dropped still finds it."""
    import bm25s

    from rag.lexical import KeywordIndex, stem_words

    texts = ["Tiramisù | Dolci | Y", "Panna cotta | Dolci |", "Ragù alla bolognese, slow-cooked"]
    index = KeywordIndex.build(texts)
    for query, hit in [("tiramisu", 0), ("tiramisù", 0), ("the ragu", 2), ("RAGÙ", 2)]:
        assert int(np.argmax(index.scores(query))) == hit and index.scores(query).max() > 0, query
    old = bm25s.BM25()  # as indexes were built before: the vocabulary with its accents
    old.index([stem_words(t.lower().replace("|", " ").split()) for t in texts], show_progress=False)
    old_index = KeywordIndex(old)
    assert int(np.argmax(old_index.scores("tiramisu"))) == 0 and old_index.scores("tiramisu").max() > 0
    old_index.save(tmp_path / "keyword")
    assert KeywordIndex.load(tmp_path / "keyword").scores("tiramisu").max() > 0


def test_an_index_of_an_older_keyword_tokenizer_gets_its_keyword_index_rebuilt_without_embedding(
    tmp_path: Path,
) -> None:
    """Identifiers are searched by their parts ("statement timeout" finds "statement_timeout_ms"): an index whose
    keyword side was built before that is given a new one at the next sync, from its stored chunks."""
    import bm25s

    from rag.lexical import KEYWORD_VERSION, stem_words

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "config.md").write_text(
        "# Settings\n\n| Setting | Default |\n|---|---|\n| statement_timeout_ms | 5000 |\n", encoding="utf-8"
    )
    (docs / "notes.md").write_text("# Notes\n\nThe statement of accounts is sent monthly.\n", encoding="utf-8")
    pipeline(tmp_path).index()
    folder = current_generation(tmp_path / "index")
    store = Store.load(tmp_path / "index")
    old = bm25s.BM25()  # as an index written before the keyword tokenizer had a version: identifiers whole
    texts = [store.chunk(i).text for i in range(len(store))]
    old.index([stem_words(t.lower().replace("|", " ").split()) for t in texts], show_progress=False)
    old.save(str(folder / "keyword"), show_progress=False)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    del manifest["chunking"]["keywords"]
    manifest["files"] = {
        p.relative_to(folder).as_posix(): p.stat().st_size
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert Store.load(tmp_path / "index").keyword_search("statement timeout", 2)[0].tolist() == [1]  # the notes
    embedder = HashEmbedder()
    again = pipeline(tmp_path, embedder)
    report = again.index()
    assert report.embedded == 0 and embedder.calls == 0, report  # no vector computed again
    assert again.store.manifest.chunking["keywords"] == KEYWORD_VERSION
    found = [p.chunk.source for p in again.retrieve("What is the statement timeout?", top_k=1)]
    assert found == ["config.md"]
