"""The benchmark metrics on hand-made examples: if these are wrong, every reported number is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import retrieval, squad


def test_normalisation_follows_the_official_squad_script() -> None:
    assert squad.normalize_answer("The  Denver Broncos!") == "denver broncos"
    assert squad.normalize_answer("an apple, a pear") == "apple pear"
    assert squad.normalize_answer("Theory of the case") == "theory of case"  # only whole-word articles go


def test_exact_match_and_f1() -> None:
    assert squad.exact_match("the Broncos", "Broncos.") == 1.0
    assert squad.exact_match("Denver Broncos", "Broncos") == 0.0
    # 1 shared token; precision 1/2, recall 1/1 -> F1 2/3.
    assert squad.f1_score("Denver Broncos", "Broncos") == pytest.approx(2 / 3)
    assert squad.f1_score("Carolina Panthers", "Broncos") == 0.0
    assert squad.f1_score("", "Broncos") == 0.0
    # The official aggregation takes the best gold answer.
    assert squad.best_over_golds(squad.f1_score, "Broncos", ["Denver Broncos", "Broncos"]) == 1.0
    assert squad.best_over_golds(squad.exact_match, "Broncos", []) == 0.0


def test_contains_answer_matches_whole_normalised_tokens() -> None:
    assert squad.contains_answer("The game was won by the Denver Broncos.", ["denver broncos"])
    assert not squad.contains_answer("It cost 1,500 dollars.", ["500"])
    assert not squad.contains_answer("anything", [""])


def test_span_overlap_and_containment() -> None:
    gold = [(10, 20)]
    assert squad.spans_overlap(0, 11, gold) and squad.spans_overlap(19, 30, gold)
    assert not squad.spans_overlap(0, 10, gold) and not squad.spans_overlap(20, 30, gold)
    assert squad.spans_contain(5, 25, gold) and not squad.spans_contain(12, 25, gold)


def test_hit_and_mrr_from_first_hit_ranks() -> None:
    question = squad.Question("q1", "Who won?", "a.txt", ("Broncos",), ((100, 107),))
    ranked = [("b.txt", 90, 200), ("a.txt", 0, 99), ("a.txt", 95, 300), ("a.txt", 100, 107)]
    assert retrieval.first_hit(ranked, question) == 3  # other article, then a chunk ending before the answer
    assert retrieval.first_hit(ranked[:2], question) is None
    ranks = [1, 3, None, 12]
    assert retrieval.hit_at(ranks, 1) == 0.25
    assert retrieval.hit_at(ranks, 5) == 0.5
    assert retrieval.hit_at(ranks, 10) == 0.5
    assert retrieval.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 3) / 4)


def test_percentile_interpolates() -> None:
    assert squad.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert squad.percentile([5.0], 95) == 5.0
    assert squad.percentile([], 50) == 0.0


def test_the_refusal_threshold_refuses_at_most_the_allowed_share_of_answerable_questions() -> None:
    from benchmarks.calibrate_refusal import threshold

    scores = np.linspace(0.005, 0.995, 100)  # one answerable question per 0.01 step
    assert threshold(scores, 0.10) == pytest.approx(0.10)  # below 0.10: 10 of 100 refused
    assert threshold(scores, 0.01) == pytest.approx(0.01)
    assert threshold(scores, 0.0) == 0.0  # any threshold above 0.005 would refuse one
    assert threshold(np.full(10, 0.005), 0.10) == 0.0  # nothing can be refused safely


def test_the_evidence_head_fit_separates_what_can_be_separated() -> None:
    from benchmarks.calibrate_refusal import fit_logistic, scores

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)  # the third column is noise
    weights, bias = fit_logistic(x, y)
    assert weights[0] > 0 > weights[1] and abs(weights[2]) < 0.2 * weights[0]
    assert np.mean((scores(x, weights, bias) > 0.5) == (y == 1)) > 0.95


def test_the_rerank_head_fit_learns_what_a_linear_head_cannot() -> None:
    # The answering sentence of each question is the one whose first two features are both high: a product of
    # features, which no weighting of them ranks first reliably (the reranker's head is an MLP for this).
    from benchmarks.train_evidence import fit_rerank, reranked_hits
    from rag.evidence import FEATURES, rerank_scores

    rng = np.random.default_rng(0)
    groups = []
    for _ in range(400):
        x = rng.normal(size=(10, len(FEATURES))).astype(np.float32)
        gold = int(np.argmax(np.minimum(x[:, 0], x[:, 1])))
        label = (np.arange(10) == gold).astype(np.float32)
        groups.append((x, label, np.arange(10), label))  # one sentence per passage
    layers = fit_rerank(groups[:300], epochs=150)
    fitted = np.mean([reranked_hits(g, rerank_scores(g[0], layers)) for g in groups[300:]], axis=0)
    linear = np.mean([reranked_hits(g, g[0][:, 0] + g[0][:, 1]) for g in groups[300:]], axis=0)
    assert fitted[0] > 0.75 and fitted[0] > linear[0] + 0.1  # hit@1
    assert fitted[0] == fitted[2]  # one sentence per passage: sentence@1 is hit@1


def test_ocr_words_kept_counts_printed_words_found_in_order() -> None:
    from benchmarks.speed import _words_kept

    assert _words_kept("the depot opened in March", "the depot opened in March") == 1.0
    assert _words_kept("the depot opened in March", "the dep0t opened in March") == 0.8  # one misread
    assert _words_kept("a b c d", "d c b a") == 0.25  # out of order: only one in order
    assert _words_kept("a b", "") == 0.0
