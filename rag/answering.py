"""Question + retrieved passages -> :class:`Answer`: pick the sentences that answer, quote them verbatim, mark
the key phrase, and refuse when the evidence is too weak.

No generative model is involved: every word of an answer's text comes from a quoted sentence, and every
quote is a span of a stored document given by its offsets (never re-found by searching).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from rag.chunking import sentence_spans
from rag.embedding import Embedder
from rag.lexical import tokenize
from rag.phrases import ENTITY_PATTERNS, key_phrase, question_type
from rag.retrieval import Passage

EVIDENCE_FEATURES = ("cosine", "overlap", "type_match", "names", "passage_rank")
"""What a sentence's evidence score is made of: embedding similarity to the question, share of the question's
content words it holds, whether it holds the kind of thing asked for, names/acronyms matched exactly, and the
rank of the passage it comes from."""
EVIDENCE_WEIGHTS = np.asarray([0.5, 0.3, 0.1, 0.1, -0.01], dtype=np.float32)
"""Hand-set. Weights fitted for ranking by benchmarks/train_evidence.py pick the answer sentence a little more
often (held-out train sentence@1 0.675 vs 0.657) but separate answerable from unanswerable questions worse
(0.84 refused at 10% wrongly refused, vs 0.93), so refusal keeps these until both are fitted jointly."""

NOT_COVERED = "The documents do not say. I found nothing in them that answers: {question}"


@dataclass(frozen=True)
class Quote:
    """A verbatim span of a stored document: ``document.text[start:end] == text``."""

    text: str
    source: str
    """The document's path relative to the documents folder."""
    start: int
    end: int
    score: float
    """Evidence score of this quote for the question, 0..1."""
    title: str = ""
    page: int | None = None
    """1-based page for paged formats (PDF), else None."""
    highlight: tuple[int, int] | None = None
    """Document offsets of the key phrase inside the quote, if one was found."""

    @property
    def location(self) -> str:
        where = f"p. {self.page}, " if self.page else ""
        return f"{where}chars {self.start}-{self.end}"


@dataclass(frozen=True)
class Answer:
    """The reply to one question. ``text`` carries ``[n]`` markers that point to ``quotes[n-1]``."""

    question: str
    text: str
    answered: bool
    """False when the documents do not hold the answer; ``quotes`` is then empty."""
    quotes: list[Quote] = field(default_factory=list)
    related: list[Quote] = field(default_factory=list)
    """When refusing: the closest passages, offered for reading, never as support."""
    key_phrase: str | None = None
    query: str = ""
    """The self-contained question that was searched (differs from ``question`` for follow-ups)."""


