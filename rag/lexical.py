"""BM25 keyword (lexical) search over the same chunks as the dense index (bm25s: sparse matrices and numpy)."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+", re.UNICODE)


KEYWORD_VERSION = 2
"""Recorded in the index: bump it when :func:`tokenize` changes, so that the next sync rebuilds the keyword index
from the stored chunks (without embedding anything). 2: words without accents, identifiers' parts."""


# English function words (the usual IR list): they carry no topic, so neither BM25 nor overlap counts them.
STOPWORDS = frozenset(
    "a about above after again against all am an and any are aren't as at be because been before being "
    "below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't "
    "down during each few for from further had hadn't has hasn't have haven't having he he'd he'll he's "
    "her here here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it "
    "it's its itself let's me more most mustn't my myself no nor not of off on once only or other ought "
    "our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some such "
    "than that that's the their theirs them themselves then there there's these they they'd they'll "
    "they're they've this those through to too under until up very was wasn't we we'd we'll we're we've "
    "were weren't what what's when when's where where's which while who who's whom why why's will with "
    "won't would wouldn't you you'd you'll you're you've your yours yourself yourselves also s t d ll m "
    "re ve".split()
)


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG at import, which floods any application's log; restore the default.
    if logging.getLogger("bm25s").level == logging.DEBUG:
        logging.getLogger("bm25s").setLevel(logging.NOTSET)
    return bm25s


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def stem_words(words: list[str]) -> list[str]:
    """English Snowball stems of ``words`` (already lower-cased)."""
    return list(_stemmer().stemWords(words))


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, stemmed words without accents, and the parts of identifiers: the shared
    vocabulary of documents and questions ("Tiramisù" is typed "tiramisu", "max_pool_size" asked as "max pool
    size")."""
    words = [_plain(w) for w in _with_parts(_WORD.findall(text.lower())) if w not in STOPWORDS]
    return list(_stemmer().stemWords(words))


def _with_parts(words: list[str]) -> list[str]:
    """``words``, each identifier written in snake case followed by its parts: "statement_timeout_ms",
    "statement", "timeout", "ms" (a question says "the statement timeout")."""
    if not any("_" in word for word in words):
        return words
    out = []
    for word in words:
        out.append(word)
        if "_" in word.strip("_"):
            out += [part.lower() for part in word.split("_") if len(part) > 1]
    return out


_IRREGULAR = {
    past: base
    for base, forms in {
        "begin": "began begun", "break": "broke broken", "bring": "brought", "build": "built", "buy": "bought",
        "catch": "caught", "choose": "chose chosen", "come": "came", "draw": "drew drawn", "drive": "drove driven",
        "eat": "ate eaten", "fall": "fell fallen", "fight": "fought", "fly": "flew flown", "freeze": "froze frozen",
        "get": "got gotten", "give": "gave given", "go": "went gone", "grow": "grew grown", "hold": "held",
        "know": "knew known", "lead": "led", "lose": "lost", "make": "made", "meet": "met", "pay": "paid",
        "run": "ran", "say": "said", "see": "saw seen", "sell": "sold", "send": "sent", "speak": "spoke spoken",
        "spend": "spent", "stand": "stood", "steal": "stole stolen", "take": "took taken", "teach": "taught",
        "tell": "told", "think": "thought", "throw": "threw thrown", "win": "won", "write": "wrote written",
    }.items()
    for past in forms.split()
}  # fmt: skip
"""Past forms of common irregular verbs, to match a question's "did they choose" with "they chose"."""


_SYNONYMS = (
    "contract agreement", "start begin commence", "end expire expiry finish", "cancel terminate",
    "need require", "allow permit", "repair fix", "available availability uptime", "cost price fee",
    "buy purchase", "employee staff worker", "salary wage", "respond response answer reply", "car vehicle",
    "doctor physician", "child kid", "film movie", "big large", "bigger larger", "biggest largest",
    "die death dead", "born birth", "marry marriage", "build construct construction", "borrow lend",
    "permission approval consent", "environment env", "variable var", "configuration config",
    "directory dir folder", "repository repo", "break breakdown", "luggage baggage",
    "cafe cafeteria café", "mac macos", "people guests persons", "fit seat accommodate", "keep hold retain",
    "veg vegetables", "call ring dial", "mistake error", "pay payment", "weigh weight", "collect pick",
    "information info", "certificate cert", "telephone phone tel", "maximum max", "department dept",
    "approximately approx", "temperature temp", "administration admin", "photograph photo", "laboratory lab",
    "appointment appt", "defibrillator defib", "goalkeeper goalie",
)  # fmt: skip
"""Words that documents and their readers use for one another ("When does the contract start?" of "This
Agreement commences on 1 April", "How many people fit in the private room?" of "… seats up to 22 guests"), and
words and their short forms ("When was the prescribed info served?" of "Prescribed information was served …"):
each group's stems count as its first word's stem."""
_SAME = {stem: stems[0] for group in _SYNONYMS for stems in [stem_words(group.split())] for stem in stems}


def tokenize_cased(text: str) -> list[str]:
    """Like :func:`tokenize`, but acronyms (two or more capitals: "SAFE", "US", "WHO") are kept as written, so
    that they match only themselves: the SAFE fund is not the word "safe", and "US" is not the stop word "us".
    The past forms of common irregular verbs count as the verb ("chose" as "choose"), and a word of
    :data:`_SYNONYMS` as its group's first ("commences" as "start"): this is what the answerer compares question
    and sentence with (the keyword index keeps :func:`tokenize`). An identifier stays whole: its parts would make
    "the max webhook payload size" share three words with "`max_pool_size = 10` and `webhook_max_retries = 3`"."""
    out: list[str] = []
    pending: list[str] = []
    for word in _WORD.findall(text):
        if len(word) > 1 and word.isupper() and word.isalpha():
            out.extend(stem_words(pending))
            pending = []
            out.append(word)
        elif word.lower() not in STOPWORDS:
            pending.append(_IRREGULAR.get(word.lower(), _plain(word.lower())))
    out.extend(stem_words(pending))
    return [_SAME.get(term, term) for term in out]


def fold_accents(word: str) -> str:
    """``word`` without its accents ("tiramisù" -> "tiramisu")."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _plain(word: str) -> str:
    return word if word.isascii() else fold_accents(word)


def top_ids(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest positive scores, best first."""
    n = min(n, len(scores))
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, n - 1)[:n]
    part = part[scores[part] > 0]
    return part[np.argsort(-scores[part], kind="stable")]


