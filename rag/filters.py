"""Metadata filters: restrict retrieval to some documents, by source, folder, title or file type.

A filter is written as a mapping, the same in Python, the CLI (``--filter folder=reports``) and on every store
backend::

    {"folder": "reports/2024"}                      # documents under that folder (recursively)
    {"source": ["a.txt", "b.md"], "type": "md"}     # any of the values of a key; all keys must hold

Both backends apply the filter inside the search itself (FAISS with an id selector, PostgreSQL in the query),
so a selective filter still returns its ``top_k`` best passages instead of what is left of an unfiltered list.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    def of(cls, spec: FilterSpec | Filter | None) -> Filter | None:
        """Parse ``spec``; None or an empty mapping means no filter. Raises ValueError naming a bad key."""
        if spec is None or isinstance(spec, Filter):
            return spec
        values: dict[str, tuple[str, ...]] = {}
        for key, raw in spec.items():
            if key not in FIELDS:
                raise ValueError(f"unknown filter field {key!r}: use one of {', '.join(FIELDS)}")
            items = (raw,) if isinstance(raw, str) else tuple(raw)
            if not items or not all(isinstance(v, str) and v.strip() for v in items):
                raise ValueError(f"filter field {key!r} needs one or more non-empty strings, not {raw!r}")
            if key == "folder":
                items = tuple(v.strip().strip("/") for v in items)
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


def suffix(source: str) -> str:
    """The file type of ``source`` as filters name it: the suffix, lower case, without the dot."""
    name = source.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""
