"""Load a folder of files into :class:`Document` objects: one loader per format, chosen by file suffix.

Every document keeps the text exactly as stored in the index; chunk and quote offsets point into it.
A file that cannot be used is skipped with a :class:`~rag.errors.DocumentError` that names it and says why;
the other files are still loaded. Loaders are total: any bytes give an :class:`Extracted` or a
``DocumentError``, never another exception, so one hostile file cannot stop the indexing of a collection.
The loaders live in :mod:`rag.formats`, one module per format; heavy parsers (lxml, pypdf, python-docx) are
imported inside their loader, so importing this module stays cheap.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import DocumentError, DocumentsFolderError, NeedsOcrError
from rag.formats import common, delimited, docx, eml, epub, html, image, odf, pdf, pptx, rtf, xlsx
from rag.formats import text as plain_text
from rag.formats.common import _JUNK, OFFICE_FORMATS, Extracted, Loader, NotUTF8Error, _useful_title
from rag.formats.ocr import LATE as OCR_LATE
from rag.formats.ocr import Ocr
from rag.formats.pdf import CUT_SHORT

__all__ = [
    "LOADERS",
    "Document",
    "DocumentError",
    "DocumentsFolderError",
    "Extracted",
    "LoadReport",
    "Loader",
    "Ocr",
    "fingerprint",
    "iter_files",
    "load_file",
    "load_folder",
    "name_in",
]

logger = logging.getLogger(__name__)


_NEXT_LINE = re.compile(r"\n\s*")


@dataclass(frozen=True)
class Document:
    """One source file as text. ``source`` is its path relative to the documents folder."""

    source: str
    title: str
    text: str
    fingerprint: str
    """sha256 of the file's bytes: the document changed when this changed."""
    pages: tuple[int, ...] = ()
    """For paged formats (PDF): the offset in ``text`` where each page starts."""
    sections: tuple[tuple[int, str], ...] = ()
    """(offset in ``text``, heading) of every heading, sorted by offset: Markdown, HTML, DOCX headings, PDF outline."""
    warnings: tuple[str, ...] = ()
    """What was loaded but may be incomplete, e.g. "page 3 has no text (scanned image?)"."""

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for formats without pages."""
        if not self.pages:
            return None
        return max(bisect.bisect_right(self.pages, offset), 1)

    def section_at(self, offset: int) -> str | None:
        """The heading of the section holding character ``offset``, or None before the first heading."""
        index = bisect.bisect_right(self.sections, (offset, "\U0010ffff")) - 1
        return self.sections[index][1] if index >= 0 else None

    def section_from(self, offset: int) -> str | None:
        """The section of the first line from ``offset`` on that is no heading: a chunk that opens with "## Tally
        3.2.0" and then "### Added" is of "Tally 3.2.0 › Added"."""
        index = bisect.bisect_left(self.sections, (offset, ""))
        while index < len(self.sections) and self.sections[index][0] == offset:
            following = _NEXT_LINE.search(self.text, offset)  # the next line with text
            if following is None:
                break
            offset = following.end()
            index = bisect.bisect_left(self.sections, (offset, ""), index + 1)
        return self.section_at(offset)


