"""CSV and TSV: a table, written as the other formats write theirs ("cell | cell | cell" per row, the header row
first), so each row is read with its columns' names and never cut from them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from rag.errors import DocumentError
from rag.formats.common import Extracted, _decode, _one_line

DELIMITERS = ",;\t|"


def load(path: Path, raw: bytes) -> Extracted:
    text = _decode(path, raw)
    if path.suffix.lower() == ".tsv":
        delimiter = "\t"
    else:
        try:  # "1,5;2,5" in Europe: the sniffer sees which of the usual delimiters splits every line alike
            delimiter = csv.Sniffer().sniff(text[:20_000], DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise DocumentError(path, f"not a readable CSV table: {exc}") from None
    lines = []
    for row in rows:
        cells = [_one_line(cell).replace("|", "/") for cell in row]  # a "|" in a cell would split it in two
        if any(cells):
            lines.append(" | ".join(cells))
    return Extracted("\n".join(lines), title=path.stem.replace("_", " ").replace("-", " ").strip() or None)
