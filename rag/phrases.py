"""The key phrase: which words of an evidence sentence answer the question.

Candidates are the runs of words the question does not contain, cut at punctuation and trimmed of function
words; each is described by a few features (distance to the words the question shares with the sentence,
length, capitals, digits, the word before it, whether it is an entity of the asked-for kind) and scored by a
logistic model whose weights (``phrase_weights.json``, a few dozen numbers) are fitted on SQuAD *train* by
``benchmarks/train_phrases.py``. When the span reader (:mod:`rag.reader`) has read the sentence with the
question, its own best span is the key phrase instead (held-out train, gold sentence given: F1 0.416 for the
hand-made features, 0.728 for the reader). Pure numpy at answer time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.chunking import FENCE
from rag.lexical import STOPWORDS, stem_words, tokenize, tokenize_cased
from rag.reader import TokenScores, cells_of

WEIGHTS_FILE = Path(__file__).with_name("phrase_weights.json")

_QTYPES: list[tuple[str, re.Pattern[str]]] = [
    (
        "quantity",
        re.compile(
            r"\bhow (much|many|large|big|high|long|old|far|often)\b|\bwhat (amount|percentage|"
            r"share|number|sum|proportion)\b|\bhow much money\b",
            re.I,
        ),
    ),
    ("date", re.compile(r"\bwhen\b|\b(what|which) (year|date|day|month|time|century|decade)\b", re.I)),
    ("person", re.compile(r"\bwho(m|se)?\b|\b(what|which) (person|man|woman|official|minister|leader)\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\b(what|which) (country|city|place|region|town|state|continent)\b", re.I)),
]
QTYPES = ("quantity", "date", "person", "place", "other")

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan\\.|Feb\\.|Mar\\.|Apr\\.|Jun\\.|Jul\\.|Aug\\.|Sep\\.|Sept\\.|Oct\\.|Nov\\.|Dec\\."
)
_CURRENCY_WORDS = r"euros?|dollars?|pounds?|EUR|USD|GBP|CHF|JPY"
_SCALE_WORDS = r"billion|million|trillion|thousand|bn"
_APPROXIMATELY = r"(?:(?:up to|about|around|approximately|over|more than|some|nearly|almost)\s)?"
""""up to " of "up to €140 billion": part of the amount."""
_SCALE = r"(?:\s?(?:" + _SCALE_WORDS + r"|hundred|percent|per cent)\b|\s?%)?"
_UNITS = (
    r"(?:" + _CURRENCY_WORDS + r"|people|troops|soldiers|members|countries|flights|years|months|weeks|days|hours|"
    r"minutes|seconds|percent|kilometres|kilometers|km|metres|meters|miles|feet|tonnes|tons|kilograms|kg)\b"
)
_TIME_UNITS = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?)\b"
_UNIT = r"(?:\s" + _UNITS + r"(?:,?\s(?:and\s)?\d[\d,.]*\s" + _TIME_UNITS + r")*)?"
"""A unit after a number, and the further parts of a compound duration: "24 hours and 37 minutes" (not a list:
"5 people and 20 soldiers" are two amounts)."""
ENTITY_PATTERNS = {
    "quantity": re.compile(
        _APPROXIMATELY + r"(?:[€$£¥]\s?\d[\d,.]*" + _SCALE + r"(?:\s\([^)]{1,30}\))?"
        r"|\b\d[\d,.]*" + _SCALE + _UNIT + r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
        r"twelve|fifteen|twenty|thirty|forty|fifty|hundred|dozens|hundreds|thousands|millions)\b(?:\s\w+)?)",
        re.I,
    ),
    "date": re.compile(
        r"\b(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?\s)?(?:(?:" + _MONTHS + r")\s\d{1,2}"
        r"(?:,\s\d{4})?|\d{1,2}\s(?:" + _MONTHS + r")(?:\s\d{4})?|(?:" + _MONTHS + r")(?:\s\d{4})?|"
        r"(?:in\s)?\d{4}s?|(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)|"
        r"(?:last|next|this)\s(?:week|month|year)|yesterday|today|tomorrow|"
        r"\d{1,2}:\d{2}(?:\s?[ap]\.?m\.?)?|\d{1,2}\s?[ap]\.?m\.?|noon|midnight)\b"
    ),
    "person": re.compile(r"\b[A-Z][\w’'-]+(?:\s(?:[A-Z][\w’'.-]+|de|van|von|al|bin))*\b"),
    "place": re.compile(r"\b[A-Z][\w’'-]+(?:\s(?:[A-Z][\w’'-]+|of|de))*\b"),
}
ENTITY_PATTERNS["other"] = ENTITY_PATTERNS["person"]

_TOKEN = re.compile(r"[\w€$£%]+(?:[-’'.,][\w]+|(?<=\d):\d+)*")
"""A word; "22:00", "U.S." and "1,200" are one."""
_BREAK = re.compile(r"[,;:()\[\]“”\"–—]|\s-\s")
_COPULA = frozenset("is are was were be been being called named known as became become".split())
_PREPOSITIONS = frozenset("of in on at by for from with to into during since until about than as".split())
MAX_WORDS = 10
_SCALE_AFTER = re.compile(r"\s?(?:" + _SCALE_WORDS + r"|per cent|percent|%)", re.I)
_UNIT_AFTER = re.compile(_UNIT.removesuffix("?"), re.I)
_CURRENCY = re.compile(r"\s(?:" + _CURRENCY_WORDS + r")(?![\w-])", re.I)
_AMOUNT_BEFORE = re.compile(r"\d(?:[\d,.]*\d)?\s$")
"""A number just before a currency word ("400 " of "400 EUR")."""
_MONEY = (
    r"(?:[€$£¥]\s?\d[\d,.]*(?:\s?(?:" + _SCALE_WORDS + r"))?"
    r"|\d[\d,.]*(?:\s?(?:" + _SCALE_WORDS + r"))?\s(?:" + _CURRENCY_WORDS + r"))"
)
_CONVERTED = re.compile(r"\(\s*(?:about |around |approximately |some |~)?" + _MONEY + r"\s*\)")
"""An amount in brackets: "($174 billion)", a conversion of the amount written before it."""
_IS_MONEY = re.compile(_MONEY, re.I)
_MONEY_BEFORE = re.compile(_APPROXIMATELY + _MONEY + r"\s*$")
"""An amount that ends the text, with its "up to" or "about": what a conversion in brackets converts."""

FEATURES = (
    "bias",
    "adjacent",
    "near",
    "far",
    "log_distance",
    "len1",
    "len2",
    "len3",
    "len4_5",
    "len6_8",
    "len9_plus",
    "capital_share",
    "has_digit",
    "whole_segment",
    "after_match",
    "before_match",
    "prev_copula",
    "prev_preposition",
    "prev_comma",
    "starts_lower_word",
    "entity",
    *(f"entity_{t}" for t in QTYPES),
    *(f"capital_{t}" for t in QTYPES),
    *(f"digit_{t}" for t in QTYPES),
    "in_parentheses",
    "segment_count_log",
    "left_matches",
    "right_matches",
    "both_sides",
    *(f"short_{t}" for t in QTYPES),
    *(f"long_{t}" for t in QTYPES),
    "first_capital",
    "next_relative",
    "contains_conjunction",
    "at_sentence_start",
    "at_sentence_end",
)


def question_type(question: str) -> str:
    """'quantity', 'date', 'person', 'place' or 'other', from the question's wording."""
    for name, pattern in _QTYPES:
        if pattern.search(question):
            return name
    return "other"


def candidates(sentence: str, question: str, qtype: str | None = None) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Candidate spans of ``sentence`` (character offsets) and their feature matrix (one row per span)."""
    qtype = qtype or question_type(question)
    asked = set(stem_words([w.lower() for w in re.findall(r"\w+", question)]))
    words = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(sentence)]
    if not words:
        return [], np.zeros((0, len(FEATURES)), dtype=np.float32)
    stems = stem_words([w.lower() for _, _, w in words])
    matched = [s in asked and w.lower() not in STOPWORDS for s, (_, _, w) in zip(stems, words, strict=True)]
    hits = [k for k, m in enumerate(matched) if m]
    breaks = [bool(_BREAK.search(sentence[words[k][1] : words[k + 1][0]])) for k in range(len(words) - 1)]
    entity_spans = [m.span() for m in ENTITY_PATTERNS[qtype].finditer(sentence)]
    segments: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        if matched[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(words) and not matched[j + 1] and not breaks[j]:
            j += 1
        segments.append((i, j))
        i = j + 1
    spans: list[tuple[int, int]] = []
    rows: list[list[float]] = []
    index = {name: n for n, name in enumerate(FEATURES)}
    for seg_a, seg_b in segments:
        for a in range(seg_a, seg_b + 1):
            if words[a][2].lower() in STOPWORDS:
                continue
            for b in range(a, min(seg_b, a + MAX_WORDS - 1) + 1):
                if words[b][2].lower() in STOPWORDS:
                    continue
                start, end = words[a][0], words[b][1]
                row = [0.0] * len(FEATURES)
                distance = min((min(abs(a - h), abs(b - h)) for h in hits), default=20)
                length = b - a + 1
                row[index["bias"]] = 1.0
                row[index["adjacent" if distance <= 1 else "near" if distance <= 3 else "far"]] = 1.0
                row[index["log_distance"]] = float(np.log1p(distance))
                bucket = (
                    "len1"
                    if length == 1
                    else "len2"
                    if length == 2
                    else "len3"
                    if length == 3
                    else "len4_5"
                    if length <= 5
                    else "len6_8"
                    if length <= 8
                    else "len9_plus"
                )
                row[index[bucket]] = 1.0
                span_words = [w for _, _, w in words[a : b + 1]]
                capital = sum(1 for k, w in enumerate(span_words) if w[:1].isupper() and (a + k) > 0) / length
                digit = float(any(ch.isdigit() for w in span_words for ch in w))
                row[index["capital_share"]] = capital
                row[index["has_digit"]] = digit
                row[index["whole_segment"]] = float(a == seg_a and b == seg_b)
                row[index["after_match"]] = float(a > 0 and matched[a - 1])
                row[index["before_match"]] = float(b + 1 < len(words) and matched[b + 1])
                previous = words[a - 1][2].lower() if a > 0 else ""
                row[index["prev_copula"]] = float(previous in _COPULA)
                row[index["prev_preposition"]] = float(previous in _PREPOSITIONS)
                row[index["prev_comma"]] = float(a > 0 and breaks[a - 1])
                row[index["starts_lower_word"]] = float(span_words[0][:1].islower())
                entity = float(any(s <= start and end <= e for s, e in entity_spans))
                row[index["entity"]] = entity
                row[index[f"entity_{qtype}"]] = entity
                row[index[f"capital_{qtype}"]] = capital
                row[index[f"digit_{qtype}"]] = digit
                row[index["in_parentheses"]] = float(sentence[:start].count("(") > sentence[:start].count(")"))
                row[index["segment_count_log"]] = float(np.log1p(len(segments)))
                share = max(len(hits), 1)
                left = sum(matched[max(0, a - 4) : a]) / share
                right = sum(matched[b + 1 : b + 5]) / share
                row[index["left_matches"]] = left
                row[index["right_matches"]] = right
                row[index["both_sides"]] = float(left > 0 and right > 0)
                row[index[f"short_{qtype}"]] = float(length <= 2)
                row[index[f"long_{qtype}"]] = float(length >= 5)
                row[index["first_capital"]] = float(span_words[0][:1].isupper() and a > 0)
                following = words[b + 1][2].lower() if b + 1 < len(words) else ""
                row[index["next_relative"]] = float(following in {"which", "who", "that", "whose", "where"})
                row[index["contains_conjunction"]] = float(any(w in {"and", "or"} for w in span_words))
                row[index["at_sentence_start"]] = float(a == 0)
                row[index["at_sentence_end"]] = float(b == len(words) - 1)
                spans.append((start, end))
                rows.append(row)
    return spans, np.asarray(rows, dtype=np.float32).reshape(-1, len(FEATURES))


STEPS = re.compile(
    r"^\W*(?:how\s+(?:do|can|should|would|must)\s+(?:i|you|we|one)\b|how\s+to\b|what\s+are\s+the\s+steps\b"
    r"|(?:list\s+)?(?:the\s+)?steps\s+(?:to|for)\b|what\s+(?:do|should|must|can)\s+i\s+(?:need\s+to\s+)?do\b)",
    re.IGNORECASE,
)
"""A question that asks how to do something: "How do I descale the machine?", "What are the steps to …?"."""
_ASKS_CODE = re.compile(
    r"\b(?:commands?|syntax|examples?|snippet|code|config(?:uration)?\s+(?:file|example|snippet))\b", re.I
)


def asks_for_code(question: str) -> bool:
    """Whether a code block may answer ``question``: how to do something (:data:`STEPS`), or a command, an
    example, a config file ("How do I run Tidemill with Docker?", "What command purges a queue?"); not "What
    license is it under?"."""
    return STEPS.search(question) is not None or _ASKS_CODE.search(question) is not None


