"""Sentence evidence: how well each sentence of the retrieved passages answers the question.

Shared by the reranker (which orders passages by their best sentence) and the extractive answerer (which
quotes the best sentences). Every candidate sentence gets one row of :data:`FEATURES`; two heads read it:

- the **ranking** head (listwise, fitted on SQuAD train by ``benchmarks/train_evidence.py``) says which
  sentence most likely holds the answer;
- the **rerank** head (a small MLP over the same row, fitted on SQuAD train by ``benchmarks/train_evidence.py
  --head rerank``) orders *passages* by their best sentence for the reranker: fitted for "a sentence of the
  right passage comes first", on three times the questions, it lifts hit@5 where a linear head cannot;
- the **evidence** head (logistic, fitted on SQuAD train by ``benchmarks/calibrate_refusal.py`` on answerable
  questions against questions whose article was removed from the index) gives each sentence a 0..1 score
  that the documents answer the question; the answer is refused when no sentence reaches ``min_evidence``.
  Ranking weights separate answerable from unanswerable questions worse than a head fitted for it, hence two.

All heads' weights live in ``evidence_weights.json``, next to this module.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.chunking import LIST_NUMBER, Chunk, sentence_spans
from rag.embedding import Embedder
from rag.formats.common import SECTION_PATH
from rag.lexical import index_term, tokenize, tokenize_cased
from rag.phrases import ENTITY_PATTERNS, question_type
from rag.reader import SpanReader, TokenScores, cells_of, linear_row
from rag.retrieval import Passage

FEATURES = ("cosine", "overlap", "type_match", "names", "passage_rank", "idf_overlap", "window_overlap", "bigrams")
"""Per sentence: cosine of question and sentence (the sentence's vector as read in its chunk); share of the
question's content words in the sentence (acronyms such as "SAFE" count only as written); whether it holds
the kind of thing asked for (an amount for "how much", a name for "who"); share of the question's
names/acronyms it writes exactly; the position of its passage in the list; the IDF-weighted share of question
words in the sentence, and in the sentence with its neighbours; the share of the question's word pairs it
contains."""

WEIGHTS_FILE = Path(__file__).with_name("evidence_weights.json")


def load_heads(path: Path = WEIGHTS_FILE) -> dict[str, np.ndarray]:
    """``rank`` weights, the ``rerank_*`` layers, ``evidence`` weights, ``evidence_bias`` and the calibrated
    ``min_evidence``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path.name} was fitted for features {data['features']}, not {FEATURES}")
    return {
        "rank": np.asarray(data["rank"]["weights"], dtype=np.float32),
        "rerank_hidden": np.asarray(data["rerank"]["hidden"], dtype=np.float32),
        "rerank_hidden_bias": np.asarray(data["rerank"]["hidden_bias"], dtype=np.float32),
        "rerank_out": np.asarray(data["rerank"]["out"], dtype=np.float32),
        "evidence": np.asarray(data["evidence"]["weights"], dtype=np.float32),
        "evidence_bias": np.asarray(data["evidence"]["bias"], dtype=np.float32),
        "min_evidence": np.asarray(data["evidence"]["min_evidence"], dtype=np.float64),
    }


_HEADS = load_heads()
MIN_EVIDENCE = float(_HEADS["min_evidence"])
"""The refusal threshold calibrated with the evidence head (the default of ``Settings.min_evidence``)."""
RANK_WEIGHTS = _HEADS["rank"]
EVIDENCE_WEIGHTS = _HEADS["evidence"]
EVIDENCE_BIAS = float(_HEADS["evidence_bias"])
RERANK_LAYERS = (_HEADS["rerank_hidden"], _HEADS["rerank_hidden_bias"], _HEADS["rerank_out"])
"""The rerank head: ``tanh(features @ hidden + hidden_bias) @ out`` (features x hidden, hidden, hidden)."""


def evidence_scores(features: np.ndarray) -> np.ndarray:
    """The evidence head: 0..1 per row of features."""
    return (1.0 / (1.0 + np.exp(-(features @ EVIDENCE_WEIGHTS + EVIDENCE_BIAS)))).astype(np.float32)


