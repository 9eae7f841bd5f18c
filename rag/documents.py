"""Load a folder of files into :class:`Document` objects: one loader per format, chosen by file suffix.

Every document keeps the text exactly as stored in the index; chunk and quote offsets point into it.
A file that cannot be used is skipped with a :class:`~rag.errors.DocumentError` that names it and says why;
the other files are still loaded. Loaders are total: any bytes give an :class:`Extracted` or a
``DocumentError``, never another exception, so one hostile file cannot stop the indexing of a collection.
Heavy parsers (pypdf, python-docx) are imported inside their loader, so importing this module stays cheap.
"""

from __future__ import annotations

import bisect
import codecs
import hashlib
import io
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

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


@dataclass
class LoadReport:
    """What :func:`load_folder` found: the usable documents and each skipped file with its reason."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[DocumentError] = field(default_factory=list)


@dataclass(frozen=True)
class Extracted:
    """What a loader returns: the text plus whatever structure the format carries."""

    text: str
    title: str | None = None
    pages: tuple[int, ...] = ()
    sections: tuple[tuple[int, str], ...] = ()
    warnings: tuple[str, ...] = ()


Loader = Callable[[Path, bytes], Extracted]
"""(path, raw bytes) -> Extracted; raises DocumentError (and nothing else) when the bytes cannot be used."""

_SPACES = re.compile(r"[^\S\n]+")
# C0/C1 controls other than tab and newline, lone surrogates: replaced one-for-one so offsets do not move.
_JUNK = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


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

    def text(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------------------------------------------------------
# Plain text and Markdown


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
            raise DocumentError(
                path,
                f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); re-save the file as UTF-8",
            ) from None
    _reject_binary(path, text)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _reject_binary(path: Path, text: str) -> None:
    head = text[:4096]
    controls = sum(1 for ch in head if (ch < " " and ch not in "\t\n\r\f\v") or ch == "\x7f")
    if head and controls > max(8, len(head) // 20):
        raise DocumentError(path, "binary data, not text (too many control characters)")


def _load_text(path: Path, raw: bytes) -> Extracted:
    return Extracted(_decode(path, raw))


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_ORDERED_ITEM = re.compile(r"\d{1,9}[.)](\s|$)")
_INLINE_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*_`]+")


def _markdown_sections(text: str) -> tuple[list[tuple[int, str, int]], str | None]:
    """(line offset, heading, level) of ATX and setext headings outside code blocks, and a front-matter title."""
    sections: list[tuple[int, str, int]] = []
    title: str | None = None
    lines = text.split("\n")
    offsets = []
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        for i in range(1, min(len(lines), 200)):
            if lines[i].strip() in {"---", "..."}:
                for meta in lines[1:i]:
                    key, _, value = meta.partition(":")
                    if key.strip().lower() == "title" and value.strip():
                        title = value.strip().strip("\"'") or None
                start = i + 1
                break
    fence: str | None = None
    previous_paragraph: int | None = None  # index of a plain text line that a setext underline would make a heading
    for i in range(start, len(lines)):
        line = lines[i]
        opening = _FENCE.match(line)
        if fence is not None:
            closing = opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence)
            if closing and opening and not line[opening.end() :].strip():
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            previous_paragraph = None
            continue
        atx = _ATX.match(line)
        if atx:
            heading = _INLINE_MARKUP.sub(r"\1", atx.group(2) or "").strip()
            if heading:
                sections.append((offsets[i], heading, len(atx.group(1))))
            previous_paragraph = None
            continue
        setext = _SETEXT.match(line)
        if setext and previous_paragraph is not None:
            heading = _INLINE_MARKUP.sub(r"\1", lines[previous_paragraph]).strip()
            if heading:
                sections.append((offsets[previous_paragraph], heading, 1 if setext.group(1)[0] == "=" else 2))
            previous_paragraph = None
            continue
        stripped = line.strip()
        is_plain = bool(stripped) and not line.startswith(("    ", "\t")) and stripped[0] not in "-*+>|<"
        previous_paragraph = i if is_plain and not _ORDERED_ITEM.match(stripped) else None
    return sections, title


def _load_markdown(path: Path, raw: bytes) -> Extracted:
    text = _decode(path, raw)
    sections, title = _markdown_sections(text)
    if title is None and sections:
        top = min(level for _, _, level in sections)
        title = next(heading for _, heading, level in sections if level == top)
    return Extracted(text, title, sections=tuple((offset, heading) for offset, heading, _ in sections))


# ---------------------------------------------------------------------------------------------------------------
# HTML: the main text of a page, without menus, navigation, footers, scripts or hidden elements

_HARD = 1  # never text: scripts, styles, form controls, hidden elements
_BOILER = 2  # navigation, headers, footers, sidebars, cookie banners (counted from the innermost main element)
_MAIN = 4  # inside <main>, <article> or role="main"

_CELL = "\x1f"  # marks the start of a table cell inside a row block


class _Piece(NamedTuple):
    block: int
    text: str
    mode: int


class _Frame(NamedTuple):
    tag: str
    mode: int
    mains: int
    """How many main/article elements enclose this one (itself included)."""


class _HTMLText:
    """Turns the element events of a parsed page into text pieces tagged with where they sit.

    Each piece knows whether it is hidden, boilerplate (navigation, headers, footers, sidebars, banners) or inside
    the main content; :meth:`result` then keeps the main content when the page marks it. Not recursive.
    """

    HARD_TAGS = frozenset(
        {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas", "select",
         "option", "button", "textarea", "datalist", "head"}
    )  # fmt: skip
    BOILER_TAGS = frozenset({"nav", "aside", "footer", "dialog", "menu"})
    BOILER_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar",
                              "dialog", "alertdialog", "toolbar"})  # fmt: skip
    BOILER_WORDS = frozenset(
        {"nav", "navbar", "navigation", "menu", "menubar", "sidebar", "breadcrumb", "breadcrumbs", "footer",
         "cookie", "cookies", "consent", "gdpr", "advert", "advertisement", "ads", "social", "share", "sharing",
         "skiplink", "toolbar", "popup", "newsletter", "subscribe", "related"}
    )  # fmt: skip
    OUTSIDE_MAIN_WORDS = frozenset({"header", "masthead", "banner", "topbar"})
    NEVER_BOILER = frozenset({"html", "body", "main", "article", "h1", "h2", "h3", "h4", "h5", "h6"})
    HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
    BLOCK = frozenset(
        {"address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details", "dialog", "div",
         "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "html", "legend",
         "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "tfoot", "thead", "tr",
         "ul", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
    )  # fmt: skip

    def __init__(self) -> None:
        self.pieces: list[_Piece] = []
        self.kinds: list[str] = ["p"]
        """Kind of each block: "p" (lines), "h" (heading), "pre" (verbatim), "row" (table row of cells)."""
        self.title_parts: list[str] = []
        self._stack: list[_Frame] = []
        self._pre = 0
        self._cells = 0
        """How many table cells are open: block elements inside a cell do not break its row."""
        self._title = False

    @property
    def _top(self) -> _Frame:
        return self._stack[-1] if self._stack else _Frame("", 0, 0)

    def _block(self, kind: str = "p") -> None:
        if self.pieces and self.pieces[-1].block == len(self.kinds) - 1:
            self.kinds.append(kind)
        else:  # the current block is still empty: reuse it
            self.kinds[-1] = kind

    def _classify(self, tag: str, attrs: dict[str, str]) -> tuple[bool, bool, bool]:
        """(hidden, boilerplate, main) for one element from its tag and attributes."""
        role = attrs.get("role", "").strip().lower()
        style = attrs.get("style", "").replace(" ", "").lower()
        hidden = (
            tag in self.HARD_TAGS
            or "hidden" in attrs
            or attrs.get("aria-hidden", "").strip().lower() == "true"
            or "display:none" in style
            or "visibility:hidden" in style
        )
        main = tag in {"main", "article"} or role in {"main", "article"}
        if main or tag in self.NEVER_BOILER:
            return hidden, False, main
        outside_main = self._top.mains == 0
        boiler = tag in self.BOILER_TAGS or role in self.BOILER_ROLES or (tag == "header" and outside_main)
        if not boiler and ("class" in attrs or "id" in attrs):
            words = set(re.split(r"[^a-z0-9]+", f"{attrs.get('class', '')} {attrs.get('id', '')}".lower()))
            boiler = bool(words & self.BOILER_WORDS) or (outside_main and bool(words & self.OUTSIDE_MAIN_WORDS))
        return hidden, boiler, main

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "title":
            # The page title, not an SVG or MathML <title>, and only the first one.
            self._title = not self.title_parts and not any(f.tag in {"svg", "math"} for f in self._stack[-50:])
        elif tag == "br":
            self._add("\n")
        hidden, boiler, main = self._classify(tag, attrs)
        parent = self._top
        mode = parent.mode | (_HARD if hidden else 0)
        if main:
            mode = (mode | _MAIN) & ~_BOILER  # boilerplate is judged again inside the main content
        elif boiler:
            mode |= _BOILER
        self._stack.append(_Frame(tag, mode, parent.mains + main))
        if tag == "pre":
            self._pre += 1
        if self._cells:  # inside a table cell everything stays on the row's line, nested tables included
            if tag in self.BLOCK or tag in {"td", "th"}:
                self._add(" ")
            self._cells += tag in {"td", "th"}
        elif tag == "pre":
            self._block("pre")
        elif tag in self.HEADINGS:
            self._block("h")
        elif tag == "tr":
            self._block("row")
        elif tag in {"td", "th"}:
            if self.kinds[-1] == "row":
                self.pieces.append(_Piece(len(self.kinds) - 1, _CELL, 0))
            else:
                self._block()
            self._cells = 1
        elif tag in self.BLOCK:
            self._block()

    def end(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        if self._stack:
            self._stack.pop()
        if tag == "pre":
            self._pre -= 1
        if self._cells:
            self._cells -= tag in {"td", "th"}
            if tag in self.BLOCK:
                self._add(" ")
        elif tag in self.BLOCK:
            self._block()

    def data(self, text: str) -> None:
        if self._title:
            self.title_parts.append(text)
            return
        if not self._pre:
            text = _SPACES.sub(" ", text.replace("\n", " "))
        self._add(_JUNK.sub("", text))

    def _add(self, text: str) -> None:
        if text:
            self.pieces.append(_Piece(len(self.kinds) - 1, text, self._top.mode))

    def result(self) -> tuple[str, list[tuple[int, str]], str | None]:
        """(text, sections, title): the main content if the page marks it, else everything but boilerplate."""

        def size(keep: Callable[[int], bool]) -> int:
            return sum(len(p.text.strip()) for p in self.pieces if p.text != _CELL and keep(p.mode))

        def is_main(mode: int) -> bool:
            return mode & (_HARD | _BOILER | _MAIN) == _MAIN

        def is_content(mode: int) -> bool:
            return not mode & (_HARD | _BOILER)

        def is_visible(mode: int) -> bool:
            return not mode & _HARD

        main_size, content_size = size(is_main), size(is_content)
        if main_size and main_size * 4 >= content_size:
            keep = is_main
        elif content_size:
            keep = is_content
        else:  # a page that is all header or footer: better its text than nothing
            keep = is_visible
        blocks: dict[int, list[str]] = {}
        for piece in self.pieces:
            if piece.text == _CELL or keep(piece.mode):
                blocks.setdefault(piece.block, []).append(piece.text)
        out = _Blocks()
        previous_kind = ""
        for block, parts in blocks.items():
            kind = self.kinds[block]
            before = len(out.parts)
            if kind == "row":
                cells = "".join(parts).split(_CELL)
                if not cells[0].strip():
                    cells = cells[1:]
                cells = [_one_line(cell) for cell in cells]
                if any(cells):
                    out.add(" | ".join(cells), separator="\n" if previous_kind == "row" else "\n\n")
            elif kind == "h":
                out.add(_one_line("".join(parts)), heading=True)
            elif kind == "pre":
                out.add("\n".join(line.rstrip() for line in "".join(parts).split("\n")).strip("\n"))
            else:
                lines = (line.strip() for line in "".join(parts).split("\n"))
                out.add("\n".join(line for line in lines if line))
            if len(out.parts) != before:
                previous_kind = kind
        return out.text(), out.sections, _one_line("".join(self.title_parts)) or None


_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.IGNORECASE)


def _decode_html(path: Path, raw: bytes) -> tuple[str, list[str]]:
    """HTML bytes as text: a BOM, else UTF-8, else the charset the page declares, else Windows-1252 (as browsers)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        return _decode(path, raw), []
    if b"\x00" in raw[:8192]:
        raise DocumentError(path, "binary file (it contains NUL bytes), not HTML")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        _reject_binary(path, text)
        return text, []
    declared = _META_CHARSET.search(raw[:4096])
    encoding = "cp1252"
    if declared:
        try:
            info = codecs.lookup(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            info = None
        # A page that reached this point is ASCII-compatible: a declared UTF-16/32 is wrong, as browsers assume.
        text_codec = info is not None and getattr(info, "_is_text_encoding", True)
        if info is not None and text_codec and not info.name.startswith(("utf-16", "utf-32", "utf-8")):
            encoding = info.name
    try:
        text = raw.decode(encoding)
        warnings = [] if declared else ["not UTF-8 and no charset declared: read as Windows-1252"]
    except (UnicodeDecodeError, LookupError):
        text = raw.decode("utf-8", errors="replace")
        warnings = ["invalid bytes for its declared character set were replaced"]
    _reject_binary(path, text)
    return text, warnings


def _load_html(path: Path, raw: bytes) -> Extracted:
    """The main text of a page. lxml's C parser (linear on any input; the stdlib parser is quadratic on some)."""
    from lxml import etree, html

    text, warnings = _decode_html(path, raw)
    parser = html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True)
    try:
        root = etree.fromstring(text.encode("utf-8", errors="replace"), parser)
    except etree.LxmlError as exc:
        raise DocumentError(path, f"unreadable HTML ({exc})") from None
    if any("Excessive depth" in entry.message for entry in parser.error_log):
        warnings.append("nested more than 2,048 elements deep: the text after that point was not read")
    page = _HTMLText()
    if root is not None:
        for event, element in etree.iterwalk(root, events=("start", "end")):
            tag = element.tag
            if not isinstance(tag, str):
                continue
            if event == "start":
                page.start(tag.lower(), {str(k).lower(): str(v) for k, v in element.attrib.items()})
                if element.text:
                    page.data(element.text)
            else:
                page.end(tag.lower())
                if element.tail:
                    page.data(element.tail)
    body, sections, title = page.result()
    return Extracted(body, title, sections=tuple(sections), warnings=tuple(warnings))