def index_term(term: str) -> str:
    """The keyword index's term for a :func:`tokenize_cased` term (acronyms are indexed lower-cased, stemmed)."""
    return stem_words([term.lower()])[0] if term.isupper() else term


class KeywordIndex:
    """A BM25 index of chunk texts; ``scores(query)`` gives every chunk's BM25 score."""

    def __init__(self, bm25: Any) -> None:
        self._bm25 = bm25
        """The bm25s index, or None for an index of no chunks (bm25s cannot index an empty corpus)."""

    @classmethod
    def build(cls, texts: Sequence[str], k1: float = 1.5, b: float = 0.75) -> KeywordIndex:
        """A BM25 index of ``texts`` (bm25s' Lucene scoring; ``k1`` and ``b`` are its defaults, which
        ``benchmarks/tune_bm25.py`` found as good as any for the product's retriever)."""
        if not texts:
            return cls(None)
        bm25 = _bm25s().BM25(k1=k1, b=b)
        # Empty token lists would break bm25s; a placeholder token that no query produces keeps alignment.
        corpus = [tokenize(t) or ["\x00"] for t in texts]
        bm25.index(corpus, show_progress=False)
        return cls(bm25)

    def __len__(self) -> int:
        return 0 if self._bm25 is None else int(self._bm25.scores["num_docs"])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for ``query`` (zeros when no query word is in the vocabulary)."""
        ids = self._ids(tokenize(query)) if self._bm25 is not None else []
        if not ids:
            return np.zeros(len(self), dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)

    def _ids(self, tokens: Sequence[str]) -> list[int]:
        vocab = self._bm25.vocab_dict
        ids = [vocab[token] for token in tokens if token in vocab]
        return ids + [i for token in tokens if token not in vocab for i in self._accented.get(token, [])]

    @cached_property
    def _accented(self) -> dict[str, list[int]]:
        """The ids of the vocabulary's words with accents by their spelling without: an index built before
        :func:`tokenize` dropped accents holds them ("tiramisù"), and a question's words have none. Built at
        the first question that needs it (one pass over the vocabulary)."""
        out: dict[str, list[int]] = {}
        for term, i in self._bm25.vocab_dict.items():
            if not term.isascii():
                out.setdefault(fold_accents(term), []).append(i)
        return out

    def idf(self, terms: Sequence[str]) -> np.ndarray:
        """BM25 inverse document frequency of each term (already tokenized) over the indexed chunks; a term
        no chunk holds gets the highest value."""
        if self._bm25 is None:
            return np.ones(len(terms), dtype=np.float32)
        indptr = self._bm25.scores["indptr"]
        frequency = []
        for term in terms:
            ids = [i for i in self._ids([term]) if i + 1 < len(indptr)]
            frequency.append(sum(int(indptr[i + 1] - indptr[i]) for i in ids))
        df = np.asarray(frequency, dtype=np.float64)
        return np.log((len(self) - df + 0.5) / (df + 0.5) + 1.0).astype(np.float32)

    def save(self, folder: Path) -> None:
        if self._bm25 is None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "EMPTY").write_text("an index of no chunks\n", encoding="utf-8")
            return
        self._bm25.save(str(folder), show_progress=False)

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> KeywordIndex:
        if (folder / "EMPTY").is_file():
            return cls(None)
        return cls(_bm25s().BM25.load(str(folder), mmap=mmap, show_progress=False, verbosity=0))