def rerank_scores(features: np.ndarray, layers: Sequence[np.ndarray] = RERANK_LAYERS) -> np.ndarray:
    """The rerank head: one score per row of features (higher: more likely in the passage that answers)."""
    hidden, bias, out = layers
    return (np.tanh(features @ hidden + bias) @ out).astype(np.float32)


@lru_cache(maxsize=65_536)
def sentence_terms(text: str) -> tuple[str, ...]:
    """:func:`~rag.lexical.tokenize_cased` of a sentence, cached: the reranker and then the answerer score the
    same retrieved sentences, and questions about one topic keep meeting them."""
    return tuple(tokenize_cased(text))


IdfLookup = Callable[[Sequence[str]], np.ndarray]
"""Inverse document frequency of each term (stems from :func:`rag.lexical.tokenize`) in the indexed chunks."""


@dataclass(frozen=True)
class Sentence:
    """A candidate sentence: a span of a stored document, from one retrieved passage."""

    source: str
    title: str
    start: int
    end: int
    text: str
    rank: int
    """Position of its passage in the list that was scored (0 = first)."""
    header: str = ""
    """For a table row, the heading it stands under and its table's header row: "Hotel | 140 GBP" is matched as
    "Allowances", "Item | Daily limit" too."""
    previous: str = ""
    """Its context for the span reader: the sentence before it in its chunk and paragraph ("" for the first), or
    for a table row its ``header``."""
    section: str = ""
    """The heading its passage stands under (Markdown, HTML, DOCX headings; PDF outline), if any."""


def read_sentences(reader: SpanReader, question: str, sentences: Sequence[Sentence]) -> list[TokenScores | None]:
    """The span reader's reading of each sentence, after its title and the sentence before it; a table row is read
    as a sentence of its values after their columns' names (:func:`~rag.reader.linear_row`), after its title and
    heading, and the reading moved back onto the row."""
    texts, contexts, rows = [], [], []
    for s in sentences:
        linear = linear_row(s.text, s.header.rpartition("\n")[2]) if s.header else None
        texts.append(linear[0] if linear else s.text)
        contexts.append((s.title, s.section) if linear else (s.title, s.previous))
        rows.append(linear[1] if linear else None)
    readings = reader.read(question, texts, contexts)
    return [x.on_row(where) if x is not None and where else x for x, where in zip(readings, rows, strict=True)]


ROWS_READ = 10
"""At most this many table rows per question get the vector of their reading as a sentence (see
:meth:`EvidenceScorer.read_rows`)."""
_BLANK_LINE = re.compile(r"[ \t]*\r?\n[ \t]*\r?\n")
"""A blank line after a sentence: what sets a document's headline apart from its text."""
_ASKS = re.compile(r"^(?!\W*(?:could|can|would|will)\s+you\b|\W*shall\s+we\b).*\?[\s*_]*$", re.IGNORECASE | re.DOTALL)
"""A sentence that ends in a question mark: it asks, it does not state (an FAQ's "Q: …?" or "**…?**" line is never the
answer; the "A: …" line after it is, read with the question as its context). Not a request or a proposal of a
letter, which says what it asks for: "Could you feed our cat, Miso, once a day …?", "Shall we split it 50/50, so
£340 each?"."""
_STATING = frozenset(
    "is are was were be been has have had will would can could may might must shall should do does did "
    "says said not".split()
)
"""Words that make a line state something ("The head baker is Marta Quist.") rather than name a topic."""


_PAST = re.compile(r"\b(?!hundred\b)[a-z]{3,}(?<!e)ed\b")
"""A verb in the past tense ("opened", "approved"; not "need", "speed", "hundred")."""
_SUBJECT = frozenset("the a an this that these those it its we our they their he his she her i my you your".split())
"""First words of a sentence's subject ("The depot grew fast."), rarely of a title."""


DATED = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)?\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?"
    r"(?:1[5-9]|20)\d\d\b|\b(?:1[5-9]|20)\d\d-\d\d-\d\d\b"
)
"""A date in a heading: "21 October 2024", "Oct 21, 2024", "March 2024", "2024-10-21"."""


_HEADING_MARK = re.compile(r"#{1,6}[ \t]+")
"""A Markdown heading's marks ("## ")."""
_YES_NO = re.compile(
    r"^\W*(?:is|are|was|were|does|do|did|can|could|will|would|should|has|have|had|may|must)\s+(?!there\b)",
    re.IGNORECASE,
)
"""A question to be answered yes or no: "Is the lentil dal vegan?"."""


