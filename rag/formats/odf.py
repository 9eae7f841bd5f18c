"""OpenDocument (LibreOffice, OpenOffice, and the export of Google Docs), read from the package's ``content.xml``
as the Office formats are read: a text document (.odt) as a Word file (headings by outline level, paragraphs,
lists, tables "cell | cell" per row and text boxes in order, then the footnotes and endnotes under headings of
their own; not the deleted text of tracked changes, comments or the table of contents); a spreadsheet (.ods) as
a workbook (each visible sheet a table, under its name when there are several; read row by row, so a large one
costs no tree in memory); a presentation (.odp) as slides (each a page, its title a heading, then its text
boxes and tables top to bottom, then the speaker's notes). What a file holds decides how it is read, not its
suffix. A password-protected file is refused."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _check_zip, _name_as_title, _one_line, _useful_title
from rag.formats.pptx import NO_TEXT
from rag.formats.xlsx import MAX_CELLS, _table, add_sheets

VERSION = 1
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""

SUFFIXES = (".odt", ".ods", ".odp")
MAX_TREE_BYTES = 128 * 1024 * 1024
"""A text document or presentation whose ``content.xml`` is larger than this is refused (it is parsed into a tree
of about ten times its size); spreadsheets are read row by row and have no such limit."""

_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_DRAW = "{urn:oasis:names:tc:opendocument:xmlns:drawing:1.0}"
_STYLE = "{urn:oasis:names:tc:opendocument:xmlns:style:1.0}"
_SVG = "{urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0}"
_PRESENTATION = "{urn:oasis:names:tc:opendocument:xmlns:presentation:1.0}"
_MANIFEST = "{urn:oasis:names:tc:opendocument:xmlns:manifest:1.0}"
_DC = "{http://purl.org/dc/elements/1.1/}"

_NOT_READ = frozenset(
    {
        f"{_TEXT}tracked-changes",  # the deleted text of tracked changes
        f"{_OFFICE}annotation",  # comments
        f"{_TEXT}table-of-content",  # the headings again, with page numbers
        f"{_TEXT}alphabetical-index",
        f"{_TEXT}illustration-index",
        f"{_TEXT}table-index",
        f"{_TEXT}note",  # footnotes: read after the body
        f"{_DRAW}frame",  # text boxes and shapes: read after their paragraph
        f"{_DRAW}custom-shape",
        f"{_DRAW}enhanced-geometry",
        f"{_OFFICE}forms",
    }
)
_NOT_SLIDE_TEXT = frozenset({"title", "page-number", "date-time", "footer", "header"})
"""Shapes of a slide read apart (its title) or not at all (what the master page fills in)."""
_UNITS_IN_CM = {"cm": 1.0, "mm": 0.1, "in": 2.54, "pt": 2.54 / 72, "pc": 2.54 / 6, "px": 2.54 / 96}
_LENGTH = re.compile(r"(-?[\d.]+)\s*([a-z]*)")
_KINDS = {f"{_OFFICE}text": "text", f"{_OFFICE}spreadsheet": "spreadsheet", f"{_OFFICE}presentation": "presentation"}
_PARSER_OPTIONS: dict[str, Any] = {"resolve_entities": False, "no_network": True, "load_dtd": False}


def _inline(element: Any, notes: list[Any] | None = None) -> str:
    """The text of a paragraph or heading as it is shown: spans, links and fields, ``text:s`` as spaces, tabs
    and line breaks; not comments, deleted text or text boxes. Its footnotes are appended to ``notes``."""
    parts: list[str] = [element.text or ""]
    for child in element:
        tag = child.tag
        if tag == f"{_TEXT}s":
            parts.append(" " * min(int(child.get(f"{_TEXT}c") or 1), 100))
        elif tag == f"{_TEXT}tab":
            parts.append("\t")
        elif tag == f"{_TEXT}line-break":
            parts.append("\n")
        elif tag == f"{_TEXT}note":
            if notes is not None:
                notes.append(child)
        elif isinstance(tag, str) and tag not in _NOT_READ:
            parts.append(_inline(child, notes))
        parts.append(child.tail or "")
    return "".join(parts)


def _paragraphs(element: Any) -> Iterator[Any]:
    """The paragraphs and headings inside ``element``, in order; not those of its comments or notes."""
    for child in element:
        if child.tag in (f"{_TEXT}p", f"{_TEXT}h"):
            yield child
        elif isinstance(child.tag, str) and child.tag not in _NOT_READ:
            yield from _paragraphs(child)


def _cell_text(cell: Any) -> str:
    """A cell as a person reads it: its paragraphs on one line, no "|" (it would split the row)."""
    text = " ".join(_one_line(_inline(p)) for p in _paragraphs(cell)).strip()
    return (text or (cell.get(f"{_OFFICE}value") or "").strip()).replace("|", "/")


def _table_rows(table: Any) -> str:
    """A text table as "cell | cell" rows; a cell spanning columns is one cell, its covered neighbours none."""
    rows = []
    for row in table.iter(f"{_TABLE}table-row"):
        if next(row.iterancestors(f"{_TABLE}table")) is not table:
            continue  # a row of a table nested in a cell: part of that cell's text
        cells = [_cell_text(cell) for cell in row.iterchildren(f"{_TABLE}table-cell")]
        if any(cells):
            rows.append(" | ".join(cells).rstrip())
    return "\n".join(rows)


_SHAPES = (f"{_DRAW}text-box", f"{_DRAW}custom-shape")


def _drawn_text(element: Any) -> Iterator[Any]:
    """The text boxes and text-bearing shapes inside ``element`` (call-outs, sidebars) that no other one inside
    it holds: a box in a box is read with the outer one."""
    for shape in element.iter(*_SHAPES):
        if shape is element:
            continue
        holder = shape.getparent()
        while holder is not None and holder is not element and holder.tag not in _SHAPES:
            holder = holder.getparent()
        if holder is None or holder is element:
            yield shape


def _slide_shapes(parent: Any) -> Iterator[Any]:
    """The frames and shapes of a slide, those of its groups (``draw:g``, at any depth) too."""
    for child in parent:
        if child.tag in (f"{_DRAW}frame", f"{_DRAW}custom-shape"):
            yield child
        elif child.tag == f"{_DRAW}g":
            yield from _slide_shapes(child)


def _blocks(parent: Any, out: _Blocks, notes: list[Any], titles: frozenset[str] = frozenset()) -> None:
    """The block content of ``parent`` (the body, a section, a list item, a text box) into ``out``, in order;
    paragraphs in a style of ``titles`` are headings."""
    for child in parent:
        tag = child.tag
        if tag == f"{_TEXT}h" or (tag == f"{_TEXT}p" and child.get(f"{_TEXT}style-name") in titles):
            out.add(_one_line(_inline(child, notes)), heading=True)
        elif tag == f"{_TEXT}p":
            out.add(_inline(child, notes))
        elif tag == f"{_TABLE}table":
            out.add(_table_rows(child))
        elif tag in (f"{_DRAW}frame", f"{_DRAW}custom-shape"):  # anchored to the page: its text
            for shape in _drawn_text(child):
                _blocks(shape, out, notes)
        elif isinstance(tag, str) and tag not in _NOT_READ:
            _blocks(child, out, notes, titles)  # lists, list items, sections, shapes
        if tag in (f"{_TEXT}h", f"{_TEXT}p"):
            for shape in _drawn_text(child):
                _blocks(shape, out, notes)


def _title_styles(root: Any) -> frozenset[str]:
    """The paragraph styles that are the "Title" style, or automatic styles (direct formatting) based on it."""
    names = {"Title"}
    for style in root.iter(f"{_STYLE}style"):
        if style.get(f"{_STYLE}parent-style-name") == "Title":
            names.add(style.get(f"{_STYLE}name") or "Title")
    return frozenset(names)


def _text_document(root: Any, body: Any, styles: Any | None, out: _Blocks) -> str | None:
    """The body, then its footnotes, endnotes and the lines of its page headers and footers, each group under a
    heading of its own (as in a Word file). Returns the body's first heading."""
    notes: list[Any] = []
    _blocks(body, out, notes, _title_styles(root))
    first = next((heading for _, heading in out.sections), None)
    groups: dict[str, list[str]] = {"Footnotes": [], "Endnotes": [], "Headers and footers": []}
    for note in notes:
        kind = (note.get(f"{_TEXT}note-class") or "footnote").capitalize()
        note_body = note.find(f"{_TEXT}note-body")
        text = " ".join(_one_line(_inline(p)) for p in _paragraphs(note_body)) if note_body is not None else ""
        if text.strip() and f"{kind}s" in groups:
            groups[f"{kind}s"].append(f"{kind} {len(groups[f'{kind}s']) + 1}: {text.strip()}")
    for part in styles.iter(f"{_STYLE}header", f"{_STYLE}footer") if styles is not None else []:
        for paragraph in _paragraphs(part):
            line = _one_line(_inline(paragraph))
            if len(re.findall(r"[^\W\d_]{2,}", line)) >= 2 and line not in groups["Headers and footers"]:
                groups["Headers and footers"].append(line)  # not a bare page number
    for heading, blocks in groups.items():
        if blocks:
            out.add(heading, heading=True)
            for block in blocks:
                out.add(block)
    return first


