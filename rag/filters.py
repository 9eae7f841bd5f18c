"""Metadata filters: restrict retrieval to some documents, by source, folder, title or file type.

A filter is written as a mapping, the same in Python, the CLI (``--filter folder=reports``) and on every store
backend::

    {"folder": "reports/2024"}                      # documents under that folder (recursively)
    {"source": ["a.txt", "b.md"], "type": "md"}     # any of the values of a key; all keys must hold

Both backends apply the filter inside the search itself (FAISS with an id selector, PostgreSQL in the query),
so a selective filter still returns its ``top_k`` best passages instead of what is left of an unfiltered list.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

FIELDS = ("source", "folder", "title", "type")
"""``source``: the path relative to the documents folder; ``folder``: a folder it lies under; ``title``: the
document's title; ``type``: its file suffix without the dot (``pdf``, ``md``...)."""

FilterSpec = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class Filter:
    """A parsed filter: each field holds the values allowed (empty: any); a document must pass every field."""

    source: tuple[str, ...] = ()
    folder: tuple[str, ...] = ()
    title: tuple[str, ...] = ()
    type: tuple[str, ...] = ()

    @classmethod
    def of(cls, spec: FilterSpec | Filter | None, root: Path | None = None) -> Filter | None:
        """Parse ``spec``; None or an empty mapping means no filter. Raises ValueError naming a bad key.
        Paths (``source``, ``folder``) are taken as typed in a shell too: "./reports/", a path under ``root``
        (the documents folder) given whole, Unicode in either normal form (macOS types "é" as two points)."""
        if spec is None or isinstance(spec, Filter):
            return spec
        if not isinstance(spec, Mapping):
            raise ValueError(f"a filter is a mapping of {', '.join(FIELDS)} to values, not {spec!r}")
        values: dict[str, tuple[str, ...]] = {}
        for key, raw in spec.items():
            if key not in FIELDS:
                raise ValueError(f"unknown filter field {key!r}: use one of {', '.join(FIELDS)}")
            items = (raw,) if isinstance(raw, str) else tuple(raw) if isinstance(raw, Sequence) else ()
            if not items or not all(isinstance(v, str) and v.strip() for v in items):
                raise ValueError(f"filter field {key!r} needs one or more non-empty strings, not {raw!r}")
            if key in ("source", "folder"):
                items = tuple(_path(v, root) for v in items)
            elif key == "type":
                items = tuple(v.strip().lstrip(".").lower() for v in items)
            values[key] = items
        return cls(**values) if values else None

    def matches(self, source: str, title: str) -> bool:
        """Whether a document with this ``source`` and ``title`` passes the filter."""
        if self.source and source not in self.source:
            return False
        if self.folder and not any(f == "" or source.startswith(f + "/") for f in self.folder):
            return False
        if self.title and title not in self.title:
            return False
        return not self.type or suffix(source) in self.type


def _path(value: str, root: Path | None) -> str:
    """A source or folder as the index names it: relative to ``root``, with "/", NFC, no "./" or end slash."""
    value = unicodedata.normalize("NFC", value.strip())
    if root is not None and value.startswith(("/", "~")):
        folder = root.expanduser().resolve()
        path = Path(value).expanduser().resolve()
        if path == folder:
            return ""
        if path.is_relative_to(folder):
            value = path.relative_to(folder).as_posix()
    while value.startswith("./"):
        value = value[2:]
    return value.strip("/")


def suffix(source: str) -> str:
    """The file type of ``source`` as filters name it: the suffix, lower case, without the dot."""
    name = source.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