@dataclass
class LoadReport:
    """What :func:`load_folder` found: the usable documents and each skipped file with its reason."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[DocumentError] = field(default_factory=list)


LOADERS: dict[str, Loader] = {
    ".txt": plain_text.load,
    ".text": plain_text.load,
    ".md": plain_text.load_markdown,
    ".markdown": plain_text.load_markdown,
    ".html": html.load,
    ".htm": html.load,
    ".xhtml": html.load,
    ".pdf": pdf.load,
    ".docx": docx.load,
    ".csv": delimited.load,
    ".tsv": delimited.load,
    ".pptx": pptx.load,
    ".xlsx": xlsx.load,
    ".eml": eml.load,
    ".epub": epub.load,
    ".rtf": rtf.load,
    **dict.fromkeys(odf.SUFFIXES, odf.load),
    **dict.fromkeys(image.SUFFIXES, image.load),
}
"""Loaders by lower-case file suffix. Register a new format by adding to this mapping."""
OCR_LOADERS: dict[str, Callable[[Path, bytes, Ocr | None], Extracted]] = {
    ".pdf": pdf.load,
    ".pptx": pptx.load,
    ".docx": docx.load,
    **dict.fromkeys(image.SUFFIXES, image.load),
}
"""The loaders that read images by OCR: :func:`load_file` passes them its ``ocr``."""

_READ_WITH = {
    ".txt": (plain_text,), ".text": (plain_text,), ".md": (plain_text,), ".markdown": (plain_text,),
    ".html": (html,), ".htm": (html,), ".xhtml": (html,), ".pdf": (pdf,), ".docx": (docx,),
    ".csv": (delimited,), ".tsv": (delimited,), ".pptx": (pptx,), ".xlsx": (xlsx,), ".epub": (epub, html),
    ".eml": (eml, plain_text, html, pdf, docx, delimited, pptx, xlsx, epub, odf, rtf),  # attachments: every loader
    ".rtf": (rtf,),
    **dict.fromkeys(odf.SUFFIXES, (odf, xlsx)),
    **dict.fromkeys(image.SUFFIXES, (image,)),
}  # fmt: skip
"""The format modules whose code makes each suffix's text."""
LOADER_VERSIONS: dict[str, int] = {
    suffix: common.VERSION + sum(module.VERSION for module in modules) for suffix, modules in _READ_WITH.items()
}
"""Recorded in the index. Each format module has a ``VERSION``, bumped when a change to it changes the text it
gives; a suffix's version is the sum of those of the modules that read it (so it grows with any of them), and
the files of a suffix whose version grew are read again at the next sync (only those; chunks whose text did not
change keep their vectors). A suffix registered without a version is never re-read for this reason."""

OLD_FORMATS = {old: (kind, suffix) for kind, suffix, _, old in OFFICE_FORMATS}
"""Office's formats before 2007, not read: their skip reason says which format to save them in."""


def name_in(folder: Path, path: Path) -> str:
    """How a file is named to people: its path from the documents ``folder`` ("reports/q3.pdf"), or, outside it,
    its file name. A symbolic link keeps its own name (it is not resolved to its target's)."""
    absolute, root = Path(os.path.abspath(path)), Path(os.path.abspath(folder))
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else absolute.name


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _title_from(path: Path, text: str) -> str:
    first = text.lstrip().split("\n", 1)[0].strip()
    if 0 < len(first) <= 100 and not first.endswith((".", ":", ";", ",")):
        return first
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