@lru_cache(maxsize=1)
def load_weights(path: Path = WEIGHTS_FILE) -> np.ndarray:
    """The fitted weights (written by benchmarks/train_phrases.py), in :data:`FEATURES` order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    table = data["weights"]
    return np.asarray([float(table.get(name, 0.0)) for name in FEATURES], dtype=np.float32)


_COUNT = re.compile(
    r"\bhow\s+many\s+(?!(?:" + _CURRENCY_WORDS + r"|cents?|pence|francs?|yen|yuan|rupees?|kron[aeo]r?|zlotys?|złoty|"
    r"times|percent|per\s*cent)\b)[a-z]",
    re.I,
)
"""A question that asks to count things ("How many people …?"), not an amount of money ("How many euros …?")."""
_CURRENCY_CODES = (
    "EUR USD GBP CHF JPY PLN SEK NOK DKK CZK HUF RON BGN CNY INR AUD CAD NZD HKD SGD ZAR BRL MXN TRY UAH KRW"
).split()
_PAID_AFTER = re.compile(
    r"\s*(?:(?i:" + _CURRENCY_WORDS + r"|zlotys?|złoty|kron[aeo]r?|francs?|rupees?)|" + "|".join(_CURRENCY_CODES) + r")"
    r"(?=\s*(?:$|[.,;:!?)|/]|(?:per|a|an|each|for|in|to|and|or|net|gross)\b))"
)
"""What follows an amount of money written without a symbol: a currency's word or code, then the end of the
amount ("7,500 PLN per month", "45 euros."), not a noun ("33 Euro pallets")."""
_PAID = re.compile(r"\d" + _PAID_AFTER.pattern)


_PERIOD_ON_PERIOD = re.compile(r"[\s-](?:on|over)[\s-](?P<period>year|quarter|month|week|day)\b", re.I)
"""The rest of "year on year", "month-over-month": a reader's span that ends at its first word ends there too."""


_ASKS_CONTACT = re.compile(
    r"^\W*(?:what|which)(?:'s|\s+is|\s+are|\s+was)\s+(?:the\s+|an?\s+)?(?:[\w'’.-]+\s+){0,4}?"
    r"(?P<kind>e-?mail\s+address|(?:tele)?phone\s+number|fax\s+number)"
    r"|\b(?:numbers?|who)\s+(?:do|should|can)\s+(?:i|we|you)\s+(?P<call>call|dial|ring|phone)\b",
    re.I,
)
"""A question that asks for an e-mail address or a number to call: "What is the fleet manager's email address?",
"What number do I call for a breakdown?", "Who do I call if the car breaks down?" (not "How many digits do phone
numbers have?")."""
_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_NUMBER = re.compile(
    r"(?<![\w.,/-])(?!\d{4}-\d\d-\d\d(?!\d)|\d{1,2}([/.-])\d{1,2}\1(?:\d\d){1,2}(?![\d/.-]))"
    r"\+?\(?\d[\d ()/.-]{5,}\d(?![\w.,]\d)"
)
"""A number to call: "+44 20 3994 1180", "0800 612 4477"; not a code's digits ("ATI-2026-0488172") nor a date
("2026-02-03", "03/02/2026": a medical list's "Updated" column was the answer to "what is amara's phone number")."""


def asks_for_a_contact(question: str) -> bool:
    """Whether ``question`` asks for an e-mail address or a number to call ("What number do I call …?")."""
    return _ASKS_CONTACT.search(question) is not None


