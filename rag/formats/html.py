"""HTML: the main text of a page, without menus, navigation, footers, scripts or hidden elements (a header or
footer of text without links, such as an address and opening hours, is kept)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from rag.errors import DocumentError
from rag.formats.common import _JUNK, Extracted, _Blocks, _decode, _one_line, _reject_binary, heading_paths

VERSION = 3
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


_SPACES = re.compile(r"[^\S\n]+")

_HARD = 1  # never text: scripts, styles, form controls, hidden elements
_BOILER = 2  # navigation, headers, footers, sidebars, cookie banners (counted from the innermost main element)
_MAIN = 4  # inside <main>, <article> or role="main"

_CELL = "\x1f"  # marks the start of a table cell inside a row block


class _Piece(NamedTuple):
    block: int
    text: str
    mode: int
    edge: int = -1
    """The page header or footer it stands in (an index into ``_HTMLText.edges``), or -1."""


class _Frame(NamedTuple):
    tag: str
    mode: int
    mains: int
    """How many main/article elements enclose this one (itself included)."""
    edge: int = -1
    """The page header or footer it stands in, or -1 (also inside a menu within one)."""


@dataclass
class _Edge:
    """What a page's <header> or <footer> holds: links make it navigation; blocks of text with few (a footer of
    each site's address, phone and opening hours, and a "Privacy" link) make it content."""

    chars: int = 0
    linked: int = 0
    """Characters of its text inside links."""
    blocks: set[int] = field(default_factory=set)

    @property
    def is_content(self) -> bool:
        """Two blocks of text or more, 40 characters at least, a fifth of them in links at most ("Copyright 2024
        …", one line, and a menu of links are not)."""
        return len(self.blocks) >= 2 and self.chars >= 40 and self.linked * 5 <= self.chars


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
        self._lists: list[list[int]] = []
        """Each open list: [ordered (0 or 1), items so far]; a list item's text starts with its mark ("- ", "2. ")."""
        self._mark = ""
        self.levels: dict[int, int] = {}
        """The level of each heading block (1 for <h1>)."""
        self.edges: list[_Edge] = []

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
        edge = parent.edge
        if boiler and tag in {"header", "footer"} and not parent.mode & _BOILER:
            edge = len(self.edges)
            self.edges.append(_Edge())
        elif boiler or main:
            edge = -1  # a menu inside a footer stays out
        self._stack.append(_Frame(tag, mode, parent.mains + main, edge))
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
            self.levels[len(self.kinds) - 1] = int(tag[1])
        elif tag == "tr":
            self._block("row")
        elif tag in {"td", "th"}:
            if self.kinds[-1] == "row":
                self.pieces.append(_Piece(len(self.kinds) - 1, _CELL, 0))
            else:
                self._block()
            self._cells = 1
        elif tag in self.BLOCK:
            self._block("li" if tag == "li" else "p")
        if tag in {"ol", "ul"} and not self._cells:
            start = attrs.get("start", "").strip()
            self._lists.append([tag == "ol", int(start) - 1 if start.isdigit() and tag == "ol" else 0])
        elif tag == "li" and not self._cells and self._lists:
            self._lists[-1][1] += 1
            self._mark = f"{self._lists[-1][1]}. " if self._lists[-1][0] else "- "

    def end(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        if self._stack:
            self._stack.pop()
        if tag == "pre":
            self._pre -= 1
        if tag in {"ol", "ul"} and not self._cells and self._lists:
            self._lists.pop()
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
        text = _JUNK.sub("", text)
        if self._mark and text.strip():  # a list item's first words: its mark before them
            text, self._mark = self._mark + text.lstrip(), ""
        self._add(text)

    def _add(self, text: str) -> None:
        if text:
            top = self._top
            self.pieces.append(_Piece(len(self.kinds) - 1, text, top.mode, top.edge))
            if top.edge >= 0 and text.strip():
                edge = self.edges[top.edge]
                edge.blocks.add(len(self.kinds) - 1)
                edge.chars += len(text.strip())
                if any(frame.tag == "a" for frame in self._stack[-8:]):
                    edge.linked += len(text.strip())

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
        # a header or footer of text, not links, is the page's too: each site's address and phone in a restaurant's
        # footer, "Menu valid from 10 February 2025" under its title
        kept = {n for n, edge in enumerate(self.edges) if edge.is_content}
        blocks: dict[int, list[str]] = {}
        for piece in self.pieces:
            if piece.text == _CELL or keep(piece.mode) or (piece.edge in kept and not piece.mode & _HARD):
                blocks.setdefault(piece.block, []).append(piece.text)
        out = _Blocks()
        levels: list[int] = []
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
                if len(out.sections) > len(levels):
                    levels.append(self.levels.get(block, 1))
            elif kind == "pre":
                out.add("\n".join(line.rstrip() for line in "".join(parts).split("\n")).strip("\n"))
            else:
                lines = (line.strip() for line in "".join(parts).split("\n"))
                # a list's items line by line, as Markdown writes them
                out.add(
                    "\n".join(line for line in lines if line),
                    separator="\n" if kind == previous_kind == "li" else "\n\n",
                )
            if len(out.parts) != before:
                previous_kind = kind
        sections = heading_paths(
            [(at, heading, level) for (at, heading), level in zip(out.sections, levels, strict=True)]
        )
        return out.text(), list(sections), _one_line("".join(self.title_parts)) or None


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


def load(path: Path, raw: bytes) -> Extracted:
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
