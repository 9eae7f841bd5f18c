"""What every format loader shares: the :class:`Extracted` result, the block builder and strict text decoding."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import DocumentError

VERSION = 1
"""Part of every loader's version (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes
the text loaders give, so that every file is read again at the next sync."""


@dataclass(frozen=True)
class Extracted:
    """What a loader returns: the text plus whatever structure the format carries."""

    text: str
    title: str | None = None
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    warnings: tuple[str, ...] = ()


SECTION_PATH = " › "
"""What joins a section's headings, outermost first: "Tally 3.2.0 — 21 October 2024 › Fixed"."""


def heading_paths(headings: Sequence[tuple[int, str, int]], most: int = 3) -> tuple[tuple[int, str], ...]:
    """(offset, heading, level) of a document's headings as (offset, section): each heading with those it stands
    under ("Tally 3.0.0 — 3 June 2024 › Removed": a "Removed" of its own says nothing of which release), at most
    ``most`` of them. A document's one top heading is its title, not a part of every section."""
    if not headings:
        return ()
    top = min(level for _, _, level in headings)
    titled = headings[0][2] == top and sum(level == top for _, _, level in headings) == 1
    out: list[tuple[int, str]] = []
    stack: list[tuple[str, int]] = []
    for offset, heading, level in headings:
        while stack and stack[-1][1] >= level:
            stack.pop()
        stack.append((heading, level))
        path = [name for name, at in stack if not (titled and at == top)] or [heading]
        out.append((offset, SECTION_PATH.join(path[-most:])))
    return tuple(out)


Loader = Callable[[Path, bytes], Extracted]
"""(path, raw bytes) -> Extracted; raises DocumentError (and nothing else) when the bytes cannot be used."""


# C0/C1 controls other than tab and newline, lone surrogates: replaced one-for-one so offsets do not move.
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


_WRAPPED = re.compile(r"(?<=[^\s.!?:;])[ \t]*\n(?=[a-z(])")
"""A line break inside a sentence: after a line that does not end a sentence, before one that starts in lower
case. Printed text (a PDF's, OCR's) breaks where the printed line did; left in, every printed line would become
a "sentence"."""


_WRAPPED_BEFORE_A_CAPITAL = re.compile(
    r"(?<=[ \t])((?:a|an|the|of|in|on|at|to|for|with|by|from|into|than|per|via|and|or|but|is|are|was|were),?"
    r"|[^\W_]+,)[ \t]*\n(?![0-9]{1,2}[.)]\s|[a-z][.)]\s|[A-Za-z]\)\s|[•▪◦·*-]\s)(?=[A-Z0-9€$£])"
)
"""A line break inside a sentence before a capital or a number ("the hub in\nOctober", "signed by\nAnna Berg"): the
line ends in a word no sentence or heading ends with (an article, a preposition, a conjunction, a verb "to
be") or in a comma after a word or a number ("Hafenstraße 17,\n20457 Hamburg"), and the next does not start a
list item ("2. Eggs", "b) ...", "• ...")."""


def _join_wrapped_lines(text: str) -> str:
    """Rejoin printed lines that continue a sentence (headings, list items and new sentences stay on their own).
    A word hyphenated across lines keeps its hyphen ("well-known" cannot be told from "recon-struction")."""
    text = re.sub(r"(?<=[a-z])-\n(?=[a-z])", "-", text)
    return _WRAPPED.sub(" ", _WRAPPED_BEFORE_A_CAPITAL.sub(r"\1 ", text))


def _name_as_title(path: Path) -> str | None:
    """A file's name as its title, for formats that carry none ("harbour_fees-2024.csv": "harbour fees 2024")."""
    return path.stem.replace("_", " ").replace("-", " ").strip() or None


def _one_line(text: str) -> str:
    return " ".join(text.split())