def _read(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing links to nowhere, folders, devices and pipes (which could block) and big files."""
    if path.is_symlink() and not path.exists():
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise DocumentError(path, f"broken link: its target '{target}' does not exist")
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise DocumentError(path, "is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise DocumentError(path, "not a regular file (a device, pipe or socket)")
        if info.st_size > max_bytes:
            raise DocumentError(path, f"too large ({info.st_size:,} bytes; the limit is {max_bytes:,})")
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except PermissionError:
        raise DocumentError(path, "permission denied: the file cannot be read") from None
    except IsADirectoryError:
        raise DocumentError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise DocumentError(path, f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > max_bytes:
        raise DocumentError(path, f"too large (over {max_bytes:,} bytes, the limit)")
    return raw


def load_file(
    path: Path,
    source: str | None = None,
    max_bytes: int = 50_000_000,
    fallback_encoding: str = "",
    ocr: Ocr | None = None,
) -> Document:
    """Load one file. Raises :class:`DocumentError` naming the file and the reason it cannot be used.

    A text file that is not UTF-8 is read in ``fallback_encoding`` when one is named (with a warning saying so;
    its fingerprint stays that of its bytes), else refused with that reason. Image files and the pages of a PDF
    without a text layer are read by ``ocr`` (None: images are skipped, such pages reported)."""
    path = Path(path)
    suffix = path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        newer = OLD_FORMATS.get(suffix)
        if newer:  # say what to do, not only what is wrong
            raise DocumentError(path, f"an old binary {newer[0]} file ({suffix}): save it as {newer[1]} to index it")
        raise DocumentError(
            path, f"unsupported file type '{path.suffix or path.name}' (supported: {', '.join(sorted(LOADERS))})"
        )
    raw = _read(path, max_bytes)
    if not raw.strip():
        raise DocumentError(path, "empty file")
    try:
        try:
            extracted = OCR_LOADERS[suffix](path, raw, ocr) if suffix in OCR_LOADERS else loader(path, raw)
        except NotUTF8Error:
            if not fallback_encoding:
                raise
            extracted = loader(path, raw.decode(fallback_encoding, errors="replace").encode("utf-8"))
            warning = f"not UTF-8: read as {fallback_encoding}"
            extracted = dataclasses.replace(extracted, warnings=(*extracted.warnings, warning))
    except DocumentError:
        raise
    except RecursionError:
        raise DocumentError(path, "too deeply nested to read") from None
    except Exception as exc:  # a loader bug must cost one file, not the whole collection
        logger.exception("loader for %s failed on %s", suffix, path)
        raise DocumentError(path, f"could not be read as {suffix} ({type(exc).__name__}: {exc})") from None
    text = _JUNK.sub(" ", extracted.text)  # one-for-one, so page and section offsets still hold
    if not text.strip():
        reason = "no text could be extracted"
        unfinished = [w for w in extracted.warnings if CUT_SHORT in w or OCR_LATE in w]
        if unfinished:  # ran out of time: said, so that it is read again, not remembered as textless
            raise DocumentError(path, f"{reason} in time: {'; '.join(unfinished)}")
        if suffix == ".pdf":
            reason += " (scanned PDF without a text layer?)"
            if ocr is None:
                raise NeedsOcrError(path, f"{reason}: OCR is off (the setting ocr_languages)")
            if ocr.problem:
                reason += f": {ocr.problem}"
        raise DocumentError(path, reason)
    if extracted.warnings:
        logger.info("%s: %s", path, "; ".join(extracted.warnings))  # the index report lists them
    title = _useful_title(extracted.title) or _title_from(path, text)
    return Document(
        source=source or path.name,
        title=title,
        text=text,
        fingerprint=fingerprint(raw),
        pages=extracted.pages,
        sections=tuple(sorted((at, heading) for at, heading in extracted.sections if 0 <= at < len(text) and heading)),
        warnings=extracted.warnings,
    )


def _ignored(relative: Path) -> bool:
    """Hidden files and folders, Office lock files (~$name.docx) and macOS resource folders are not documents."""
    return any(part.startswith((".", "~$")) or part == "__MACOSX" for part in relative.parts)


def iter_files(folder: Path) -> Iterable[Path]:
    """Files under ``folder`` in a stable order, skipping hidden ones; broken links are included so they get reported.

    Links to folders are not followed (no loops).
    """
    for path in sorted(folder.rglob("*")):
        if _ignored(path.relative_to(folder)):
            continue
        if path.is_file() or (path.is_symlink() and not path.exists()):
            yield path


def load_folder(
    folder: Path | str, max_bytes: int = 50_000_000, fallback_encoding: str = "", ocr: Ocr | None = None
) -> LoadReport:
    """Load every supported file under ``folder``; files that cannot be used are reported, not fatal."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise DocumentsFolderError(f"documents folder not found: {folder}")
    if not folder.is_dir():
        raise DocumentsFolderError(f"not a folder: {folder}")
    report = LoadReport()
    for path in iter_files(folder):
        try:
            source = path.relative_to(folder).as_posix()
            report.documents.append(load_file(path, source, max_bytes, fallback_encoding, ocr))
        except DocumentError as error:
            logger.warning("skipped %s", error)
            report.skipped.append(error)
    return report
