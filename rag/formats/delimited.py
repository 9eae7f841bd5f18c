"""CSV and TSV: a table, written as the other formats write theirs ("cell | cell | cell" per row, the header row
first), so each row is read with its columns' names and never cut from them."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Literal

from rag.formats.common import Extracted, _decode, _name_as_title, _one_line

VERSION = 1
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


DELIMITERS = ",;\t|"


def load(path: Path, raw: bytes) -> Extracted:
    text = _decode(path, raw)
    title = _name_as_title(path)
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        try:  # "1,5;2,5" in Europe: the sniffer sees which of the usual delimiters splits every line alike
            delimiter = csv.Sniffer().sniff(text[:20_000], DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    lines = sum(1 for line in text.splitlines() if line.strip())
    rows = _rows(text, delimiter, csv.QUOTE_MINIMAL)
    if rows is None or len(rows) < lines / 2:  # a stray quote swallowed the rest of the file into one cell
        rows = _rows(text, delimiter, csv.QUOTE_NONE)
    header = rows[0] if rows else []
    sentences = any(len(cell.split()) > 5 for cell in header)  # a header names columns in a few words
    if rows is None or len(header) < 2 or sentences or sum(len(r) == len(header) for r in rows) < 0.8 * len(rows):
        return Extracted(text, title=title)  # not a table after all (sentences with commas): read as text
    table = []
    for row in rows:
        cells = [_one_line(cell).replace("|", "/") for cell in row]  # a "|" in a cell would split it in two
        if any(cells):
            table.append(" | ".join(cells))
    return Extracted("\n".join(table), title=title)


def _rows(text: str, delimiter: str, quoting: Literal[0, 1, 2, 3]) -> list[list[str]] | None:
    """The rows of ``text``, without the empty ones; None when the csv module cannot read it (a cell too large)."""
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting) if row]
    except csv.Error:
        return None
