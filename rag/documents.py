"""Load a folder of files into :class:`Document` objects: one loader per format, chosen by file suffix.

Every document keeps the text exactly as stored in the index; chunk and quote offsets point into it.
A file that cannot be used is skipped with a :class:`~rag.errors.DocumentError` that names it and says why;
the other files are still loaded.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from rag.errors import DocumentError, DocumentsFolderError

logger = logging.getLogger(__name__)


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

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding character ``offset``, or None for formats without pages."""
        if not self.pages:
            return None
        page = 0
        for number, start in enumerate(self.pages):
            if start <= offset:
                page = number
            else:
                break
        return page + 1


@dataclass
class LoadReport:
    """What :func:`load_folder` found: the usable documents and each skipped file with its reason."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[DocumentError] = field(default_factory=list)


Loader = Callable[[Path, bytes], tuple[str, str | None, tuple[int, ...]]]
"""(path, raw bytes) -> (text, title or None, page offsets)."""


def _decode(path: Path, raw: bytes) -> str:
    if b"\x00" in raw[:8192] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(path, "binary file (it contains NUL bytes), not text")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise DocumentError(path, f"invalid UTF-16 text at byte {exc.start}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(
            path,
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8",
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _load_text(path: Path, raw: bytes) -> tuple[str, str | None, tuple[int, ...]]:
    return _decode(path, raw), None, ()


_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _load_markdown(path: Path, raw: bytes) -> tuple[str, str | None, tuple[int, ...]]:
    text = _decode(path, raw)
    heading = _MD_HEADING.search(text)
    return text, heading.group(1) if heading else None, ()


class _HTMLText(HTMLParser):
    """Visible main text of an HTML page: scripts, styles and navigation are dropped, blocks become lines."""

    SKIP = frozenset({"script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "template"})
    BLOCK = frozenset(
        {"p", "div", "section", "article", "main", "li", "ul", "ol", "table", "tr", "br", "hr", "blockquote",
         "pre", "h1", "h2", "h3", "h4", "h5", "h6", "title", "dt", "dd", "figcaption", "caption"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: str | None = None
        self._skip = 0
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        if tag in self.BLOCK:
            self.parts.append("\n")
        elif tag in {"td", "th"}:
            self.parts.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self._skip:
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = (re.sub(r"[ \t\u00a0]+", " ", line).strip() for line in "".join(self.parts).split("\n"))
        return "\n\n".join(line for line in lines if line)


def _load_html(path: Path, raw: bytes) -> tuple[str, str | None, tuple[int, ...]]:
    parser = _HTMLText()
    parser.feed(_decode(path, raw))
    parser.close()
    title = " ".join("".join(parser._title_parts).split()) or None
    return parser.text(), title, ()


def _load_pdf(path: Path, raw: bytes) -> tuple[str, str | None, tuple[int, ...]]:
    import io

    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise DocumentError(path, "PDF support needs the 'pypdf' package") from None
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise DocumentError(path, "encrypted PDF; decrypt it first")
        page_texts = [(page.extract_text() or "").strip() for page in reader.pages]
        title = (reader.metadata.title if reader.metadata else None) or None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(path, f"unreadable PDF ({exc})") from None
    starts: list[int] = []
    parts: list[str] = []
    offset = 0
    empty_pages = [str(i + 1) for i, t in enumerate(page_texts) if not t]
    if empty_pages:
        logger.warning("%s: no text on page(s) %s (scanned images?)", path, ", ".join(empty_pages))
    for page_text in page_texts:
        starts.append(offset)
        parts.append(page_text)
        offset += len(page_text) + 2
    return "\n\n".join(parts), title, tuple(starts)


LOADERS: dict[str, Loader] = {
    ".txt": _load_text,
    ".text": _load_text,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
}
"""Loaders by lower-case file suffix. Register a new format by adding to this mapping."""


def fingerprint(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _title_from(path: Path, text: str) -> str:
    first = text.lstrip().split("\n", 1)[0].strip()
    if 0 < len(first) <= 100 and not first.endswith((".", ":", ";", ",")):
        return first
    stem = re.sub(r"[-_]+", " ", path.stem).strip()
    return stem[:1].upper() + stem[1:] if stem else path.name


def load_file(path: Path, source: str | None = None, max_bytes: int = 50_000_000) -> Document:
    """Load one file. Raises :class:`DocumentError` naming the file and the reason it cannot be used."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise DocumentError(path, f"unsupported file type '{path.suffix or path.name}' (supported: "
                            f"{', '.join(sorted(LOADERS))})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(path, f"too large ({size:,} bytes; the limit is {max_bytes:,})")
        raw = path.read_bytes()
    except PermissionError:
        raise DocumentError(path, "permission denied: the file cannot be read") from None
    except IsADirectoryError:
        raise DocumentError(path, "is a folder, not a file") from None
    except OSError as exc:
        raise DocumentError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise DocumentError(path, "empty file")
    text, title, pages = loader(path, raw)
    if not text.strip():
        raise DocumentError(path, "no text could be extracted" + (" (scanned PDF without a text layer?)"
                                                                  if path.suffix.lower() == ".pdf" else ""))
    return Document(
        source=source or path.name,
        title=title or _title_from(path, text),
        text=text,
        fingerprint=fingerprint(raw),
        pages=pages,
    )


def iter_files(folder: Path) -> Iterable[Path]:
    """Files under ``folder`` in a stable order, skipping hidden files and folders."""
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file():
            yield path


def load_folder(folder: Path | str, max_bytes: int = 50_000_000) -> LoadReport:
    """Load every supported file under ``folder``; files that cannot be used are reported, not fatal."""
    folder = Path(folder).expanduser()
    if not folder.exists():
        raise DocumentsFolderError(f"documents folder not found: {folder}")
    if not folder.is_dir():
        raise DocumentsFolderError(f"not a folder: {folder}")
    report = LoadReport()
    for path in iter_files(folder):
        try:
            report.documents.append(load_file(path, path.relative_to(folder).as_posix(), max_bytes))
        except DocumentError as error:
            logger.warning("skipped %s", error)
            report.skipped.append(error)
    return report
