"""XLSX (openpyxl): each visible worksheet a table, written as the other formats write theirs ("cell | cell" per
row), under its sheet's name as a heading when the workbook has more than one. Cells read as Excel shows them:
a formula's saved result, numbers in their cell's format (40.0%, €45,000.50), dates without a midnight time. A
title row above a table (one cell, often merged across it) is its heading, not its header; empty rows and the
empty columns around a sheet's data are left out; hidden sheets are not read (a warning names them)."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _check_office_zip, _one_line, _useful_title

logger = logging.getLogger(__name__)

_FORMAT_TOKEN = re.compile(r'"[^"]*"|\\.|_.|\*.|\[[^\]]*\]|[0#?][0#?,.]*|.', re.DOTALL)
"""A number format's pieces: quoted text, an escaped character, padding (_x) and fill (*x), a [bracket] (colour,
condition, or [$€-407] currency), a run of digit placeholders, or one literal character."""


def _number(value: float, number_format: str | None) -> str:
    """``value`` as a cell in ``number_format`` shows it, for the usual formats: decimals, thousands separators,
    percent, currency and other literal text ("0.0%", '"€"#,##0.00', "#,##0 [$EUR]"); "General" and the rest
    (scientific, fractions) as a person would write the number."""
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
    shown = value * 100 if percent else value
    whole, _, fraction = digits.partition(".")
    decimals = sum(1 for ch in fraction if ch in "0#?")
    number = f"{shown:{',' if ',' in whole else ''}.{decimals}f}"
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


def _table(rows: list[list[str]]) -> tuple[list[str], str]:
    """The title rows above a table (rows of one cell while the table has several columns), and the rows that
    say something, without the columns that are empty in every one of them."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return [], ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    used = [c for c in range(width) if any(row[c] for row in rows)]
    rows = [[row[c] for c in used] for row in rows]
    titles: list[str] = []
    while len(used) > 1 and len(rows) > 2 and sum(1 for cell in rows[0] if cell) == 1:
        titles.append(next(cell for cell in rows.pop(0) if cell))
    return titles, "\n".join(" | ".join(row).rstrip() for row in rows)


def _sheet_rows(values: Any, formulas: Any) -> tuple[list[list[str]], int]:
    """The rows of one sheet as shown, read from its cached values, with the formula itself where a formula has
    no saved result (a file written by a program, not saved by Excel); and how many such cells there were."""
    rows, unsaved = [], 0
    for shown, written in zip(values.iter_rows(), formulas.iter_rows(), strict=False):
        row = []
        for cell, source in zip(shown, written, strict=False):
            if cell.value is None and getattr(source, "data_type", None) == "f":
                unsaved += 1
                row.append(_cell(source.value))
            else:
                row.append(_cell(cell.value, getattr(cell, "number_format", None)))
        rows.append(row)
    return rows, unsaved


def load(path: Path, raw: bytes) -> Extracted:
    _check_office_zip(path, raw, "Excel", "xl/workbook.xml")
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise DocumentError(path, "XLSX support needs the 'openpyxl' package") from None
    sheets: list[tuple[str, list[str], str]] = []
    warnings: list[str] = []
    # openpyxl parses untrusted XML and can raise many exception types on a damaged file.
    try:
        values = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
        try:
            unsaved = 0
            for shown, written in zip(values.worksheets, formulas.worksheets, strict=True):
                if shown.sheet_state != "visible":
                    warnings.append(f"hidden sheet {shown.title!r} not read")
                    continue
                rows, missing = _sheet_rows(shown, written)
                unsaved += missing
                sheets.append((shown.title, *_table(rows)))
            title = _useful_title(values.properties.title)
        finally:
            values.close()
            formulas.close()
    except Exception as exc:
        logger.debug("openpyxl failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable .xlsx ({type(exc).__name__}: {exc})") from None
    if unsaved:
        warnings.append(
            f"{unsaved} formula cells have no saved result (the file was not saved by Excel): read as formulas"
        )
    sheets = [sheet for sheet in sheets if sheet[2]]
    out = _Blocks()
    for name, titles, table in sheets:
        if len(sheets) > 1:
            out.add(name, heading=True)
        for line in titles:
            out.add(line, heading=True)
        out.add(table)
    stem = path.stem.replace("_", " ").replace("-", " ").strip() or None
    return Extracted(out.text(), title or stem, sections=tuple(out.sections), warnings=tuple(warnings))
