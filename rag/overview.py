"""A request for a summary of one document -> :class:`~rag.answering.Answer`: the document's own opening sentences,
or the first sentence of each of its sections, quoted; and a question about the latest release of release notes
(:func:`ask_about_latest`), read from their headings as the overview reads sections.

No sentence of a document answers "Summarise the board minutes" or "What is the annual report about?", and this
product writes no prose of its own; but a document's lead (a news article's first sentences) and its headings
with what each section opens with say what it is about, in its own words. Every line of the overview is a quote,
with its offsets, as in any answer. Which document is meant comes from the words of the request that its title
or file name writes ("the board minutes": board-minutes.md); a request that names none, or several equally, gets
the list of documents instead (:data:`rag.answering.CANNOT_SUMMARISE`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from rag.answering import TABLE_RULE, Answer, Quote, file_name_words
from rag.chunking import sentence_spans
from rag.documents import Document
from rag.evidence import DATED
from rag.formats.common import SECTION_PATH
from rag.lexical import tokenize
from rag.phrases import LIST_ITEM

LEAD = 3
"""Sentences quoted from a document without headings: a news article's lead says what it is about."""
SECTIONS = 8
"""Sections quoted at most, each by its first sentence (then "… and N more sections")."""
_REQUEST_WORDS = frozenset(
    tokenize(
        "summarise summarize summary sum up give short brief overview gist tldr main key point takeaway idea topic "
        "document article file text folder collection please can could"
    )
)
"""Words of the request itself, not of a document's name."""
_STATEMENT_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_CAPTION = re.compile(r"\((?:[^()]*\s)?(?:photo|image|picture|illustration|video)\b[^()]*\)\s*$", re.I)
"""The end of a picture's caption line: "(EPA Photo)", "(Photo: Reuters)"."""


TIED = 3
"""Documents a request names equally ("the minutes" of two sets of minutes) that get an overview each; more get
the list of documents."""


def named_documents(question: str, listed: Sequence[tuple[str, str]]) -> list[str]:
    """The sources, of ``(source, title)`` pairs, whose title and file name write the most words of ``question``
    (apart from the words that ask for a summary): one, or up to :data:`TIED` that write as many; none when none
    writes any, or more tie."""
    wanted = set(tokenize(question)) - _REQUEST_WORDS
    if not wanted:
        return []
    # "stratus_service_contract.docx" is three words, not one
    counts = [(len(wanted & set(tokenize(f"{file_name_words(source)} {title}"))), source) for source, title in listed]
    best = max((n for n, _ in counts), default=0)
    named = [source for n, source in counts if n == best]
    return named if best and len(named) <= TIED else []


READ = 5_000
"""Characters read from the start of a document or section for its opening sentences: a 1,000-page PDF's
overview costs no more than a note's."""


def _statements(text: str, start: int, end: int, count: int) -> list[tuple[int, int]]:
    """The first ``count`` sentences of ``text[start:end]`` (its first :data:`READ` characters) that state
    something: at least 5 words and a closing full stop (or other end mark), so that headlines, headings, list
    items, table rows and pictures' captions are left out."""

    def line_of(a: int) -> str:
        stop = text.find("\n", a)
        return text[text.rfind("\n", 0, a) + 1 : len(text) if stop < 0 else stop]

    found = [
        (a, b)
        for a, b in sentence_spans(text, start, min(end, start + READ))
        if len(text[a:b].split()) >= 5
        and _STATEMENT_END.search(text[a:b])
        and not text[a:b].startswith("|")
        and not _CAPTION.search(line_of(a))
    ]
    return found[:count]


def _opening(document: Document) -> tuple[list[tuple[int, int]], int, bool]:
    """The spans an overview of ``document`` quotes, how many sections are left out, and whether it has sections:
    each section's first statement, else its first list item or table row."""
    text = document.text
    sections = [offset for offset, heading in document.sections if heading != document.title]  # not the title's
    if not sections:
        return _statements(text, 0, len(text), LEAD), 0, False
    picked: list[tuple[int, int]] = []
    bounds = [0, *sections, len(text)]
    for n, (start, end) in enumerate(itertools.pairwise(bounds)):
        if len(picked) == SECTIONS:
            return picked, len(bounds) - 1 - n, True
        picked += _statements(text, start, end, 1) or _first_item(text, start, end)
    return picked, 0, True