def headings_for(question: str) -> str:
    """Which headings may answer ``question`` (:meth:`EvidenceScorer.sentences`): those with a date a *when*
    question, any a yes-or-no question, none another."""
    if question_type(question) == "date":
        return "dated"
    return "all" if _YES_NO.match(question) else ""


def _headline(line: str) -> bool:
    """A short line that names a topic ("Project Falcon kickoff notes."): at most 10 words, none of them stating,
    and, when it ends in a full stop, neither told in the past ("The Heron depot opened in March 2021.") nor
    started by a subject's article or pronoun ("The depot grows fast.")."""
    parts = _words(line).split()
    if len(parts) > 10 or _STATING.intersection(parts):
        return False
    if not line.rstrip().endswith("."):
        return True
    return not (_PAST.search(line) or (len(parts) >= 4 and parts[0] in _SUBJECT))


_TABLE_RULE = re.compile(r"^\|?[\s:|-]*-{3}[\s:|-]*$")
"""A Markdown table's rule line under its header: ``|---|:---:|``."""


def _table_headers(
    text: str, spans: Sequence[tuple[int, int]], whole: bool = True, carried: str | None = None
) -> list[str | None]:
    """For each span of ``text`` (a chunk) that is a table row (a whole line with a ``|``: Markdown, and the HTML
    and DOCX loaders' rows), the first row of its table: its header, when the table has more rows and that row
    is the table's first (else None). It is when a Markdown rule line (``|---|``) follows it, or when the table
    starts inside the chunk. A table at the chunk's start continues one from before unless ``whole`` (nothing
    before the chunk belongs to it); its header, when known, is ``carried`` (:func:`header_before`)."""
    out: list[str | None] = [None] * len(spans)
    k = 0
    while k < len(spans):
        first = k
        while k < len(spans) and _is_row(text, spans[k]) and (k == first or _next_line(text, spans[k - 1], spans[k])):
            k += 1
        rows = [j for j in range(first, k) if not _TABLE_RULE.match(text[spans[j][0] : spans[j][1]])]
        ruled = bool(rows) and rows[0] + 1 < k and bool(_TABLE_RULE.match(text[slice(*spans[rows[0] + 1])]))
        at_start = bool(rows) and text[: spans[rows[0]][0]].strip() == ""
        if rows and at_start and not whole and not ruled:
            for j in rows if carried else ():
                out[j] = carried  # the chunk continues a table: its header is the one before the chunk
        elif len(rows) >= 2 and not _a_field(text[spans[rows[0]][0] : spans[rows[0]][1]]):
            header = text[spans[rows[0]][0] : spans[rows[0]][1]]
            for j in rows:
                out[j] = header
        k = max(k, first + 1)
    return out


def _a_field(row: str) -> bool:
    """Whether a table's first row is a field and its value, not a header: of two cells, a value with a digit
    ("Confirmation number | 4127.883.519" of a booking's details; a header names, "Item | Amount")."""
    cells = cells_of(row)
    return len(cells) == 2 and any(c.isdigit() for c in row[slice(*cells[1])])


HEADER_REACH = 8_000
"""How far back before a chunk that continues a table its header row is looked for (beyond it, only the document's
first line is: the header of a table that starts the document, as a CSV file's does)."""


def continued_table(chunk: Chunk, excerpt: Callable[[str, int, int], str]) -> tuple[bool, str | None]:
    """For a chunk that starts with a table row: whether the table starts with the chunk, and else its header row
    (None when it cannot be found), read from the document before the chunk with ``excerpt(source, start, end)``.
    A table longer than :data:`HEADER_REACH` takes the document's first line, if it is a row: a CSV file's is."""
    lo = max(chunk.start - HEADER_REACH, 0)
    whole, carried = header_before(excerpt(chunk.source, lo, chunk.start), from_start=lo == 0)
    if not whole and carried is None:
        first = excerpt(chunk.source, 0, 2_000).split("\n", 1)[0]
        carried = first if "|" in first else None
    return whole, carried