# ---------------------------------------------------------------------------------------------------------------
# PDF (pypdf)


def _useful_title(title: Any) -> str | None:
    """A metadata title worth showing: not empty, not a file name, not 'Microsoft Word - draft3.docx'."""
    if not isinstance(title, str):
        return None
    title = _one_line(_JUNK.sub(" ", title))
    if not title or len(title) > 200 or re.search(r"\.(docx?|pdf|odt|rtf|txt|indd|tex)$", title, re.IGNORECASE):
        return None
    if re.match(r"(microsoft (word|powerpoint) - |untitled)", title, re.IGNORECASE):
        return None
    return title


def _pdf_outline(reader: Any, pages: list[str], starts: list[int]) -> list[tuple[int, str]]:
    """Bookmarks as sections: at the heading's text on its page when found there, else at the page start."""
    sections: list[tuple[int, str]] = []
    pending: list[Any] = [reader.outline]
    while pending and len(sections) < 10_000:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
            continue
        title = _one_line(_JUNK.sub(" ", str(getattr(item, "title", "") or "")))
        number = reader.get_destination_page_number(item)
        if not title or number is None or not 0 <= number < len(pages) or not pages[number]:
            continue
        found = pages[number].lower().find(title.lower())
        sections.append((starts[number] + max(found, 0), title))
    return sorted(set(sections))


