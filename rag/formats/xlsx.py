"""XLSX (openpyxl): each visible worksheet a table, written as the other formats write theirs ("cell | cell" per
row), under its sheet's name as a heading when the workbook has more than one. Cells read as Excel shows them:
a formula's saved result, numbers in their cell's format (40.0%, €45,000.50, 1,235K), dates without a midnight
time. A title above a table (a row of one cell, merged across columns or not) is its heading, not its header;
empty rows and the empty columns around a sheet's data are left out; hidden sheets are not read (a warning names
them).

Sheets are streamed (openpyxl's read-only mode, their declared size ignored: it may be stale or absurd), at most
:data:`MAX_CELLS` cells per workbook."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import math
import re
import zipfile
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _check_office_zip, _name_as_title, _one_line, _useful_title

VERSION = 2
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


logger = logging.getLogger(__name__)

MAX_CELLS = 1_000_000
"""Cells visited per workbook, empty ones included and an empty row counted as one (a 1 MB file can declare
millions of styled empty cells, or one cell ten million rows down); a sheet that reaches it is cut short with a
warning."""

_FORMAT_TOKEN = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]|[0#?][0#?,.]*|.', re.DOTALL)
"""A number format's pieces: quoted text, an escaped character, padding (_x) and fill (*x), a [bracket] (colour,
condition, or [$€-407] currency), a run of digit placeholders, or one literal character."""
_FORMULA = re.compile(rb"<(?:\w+:)?f[ >/]")
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell ref="([A-Z]+)(\d+):([A-Z]+)(\d+)"')


def _number(value: float, number_format: str | None) -> str:
    """``value`` as a cell in ``number_format`` shows it, for the usual formats: decimals (rounded half up, as
    Excel does), thousands separators, thousands scaling ("#,##0," shows 1234567 as 1,235), percent, currency
    and other literal text ("0.0%", '"€"#,##0.00', "#,##0 [$EUR]"); "General" and the rest (scientific,
    fractions) as a person would write the number."""
    section = (number_format or "General").split(";")[0]
    if section.lower() in ("general", "") or re.search(r"[Ee][+-]|\?/", section):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.10g}"
    prefix, suffix, digits, percent = "", "", "", False
    for token in _FORMAT_TOKEN.findall(section):
        text = ""
        if token[0] in "0#?":
            digits = digits or token
            continue
        if token.startswith('"'):
            text = token[1:-1]
        elif token.startswith("\\"):
            text = token[1:]
        elif token.startswith("[$"):
            text = token[2:-1].split("-")[0]
        elif token.startswith(("_", "*", "[")):
            continue
        else:
            text = token
            percent = percent or token == "%"
        if digits:
            suffix += text
        else:
            prefix += text
    if not digits:
        return f"{value:.10g}"
    scaled = len(digits) - len(digits.rstrip(","))  # each comma after the digits divides by 1,000
    digits = digits.rstrip(",")
    whole, _, fraction = digits.partition(".")
    decimals = sum(1 for ch in fraction if ch in "0#?")
    if not math.isfinite(value):
        return f"{value}"
    exact = localcontext(prec=400)  # enough for any double (~1e308) at Excel's 30 decimals: quantize never fails
    with exact:
        shown = Decimal(repr(value)) * (100 if percent else 1) / (Decimal(1000) ** scaled)
        rounded = shown.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    number = f"{rounded:{',' if ',' in whole else ''}.{decimals}f}"
    return f"{prefix}{number}{suffix}".strip()


def _cell(value: Any, number_format: str | None = None) -> str:
    """A cell as a person reads it: no line breaks, no "|" (it would split the row)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _number(float(value), number_format)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return _one_line(str(value)).replace("|", "/")


def _sheet_xml(archive: zipfile.ZipFile, member: str | None) -> tuple[bool, set[int]]:
    """Whether a sheet's XML holds formulas, and the first rows of its cells merged across columns (a title's), read
    in pieces (a sheet may unzip to hundreds of MB). Unknown sheet: formulas assumed, no merged rows."""
    if member is None or member not in archive.namelist():
        return True, set()
    formulas, merged, tail = False, set(), b""
    with archive.open(member) as xml:
        while chunk := xml.read(1 << 20):
            data = tail + chunk
            formulas = formulas or _FORMULA.search(data) is not None
            for first_column, first_row, last_column, _ in _MERGE.findall(data):
                if first_column != last_column:  # across columns (over one row or more: "A1:D2")
                    merged.add(int(first_row))
            tail = data[-256:]
    return formulas, merged