def header_before(before: str, from_start: bool = False) -> tuple[bool, str | None]:
    """For a chunk that starts with a table row, from the document's text just ``before`` it (the whole text
    before it when ``from_start``): whether the table starts with the chunk, and else its header row (None when it
    starts further back than ``before`` reaches)."""
    lines = before.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    block: list[str] = []
    while lines and "|" in lines[-1]:
        block.insert(0, lines.pop())
    if not block:
        return True, None
    if not lines and not from_start:
        return False, None  # the table goes on further back than what was read
    rows = [line for line in block if not _TABLE_RULE.match(line)]
    return False, rows[0] if rows else None


_LINE_END = re.compile(r"[ \t]*(?:\n|\Z)")
"""Where a row's line ends, after any spaces (a CSV row whose last cell is empty ends "| N | ")."""


def _is_row(text: str, span: tuple[int, int]) -> bool:
    a, b = span
    return "|" in text[a:b] and (a == 0 or text[a - 1] == "\n") and _LINE_END.match(text, b) is not None


def _next_line(text: str, previous: tuple[int, int], span: tuple[int, int]) -> bool:
    return text[previous[1] : span[0]].strip(" \t") == "\n"


def _words(text: str) -> str:
    """The words of ``text``, lower case, one space apart: "## Travel expenses" and "Travel expenses." match."""
    return " ".join(re.findall(r"\w+", text.lower()))


def names_in(question: str) -> set[str]:
    """Words the question writes as names or acronyms ("SAFE", "Kallas"), to be matched case-sensitively."""
    words = re.findall(r"\w+", question)
    return {w for i, w in enumerate(words) if (w.isupper() and len(w) > 1) or (i > 0 and w[:1].isupper())}