def _cm(length: str | None) -> float:
    match = _LENGTH.match(length or "")
    return float(match.group(1)) * _UNITS_IN_CM.get(match.group(2), 1.0) if match else 0.0


def _presentation(body: Any, out: _Blocks) -> tuple[list[int], list[tuple[int, str]], list[str]]:
    """Each slide's text into ``out``; returns where each slide starts, the headings of untitled slides and the
    warnings (slides without text)."""
    starts: list[int] = []
    sections: list[tuple[int, str]] = []
    warnings: list[str] = []
    for number, page in enumerate(body.iterchildren(f"{_DRAW}page"), start=1):
        starts.append(out.length + (2 if out.parts else 0))
        blocks = len(out.parts)
        shapes = list(_slide_shapes(page))
        titles = [s for s in shapes if s.get(f"{_PRESENTATION}class") == "title"]
        title = " ".join(_one_line(" ".join(_inline(p) for p in _paragraphs(s))) for s in titles).strip()
        if title:
            out.add(title, heading=True)
        others = [s for s in shapes if s.get(f"{_PRESENTATION}class") not in _NOT_SLIDE_TEXT]
        for shape in sorted(others, key=lambda s: (round(_cm(s.get(f"{_SVG}y")), 1), _cm(s.get(f"{_SVG}x")))):
            for table in shape.iterchildren(f"{_TABLE}table"):
                out.add(_table_rows(table))
            for box in [shape] if shape.tag == f"{_DRAW}custom-shape" else shape.iterchildren(f"{_DRAW}text-box"):
                box_blocks = _Blocks()
                _blocks(box, box_blocks, [])
                out.add(box_blocks.text().replace("\n\n", "\n"))  # one block, a line per paragraph
        for notes in page.iterchildren(f"{_PRESENTATION}notes"):
            frames = [f for f in notes.iter(f"{_DRAW}frame") if f.get(f"{_PRESENTATION}class") not in _NOT_SLIDE_TEXT]
            said = "\n".join(_inline(p) for frame in frames for p in _paragraphs(frame)).strip()
            if said:
                out.add(f"Notes: {said}")
        if len(out.parts) == blocks:
            warnings.append(f"slide {number} {NO_TEXT}")
        elif not title:
            sections.append((starts[-1], f"Slide {number}"))
    return starts, sections, warnings