def _contact_in(question: str, sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """The e-mail address or phone number ``span`` is part of ("0161 496 0455" of "496 0455") that ``question`` asks
    for, if it is longer than that, or the one ``sentence`` writes when ``span`` holds none."""
    asked = _ASKS_CONTACT.search(question)
    if asked is None:
        return None
    kind = _EMAIL_ADDRESS if asked["kind"] and "mail" in asked["kind"].lower() else _PHONE_NUMBER
    found = next((m for m in kind.finditer(sentence) if m.start() < span[1] and span[0] < m.end()), None)
    if found is None:  # "Marcus Lindqvist" of "… is Marcus Lindqvist (m.lindqvist@…)": the one address written
        written = list(kind.finditer(sentence))
        found = written[0] if len(written) == 1 else None
    return found.span() if found and found.span() != span else None


def lacks_the_contact_asked(question: str, sentence: str) -> bool:
    """Whether ``question`` asks for an e-mail address or a phone number that ``sentence`` does not write: then it
    is no answer, whoever it names ("What is the fleet manager's email address?" is not answered "Ingrid Vos")."""
    asked = _ASKS_CONTACT.search(question)
    if asked is None:
        return False
    if asked["kind"] and "mail" in asked["kind"].lower():
        return _EMAIL_ADDRESS.search(sentence) is None
    found = _PHONE_NUMBER.search(sentence)
    return found is None or sum(c.isdigit() for c in found.group()) < 6


_YEAR = re.compile(
    r"(?<![\w.,/-])(1[5-9]\d\d|20\d\d)(?:\s*[–-]\s*(\d{4}|\d\d)|\s+(?:to|until|till|through|and)\s+(\d{4}))?"
    r"(?![\w/]|[.,]\d)"
)
"""A year, or a range of years ("2020–2025", "2024-25", "2019 to 2023"), not a part of a larger number or of a
date in digits."""
_SINCE = re.compile(r"\bsince\s+$", re.I)
_CHANGED = r"(?:up|down|rose|fell|grew|increased|decreased|declined|dropped|gained|lost|climbed|jumped|shrank)"
"""A change stated: "up 6 percent", "fell by €2 million"."""
_BASE = re.compile(
    r"(?:\b(?:than|versus|vs\.?|against|compared\s+(?:with|to)|relative\s+to)"
    r"|\b" + _CHANGED + r"\b[^.;:]{0,40}?\bfrom)"
    r"(?:\s*[€$£]?\d[\d,.]*(?:\s*(?:million|billion|bn|m|percent|per\s*cent|%))?)?"
    r"(?:\s+(?:in|the|its|their|levels?\s+of))*\s+$",
    re.I,
)
"""What sets a year apart as the base a figure is compared with: "up 6 percent from 2024", "more than in 2023",
"up from €7.5 million in 2024"."""
_ASKS_CHANGE = re.compile(
    r"\b(?:chang|grow|grew|growth|increas|decreas|ris[ei]|rose|fall|fell|drop|declin|compar|differ|gain|lost|loss|"
    r"up|down|more|less|fewer|higher|lower|than|since|between|percent|per\s*cent)\w*|%",
    re.I,
)


def _years(text: str) -> list[tuple[int, int, int]]:
    """Each year or range of years in ``text`` as (first year, last year, start): "since 2019" runs on, and a
    year in brackets of its own ("McPherson (2001)") is a reference, not what the text is about."""
    found = []
    for m in _YEAR.finditer(text):
        first = last = int(m[1])
        if m[2] or m[3]:
            last = int(m[3] or m[2]) if len(m[3] or m[2]) == 4 else first // 100 * 100 + int(m[2])
            if last < first:
                continue  # "1990-85" is no range, and no year either
        elif _SINCE.search(text, 0, m.start()):
            last = 10_000
        if text[m.start() - 1 : m.start()] == "(" and text[m.end() : m.end() + 1] == ")":
            continue
        found.append((first, last, m.start()))
    return found


def _asked_years(question: str, change: bool = False) -> set[int]:
    """The years a question asks a figure for ("What was revenue in 2024?"); none for one that asks when, or (unless
    ``change``) about a change ("How much did revenue grow in 2024?")."""
    asked = {first for first, _, _ in _years(question)}
    if not asked or question_type(question) == "date":
        return set()
    return asked if change or not _ASKS_CHANGE.search(_YEAR.sub(" ", question)) else set()


_TAGGED = re.compile(
    r"(?:\s+(?!(?:and|or|to|from|than|against|versus|compared|while|but)\b)[a-z]+){0,2}?"
    r"\s+(?:in|for|during|at\s+the\s+end\s+of|by\s+the\s+end\s+of|as\s+of)\s+(?:the\s+)?"
    r"(?:(?:fiscal|financial|calendar)\s+)?(?:year\s+)?(?P<year>1[5-9]\d\d|20\d\d)(?![\w/]|[.,]\d|\s*[–-]\s*\d)"
)
"""The year written right after a figure, which is that figure's, even as a comparison's base: "£3.1 million in
2023" of "Net profit was £3.9 million in 2024, compared with £3.1 million in 2023", "12.8 million parcels in 2023"."""
_FIGURE = re.compile(
    r"(?<![\w.,])[€$£]?\d(?:[\d,.]*\d)?(?:\s*(?:%|percent|per\s*cent|million|billion|bn|thousand|pence|p)\b|%)?"
)


def _tagged_year(sentence: str, span: tuple[int, int]) -> int | None:
    """The year written right after the figure at ``span`` ("£3.1 million in 2023"), if one is."""
    tagged = _TAGGED.match(sentence, span[1])
    return int(tagged["year"]) if tagged else None


def _for_another_year(asked: set[int], sentence: str, span: tuple[int, int], context: Sequence[str]) -> bool:
    """Whether the figure at ``span`` of ``sentence`` is for another year than ``asked``: the year written right
    after it, else the year its clause writes, else one its sentence writes (not as the base of a comparison), else
    its context's."""
    if not any(c.isdigit() for c in sentence[span[0] : span[1]]):
        return False
    tagged = _tagged_year(sentence, span)
    if tagged is not None:
        return tagged not in asked
    if _YEAR.fullmatch(sentence, *span):  # "2024" read as the answer to "What was staff turnover in 2023?"
        return not any(a <= year <= b for year in asked for a, b, _ in _years(sentence[span[0] : span[1]]))
    for n, text in enumerate((sentence, *context)):
        own = [(a, b, at) for a, b, at in _years(text) if a != b or not _BASE.search(text, 0, at)]
        if n == 0 and len(own) > 1:
            own = _clause_years(sentence, span, own) or own
        if own:
            return not any(a <= year <= b for year in asked for a, b, _ in own)
    return False


def _figure_of_the_year(
    asked: set[int], sentence: str, scores: TokenScores, span: tuple[int, int]
) -> tuple[int, int] | None:
    """The reader's next best span after ``span`` (its best, a figure for another year), when that one is a figure
    of the asked year ("610" of "Staff grew from 610 at the end of 2023 to 684 at the end of 2024" for 2023); else
    the one figure the sentence writes with the asked year right after it ("£3.1 million in 2023")."""
    other = _read_outside(sentence, scores, span)
    text = sentence[other[0] : other[1]] if other else ""
    # a figure ("610", "£39.5 million"), not a clause that holds one
    figure = other is not None and any(c.isdigit() for c in text) and len(text.split()) <= 4
    if other is not None and figure and not _for_another_year(asked, sentence, other, ()):
        return other
    # else the one figure the sentence writes with the asked year right after it ("£3.1 million in 2023")
    tagged = [(m.start(), m.end()) for m in _FIGURE.finditer(sentence) if _tagged_year(sentence, m.span()) in asked]
    return tagged[0] if len(tagged) == 1 else None


_AMOUNTS = re.compile(
    r"(?<![\w.,])(?:(?:(?:"
    + _CURRENCY_WORDS
    + r")\s?|(?:[A-Z]{1,2})?[€$£¥])\d(?:[\d,.]*\d)?(?:\s?(?:"
    + _SCALE_WORDS
    + r"))?"
    r"|\d(?:[\d,.]*\d)?(?:\s?(?:" + _SCALE_WORDS + r"))?\s(?:" + _CURRENCY_WORDS + r"))(?![\w-])"
)
"""Amounts of money: "GBP 45", "€624 billion", "400 EUR"."""
_QUALIFIER_END = re.compile(r"[,;:()]|\s(?:and|or|but|while|whereas)\s|\.(?!\d)")


def _amount_qualified(sentence: str, question: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """Of a sentence's amounts of money, each with the first word after it (before the next amount or its clause's
    end; "UK" of "GBP 45 in the UK", "abroad" of "EUR 55 abroad to cover meals"), the one amount whose word the
    question writes, when only one does ("What is the daily allowance abroad?"); None when that is the reader's
    ``span`` already, or no one amount is asked."""
    amounts = [m.span() for m in _AMOUNTS.finditer(sentence)]
    if len(amounts) < 2:
        return None
    asked = set(tokenize(question))
    # its own word: "abroad", not a predicate all share
    qualified = [a for a, words in zip(amounts, _words_after(sentence, amounts), strict=True) if asked & set(words[:1])]
    if len(qualified) != 1 or qualified[0] == span:
        return None
    return qualified[0]


def _words_after(sentence: str, amounts: list[tuple[int, int]], brackets: bool = False) -> list[list[str]]:
    """The words (:func:`~rag.lexical.tokenize`) after each of ``amounts`` (offsets in ``sentence``), up to the next
    one or its clause's end; with ``brackets``, those in brackets right after it when there are some ("(family)")."""
    out = []
    for n, (_, b) in enumerate(amounts):
        bracket = re.match(r"\s*\(([^()]{1,40})\)", sentence[b:]) if brackets else None
        stop = _QUALIFIER_END.search(sentence, b)
        end = min(stop.start() if stop else len(sentence), amounts[n + 1][0] if n + 1 < len(amounts) else len(sentence))
        out.append(tokenize(bracket[1] if bracket else sentence[b:end]))
    return out


LIST_ITEM = re.compile(r"[ \t]*(?:(?P<bullet>[-*•+])|(?P<number>\d{1,2})[.)])[ \t]+(?=\S)")
"""A list item's mark at the start of its line: "- ", "* ", "1. ", "2) "."""
_PRICE_ASKED = re.compile(
    r"^\W*(?:how\s+much\s+(?:is|are|does|do|for)\s+(?:an?\s+|the\s+|one\s+|our\s+)?(?P<item>[^?]+?)"
    r"(?:\s+(?:cost|costs|be|go\s+for))?|what(?:['’]s|\s+is)\s+the\s+(?:price|cost)\s+of\s+(?:an?\s+|the\s+|our\s+)?"
    r"(?P<of>[^?]+?))\s*\??\s*$",
    re.IGNORECASE,
)
"""A question for what one thing costs: "how much is a diavola?", "What's the price of the tiramisu?"."""


def priced_line(question: str, lines: Sequence[str]) -> tuple[int, tuple[int, int]] | None:
    """For a question for the price of one thing, the one line (of ``lines``: a list item, a menu's line) that
    starts with that thing's name and writes one amount of money, with where the amount is: "- Diavola tomato, fior
    di latte, spicy salami [1, 7] £13.50" for "how much is a diavola?" (not "- Pollo alla diavola …", which does
    not start with it). None when no line, or more than one, is so named (found by a restaurant's menu, whose
    dishes were refused: a menu line shares one word with the question, too few for the evidence head)."""
    match = _PRICE_ASKED.match(question)
    if match is None:
        return None
    item = tokenize(match["item"] or match["of"])
    if not item or len(item) > 4:
        return None
    found = []
    for n, line in enumerate(lines):
        mark = LIST_ITEM.match(line)
        if tokenize(line[mark.end() if mark else 0 :])[: len(item)] != item:
            continue
        amounts = [m.span() for m in _AMOUNTS.finditer(line)]
        if len(amounts) == 1:
            found.append((n, amounts[0]))
    return found[0] if len(found) == 1 else None


_AMOUNT_RANGE = re.compile(rf"(?:{_AMOUNTS.pattern})(?:\s+(?:to|-|–)\s+(?:{_AMOUNTS.pattern}))?")
"""An amount of money, or a range of two: "$1,000 to $1,250"."""


def _amounts_qualified(sentence: str, question: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """Of a span that holds two amounts (or ranges) or more, each with the words after it (up to the next amount
    or its clause's end) or in brackets right after it, the one whose words the question writes, when only one's
    do: "$8,750" of "$4,400 (self-only) and $8,750 (family)", "$2,000 to $2,500" of "… from $1,000 to $1,250 for an
    individual and from $2,000 to $2,500 for a family", asked about the family."""
    amounts = [m.span() for m in _AMOUNT_RANGE.finditer(sentence, span[0], span[1])]
    if len(amounts) < 2:
        return None
    asked = set(tokenize(question))
    words = _words_after(sentence, amounts, brackets=True)
    qualified = [a for a, after in zip(amounts, words, strict=True) if asked & set(after[:2])]
    return qualified[0] if len(qualified) == 1 else None


def _one_figure(asked: set[int], sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """Of a span that holds two figures or more, the one with an asked year right after it ("14 percent" of "11
    percent in 2024 from 14 percent" in "Staff turnover fell to 11 percent in 2024 from 14 percent in 2022.")."""
    figures = [m.span() for m in _FIGURE.finditer(sentence, span[0], span[1]) if not _YEAR.fullmatch(m.group())]
    if len(figures) < 2:
        return None
    tagged = [f for f in figures if _tagged_year(sentence, f) in asked]
    return tagged[0] if len(tagged) == 1 else None


def about_another_year(question: str, sentence: str, scores: TokenScores | None, *context: str) -> bool:
    """Whether the reader answers a figure for another year than the one the question asks about: "What was
    revenue in 2024?" is not answered by "Revenue for 2025 was €7.9 million, up 6 percent from 2024." (2024 is
    only what the figure is compared with), by "In 2023 revenue was €6.8 million.", nor by "Operating profit rose
    to €1.2 million." under the title "Annual report 2025". The year a figure is for is the one its clause or
    else its sentence writes, else the first of ``context`` (its heading, its document's title) that writes one;
    with none, nothing is known and the answer stands. A sentence whose next best figure is the asked year's
    answers with that one (:func:`key_phrase`). A question that asks when, or about a change, is left alone; so
    is an answer without a digit (a name holds across years more often than a figure)."""
    if scores is None:
        return False
    asked = _asked_years(question)
    span = reader_phrase(sentence, scores) if asked else None
    if span is None or not _for_another_year(asked, sentence, span, context):
        changed = _asked_years(question, change=True) if not asked else set()
        written = [(a, b) for a, b, _ in _years(sentence)] if changed else []
        # about a change: the sentence must write the year, as the change's or as its base's
        return bool(written) and not any(a <= year <= b for year in changed for a, b in written)
    if not _for_another_year(asked, sentence, span, ()) or _YEAR.fullmatch(sentence, *span):
        return True  # another year's by its heading or title, or a year itself: no figure of the asked year
    return _figure_of_the_year(asked, sentence, scores, span) is None


_GENERIC = STOPWORDS | {"how", "much", "many", "year", "number", "people", "money", "total", "amount"}
_LETTERS = re.compile(r"[^\W\d_]{3,}")


def _word_starts(text: str) -> set[str]:
    """The first four letters of each word of ``text`` that says what it is about ("oper", "prof" of "operating
    profit"): a loose match, so that "earned" meets "earnings" and "spend" "spent"."""
    return {w[:4] for w in map(str.lower, _LETTERS.findall(text)) if w not in _GENERIC}


def about_another_subject(question: str, sentence: str, scores: TokenScores | None, *context: str) -> bool:
    """Whether the reader answers a question for a year's figure with a figure of something the question does not
    name: "What was operating profit in 2022?" is not answered by "Revenue in 2022 was £39.7 million." when
    neither the sentence nor ``context`` (its sentence before, heading, document title) writes a word of the
    question's. (SQuAD train: 18 of the 1,457 questions for a year's figure would lose their gold sentence, most
    of them paraphrased: "murders" of "homicides".)"""
    if scores is None or not _asked_years(question):
        return False
    span = reader_phrase(sentence, scores)
    if span is None or not any(c.isdigit() for c in sentence[span[0] : span[1]]):
        return False
    asked = _word_starts(_YEAR.sub(" ", question))
    return bool(asked) and not asked & _word_starts(" ".join((sentence, *context)))


_FOR_A_FIGURE = re.compile(
    r"^(?:what|how\s+much)\s+(?:was|were|is|are)\s+(?:the\s+)?(?:[\w'-]+\s+){0,3}?(?:profits?|revenues?|turnover|"
    r"income|sales|costs?|prices?|rates?|population|budget|spending|expenditure|earnings|margin|dividend|debt|gdp|"
    r"salary|salaries|wages?|headcount|attendance|share|percentage|value|total)\b",
    re.I,
)
_NUMBER = re.compile(
    r"\d|[$€£¥]|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|(?:thir|four|fif|six|seven|eigh|"
    r"nine)teen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|half|quarter|"
    r"third|double|doubled|tripled|free|nil|zero)\b",
    re.I,
)
_FOR_A_PRICE = re.compile(
    r"^\W*(?:how\s+much\s+(?:does|did|do|will|would)\b.*\bcost(?:\s+(?:me|us|you|them|now|today|each))*\W*$"
    r"|what\s+(?:does|did|do|will|would)\b.*\bcost(?:\s+(?:me|us|you|them|now|today|each))*\W*$"
    r"|(?:what|how\s+much)\s+(?:is|was|are|were)\s+the\s+(?:\w+\s+)?(?:price|cost|fee|fare|rent)s?\b)",
    re.I,
)
"""A question for a price: "What does the MeshPoint MP-1 cost?", "What is the price of …?"."""
_NUMBER_OF_A_NAME = re.compile(r"\s+[A-Z][a-z]+")
"""What follows a number that is part of a name or a date, not an amount: " Harbour" of "27 Harbour Street",
" May" of "31 May"."""


_A_CHANGE_OF = re.compile(
    r"(?:\b(?:growth|increase|rise|decline|fall|drop|decrease|change|gain|loss)\s+(?:of|by)|\b"
    + _CHANGED
    + r"(?:\s+by)?)"
    r"\s+(?:(?:about|around|nearly|almost|some|over)\s+)?$",
    re.I,
)
"""What writes a figure as the size of a change: "revenue growth of 5 to 7 percent", "rose by 6 percent"."""


def lacks_the_figure(question: str, sentence: str, scores: TokenScores | None) -> bool:
    """Whether the reader answers a question for a year's figure ("What was operating profit in 2022?") with words
    that hold no number ("Staff turnover" of "Staff turnover fell to 11 percent in 2024 from 14 percent in
    2022."), or with the size of a change ("What was revenue in 2025?" is not answered by "For 2025, the board
    expects revenue growth of 5 to 7 percent."); nor a question for a price ("What does the MeshPoint MP-1
    cost?") with words that hold no number ("For larger homes"), or with a figure where no money is written ("30" of
    "The plan covers up to 30 visits per calendar year"). SQuAD train: of the 225 questions for a year's
    figure, one gold answer holds no number, none is the size of a change; of the 63 for a price, one ("fifteen
    shillings", before number words were read as numbers)."""
    price = bool(_FOR_A_PRICE.search(question))
    if scores is None or not (price or (_asked_years(question) and _FOR_A_FIGURE.search(question))):
        return False
    span = reader_phrase(sentence, scores)
    if span is None:
        return False
    if price and sentence[span[0] : span[1]].isdigit() and _NUMBER_OF_A_NAME.match(sentence, span[1]):
        return True  # "27" of "27 Harbour Street" is no rent
    digits = any(c.isdigit() for c in sentence[span[0] : span[1]])  # ("free", "fifteen shillings" may be prices)
    if price and digits and " | " not in sentence and not _IS_MONEY.search(sentence):
        return True  # "30" of "The plan covers up to 30 visits per calendar year" is no price: no money is written
    return not _NUMBER.search(sentence, span[0], span[1]) or bool(_A_CHANGE_OF.search(sentence, 0, span[0]))


_MONEY_KINDS = tuple(
    re.compile(rf"\b(?:{kind})s?\b", re.IGNORECASE)
    for kind in (
        "premium", "co-?pay(?:ment)?", "deductible", "co-?insurance", "excess", "deposit", "rent", "salary|wage",
        "tax", "refund", "discount", "allowance", "fine|penalty", "bonus", "pension",
    )
)  # fmt: skip
"""Kinds of money that no question confuses: a premium is not a copay, a deposit not the rent."""


def _money_kinds(text: str) -> set[int]:
    """Which of :data:`_MONEY_KINDS` ``text`` writes."""
    return {n for n, kind in enumerate(_MONEY_KINDS) if kind.search(text)}


def another_kind_of_money(question: str, sentence: str, scores: TokenScores | None) -> bool:
    """Whether the reader answers a question for one kind of money (:data:`_MONEY_KINDS`: "How much will the PPO
    family premium be in 2026?") with an amount the sentence says is of another kind, right beside it ("a $50
    copay each"), in a sentence that never writes the kind asked."""
    asked = _money_kinds(question)
    if scores is None or len(asked) != 1 or asked & _money_kinds(sentence):
        return False
    span = reader_phrase(sentence, scores)
    if span is None:
        return False
    after = re.match(r"[ \t]*(?:per\s+\w+\s+)?(\S+(?:\s\S+)?)", sentence[span[1] :])  # "$50 copay", "$9 per day fine"
    before = re.search(r"(\S+)\s*(?:of|:|is|was|=)?\s*$", sentence[: span[0]])  # "a deposit of $500", "Rent: £900"
    tags = f"{before[1] if before else ''} {sentence[span[0] : span[1]]} {after[1] if after else ''}"
    return bool(_money_kinds(tags))


_CLAUSE_BREAK = re.compile(r"[,;:()—]|\.(?!\d)|\s–\s|\b(?:and|to|from|while|whereas|but|versus|than)\b", re.I)


def _clause_years(
    sentence: str, span: tuple[int, int], years: list[tuple[int, int, int]]
) -> list[tuple[int, int, int]]:
    """Of the years ``sentence`` writes, those its figure at ``span`` is for: the ones after it in its clause
    ("684 at the end of 2024" of "The number of employees grew from 610 at the end of 2023 to 684 at the end of
    2024"), else the last before it ("Revenue for 2025 was €7.9 million"); none when its clause writes none."""
    stop = _CLAUSE_BREAK.search(sentence, span[1])
    after = [y for y in years if span[1] <= y[2] < (stop.start() if stop else len(sentence))]
    if after:
        return after
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(sentence, 0, span[0])), default=0)
    before = [y for y in years if start <= y[2] < span[0]]
    return before[-1:]


_KINDS = (
    ("net", "gross", "operating", "pre-tax|pretax", "after-tax", "underlying", "adjusted"),
    ("average|mean|median|typical", "maximum|max|peak", "minimum|min"),
    ("hourly", "daily", "weekly", "monthly", "quarterly", "annual|yearly"),
)
"""Words that tell measures of one thing apart (net and operating profit, average and maximum speed); words of
one measure are written together ("max" and "maximum"; "average" and "median" too, as people ask)."""
_KIND = {word: (n, k) for n, kind in enumerate(_KINDS) for k, words in enumerate(kind) for word in words.split("|")}
_QUALIFIED = re.compile(r"\b(" + "|".join(sorted(_KIND, key=len, reverse=True)) + r")[\s-]+([a-z]{3,})\b", re.I)


def _measures(text: str) -> dict[str, set[tuple[int, int]]]:
    """The things ``text`` writes with a word of their measure, and those measures; a capitalised word only as its
    first ("Daily Mail" is a name)."""
    found: dict[str, set[tuple[int, int]]] = {}
    for m in _QUALIFIED.finditer(text):
        if m[1].islower() or not text[: m.start()].strip():
            found.setdefault(m[2].lower().removesuffix("s"), set()).add(_KIND[m[1].lower()])
    return found


_WEEKDAY_WRITTEN = re.compile(
    r"\b(?P<day>mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|rsday|urday)?s?\b\.?(?P<range>\s*(?:[-–—]|to|until|till|through"
    r"|thru)\s*(?:mon|tue|wed|thu|fri|sat|sun))?",
    re.I,
)  # fmt: skip


def about_another_day(question: str, sentence: str) -> bool:
    """Whether ``sentence`` is about other weekdays than the one the question asks about: it names weekdays, none
    of them that one and no range of days ("Northgate will stay open on Sundays …" to "is Northgate open on a
    Tuesday?"; not "Tue–Thu 12:00–14:30", nor "Monday and Tuesday | Closed")."""
    asked = {
        m.group()[:3].lower() for m in _CALENDAR_NAMES.finditer(question) if m.group().lower().endswith(("day", "days"))
    }
    if not asked:
        return False
    written = list(_WEEKDAY_WRITTEN.finditer(sentence))
    return bool(written) and not any(m["range"] for m in written) and not asked & {m["day"].lower() for m in written}


def about_another_measure(question: str, sentence: str) -> bool:
    """Whether ``sentence`` states another measure of the thing the question asks about and not the one asked:
    "What was net profit in 2023?" is not answered by "Operating profit rose to £5.6 million in 2024 from £4.9
    million in 2023.", nor "What is the maximum speed?" by "The average speed is 30 km/h." A sentence that writes
    the thing without a word of its measure ("Profit was …") may answer."""
    written = _measures(sentence)
    for thing, asked in _measures(question).items():
        stated = written.get(thing, set())
        if stated and not stated & asked and {n for n, _ in stated} & {n for n, _ in asked}:
            return True
    return False


MONTHS = ("January February March April May June July August September October November December").split()
WEEKDAYS = ("Monday Tuesday Wednesday Thursday Friday Saturday Sunday").split()


_THING_NUMBERED = re.compile(r"\b(?P<thing>[^\W\d_]{3,})\s+(?P<n>\d{1,3}[a-z]?)\b(?![.,:/-]?\d)", re.IGNORECASE)
"""A thing a question tells apart by its number: "flat 3", "Year 4", "zone 2", "room 12b" (not "9.30", "1/2")."""
_NOT_NUMBERED = frozenset(
    "age aged over under about around than and from with after before until till each per only just every top "
    "for the are was were has have had will can ago".split()
) | frozenset(m.lower() for m in (*MONTHS, *WEEKDAYS))


def about_another_numbered(question: str, sentence: str) -> bool:
    """Whether ``sentence`` is about another of the numbered things the question tells apart ("When does the flat 3
    EPC expire?" is not answered by "Flat 2's EPC expires in June 2026", nor by the table row of Flat 2): it writes
    the thing with another number, and the number asked nowhere."""
    for m in _THING_NUMBERED.finditer(question):
        thing, n = m["thing"].lower(), m["n"].lower()
        if thing in _NOT_NUMBERED or thing in STOPWORDS or re.search(rf"\b{re.escape(n)}\b", sentence, re.I):
            continue
        if re.search(rf"\b{re.escape(thing)}s?['’]?s?\s+\d{{1,3}}[a-z]?\b(?![.,:/-]?\d)", sentence, re.IGNORECASE):
            return True
    return False


MONTH = re.compile(rf"\b(?:{'|'.join(MONTHS)})\b")


def month_written(month: str, flags: int = 0) -> re.Pattern[str]:
    """How ``month`` (its name, "February") may be written: by name, abbreviated ("Feb", "Feb.", "Nov-Dec",
    "Sept"), or as the month of an ISO date ("2025-02-18", "2025-02")."""
    number = MONTHS.index(month) + 1
    short = "Sept?" if month == "September" else month[:3]
    return re.compile(rf"\b(?:{month}|{short})\b|\b(?:19|20)\d\d-{number:02d}(?:-\d\d)?\b", flags)


_VERSION = re.compile(
    r"(?:\b[Vv]|\b(?:[Vv]ersion|[Rr]elease)\s+|\b[A-Z][\w-]*\s+|(?<![\w.])(?=\d+\.\d+\.\d))"
    r"(?P<number>\d+(?:\.\d+)+)(?![\w.]|\.\d)"
)
"""A version a question names: "Tally 3.0.0", "version 2.4", "v1.2", "3.2.1" (not a bare decimal such as "3.5")."""


_RELEASE_WORDS = re.compile(
    r"\b(?:deprecated|released|fixed|added|removed|introduced|dropped|changed|renamed|upgrad\w*|release|version)\b",
    re.I,
)
"""Words that make a question's bare "3.2" a version ("What is deprecated in 3.2?")."""
CODE = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z-]*\d[\w-]*(?<!-)")
"""A code: a letter first, then a digit ("E01", "HR-07", "B-52", "COVID-19")."""


def marks_named(question: str) -> list[re.Pattern[str]]:
    """What a question names that tells one meeting, report, release or record from another, as patterns to find
    it written: its months ("Who was absent from the June board meeting?"; "May" not as its first word), versions
    ("What was removed in Tally 3.0.0?") and codes ("What does error E04 mean?")."""
    months = {m.group() for m in MONTH.finditer(question) if m.group() != "May" or question[: m.start()].strip()}
    versions = {m["number"] for m in _VERSION.finditer(question)}
    if _RELEASE_WORDS.search(question):  # "What is deprecated in 3.2?": a release, not a decimal
        versions |= {m.group() for m in re.finditer(r"(?<![\w.])\d+\.\d+(?![\w.]|\.\d)", question)}
    written = [month_written(month) for month in sorted(months)]
    written += [re.compile(rf"(?<![\w-]){re.escape(code)}(?![\w-])") for code in sorted(set(CODE.findall(question)))]
    # a version asked as "3.0" may be written "3.0.0"
    return written + [re.compile(rf"(?<![\d.]){re.escape(n)}(?:\.0)*(?!\d|\.\d)") for n in sorted(versions)]


def money_for_a_count(question: str, sentence: str, scores: TokenScores | None) -> bool:
    """Whether the reader answers a question that counts things ("How many people work in Gdansk?") with an amount
    of money ("7,500 to 9,000 PLN per month" of a job's row): no answer to it, whatever the reader's margin."""
    if scores is None or not _COUNT.search(question):
        return False
    span = reader_phrase(sentence, scores)
    if span is None:
        return False
    text = sentence[span[0] : span[1]]
    return bool(_IS_MONEY.search(text) or _PAID.search(text) or _PAID_AFTER.match(sentence, span[1]))


_DATE_IN_DIGITS = re.compile(r"(?<![\w.])(?:\d{4}-\d\d-\d\d|\d{1,2}[./]\d{1,2}[./]\d{2,4})(?![\w.]|[.]\d)")


TIME_OF_DAY = re.compile(
    r"\b(?:[01]?\d|2[0-3])[:.h][0-5]\d\b|\b\d{1,2}(?:[:.][0-5]\d)?\s*(?:am|pm|a\.m\.|p\.m\.)|\b(?:noon|midnight)\b",
    re.I,
)
"""A time of day: "11:20", "9.30", "7pm", "noon" (a timetable's rows are labelled so: "13:00-14:00", "9.15")."""
_ASKS_AGE = re.compile(r"\b(?:ages?|how\s+old)\b", re.I)
_COLON_TIME = re.compile(r"(?<![\w.:])\d{1,2}:\d{2}(?![\w:])")
"""A time of day written with a colon: "5:30", "13:05" (not "5.30", which may be a score or a price)."""


def date_for_a_count(question: str, sentence: str, scores: TokenScores | None) -> bool:
    """Whether the reader answers a question that counts things ("How many duplicate webhooks were sent in the
    June incident?") with a piece of a date ("18" of "Date: 2024-06-18"), or a question for an age with a time of
    day ("5:30" of a parents' evening slot for "what's ethan's reading age"): no answer to it."""
    counts, age = _COUNT.search(question), _ASKS_AGE.search(question)
    if scores is None or not (counts or age):
        return False
    span = reader_phrase(sentence, scores)
    wrong = [*(_DATE_IN_DIGITS.finditer(sentence) if counts else ()), *(_COLON_TIME.finditer(sentence) if age else ())]
    return span is not None and any(m.start() <= span[0] and span[1] <= m.end() for m in wrong)


_BOUNDS = {
    kind: re.compile(rf"\b(?:{words})\b\s*(?:of|is|:|=)?\s*(?P<n>\d+(?:,\d{{3}})*(?:\.\d+)?)", re.I)
    for kind, words in {
        "max": r"max(?:imum)?|up\s+to|at\s+most|no\s+more\s+than|limit(?:ed)?\s+to",
        "min": r"min(?:imum)?|at\s+least|no\s+less\s+than",
        "default": r"default(?:s\s+to)?",
    }.items()
}
"""A number after the words of a maximum, a minimum or a default: "maximum 200", "up to 22", "defaults to 50"."""
_BOUND_ASKED = re.compile(r"\b(?:(?P<max>max(?:imum)?)|(?P<min>min(?:imum)?)|(?P<default>default))\b", re.I)
"""A question for a limit or a default ("What's the maximum page size?"; not "the most common", a superlative)."""


def _bound_asked(question: str, sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """When the question asks for a maximum, a minimum or a default and ``sentence`` writes several numbers, the
    one written right after that word ("200" of "Page size, default 50, maximum 200" to "What's the maximum page
    size?"), if only one is and it is not the reader's ``span``."""
    asked = [kind for m in _BOUND_ASKED.finditer(question) for kind, word in m.groupdict().items() if word]
    if len(set(asked)) != 1:
        return None
    found = [m.span("n") for m in _BOUNDS[asked[0]].finditer(sentence)]
    if len(found) != 1 or found[0] == span or len(_FIGURE.findall(sentence)) < 2:
        return None
    return found[0]


_HOW_MANY = re.compile(r"\bhow\s+many\s+(?P<counted>[\w-]+(?:\s+[\w-]+)?)", re.I)
_COUNTED = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?P<after>(?:\s+[^\W\d_][\w-]*){1,3})")


def _count_of(question: str, sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """Of the numbers of ``sentence`` written before words (a count of something), the one counting what the
    question counts ("How many duplicate webhooks were sent?": "18,342" of "18,342 duplicate webhook events were
    sent to 212 customers"), when ``span`` (the reader's) is another such number and it is the only one."""
    asked = _HOW_MANY.search(question)
    if asked is None:
        return None
    counted = set(tokenize(asked["counted"]))
    counts = [m for m in _COUNTED.finditer(sentence) if counted & set(tokenize(m["after"]))]
    here = next((m for m in _COUNTED.finditer(sentence) if m.start() <= span[0] < m.end("after")), None)
    if len(counts) != 1 or here is None or span[0] <= counts[0].start() < span[1]:
        return None  # (the reader's span holds it: "2 to 12" guns, "between 80,000 and 200,000")
    return counts[0].start(), counts[0].start("after")


_ASKS_TASK = re.compile(
    r"^\W*(?i:what\s+(?:does|do|did|must|should|will|is|are|has|have))\s+(?P<who>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*){0,3})\s+"
    r"(?i:(?:(?:have|has|need|needs|got|going|supposed)\s+to\s+)?(?:do|be\s+doing))\W*$"
)
"""A question for what someone named has to do: "What does Grace Liu have to do?", "What has Hannah got to do?"."""
_TASK_COLUMN = re.compile(r"(?:actions?|action\s+items?|tasks?|to[- ]?dos?|activit(?:y|ies)|deliverables?)", re.I)
"""The header of a table's column of things to do: "Action", "Task", "To do"."""
_ASKS_WHAT_TO_DO = re.compile(
    r"^\W*(?:what\s+(?:should|do|must|can|shall)\s+(?:I|we|you)\s+do|how\s+(?:do|can|should)\s+(?:I|we|you)\s+"
    r"(?:fix|solve|clear|resolve))\b",
    re.I,
)
"""A question for what to do about something: "What should I do about F2?"."""
_REMEDY_COLUMN = re.compile(
    r"(?:what\s+to\s+do|what\s+you\s+should\s+do|remed(?:y|ies)|solutions?|fix|resolution|action\s+to\s+take)", re.I
)
"""The header of a table's column of what to do about each row: "What to do", "Remedy", "Solution"."""


def task_of(question: str, row: str, header: str) -> tuple[int, int] | None:
    """The cell of a table ``row`` under a column of things to do when the question asks what someone has to do
    and another cell of the row names them ("Write the test plan for the public beta" of "Write the test plan …
    | Grace Liu | 9 May 2025" to "What does Grace Liu have to do?"), or asks what to do about what the row's first
    cell names ("Check that the gas supply is on …" of "F2 | Flame loss | Check that …" under "Code | Meaning |
    What to do", to "What should I do about F2?"). None otherwise."""
    asked = _ASKS_TASK.match(question)
    if not header or not (asked or _ASKS_WHAT_TO_DO.match(question)):
        return None  # (asked of every sentence read: the question decides first)
    heads, values = cells_of(header), cells_of(row)
    if len(heads) != len(values) or not values:
        return None
    if asked:
        who = set(tokenize(asked["who"]))
        if not any(who <= set(tokenize(row[a:b])) for a, b in values):
            return None
        column = _TASK_COLUMN
    else:
        key = set(tokenize(row[values[0][0] : values[0][1]]))
        if not key or not key <= set(tokenize(question)):
            return None
        column = _REMEDY_COLUMN
    return next((v for h, v in zip(heads, values, strict=True) if column.fullmatch(header[h[0] : h[1]])), None)


_SCOPED = re.compile(r"\b(?:in|out(?:[- ]of)?|non|off|on|re)-[^\W\d_]+", re.IGNORECASE)
"""A word whose stop-word prefix tells it from another: "In-network" and "Out-of-network", "Non-member",
"Re-steeps" (beside "Steeping time")."""


def _writes(question: str, name: str) -> bool:
    """Whether ``question`` writes ``name`` whole, hyphens and spaces alike ("out of network", "Out-of-network"), its
    last word with or without a plural's "s" ("re-steep", "Re-steeps")."""
    words = [re.escape(w) for w in re.split(r"[- ]+", name.strip()) if w]
    if words and len(words[-1]) > 3 and words[-1][-1] in "sS":
        words[-1] = words[-1][:-1] + "s?"
    return bool(words) and re.search(r"\b" + r"[- ]+".join(words) + r"\b", question, re.IGNORECASE) is not None


_DAY_HEADED = re.compile(
    r"(?P<day>mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{1,2}(?:st|nd|rd|th)?)?$",
    re.IGNORECASE,
)
"""A column headed by a weekday or a month, short or whole, maybe with its date: "Fri 14", "Friday", "Sept"."""


def day_written(header: str, row: str, question: str) -> int | None:
    """Of a timetable (a column per weekday, a row per time), the one weekday column whose cell in ``row`` writes a
    word of the question that its other days' cells do not, when the question names no day: Wednesday of "13:00-14:00
    | Science | PE | French (Mrs Okafor) | …" for "When is French?"."""
    names, values = cells_of(header), cells_of(row)
    days = [n for n in range(1, len(names)) if _DAY_HEADED.match(header[slice(*names[n])].strip())]
    if len(names) != len(values) or len(days) < 3 or _days_named(question) or not TIME_OF_DAY.search(row):
        return None
    words = set(tokenize(question))
    found = [n for n in days if words & set(tokenize(row[slice(*values[n])]))]
    return found[0] if len(found) == 1 else None


_CALENDAR_NAMES = re.compile(
    r"\b(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|january|february|march|april|june|july|august|september|"
    r"october|november|december)s?\b",
    re.IGNORECASE,
)


def _days_named(question: str) -> dict[str, str]:
    """The weekdays and months ``question`` writes in full, by their first three letters ("fri": "Friday")."""
    return {m.group()[:3].lower(): m.group() for m in _CALENDAR_NAMES.finditer(question)}


def named_columns(header: str, question: str) -> dict[int, list[str]]:
    """The columns of a table's ``header`` row, but the first (it names the rows), all of whose words the question
    writes (units in brackets aside: "Minimum term", "Price (EUR)"), or the code they start with ("BM-300" of
    "BM-300 Compact"), each with those words (stemmed), or the weekday or month that heads it ("Fri 14" of "… on
    Friday?"); with none so named, the one column that shares the most words with the question, two at least. A
    column named with a prefix that tells it from another ("In-network", "Out-of-network") is named only by a
    question that writes it so, and then alone ("re-steep" names "Re-steeps", not "Steeping time" by "times"); one
    whose words another's include, only when that one is not named too."""
    words = set(tokenize_cased(question))  # "env var" names the column "Environment variable"
    named = {}
    scoped_named = set()
    partly: dict[int, list[str]] = {}
    for n, (a, b) in enumerate(cells_of(header)[1:], start=1):
        wanted = tokenize_cased(re.sub(r"\([^)]*\)|@\S*", " ", header[a:b]))  # "Price (EUR)", "AP@0.5": a unit
        code = CODE.match(header[a:b].strip())
        scopes = _SCOPED.findall(header[a:b])
        if any(not _writes(question, scoped) for scoped in scopes):
            continue  # "In-network" is not named by "out-of-network", whose words ("network") it holds
        if scopes:
            scoped_named.add(n)
            named[n] = wanted
            continue
        day = _DAY_HEADED.match(header[a:b].strip())
        if wanted and set(wanted) <= words:
            named[n] = wanted
        elif day and day["day"].lower() in (days := _days_named(question)):  # "Friday" names "Fri 14"
            named[n] = tokenize_cased(days[day["day"].lower()])
        elif code and re.search(rf"(?<![\w-]){re.escape(code.group())}(?![\w-])", question, re.I):
            named[n] = tokenize_cased(code.group())
        elif len(shared := [w for w in wanted if w in words]) >= 2:
            partly[n] = shared
    if not named and partly:  # none named whole: the one that shares most words, two at least ("retail" and "PPO"
        # of "PPO Gold retail 30-day" beside "PPO Gold mail order 90-day")
        most = max(len(shared) for shared in partly.values())
        best = [n for n, shared in partly.items() if len(shared) == most]
        if len(best) == 1:
            named[best[0]] = partly[best[0]]
    if scoped_named:
        return {n: named[n] for n in scoped_named}
    # of "Tier A" and "Tier C" ("a" is no word), "tier c" names the one whose every word it writes, not both
    return {n: w for n, w in named.items() if not any(set(w) < set(other) for other in named.values())}


_EXCEPTION = re.compile(r"\s*(?:out[- ]+of|non)[- ]+(?P<usual>\S.*?)\s*$", re.IGNORECASE)
"""A column of the exception, beside its usual one: "Out-of-network" ("network"), "Non-member" ("member")."""


def usual_column(row: str, header: str, question: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """When ``span`` (the reader's cell of a table ``row``) stands under an exception's column that the question
    does not name ("Out-of-network"), the cell under its usual one ("In-network", "Network"): "What percentage does
    the dental plan pay for fillings?" asks what it pays in its network. None otherwise."""
    names, cells = cells_of(header), cells_of(row)
    if span is None or len(names) != len(cells):
        return None
    here = next((n for n, (a, b) in enumerate(cells) if a <= span[0] and span[1] <= b), None)
    if here is None:
        return None
    exception = _EXCEPTION.fullmatch(header[slice(*names[here])])
    if exception is None:
        return None
    if _writes(question, header[slice(*names[here])]):
        return None  # "And out-of-network?" asks for it
    usual = exception["usual"].lower()
    for n, (a, b) in enumerate(names):
        if n != here and re.fullmatch(rf"(?:in[- ]+)?{re.escape(usual)}", header[a:b].strip(), re.IGNORECASE):
            return cells[n] if cells[n][0] < cells[n][1] else None
    return None


def asked_column(row: str, header: str, question: str) -> tuple[int, int] | None:
    """The cell of a table ``row`` under the column the question asks for: of the columns it names
    (:func:`named_columns`), the first it names, unless the question writes that cell's value too (then the
    column is a condition: "What is the minimum term for 8 weeks of storage?"), or asks for an amount the cell
    does not hold. The first column names the row, not what is asked of it ("Who runs the Lyon office?" of an
    Office column), and a question for a person, a place or a date asks for that (a date: but the cell of the
    weekday or month it names, of a rota or a calendar). None when it names none, or the cells do not line up."""
    qtype = question_type(question)
    values, names = cells_of(row), cells_of(header)
    if len(names) != len(values):
        return None
    if qtype == "date":  # "What time does Tom start on Friday?" of a rota: the "Fri 14" cell holds the time
        days = [n for n in named_columns(header, question) if _DAY_HEADED.match(header[slice(*names[n])].strip())]
        if len(days) != 1 or values[days[0]][0] == values[days[0]][1]:
            return None
        cell = row[slice(*values[days[0]])]
        if not re.search(r"\d", cell) and TIME_OF_DAY.search(row[slice(*values[0])]):
            return values[0]  # "What time is PE on Friday?" of a timetable: its row's time; the Friday cell says PE
        return values[days[0]]
    if qtype in ("person", "place"):
        return None  # "Where is the event on 12 May?" asks for a place, whatever columns it names
    words = tokenize_cased(question)
    best: tuple[int, tuple[int, int]] | None = None
    for n, wanted in named_columns(header, question).items():
        a, b = values[n]
        given = set(tokenize_cased(row[a:b]))
        if a == b or (given and given <= set(words)):
            continue  # empty, or the question gives this column's value: a condition, not what is asked
        if qtype == "quantity" and not any(c.isdigit() for c in row[a:b]):
            continue  # "How much does cold storage cost per unit?": not the Unit column's "pallet per week"
        first = min(words.index(w) for w in wanted)
        if best is None or first < best[0]:
            best = (first, (a, b))
    if best is None and not named_columns(header, question):
        implied = _column_implied(row, header, question, qtype)
        return values[implied] if implied is not None and values[implied][0] < values[implied][1] else None
    return best[1] if best else None


_MONEY_HEAD = re.compile(r"\b(?:price|cost|fee|charge|amount|rate)s?\b|[£$€]|\b(?:GBP|EUR|USD)\b", re.IGNORECASE)
_ASKS_PRICE = re.compile(r"^\W*how\s+much\s+(?:is|are|was|does|do|would|will|for)\b", re.IGNORECASE)
_ASKS_WHAT = re.compile(r"^\W*(?:what|which)(?:['’]s|\s+is|\s+are)?\s+(?:the\s+|its\s+)?(?P<what>\w+(?:\s+\w+)?)", re.I)
"""What a question asks for first: "what's the sku …" ("sku …")."""
_ASKS_NUMBER = re.compile(r"\b(?:(?:tele)?phone|tel|mobile|number|e-?mail|contact)\b", re.IGNORECASE)
_NOT_A_CONTACT = re.compile(r"\bhow\s+many\b|\bnumber\s+of\b", re.IGNORECASE)
_CONTACT_HEAD = {
    "mail": re.compile(r"\be-?mail\b", re.IGNORECASE),
    "phone": re.compile(r"\b(?:(?:tele)?phone|tel|mobile|cell|contact\s+number)\b", re.IGNORECASE),
}


def contact_column(header: str, question: str) -> int | None:
    """The one column of phone numbers (or e-mail addresses) a question asks for, however it says so: "Phone" for
    "plumber number", "E-mail" for "whats the electricians email"."""
    asked = _ASKS_NUMBER.search(question)
    if asked is None or _NOT_A_CONTACT.search(question):
        return None
    head = _CONTACT_HEAD["mail" if "mail" in asked.group().lower() else "phone"]
    found = [n for n, (a, b) in enumerate(cells_of(header)) if n and head.search(header[a:b])]
    return found[0] if len(found) == 1 else None


_CURRENT = re.compile(r"\b(?:current|present|actual|now)\b", re.IGNORECASE)
ASKS_YES_NO = re.compile(
    r"^\W*(?:is|are|was|were|does|do|did|can|could|will|would|should|has|have|had|may|must)\b", re.IGNORECASE
)
"""A question for yes or no: "Is the gyokuro in stock?", "Does the tiramisu contain nuts?"."""


def _column_implied(row: str, header: str, question: str, qtype: str) -> int | None:
    """When the question names no column whole, the one it still means: the first column, when it asks for it by its
    name ("what's the …") of a row it names by another cell ("what's the sku for the celadon gaiwan" of "SKU |
    Product name | …"); the one column of money, for "how much is …" (not "how much does it weigh"); else the one
    column that shares a word with it ("is the gyokuro in stock?" of "Stock status"; of several, the current one)."""
    names, values = cells_of(header), cells_of(row)
    words = set(tokenize_cased(question))
    contact = contact_column(header, question)
    if contact is not None:
        return contact
    asked = _ASKS_WHAT.match(question)
    first, plain = set(tokenize(header[slice(*names[0])])), set(tokenize(asked["what"] if asked else ""))
    if first and first <= plain and not set(tokenize(row[slice(*values[0])])) & set(tokenize(question)):
        return 0  # ("sku" names "SKU"; "How many people work at the Porto office?" asks no Office)
    if _ASKS_PRICE.match(question) and not re.search(r"\bweigh", question, re.IGNORECASE):
        money = [n for n in range(1, len(names)) if _MONEY_HEAD.search(header[slice(*names[n])])]
        if len(money) == 1 and any(c.isdigit() for c in row[slice(*values[money[0]])]):
            return money[0]
    sharing = [n for n in range(1, len(names)) if words & set(tokenize_cased(header[slice(*names[n])]))]
    current = [n for n in sharing if _CURRENT.search(header[slice(*names[n])])]
    sharing = current if len(sharing) > 1 and len(current) == 1 else sharing  # "Current rating", not "Potential …"
    if len(sharing) != 1 or qtype in ("person", "place"):
        return None
    given = set(tokenize_cased(row[slice(*values[sharing[0]])]))
    # a yes-or-no question is answered by a cell that writes its word ("out of stock" of "Stock status"), not by
    # one that only stands under it ("brand" of "Brand or generic" for "Is there a cheaper generic?"); any other
    # question writes no word of the value it asks for
    return sharing[0] if bool(given & words) == bool(ASKS_YES_NO.match(question)) else None


_MAIL_SENT = re.compile(r"(?P<sender>[^<\n]+?)(?:\s*<[^>\n]*>)? sent this e-mail\b")
"""The sentence an e-mail's headers are written as (:mod:`rag.formats.eml`), and its sender's name."""
_MAIL_COPIED = re.compile(r"It was copied to\b")
"""The headers' second sentence, when the e-mail was copied to others."""
_ASKS_SENDER = re.compile(r"^\W*who\s+(?:sent|wrote|e-?mailed|signed)\b", re.IGNORECASE)
_ASKS_SENDING = re.compile(
    r"\b(?:e-?mails?|messages?|mails?|sent|send|sender|wrote|written|reply|replied|received|recipients?|addressed|"
    r"copied|cc|subject)\b",
    re.IGNORECASE,
)


def about_sending(question: str, sentence: str) -> bool:
    """Whether ``sentence`` is an e-mail's headers (who sent it to whom, when, about what) and the question asks
    something else: "When is the office move?" is not answered by the time the e-mail about it was sent, nor "Who
    picks up Oliver on Fridays?" by who wrote to whom about it."""
    return bool(_MAIL_SENT.match(sentence) or _MAIL_COPIED.match(sentence)) and not _ASKS_SENDING.search(question)


_CLAUSE_NUMBER = re.compile(r"\s*(?:(?:§|Section|Clause|Article)\s*)?\d{1,3}(?:\.\d{1,3})+\.?(?=\s+[A-Z(])")
"""The number a clause of a contract or a policy starts with: "7.1", "§ 4.2", "Clause 12.3"."""


_CHOICE = re.compile(r"\b(?P<one>[\w-]+)\s*,?\s+or\s+(?P<other>[\w-]+)\s*\?\s*$", re.I)
"""A question that offers two answers: "Was the reading actual or estimated?"."""


def offered_choice(sentence: str, question: str) -> tuple[int, int] | None:
    """Of a question that offers two answers, the one ``sentence`` writes, if it writes only one of them."""
    offered = _CHOICE.search(question)
    if offered is None or offered["one"].lower() in STOPWORDS or offered["other"].lower() in STOPWORDS:
        return None
    found = [m for word in (offered["one"], offered["other"]) for m in re.finditer(rf"\b{word}\b", sentence, re.I)]
    return found[0].span() if len({m.group().lower() for m in found}) == 1 else None


def _field_value(sentence: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """The value of a line that labels it, when ``span`` is in the label ("D" of "Valuation band: D")."""
    line = LABELLED.match(sentence)
    if span is None or line is None or span[0] >= line.start("value"):
        return span
    return line.span("value")


_HOLDER = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|van|von|de|der|den|da|di|du|la|le))+")
"""A name of two words or more, titles and particles included: "Dr. Pieter de Vries"."""


def _holder_of(sentence: str, question: str) -> tuple[int, int] | None:
    """Of a who-question, the name a line labelled with the role it asks about opens its value with: "Dr. Pieter
    de Vries" of "Host: Dr. Pieter de Vries, Plant Ecology and Nature Conservation Group, …" for "Who is my host
    at Wageningen?"."""
    line = LABELLED.match(sentence) if re.match(r"\W*who\b", question, re.I) else None
    role = line["label"].split()[-1] if line else ""
    if not role or not re.search(rf"\b{re.escape(role)}\b", question, re.I):
        return None
    name = _HOLDER.match(sentence, line.start("value")) if line else None
    return name.span() if name else None


_ASKS_JOB = re.compile(
    r"(?P<name>[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)+)['’]s?\s+(?:job\s+title|job|title|role|position)\s*\??\s*$"
)
"""A question for someone's job: "What is Priya Raman's job title?"."""


def _job_of(sentence: str, question: str) -> tuple[int, int] | None:
    """Of "What is <name>'s job title?", the capitalised words right after the name in ``sentence``: "Travel
    Coordinator" of "… Priya Raman, Travel Coordinator)"."""
    asked = _ASKS_JOB.search(question)
    if asked is None:
        return None
    name = asked["name"].split()
    written = re.search(
        rf"\b{re.escape(name[-2])}\s+{re.escape(name[-1])},\s+(?P<job>[A-Z][\w'’-]*(?:\s+[A-Z&][\w'’-]*)*)", sentence
    )
    return written.span("job") if written else None


_NUMBERED = r"(?:[A-Z]?\d+[A-Z]?|[A-Z]\d*)"
"""What a terminal, gate, platform or pier is numbered with: "2", "B12", "4a", "C"."""


def _of_the_place_asked(sentence: str, question: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """Of two numbered places told apart by a name ("departs from Heathrow Terminal 2 and arrives at Lisbon
    Terminal 1"), the one whose name the question writes ("Which terminal at Heathrow …?"), when ``span`` is the
    other."""
    if span is None:
        return None
    words = sentence[span[0] : span[1]].split()
    if (
        len(words) != 3
        or not words[0][:1].isupper()
        or not re.fullmatch(rf"[A-Z][a-z]+ {_NUMBERED}", " ".join(words[1:]))
    ):
        return span
    asked = {w.casefold() for w in re.findall(r"\w+", question)} - STOPWORDS
    if words[0].casefold() in asked:
        return span
    alike = re.compile(rf"\b(?P<name>[A-Z][\w-]*)\s+{re.escape(words[1])}\s+{_NUMBERED}\b")
    for found in alike.finditer(sentence):
        if found["name"].casefold() in asked and found.start() != span[0]:
            return found.span()
    return span


_ASKS_BEFORE = re.compile(
    r"\b(?:before|previously|used\s+to|originally|formerly|old|older|previous|earlier|original)\b", re.I
)
"""A question about how things were: "What was required before that?", "What was the old default?"."""
_WAS = re.compile(
    r"\(\s*(?:was|previously|formerly)\s+(?P<old>[^()]{1,60}?)\s*\)"
    r"|\b(?:changed|raised|lowered|increased|decreased|reduced|moved|renamed|bumped|cut|extended)\s+from\s+"
    r"(?P<from>[^,;]{1,60}?)\s+to\b",
    re.I,
)
"""A value a sentence says was replaced: "now requires Go 1.23 (was Go 1.22)", "raised from 262144 to 1048576"."""


def _earlier_value(sentence: str, question: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """For a question about how things were, the value the sentence says was replaced ("Go 1.22" of "… now requires
    Go 1.23 (was Go 1.22)"), not the one that replaced it; ``span`` otherwise."""
    if not _ASKS_BEFORE.search(question):
        return span
    found = _WAS.search(sentence)
    if found is None:
        return span
    old = found.span("old") if found["old"] is not None else found.span("from")
    return span if span is not None and old[0] <= span[0] and span[1] <= old[1] else old


def _value_cell(sentence: str, qtype: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """For a question for an amount, the last cell of a table row with a figure, when ``span`` is in the row's
    first cell, which names the row ("£2,720.00" of "VAT at 20% | | | | £2,720.00", not "20%")."""
    if span is None or qtype != "quantity" or " | " not in sentence:
        return span
    cells = [(m.start(), m.end()) for m in re.finditer(r"[^|]+", sentence) if m.group().strip()]
    if len(cells) < 2 or not (cells[0][0] <= span[0] < cells[0][1]):
        return span
    figures = [(a, b) for a, b in cells[1:] if re.search(r"\d", sentence[a:b])]
    if not figures:
        return span
    a, b = figures[-1]
    return a + len(sentence[a:b]) - len(sentence[a:b].lstrip()), b - len(sentence[a:b]) + len(sentence[a:b].rstrip())


def key_phrase(
    sentence: str, question: str, qtype: str | None = None, scores: TokenScores | None = None
) -> tuple[int, int] | None:
    """Offsets in ``sentence`` of the phrase that best answers ``question``, or None if no word qualifies;
    ``scores``: the span reader's reading of this sentence with this question, when there is one (its own
    best span is the answer then; the hand-made candidates and features are the fallback)."""
    qtype = qtype or question_type(question)
    fence = FENCE.search(sentence)
    if fence:  # a code block with its lead-in: the answer whole to how to do it, no part of a command the phrase;
        # else a phrase of the lead-in ("the GitHub Container Registry" of "The image is published to the GitHub
        # Container Registry:")
        lead = sentence[: fence.start()].rstrip()
        return None if asks_for_code(question) or not lead else key_phrase(lead, question, qtype)
    chosen = offered_choice(sentence, question) or _job_of(sentence, question)
    if chosen is not None:
        return chosen  # "Estimated", to "Was the reading actual or estimated?"; a job after its holder's name
    listed = _roll_call_names(sentence, question) or _holder_of(sentence, question)
    if listed is not None:
        return listed  # "Who attended?" of "Present: A (chair), B, C.": all of them; the name after a role's label
    # "Who sent the e-mail about the move date?": its sender, not a recipient the reader marks
    sent = _MAIL_SENT.match(sentence) if _ASKS_SENDER.search(question) else None
    if sent:
        return sent.span("sender")
    if scores is not None:
        # Completing the reader's span (scale words, whole names) as below changes nothing measurable on
        # held-out train (F1 0.728 -> 0.728): the reader was trained on whole answers.
        span = reader_phrase(sentence, scores)
        name = name_asked_about(sentence, question, span) if span else None
        if name is not None:  # "GmbH" of "Nordlicht Logistik GmbH" is no answer to "Where is Nordlicht Logistik?"
            span = _read_outside(sentence, scores, name)
            if span is None:
                return None
        # A clause's number is no answer ("7.1" of "7.1 The Provider's total liability is limited to …"): the
        # reader's best span after it is
        clause = _CLAUSE_NUMBER.match(sentence)
        if span is not None and clause and span[1] <= clause.end():
            span = _read_outside(sentence, scores, span)
        elif span is not None and clause and span[0] < clause.end():  # "1.1 The Provider": "The Provider"
            span = (clause.end() + len(sentence[clause.end() :]) - len(sentence[clause.end() :].lstrip()), span[1])
        # In a table row, a bare number is no answer to "Where ...?" or "Who ...?" ("27" of "| Osprey | Tomas Novak |
        # Rostock | 27 |"): the reader's best cell with words is. (In prose it can be: "Where was Namibia ranked?")
        if span is not None and qtype in ("person", "place") and " | " in sentence and not _has_words(sentence, span):
            named = _read_outside(sentence, scores, span)
            if named is not None and _has_words(sentence, named):
                span = named
        # An amount of money is no answer to "When …?", "Who …?" or "Where …?" ("When will Ukraine have to repay
        # the loan?" marked "€140 billion" of "… borrow up to €140 billion …, with repayment due only when Russia
        # eventually pays …"): the reader's best span elsewhere is, unless it is money too.
        if span is not None and qtype in ("date", "person", "place") and _IS_MONEY.search(sentence[span[0] : span[1]]):
            other = _read_outside(sentence, scores, span)
            if other is not None and not _IS_MONEY.search(sentence[other[0] : other[1]]):
                span = other
        if span is not None:
            span = _bound_asked(question, sentence, span) or span  # "maximum 200" of "default 50, maximum 200"
        if span is not None and _COUNT.search(question):
            span = _count_of(question, sentence, span) or span  # "18,342 duplicate webhook events", not "212 customers"
        if span is not None and (contact := _contact_in(question, sentence, span)):
            return contact  # "0800 612 4477", not "24-hour claims line on 0800 612 4477"
        if span is not None and qtype == "person" and _ASKS_WHO_ALL.search(question):
            span = _listed_names(sentence, span) or span  # "Present: A (chair), B, C.": all of them were there
        asked = _asked_years(question) if span is not None else set()
        if span is not None and asked and _for_another_year(asked, sentence, span, ()):
            span = _figure_of_the_year(asked, sentence, scores, span) or span  # 2023's 610, not 2024's 684 beside it
        if span is not None and asked:
            span = _one_figure(asked, sentence, span) or span  # "14 percent" of "11 percent in 2024 from 14 percent"
        if span is not None and _AMOUNTS.fullmatch(sentence, *span):
            span = _amount_qualified(sentence, question, span) or span  # "EUR 55 abroad" of "GBP 45 in the UK and …"
        elif span is not None:
            span = _amounts_qualified(sentence, question, span) or span  # "$8,750" of "$4,400 (self-only) and
            # $8,750 (family)", asked about the family
        if span is not None and _ASKS_HOW_MUCH_CHANGED.search(question):
            span = _change(sentence, span) or span  # "up 6 percent from 2024", not "€7.9 million" before it
        if span is not None:
            converted = _converted_from(sentence, span, question)
            if converted is not None:
                return converted  # "€150 billion", not the "$174 billion" in brackets after it
            currency = _CURRENCY.match(sentence, span[1]) if sentence[span[1] - 1].isdigit() else None
            if currency:
                return (span[0], currency.end())  # "2,500 EUR", not "2,500"
            if span[0] and _CURRENCY.fullmatch(sentence, span[0] - 1, span[1]):  # only the currency word
                amount = _AMOUNT_BEFORE.search(sentence, 0, span[0])
                return (amount.start(), span[1]) if amount else span  # "400 EUR", not "EUR"
            period = _PERIOD_ON_PERIOD.match(sentence, span[1])
            if period and re.search(rf"\b{period['period']}$", sentence[span[0] : span[1]], re.I):
                return (span[0], period.end())  # "22 percent year on year", not "22 percent year"
            span = _value_cell(sentence, qtype, _per_unit(sentence, question, _duration(sentence, question, span)))
            return _field_value(
                sentence, _earlier_value(sentence, question, _of_the_place_asked(sentence, question, span))
            )
    spans, features = candidates(sentence, question, qtype)
    chosen = choose(sentence, question, spans, features, load_weights(), qtype)
    chosen = _value_cell(sentence, qtype, _per_unit(sentence, question, _duration(sentence, question, chosen)))
    return _field_value(sentence, _earlier_value(sentence, question, chosen))


_PER_ASKED = re.compile(
    r"\b(?:per|a|an|each)\s+(?P<unit>kwh|m3|litre|liter|kg|hour|day|night|month|week|year|person)\b", re.I
)
"""A question for a rate: "What do we pay per kWh?", "How much is it a night?"."""


def _per_unit(sentence: str, question: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """For a question for a rate, the one amount ``sentence`` writes per the unit asked, when ``span`` is not it
    ("22.36p per kWh", not the £273.24 the row charges for 1,222 kWh)."""
    asked = _PER_ASKED.search(question)
    if asked is None:
        return span
    rate = re.compile(
        rf"[£$€]?\d[\d.,]*\s?(?:p|c|pence|cents|[A-Z]{{3}})?\s+(?:per|a|an|each)\s+{asked['unit']}\b", re.I
    )
    found = list(rate.finditer(sentence))
    if len(found) != 1 or (span is not None and found[0].start() <= span[0] < found[0].end()):
        return span
    return found[0].span()


_HOW_LONG = re.compile(r"^\W*how\s+long\s+(?:does|do|did|will|would|should|can|could)\b", re.I)
"""A question for a duration ("How long does the Eco programme take?"; not "How long is the cable?")."""
_DURATION = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:h|hrs?|hours?|min|mins|minutes?|days?|weeks?|months?|years?)\b"
    r"(?:\s+(?:and\s+)?\d+\s*(?:min|mins|minutes?)\b)?",
    re.I,
)
"""A duration in digits: "3 h 35 min", "30 min", "2 hours and 15 minutes", "14 days"."""


def _duration(sentence: str, question: str, span: tuple[int, int] | None) -> tuple[int, int] | None:
    """For a question how long something takes, the one duration ``sentence`` writes, when ``span`` holds none
    ("3 h 35 min" of "Eco 50°C - 3 h 35 min - everyday loads", not "50") or holds it among much else."""
    if not _HOW_LONG.match(question):
        return span
    if span is not None and (held := list(_DURATION.finditer(sentence, *span))):
        long = len(held) == 1 and span[1] - span[0] > 2 * (held[0].end() - held[0].start())
        return held[0].span() if long else span  # "2 h 40 min" of "70°C - 2 h 40 min - pots, pans and …"
    found = list(_DURATION.finditer(sentence))
    return found[0].span() if len(found) == 1 else span


_ASKS_HOW_MUCH_CHANGED = re.compile(
    r"\bby how much\b|\bhow much (?:did|does|do|has|have|had|was|were|is|will)\b.*\b(?:grow|grew|grown|rise|rose|risen|"
    r"increase|decrease|fall|fell|fallen|drop|decline|gain|lose|lost|shrink|shrank|climb|jump)"
    r"|\bwhat (?:was|is|were) the (?:\w+ )?(?:increase|decrease|growth|rise|drop|decline|fall|change)\b",
    re.I,
)
"""A question for the size of a change: "By how much did revenue grow?", "How much did sales fall in 2024?"."""
_CHANGED_BY = re.compile(
    r"\b" + _CHANGED + r"\s+(?:by\s+)?"
    r"(?P<amount>(?:(?:about|around|nearly|almost|some|over|more than)\s+)?(?:[€$£]\s?)?\d(?:[\d,.]*\d)?"
    r"(?:\s*(?:%|percent|per cent|percentage points?|(?:million|billion|thousand|trillion)\b|[A-Z]{1,4}\b))?)",
    re.I,
)
"""A change and its size: "up 6 percent", "increased by 35,800 MW", "fell by €2 million"."""


def _change(sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """The size of the one change ``sentence`` states, when ``span`` (the reader's) is another amount: to "By how
    much did revenue grow?", "Revenue for 2025 was €7.9 million, up 6 percent from 2024." answers "6 percent"
    (SQuAD train: of the 83 questions for the size of a change, 13 gold sentences state one so; 12 answer with
    it, the 13th with its unit too)."""
    found = list(_CHANGED_BY.finditer(sentence))
    if len(found) != 1:
        return None
    a, b = found[0].span("amount")
    return None if a < span[1] and span[0] < b else (a, b)


_ASKS_WHO_ALL = re.compile(
    r"\b(?:present|attend\w*|absent|apologi\w*|participa\w*|members?|invited|excused|guests?|there|were)\b", re.I
)
"""A who-question for everyone of a list ("Who was present?", "Who attended?"), not for one of them ("Who chairs
the board?" of "Present: Margaret Okafor (Chair), …")."""
_ROLL_CALL = {
    "present": re.compile(r"\bwho\b.*\b(?:attend\w*|present|participat\w*)\b|\b(?:attendees|participants)\b", re.I),
    "absent": re.compile(r"\bwho\b.*\b(?:absent|apologi\w*|excused|missed the (?:meeting|call|session))\b", re.I),
}
"""Questions for who was at a meeting, or not: "Who attended the board meeting?", "Who was absent?"."""
_ROLL_LABELS = {
    "present": ("present", "attendees", "participants", "attending", "attendance", "in attendance"),
    "absent": ("absent", "absentees", "apologies", "excused"),
}
"""The labels of the lines of minutes that list who was there (or not), the usual one first ("In attendance:"
lists guests beside the members "Present:")."""


def roll_call(question: str, sentences: Sequence[str]) -> int | None:
    """Which of ``sentences`` is the line of minutes that lists who was there (or not), when ``question`` asks who
    was: "Who attended the board meeting?" of "Present: Anna Schmidt (chair), Lotte Bakker." (the wording shares
    no word with the line, so the evidence head scores it low). The first with the usual label; None if none."""
    for kind, asks in _ROLL_CALL.items():
        if not asks.search(question):
            continue
        found = [
            (_ROLL_LABELS[kind].index(label), n)
            for n, text in enumerate(sentences)
            if (label := text.partition(":")[0].strip().lower()) in _ROLL_LABELS[kind] and ":" in text
        ]
        if found:
            return min(found)[1]
    return None


def _roll_call_names(sentence: str, question: str) -> tuple[int, int] | None:
    """The names a roll-call line lists (after its label), when ``question`` asks for them."""
    if roll_call(question, [sentence]) is None:
        return None
    line = LABELLED.fullmatch(sentence)
    return line.span("value") if line else None


LABELLED = re.compile(r"\s*(?P<label>[A-Z][\w ]{0,30}(?:\s\([\w .-]{1,24}\))?):\s+(?P<value>\S.*?)[.;]?\s*$")
"""A line of minutes or a form that labels its value: "Present: Anna Schmidt (chair), Lotte Bakker, Jonas Weber.",
"Valuation band: D", "Booking reference (PNR): K7QX2M"."""
_LISTED_NAME = re.compile(
    r"(?:and\s+)?[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|van|von|de|der|den|da|di|du|la|le))*"
    r"(?:\s*\([^()]*\))?"
)
"""One name of such a list, with its role in brackets: "Anna Schmidt (chair)", "and Pieter de Vries"."""


def _listed_names(sentence: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """The whole list of names after a label ("Present: …", "Attendees: …") when ``span`` is one of them: to "Who
    was present?" the answer is every name listed, not the first. None for anything else: a name followed by a
    clause ("Absent: Maria Rossi, who sent her apologies.") is no list."""
    line = LABELLED.fullmatch(sentence)
    if line is None or not (line.start("value") <= span[0] and span[1] <= line.end("value")):
        return None
    items = re.split(r"\s*,\s*|\s+and\s+", line["value"])
    if len(items) < 2 or not all(_LISTED_NAME.fullmatch(item) for item in items):
        return None
    return line.span("value")


def _read_outside(sentence: str, scores: TokenScores, away: tuple[int, int]) -> tuple[int, int] | None:
    """The reader's best span of ``sentence`` that shares no character with ``away``, as :func:`reader_phrase`."""
    other = scores.best_outside(*away)
    return reader_phrase(sentence, scores, other) if other else None


def _has_words(sentence: str, span: tuple[int, int]) -> bool:
    return any(c.isalpha() for c in sentence[span[0] : span[1]])


_CURRENCIES = (r"dollar|usd|\$", r"pound|sterling|gbp|£", r"euro|eur\b|€", r"yen|jpy|¥", r"franc|chf")
"""Ways to write each currency, to tell whether a question asks for the one in brackets."""


def _converted_from(sentence: str, span: tuple[int, int], question: str = "") -> tuple[int, int] | None:
    """When ``span`` is an amount in brackets right after another amount ("€150 billion ($174 billion)"), the
    amount the text states: the one in brackets is its conversion. Not when the question asks for the bracket's
    currency ("… in dollars?") or for an earlier year (annual reports put last year's figure in brackets)."""
    opening = sentence.rfind("(", 0, span[0] + 1)
    closing = sentence.find(")", span[1] - 1)
    if opening < 0 or closing < 0 or not _CONVERTED.fullmatch(sentence, opening, closing + 1):
        return None
    bracket, asked = sentence[opening:closing].lower(), question.lower()
    if re.search(r"\b(?:previous|prior|last|preceding)\s+year\b", asked) or any(
        re.search(ways, bracket) and re.search(ways, asked) for ways in _CURRENCIES
    ):
        return None
    before = _MONEY_BEFORE.search(sentence[:opening].rstrip())
    return (before.start(), before.end()) if before else None


def reader_phrase(sentence: str, scores: TokenScores, span: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The span reader's best span of ``sentence`` (:attr:`TokenScores.best`, or ``span``), widened to whole
    words and trimmed of spaces and separating punctuation."""
    if not len(scores.starts):
        return None
    start, end = span or scores.best
    while start > 0 and sentence[start - 1].isalnum() and sentence[start].isalnum():
        start -= 1
    while end < len(sentence) and sentence[end].isalnum() and sentence[end - 1].isalnum():
        end += 1
    for whole in _WHOLE.finditer(sentence):  # "board@acme.example", not "board@acme"; "8,1 kg", not "1 kg"
        if whole.start() < end and start < whole.end():
            start, end = min(start, whole.start()), max(end, whole.end())
    while start < end and sentence[start] in _TRIM:
        start += 1
    bullet = _BULLET.match(sentence, start, end)
    if bullet and bullet.end() < end and not sentence[:start].strip():
        start = bullet.end()  # "Anna", not "- Anna", of a list item "- Anna: organise the offsite"
    while end > start and (sentence[end - 1] in _TRIM or (end == len(sentence.rstrip()) and sentence[end - 1] == ".")):
        end -= 1
    return (start, end) if start < end else None


_TRIM = frozenset(" \t\n,;:")
_WHOLE = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # an e-mail address
    r"|(?:https?://|www\.)[^\s<>\"'|]*[^\s<>\"'|.,;:!?)\]]"  # a web address
    r"|\d+(?:[.,]\d+)+"  # a number with a decimal or thousands separator between digits: "8,1", "1,250.5"
)
"""What a key phrase that touches it takes whole (the reader's tokens end at dots and commas)."""
_BULLET = re.compile(r"(?:[-*•–]|\d{1,2}[.)])\s+")
"""A list item's marker at the start of a sentence: "- ", "* ", "• ", "1. "."""
_CAPITALISED = re.compile(r"[^\W\d_][\w'’.&-]*")
_LEGAL_FORMS = frozenset(
    "GmbH gGmbH AG KG KGaA OHG UG SE SA S.A. SAS SARL Sàrl SpA S.p.A. Srl S.r.l. BV B.V. NV N.V. AB ASA Oy Oyj "
    "plc PLC Ltd Ltd. LTD Limited LLC L.L.C. LLP Inc Inc. Corp Corp. Co Co. LP L.P. &".split()
)
"""Words that only give a company's legal form: "GmbH" of "Nordlicht Logistik GmbH" names no answer."""


def name_asked_about(sentence: str, question: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """The company name in ``sentence`` that ``span`` only gives the legal form of, when the question writes
    a word of that name: "GmbH" of "Nordlicht Logistik GmbH" does not answer "Where is Nordlicht Logistik
    based?". None otherwise. (Not every part of a name the question writes: "Hillary Clinton" of "Secretary of
    State Hillary Clinton" does answer "Who was Secretary of State before Kerry?")"""
    if not all(w.rstrip(",") in _LEGAL_FORMS for w in sentence[span[0] : span[1]].split()):
        return None
    asked = {w.casefold() for w in re.findall(r"\w+", question)} - STOPWORDS
    runs: list[list[re.Match[str]]] = []
    for word in _CAPITALISED.finditer(sentence):
        if not word.group()[0].isupper():
            continue
        if runs and sentence[runs[-1][-1].end() : word.start()] in (" ", " & "):  # "Nordlicht GmbH & Co. KG"
            runs[-1].append(word)
        else:
            runs.append([word])
    for run in runs:
        start, end = run[0].start(), run[-1].end()
        if start < span[0] and span[1] <= end:
            written = {re.sub(r"['’]s$", "", w.group()).casefold() for w in run}
            return (start, end) if written & asked else None
    return None


def choose(
    sentence: str,
    question: str,
    spans: list[tuple[int, int]],
    features: np.ndarray,
    weights: np.ndarray,
    qtype: str,
) -> tuple[int, int] | None:
    """The best-scoring candidate of ``sentence``; for a typed question (how much, when, who, where), the best
    entity of that type when there is one; for *how much*, with its scale word ("€185 billion"); for *who*,
    completed to the whole name (:func:`whole_name`)."""
    if not spans:
        return None
    ranking = features @ weights
    if qtype != "other":
        entity = features[:, FEATURES.index("entity")] > 0
        if entity.any():
            ranking = np.where(entity, ranking, -np.inf)
    start, end = spans[int(np.argmax(ranking))]
    if qtype == "quantity":
        # Not "€185" of "€185 billion": an amount keeps its scale word (misread without it; F1 on held-out
        # train is the same either way, 0.508).
        # Likewise its unit and the rest of a compound amount ("24 hours and 37 minutes", not "24").
        for match in ENTITY_PATTERNS["quantity"].finditer(sentence):
            if match.start() <= start and end < match.end():
                scale = _SCALE_AFTER.match(sentence, end)
                if scale and scale.end() <= match.end():
                    end = scale.end()
                unit = _UNIT_AFTER.match(sentence, end)
                if (
                    unit
                    and unit.end() <= match.end()
                    and ("and" in unit.group().split() or _CURRENCY.match(unit.group()))
                ):
                    end = unit.end()  # "24 hours and 37 minutes", "1.20 EUR", "45 euros"
                return start, end
    return whole_name(sentence, question, start, end) if qtype == "person" else (start, end)


_NOT_NAMES = frozenset(
    "mayor president minister commissioner chancellor king queen prince princess pope saint sir lord lady "
    "dr mr mrs ms general captain professor senator governor judge chief "
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december".split()
)
"""Capitalised words that sit next to names without being part of them: titles, days and months."""


def whole_name(sentence: str, question: str, start: int, end: int, most: int = 2) -> tuple[int, int]:
    """``[start, end)`` widened by up to ``most`` capitalised words on each side that continue a name:
    "Kubilius" -> "Andrius Kubilius". Never over a sentence's first word, a function word, a title, a day or a
    month, across punctuation, or onto a name the question says ("Who is Kubilius?" does not make "Andrius" the
    answer). On held-out train (gold sentence given) key-phrase F1 is unchanged by it (0.507 -> 0.508)."""
    asked = set(stem_words([w.lower() for w in re.findall(r"\w+", question)]))
    words = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(sentence)]
    inside = [k for k, (a, b, _) in enumerate(words) if start <= a and b <= end]
    if not inside:
        return start, end

    def joined(k: int, step: int) -> bool:  # words[k] and its neighbour in direction step are one space apart
        j = k + step
        gap = sentence[words[min(k, j)][1] : words[max(k, j)][0]]
        return 0 <= j < len(words) and gap == " "

    def asked_name(k: int) -> bool:  # a word of a name the question says (not a title it says)
        word = words[k][2]
        return word[:1].isupper() and word.lower() not in _NOT_NAMES and stem_words([word.lower()])[0] in asked

    def continues(k: int) -> bool:
        word = words[k][2]
        lower = word.lower()
        return (
            k > 0
            and word[:1].isupper()
            and lower not in STOPWORDS
            and lower not in _NOT_NAMES
            and stem_words([lower])[0] not in asked
        )

    lo, hi = inside[0], inside[-1]
    left, right = lo, hi
    while left > 0 and lo - left < most and joined(left, -1) and continues(left - 1):
        left -= 1
    if left > 0 and joined(left, -1) and asked_name(left - 1):
        left = lo  # the name goes on into the question's own name: what was added is part of that
    while right + 1 < len(words) and right - hi < most and joined(right, 1) and continues(right + 1):
        right += 1
    if right + 1 < len(words) and joined(right, 1) and asked_name(right + 1):
        right = hi
    return words[left][0], words[right][1]