class EvidenceScorer:
    """Turns passages into scored candidate sentences.

    Sentence vectors come with the passages (computed at index time, see ``Embedder.encode_spans``); a
    passage without them (an index from elsewhere, a generator's own list) has its sentences embedded here,
    cached by text.
    """

    def __init__(
        self,
        embedder: Embedder,
        idf: IdfLookup | None = None,
        cache_size: int = 20_000,
        excerpt: Callable[[str, int, int], str] | None = None,
    ) -> None:
        self.embedder = embedder
        self.idf = idf
        self.excerpt = excerpt
        """``excerpt(source, start, end)``: a document's text there, to find the header of a table that a chunk
        continues (without it such a chunk's rows have none)."""
        self.cache_size = cache_size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def sentences(
        self, passages: Sequence[Passage], headings_kept: str = ""
    ) -> tuple[list[Sentence], np.ndarray, list[set[str]]]:
        """Candidate sentences of the passages (first occurrence of each; at least 3 words; not a question, title,
        heading or headline, but the headings ``headings_kept`` names: "dated" those that write a date, "all" every one
        of three words or more), their vectors, and the terms of
        each sentence with its neighbours (for the window feature)."""
        seen: set[tuple[str, int, int]] = set()
        out: list[Sentence] = []
        vectors: list[np.ndarray | None] = []
        windows: list[set[str]] = []
        for rank, passage in enumerate(passages):
            chunk = passage.chunk
            spans = passage.sentences
            if not spans:
                spans = tuple((chunk.start + a, chunk.start + b) for a, b in sentence_spans(chunk.text))
            own = passage.sentence_vectors if passage.sentence_vectors is not None and passage.sentences else None
            texts = [chunk.text[s - chunk.start : e - chunk.start] for s, e in spans]
            terms = [sentence_terms(t) for t in texts]
            headings = {_words(part) for part in (chunk.section or "").split(SECTION_PATH)}  # each of its path
            # the headings a sentence stands under are around it too ("Tally 3.1.0 › Added" over a list)
            heading_terms = sentence_terms(chunk.section) if chunk.section and chunk.section != chunk.title else set()
            relative = [(s - chunk.start, e - chunk.start) for s, e in spans]
            whole, carried = chunk.start == 0, None
            if not whole and self.excerpt is not None and relative and _is_row(chunk.text, relative[0]):
                whole, carried = continued_table(chunk, self.excerpt)
            headers = _table_headers(chunk.text, relative, whole, carried)
            for k, (s, e) in enumerate(spans):
                key = (chunk.source, s, e)
                words = _words(texts[k])
                if key in seen or len(words.split()) - bool(LIST_NUMBER.match(texts[k])) < 3:  # "2. The Loan": two
                    continue
                run_in = (  # a few words that open a paragraph and name it: "PPO Gold deductible. The in-network
                    # deductible on the PPO Gold plan rises …" (every word of it written again in the next sentence)
                    len(words.split()) <= 4
                    and k + 1 < len(spans)
                    and chunk.text[spans[k][1] - chunk.start : spans[k + 1][0] - chunk.start] in (" ", "\n")
                    and (s == chunk.start or chunk.text[s - chunk.start - 1] == "\n")
                    and _headline(texts[k])
                    and not _is_row(chunk.text, relative[k])
                    and set(terms[k]) <= set(terms[k + 1])
                )
                if (words in headings or run_in) and not (
                    headings_kept == "all" or (headings_kept == "dated" and DATED.search(texts[k]))
                ):
                    continue  # a heading names; with a date it tells when ("Tally 3.2.0 — 21 October 2024"), and it
                    # may say yes or no ("Is the lentil dal vegan?" of "Red Lentil Dal (vegan)")
                mark = _HEADING_MARK.match(texts[k]) if words in headings else None
                if mark:  # quoted without its Markdown marks
                    s, texts[k] = s + mark.end(), texts[k][mark.end() :]
                if _ASKS.search(texts[k]):
                    continue
                first_line = s == 0 and bool(_BLANK_LINE.match(chunk.text, e - chunk.start))
                if (first_line or words == _words(chunk.title)) and _headline(texts[k]):
                    continue  # the title, or a first line set apart by a blank line, that states nothing
                if headers[k] == texts[k]:
                    continue  # a table's header row names its columns; the rows under it hold the values
                seen.add(key)
                header = f"{chunk.section or ''}\n{headers[k]}".strip() if headers[k] else ""  # its heading, too
                # Its context for the reader: a table row's header and heading, else the sentence before it, else
                # its heading ("Tally 3.1.0 — 12 August 2024 › Added" over a list of what was added)
                previous = header or (
                    texts[k - 1]
                    if k and not _BLANK_LINE.search(chunk.text, spans[k - 1][1] - chunk.start, s - chunk.start)
                    else ""
                )
                if not previous and chunk.section and chunk.section != chunk.title:
                    previous = chunk.section
                out.append(
                    Sentence(chunk.source, chunk.title, s, e, texts[k], rank, header, previous, chunk.section or "")
                )
                vectors.append(None if own is None else np.asarray(own[k], dtype=np.float32))
                windows.append(set().union(*terms[max(k - 1, 0) : k + 2], heading_terms))
        if not out:
            return [], np.zeros((0, self.embedder.dimension), dtype=np.float32), []
        encoded = iter(self._encode([s.text for s, v in zip(out, vectors, strict=True) if v is None]))
        matrix = np.stack([next(encoded) if v is None else v for v in vectors])
        return out, matrix, windows

    def features(
        self,
        question: str,
        query: str,
        sentences: Sequence[Sentence],
        vectors: np.ndarray,
        windows: Sequence[set[str]],
        query_vector: np.ndarray,
    ) -> np.ndarray:
        """One row of :data:`FEATURES` per sentence."""
        qtype = question_type(question)
        cosines = (vectors @ query_vector).tolist() if len(sentences) else []
        q_list = tokenize_cased(query)
        q_terms = sorted(set(q_list))
        q_pairs = set(itertools.pairwise(q_list))
        idf = dict(zip(q_terms, self._idf([index_term(t) for t in q_terms]).tolist(), strict=True))
        idf_total = sum(idf.values()) or 1.0
        names = names_in(question)
        rows = []
        for sentence, cosine, window in zip(sentences, cosines, windows, strict=True):
            s_list = sentence_terms(sentence.header) + sentence_terms(sentence.text)  # a row reads with its header
            s_terms = set(s_list)
            window = window | set(s_list) if sentence.header else window
            shared = [t for t in q_terms if t in s_terms]
            in_window = [t for t in q_terms if t in window]
            rows.append(
                (
                    max(cosine, 0.0),
                    len(shared) / len(q_terms) if q_terms else 0.0,
                    1.0 if qtype == "other" or ENTITY_PATTERNS[qtype].search(sentence.text) else 0.0,
                    len(names & set(re.findall(r"\w+", sentence.text))) / len(names) if names else 0.0,
                    float(sentence.rank),
                    sum(idf[t] for t in shared) / idf_total,
                    sum(idf[t] for t in in_window) / idf_total,
                    len(q_pairs & set(itertools.pairwise(s_list))) / len(q_pairs) if q_pairs else 0.0,
                )
            )
        return np.asarray(rows, dtype=np.float32).reshape(-1, len(FEATURES))

    def read_rows(self, query: str, sentences: Sequence[Sentence], vectors: np.ndarray) -> np.ndarray:
        """``vectors`` with the table rows that share a word with ``query`` (at most :data:`ROWS_READ`, most shared
        first) embedded as the sentence the span reader reads ("Office Warehouse North, City Gdansk, Staff 41."):
        the row's vector pooled from its cells knows neither its columns' names nor that "Staff" is "people who
        work there" (on an office table, "How many people work in Gdansk?": cosine 0.48 -> 0.63, answered
        instead of refused). Embedded on demand and cached, so a table costs only the rows its questions name."""
        terms = set(tokenize(query))
        shared = []
        for i, sentence in enumerate(sentences):
            if sentence.header and "|" in sentence.text and (n := len(terms & set(tokenize(sentence.text)))):
                shared.append((-n, i))
        picked, texts = [], []
        for _, i in sorted(shared)[:ROWS_READ]:
            linear = linear_row(sentences[i].text, sentences[i].header.rsplit("\n", 1)[-1])
            if linear is not None:
                picked.append(i)
                texts.append(linear[0])
        if not picked:
            return vectors
        out = vectors.copy()
        out[picked] = np.stack(self._encode(texts))
        return out

    def score(
        self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray
    ) -> list[tuple[float, float, Sentence]]:
        """Every candidate sentence as ``(rank score, evidence 0..1, sentence)``, best ranked first."""
        sentences, vectors, windows = self.sentences(passages, headings_for(question))
        if not sentences:
            return []
        vectors = self.read_rows(query, sentences, vectors)
        features = self.features(question, query, sentences, vectors, windows, query_vector)
        rank, evidence = features @ RANK_WEIGHTS, evidence_scores(features)
        if query != question and tokenize(question):
            # A follow-up ("What is its budget?" after a question about Project Falcon) was searched with the
            # earlier turn, but its own words choose the sentence: scored against the whole resolved query,
            # the earlier question's words ("project lead") would pick the earlier answer again. Whether to
            # answer also counts the earlier turn, which may hold the only words the passage shares.
            own = self.features(question, question, sentences, vectors, windows, self.embedder.encode_query(question))
            own_rank, own_evidence = own @ RANK_WEIGHTS, evidence_scores(own)
            best = int(np.argmax(own_rank))
            own_evidence[best] = max(own_evidence[best], evidence[best])
            rank, evidence = own_rank, own_evidence
        scored = list(zip(rank.tolist(), evidence.tolist(), sentences, strict=True))
        return sorted(scored, key=lambda item: -item[0])

    def rerank(self, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> list[tuple[float, Sentence]]:
        """Every candidate sentence as ``(rerank score, sentence)``, in passage order: what the reranker orders by."""
        sentences, vectors, windows = self.sentences(passages, headings_for(query))
        if not sentences:
            return []
        vectors = self.read_rows(query, sentences, vectors)
        scores = rerank_scores(self.features(query, query, sentences, vectors, windows, query_vector))
        return list(zip(scores.tolist(), sentences, strict=True))

    def _idf(self, terms: Sequence[str]) -> np.ndarray:
        if self.idf is None or not terms:
            return np.ones(len(terms), dtype=np.float32)
        return np.asarray(self.idf(terms), dtype=np.float32)

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        if not texts:
            return []
        with self._lock:  # the web chat answers several questions at once
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            known.update(zip(missing, self.embedder.encode(missing), strict=True))
        with self._lock:
            for text in dict.fromkeys(texts):
                self._vectors[text] = known[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.cache_size:
                self._vectors.popitem(last=False)
        return [known[t] for t in texts]