def _hidden_table_styles(styles: Any) -> set[str]:
    return {
        style.get(f"{_STYLE}name") or ""
        for style in styles.iterchildren(f"{_STYLE}style")
        if style.get(f"{_STYLE}family") == "table"
        and any(p.get(f"{_TABLE}display") == "false" for p in style.iterchildren(f"{_STYLE}table-properties"))
    }


def _row_cells(row: Any, budget: int) -> tuple[dict[int, str], bool]:
    """One row's cells that hold text, by column (at most ``budget`` of them), and whether the row is a title: its
    one cell merged across columns. A repeated cell (how a sheet writes a run of equal or empty cells) counts
    as many columns; empty ones take no memory, however many a sheet declares."""
    cells: dict[int, str] = {}
    column, spanned = 0, False
    for cell in row.iterchildren(f"{_TABLE}table-cell", f"{_TABLE}covered-table-cell"):
        repeat = max(int(cell.get(f"{_TABLE}number-columns-repeated") or 1), 1)
        text = _cell_text(cell)
        if text:
            cells.update(dict.fromkeys(range(column, column + min(repeat, budget - len(cells))), text))
            spanned = spanned or int(cell.get(f"{_TABLE}number-columns-spanned") or 1) > 1
        column += repeat
        if len(cells) >= budget:
            break
    return cells, spanned and len(cells) == 1


def _sheet_table(rows: list[dict[int, str]], titles: set[int], name: str, warnings: list[str]) -> tuple[list[str], str]:
    """A sheet's rows (cells by column) as a table of the columns that hold text in some row: the titles above it
    and its rows, within :data:`MAX_CELLS` cells once laid out (rows beyond are cut, with a warning)."""
    used = sorted(set().union(*rows))
    fit = MAX_CELLS // max(len(used), 1)
    if len(rows) > fit:
        warnings.append(f"sheet {name!r} cut short: its rows span {len(used):,} columns")
        rows = rows[:fit]
    return _table([(n, [cells.get(c, "") for c in used]) for n, cells in enumerate(rows, 1)], titles)


def _free(element: Any) -> None:
    """Drop a streamed element that has been read, and the siblings read before it."""
    element.clear()
    while element.getprevious() is not None:
        del element.getparent()[0]


