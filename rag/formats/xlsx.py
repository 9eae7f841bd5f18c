"""XLSX (openpyxl): each worksheet a table, written as the other formats write theirs ("cell | cell" per row),
under its sheet's name as a heading when the workbook has more than one. Cells are read as Excel last showed
them (a formula's cached value); empty rows and the empty columns around a sheet's data are left out."""

from __future__ import annotations

import datetime as dt
import io
import logging
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _check_office_zip, _one_line, _useful_title

logger = logging.getLogger(__name__)


def _cell(value: Any) -> str:
    """A cell as a person reads it: 95 not 95.0, a date without a midnight time, no line breaks or "|"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return _one_line(str(value)).replace("|", "/")


def _table(rows: list[list[str]]) -> str:
    """The rows that say something, without the columns that are empty in every one of them."""
    rows = [row for row in rows if any(row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    used = [c for c in range(width) if any(row[c] for row in rows)]
    first, last = used[0], used[-1]
    return "\n".join(" | ".join(row[first : last + 1]).rstrip() for row in rows)


def load(path: Path, raw: bytes) -> Extracted:
    _check_office_zip(path, raw, "Excel", "xl/workbook.xml")
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise DocumentError(path, "XLSX support needs the 'openpyxl' package") from None
    # openpyxl parses untrusted XML and can raise many exception types on a damaged file.
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        try:
            sheets = [
                (sheet.title, _table([[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]))
                for sheet in workbook.worksheets
            ]
            title = _useful_title(workbook.properties.title)
        finally:
            workbook.close()
    except Exception as exc:
        logger.debug("openpyxl failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable .xlsx ({type(exc).__name__}: {exc})") from None
    sheets = [(name, table) for name, table in sheets if table]
    out = _Blocks()
    for name, table in sheets:
        if len(sheets) > 1:
            out.add(name, heading=True)
        out.add(table)
    return Extracted(
        out.text(), title or path.stem.replace("_", " ").replace("-", " ").strip() or None, sections=tuple(out.sections)
    )
