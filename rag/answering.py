"""Question + retrieved passages -> :class:`Answer`: pick the sentences that answer, quote them verbatim, mark
the key phrase, and refuse when the evidence is too weak.

No generative model is involved: every word of an answer's text comes from a quoted sentence (but for a note
that the passages never name something the question names), and every quote is a span of a stored document
given by its offsets (never re-found by searching).
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.acronyms import HOLIDAYS, holiday_key
from rag.chunking import ABBREVIATIONS, FENCE, sentence_spans
from rag.embedding import Embedder
from rag.evidence import MIN_EVIDENCE, EvidenceScorer, IdfLookup, Sentence, read_sentences
from rag.formats.common import SECTION_PATH
from rag.lexical import STOPWORDS, fold_accents, tokenize, tokenize_cased
from rag.phrases import (
    ASKS_YES_NO,
    CODE,
    LABELLED,
    LIST_ITEM,
    MONTH,
    MONTHS,
    STEPS,
    TIME_OF_DAY,
    WEEKDAYS,
    about_another_day,
    about_another_measure,
    about_another_numbered,
    about_another_subject,
    about_another_year,
    about_sending,
    another_kind_of_money,
    asked_column,
    asks_for_a_contact,
    asks_for_code,
    contact_column,
    date_for_a_count,
    day_written,
    key_phrase,
    lacks_the_contact_asked,
    lacks_the_figure,
    marks_named,
    money_for_a_count,
    month_written,
    named_columns,
    offered_choice,
    priced_line,
    question_type,
    roll_call,
    task_of,
    usual_column,
)
from rag.reader import SpanReader, TokenScores, cells_of
from rag.retrieval import Passage

logger = logging.getLogger(__name__)

READER_CHOICE = 8
"""How many of the best-ranked sentences the span reader reads when choosing the answer's sentence (SQuAD train,
the 40 articles the reader never saw, answered with a gold sentence when every question is answered, at the best
weight: 1 0.771, 4 0.843, 5 0.846, 6 0.847, 7 0.848, 8 0.849, top-8 oracle 0.957; with the confidence head
refitted for each, at 0.930 of unanswerable questions refused: 0.826 for 5, 0.831 for 8, wrongly refused 0.041 ->
0.039; ``benchmarks/tune_reader_choice.py --reader-held-out --top 8 --k 8``). The int8 reader reads a batch of 5
sentences with their context in ~36 ms on the AMD EPYC VM, 8 in ~59 ms (2026-12-07, other work running)."""
READER_WEIGHT = 0.5026
"""Weight of the reader's margin (best answer span over "no answer", logits, clipped) against the ranking head's
score (0.2 times that score's spread), chosen on SQuAD train by ``benchmarks/tune_reader_choice.py`` (0.849
answered with a gold sentence of 8; 0.3 times the spread 0.848, 0.12 times 0.845)."""
MARGIN_CLIP = 15.0
RELATED_RANKED = 3
"""A refusal offers, as related, those of the best-ranked sentences that write half the words searched."""
READ_SHARE = 0.3
"""The reader reads only when the best evidence among the sentences it would read reaches ``READ_SHARE *
min_evidence``: below that nothing is answered, however sure the reader (a safety net for text the reader
misreads; on SQuAD train it refuses 0.2% of answerable questions more)."""
CONFIDENCE_FEATURES = ("best evidence (logit)", "chosen evidence (logit)", "chosen margin", "best margin")
CONFIDENCE_WEIGHTS = np.asarray([0.5016, 0.3457, 0.2232, 0.0993])
CONFIDENCE_BIAS = 0.8936
CONFIDENCE_THRESHOLD = 0.2987
"""The confidence head: a logistic model over :func:`confidence_features` that says whether the documents
answer, fitted on SQuAD train by ``benchmarks/tune_reader_choice.py`` (answerable questions against questions
whose article was removed from the index); ``CONFIDENCE_THRESHOLD`` refuses 0.93 of the unanswerable ones there
(a margin over the 0.90 asked on dev). Fitted on the questions of half of the articles and scored on the other
half's, at as many refusals as the rule it replaced (an evidence threshold, and the reader's "rescue" of a weaker
sentence it was sure of), it answers 0.818 / 0.847 of answerable questions with a gold sentence where that rule
answered 0.806 / 0.832 (both reading 8 sentences)."""


def confidence_features(evidence: np.ndarray, margins: np.ndarray, pick: int) -> np.ndarray:
    """What the confidence head reads: the evidence (as logits) of the best and of the chosen sentence, and the
    reader's margins (clipped) of the chosen and of the surest sentence."""
    odds = np.clip(np.asarray(evidence, dtype=np.float64), 1e-6, 1 - 1e-6)
    logits = np.log(odds / (1 - odds))
    sure = np.clip(np.asarray(margins, dtype=np.float64), -MARGIN_CLIP, MARGIN_CLIP)
    return np.asarray([logits.max(), logits[pick], sure[pick], sure.max()])


def answer_confidence(evidence: np.ndarray, margins: np.ndarray, pick: int) -> float:
    """0..1, how sure the answerer is that sentence ``pick`` answers; on the scale of ``min_evidence``: the
    calibrated threshold maps to :data:`~rag.evidence.MIN_EVIDENCE`, so a stricter or looser ``min_evidence``
    moves it as it moves the evidence threshold."""
    z = confidence_features(evidence, margins, pick) @ CONFIDENCE_WEIGHTS + CONFIDENCE_BIAS - CONFIDENCE_THRESHOLD
    return float(1.0 / (1.0 + np.exp(-(z + np.log(MIN_EVIDENCE / (1 - MIN_EVIDENCE))))))


def decide(
    rank: np.ndarray,
    evidence: np.ndarray,
    margins: np.ndarray,
    min_evidence: float,
    weight: float = READER_WEIGHT,
) -> int | None:
    """Which of the read sentences (best-ranked first) is the answer's, or None to refuse.

    With the reader's margins: the sentence with the highest ranking-head score plus ``weight`` times its
    margin (clipped), answered when :func:`answer_confidence` reaches ``min_evidence``. Without them (no reader,
    or not read: all margins ``-inf``): the best-ranked sentence whose evidence reaches ``min_evidence``.
    """
    if not np.isfinite(margins).any():
        qualifies = evidence >= min_evidence
        return int(np.argmax(np.where(qualifies, rank, -np.inf))) if qualifies.any() else None
    pick = int(np.argmax(rank + weight * np.clip(margins, -MARGIN_CLIP, MARGIN_CLIP)))
    return pick if answer_confidence(evidence, margins, pick) >= min_evidence else None


NOT_COVERED = "The documents do not say. I found nothing in them that answers: {question}"
CANNOT_SUMMARISE = (
    "I cannot summarise: I answer questions with sentences quoted from the documents. Ask about something they "
    "may say: who, what, when, where or how much. The documents: {titles}."
)
_WHOLE = (
    r"(?:(?:the|this|these|that|those|all|each|every|my|our)\s+)?(?:\w+\s+)?"
    r"(?:documents?|articles?|files?|texts?|notes|pdfs?|reports?|papers?|folder|collection|handbooks?|manuals?|"
    r"guides?|books?|slides|slide decks?|decks?|presentations?|spreadsheets?|e-?mails?|memos?|minutes)"
)
"""The documents as a whole, or one of them: "the documents", "this article", "the second report"."""
_ASKS_WHICH_DOCUMENTS = r"(?:what|which) (?:documents|files|texts|sources) (?:do|can) you"
_LIST_DOCUMENTS = r"(?:list|show)(?: me)? (?:the |all |your )*(?:documents|files|sources)"
_SUMMARY = re.compile(
    r"^\W*(?:(?:please|can you|could you)\s+)*"
    r"(?:(?:summari[sz]e|sum up)(?:\s+(?:" + _WHOLE + r"|it|them|everything|all))?"
    r"|give (?:me )?(?:a |an )?(?:short |brief )?(?:summary|overview|gist)"
    r"(?:\s+of\s+(?:" + _WHOLE + r"|it|them|everything|all))?"
    r"|tl;?dr"
    r"|what (?:are|were) the (?:main|key) (?:points|takeaways|ideas|topics)(?:\s+(?:of|in)\s+" + _WHOLE + r")?"
    r"|what (?:is|are) " + _WHOLE + r" about"
    r"|" + _ASKS_WHICH_DOCUMENTS + r" (?:have|know|see|read|search)(?: about)?"
    r"|" + _LIST_DOCUMENTS + r")\W*$",
    re.IGNORECASE,
)
"""A request for a summary of the documents as a whole: "Summarize the documents", "What are the main points of the
second article?". Not "What were the main topics discussed at the summit?" (a question the documents may answer)."""


_OVERVIEW = re.compile(
    r"^\W*(?:(?:please|can you|could you)\s+)*"
    r"(?:summari[sz]e|sum up|(?:give|write)(?: me)? (?:a |an )?(?:short |brief )?(?:summary|overview|gist) of"
    r"|what (?:is|are) (?:the |this |that )?\S.* about\W*$"
    r"|what (?:are|were) the (?:main|key) (?:points|takeaways|ideas|topics) (?:of|in|from))\s*\S",
    re.IGNORECASE,
)
"""A request for a summary of anything named: "Summarise the contract", "What is the Kallas article about?", "What
are the main topics in the board minutes from June?" (a document, when its name is written) or "Summarise the
talks in Geneva" (a topic: searched as a question)."""


_LISTING = re.compile(r"^\W*(?:" + _ASKS_WHICH_DOCUMENTS + "|" + _LIST_DOCUMENTS + ")", re.IGNORECASE)
"""A request for the list of documents: "What documents do you have?", "List the files"."""


def asks_for_overview(question: str) -> bool:
    """Whether ``question`` asks for a summary of something it names (:data:`_OVERVIEW`), which may be a document,
    or of the documents as a whole (:func:`asks_for_summary`); not for their list ("What documents do you have?")."""
    return not _LISTING.match(question) and (bool(_OVERVIEW.match(question)) or asks_for_summary(question))


def asks_for_summary(question: str) -> bool:
    """Whether ``question`` asks for a summary or an overview ("Summarize the documents", "What are the main points
    of the second article?"), which no quoted sentence answers: it gets :data:`CANNOT_SUMMARISE`, not a
    "the documents do not say" that would be wrong."""
    return bool(_SUMMARY.match(question))


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
    section: str = ""
    """The heading the quote stands under in its document (Markdown, HTML, DOCX headings; PDF outline), if any."""
    columns: str = ""
    """For a table row, its table's header row ("| Country | Daily allowance |"): shown with the quote so that
    "| Norway | 95 EUR |" can be read, but not part of it."""

    @property
    def location(self) -> str:
        """Where the quote stands: "§ Rental prices, p. 3, chars 120-164" (section and page when known; the
        section is left out when it only repeats the title, or names the slide of an untitled one)."""
        page = page_name(self.source, self.page) if self.page else ""
        shown = self.section and self.section not in (self.title, page.capitalize())
        section = f"§ {self.section}, " if shown else ""
        return f"{section}{page + ', ' if page else ''}chars {self.start}-{self.end}"


def page_noun(source: str) -> str:
    """What a page of ``source`` is called: "slide" in a presentation, else "page"."""
    return "slide" if source.lower().endswith((".pptx", ".odp")) else "page"


def page_name(source: str, page: int) -> str:
    """How people name page ``page`` of ``source``: "p. 3", or "slide 3" in a presentation."""
    return f"slide {page}" if page_noun(source) == "slide" else f"p. {page}"


@dataclass(frozen=True)
class Answer:
    """The reply to one question. ``text`` carries ``[n]`` markers that point to ``quotes[n-1]``."""

    question: str
    text: str
    answered: bool
    """False when the documents do not hold the answer; ``quotes`` is then empty."""
    quotes: list[Quote] = field(default_factory=list)
    related: list[Quote] = field(default_factory=list)
    """Passages offered for reading, never as support: when refusing, the closest ones; when answering, strong
    sentences that do not write the answer's key phrase (they state something else)."""
    key_phrase: str | None = None
    query: str = ""
    """The self-contained question that was searched (differs from ``question`` for follow-ups)."""