def _first_item(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A section that states nothing in sentences, only in a list or a table (action items, a price list): its
    first item (of four words or more: an agenda's "1. Annual report" says nothing), or its table's first row
    under the header (the line after the table's first), as its opening."""
    at, rows = start, 0
    stop = min(end, start + READ)
    while at < stop:
        line_end = text.find("\n", at, stop)
        line_end = stop if line_end < 0 else line_end
        line = text[at:line_end]
        item = LIST_ITEM.match(line)
        if item:  # one that says something: not an agenda's "1. Annual report"
            return [(at + item.end(), at + len(line.rstrip()))] if len(line[item.end() :].split()) >= 4 else []
        if "|" in line and not TABLE_RULE.fullmatch(line):
            rows += 1
            if rows == 2:  # the first row under the header
                return [(at + len(line) - len(line.lstrip()), at + len(line.rstrip()))]
        elif "|" not in line:
            rows = 0
        at = line_end + 1
    return []


def overview(question: str, documents: Sequence[Document]) -> Answer:
    """The overview of each of ``documents`` as an answer to ``question``: under headings, the first sentence
    before the first one and the first sentence of each section (at most :data:`SECTIONS`); else the document's
    first :data:`LEAD` sentences. Not answered when no document has such a sentence (only tables, lists,
    headings)."""
    quotes: list[Quote] = []
    parts: list[str] = []
    for document in documents:
        picked, more, sectioned = _opening(document)
        name = document.title or document.source
        if not picked:
            parts.append(f"{name} has no sentences to give an overview with (it holds only lists, tables or headings).")
            continue
        how = "the first sentence of each section" if sectioned else "its first sentences"
        lines = [f"An overview of {name}, in its own words ({how}):"]
        for a, b in picked:
            section = document.section_at(a) or ""
            quotes.append(
                Quote(
                    document.text[a:b],
                    document.source,
                    a,
                    b,
                    1.0,
                    title=document.title,
                    page=document.page_at(a),
                    section=section,
                )
            )
            lines.append(
                f"- {section + ': ' if section not in ('', document.title) else ''}{quotes[-1].text} [{len(quotes)}]"
            )
        parts.append("\n".join(lines + ([f"- … and {more} more sections"] if more else [])))
    if not quotes:
        return Answer(question, " ".join(parts) + " Ask about something it may say.", False, query=question)
    return Answer(question, "\n\n".join(parts), True, quotes, query=question)


LATEST = re.compile(
    r"\b(?:the\s+)?(?:latest|newest|most\s+recent|current|last)\s+(?P<name>(?:[\w-]+\s+){0,2}?)(?:version|release)\b",
    re.IGNORECASE,
)
"""What a question calls the latest release: "the latest Tally version", "the most recent release"."""
_ASKS_LATEST = re.compile(
    r"^\W*(?:what|which)(?:'s|\s+(?:is|was|are))\s+"
    + LATEST.pattern
    + r"(?:\s+(?:of|for)\s+(?:the\s+|our\s+)?(?:[\w-]+\s+){0,2}?(?:service|app|application|product|api|project))?\W*$",
    re.I,
)
"""A question for the latest release itself: "What is the latest Tally version?", "What is the current release of
the service?"."""
_VERSION = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)+(?![\w.]|\.\d)")


def latest_release(document: Document) -> tuple[int, int, str] | None:
    """The heading of the highest version of a document whose headings name versions (release notes, a changelog;
    two at least): its line's offsets (without Markdown marks) and its version ("Tally 3.2.1 — 4 November
    2024", "3.2.1")."""
    found = _release_headings(document)
    if len(found) < 2:
        return None
    _, start, end, number = max(found)
    return start, end, number


def _release_headings(document: Document) -> list[tuple[tuple[int, ...], int, int, str]]:
    """The headings of ``document`` that name a version: the version's numbers, the line's offsets (without
    Markdown marks) and the version as written."""
    found: list[tuple[tuple[int, ...], int, int, str]] = []
    for offset, path in document.sections:
        line_end = document.text.find("\n", offset)
        line = document.text[offset : len(document.text) if line_end < 0 else line_end]
        version = _VERSION.search(line)
        if version is None or line.strip(" #") != path.rpartition(SECTION_PATH)[2].strip():
            continue  # a heading of its own that names a version, not a line under one
        start = offset + len(line) - len(line.lstrip(" \t#"))  # without its Markdown marks
        number = version.group().lstrip("v")
        found.append((tuple(int(x) for x in number.split(".")), start, offset + len(line.rstrip()), number))
    return found


def ask_about_latest(question: str, documents: Sequence[Document]) -> Answer | str | None:
    """For a question about the latest release (:data:`LATEST`) of the one of ``documents`` with the most versioned
    headings: the answer itself when it asks which that is ("What is the latest Tally version?" -> its heading,
    quoted), else the question with the release named ("What did the latest Tally version fix?" -> "What did
    Tally 3.2.1 fix?"); None when the question asks no such thing or no document has releases."""
    asked = LATEST.search(question)
    if asked is None:
        return None
    # the document with the most release headings first: a changelog, not an upgrade guide's "API changes in 3.0"
    for document in sorted(documents, key=lambda d: -len(_release_headings(d))):
        latest = latest_release(document)
        if latest is None:
            continue
        start, end, number = latest
        if _ASKS_LATEST.match(question):
            return _heading_answer(question, document, start, end, number)
        name = asked["name"].strip()
        return f"{question[: asked.start()]}{name + ' ' if name else ''}{number}{question[asked.end() :]}"
    return None


ASKS_RELEASED = re.compile(
    r"^\W*when\s+(?:was|were|is|will|did|does|do)\s+(?:the\s+)?(?:[\w-]+\s+)?(?:version\s+|release\s+)?"
    r"v?(?P<number>\d+(?:\.\d+)+)\s+(?:be\s+|get\s+|got\s+)?"
    r"(?:released|release|come\s+out|came\s+out|ship|shipped|published|launched|out|go\s+live|went\s+live)\b",
    re.IGNORECASE,
)
"""A question for when a version was released: "When was v2.4.0 released?", "When did Tally 3.2 come out?"."""


def release_date(question: str, documents: Sequence[Document]) -> Answer | None:
    """For a question when a version came out (:data:`ASKS_RELEASED`), the heading of that version in the
    release notes or changelog among ``documents`` that dates it ("[2.4.0] - 2024-09-17", its date marked): a
    changelog's headings date its releases, and a heading is no answer the sentence ranking would give. None when
    the question asks no such thing, or no heading names the version with a date."""
    asked = ASKS_RELEASED.match(question)
    if asked is None:
        return None
    wanted = tuple(int(x) for x in asked["number"].split("."))
    for document in sorted(documents, key=lambda d: -len(_release_headings(d))):
        for numbers, start, end, _ in _release_headings(document):
            same = numbers + (0,) * (len(wanted) - len(numbers)) == wanted + (0,) * (len(numbers) - len(wanted))
            dated = DATED.search(document.text, start, end) if same else None
            if dated is not None:
                return _heading_answer(question, document, start, end, dated.group())
    return None


def _heading_answer(question: str, document: Document, start: int, end: int, phrase: str) -> Answer:
    """The heading ``document.text[start:end]`` quoted as the answer, ``phrase`` (written in it) marked."""
    text = document.text[start:end]
    at = text.index(phrase)
    quote = Quote(
        text,
        document.source,
        start,
        end,
        1.0,
        title=document.title,
        page=document.page_at(start),
        highlight=(start + at, start + at + len(phrase)),
        section=document.section_at(start) or "",
    )
    marked = f"{text[:at]}**{phrase}**{text[at + len(phrase) :]} [1]"
    return Answer(question, marked, True, [quote], key_phrase=phrase, query=question)
