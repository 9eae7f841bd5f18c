"""Split documents into sentence-aligned, overlapping chunks that remember their character offsets.

Pure functions, no models: ``doc.text[chunk.start:chunk.end] == chunk.text`` always holds.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from rag.documents import Document

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e u.s u.k u.n e.u no nos fig figs vol eq approx dept est inc "
    "ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec gen col lt sgt rep sen gov pres rev ca "
    "cf al fr mt adm bros".split()
)
"""Words (lower case) after which a full stop does not end a sentence."""
_BEFORE_A_NUMBER = frozenset("op pp rs ft".split())
"""Abbreviations that end no sentence only when a number follows: "Op. 58", "pp. 12", but "300 ft. It was"."""
_INITIALS = re.compile(r"(?:[A-Z]\.)+[A-Z]")
"""Initials written together, "J.S." or "George H.W." (the last full stop is the candidate boundary); capitals
only, so "9 a.m. The canteen" still ends a sentence."""
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n")


_WRAP_MIN = 40
"""A line at least this long that does not end a sentence, followed by one starting in lower case, is a
hard-wrapped line of one sentence (e-mails, plain-text books, PDF text), not a headline or a list item."""
_ENDS_LINE = frozenset(".!?…:;\"'”’)]|")

_STARTED = re.compile(r"[a-z0-9)][.!?]\s+[A-Z][\w'’-]*(?:\s+[\w'’,-]+){1,}$")
"""A line whose last sentence starts after a full stop in it and has not ended: "… arm64). The server needs"."""
_NEW_BLOCK = re.compile(r"[ \t]*(?:[-*+•>|#]|\d{1,2}[.)]\s|```|~~~)")
"""A line that starts a list item, a quote, a table row, a heading or a code block, never a wrapped sentence."""
_GOES_ON = frozenset(
    "and or nor but from the a an of to for by with at than that which whose is are was were be been per as into "
    "between if when while because since not such both either each every any some very will would can could may "
    "might must shall should has have had does did our your their its my his her these those until whether "
    "including about".split()
)
"""Words no sentence ends with: a line ending in one goes on in the next, whatever that starts with ("… rises
from $1,000 to $1,250 for an individual and from\n$2,000 to $2,500 for a family.")."""
_CUT_NAME = re.compile(r"\b(?:the|an?|by|of|for|to|at|from|with)\s+[A-Z][a-z]+$")
"""A line ending in a name just begun: "… an external review by an Independent\nReview Organization …"."""
_LAID_OUT = re.compile(r"\S {3,}\S| \| ")
"""Cells laid out on a line (a PDF table's columns, a Markdown row): not prose, so never a wrapped sentence."""
_TIME_ZONE = re.compile(r"\s*(?:[A-Z]{1,3}T|UTC|GMT|CET|CEST)\b")
"""A time zone after "p.m." ("4:00 p.m. ET and Thursday …"): the sentence goes on."""
LIST_NUMBER = re.compile(r"[ \t]*\d{1,3}[.)]\s")
"""A numbered item's number, at its line's start: "1. Log in …", "2. The Loan" (a number, no word of its own)."""

CHUNKER_VERSION = 11
"""Recorded in the index manifest: bump it when a change to this module changes the chunks it makes, so
indexes chunked by the old code are rebuilt."""


@dataclass(frozen=True)
class Chunk:
    """A span of one document: the unit that is embedded, indexed and retrieved."""

    source: str
    title: str
    text: str
    start: int
    end: int
    ordinal: int
    """Position of the chunk within its document (0-based)."""
    section: str | None = None
    """The heading the chunk stands under (Markdown, HTML, DOCX headings; PDF outline), if any."""

    @property
    def id(self) -> str:
        return f"{self.source}#{self.start}-{self.end}"


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of every sentence in ``text[start:end]``, whitespace trimmed, as offsets into ``text``.

    Line breaks end a sentence (headlines, list items, paragraphs) unless the line was hard-wrapped inside one
    (a long line without closing punctuation, followed by one starting, perhaps indented, in lower case or with
    inline code, or by a capitalised word when its last sentence began in it after a full stop); full stops after
    common abbreviations, initials and inside numbers do not. A fenced code block is one sentence.
    """
    end = len(text) if end is None else end
    spans = _line_spans(text, start, end)
    return _with_code_blocks(text, spans, start, end)


FENCE = re.compile(r"^[ \t]*(?P<fence>```+|~~~+)[^\n]*$", re.M)
"""A Markdown code fence's line: "```bash", "~~~" (a sentence that starts with one is a code block)."""


def _with_code_blocks(text: str, spans: list[tuple[int, int]], start: int, end: int) -> list[tuple[int, int]]:
    """``spans`` with each fenced code block one sentence, fences included: a command is quoted whole, not line
    by line (its lead-in, "On macOS with Homebrew:", stays a sentence of its own, read for what it says)."""
    if "```" not in text[start:end] and "~~~" not in text[start:end]:
        return spans
    blocks = []
    fences = iter(FENCE.finditer(text, start, end))
    for opening in fences:
        closing = next((f for f in fences if f["fence"].startswith(opening["fence"][:3])), None)
        blocks.append((opening.start(), closing.end() if closing else end))
    out: list[tuple[int, int]] = []
    for s, e in spans:
        block = next(((a, b) for a, b in blocks if s < b and e > a), None)
        if block is None:
            out.append((s, e))
            continue
        if out and out[-1][1] > block[0] and out[-1][0] < block[1]:
            out[-1] = (min(out[-1][0], s), max(out[-1][1], e))  # more of the block
        else:
            out.append((s, e))
    return out


def _line_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences of ``text[start:end]`` as :func:`sentence_spans` finds them, code blocks aside."""
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.end()
        if match.group() == "\n":
            line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()].rstrip()
            following = text[stop : stop + 40].lstrip(" \t")[:1]
            if (
                len(line) >= _WRAP_MIN
                and line[-1] not in _ENDS_LINE
                and (following.islower() or following == "`")
                and " | " not in line  # a table row ends with its line, whatever the next one starts with
            ):
                continue  # a hard-wrapped line: the sentence goes on (on an indented line of a list item, or at
                # inline code: "… the `--config` flag, the\n`TIDEMILL_CONFIG` environment variable, …")
            if (
                len(line) >= _WRAP_MIN
                and following
                and not _LAID_OUT.search(line)
                and not _NEW_BLOCK.match(text, stop)
                and (
                    line.rsplit(None, 1)[-1] in _GOES_ON
                    or (following.isupper() and _CUT_NAME.search(line))
                    or (line.endswith(("a.m.", "p.m.")) and _TIME_ZONE.match(text, stop))
                )
            ):
                continue  # wrapped where no sentence ends: "… and from\n$2,000 …", "… by an Independent\nReview"
            if (
                following.isupper()
                and len(line) >= _WRAP_MIN
                and line[-1].isalnum()
                and _STARTED.search(line)
                and not _NEW_BLOCK.match(text, stop)
                and not _LAID_OUT.search(line)  # a table row ends with its line: "… | Did the 2025 EICR\nPlumber | …"
            ):
                continue  # prose wrapped before a name: "… (amd64, arm64). The server needs\nPostgreSQL 13 …"
        else:
            line_start = text.rfind("\n", 0, match.start()) + 1
            line_end = text.find("\n", match.end())
            if " | " in text[line_start : line_end if line_end >= 0 else end]:
                continue  # a table row is one unit: never cut it at a full stop inside a cell
            word = re.search(r"(\S+)$", text[cursor : match.start()])
            raw = word.group(1).strip("\"'“‘(") if word else ""
            token = raw.lower()
            following = text[stop : stop + 3].lstrip()
            if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()) or _INITIALS.fullmatch(raw):
                continue
            if token in _BEFORE_A_NUMBER and following[:1].isdigit():
                continue
            number = LIST_NUMBER.match(text, line_start) if match.group() == "." else None
            if number and number.end() == stop + 1:
                continue  # "1. Log in to the app": a numbered item, not a sentence "1."
            if match.group() == "." and raw in ("a.m", "p.m") and _TIME_ZONE.match(text, stop):
                continue  # "at 4:00 p.m. ET and …"
            if following and following[0].islower():
                continue
        _append_trimmed(text, cursor, stop, spans)
        cursor = stop
    _append_trimmed(text, cursor, end, spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _split_long(text: str, start: int, end: int, limit: int) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most ``limit`` characters."""
    pieces = []
    while end - start > limit:
        cut = text.rfind(" ", start + limit // 2, start + limit)
        cut = cut if cut > start else start + limit
        stop = cut
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        pieces.append((start, stop))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def chunk_document(document: Document, chunk_chars: int = 600, overlap_sentences: int = 1) -> list[Chunk]:
    """Pack consecutive sentences into chunks of about ``chunk_chars``, repeating ``overlap_sentences``.

    A chunk also ends early at a paragraph break once it is half full, so chunks follow the author's
    structure where they can, and a new section starts a new chunk; a heading with nothing under it but
    another heading ("## Tally 3.2.0" over "### Added") joins the section that follows, whose name holds it.
    """
    text = document.text
    sentences: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        sentences.extend(_split_long(text, s, e, chunk_chars) if e - s > chunk_chars else [(s, e)])
    heading_starts = [offset for offset, _ in document.sections]
    headings = set(heading_starts)
    chunks: list[Chunk] = []
    i = 0
    while i < len(sentences):
        j = i + 1
        new_section = False
        while j < len(sentences) and sentences[j][1] - sentences[i][0] <= chunk_chars:
            if _heading_between(heading_starts, sentences[j - 1][1], sentences[j][0]):
                if all(sentences[k][0] in headings for k in range(i, j)):
                    j += 1  # only headings so far: they head what follows
                    continue
                new_section = True
                break
            gap = text[sentences[j - 1][1] : sentences[j][0]]
            if "\n\n" in gap and sentences[j - 1][1] - sentences[i][0] >= chunk_chars // 2:
                break
            j += 1
        start, end = sentences[i][0], sentences[j - 1][1]
        chunks.append(
            Chunk(
                document.source, document.title, text[start:end], start, end, len(chunks), document.section_from(start)
            )
        )
        if j >= len(sentences):
            break
        # A new section starts afresh: repeating the end of the previous one would mislabel it.
        i = j if new_section else max(i + 1, j - overlap_sentences)
    return chunks


def _heading_between(heading_starts: list[int], after: int, upto: int) -> bool:
    """True if a section heading starts in ``(after, upto]``."""
    k = bisect.bisect_right(heading_starts, after)
    return k < len(heading_starts) and heading_starts[k] <= upto
