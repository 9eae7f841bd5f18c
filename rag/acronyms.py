"""Acronyms a question uses and the documents spell out: "Who is the CISO?" of a handbook that only writes "The Chief
Information Security Officer is Dr. Lena Vogel." is asked as "Who is the Chief Information Security Officer?".

Neither retriever can bridge it: BM25 finds no "ciso" in any passage, and the embedding of a bare acronym lies far
from its words. So an acronym of a question that no document writes is looked up in the documents: capitalised
words whose initials make it ("Chief Information Security Officer"), or a definition ("paid time off (PTO)"), and
replaced by the name found most often. Only the acronyms asked about are searched, each with a regular expression
of its own letters, so the documents are not parsed for every name they hold.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable

from rag.lexical import STOPWORDS

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