class Answerer(Protocol):
    """Anything that turns passages into an answer (the extractive default, or a generative backend)."""

    def run(self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> Answer: ...


# ---- question analysis ------------------------------------------------------------------------------------


def _names(question: str) -> set[str]:
    """Words the question writes as names or acronyms ("SAFE", "Kallas"), to be matched case-sensitively."""
    words = re.findall(r"\w+", question)
    return {w for i, w in enumerate(words) if (w.isupper() and len(w) > 1) or (i > 0 and w[:1].isupper())}


# ---- the extractive answerer ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    source: str
    title: str
    start: int
    end: int
    text: str
    rank: int


class ExtractiveAnswerer:
    """Answers with the retrieved sentences that best match the question, quoted verbatim.

    A sentence's evidence score blends its embedding similarity to the question, the share of the
    question's content words it contains, and whether it holds the kind of thing asked for (an amount for
    "how much", a name for "who"). Below ``min_evidence`` the answer is a refusal.
    """

    def __init__(
        self,
        embedder: Embedder,
        min_evidence: float = 0.52,
        max_quotes: int = 3,
        page_at: Callable[[str, int], int | None] | None = None,
    ) -> None:
        self.embedder = embedder
        self.min_evidence = min_evidence
        self.max_quotes = max_quotes
        self.page_at = page_at or (lambda source, offset: None)
        # Sentence vectors by text: questions about one topic keep meeting the same sentences. Bounded LRU.
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self.cache_size = 20_000

    def score(
        self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray
    ) -> list[tuple[float, _Candidate]]:
        """Every sentence of the passages with its evidence score (0..1), best first."""
        candidates = self._sentences(passages)
        if not candidates:
            return []
        features = self.features(question, query, candidates, query_vector)
        scores = np.clip(features @ EVIDENCE_WEIGHTS, 0.0, 1.0).tolist()
        return sorted(zip(scores, candidates, strict=True), key=lambda item: -item[0])

    def features(
        self, question: str, query: str, candidates: Sequence[_Candidate], query_vector: np.ndarray
    ) -> np.ndarray:
        """One row of :data:`EVIDENCE_FEATURES` per candidate sentence."""
        qtype = question_type(question)
        cosines = self._encode([c.text for c in candidates]) @ query_vector
        q_terms = set(tokenize(query))
        names = _names(question)
        rows = []
        for candidate, cosine in zip(candidates, cosines.tolist(), strict=True):
            s_terms = set(tokenize(candidate.text))
            overlap = len(q_terms & s_terms) / len(q_terms) if q_terms else 0.0
            type_match = 1.0 if qtype == "other" or ENTITY_PATTERNS[qtype].search(candidate.text) else 0.0
            named = len(names & set(re.findall(r"\w+", candidate.text))) / len(names) if names else 0.0
            rows.append((max(cosine, 0.0), overlap, type_match, named, float(candidate.rank)))
        return np.asarray(rows, dtype=np.float32).reshape(-1, len(EVIDENCE_FEATURES))

    def run(self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> Answer:
        scored = self.score(question, query, passages, query_vector)
        if not scored or scored[0][0] < self.min_evidence:
            return self.refusal(question, query, scored)
        qtype = question_type(question)
        best_score, best = scored[0]
        first_span = key_phrase(best.text, question, qtype)
        chosen = [(best_score, best, first_span)]
        # Further quotes only when nearly as strong and, for a typed question, holding an answer too.
        for score, candidate in scored[1:]:
            if len(chosen) >= self.max_quotes or score < max(self.min_evidence, best_score - 0.05):
                break
            span = key_phrase(candidate.text, question, qtype)
            if span or first_span is None:
                chosen.append((score, candidate, span))
        quotes = [self._quote(c, s, span) for s, c, span in chosen]
        parts = []
        for n, (_, candidate, span) in enumerate(chosen, start=1):
            text = candidate.text
            if span:
                text = f"{text[: span[0]]}**{text[span[0] : span[1]]}**{text[span[1] :]}"
            parts.append(f"{text} [{n}]")
        phrase = best.text[first_span[0] : first_span[1]] if first_span else None
        return Answer(question, " ".join(parts), True, quotes, [], phrase, query)

    def refusal(self, question: str, query: str, scored: Sequence[tuple[float, _Candidate]]) -> Answer:
        """The 'documents do not say' answer; the two closest sentences are offered as related, not as support."""
        related = [self._quote(c, s, None) for s, c in scored[:2] if s >= 0.75 * self.min_evidence]
        return Answer(question, NOT_COVERED.format(question=question.strip()), False, [], related, None, query)

    def _encode(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self.embedder.encode(missing), strict=True):
                self._vectors[text] = vector
        for text in texts:
            self._vectors.move_to_end(text)
        while len(self._vectors) > self.cache_size:
            self._vectors.popitem(last=False)
        return np.stack([self._vectors[t] for t in texts])

    def _sentences(self, passages: Sequence[Passage]) -> list[_Candidate]:
        seen: set[tuple[str, int, int]] = set()
        out = []
        for rank, passage in enumerate(passages):
            chunk = passage.chunk
            for s, e in sentence_spans(chunk.text):
                key = (chunk.source, chunk.start + s, chunk.start + e)
                if key in seen or len(re.findall(r"\w+", chunk.text[s:e])) < 3:
                    continue
                seen.add(key)
                out.append(_Candidate(chunk.source, chunk.title, key[1], key[2], chunk.text[s:e], rank))
        return out

    def _quote(self, candidate: _Candidate, score: float, span: tuple[int, int] | None) -> Quote:
        highlight = (candidate.start + span[0], candidate.start + span[1]) if span else None
        return Quote(
            text=candidate.text,
            source=candidate.source,
            start=candidate.start,
            end=candidate.end,
            score=round(score, 4),
            title=candidate.title,
            page=self.page_at(candidate.source, candidate.start),
            highlight=highlight,
        )