def _spreadsheet(content: Any, out: _Blocks, warnings: list[str]) -> None:
    """Each visible sheet as a table, read row by row from the ``content.xml`` stream; at most
    :data:`MAX_CELLS` cells, an empty row counted as one."""
    from lxml import etree

    hidden: set[str] = set()
    sheets: list[tuple[str, list[str], str]] = []
    name, rows, title_rows, depth, budget = "", list[dict[int, str]](), set[int](), 0, MAX_CELLS
    wanted = (f"{_OFFICE}automatic-styles", f"{_TABLE}table", f"{_TABLE}table-row")
    for event, element in etree.iterparse(content, events=("start", "end"), tag=wanted, **_PARSER_OPTIONS):
        if element.tag == f"{_TABLE}table":
            depth += 1 if event == "start" else -1
            if event == "start" and depth == 1:
                name, rows, title_rows = element.get(f"{_TABLE}name") or f"Sheet {len(sheets) + 1}", [], set()
            elif event == "end" and depth == 0:
                if element.get(f"{_TABLE}style-name") in hidden:
                    warnings.append(f"hidden sheet {name!r} not read")
                elif rows:
                    sheets.append((name, *_sheet_table(rows, title_rows, name, warnings)))
                _free(element)
        elif element.tag == f"{_TABLE}table-row" and event == "end" and depth == 1:  # not a nested table's
            if budget > 0:
                cells, title = _row_cells(element, budget)
                repeat = max(int(element.get(f"{_TABLE}number-rows-repeated") or 1), 1) if cells else 1
                for _ in range(min(repeat, budget // len(cells)) if cells else 0):
                    rows.append(cells)
                    if title:
                        title_rows.add(len(rows))
                budget -= max(len(cells) * repeat, 1)
                if budget <= 0:
                    warnings.append(f"sheet {name!r} cut short: the file has over {MAX_CELLS:,} cells")
            _free(element)
        elif element.tag == f"{_OFFICE}automatic-styles" and event == "end":
            hidden = _hidden_table_styles(element)
    add_sheets(out, sheets)


def _title(package: zipfile.ZipFile, names: set[str]) -> str | None:
    from lxml import etree

    if "meta.xml" not in names:
        return None
    meta = etree.fromstring(package.read("meta.xml"), etree.XMLParser(**_PARSER_OPTIONS))
    return _useful_title(meta.findtext(f".//{_DC}title"))


def _encrypted(package: zipfile.ZipFile, names: set[str]) -> bool:
    from lxml import etree

    if "META-INF/manifest.xml" not in names:
        return False
    manifest = etree.fromstring(package.read("META-INF/manifest.xml"), etree.XMLParser(**_PARSER_OPTIONS))
    return any(True for _ in manifest.iter(f"{_MANIFEST}encryption-data"))


def _kind(package: zipfile.ZipFile) -> str | None:
    """What the document is, from the element that opens its body (read only as far as that)."""
    from lxml import etree

    with package.open("content.xml") as content:
        for _, element in etree.iterparse(content, events=("start",), **_PARSER_OPTIONS):
            if element.tag in _KINDS:
                return _KINDS[element.tag]
    return None


def load(path: Path, raw: bytes) -> Extracted:
    suffix = path.suffix.lower() or ".odt"
    names = _check_zip(path, raw, "OpenDocument", "content.xml")
    from lxml import etree

    out = _Blocks()
    pages: tuple[int, ...] = ()
    sections: list[tuple[int, str]] = []
    warnings: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as package:
            if _encrypted(package, names):
                raise DocumentError(path, f"password-protected {suffix}: save it without a password to index it")
            kind = _kind(package)
            if kind == "spreadsheet":
                with package.open("content.xml") as content:
                    _spreadsheet(content, out, warnings)
            elif kind in ("text", "presentation"):
                if package.getinfo("content.xml").file_size > MAX_TREE_BYTES:
                    raise DocumentError(
                        path, f"its content.xml is over {MAX_TREE_BYTES // 2**20} MB: too large to read"
                    )
                root = etree.fromstring(package.read("content.xml"), etree.XMLParser(**_PARSER_OPTIONS))
                body = root.find(f"{_OFFICE}body/{_OFFICE}{kind}")
                if kind == "text":
                    styles = None
                    if "styles.xml" in names and package.getinfo("styles.xml").file_size <= MAX_TREE_BYTES:
                        styles = etree.fromstring(package.read("styles.xml"), etree.XMLParser(**_PARSER_OPTIONS))
                    first = _text_document(root, body, styles, out)
                else:
                    starts, sections, warnings = _presentation(body, out)
                    pages = tuple(min(start, out.length) for start in starts)
            else:
                raise DocumentError(path, "an OpenDocument drawing, chart or formula: only text documents, "
                                    "spreadsheets and presentations are read")  # fmt: skip
            title = _title(package, names)
    except DocumentError:
        raise
    except Exception as exc:  # zipfile and lxml raise many types on a damaged or hostile package
        raise DocumentError(path, f"unreadable {suffix} ({type(exc).__name__}: {exc})") from None
    if kind == "spreadsheet":
        first = _name_as_title(path)
    elif kind == "presentation":
        first = next((heading for _, heading in out.sections), None)  # the first slide's title
    return Extracted(out.text(), title or first, pages, tuple(sorted(out.sections + sections)), tuple(warnings))
