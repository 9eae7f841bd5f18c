"""The second retrieval stage: the default sentence reranker, and a cross-encoder given by local path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import Pipeline
from rag.embedding import Embedder, resolve_model
from rag.errors import ModelLoadError
from rag.evidence import Sentence
from rag.reader import SpanReader
from rag.reranking import CrossEncoderReranker, SentenceReranker, load_reranker

LOAN = "How much could Ukraine borrow under the reparations loan?"


def test_sentence_reranking_reorders_the_fused_candidates_by_their_best_sentence(seeds_pipeline: Pipeline) -> None:
    pipeline = seeds_pipeline
    assert isinstance(pipeline.reranker, SentenceReranker)
    vector = pipeline.embedder.encode_query(LOAN)
    fused = pipeline.retriever.run(LOAN, pipeline.settings.rerank_candidates, vector)
    reranked = pipeline.retrieve(LOAN, len(fused))
    assert sorted(p.index for p in reranked) == sorted(p.index for p in fused)  # the same passages, reordered
    scores = [p.score for p in reranked]
    assert scores == sorted(scores, reverse=True)
    assert "€140 billion" in reranked[0].chunk.text
    # Each passage carries its sentences' offsets and the vectors stored for them at index time.
    for passage in reranked:
        chunk = passage.chunk
        assert passage.sentences and passage.sentence_vectors is not None
        assert len(passage.sentence_vectors) == len(passage.sentences)
        assert all(chunk.start <= s < e <= chunk.end for s, e in passage.sentences)


def test_no_reranker_gives_the_fused_order(seeds_pipeline: Pipeline, tmp_path: Path, embedder: Embedder) -> None:
    plain = Pipeline(seeds_pipeline.settings, embedder=embedder, reranker="none")
    assert plain.reranker is None
    fused = seeds_pipeline.retriever.run(LOAN, 5)
    assert [p.index for p in plain.retrieve(LOAN, 5)] == [p.index for p in fused]


def test_a_reranker_that_cannot_load_says_which(seeds_pipeline: Pipeline, embedder: Embedder) -> None:
    pipeline = Pipeline(seeds_pipeline.settings, embedder=embedder, reranker="/nowhere/cross-encoder")
    with pytest.raises(ModelLoadError, match="/nowhere/cross-encoder"):
        pipeline.answer(LOAN)


@pytest.mark.slow
def test_a_cross_encoder_by_local_path_orders_the_passages(
    seeds_pipeline: Pipeline, embedder: Embedder, tmp_path: Path
) -> None:
    # No cross-encoder ships as a package here: make one from the MiniLM weights with a fresh (seeded) scoring
    # head. Its scores mean nothing, but the product must load it by path and follow them exactly.
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1, local_files_only=True)
    folder = tmp_path / "cross-encoder"
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source, local_files_only=True).save_pretrained(folder)

    pipeline = Pipeline(seeds_pipeline.settings, embedder=embedder, reranker=str(folder), rerank_candidates=8)
    reranker = pipeline.reranker
    assert isinstance(reranker, CrossEncoderReranker)
    passages = pipeline.retrieve(LOAN, 8)
    fused = pipeline.retriever.run(LOAN, 8)
    expected = reranker.scores(LOAN, fused)
    assert [p.index for p in passages] == [fused[i].index for i in np.argsort(-expected, kind="stable")]
    assert np.allclose([p.score for p in passages], np.sort(expected)[::-1], atol=1e-5)
    assert pipeline.answer(LOAN).quotes  # the answerer works on the cross-encoder's order too


def test_a_passage_without_sentences_to_score_keeps_its_fused_place(
    seeds_copy: Path, tmp_path: Path, embedder: Embedder
) -> None:
    office = "- Wifi: HarbourGuest\n- Password: hunter2\n- Parking: P4\n"
    (seeds_copy / "office.md").write_text(office, encoding="utf-8")
    pipeline = Pipeline(docs_dir=seeds_copy, index_dir=tmp_path / "index", embedder=embedder)
    question = "What is the wifi password?"
    fused = pipeline.retriever.run(question, 20)
    position = next(k for k, p in enumerate(fused) if p.chunk.source == "office.md")
    assert position < 5  # BM25 finds it; its lines are too short to be scored as sentences
    reranked = pipeline.retrieve(question, 5)
    assert [p.chunk.source for p in reranked].index("office.md") <= position
    scores = [p.score for p in reranked]
    assert scores == sorted(scores, reverse=True) and all(np.isfinite(scores))


def test_passages_go_by_their_best_sentence_and_unscored_ones_keep_their_place() -> None:
    from rag.reranking import best_sentence_order

    # (score, passage position) per sentence; passage 2 has no sentence to score.
    scored = [(0.2, 0), (0.9, 1), (0.1, 1), (0.5, 3), (0.7, 0)]
    assert best_sentence_order(scored, 4) == [(1, 0.9), (0, 0.7), (2, 0.7), (3, 0.5)]
    assert best_sentence_order([], 2) == [(0, 0.0), (1, 0.0)]


def test_the_sentence_reranker_follows_the_rerank_head(seeds_pipeline: Pipeline) -> None:
    from rag.evidence import rerank_scores

    pipeline = seeds_pipeline
    reranker = pipeline.reranker
    assert isinstance(reranker, SentenceReranker)
    vector = pipeline.embedder.encode_query(LOAN)
    fused = pipeline.retriever.run(LOAN, pipeline.settings.rerank_candidates, vector)
    sentences, vectors, windows = reranker.scorer.sentences(fused)
    head = rerank_scores(reranker.scorer.features(LOAN, LOAN, sentences, vectors, windows, vector))
    first = sentences[int(np.argmax(head))]
    assert pipeline.retrieve(LOAN, 1)[0].index == fused[first.rank].index


BRIDGE = [  # (rerank score, best sentence) of seven passages, in the rerank's order; the 6th says when
    (0.95, "The Berg bridge crosses the river at its narrowest point."),
    (0.90, "The bridge carries four lanes of traffic and a cycle path."),
    (0.85, "Its towers stand 40 metres above the water."),
    (0.80, "The bridge is painted green every spring."),
    (0.79, "A toll was charged on the bridge until the loan was repaid."),
    (0.78, "The bridge was opened in 1932 by Mayor Anna Berg."),
    (0.77, "Walkers cross the bridge on the first Sunday of May."),
]


def _bridge_sentences() -> list[tuple[float, Sentence]]:
    return [(score, Sentence("bridge.md", "Bridge", 0, len(t), t, k)) for k, (score, t) in enumerate(BRIDGE)]


def test_the_reader_settles_which_passages_make_the_cut(scorer_free_reranker: SentenceReranker) -> None:
    from rag.reranking import best_sentence_order

    scored = _bridge_sentences()
    order = best_sentence_order([(score, s.rank) for score, s in scored], len(scored))
    read = scorer_free_reranker.read("When was the bridge opened?", scored, order)
    assert scorer_free_reranker.window == (3, 7)  # the 4th to 7th, around the 5th place
    positions = [i for i, _ in read]
    assert positions.index(5) < 5, "the passage that says when now makes the top 5"
    assert positions[:3] == [0, 1, 2], "passages above the window keep their places"
    assert sorted(positions[3:]) == [3, 4, 5, 6]
    assert [score for _, score in read] == [score for _, score in order], "each place keeps its score"


def test_reading_at_the_cut_is_opt_in_and_leaves_the_top_three(seeds_pipeline: Pipeline) -> None:
    assert isinstance(seeds_pipeline.reranker, SentenceReranker) and seeds_pipeline.reranker.reader is None
    s = seeds_pipeline.settings
    reading = Pipeline(docs_dir=s.docs_dir, index_dir=s.index_dir, embedder=seeds_pipeline.embedder, rerank_reads=4)
    reranker = reading.reranker
    assert isinstance(reranker, SentenceReranker) and reranker.reader is reading.reader is not None
    assert reranker.window == (3, 7)
    plain, read = seeds_pipeline.retrieve(LOAN, 7), reading.retrieve(LOAN, 7)
    assert [p.index for p in read[:3]] == [p.index for p in plain[:3]]
    assert sorted(p.index for p in read) == sorted(p.index for p in plain)
    for reads in (0, 1):
        unread = load_reranker("sentences", reranker.scorer, reader=reading.reader, reads=reads)
        assert isinstance(unread, SentenceReranker) and unread.reader is None
    off = Pipeline(
        docs_dir=s.docs_dir, index_dir=s.index_dir, embedder=seeds_pipeline.embedder, rerank_reads=4, span_reader=False
    )
    assert isinstance(off.reranker, SentenceReranker) and off.reranker.reader is None


@pytest.fixture(scope="module")
def scorer_free_reranker() -> SentenceReranker:
    """The sentence reranker's reading stage with the real span reader (``read`` needs no scorer)."""
    reader = SpanReader()
    assert reader.available
    return SentenceReranker(None, reader)  # type: ignore[arg-type]