class Answerer(Protocol):
    """Anything that turns passages into an answer (the extractive default, or a generative backend)."""

    def run(self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> Answer: ...


# ---- the extractive answerer ------------------------------------------------------------------------------

_NAME_QUESTION = re.compile(
    r"\s*(?:[Ww]hat|[Ww]ho)(?:'s|\s+(?:is|are|was|were))\s+(?:the\s+)?(?P<name>[A-Z][\w.-]*(?:\s+[A-Z][\w.-]*)*)\s*\??\s*$"
)
"""A question that only names something: "Who is Kaja Kallas?", "What is SAFE?" (not "Who is the President of
France?": that asks for someone, and a sentence naming the office is no answer)."""
_NAME_WORD = re.compile(r"\w(?:[\w.-]*\w)?")
"""A word of a name: "U.S." and "Jean-Claude" whole, without a sentence's final full stop."""


_QUESTION_NAME = re.compile(
    r"(?<![\w.'’-])[A-Z][\w'’-]*(?:\.[A-Z])*\.?|(?<![\w.'’-])[a-z]+\d\w*(?:\.\d\w*)*|\d[\d,.:]*\d\w*|\b\d\w*"
    r"|(?<![\w.'’-])[a-z]+(?:_[a-z\d]+)+\b"
)
"""A capitalised word ("Sweden", "O'Brien", "U.S."), an identifier ("r24", "v2.4.0", "pool_recycle_seconds"; "Q3"
is caught by the first branch) or a number as written ("1,500", "23:40")."""
_IDENTIFIER = re.compile(r"\w+_\w+")
"""A setting's or a variable's name ("max_pool_size"): written as such, or it is another one."""
_V_VERSION = re.compile(r"[vV](?=\d+(?:\.\d+)+$)")
"""The "v" of a version ("v2.4.0"), which release notes often leave out ("## [2.4.0] - 2024-09-17")."""
_AFTER_A_BREAK = re.compile(r"[:;–—-]\s*$|^\s*$")
"""What may stand before a sentence-initial capital: "Quick question: Can …", "Travel - Could I …"."""
_ORDINAL_OR_SHORT_ACRONYM = re.compile(r"\d+(?:st|nd|rd|th|s)|[A-Z]{2,3}")
"""Not taken as names: "2nd", "1990s" (written in many ways), "US", "TV", "CIA" (often spelled out)."""
_NOT_NAMES = frozenset(
    "I A An The What Which Who Whom Whose When Where Why How Is Are Was Were Do Does Did Can Could Should Would "
    "Will Shall May Might Must Has Have Had Tell Please List Name Give Show Explain Describe Mr Mrs Ms Dr Prof St "
    "Sir".split()
)
"""Capitalised words that are no names: question words, modals and imperatives, titles before a name."""


def phrase_in(phrase: str, text: str) -> tuple[int, int] | None:
    """Where ``text`` writes ``phrase`` whole, case aside: not "3:40" inside "23:40", not "Anna Berg" inside
    "Joanna Bergman". Offsets into ``text`` as written (lower-casing can change a string's length)."""
    found = re.search(rf"(?<!\w)(?<!\d[.,:]){re.escape(phrase)}(?!\w)(?![.,:]\d)", text, re.IGNORECASE)
    return found.span() if found else None


def _listed(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _fold(text: str) -> str:
    """Lower case without accents, so "Beyonce" finds "Beyoncé"."""
    return fold_accents(text.casefold())


_A_YEAR = re.compile(r"1[5-9]\d\d|20\d\d")
"""A year as a name of a question: one that no retrieved passage writes is refused, not noted, when the question
asks for a figure or a thing (a year's figures are that year's; the closest answer is another year's); not for a
person, place or date (SQuAD train, 2,000 questions: 2 right answers lost before that, none after)."""


_A_VERSION = re.compile(r"\d+(?:\.\d+)+")
"""A version or a decimal as a name of a question ("Tally 3.5", "3.5 kg"): one that no retrieved passage writes is
refused, as a year is; what the passages say of other versions is not about it."""


def unmentioned_names(question: str, passages: Sequence[Passage]) -> list[str]:
    """The names of ``question`` (:func:`question_names`) that no retrieved passage writes, case, accents,
    plural or adjective endings and typos aside. Retrieval weighs such rare words heavily, so a name none of
    the passages holds is most likely one the documents never mention. On SQuAD train, refusing on it cost more
    right answers (evidence@1 0.797 -> 0.787) than it refused unanswerable questions (0.911 -> 0.919), so the
    answerer only says so (see ``run``), but for a year (:data:`_A_YEAR`)."""
    return names_unwritten(question_names(question), passages)


def names_unwritten(names: Sequence[str], passages: Sequence[Passage]) -> list[str]:
    """Those of ``names`` that no passage of ``passages`` writes (in its text, heading or title)."""
    if not names:
        return []
    text = _fold(" ".join(f"{p.chunk.title} {p.chunk.section or ''} {p.chunk.text}" for p in passages))
    return _not_written(names, text)


def _not_written(names: Sequence[str], text: str) -> list[str]:
    written = set(re.findall(r"\w+", text))
    return [n for n in names if not _written(_fold(n), written, text)]


def contradicts(sentence: str, other: str) -> bool:
    """Whether ``other`` is ``sentence`` written again with other figures: the same words but for numbers, and
    the numbers not the same ("Employees get 28 days of annual leave." against "… 30 days …"; not "Employees in
    Poland get 26 days", a fact of its own, nor "EUR 1200" against "EUR 1,200"): an edited copy of a document,
    or two documents that disagree. The caller compares sentences of different files only (one file may state
    a figure for each version, year or country)."""
    one, two = _TOKENS.findall(sentence.lower()), _TOKENS.findall(other.lower())
    matcher = difflib.SequenceMatcher(a=one, b=two, autojunk=False)
    if one == two or matcher.ratio() < 0.8:
        return False
    changed = [(one[a:b], two[c:d]) for tag, a, b, c, d in matcher.get_opcodes() if tag != "equal"]
    if not all(_NUMBER.fullmatch(w) for mine, theirs in changed for w in mine + theirs):
        return False  # a word changed too: most likely about something else
    return any(sorted(map(_plain, mine)) != sorted(map(_plain, theirs)) for mine, theirs in changed)


_TOKENS = re.compile(r"\w+(?:[.,:]\d+)*|[^\w\s]")
_NUMBER = re.compile(r"\d[\d.,:]*")


def _plain(number: str) -> str:
    """A number without its thousands separators: "1,200" and "1200" are one figure."""
    return re.sub(r"[,.](?=\d{3}(?!\d))", "", number)


_LIST = re.compile(
    r"^\W*(?:(?:list|name)\b|(?:what|which)\s+(?:are|were)\b|(?:what|which)\s+\w+s\s+(?:are|were|do|does|did|have|has)\b"
    r"|what\s+(?:do|does|should|must)\s+(?:\w+\s+){1,2}(?:need\s+to\s+|have\s+to\s+)?(?:bring|pack|take|wear)\b)"
    r"|\bare\s+there\W*$",
    re.IGNORECASE,
)
"""A question that asks for a list: "What are the open positions?", "Which offices do we have?", "List the fees",
"What do kids need to bring on the trip?"."""
MAX_LISTED_ROWS = 12
"""At most this many rows of a table answer a question that asks for a list."""
_TABLE_WINDOW = 6000
"""Characters read on each side of the answer's row to find the rest of its table."""
TABLE_RULE = re.compile(r"[\s|:+-]*")
"""A Markdown table's rule line ("|---|:--|"): no row."""


@dataclass(frozen=True)
class ListedRows:
    """The rows of a table that answer a question asking for a list, and how many more the table has."""

    rows: list[Sentence]
    left_out: int = 0


def _lines_around(
    best: Sentence, excerpt: Callable[[str, int, int], str]
) -> tuple[int, str, list[tuple[int, int]], int | None]:
    """The document's text around ``best`` (from offset ``start``), its whole lines as (start, end) in that text,
    and which of them holds ``best`` (None if none does)."""
    start = max(0, best.start - _TABLE_WINDOW)
    text = excerpt(best.source, start, best.end + _TABLE_WINDOW)
    lines, at = [], 0
    for line in text.split("\n"):
        lines.append((at, at + len(line)))
        at += len(line) + 1
    if start:
        lines = lines[1:]  # it may begin inside a line
    if len(text) == best.end + _TABLE_WINDOW - start:
        lines = lines[:-1]  # and end inside one
    here = next((n for n, (a, b) in enumerate(lines) if a <= best.start - start <= b), None)
    return start, text, lines, here


def code_after(best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> Sentence | None:
    """The fenced code block that ``best`` leads into (it ends in ":" and the block follows: "On macOS with
    Homebrew:" over "```bash / brew install tidemill / ```"), as a quotable sentence; None otherwise."""
    if excerpt is None or not best.text.endswith(":"):
        return None
    text = excerpt(best.source, best.end, best.end + _TABLE_WINDOW)
    lead = len(text) - len(text.lstrip())
    if lead and "\n" not in text[:lead]:
        return None
    opening = FENCE.match(text, text.rfind("\n", 0, lead) + 1)  # (the fence's line, indented or not)
    if opening is None:
        return None
    closing = re.compile(rf"^[ \t]*{re.escape(opening['fence'])}[ \t]*$", re.M).search(text, opening.end())
    if closing is None:
        return None
    a, b = best.end + lead, best.end + closing.end()
    return dataclasses.replace(best, start=a, end=b, text=text[lead : closing.end()], header="", previous=best.text)


def lead_in_of(block: Sentence, excerpt: Callable[[str, int, int], str] | None) -> Sentence | None:
    """The line ending in ":" that leads into the fenced code block ``block`` ("The official image is published to
    the GitHub Container Registry:"), as a quotable sentence; None when the block has none."""
    if excerpt is None or not FENCE.match(block.text):
        return None
    start = max(0, block.start - 600)
    text = excerpt(block.source, start, block.start).rstrip()
    line_start = text.rfind("\n") + 1
    line = text[line_start:].strip()
    if not line.endswith(":") or FENCE.match(line) or (start and line_start == 0):
        return None
    a = start + line_start + len(text[line_start:]) - len(text[line_start:].lstrip())
    return dataclasses.replace(block, start=a, end=a + len(line), text=line, header="", previous="")


def table_of(best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> list[Sentence]:
    """The rows of the table of ``best`` (a row), read from the document around it, in the table's order; the
    header row and rule lines left out. A table ends at a line that is no row (a blank line, a caption), so
    another table of the same header is not read with it. Empty when ``best`` is not one of its lines."""
    if excerpt is None or not best.header:
        return []
    start, text, lines, here = _lines_around(best, excerpt)
    if here is None:
        return []
    is_row = [("|" in text[a:b]) for a, b in lines]
    first, last = here, here
    while first > 0 and is_row[first - 1]:
        first -= 1
    while last + 1 < len(lines) and is_row[last + 1]:
        last += 1
    header_row = best.header.rpartition("\n")[2].strip()
    rows = []
    for a, b in lines[first : last + 1]:
        line = text[a:b]
        a, b = a + len(line) - len(line.lstrip()), b - (len(line) - len(line.rstrip()))
        if text[a:b] and text[a:b] != header_row and not TABLE_RULE.fullmatch(text[a:b]):
            row = dataclasses.replace(best, start=start + a, end=start + b, text=text[a:b])
            rows.append(best if row.start == best.start else row)
    return rows if any(row is best for row in rows) else []


def listed_rows(question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> ListedRows:
    """The rows of the table of ``best`` (:func:`table_of`; at most :data:`MAX_LISTED_ROWS`, around the answer's
    row): when the question asks for a list and every word it asks with is the table's (its heading, header row
    or title: "What are the open positions?" under "Open positions"; not "What were the revenues in the first
    quarter?", nor "What are the fees for boats up to 8 m?", which a row answers). Empty otherwise."""
    if not best.header or not _LIST.search(question):
        return ListedRows([])
    if not set(tokenize(question)) <= set(tokenize(f"{best.title} {best.section} {best.header}")):
        return ListedRows([])
    rows = table_of(best, excerpt)
    if len(rows) < 2:
        return ListedRows([])
    mine = next(n for n, row in enumerate(rows) if row is best)
    window = max(0, min(mine - MAX_LISTED_ROWS // 2, len(rows) - MAX_LISTED_ROWS))
    shown = rows[window : window + MAX_LISTED_ROWS]
    return ListedRows(shown, len(rows) - len(shown))


def bold_whole(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """``span`` of ``text`` without Markdown bold marks (``**``) at its ends, and widened over the other mark of a
    bold run it cuts into, so that its marks pair up: "Wednesday** morning break" of "**Wednesday** morning break"
    is the whole, "the **top playground" of "the **top playground**, by …" ends after the run, "9:00**" of "by
    **9:00**." is "9:00" (found by a teacher's folder in Markdown, whose answers showed "**the **top
    playground**, …**")."""
    start, end = span
    while end - start > 2 and text.startswith("**", start):
        start += 2
    while end - start > 2 and text.endswith("**", 0, end):
        end -= 2
    if text.count("**", start, end) % 2:
        if text.count("**", 0, start) % 2:  # it starts inside a run that ends within it: from the run's start
            start = text.rfind("**", 0, start)
        elif text.find("**", end) >= 0:  # it starts a run that ends after it: to the run's end
            end = text.find("**", end) + 2
    return start, end


def unbolded(phrase: str) -> str:
    """A key phrase as read, without its text's Markdown bold marks ("**Wednesday** morning break")."""
    return phrase.replace("**", "")


def emphasised(text: str, span: tuple[int, int]) -> str:
    """``text`` with ``span`` in Markdown bold, around the whole of an inline code span it cuts into ("**`--delay`**",
    not "`**--delay`**", which shows the asterisks), and left as it is when the text has it in bold already
    ("**Does Tidemill retry jobs?**", "3" of "**Zone 3**": not "**Zone **3****"). Bold runs of the text that the
    span takes in (:func:`bold_whole`) merge into its own: "**Wednesday morning break**"."""
    start, end = bold_whole(text, span)
    if "```" not in text and text.count("`", 0, start) % 2:  # (a fenced block's code is marked as it is)
        start = text.rfind("`", 0, start)
    if "```" not in text and text.count("`", 0, end) % 2 and text.find("`", end) >= 0:
        end = text.find("`", end) + 1
    if text.count("**", 0, start) % 2:  # inside a bold run of its own ("**Zone 3**"): bold already
        return text
    return f"{text[:start]}**{unbolded(text[start:end])}**{text[end:]}"


def file_name_words(name: str) -> str:
    """A file name with its words apart: "stratus_service_contract.docx" -> "stratus service contract docx" (the
    tokenizer's words hold "_")."""
    return re.sub(r"[_.\-/]", " ", name)


_LIST_WORDS = frozenset(tokenize("steps step list items things instructions need do make kids children pupils"))
"""Words a question for a list or steps asks with that its list's heading need not write (and who it is for: "What
do kids need to bring on the trip?" of a trip letter's "What to bring")."""


@dataclass(frozen=True)
class ListedItems:
    """The items of a list that answer a question asking for a list or for steps, and how many more it has."""

    items: list[Sentence]
    numbered: bool = False
    left_out: int = 0


def names_its_heading(asked: set[str], sentence: Sentence) -> bool:
    """Whether a question's words (``asked``, tokenized) hold every word of the heading ``sentence`` stands right
    under ("What ingredients are in the dal?" of a line under "Red Lentil Dal › Ingredients")."""
    heading = set(tokenize(sentence.section.rpartition(SECTION_PATH)[2]))
    return bool(heading) and heading <= asked


def listed_items(question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> ListedItems:
    """The items of the list ``best`` is an item of, or leads into (its line is followed by the list), at most
    :data:`MAX_LISTED_ROWS` around the answer's: when the question asks for a list or for steps, or names the
    list's heading, and every word it asks with is written in the list's title, heading or lead-in ("What
    ingredients are in the dal?" under "Red Lentil Dal › Ingredients", "How do I descale the machine?" of "The
    machine must be descaled when … 1. Remove the water filter …", "What was added in Tally 3.2.0?" under "Tally
    3.2.0 — 21 October 2024 › Added"). Each item is quoted without its mark. Empty otherwise."""
    asks = _LIST.search(question) or STEPS.search(question) or names_its_heading(set(tokenize(question)), best)
    if excerpt is None or best.header or not asks:
        return ListedItems([])
    start, text, lines, here = _lines_around(best, excerpt)
    if here is None:
        return ListedItems([])
    marks = [LIST_ITEM.match(text, a, b) for a, b in lines]
    kinds = ["" if m is None else "bullet" if m["bullet"] else "number" for m in marks]  # "": no item
    lead = ""
    if not kinds[here]:  # the lead-in: the list starts on the next line with text
        after = range(here + 1, min(here + 3, len(lines)))
        following = next((n for n in after if text[slice(*lines[n])].strip()), None)
        if following is None or not kinds[following]:
            return ListedItems([])
        lead, here = text[slice(*lines[here])], following
    kind = kinds[here]
    first, last = here, here
    while first > 0 and kinds[first - 1] == kind:
        first -= 1
    while last + 1 < len(lines) and kinds[last + 1] == kind:
        last += 1
    if not lead and first > 0:
        lead = text[slice(*lines[first - 1])]
    named = f"{best.title} {file_name_words(best.source)} {best.section} {lead}"
    if last == first or not set(tokenize(question)) - _LIST_WORDS <= set(tokenize(named)):
        return ListedItems([])  # (the file name may say what the steps are for: "boiler_manual.html")
    items = []
    for n in range(first, last + 1):
        mark = marks[n]
        a, b = (mark.end() if mark else lines[n][0]), lines[n][1]
        b -= len(text[a:b]) - len(text[a:b].rstrip())
        item = dataclasses.replace(best, start=start + a, end=start + b, text=text[a:b], header="", previous="")
        items.append(best if item.start <= best.start < item.end and best.text == item.text else item)
    mine = next((n for n, item in enumerate(items) if item.start <= best.start < item.end), 0)
    window = max(0, min(mine - MAX_LISTED_ROWS // 2, len(items) - MAX_LISTED_ROWS))
    shown = items[window : window + MAX_LISTED_ROWS]
    return ListedItems(shown, kind == "number", len(items) - len(shown))


_MOST = re.compile(
    r"\b(?P<max>highest|largest|biggest|greatest|most\s+expensive|most|maximum|longest)\b"
    r"|\b(?P<min>lowest|smallest|least\s+expensive|cheapest|least|fewest|minimum|shortest)\b",
    re.IGNORECASE,
)
"""A superlative asked of a table: the row with the highest (or lowest) number in a column."""
_FIGURE = re.compile(r"-?\d[\d,.' ]*")
_ASKS_VALUE = re.compile(r"^\W*(?:what|how\s+much|how\s+many)(?:'s|\s+(?:is|was|are|were))?\s+the\b", re.I)


def _figure(cell: str) -> float | None:
    """The first number written in a table cell, thousands separators aside ("1,250.50 EUR", "1.72", "3 400")."""
    found = _FIGURE.search(cell)
    if found is None:
        return None
    number = found.group().strip(" ,.'").replace("'", "").replace(" ", "")
    if "," in number and "." in number:
        number = (
            number.replace(",", "")
            if number.rfind(".") > number.rfind(",")
            else number.replace(".", "").replace(",", ".")
        )
    elif "," in number:
        number = number.replace(",", "") if re.fullmatch(r"-?\d{1,3}(?:,\d{3})+", number) else number.replace(",", ".")
    try:
        return float(number)
    except ValueError:
        return None


def extreme_rows(
    question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None
) -> list[tuple[Sentence, tuple[int, int]]]:
    """The rows of the table of ``best`` with the highest (or lowest) number in the column the question names
    ("Which month had the highest average price per litre?": the rows of the top Average price, each with its
    Month cell; "What is the highest price?": with its price), ties all given; the table's own figures, compared,
    not the reader's guess. Empty when the question asks no superlative, names no column that holds a number in
    every row, or the table cannot be read."""
    most = _MOST.search(question)
    if not best.header:
        return []
    if most is None:
        return extreme_cell(question, best, excerpt)
    header = best.header.rpartition("\n")[2]
    names = cells_of(header)
    named = {n: len(set(wanted)) for n, wanted in named_columns(header, question).items()}
    if not named:  # "Which cost line is the largest?": by its Total column, if the table has one
        named = {n: 1 for n, (a, b) in enumerate(names) if n and _TOTAL.fullmatch(header[a:b])}
    widest = sorted(named.values(), reverse=True)  # "Litres" is in "average price per litre" too: the most words
    if not widest or (len(widest) > 1 and widest[0] == widest[1]):
        return extreme_cell(question, best, excerpt)  # no column named, or two as well: a row, maybe
    column = max(named, key=lambda n: named[n])
    superlative = set(tokenize(most.group()))  # ("most" is a stop word: it names no column)
    if superlative and superlative <= set(tokenize(header[slice(*names[column])])):
        return []  # "What is the minimum PostgreSQL version?": the Minimum version column, of the row named
    rows = [row for row in table_of(best, excerpt) if not is_total(row)]  # the total is no row of its own
    if len(rows) < 2:
        return []
    values = []
    for row in rows:
        cells = cells_of(row.text)
        figure = _figure(row.text[cells[column][0] : cells[column][1]]) if len(cells) == len(names) else None
        if figure is None:
            return []
        values.append((figure, row, cells))
    extreme = max(v for v, _, _ in values) if most["max"] else min(v for v, _, _ in values)
    shown = column if _ASKS_VALUE.match(question) else 0  # "What is the highest price?" or "Which month …?"
    return [(row, cells[shown]) for value, row, cells in values if value == extreme]


_YES = frozenset("yes y true ✓ ✔ x".split())
_NO = frozenset("no n false ✗ ✘ - — –".split())
_NEGATED = re.compile(r"\b(?:not|no|nothing|none|never|without)\b|n't\b", re.IGNORECASE)
_WHICH_ROWS = re.compile(
    r"^\W*(?:which|what)\s+(?:[\w-]+\s+)?(?:[\w-]+s|children|people|men|women|staff)\s+"
    r"(?:have|has|are|is|were|was|do|does|did|need|needs|contain|"
    r"contains|include|includes|use|uses|support|supports|got)\b",
    re.IGNORECASE,
)
"""A question for the rows of a table that something holds for: "Which days have nothing booked?", "Which dishes
contain mustard?"."""


def rows_where(
    question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None
) -> list[tuple[Sentence, tuple[int, int]]]:
    """The rows of the table of ``best`` whose yes-or-no column the question names says yes, or no when the
    question says not ("Which days have nothing booked?" of an itinerary's "Booked?" column: every row with "No"),
    each with its first cell; empty when it names no such column or every row or none would do."""
    if not best.header or not (_WHICH_ROWS.match(question) or _WHO_IS_IN.match(question)):
        return []
    header = best.header.rpartition("\n")[2]
    width = len(cells_of(header))
    rows = [row for row in table_of(best, excerpt) if not is_total(row)]
    if not _WHICH_ROWS.match(question):
        return _rows_of_value(question, rows, width)
    for column in named_columns(header, question) or _column_by_head(header, question):
        cells = [cells_of(row.text) for row in rows]
        if any(len(c) != width for c in cells):
            return []
        values = [
            row.text[slice(*c[column])].strip().strip("?.!").casefold() for row, c in zip(rows, cells, strict=True)
        ]
        if set(values) <= _YES | {""}:  # a matrix of marks ("Y" under "Celery", or nothing): a blank says no
            values = [value or "no" for value in values]
        if not set(values) <= _YES | _NO or not set(values) & _YES or not set(values) & _NO:
            continue
        wanted = _NO if _NEGATED.search(question) else _YES
        found = [(row, c[0]) for row, c, value in zip(rows, cells, values, strict=True) if value in wanted]
        return found[:MAX_LISTED_ROWS]
    return _rows_of_value(question, rows, width)


_WHO_IS_IN = re.compile(r"^\W*who(?:(?:['’]s|\s+is|\s+are)\s+(?:in|on)|\s+(?:has|have))\b", re.IGNORECASE)
"""A question for the rows that hold a value: "Who is in Owls?", "Who has asthma?"."""
_WHO_HAS = re.compile(r"^\W*(?:who|which\s+(?:[\w-]+\s+)?[\w-]+)\s+(?:has|have|is|are|got)\b", re.IGNORECASE)
"""A question for the rows whose cells say something ("Which children have asthma?"), not for a thing one row
says ("What days does the fish get delivered?")."""


def _rows_of_value(question: str, rows: Sequence[Sentence], width: int) -> list[tuple[Sentence, tuple[int, int]]]:
    """The rows whose cell in some column (not the first) is a value the question writes whole, shared by some rows
    but not all ("who is in owls" of a class list: every child whose Reading group is Owls), else whose cell in one
    column writes a word of it ("who has asthma"), each with its first cell; empty when values or words of two
    columns are so written, or none."""
    cells = [cells_of(row.text) for row in rows]
    if any(len(c) != width for c in cells):
        return []
    asked = _fold(question)
    hits = []
    for n in range(1, width):
        values = [_fold(row.text[slice(*c[n])].strip()) for row, c in zip(rows, cells, strict=True)]
        for value in set(values):
            if len(value) < 3 or any(ch.isdigit() for ch in value) or not 2 <= values.count(value) < len(values):
                continue
            if re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", asked):
                hits.append((n, value))
    if len(hits) == 1:
        column, wanted = hits[0]
        return [
            (row, c[0])
            for row, c in zip(rows, cells, strict=True)
            if _fold(row.text[slice(*c[column])].strip()) == wanted
        ][:MAX_LISTED_ROWS]
    if hits or not _WHO_HAS.match(question):
        return []
    # else the rows whose cell in one column writes a word of the question ("who has asthma": "Asthma (mild)",
    # "Asthma"), two rows at least (one row answers as any row does) and not all
    words = {w for w in re.findall(r"\w+", asked) if len(w) > 3 and w not in STOPWORDS}
    picked = {
        n: [k for k, c in enumerate(cells) if words & set(re.findall(r"\w+", _fold(rows[k].text[slice(*c[n])])))]
        for n in range(1, width)
    }
    picked = {n: found for n, found in picked.items() if 2 <= len(found) < len(rows)}
    if len(picked) != 1:
        return []
    return [(rows[k], cells[k][0]) for k in next(iter(picked.values()))][:MAX_LISTED_ROWS]


@dataclass(frozen=True)
class Marked:
    """What a row of a chart of marks says about the columns asked: their names (offsets into the header row) and
    which of them the row marks."""

    asked: list[tuple[int, int]]
    marked: list[tuple[int, int]]


def marked_columns(question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> Marked | None:
    """For a row of a chart of marks (an allergen chart: a column per allergen, "Y" or nothing in each cell; a
    feature grid of "✓") that the question names by its first cell, the columns it marks: of those the question
    names ("Does the tiramisu contain eggs?": Eggs, or none), else of all, when it asks what they are in words of
    the table's title, heading or first column ("allergens in the tiramisu?" of an allergen chart: Gluten, Eggs,
    Milk, Sulphites). None when ``best`` is no such row, or the question asks something else ("How much is the
    tiramisu?", "Is the tiramisu vegan?")."""
    if not best.header:
        return None
    header = best.header.rpartition("\n")[2]
    names, cells = cells_of(header), cells_of(best.text)
    key = set(tokenize(best.text[slice(*cells[0])])) if cells else set()
    asked = set(tokenize(question))
    if len(names) != len(cells) or not key or not key <= asked:
        return None
    named = list(named_columns(header, question)) or _column_by_head(header, question)
    kind = set(tokenize(f"{best.title} {best.section} {header[slice(*names[0])]}"))
    if not named and (ASKS_YES_NO.match(question) or not (asked - key) & kind):
        return None
    rows = [[row.text[a:b].strip().casefold() for a, b in cells_of(row.text)] for row in table_of(best, excerpt)]
    if len(rows) < 2 or any(len(values) != len(names) for values in rows):
        return None
    marks = [n for n in range(1, len(names)) if {values[n] for values in rows} <= _YES | _NO | {""}]
    if len(marks) < 3 or not set(named) <= set(marks):
        return None
    columns = named or marks
    yes = [n for n in columns if best.text[slice(*cells[n])].strip().casefold() in _YES]
    return Marked([names[n] for n in columns], [names[n] for n in yes])


def _column_by_head(header: str, question: str) -> list[int]:
    """The one column (not the first) whose header's last word the question writes, when no other's is: "nuts" of
    "Tree nuts" beside "Peanuts"; none when two or none are."""
    asked = set(tokenize(question))
    heads = [
        n for n, (a, b) in enumerate(cells_of(header)[1:], start=1) if asked.intersection(tokenize(header[a:b])[-1:])
    ]
    return heads if len(heads) == 1 else []


def rows_asked(
    question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None
) -> list[tuple[Sentence, tuple[int, int]]]:
    """The rows of the table of ``best`` that answer together: those with the most or least of a column
    (:func:`extreme_rows`), or those a yes-or-no column says yes or no to (:func:`rows_where`)."""
    return extreme_rows(question, best, excerpt) or rows_where(question, best, excerpt)


_TOTAL = re.compile(r"\W*(?:grand\s+|sub-?)?totals?\W*|\W*sum\W*", re.IGNORECASE)
"""A table row's first cell that makes it the total of the rows above it."""
_TOTAL_WORD = re.compile(r"\btotals?\b", re.IGNORECASE)


def is_total(row: Sentence) -> bool:
    """Whether a table row is the total of the rows above it ("Total | £182,000 | …")."""
    cells = cells_of(row.text) if row.header else []
    return bool(cells) and _TOTAL.fullmatch(row.text[slice(*cells[0])]) is not None


def total_row(question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> Sentence | None:
    """The Total row of the table of ``best`` (a row that is not it), when the question asks for a total and names
    no row of its own ("What is the total budget for Q3?", "What is the total Project Atlas budget?"); of a table
    with a Subtotal and a Total, the Total."""
    subtotal = bool(re.match(r"\W*sub", best.text, re.IGNORECASE))
    if not best.header or not _TOTAL_WORD.search(question) or (is_total(best) and not subtotal):
        return None
    cells = cells_of(best.text)
    if not cells or set(tokenize(best.text[slice(*cells[0])])) <= set(tokenize(question)):
        return None  # "What is the total for Hardware?": that row's total
    rows = [row for row in table_of(best, excerpt) if is_total(row)]
    if len(rows) > 1:  # "Subtotal" and "Total": the total, the last one
        rows = [row for row in rows if not re.match(r"\W*sub", row.text, re.IGNORECASE)][-1:]
    return rows[0] if len(rows) == 1 else None


_BILL = re.compile(
    r"^\W*how\s+much\s+(?:is|was|are|were|will\s+be|do\s+(?:i|we)\s+(?:owe|pay)\s+(?:on|for))\s+"
    r"(?:the\s+|my\s+|our\s+|this\s+|that\s+|last\s+)?(?P<kind>[\w -]{0,40}?)\s*"
    r"\b(?P<bill>bill|invoice|statement|receipt|quote|quotation)s?\b",
    re.IGNORECASE,
)
"""A question for what a bill comes to: "How much is the water bill?", "How much was the electricity bill for October
to December?"."""
_AMOUNT_DUE = re.compile(
    r"[|\s]*(?:total(?:\s+amount)?(?:\s+(?:due|payable|to\s+pay|for\s+this\s+(?:period|bill|invoice)|"
    r"(?:including|incl\.?)\s+vat))?|amount\s+(?:due|payable|to\s+pay)|balance\s+(?:due|to\s+pay))\b"
    r"[^\n]{0,40}?\d",
    re.IGNORECASE,
)
"""A bill's line of what is to pay: "Total amount due: £334.75", "| Total | £335.85 |" (not "Subtotal")."""
_PERIOD_WORDS = frozenset(
    tokenize(
        "january february march april may june july august september october november december period quarter "
        "month year week to from for"
    )
)


def amount_due(question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None) -> Sentence | None:
    """The line of what is to pay of the bill, invoice or quote ``best`` is from, when the question asks what it
    comes to and names no charge of its own: "How much is the water bill?" is "Total amount due: £334.75", not the
    charge per cubic metre; "How much is the standing charge on the water bill?" is not asked this way."""
    asked = _BILL.match(question)
    if asked is None or excerpt is None:
        return None
    text = excerpt(best.source, 0, BILL_CHARS)
    if not text:
        return None
    lines = [line for line in text[:500].splitlines() if line.strip()][:2]
    head = set(tokenize(" ".join([best.title, *lines])))  # "water", "electricity": what the bill is for
    own = set(tokenize(question[asked.end() :] + " " + asked["kind"])) - _PERIOD_WORDS - head
    if own and not all(re.fullmatch(r"\d+", w) for w in own):
        return None
    for start, end in sentence_spans(text):
        line = text[start:end]
        if _AMOUNT_DUE.match(line) and not (start <= best.start < end):
            return Sentence(best.source, best.title, start, end, line, best.rank, section=best.section)
    return None


BILL_CHARS = 20_000
"""How much of a bill is read for the line of what is to pay (a bill is a page or two)."""


def _cell_named(row: str, header: str, name: str) -> tuple[int, int] | None:
    """The cell of ``row`` under the column whose name is ``name`` (case aside)."""
    names, cells = cells_of(header), cells_of(row)
    if len(names) != len(cells):
        return None
    found = [n for n, (a, b) in enumerate(names) if header[a:b].strip().lower() == name]
    return cells[found[0]] if found else None


_MORE = re.compile(
    r"\b(?:(?P<max>highest|largest|biggest|greatest|most|maximum|longest|heaviest|widest|tallest|fastest|strongest"
    r"|higher|larger|bigger|greater|more|longer|heavier|wider|taller|faster|stronger)"
    r"|(?P<min>lowest|smallest|cheapest|least|fewest|minimum|shortest|lightest|narrowest|slowest"
    r"|lower|smaller|cheaper|less|fewer|shorter|lighter|narrower|slower))\b",
    re.IGNORECASE,
)
"""A superlative or a comparative, of the most or of the least."""
_MEASURED_BY = {"heav": "weight", "light": "weight", "cheap": "price", "expensive": "price", "fast": "speed"}
"""What a comparison without its measure's name compares: "Which is heavier?" the weight."""


def extreme_cell(
    question: str, best: Sentence, excerpt: Callable[[str, int, int], str] | None
) -> list[tuple[Sentence, tuple[int, int]]]:
    """Of a table whose columns are the things compared (a spec sheet: "| Feature | BM-300 | BM-500 | BM-700 |"),
    the column with the highest (or lowest) number in the row of ``best``, when the question names that row's
    measure and asks which is the most or more ("Which model has the biggest water tank?" of "| Water tank | 1.2
    litres | 1.8 litres | 2.4 litres |", "Which is heavier, BM-500 or BM-700?" of the Weight row, between the two
    columns it names): the header row with the winning column's name and ``best`` with its figure, the one asked
    for first. Empty otherwise, and for a tie."""
    more = _MORE.search(question)
    if excerpt is None:
        return []
    header = best.header.rpartition("\n")[2]
    names, cells = cells_of(header), cells_of(best.text)
    if len(cells) != len(names) or len(cells) < 3:
        return []
    if more is None:
        return _column_writing(question, best, excerpt, cells) or _day_writing(question, best, excerpt, cells)
    label = set(tokenize(best.text[slice(*cells[0])]))
    asked = set(tokenize(question)) | {m for w, m in _MEASURED_BY.items() if w in more.group().lower()}
    if not label or not label <= asked:
        return []  # the question does not name this row's measure
    columns = [n for n in range(1, len(names)) if _names_column(question, header[slice(*names[n])])]
    figures = {n: _figure(best.text[slice(*cells[n])]) for n in (columns if len(columns) > 1 else range(1, len(cells)))}
    if len(figures) < 2 or any(f is None for f in figures.values()):
        return []
    extreme = (max if more["max"] else min)(f for f in figures.values() if f is not None)
    winners = [n for n, f in figures.items() if f == extreme]
    top = _header_row(best, excerpt)
    if len(winners) != 1 or top is None:
        return []
    found = [(top, cells_of(top.text)[winners[0]]), (best, cells[winners[0]])]
    return found[::-1] if _ASKS_VALUE.match(question) else found


_WHICH = re.compile(r"^\W*(?:which|what)\s+\w+(?:\s+\w+)?\s+(?:has|have|is|are|offers?|comes?|supports?|uses?)\b", re.I)
"""A question for the one of several things that has something: "Which model has a touchscreen?"."""


def _column_writing(
    question: str, best: Sentence, excerpt: Callable[[str, int, int], str], cells: list[tuple[int, int]]
) -> list[tuple[Sentence, tuple[int, int]]]:
    """The column of a spec sheet whose cell in the row ``best`` writes what the question asks for, alone of the
    row ("Which model has a touchscreen?" of "| Display | LED icons | 2.8-inch colour display | 4.3-inch
    touchscreen |"): the header row with its name, and ``best`` with that cell."""
    label = best.text[slice(*cells[0])]
    if not _WHICH.match(question) or question_type(question) in ("date", "person", "place", "quantity"):
        return []  # "What time is the fado dinner?" asks for a time, not for a column
    if not re.search(r"[^\W\d_]", label):
        return []  # a row keyed by a number or a date is a record ("| 3 | Wed 10 June | … |"), not a feature
    asked = set(tokenize(question)) - set(tokenize(label))
    writing = [n for n in range(1, len(cells)) if asked & set(tokenize(best.text[slice(*cells[n])]))]
    if len(writing) != 1 or named_columns(best.header.rpartition("\n")[2], question):
        return []  # "What tier is atorvastatin?", "Which camera is at Wengernalp?": a field of a record, not a column
    if _rows_of_value(question, [r for r in table_of(best, excerpt) if not is_total(r)], len(cells)):
        return []  # "Which children are in Owls?": the rows of a class list whose group is Owls, not "Reading group"
    top = _header_row(best, excerpt)
    if top is None:
        return []
    return [(top, cells_of(top.text)[writing[0]]), (best, cells[writing[0]])]


def _day_writing(
    question: str, best: Sentence, excerpt: Callable[[str, int, int], str], cells: list[tuple[int, int]]
) -> list[tuple[Sentence, tuple[int, int]]]:
    """Of a timetable's row, for "When is French?": the header row with the weekday whose cell writes it
    (:func:`day_written`), and ``best`` with its time."""
    if question_type(question) != "date":
        return []
    day = day_written(best.header.rpartition("\n")[2], best.text, question)
    top = _header_row(best, excerpt) if day is not None else None
    if top is None or day is None:
        return []
    return [(top, cells_of(top.text)[day]), (best, cells[0])]


def _names_column(question: str, cell: str) -> bool:
    """Whether ``question`` names a column by its heading's first word ("BM-700" of "BM-700 Barista")."""
    first = cell.split()[0] if cell.split() else ""
    return len(first) > 1 and re.search(rf"(?<![\w-]){re.escape(first)}(?![\w-])", question, re.I) is not None


def _header_row(best: Sentence, excerpt: Callable[[str, int, int], str]) -> Sentence | None:
    """The header row of the table of ``best`` (a row), as a quotable line of the document."""
    start, text, lines, here = _lines_around(best, excerpt)
    if here is None:
        return None
    first = here
    while first > 0 and "|" in text[slice(*lines[first - 1])]:
        first -= 1
    a, b = lines[first]
    line = text[a:b]
    a, b = a + len(line) - len(line.lstrip()), b - (len(line) - len(line.rstrip()))
    header = best.header.rpartition("\n")[2].strip()
    if text[a:b] != header:
        return None
    return dataclasses.replace(best, start=start + a, end=start + b, text=text[a:b], previous="")


def _cell_like(best: Sentence, span: tuple[int, int] | None, row: Sentence) -> tuple[int, int] | None:
    """The cell of ``row`` in the column of ``span`` (a cell of ``best``), when the two rows line up."""
    cells, others = cells_of(best.text), cells_of(row.text)
    column = next((n for n, (a, b) in enumerate(cells) if span and a <= span[0] and span[1] <= b), None)
    cell = others[column] if column is not None and len(others) == len(cells) else None
    return cell if cell and cell[0] < cell[1] else None


def row_is_about_another(names: Sequence[str], row: Sentence, passages: Sequence[Passage]) -> bool:
    """Whether a table ``row`` answers about something else than the question ``names``: one of them is
    written neither in the row nor around it (its table's header, heading and title, the prose of the passages
    retrieved from its document), so it is another row's ("Gdansk to Lyon" of a "Hamburg to Lyon" row beside a
    "Hamburg to Gdansk" one) or not its document's ("Berlin" of a table of Hamburg, Gdansk and Lyon). A row is a
    record of one thing: unlike a sentence of prose, it cannot be about a name it does not hold."""
    if not names or not row.header:
        return False
    around = [row.title, row.section, row.header, row.text]
    for passage in passages:
        if passage.chunk.source == row.source:  # its prose, not its rows
            around += [passage.chunk.section or "", *(ln for ln in passage.chunk.text.splitlines() if "|" not in ln)]
    return bool(_not_written(names, _fold(" ".join(around))))


_HOW_TO = re.compile(r"^\W*(?:how\s+(?:do|can|should|must|would)\s+(?:i|we)\b|how\s+to\b)", re.IGNORECASE)
"""A question for what to do: "How do I reset the router?", "How to descale"."""
_INSTRUCTION = re.compile(
    r"(?:^\W*|[,:;]\s+|\b(?:then|and|first|next|simply|just)\s+)(?:press|hold|open|click|select|go|connect|remove|"
    r"insert|turn|switch|set|enter|tap|use|follow|restart|unplug|plug|wait|add|fill|empty|choose|type|run|install|"
    r"update|check|put|place|pour|send|submit|contact|call|ask|write|log|sign|download|upload|make|keep|move|drag|"
    r"request|complete|book|e-?mail|reset|reboot|visit|attach|print|save|read|apply|take|bring)\b",
    re.IGNORECASE,
)
"""A sentence that says what to do: an imperative first, or after a clause ("With the router on, press …")."""


def not_what_to_do(question: str, sentences: Sequence[Sentence]) -> np.ndarray:
    """For a question for what to do ("How do I reset the router?"), the sentences of the best-ranked one's section
    that say no instruction, when one of them says one; all False otherwise."""
    unfit = np.zeros(len(sentences), dtype=bool)
    if not sentences or not _HOW_TO.search(question):
        return unfit
    head = sentences[0]
    here = [s.source == head.source and s.section == head.section for s in sentences]
    told = [bool(_INSTRUCTION.search(s.text)) for s in sentences]
    if any(h and t for h, t in zip(here, told, strict=True)):
        unfit[:] = [h and not t for h, t in zip(here, told, strict=True)]
    return unfit


_LABEL = re.compile(LIST_ITEM.pattern + r"(?P<label>[^:|]{1,60}?):\s+\S")
"""A list item that labels its value: "- London: GBP 210", "- Paris, Amsterdam, Munich: EUR 190"."""


_CODED = re.compile(r"\W*(?P<code>" + CODE.pattern + r")(?:\s*[-–—:=]|\t| {2,})\s*\S")
"""A line that a code opens: "E9 - Drain blocked: clean the filter …", "F1: Low water pressure", "XMAS24      25%
off, expired 02/01/2025" (a list of codes in columns of spaces)."""
_DASHED = re.compile(r"\W*(?P<code>[A-Z][\w'’&.]*(?:[ \t]+[A-Z][\w'’&.]*){0,3})[^\n]{0,20}?[ \t]+[-–—][ \t]+\S")
"""A line that a name opens, its value after a dash: "Eco 50°C - 3 h 35 min - everyday loads" (keyed "Eco")."""


def _keys(sentence: Sentence) -> set[str]:
    """What a record is keyed by: a table row's first cell, a labelled list item's label (each of a list of names
    in it: "Paris", "Amsterdam" of "- Paris, Amsterdam, Munich: EUR 190"), or the code a line opens with ("E9 - Drain
    blocked: …"), folded."""
    if sentence.header:
        cells = cells_of(sentence.text)
        return {_fold(sentence.text[slice(*cells[0])].strip())} if cells else set()
    label = _LABEL.match(sentence.text)
    if label is None:
        coded = _CODED.match(sentence.text) or _DASHED.match(sentence.text)  # "E9 - Drain blocked: …", "Eco 50°C - …"
        return {_fold(coded["code"])} if coded else set()
    return {_fold(part.strip()) for part in re.split(r",|\band\b", label["label"]) if part.strip()}


_NOW = re.compile(r"\b(?:current(?:ly)?|now|latest|at\s+present|presently|today|these\s+days|most\s+recent)\b", re.I)
"""A question about how things stand now: "What is the current electricity tariff?"."""
_THEN = re.compile(
    r"\b(?:old|older|previous(?:ly)?|original(?:ly)?|former(?:ly)?|earlier|last\s+(?:season|year|term|time))\b", re.I
)
"""A question about how things stood before: "What was the standing charge on the old tariff?", "How much was youth
football last season?"."""
_FIGURE_ASKED = re.compile(r"\bhow\s+(?:much|many)\b|\b(?:total|cost|price|fee|amount|rate|sum)s?\b", re.I)
"""A question for a figure, which a revision may have changed."""
_REVISED = re.compile(r"\b(?:revised|revision|updated|amended|final|v\d+|r\d+|rev\d*)\b", re.I)
"""What a file's name says when it replaces another: "kitchen_quote_revised_Q-2025-031-R1.xlsx"."""
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)[-_.]?(0[1-9]|1[0-2])(?:[-_.]?(0[1-9]|[12]\d|3[01]))?(?!\d)")
_MONTHS = "january february march april may june july august september october november december".split()
_WRITTEN_DATE = re.compile(
    r"\b(?:(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(_MONTHS) + r")\s+((?:19|20)\d\d)"
    r"|(" + "|".join(_MONTHS) + r")\s+(\d{1,2}),?\s+((?:19|20)\d\d))\b",
    re.IGNORECASE,
)


def document_date(source: str, head: str) -> tuple[int, int, int] | None:
    """When a document was written, as far as its file name ("electricity_bill_2025-04.md") or the first date of
    its first lines ("Bill date: 6 January 2025") tell; None when neither does."""
    named = _ISO_DATE.search(Path(source).name)
    if named:
        return int(named[1]), int(named[2]), int(named[3] or 1)
    written = _WRITTEN_DATE.search(head)
    if written is None:
        return None
    if written[1]:
        return int(written[3]), _MONTHS.index(written[2].lower()) + 1, int(written[1])
    return int(written[6]), _MONTHS.index(written[4].lower()) + 1, int(written[5])


_OLD = re.compile(r"old|archived?|superseded|obsolete|outdated|previous|deprecated|expired", re.I)
"""A word of a file's name that says it is replaced: "Membership fees 2024-25 (old).pdf"."""


def _series(source: str) -> str:
    """What a file's name says it is, without its dates, numbers and revision marks: two bills, or a quote and
    its revision, are one series ("electricity bill", "kitchen quote q"; a code such as "cw2" stays)."""
    words = re.findall(r"[^\W_]+", Path(source).stem.lower())
    return " ".join(w for w in words if not w.isdigit() and not _REVISED.fullmatch(w) and not _OLD.fullmatch(w))


_SAID_OLD = re.compile(r"\b(?:superseded|obsolete|archived|outdated|no\s+longer\s+(?:valid|applies|in\s+use))\b", re.I)
"""What a document's first lines say when it is replaced: "Leaf & Kettle shipping rates 2024 (SUPERSEDED)"."""


def _said_old(source: str, excerpt: Callable[[str, int, int], str] | None) -> bool:
    """Whether a document's file name calls it old ("Membership fees 2024-25 (old).pdf"), or its first lines say it
    is replaced ("… shipping rates 2024 (SUPERSEDED)")."""
    if any(_OLD.fullmatch(word) for word in re.findall(r"[^\W_]+", Path(source).stem)):
        return True
    return excerpt is not None and _SAID_OLD.search(excerpt(source, 0, 300)) is not None


def _alike(one: str, other: str) -> bool:
    """Whether two series (:func:`_series`) are one: the same words, or half of them shared by two names of three
    words or more ("email cw reminder" and "email cw extension": two e-mails about one coursework)."""
    a, b = set(one.split()), set(other.split())
    return a == b or (min(len(a), len(b)) >= 3 and len(a & b) >= len(a | b) / 2)


def superseded(
    question: str, sentences: Sequence[Sentence], excerpt: Callable[[str, int, int], str] | None
) -> set[str]:
    """The documents among those of ``sentences`` that a later one of their series replaces: of two bills, the
    older one when the question asks how things stand now ("What is the current electricity tariff?"), the newer
    one when it asks how they stood ("… on the old tariff?"); and a quote that its revision replaces, for a
    question for a figure or for now ("What is the total cost of the kitchen renovation?" of a quote and
    "…_revised_…R1"); and a file its name calls old ("Membership fees 2024-25 (old).pdf") or its first lines say is
    replaced ("shipping rates 2024 (SUPERSEDED)"), unless the question asks how things stood."""
    now, then = bool(_NOW.search(question)), bool(_THEN.search(question))
    found = list(dict.fromkeys(s.source for s in sentences))
    out: set[str] = set()
    for source in found:
        sources = [other for other in found if _alike(_series(source), _series(other))]
        if len(sources) < 2 or source != sources[0]:
            continue  # (each series once, from its first member)
        # a revision replaces the files named exactly as it is but for it (a thread's "…_final" e-mail does not
        # replace its "…_proposal"): its figures, not what only the original says ("What is not included …?")
        same = [other for other in sources if _series(other) == _series(source)]
        old = [other for other in same if _said_old(other, excerpt)]
        if old and len(old) < len(same) and not then:  # "… 2024-25 (old).pdf" beside "… 2025-26.pdf"
            out.update(old)
            continue
        revised = [other for other in same if _REVISED.search(file_name_words(Path(other).stem))]
        if revised and len(same) > 1 and (now or _FIGURE_ASKED.search(question)) and not then:
            out.update(other for other in same if other not in revised)
            continue
        if not (now or then) or excerpt is None:
            continue
        dated = {source: document_date(source, excerpt(source, 0, 600)) for source in sources}
        known = sorted((date, source) for source, date in dated.items() if date is not None)
        if len(known) < 2 or known[0][0] == known[-1][0]:
            continue
        kept = known[-1][1] if now else known[0][1]
        out.update(source for _, source in known if source != kept)
    return out


_ASKS_CLOCK = re.compile(r"^\W*(?:(?:at|from|until|by)\s+)?what\s+time\b(?!\s+(?:of|period|frame|span|zone)\b)", re.I)
"""A question for a time of day: "What time is our flight to Lisbon?" (not "What time of year …?")."""
_ASKS_CLOSING = re.compile(r"\b(?:clos(?:e|es|ing)|shut(?:s|ting)?|until\s+when|till\s+when|finish(?:es)?)\b", re.I)
_ASKS_OPENING = re.compile(r"\b(?:open(?:s|ing)?|start(?:s|ing)?)\b", re.I)
_HOURS = re.compile(rf"(?P<from>{TIME_OF_DAY.pattern})\s*(?:[–—-]|to|until|till)\s*(?P<to>{TIME_OF_DAY.pattern})", re.I)
"""Opening hours, a shift: "12:00-15:00", "9am to 5pm"."""


def hours_asked(question: str, text: str) -> tuple[int, int] | None:
    """When a question asks when something closes (or opens) and ``text`` writes hours ("Friday and Saturday |
    12:00-15:00 | 17:00-23:00"), the last time they end (or the first they start): "23:00", not the lunch hours.
    None otherwise, or when it asks both."""
    closing, opening = _ASKS_CLOSING.search(question), _ASKS_OPENING.search(question)
    if bool(closing) == bool(opening):
        return None
    hours = list(_HOURS.finditer(text))
    if not hours:
        return None
    return hours[-1].span("to") if closing else hours[0].span("from")


_ASKS_NUMBERED = re.compile(r"\b(?:number|no\.|code|#)\s*(?P<n>\d{1,3})\b", re.I)
_NUMBERED_ITEM = re.compile(r"(?<![\w.,£$€#])(?P<n>\d{1,3})\s+(?P<name>[A-Z][^\W\d_]*(?:[ -][a-z]+)*)(?=\s*[,;.]|\s*$)")
"""An item of a numbered legend: "10 Mustard" of "allergen codes: 1 Gluten, 2 Crustaceans, … 10 Mustard, …"."""


def numbered_item(question: str, text: str) -> tuple[int, int] | None:
    """The name ``text``'s numbered legend gives the number the question asks about ("what's allergen number 10?":
    "Mustard" of "1 Gluten, 2 Crustaceans, … 10 Mustard, …"); None when it asks for no number or ``text`` is no
    legend (three numbered names at least)."""
    asked = _ASKS_NUMBERED.search(question)
    if asked is None:
        return None
    items = list(_NUMBERED_ITEM.finditer(text))
    named = [m for m in items if m["n"] == asked["n"]]
    return named[0].span("name") if len(items) >= 3 and len(named) == 1 else None


_NEW_LEAD = re.compile(r"\b(?:new|revised|updated|amended|changed|rescheduled|current)\b", re.I)
"""A lead-in that says what follows replaces what was: "Your new flight:"."""


def replaced_in_place(question: str, sentences: Sequence[Sentence]) -> list[bool]:
    """Whether each sentence stands under a lead-in or heading that says it was ("Your original flight:", "Old
    tariff") while one of ``sentences`` from its document stands under one that says it is ("Your new flight:"):
    a schedule change's old time is no answer to "What time is our flight to Lisbon?"; it is to a question about
    how things were ("What was the original departure time?")."""
    if _THEN.search(question):
        return [False] * len(sentences)

    def lead(sentence: Sentence) -> str:
        return sentence.previous if sentence.previous.rstrip().endswith(":") else sentence.section

    renewed = {s.source for s in sentences if _NEW_LEAD.search(lead(s))}
    return [s.source in renewed and bool(_THEN.search(lead(s))) for s in sentences]


_MOVED = re.compile(
    r"\b(?:moved|moving|moves|postponed|delayed|pushed\s+back|brought\s+forward|rescheduled|changed|extended|"
    r"deferred|shifted|put\s+back)\s+(?:to|until|till)\b",
    re.IGNORECASE,
)
"""What a sentence says when a date or a figure it names has changed: "thesis submission moved to 30 June"."""
_DAY_OF_MONTH = re.compile(
    rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{'|'.join(MONTHS)})\b|\b(?:{'|'.join(MONTHS)})\s+\d{{1,2}}(?:st|nd|rd|th)?\b"
)
"""A day of a month, as the date that a move leaves ("cancelled on us for Thursday 12 March, so … is moving to …")."""


_MONTH_TERMS = frozenset(tokenize(" ".join(MONTHS)))
"""The months as :func:`~rag.lexical.tokenize` writes them ("januari")."""


def moved_since(question: str, sentences: Sequence[Sentence]) -> list[bool]:
    """Whether each sentence states what a later sentence of its document says was moved or changed ("Planned
    thesis submission: 31 March 2026." of minutes whose next meeting says "thesis submission moved to 30 June
    2026"): no answer to "When do I plan to submit my thesis?", but to a question about how things were. The
    later sentence must write a word of the question the earlier one writes, and more than half of its words
    (figures and dates aside: "thesis" and "submission" of "Planned thesis submission: 31 March 2026").
    In another document, the sentence of the move must write the day it leaves, as the earlier sentence does: a
    head's e-mail "… cancelled on us for Thursday 12 March, so the Year 4 trip to Chedworth Roman Villa is moving to
    Thursday 19 March 2026." of the trip letter's "… visiting Chedworth Roman Villa on Thursday 12 March 2026."."""
    if _THEN.search(question):
        return [False] * len(sentences)
    asked = set(tokenize(question))
    moves = []
    for s in sentences:
        if (move := _MOVED.search(s.text)) is not None:
            left = {" ".join(day.lower().split()) for day in _DAY_OF_MONTH.findall(s.text, 0, move.start())}
            moves.append((s, set(tokenize(s.text)), left))
    if not moves:
        return [False] * len(sentences)
    out = []
    for s in sentences:
        mine = {w for w in tokenize(s.text) if not w.isdigit()} - _MONTH_TERMS
        days = {" ".join(day.lower().split()) for day in _DAY_OF_MONTH.findall(s.text)}
        out.append(
            any(
                mover is not s
                and mine & asked & words
                and (
                    (mover.source == s.source and mover.start > s.start and 2 * len(mine & words) > len(mine))
                    or bool(days & left)
                )
                for mover, words, left in moves
            )
        )
    return out


_WAS = re.compile(r"\(\s*(?:was|previously|formerly|before:?)\s+(?P<old>[^()]{1,30}?)\s*\)", re.IGNORECASE)
"""What a sentence writes after a figure that replaced another: "now kept for 24 hours (was 48 hours)"."""


def said_to_be_old(question: str, sentences: Sequence[Sentence]) -> list[bool]:
    """Whether each sentence states what another of ``sentences`` says it was before ("keys are kept for 48
    hours" of a changelog's 2.3.0, whose 2.3.1 says "Idempotency keys are now kept for 24 hours (was 48 hours)."):
    no answer, wherever it stands, but to a question about how things were. The other must write more than half
    of its words (figures aside)."""
    if _THEN.search(question):
        return [False] * len(sentences)
    olds = [(m["old"], set(tokenize(s.text)), s) for s in sentences for m in _WAS.finditer(s.text)]
    out = []
    for s in sentences:
        mine = {w for w in tokenize(s.text) if not w.isdigit()}
        out.append(
            any(
                other is not s
                and re.search(rf"(?<![\w.,]){re.escape(old)}(?![\w]|[.,]\d)", s.text) is not None
                and 2 * len(mine & words) > len(mine)
                for old, words, other in olds
            )
        )
    return out


_CONTACT_WORDS = frozenset(tokenize("email e-mail mail address phone telephone number call ring dial contact reach"))
"""Words a question for an e-mail address or a number to call asks with."""


def documents_named(question: str, sentences: Sequence[Sentence]) -> dict[str, set[str]]:
    """The words of ``question`` that the title or file name of each sentence's document writes, when not every
    document's does: "What does error E9 mean on the dishwasher?" names the dishwasher's quick guide (and not the
    boiler manual, whose fault table has an E9 too). Only for a question that names a code or asks for a number to
    call, whose answers every manual or policy has one of; of others, a word of a title is as often a topic ("What
    city did NATO bomb?" of an article "Oklahoma City": SQuAD train, 2,000 questions, evidence@1 -0.002)."""
    if not (CODE.search(question) or asks_for_a_contact(question)):
        return {}
    asked = set(tokenize(question)) - _CONTACT_WORDS  # "email" of "What is Marcus's email address?" names no e-mail
    named = {s.source: asked & set(tokenize(f"{s.title} {file_name_words(s.source)}")) for s in sentences}
    common = set.intersection(*named.values()) if named else set()
    named = {source: words - common for source, words in named.items()}
    # a word the other documents' sentences write too is a topic, not a document's name ("city" of "Oklahoma City")
    written = {w for s in sentences if not named[s.source] for w in tokenize(f"{s.text} {s.section} {s.previous}")}
    return {source: words - written for source, words in named.items()}


def of_another_document(sentence: Sentence, named: dict[str, set[str]]) -> bool:
    """Whether ``sentence`` is from a document the question does not name (:func:`documents_named`) while it
    names another, and does not itself write the words that name it ("Call Vireo Customer Care …" of the boiler
    manual, to "What number do I call to make an insurance claim?")."""
    wanted = set().union(*named.values()) if named else set()
    if not wanted or named.get(sentence.source):
        return False
    return not wanted & set(tokenize(f"{sentence.text} {sentence.section} {sentence.previous}"))


_ROLE_ASKED = re.compile(
    r"^\W*who(?:'s|\s+(?:is|are|was|were))\s+(?:the|our|my|your)\s+(?P<role>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)"
    r"(?=\s+(?:of|for|at|in|on)\b|\s*\?|\s*$)|^\W*who\s+(?P<does>[a-z]+s)\b",
    re.IGNORECASE,
)
"""A question for who holds a role: "Who is the secretary of the association?", "Who chairs the committee?"."""


_NAME_OF = re.compile(
    r"^\W*what(?:'s|\s+is|\s+was)\s+the\s+name\s+of\s+(?:the\s+|our\s+|my\s+|your\s+|[\w-]+['’]s\s+)"
    r"(?P<role>[a-z][\w-]*)\s*\??\s*$",
    re.IGNORECASE,
)
"""A question for the name of someone or something by its role: "What is the name of Priya's cat?"."""


_TITLED = re.compile(
    r"\b(?:Dr|Prof|Professor|Mr|Mrs|Ms|Miss|Sir|Dame)\.?\s+(?:[A-Z][\w-]+\s+)?(?P<surname>[A-Z][\w-]+)"
)
"""A person named with a title: "Dr Okafor", "Dr Helen Okafor", "Prof. Iyer"."""
_FULL_NAME = re.compile(r"\b[A-Z][a-z]+\s+[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
"""Two capitalised words: a person ("Marcus Lindqvist") or a named place ("Turing Building")."""


def about_another_person(question: str, sentence: Sentence) -> bool:
    """Whether ``sentence`` names someone (or something) else than the titled person the question asks about, and
    never that person (nor does the sentence before it or its heading): "Dr Okafor holds office hours on Tuesdays"
    or "Marcus Lindqvist runs a lab drop-in on Fridays" is no answer to "Where are Dr Iyer's office hours?"."""
    asked = {m["surname"] for m in _TITLED.finditer(question)}
    if not asked:
        return False
    around = set(re.findall(r"\w+", f"{sentence.text} {sentence.previous} {sentence.section}"))
    return not asked & around and bool(_TITLED.search(sentence.text) or _FULL_NAME.search(sentence.text))


_WHOSE_CONTACT = re.compile(
    r"(?P<whose>\w+)['’]s\s+(?:(?:work|home|mobile|cell|office|direct)\s+)?(?:(?:tele)?phone|mobile|number|e-?mail)",
    re.IGNORECASE,
)
"""Whose contact a question asks for: "Ines's phone number", "lucy's email"."""


def contact_of_another(question: str, sentence: Sentence) -> bool:
    """Whether the question asks for the phone number or e-mail address of someone (or something) that neither
    ``sentence`` nor what stands around it (the sentence before it, its heading, title and file name) writes:
    "Phone: +351 21 887 1290" of a restaurant's e-mail is no answer to "What's Ines's phone number?" (found by a
    travel folder, once "phone" and "telephone" were one word)."""
    match = _WHOSE_CONTACT.search(question)
    if match is None or not asks_for_a_contact(question):
        return False
    around = " ".join((sentence.text, sentence.previous, sentence.section, sentence.title))
    around += " " + file_name_words(sentence.source)
    return not re.search(rf"\b{re.escape(match['whose'])}", around, re.IGNORECASE)


def named_in_apposition(question: str, sentences: Sequence[Sentence], unfit: np.ndarray) -> int | None:
    """The one sentence (of ``sentences``, not ``unfit``) that names the role a question asks about right after it:
    "Our electrician, Callum Price, will need the power off …" for "Who is the electrician on the kitchen job?",
    "Could you feed our cat, Miso, …" for "What is the name of Priya's cat?". None when none or several do."""
    match = _ROLE_ASKED.match(question) or _NAME_OF.match(question)
    role = (match["role"] if match and match["role"] else "").split()
    if len(role) != 1:
        return None
    named = re.compile(rf"\b{re.escape(role[0])}s?,?\s+(?:[A-Z][\w'’.-]*\s+){{0,3}}[A-Z][\w'’-]+", re.IGNORECASE)
    found = [
        n for n, s in enumerate(sentences) if n < len(unfit) and not unfit[n] and _appositive(named, s.text, role[0])
    ]
    return found[0] if len(found) == 1 else None


def contact_of(question: str, sentences: Sequence[Sentence], unfit: np.ndarray) -> int | None:
    """For a question for an e-mail address or a number to call, the one read sentence (not ``unfit``: those
    without the contact asked are) that writes every other word of the question ("The teaching assistant is Marcus
    Lindqvist (m.lindqvist@…)" for "What is the teaching assistant's email address?"). None otherwise."""
    if not asks_for_a_contact(question):
        return None
    whose = set(tokenize(question)) - _CONTACT_WORDS
    if not whose:
        return None
    found = [
        n
        for n, s in enumerate(sentences)
        if n < len(unfit) and not unfit[n] and whose <= set(tokenize(f"{s.text} {s.previous} {s.section}"))
    ]
    return found[0] if len(found) == 1 else None


def _appositive(named: re.Pattern[str], text: str, role: str) -> bool:
    """Whether ``text`` writes a capitalised name right after the role (its first letter in any case)."""
    for m in named.finditer(text):
        after = text[m.start() + len(role) :].lstrip("s").lstrip(", ")
        if after[:1].isupper():
            return True
    return False


_FIELD_ASKED = re.compile(
    r"^\W*what(?:'s|\s+is|\s+was|\s+are)\s+(?:the|our|my|your)\s+(?P<named>(?:[a-z][\w-]*\s+){0,3}[a-z][\w-]*)"
    r"\s*\??\s*$|^\W*what\s+(?P<kind>(?:[a-z][\w-]*\s+){0,3}[a-z][\w-]*)\s+(?:is|was|are|were|does|do|did)\b",
    re.IGNORECASE,
)
"""A question for a form's field: "What is the account reference?", "What council tax band is the house in?"."""


_MODALS = frozenset("may might must shall".split())


_KEYWORDS = re.compile(
    r"\W*(?!(?:what|which|who|whom|whose|when|where|why|how)\b)[\w'’-]+(?:\s+[\w'’-]+){0,5}\W*", re.I
)
"""A question typed as a few words, as into a search box: "electric meter reading flat 2", "plumber number"."""


def field_asked(question: str) -> tuple[str, ...]:
    """The field a question asks for, stemmed ("council tax band" -> ("council", "tax", "band")), or ()."""
    match = _FIELD_ASKED.match(question)
    if match is None or (match["kind"] and set(match["kind"].lower().split()) & (STOPWORDS | _MODALS)):
        return ()  # "What can the lender do …?" asks for no field
    return tuple(tokenize(match["named"] or match["kind"]))


def labelled_field(
    question: str, sentences: Sequence[Sentence], unfit: np.ndarray, typed_as_words: bool = True
) -> int | None:
    """The one line (of ``sentences``; those past ``unfit`` were not read) that labels the field a question asks
    for: its label ends with the word the question's field ends with ("Valuation band: D" for "What council tax
    band is the house in?"), and of several, the one whose label's words the question all writes. None otherwise."""
    field = field_asked(question)
    phrase = typed_as_words and not field and _KEYWORDS.fullmatch(question) is not None
    phrase = phrase and not ASKS_YES_NO.match(question)
    if not field and not phrase:
        return None
    asked = set(tokenize(question))
    found: list[tuple[int, bool]] = []
    for n, s in enumerate(sentences):
        line = None if s.header or (n < len(unfit) and unfit[n]) else LABELLED.match(s.text)
        label = tuple(tokenize(line["label"])) if line and len(line["label"].split()) <= 4 else ()
        if label and field and label[-1] == field[-1]:
            found.append((n, set(label) <= asked))
        elif line and phrase and (named := set(_label_words(line["label"]))) <= asked and named:
            found.append((n, True))  # "electric meter reading flat 2": "Electricity meter (hall cupboard): 045812"
    strong = [n for n, whole in found if whole]
    if len(strong) == 1:
        return strong[0]
    return found[0][0] if len(found) == 1 else None


def labelled_alike(question: str, best: Sentence, candidates: Sequence[Sentence]) -> list[Sentence]:
    """When ``best`` labels its value ("INSET day: Friday 13 February 2026.") and the question asks for its label in
    the plural ("inset days this year?"), every line of its document among ``candidates`` with the same label (its
    words, a bracket aside: "INSET days (school closed to pupils): …"), in the document's order; [] for fewer than
    two."""
    line = LABELLED.match(best.text)
    label = _label_words(line["label"]) if line else ()
    if not label or not re.search(rf"\b{re.escape(label[-1][:4])}\w*s\b", question, re.IGNORECASE):
        return []
    if not set(label) <= set(tokenize(question)):
        return []
    alike = {
        (s.start, s.end): s for s in candidates if s.source == best.source and not s.header and _labelled_as(s, label)
    }
    return [alike[k] for k in sorted(alike)][:MAX_LISTED_ROWS] if len(alike) >= 2 else []


def _label_words(label: str) -> tuple[str, ...]:
    """A line's label as words, a bracket aside: "Electricity meter (hall cupboard)" -> ("electr", "meter")."""
    return tuple(tokenize(re.sub(r"\([^)]*\)", " ", label)))


def _labelled_as(sentence: Sentence, label: tuple[str, ...]) -> bool:
    line = LABELLED.match(sentence.text)
    return line is not None and _label_words(line["label"]) == label


def _value_of(sentence: Sentence) -> tuple[int, int] | None:
    line = LABELLED.match(sentence.text)
    return line.span("value") if line else None


def _cells_asked(question: str, row: Sentence) -> set[str]:
    """The first cell of a table ``row``, or its second of two words or more, that the folded ``question`` writes
    whole (not inside a longer word: "preferred brand" is not "non-preferred brand"), folded; not a number, a
    stop word or a word shorter than four letters."""
    found = set()
    for k, (start, end) in enumerate(cells_of(row.text)[:2]):
        cell = _fold(row.text[start:end].strip())
        words = re.findall(r"\w+", cell)
        if not words or any(c.isdigit() for c in cell) or (k == 1 and len(words) < 2):
            continue
        if len(words) == 1 and (len(cell) < 4 or cell in STOPWORDS):
            continue
        if re.search(rf"(?<![\w-]){re.escape(cell)}(?![\w-])", question):
            found.add(cell)
    return found


_GIVEN_NAME = re.compile(r"(?P<given>[A-Z][a-z]+)(?:\s+[A-Z][\w'’-]+){1,2}")
"""A person's name as a row's first cell: "Sofia Marin"; the question may call her "Sofia"."""


def named_cell(question: str, sentences: Sequence[Sentence]) -> int | None:
    """The one table row of ``sentences`` that the question names, by its first cell written whole or by a
    person's given name ("Sofia" of "Sofia Marin"), and one of whose columns it names too ("Friday" of "Fri 14"):
    the cell it asks for ("What shift is Sofia doing on Friday?" of a rota), however weak the sentence ranking's
    evidence for a row of times. Else the one row whose first two cells write a name the question writes that no
    other row does ("assam" of "LK-BLK-003 | Assam Halmari Gold | …" for "what's the tier c price for assam").
    None when no row, or more than one, is so named."""
    asked = _fold(question)
    words = {w for w in re.findall(r"\w+", asked) if len(w) > 3 and w not in STOPWORDS and not w.isdigit()}
    found, partly = [], []
    for n, s in enumerate(sentences):
        header = s.header.rpartition("\n")[2]
        cells = cells_of(s.text)
        if not header or not cells:
            continue
        if len(named_columns(header, question)) != 1 and contact_column(header, question) is None:
            continue  # ("plumber number" names no column, but asks for the Phone one)
        first = s.text[slice(*cells[0])].strip()
        person = _GIVEN_NAME.fullmatch(first)
        code = len(first) > 1 and any(c.isdigit() for c in first)  # "F1" of a fault code table
        whole = (len(first) > 3 or code) and re.search(rf"(?<![\w-]){re.escape(_fold(first))}(?![\w-])", asked)
        names = re.findall(r"\b[A-Z][\w'’-]*", _naming_cells(s.text))
        if whole or (person and re.search(rf"\b{person['given']}\b", question)):
            found.append(n)
        elif words & {_fold(name) for name in names}:  # a name ("Assam", "Alpiglen"), not "fault" of "Fan fault"
            partly.append(n)
    if not found and len(partly) == 1:
        return partly[0]
    return found[0] if len(found) == 1 else None


def _one_word(word: str, other: str) -> bool:
    """Whether two folded words are one word, or forms of one ("allergic" of "allergy", "playdough")."""
    if word == other:
        return True
    shared = next((k for k, (a, b) in enumerate(zip(word, other, strict=False)) if a != b), min(len(word), len(other)))
    return min(len(word), len(other)) >= 5 and shared >= max(5, min(len(word), len(other)) - 2)


_WHICH_ROW = re.compile(
    r"^\W*(?:who|which\s+(?:[\w-]+\s+)?[\w-]+)\s+(?:has|have|got|needs?|takes?|uses?|gets?|wears?)\b", re.IGNORECASE
)
"""A question for a row by what it says: "who has an EHCP", "which kid needs a yellow overlay" (not "Which dishwasher
programme is the quickest?", which compares rows)."""


def rows_saying(question: str, sentences: Sequence[Sentence], unfit: np.ndarray) -> list[tuple[int, tuple[int, int]]]:
    """The table rows of ``sentences`` (not ``unfit``) that say what the question asks of them in words the
    sentence ranking's evidence cannot bridge, each with its cell that says it: a row the question names by its first
    cell ("Ruby" of "Ruby Walsh") one of whose other cells writes a further word of the question ("what is ruby
    allergic to": "Egg allergy (mild); hay fever"; "can sofia use playdough": "… No playdough in class (contains
    wheat)."), or for "who has …" the one row whose cell writes it ("who has an EHCP": "EHCP - 1:1 support
    mornings", its row's first cell). A word of the header names a column, which is asked otherwise; a word
    written in more than one cell of a row is no answer (found by a teacher's folder, whose medical list and
    class list were refused to these questions at rank 1)."""
    folded = _fold(question)
    asked = {w for w in re.findall(r"\w+", folded) if len(w) > 3 and w not in STOPWORDS and not w.isdigit()}
    who = _WHICH_ROW.match(question) is not None
    found: list[tuple[int, tuple[int, int]]] = []
    for n, s in enumerate(sentences):
        cells = cells_of(s.text)
        header = s.header.rpartition("\n")[2]
        if not header or len(cells) < 3 or unfit[n]:
            continue
        first = s.text[slice(*cells[0])].strip()
        person = _GIVEN_NAME.fullmatch(first)
        key = set(re.findall(r"\w+", _fold(first if len(first.split()) > 1 else _naming_cells(s.text))))
        given = _fold(person["given"]) if person else first
        named = any(
            len(name) > 3 and re.search(rf"(?<![\w-]){re.escape(_fold(name))}(?![\w-])", folded)
            for name in (first, given)
        )
        if not (named or who):
            continue
        columns = set(re.findall(r"\w+", _fold(header)))
        further = {w for w in asked - key if not any(_one_word(w, c) for c in columns)}
        saying = [
            c
            for c in cells[1:]
            if further & {w for w in asked for v in re.findall(r"\w+", _fold(s.text[slice(*c)])) if _one_word(w, v)}
        ]
        if len(saying) == 1 and not (named and _fold(s.text[slice(*saying[0])].strip()) in key):
            found.append((n, cells[0] if who and not named else saying[0]))
    return found


def _naming_cells(row: str) -> str:
    """The first two cells of a table row, which name it ("LK-BLK-003 | Assam Halmari Gold")."""
    cells = cells_of(row)
    return row[cells[0][0] : cells[min(1, len(cells) - 1)][1]] if cells else ""


def _names_row(sentence: Sentence, row: Sentence, question: str) -> bool:
    """Whether ``sentence`` writes a word of the question that the first two cells of a table ``row`` write."""
    naming = set(tokenize(question)) & set(tokenize(_naming_cells(row.text)))
    return bool(naming & set(tokenize(sentence.text)))


def role_asked(question: str) -> tuple[str, ...]:
    """The role a question asks who holds, stemmed ("secretari"; "chair" of "Who chairs …?"), or ()."""
    match = _ROLE_ASKED.match(question)
    return tuple(tokenize(match["role"] or match["does"])) if match else ()


def keyed_record(
    names: Sequence[str],
    sentences: Sequence[Sentence],
    unfit: np.ndarray,
    pick: int | None = None,
    role: tuple[str, ...] = (),
    question: str = "",
) -> int | None:
    """The one record (of ``sentences``, not ``unfit``) keyed by a name the question names: a table row whose first
    cell is a code ("E01" of "| E01 | Water tank empty | Refill the tank … |"), or a labelled list item ("- London:
    GBP 210" for "What is the hotel limit in London?"): a record of the thing asked about, however
    unsure the reader is of the rest of the question's words. Only when nothing was picked, or the ``pick`` does
    not write that name (the list's lead-in "Hotel costs are reimbursed up to the following limits per night"),
    or the name is a code (a manual's "… and the display shows error E01." refers to the code's row); None when no
    record or more than one is so keyed. ``sentences`` past ``unfit`` (not read) count only when a code keys them.
    A ``role`` (:func:`role_asked`) keys a labelled item too: "- Secretary: Tom Lindqvist" for "Who is the
    secretary?"; and when the ``pick`` (else the best-ranked sentence) is a table row, the ``question`` keys
    another row of its table whose first cell it writes whole, or whose second of two words or more ("Tier 2 |
    Preferred brand | $40 |" for "What is the copay for a preferred brand drug?", not "Tier 3 | Non-preferred brand
    | …"; "atorvastatin | generic | …" for "What tier is atorvastatin?"), not a row of another table ("Travel
    insurance" of a budget's rows, for "Does my travel insurance cover lost luggage?")."""
    wanted = {_fold(name) for name in names if CODE.fullmatch(name) or name[:1].isupper()}
    asked = _fold(question)
    if (not wanted and not role and not asked) or not sentences:
        return None
    reference = sentences[0 if pick is None else pick]

    def keys(s: Sentence) -> set[str]:
        found = {key for key in _keys(s) if key in wanted or (role and tuple(tokenize(key)) == role)}
        if asked and s.header and s.header == reference.header:  # a row of the table of the pick, or of the best
            found |= _cells_asked(asked, s)
        line = None if found or not role or s.header else LABELLED.match(s.text)
        if line and tuple(tokenize(line["label"])) == role:  # "Host: Dr. Pieter de Vries, …" for "Who is my host?"
            found.add(_fold(line["label"]))
        return found

    keys_of = [keys(s) for s in sentences]
    keyed = [
        n
        for n, own in enumerate(keys_of)
        if own and (not unfit[n] if n < len(unfit) else any(CODE.fullmatch(key) for key in own))
    ]
    if len(keyed) != 1 or keyed[0] == pick:
        return None
    if pick is not None:
        said = _fold(f"{sentences[pick].text} {sentences[pick].previous}")
        named = [key for key in keys_of[keyed[0]] if not CODE.fullmatch(key)]
        if any(re.search(rf"(?<!\w){re.escape(key)}(?!\w)", said) for key in named):
            return None  # the pick writes the name too: the reader's choice stands
    return keyed[0]


def question_names(question: str) -> list[str]:
    """The names of ``question``: capitalised words after its first, and words with a digit ("Sweden", "Q3");
    runs of them as one ("World Cup")."""
    words: list[str] = []
    for start, end in sentence_spans(question):  # each sentence's first word is capitalised anyway
        sentence = question[start:end]
        last = -1  # where the previous name ended, to write "World Cup" as one name, not "World" and "Cup"
        for m in _QUESTION_NAME.finditer(sentence):
            word = _V_VERSION.sub("", re.sub(r"['’]s$", "", m.group()).rstrip(".,:'’"))
            if _AFTER_A_BREAK.search(sentence[: m.start()]) or not _is_name(word):
                continue
            if words and last >= 0 and not sentence[last : m.start()].strip() and not word[0].isdigit():
                words[-1] += " " + word
            else:
                words.append(word)
            last = m.end()
    return list(dict.fromkeys(words))


def _is_name(word: str) -> bool:
    """Whether a capitalised word or a number of a question may name something the passages should write: not
    "I", a month's abbreviation, an ordinal or a short acronym ("1st", "UK")."""
    return (
        len(word) > 1
        and word not in _NOT_NAMES
        and word.lower() not in ABBREVIATIONS
        and not _ORDINAL_OR_SHORT_ACRONYM.fullmatch(word)
    )


def _written(name: str, words: set[str], text: str) -> bool:
    """Whether the folded passages (``text``, its ``words``) hold ``name`` (folded): a number exactly as written
    ("1,500" is not in "1,000"; a version "3.0" is in "3.0.0"), a word as itself, its stem ("Americans":
    "america") or a near spelling (a typo: "Melborne" for "Melbourne")."""
    if any(c.isdigit() for c in name) and " " not in name:  # ("25 December": each of its words)
        zeros = r"(?:\.0)*" if re.fullmatch(r"\d+(?:\.\d+)+", name) else ""
        written = re.escape(name)
        if re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d{4,}", name):  # "1800" as "1,800" or "1 800", and "2,000" as "2000"
            digits = _plain(name)
            groups = [digits[max(0, i - 3) : i] for i in range(len(digits), 0, -3)][::-1]
            written = "[,.\u202f\u2009 ’']?".join(groups)
        before = r"(?:(?<![\w.,:])|(?<=(?<![\w.])v))" if zeros else r"(?<![\w.,:])"  # "2.4.0" as "v2.4.0" too
        return re.search(rf"{before}{written}{zeros}(?![\w]|[.,:]\d)", text) is not None
    if name.capitalize() in MONTHS:  # "February" as "Feb 18" or "2025-02-18"
        return month_written(name.capitalize(), re.I).search(text) is not None
    holiday = HOLIDAYS.get(holiday_key(name))
    if holiday is not None:  # "Boxing Day" as "26 December"
        date, month = holiday.split()
        day_month = rf"\b{date}(?:st|nd|rd|th)?(?:\s*(?:and|&|[-–])\s*\d{{1,2}})?\s+{month[:3]}"  # "25 and 26 December"
        return re.search(rf"{day_month}|\b{month[:3]}[a-z]*\s+{date}\b", text, re.I) is not None
    if name.capitalize() in WEEKDAYS:  # "Friday" as "Fri 14" (a rota's column)
        day = name.lower()
        return any(day.startswith(w) or w == f"{day}s" for w in re.findall(rf"(?<!\w){day[:3]}\w*", text))
    parts = re.findall(r"\w+", name)
    if len(parts) != 1:
        return all(_written(p, words, text) for p in parts)
    if _IDENTIFIER.fullmatch(name):  # "min_pool_size" is no spelling of "max_pool_size"
        return name in words
    stem = name[: max(4, len(name) - 3)]
    if any(w.startswith(stem) for w in words):
        return True
    return bool(difflib.get_close_matches(name, [w for w in words if abs(len(w) - len(name)) <= 2], n=1, cutoff=0.8))


class ExtractiveAnswerer:
    """Answers with the retrieved sentences that best match the question, quoted verbatim.

    Sentences are ordered by the ranking head of :class:`~rag.evidence.EvidenceScorer` (fitted on SQuAD train,
    see :mod:`rag.evidence`). With a span ``reader`` (:mod:`rag.reader`), the reader reads the best-ranked ones
    and :func:`decide` chooses the answer's sentence and whether to answer at all (:func:`answer_confidence`
    against ``min_evidence``: nothing else overrides its refusal but a question that only names something,
    named by the best sentence); without one, the answer is refused when the best sentence's evidence score
    (0..1, the evidence head) is below ``min_evidence``. The key phrase of each quoted sentence is marked by
    :func:`~rag.phrases.key_phrase`; in the first quote (the answer) from the reader's reading.
    """

    def __init__(
        self,
        embedder: Embedder,
        min_evidence: float = MIN_EVIDENCE,
        max_quotes: int = 3,
        page_at: Callable[[str, int], int | None] | None = None,
        idf: IdfLookup | None = None,
        reader: SpanReader | None = None,
        excerpt: Callable[[str, int, int], str] | None = None,
    ) -> None:
        self.embedder = embedder
        self.reader = reader
        self.min_evidence = min_evidence
        self.max_quotes = max_quotes
        self.page_at = page_at or (lambda source, offset: None)
        self.scorer = EvidenceScorer(embedder, idf, excerpt=excerpt)
        self.excerpt = excerpt

    def score(
        self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray
    ) -> list[tuple[float, Sentence]]:
        """Every candidate sentence with its evidence score (0..1), most likely answer first."""
        return [(evidence, s) for _, evidence, s in self.scorer.score(question, query, passages, query_vector)]

    def covers(self, scored: Sequence[tuple[float, Sentence]], question: str = "") -> bool:
        """Whether the best-ranked sentence's evidence is strong enough to answer (else: refuse), or it names
        what a question that only names something asks about (:meth:`names_what_is_asked`). The gate of the
        generative answerer, and of this one without a reader."""
        if not scored:
            return False
        return scored[0][0] >= self.min_evidence or self.names_what_is_asked(scored, question)

    @staticmethod
    def names_what_is_asked(scored: Sequence[tuple[float, Sentence]], question: str) -> bool:
        """Whether ``question`` only names something ("Who is Kubilius?", "What is SAFE?") and the best-ranked
        sentence writes every name exactly: such short questions embed far from any sentence, so the evidence
        head (fitted on SQuAD's longer questions) scores them low, yet the sentence is what the user asked for."""
        match = _NAME_QUESTION.match(question)
        if match is None or not scored:
            return False
        return set(_NAME_WORD.findall(match["name"])) <= set(_NAME_WORD.findall(scored[0][1].text))

    def run(self, question: str, query: str, passages: Sequence[Passage], query_vector: np.ndarray) -> Answer:
        ranked = self.scorer.score(question, query, passages, query_vector)
        # A month, a version or a code the question names, written around some of the sentences (their sentence
        # before, heading or title): the others are of another meeting, report, release or record ("the June board
        # meeting" of two sets of minutes, "What was removed in Tally 3.0.0?" of release notes, "E04" of a table);
        # when none of the best-ranked writes it, those that do are read first ("What was fixed in 3.2.1?" of a
        # changelog's "## [3.2.1] - 2025-03-04 › Fixed", below a table of supported versions "3.2.x")
        marks = marks_named(question)
        writes = (
            [
                all(m.search(f"{s.source} {s.title} {s.section} {s.previous} {s.text}") for m in marks)
                for _, _, s in ranked
            ]
            if marks
            else [True] * len(ranked)
        )
        if marks and not any(writes[:READER_CHOICE]) and any(writes):
            order = sorted(range(len(ranked)), key=lambda n: not writes[n])
            ranked, writes = [ranked[n] for n in order], [writes[n] for n in order]
        scored = [(evidence, s) for _, evidence, s in ranked]
        if not ranked:
            return self.refusal(question, query, scored, why="nothing was retrieved")
        unknown = unmentioned_names(question, passages)
        dated = any(_A_YEAR.fullmatch(name) or MONTH.fullmatch(name) for name in unknown)
        if dated and question_type(question) in ("quantity", "other"):
            return self.refusal(question, query, scored, unknown, "a date it names is never written")  # "What about
            # 2021?" of reports of 2022-2024
        if any(_A_VERSION.fullmatch(name) or CODE.fullmatch(name) or _IDENTIFIER.fullmatch(name) for name in unknown):
            why = "a version or a code it names is never written"
            return self.refusal(question, query, scored, unknown, why)  # "What was fixed in 3.5?" of notes up to 3.2;
            # "What does fault code F5 mean?" of a manual that lists F1 to F4
        if question_type(question) == "person" and any(len(name.split()) > 1 for name in unknown):
            why = "the person it names is never written"
            return self.refusal(question, query, scored, unknown, why)  # "Who is the Chief Financial Officer?": no CEO
        # The reader (~6 ms per sentence with its context) reads the best-ranked sentences when one of them
        # might answer; the answer is the one ranked best once the reader's confidence is counted in.
        top = ranked[: READER_CHOICE if self.reader else 1]
        rank, evidence = np.asarray([r for r, _, _ in top]), np.asarray([e for _, e, _ in top])
        readings: list[TokenScores | None] = []
        if self.reader and evidence.max() >= READ_SHARE * self.min_evidence:
            readings = self._read(question, [s for _, _, s in top])
        # A sentence the reader could not read (no reader, or no tokens left) has no margin: -inf, not "surely
        # no answer"; with none read, decide() falls back to the evidence threshold.
        margins = np.asarray([x.margin if x else -np.inf for x in readings] or [-np.inf] * len(top))
        # A sentence of the wrong kind is no answer, however sure the reader is: a salary to "How many people …?",
        # a name to "What is the fleet manager's email address?", 2025's revenue to "What was revenue in 2024?"
        # (no readings: none of the first and last kind is known)
        names = question_names(question)
        # a table row about another thing than the question names ("| E05 | … |" to "What does error E04 mean?")
        # is no answer when a row about it is there; with none, the answer is refused below if it is such a row
        another = [row_is_about_another(names, s, passages) for _, _, s in top]
        about_it = any(s.header and not other for (_, _, s), other in zip(top, another, strict=True))
        named_documents = documents_named(question, [s for _, _, s in top])
        outdated = superseded(question, [s for _, _, s in top], self.excerpt)
        unfit = np.asarray(
            [
                (about_it and other)
                or s.source in outdated
                or about_another_person(question, s)
                or contact_of_another(question, s)
                or of_another_document(s, named_documents)
                or money_for_a_count(question, s.text, x)
                or date_for_a_count(question, s.text, x)
                or lacks_the_contact_asked(question, s.text)
                or about_another_year(question, s.text, x, s.section, s.title)
                or about_another_measure(question, s.text)
                or about_another_day(question, s.text)
                or about_another_numbered(question, s.text)
                or about_another_subject(question, s.text, x, s.previous, s.section, s.title)
                or lacks_the_figure(question, s.text, x)
                or (not s.header and another_kind_of_money(question, s.text, x))  # (a row's column is asked below)
                or about_sending(question, s.text)
                for (_, _, s), x, other in itertools.zip_longest(top, readings, another)
            ],
            dtype=bool,
        )
        unfit |= np.asarray(replaced_in_place(question, [s for _, _, s in top]), dtype=bool)
        unfit |= np.asarray(moved_since(question, [s for _, _, s in top]), dtype=bool)
        unfit |= np.asarray(said_to_be_old(question, [s for _, _, s in top]), dtype=bool)
        # a code block answers how to do something or a question for a command, not "What license …?"; its
        # lead-in, quoted with it, answers what it says ("Where is the official image published?")
        if not asks_for_code(question):
            unfit |= np.asarray([bool(FENCE.match(s.text)) for _, _, s in top], dtype=bool)
        # "What time is our flight?": a sentence with a time of day, when one is read, not "by 20 May 2026"
        if _ASKS_CLOCK.match(question):
            clocked = np.asarray([bool(TIME_OF_DAY.search(s.text)) for _, _, s in top], dtype=bool)
            if (clocked & ~unfit).any():
                unfit |= ~clocked
        # "What does Grace Liu have to do?": her row of the minutes' actions, when one is read, not her budget line
        tasks = [task_of(question, s.text, s.header.rpartition("\n")[2]) for _, _, s in top]
        if any(tasks):
            unfit |= np.asarray([task is None for task in tasks], dtype=bool)
        # "How do I reset the router?": in the section that answers, what to do ("…, press and hold the RESET button
        # …"), not what follows from it ("The router restarts with factory settings")
        unfit |= not_what_to_do(question, [s for _, _, s in top])
        if marks and any(writes[: len(top)]):  # (see the marks above)
            unfit |= ~np.asarray(writes[: len(top)], dtype=bool)
        if unfit.any():
            if unfit.all():
                why = "every sentence read is of another year, measure, document, subject or version"
                return self.refusal(question, query, scored, unknown, why)
            rank = np.where(unfit, -np.inf, rank)
        pick = decide(rank, evidence, margins, self.min_evidence)
        if pick is None and self.names_what_is_asked(scored, query):
            pick = 0  # a question that only names something, named exactly by the best-ranked sentence
        # "What should I do if the display shows E01?": the row of the code E01 is its record; "What is the hotel
        # limit in London?": "- London: GBP 210", not the list's lead-in
        # (a code's record, or a form's field, is looked for among twice the sentences read)
        further = [s for _, _, s in ranked[: 2 * len(top)]]
        keyed = keyed_record(names, further, unfit, pick, role_asked(question), query)  # (a follow-up: with its turns)
        if keyed is not None and pick is not None and self._line_goes_on(further[keyed], further[pick]):
            keyed = None  # "TEAWARE20   20% off teaware. Expires 30/06/2025.": the code's line, its later sentence
        pick = pick if keyed is None else keyed
        # "What shift is Sofia doing on Friday?": the rota's row of Sofia Marin, its "Fri 14" cell; "what's the tier c
        # price for assam": the price list's row of Assam, not "Tier C: 50 kg and over", which does not name it (nor
        # does a row of another table: "What is the grazing level at Alpiglen?" of a paper's "Intensive | 8 | …")
        cell = named_cell(question, [s for _, _, s in ranked])
        if cell is not None and (pick is None or not _names_row(ranked[pick][2], ranked[cell][2], question)):
            pick = cell
        if pick is None:  # "Who is the electrician?" of "Our electrician, Callum Price, will need …"
            pick = named_in_apposition(question, [s for _, _, s in top], unfit)
        if pick is None:  # "What is the teaching assistant's email address?" of "The teaching assistant is … (m.l…@…)"
            pick = contact_of(question, [s for _, _, s in top], unfit)
        # (a question typed as a few words names a labelled line loosely: not over a table row, as "washing machine
        # repair guy" does the repairs log's row, not "Washing machine: Hotpoint 8kg")
        field = labelled_field(question, further, unfit, typed_as_words=pick is None or not ranked[pick][2].header)
        pick = pick if field is None else field  # "What council tax band is the house in?": "Valuation band: D"
        if pick is not None and pick >= len(readings) and readings and self.reader:  # a record not read yet: read
            readings = [*readings, *[None] * (pick - len(readings)), *self._read(question, [ranked[pick][2]])]
        # "Who attended the board meeting?": the minutes' "Present: …" line, of the month asked if it names one, and
        # of the answer's document when there is an answer ("Who attended the training?" may be answered elsewhere)
        named = [
            i
            for i, (_, _, s) in enumerate(ranked)
            if writes[i] and (pick is None or s.source == ranked[pick][2].source)
        ]
        line = roll_call(question, [ranked[i][2].text for i in named])
        if line is not None:
            pick = named[line]
        # "Which workshop has the lowest hourly rate?": the best-ranked row's table answers it; "Which children have
        # SEN?": the table of a row among the first three (a line about SEN may rank above the class list)
        extremes = rows_asked(question, ranked[0][2], self.excerpt) if pick is None else None
        row = next((i for i, (_, _, s) in enumerate(ranked[1:3], start=1) if s.header), None)
        if extremes:
            pick = 0
        elif pick is None and row is not None and (extremes := rows_where(question, ranked[row][2], self.excerpt)):
            pick = row
        elif pick is None:  # "allergens in the tiramisu?": the row it names of a chart of marks
            charted = (i for i, (_, _, s) in enumerate(ranked) if marked_columns(question, s, self.excerpt) is not None)
            pick = next(charted, None)
        # "how much is a diavola?": the menu's line that starts with it, its price (not "Pollo alla diavola … £21.00")
        priced = None if extremes else priced_line(question, [s.text for _, _, s in top])
        if priced is not None and not unfit[priced[0]]:
            pick = priced[0]
        # "what is ruby allergic to": Ruby's row, its "Egg allergy (mild); hay fever" cell, when nothing else is
        # picked; and of the row picked, the cell that says what is asked ("does oliver have diabetes": "Type 1
        # diabetes", not the reader's "glucose tablets and snacks" of his Medication cell)
        saying = rows_saying(question, [s for _, _, s in top], unfit)
        pick = saying[0][0] if pick is None and len(saying) == 1 else pick  # (one row, or which is it?)
        settled = next((x for x in (*saying, priced) if x is not None and x[0] == pick), None)  # (its cell or amount)
        if pick is None and _LIST.search(question):  # "what do kids need to bring on the trip?": the list that its
            # lead-in ("What to bring") and the letter name, though no one item answers it
            lists = (
                i for i, (_, _, s) in enumerate(top) if not unfit[i] and listed_items(question, s, self.excerpt).items
            )
            pick = next(lists, None)
        if pick is None:
            why = f"too weak: best evidence {evidence.max():.2f}, {self.min_evidence:.2f} needed, or the reader unsure"
            return self.refusal(question, query, scored, unknown, why)
        if row_is_about_another(names, ranked[pick][2], passages):
            why = "the table holds no row about what is asked"
            return self.refusal(question, query, scored, unknown, why)
        read = {id(s): x for (_, _, s), x in zip(ranked, readings, strict=False)}
        qtype = question_type(question)
        scored.insert(0, scored.pop(pick))
        best_score, best = scored[0]
        total = total_row(question, best, self.excerpt) or amount_due(question, best, self.excerpt)
        if total is not None:  # "What is the total budget for Q3?": the Total row's Q3 cell, not a cost line's
            best = total
            scored = [(best_score, best)] + [
                (s, c) for s, c in scored[1:] if (c.source, c.start) != (best.source, best.start)
            ]
        totals = is_total(best) and bool(_TOTAL_WORD.search(question))
        # Further quotes only when nearly as strong and, when the answer has a key phrase, when they write it
        # too: a sentence that states something else ("Portugal | 60 EUR" under "Norway | 95 EUR") is no
        # support for this answer; it is offered as related instead.
        floor = max(self.min_evidence, best_score - 0.05)
        considered = [(best_score, best)] + [
            (s, c) for s, c in scored[1 : 3 * self.max_quotes] if s >= floor and c.source not in outdated
        ]  # (a replaced document's sentence supports no answer: "UK orders over £35 …" of the 2024 rate card)
        first_span = key_phrase(best.text, question, qtype, read.get(id(best)))
        header = best.header.rpartition("\n")[2]
        column = None
        if best.header:  # of a Total row, "total" names the row: the column is the other one named, else Total's
            column = asked_column(best.text, header, _TOTAL_WORD.sub(" ", question) if totals else question)
            column = column or (_cell_named(best.text, header, "total") if totals else None)
        if settled is not None and best is ranked[settled[0]][2]:  # its cell that says it, or the price on its line
            column = column or settled[1]
        if best.header:
            column = column or usual_column(best.text, header, question, first_span)  # in-network, unless asked
        task = task_of(question, best.text, header)  # "Write the test plan for the public beta", all of it
        first_span = task or first_span
        if offered_choice(best.text, question):
            column = None  # "Was it actual or estimated?": the one it writes, not the Reading column
        if column and not (first_span and column[0] <= first_span[0] and first_span[1] <= column[1]):
            first_span = column  # "What is the minimum term for cold storage?": the Minimum term cell, not the price
        within = column or (0, len(best.text))  # "What time does Canal Street shut on a Friday?": "23:00"
        hours = hours_asked(question, best.text[slice(*within)])
        first_span = (within[0] + hours[0], within[0] + hours[1]) if hours else first_span
        first_span = numbered_item(question, best.text) or first_span  # "what's allergen number 10?": "Mustard"
        if first_span and best.header and " | " in best.text[first_span[0] : first_span[1]]:
            one = next((c for c in cells_of(best.text) if c[0] <= first_span[0] < c[1]), None)
            first_span = one if one and one[0] < one[1] else None  # one cell's, not "Lime | Foxes"
        first_span = bold_whole(best.text, first_span) if first_span else None
        phrase = unbolded(best.text[first_span[0] : first_span[1]]) if first_span else None
        chosen: list[tuple[float, Sentence, tuple[int, int] | None]] = [(best_score, best, first_span)]
        block = code_after(best, self.excerpt)
        if block is not None:  # "On macOS with Homebrew:": and the command it leads into
            chosen.append((best_score, block, None))
        lead = lead_in_of(best, self.excerpt)
        if lead is not None:  # a command, after what it is for
            chosen.insert(0, (best_score, lead, None))
        others: list[tuple[float, Sentence]] = []
        for score, candidate in considered[1:]:
            if len(chosen) >= self.max_quotes:
                break
            if phrase is None:
                chosen.append((score, candidate, key_phrase(candidate.text, question, qtype, None)))
                continue
            found = phrase_in(phrase, candidate.text)
            if found:
                chosen.append((score, candidate, found))
            elif len(others) < 2:
                others.append((score, candidate))
        if extremes is None:  # (read above only when the reader was unsure, of the same row)
            extremes = rows_asked(question, best, self.excerpt)
        if extremes:  # "Which month had the highest price?": the table's own figures decide, not the reader
            evidence_of = {(c.source, c.start): s for s, c in scored}
            chosen = [(evidence_of.get((r.source, r.start), best_score), r, span) for r, span in extremes]
            best, first_span = extremes[0]
            phrase = unbolded(best.text[first_span[0] : first_span[1]])
            quoted = {(r.source, r.start) for r, _ in extremes}
            others = [(s, c) for s, c in others if (c.source, c.start) not in quoted]
        listed = listed_rows(question, best, self.excerpt) if not extremes else ListedRows([])
        rows = listed.rows
        if rows:  # "What are the open positions?" of a table: its rows in its order, not one
            evidence_of = {(c.source, c.start): s for s, c in scored}
            chosen = [
                (best_score, r, first_span)
                if r is best
                else (evidence_of.get((r.source, r.start), 0.0), r, _cell_like(best, first_span, r))
                for r in rows
            ]
            listed_at = {(r.source, r.start) for r in listed.rows}
            others = [(s, c) for s, c in others if (c.source, c.start) not in listed_at]
        items = ListedItems([])
        if not (rows or extremes):
            # the best sentence's list, else the list under a heading the question names ("What ingredients are in
            # the dal?" when the best sentence is a tip on the dal: the list under "Red Lentil Dal › Ingredients"),
            # or for a question for steps, the list of any sentence read
            steps = bool(STEPS.search(question))  # "How do I make the dal?": the steps under its name
            asked = set(tokenize(question))
            headed = [
                s
                for i, (_, _, s) in enumerate(top)
                if s is not best
                and not unfit[i]  # (of the release asked)
                and (steps or names_its_heading(asked, s))
            ]
            for candidate in [best, *headed]:
                items = listed_items(question, candidate, self.excerpt)
                if items.items:
                    best = candidate
                    break
        if items.items:  # "How do I descale the machine?": the steps, in order; "What ingredients …?": the list
            evidence_of = {(c.source, c.start): s for s, c in scored}
            chosen = [(evidence_of.get((i.source, i.start), best_score), i, None) for i in items.items]
            at = {(i.source, i.start) for i in items.items}
            others = [(s, c) for s, c in others if (c.source, c.start) not in at and c is not best]
            rows, phrase = items.items, None  # the items, each whole: no one phrase of them is the answer
        alike = [] if rows or extremes or items.items else labelled_alike(question, best, [c for _, c in scored])
        if alike:  # "inset days this year?": each "INSET day: …" line, its value marked
            evidence_of = {(c.source, c.start): s for s, c in scored}
            chosen = [(evidence_of.get((s.source, s.start), best_score), s, _value_of(s)) for s in alike]
            at = {(s.source, s.start) for s in alike}
            others = [(sc, c) for sc, c in others if (c.source, c.start) not in at]
            rows, phrase = alike, None
        chart = None if rows or extremes or items.items else marked_columns(question, best, self.excerpt)
        if chart is not None:  # "allergens in the tiramisu?": the columns its row marks, by their names
            key = cells_of(best.text)[0]
            if chart.marked:
                marked = ", ".join(header[a:b] for a, b in chart.marked)
                said = f"**{marked}** (marked in its row [1])"
            else:  # "Does the tiramisu contain nuts?" of a blank cell
                marked = "not marked"
                said = f"**not marked** for {', '.join(header[a:b] for a, b in chart.asked)} in its row [1]"
            text = f"{best.text[slice(*key)]}: {said}"
            related = [self._quote(c, s, None) for s, c in others]
            return Answer(question, text, True, [self._quote(best, best_score, key)], related, marked, query)
        quotes = [self._quote(c, s, span) for s, c, span in chosen]
        itemised = bool(rows) or len(extremes) > 1  # a list of rows, or rows tied for the highest: one item each
        parts: list[str] = []
        for n, (_, candidate, span) in enumerate(chosen, start=1):
            if parts and candidate.text == chosen[n - 2][1].text:  # the same sentence in another document
                parts[-1] += f"[{n}]"
                continue
            text = candidate.text
            if span and (n == 1 or itemised):  # one answer in bold (further quotes write it: highlighted there),
                text = emphasised(text, span)  # or each item listed
            if FENCE.search(text):  # a code block stands on lines of its own, or Markdown shows it as text
                text = f"\n\n{text}\n\n" if FENCE.match(text) else f"{text}\n\n"
            parts.append(f"{text} [{n}]".replace("\n\n [", "\n\n["))
        related = [self._quote(c, s, None) for s, c in others]
        notes: list[str] = []
        if unknown:  # most likely an answer about something else ("Norway | 95 EUR" asked about Sweden): say so
            notes.append(f"Note: the passages found never mention {_listed(unknown)}; the closest answer:")
        # (rows of a table are records of different things, however alike: never a disagreement)
        disagreeing = next(
            (
                c
                for _, c in others
                if c.source != best.source and not (best.header or c.header) and contradicts(best.text, c.text)
            ),
            None,
        )
        if disagreeing is not None:  # two versions of one document, or two documents, give different figures
            said = f'Note: the documents disagree: {disagreeing.source} says "{disagreeing.text.strip()}"'
            notes.append(f"{said}; {best.source} says:")
        if listed.left_out:
            parts.append(f"… and {listed.left_out} more rows of this table in {best.source}")
        if items.left_out:
            parts.append(f"… and {items.left_out} more items of this list in {best.source}")
        bullets = [f"{n}." if items.numbered else "-" for n in range(1, len(parts) + 1)]
        lines = [f"{bullet} {part}" for bullet, part in zip(bullets, parts, strict=True)]
        text = " ".join(notes + parts) if not itemised else "\n".join([" ".join(notes), *lines])
        return Answer(question, text.strip(), True, quotes, related, phrase, query)

    def _line_goes_on(self, first: Sentence, later: Sentence) -> bool:
        """Whether ``later`` is a further sentence of the line ``first`` opens (no line break between them)."""
        if self.excerpt is None or first.source != later.source or not first.end <= later.start < first.end + 200:
            return False
        return "\n" not in self.excerpt(first.source, first.end, later.start)

    def _read(self, question: str, sentences: Sequence[Sentence]) -> list[TokenScores | None]:
        assert self.reader is not None
        return read_sentences(self.reader, question, sentences)

    def refusal(
        self,
        question: str,
        query: str,
        scored: Sequence[tuple[float, Sentence]],
        unknown: Sequence[str] = (),
        why: str = "",
    ) -> Answer:
        """The 'documents do not say' answer; the two closest sentences are offered as related, not as support.
        ``unknown``: names of the question that the documents do not write (said in the text); ``why``: the reason,
        logged at DEBUG level (``rag ask -v`` shows it)."""
        logger.debug("refused %r: %s", question, why or "no sentence answers it")
        floor = 0.75 * self.min_evidence
        closest = [item for item in sorted(scored, key=lambda item: -item[0])[:2] if item[0] >= floor]
        # the best-ranked sentences that write half the words searched (two at least) are close too, however weak
        # their evidence (a paraphrase the heads cannot bridge: "Who is my host at Wageningen?" of "Host: Dr. …")
        asked = set(tokenize_cased(query))
        for item in scored[:RELATED_RANKED]:
            if len(closest) < 2 and item not in closest:
                shared = asked & set(tokenize_cased(f"{item[1].header} {item[1].text}"))
                if len(shared) >= max(2, len(asked) / 2):
                    closest.append(item)
        related = [self._quote(c, s, None) for s, c in closest]
        text = NOT_COVERED.format(question=question.strip())
        if unknown:
            text += f" (the passages found never mention {_listed(unknown)})"
        return Answer(question, text, False, [], related, None, query)

    def _quote(self, candidate: Sentence, score: float, span: tuple[int, int] | None) -> Quote:
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
            section=candidate.section,
            columns=candidate.header.rpartition("\n")[2] if candidate.header else "",
        )