class _Blocks:
    """Builds a document text from blocks separated by blank lines, remembering where each heading starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.sections: list[tuple[int, str]] = []

    def add(self, block: str, *, heading: bool = False, separator: str = "\n\n") -> None:
        block = _JUNK.sub(" ", block).strip()
        if not block:
            return
        if self.parts:
            self.parts.append(separator)
            self.length += len(separator)
        if heading:
            self.sections.append((self.length, block))
        self.parts.append(block)
        self.length += len(block)

    def add_text(self, text: str, sections: Sequence[tuple[int, str]] = ()) -> None:
        """``text`` as one block, its own ``sections`` (offsets into ``text``: another loader's result) moved to
        where the block stands in the whole."""
        cleaned = _JUNK.sub(" ", text)
        lead = len(cleaned) - len(cleaned.lstrip())
        block = cleaned.strip()
        if not block:
            return
        start = self.length + (2 if self.parts else 0)
        self.add(block)
        self.sections.extend((start + at - lead, heading) for at, heading in sections if 0 <= at - lead < len(block))

    def text(self) -> str:
        return "".join(self.parts)


class NotUTF8Error(DocumentError):
    """A text file that is not UTF-8 (nor UTF-16 with a BOM): :func:`rag.documents.load_file` may read it in the
    ``fallback_encoding`` a user names."""


_MAX_UNZIPPED = 512 * 1024 * 1024
"""A ZIP-packaged file (Office, EPUB) whose parts unzip to more than this is refused: a zip bomb, or no document
worth reading."""


OFFICE_FORMATS = (
    ("Word", ".docx", "word/document.xml", ".doc"),
    ("PowerPoint", ".pptx", "ppt/presentation.xml", ".ppt"),
    ("Excel", ".xlsx", "xl/workbook.xml", ".xls"),
)
"""Each Office format: its name, file suffix, main part, and the suffix of its binary predecessor (before 2007)."""


def _check_office_zip(path: Path, raw: bytes, kind: str, main_part: str) -> None:
    """Raise a DocumentError unless ``raw`` is an undamaged Office (OOXML) ZIP package that unzips to at most
    :data:`_MAX_UNZIPPED` bytes and holds ``main_part`` (or, written by an unusual program, at least the
    package's content types: its parser then decides); ``kind`` names the format for people ("Word"). An Office
    file of another kind (a workbook named .pptx) is refused with the suffix it should have."""
    suffix = path.suffix.lower() or ".zip"
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentError(
            path, f"an old binary {kind} file or a password-protected {suffix}; save it as an unprotected {suffix}"
        )
    names = _check_zip(path, raw, kind, main_part, "[Content_Types].xml")
    if main_part not in names:
        for other, other_suffix, other_part, _ in OFFICE_FORMATS:
            if other_part in names:  # a workbook named .pptx: the parser's own message is about content types
                raise DocumentError(path, f"{_a(other)} file named {suffix}: rename it to {other_suffix} to index it")


def _check_zip(path: Path, raw: bytes, kind: str, main_part: str, *alternatives: str) -> set[str]:
    """The member names of ``raw``, a ZIP package that must hold ``main_part`` (or one of ``alternatives``) and
    unzip to at most :data:`_MAX_UNZIPPED` bytes; else a DocumentError that says which is wrong."""
    import io
    import zipfile

    suffix = path.suffix.lower() or ".zip"
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, ValueError... on damaged archives
        raise DocumentError(path, f"not a valid {suffix} file (damaged ZIP package: {exc})") from None
    if unzipped > _MAX_UNZIPPED:
        raise DocumentError(path, f"{suffix} unzips to {unzipped:,} bytes (limit {_MAX_UNZIPPED:,}): a zip bomb?")
    if not names & {main_part, *alternatives}:
        raise DocumentError(path, f"not {_a(kind)} document (a ZIP file without {main_part})")
    return names


def _a(noun: str) -> str:
    """``noun`` with its indefinite article: "a Word", "an Excel", "an EPUB"."""
    return f"{'an' if noun[:1] in 'AEIOU' else 'a'} {noun}"


def _decode(path: Path, raw: bytes) -> str:
    """UTF-8 (with or without BOM) or BOM-marked UTF-16 text, line endings normalised to ``\\n``."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DocumentError(path, f"invalid UTF-16 text at byte {exc.start}") from None
    elif b"\x00" in raw[:8192]:
        raise DocumentError(path, "binary file (it contains NUL bytes), not text")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise NotUTF8Error(
                path,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8, or "
                "name the encoding it is in (fallback_encoding, e.g. cp1252)",
            ) from None
    _reject_binary(path, text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _reject_binary(path: Path, text: str) -> None:
    head = text[:4096]
    controls = sum(1 for ch in head if (ch < " " and ch not in "\t\n\r\f\v") or ch == "\x7f")
    if head and controls > max(8, len(head) // 20):
        raise DocumentError(path, "binary data, not text (too many control characters)")


_OFFICE_PREFIX = re.compile(r"microsoft (?:office )?(?:word|powerpoint|excel) -(?: |$)", re.IGNORECASE)
_FILE_SUFFIX = re.compile(r"\.(?:docx?|pdf|odt|rtf|txt|md|html?|pptx?|xlsx?|indd|tex)$", re.IGNORECASE)
_NOT_A_TITLE = re.compile(
    r"about:\S*"  # about:blank, printed by Chromium
    r"|untitled[\s\d_-]*(?:document[\s\d_-]*)?"  # Untitled, Untitled-1, Untitled document
    r"|(?:document|doc|book|presentation|powerpoint presentation|slide)[\s_-]*\d*"  # an office program's default
    r"|[\W_]*"  # only punctuation: "-", ".."
    r"|(?:[a-z][a-z\d+.-]*://|www\.|(?:data|blob|javascript|mailto|file):)\S*"  # an URL
    r"|(?:[a-z]:[\\/]|~?/|\.\.?/).*|.*\\.*",  # a file path: /tmp/x, C:\My files\x, ~/x, or any backslash
    re.IGNORECASE,
)


def _useful_title(title: Any) -> str | None:
    """A metadata title worth showing: not empty, not a placeholder ("about:blank", "Untitled"), not an URL,
    a file path or a file name. "Microsoft Word - report.docx" gives "report". None for the others, so the
    caller falls back to the document's first line or file name."""
    if not isinstance(title, str):
        return None
    title = _one_line(_JUNK.sub(" ", title))
    if _OFFICE_PREFIX.match(title):
        title = _OFFICE_PREFIX.sub("", title, count=1)
        while _FILE_SUFFIX.search(title):  # "draft3.docx.pdf"
            title = _FILE_SUFFIX.sub("", title).strip()
    if not title or len(title) > 200 or _FILE_SUFFIX.search(title) or _NOT_A_TITLE.fullmatch(title):
        return None
    return title