def _rows(values: Any, formulas: Any | None, budget: list[int]) -> Iterator[tuple[int, list[str], int]]:
    """(row number, cells as shown, cells with an unsaved formula) of each row that says something, read from
    the cached values, with the formula itself where a formula has no saved result (a file written by a program,
    not saved by Excel). ``budget`` ([cells left]) is spent on every cell visited."""
    values.reset_dimensions()  # read what the sheet holds, not the size it declares
    pairs: Iterator[tuple[Any, Any]]
    if formulas is None:
        pairs = ((row, row) for row in values.iter_rows())
    else:
        formulas.reset_dimensions()
        pairs = zip(values.iter_rows(), formulas.iter_rows(), strict=False)
    for shown, written in pairs:
        budget[0] -= max(len(shown), 1)  # an empty row filling a gap costs too: "A10000000" alone is 10M rows
        if budget[0] < 0:
            return
        row, unsaved = [], 0
        for cell, source in zip(shown, written, strict=False):
            if cell.value is None and formulas is not None and getattr(source, "data_type", None) == "f":
                unsaved += 1
                row.append(_cell(source.value))
            else:
                row.append(_cell(cell.value, getattr(cell, "number_format", None)))
        if any(row):
            yield next((c.row for c in shown if getattr(c, "row", None)), 0), row, unsaved


def _table(rows: list[tuple[int, list[str]]], merged: set[int]) -> tuple[list[str], str]:
    """The titles above a table (leading rows of one cell merged across columns) and its rows, without the
    columns that are empty in every row."""
    if not rows:
        return [], ""
    width = max(len(cells) for _, cells in rows)
    padded = [(number, cells + [""] * (width - len(cells))) for number, cells in rows]
    used = [c for c in range(width) if any(cells[c] for _, cells in padded)]
    table = [(number, [cells[c] for c in used]) for number, cells in padded]
    # a title over the table that is not merged across it ("Formulary 2025 - Cost Sharing by Tier" typed in A1,
    # then the header row): words alone in the first row, with several cells under them (not a sparse table's
    # first rows, "Apples |" / "Pears |", nor a figure)
    first = [cell for cell in table[0][1] if cell]
    unmerged = (
        len(table) > 1
        and len(first) == 1
        and len(first[0].split()) >= 2
        and not _NUMBER.fullmatch(first[0])
        and sum(1 for cell in table[1][1] if cell) > 1
    )
    titles: list[str] = []
    while len(table) > 1 and (table[0][0] in merged or unmerged) and sum(1 for cell in table[0][1] if cell) == 1:
        titles.append(next(cell for cell in table.pop(0)[1] if cell))
    return titles, "\n".join(" | ".join(cells).rstrip() for _, cells in table)


_NUMBER = re.compile(r"[-+$€£¥]?\s?[\d.,]+\s?[%$€£¥]?")
"""A cell that is a figure, never a title."""


def load(path: Path, raw: bytes) -> Extracted:
    _check_office_zip(path, raw, "Excel", "xl/workbook.xml")
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise DocumentError(path, "XLSX support needs the 'openpyxl' package") from None
    sheets: list[tuple[str, list[str], str]] = []
    warnings: list[str] = []
    budget, unsaved = [MAX_CELLS], 0
    # openpyxl parses untrusted XML and can raise many exception types on a damaged file.
    try:
        with contextlib.ExitStack() as stack, zipfile.ZipFile(io.BytesIO(raw)) as archive:
            values = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
            stack.callback(values.close)
            formulas = None
            for sheet in values.worksheets:
                if sheet.sheet_state != "visible":
                    warnings.append(f"hidden sheet {sheet.title!r} not read")
                    continue
                has_formulas, merged = _sheet_xml(archive, getattr(sheet, "_worksheet_path", None))
                if has_formulas and formulas is None:  # parsed again only when some sheet has formulas
                    formulas = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
                    stack.callback(formulas.close)
                written = formulas[sheet.title] if has_formulas and formulas is not None else None
                rows = []
                for number, cells, missing in _rows(sheet, written, budget):
                    rows.append((number, cells))
                    unsaved += missing
                if budget[0] < 0:
                    warnings.append(f"sheet {sheet.title!r} cut short: the workbook has over {MAX_CELLS:,} cells")
                sheets.append((sheet.title, *_table(rows, merged)))
                if budget[0] < 0:
                    break
            title = _useful_title(values.properties.title)
    except Exception as exc:
        logger.debug("openpyxl failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable .xlsx ({type(exc).__name__}: {exc})") from None
    if unsaved:
        warnings.append(
            f"{unsaved} formula cells have no saved result (the file was not saved by Excel): read as formulas"
        )
    out = _Blocks()
    add_sheets(out, sheets)
    return Extracted(out.text(), title or _name_as_title(path), sections=tuple(out.sections), warnings=tuple(warnings))


def add_sheets(out: _Blocks, sheets: list[tuple[str, list[str], str]]) -> None:
    """Each sheet that holds a table (name, the titles above it, its rows) into ``out``: its titles as headings,
    under its name when the workbook has more than one such sheet."""
    sheets = [sheet for sheet in sheets if sheet[2]]
    for name, titles, table in sheets:
        if len(sheets) > 1:
            out.add(name, heading=True)
        for line in titles:
            out.add(line, heading=True)
        out.add(table)