def _load_pdf(path: Path, raw: bytes) -> Extracted:
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise DocumentError(path, "PDF support needs the 'pypdf' package") from None
    if b"%PDF-" not in raw[:1024]:
        raise DocumentError(path, "not a PDF file (no %PDF- header)")
    warnings: list[str] = []
    # pypdf parses untrusted bytes and can raise almost any exception type on a damaged file; each is a reason.
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError:
                raise DocumentError(path, "encrypted PDF (AES): opening it needs the 'cryptography' package") from None
            if not opened:
                raise DocumentError(path, "encrypted PDF: it needs a password; save an unprotected copy")
        page_count = len(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:
        logger.debug("pypdf failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    if page_count == 0:
        raise DocumentError(path, "PDF without pages")
    texts: list[str] = []
    for number in range(1, page_count + 1):
        try:
            page_text = reader.pages[number - 1].extract_text() or ""
        except Exception as exc:  # one damaged page costs that page, not the document
            logger.debug("pypdf failed on page %d of %s", number, path, exc_info=True)
            warnings.append(f"page {number} could not be read ({type(exc).__name__})")
            texts.append("")
            continue
        page_text = _JUNK.sub(" ", page_text.replace("\r\n", "\n").replace("\r", "\n")).strip()
        if not page_text:
            warnings.append(f"page {number} has no text (scanned image?)")
        texts.append(page_text)
    starts: list[int] = []
    offset = 0
    for page_text in texts:
        starts.append(offset)
        offset += len(page_text) + 2
    title = None
    sections: list[tuple[int, str]] = []
    try:
        title = _useful_title(reader.metadata.title if reader.metadata else None)
        sections = _pdf_outline(reader, texts, starts)
    except Exception:
        logger.debug("unreadable metadata or outline in %s", path, exc_info=True)
    return Extracted("\n\n".join(texts), title, tuple(starts), tuple(sections), tuple(warnings))


# ---------------------------------------------------------------------------------------------------------------
# DOCX (python-docx)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_DOCX_SKIP = frozenset({f"{_W}del", f"{_W}moveFrom", f"{_W}txbxContent", _MC_FALLBACK, f"{_W}instrText"})
_DOCX_WRAPPERS = frozenset({f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}ins", f"{_W}moveTo",
                            f"{_W}smartTag"})  # fmt: skip
_MAX_UNZIPPED = 512 * 1024 * 1024
"""A .docx whose parts unzip to more than this is refused: a zip bomb, or no document worth reading."""


def _docx_children(element: Any, wanted: str) -> Iterator[Any]:
    """Children of ``element`` with tag ``wanted``, looking through content controls and revision wrappers."""
    pending = list(reversed(element))
    while pending:
        child = pending.pop()
        if child.tag == wanted:
            yield child
        elif child.tag in _DOCX_WRAPPERS:
            pending.extend(reversed(child))


def _docx_paragraph_text(paragraph: Any) -> str:
    """The visible text of one w:p: runs, hyperlinks, fields and tracked insertions; not deletions or text boxes."""
    parts: list[str] = []
    pending = list(reversed(paragraph))
    while pending:
        element = pending.pop()
        tag = element.tag
        if not isinstance(tag, str) or tag in _DOCX_SKIP:
            continue
        if tag == f"{_W}t":
            parts.append(element.text or "")
        elif tag == f"{_W}tab":
            parts.append("\t")
        elif tag in {f"{_W}br", f"{_W}cr"}:
            parts.append("\n")
        elif tag == f"{_W}noBreakHyphen":
            parts.append("-")
        elif tag != f"{_W}pPr":
            pending.extend(reversed(element))
    return "".join(parts)


def _sets_outline_level(element: Any) -> bool:
    """True if a paragraph or style declares an outline level (0-8): Word's own mark of a heading."""
    level = element.find(f"{_W}pPr/{_W}outlineLvl")
    value = level.get(f"{_W}val") if level is not None else None
    return bool(value and value.isdigit() and int(value) < 9)


def _docx_heading_styles(document: Any) -> dict[str, bool]:
    """Heading style ids -> whether the style is 'Title'. Names are matched, as ids are translated in localised Word."""
    headings: dict[str, bool] = {}
    for style in document.styles.element.iterchildren(f"{_W}style"):
        name_element = style.find(f"{_W}name")
        name = ((name_element.get(f"{_W}val") if name_element is not None else "") or "").strip().lower()
        if re.fullmatch(r"heading \d|title", name) or _sets_outline_level(style):
            headings[style.get(f"{_W}styleId") or ""] = name == "title"
    return headings


def _docx_blocks(document: Any, out: _Blocks) -> str | None:
    """Paragraphs and tables of the body in order into ``out``; returns the first Title-style paragraph."""
    headings = _docx_heading_styles(document)
    title: str | None = None
    body = document.element.body
    for element in body.iter(f"{_W}p", f"{_W}tbl"):
        # Only top-level paragraphs and tables (through wrappers): skip those nested in tables or text boxes.
        parent = element.getparent()
        while parent is not None and parent.tag in _DOCX_WRAPPERS:
            parent = parent.getparent()
        if parent is not body:
            continue
        if element.tag == f"{_W}tbl":
            rows = []
            for row in _docx_children(element, f"{_W}tr"):
                cells = []
                for cell in _docx_children(row, f"{_W}tc"):
                    cells.append(_one_line(" ".join(_docx_paragraph_text(p) for p in cell.iter(f"{_W}p"))))
                if any(cells):
                    rows.append(" | ".join(cells))
            out.add("\n".join(rows))
            continue
        text = _docx_paragraph_text(element)
        style = element.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(f"{_W}val") if style is not None else None
        if style_id in headings or _sets_outline_level(element):
            out.add(_one_line(text), heading=True)
            if title is None and headings.get(style_id or ""):
                title = _one_line(text) or None
        else:
            out.add(text)
    return title


def _load_docx(path: Path, raw: bytes) -> Extracted:
    import zipfile

    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise DocumentError(
            path, "an old binary Word file or a password-protected .docx; save it as an unprotected .docx"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
            names = set(archive.namelist())
    except Exception as exc:  # zipfile raises BadZipFile, NotImplementedError, ValueError... on damaged archives
        raise DocumentError(path, f"not a valid .docx file (damaged ZIP package: {exc})") from None
    if unzipped > _MAX_UNZIPPED:
        raise DocumentError(path, f".docx unzips to {unzipped:,} bytes (limit {_MAX_UNZIPPED:,}): a zip bomb?")
    if "word/document.xml" not in names and "[Content_Types].xml" not in names:
        raise DocumentError(path, "not a Word document (a ZIP file without word/document.xml)")
    try:
        import docx
    except ImportError:  # pragma: no cover - python-docx is a dependency
        raise DocumentError(path, "DOCX support needs the 'python-docx' package") from None
    out = _Blocks()
    # python-docx and lxml parse untrusted XML and can raise many exception types on a damaged file.
    try:
        document = docx.Document(io.BytesIO(raw))
        first_title = _docx_blocks(document, out)
        title = _useful_title(document.core_properties.title) or first_title
    except Exception as exc:
        logger.debug("python-docx failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable .docx ({type(exc).__name__}: {exc})") from None
    return Extracted(out.text(), title, sections=tuple(out.sections))


LOADERS: dict[str, Loader] = {
    ".txt": _load_text,
    ".text": _load_text,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".xhtml": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
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


def load_file(path: Path, source: str | None = None, max_bytes: int = 50_000_000) -> Document:
    """Load one file. Raises :class:`DocumentError` naming the file and the reason it cannot be used."""
    path = Path(path)
    suffix = path.suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise DocumentError(
            path, f"unsupported file type '{path.suffix or path.name}' (supported: {', '.join(sorted(LOADERS))})"
        )
    raw = _read(path, max_bytes)
    if not raw.strip():
        raise DocumentError(path, "empty file")
    try:
        extracted = loader(path, raw)
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
        if suffix == ".pdf":
            reason += " (scanned PDF without a text layer?)"
        raise DocumentError(path, reason)
    if extracted.warnings:
        logger.warning("%s: %s", path, "; ".join(extracted.warnings))
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
