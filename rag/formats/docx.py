"""DOCX (python-docx): paragraphs, tables and text boxes in order, headings by Word style or outline level, then
footnotes, endnotes and the headers and footers (each under its own heading, so quotes say where they come from)."""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import DocumentError, NeedsOcrError
from rag.formats.common import Extracted, _Blocks, _check_office_zip, _join_wrapped_lines, _one_line, _useful_title
from rag.formats.ocr import (
    LATE,
    OCR_MARK,
    OCR_SECONDS,
    OCR_SECONDS_PER_PAGE,
    Ocr,
    OcrError,
)

VERSION = 2
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


logger = logging.getLogger(__name__)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_BLIP = "{http://schemas.openxmlformats.org/drawingml/2006/main}blip"
_EMBED = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}embed"
SCAN_BELOW_WORDS = 8
"""A Word file with fewer words than this and pictures is a scan saved as Word: its pictures are read by OCR."""
MAX_PICTURES = 200
"""At most this many pictures of such a file are read."""
_DOCX_SKIP = frozenset({f"{_W}del", f"{_W}moveFrom", f"{_W}txbxContent", _MC_FALLBACK, f"{_W}instrText"})
_DOCX_WRAPPERS = frozenset({f"{_W}sdt", f"{_W}sdtContent", f"{_W}customXml", f"{_W}ins", f"{_W}moveTo",
                            f"{_W}smartTag"})  # fmt: skip


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


def _numbering(document: Any) -> tuple[dict[str, tuple[str, str]], dict[tuple[str, str], bool]]:
    """Word's lists: each list style's (numId, ilvl), and whether the level of a list (numId, ilvl) is numbered
    (decimal, letters, roman) rather than bulleted."""
    styles: dict[str, tuple[str, str]] = {}
    for style in document.styles.element.iterchildren(f"{_W}style"):
        found = _num_pr(style)
        if found:
            styles[style.get(f"{_W}styleId") or ""] = found
    numbered: dict[tuple[str, str], bool] = {}
    try:
        numbering = document.part.numbering_part.element
    except (KeyError, NotImplementedError, AttributeError):
        return styles, numbered
    formats: dict[str, dict[str, bool]] = {}
    for abstract in numbering.iterchildren(f"{_W}abstractNum"):
        levels = formats.setdefault(abstract.get(f"{_W}abstractNumId") or "", {})
        for level in abstract.iterchildren(f"{_W}lvl"):
            kind = level.find(f"{_W}numFmt")
            levels[level.get(f"{_W}ilvl") or "0"] = (kind.get(f"{_W}val") if kind is not None else "") not in (
                "bullet",
                "none",
                "",
            )
    for num in numbering.iterchildren(f"{_W}num"):
        abstract_id = num.find(f"{_W}abstractNumId")
        levels = formats.get(abstract_id.get(f"{_W}val") or "" if abstract_id is not None else "", {})
        for level, ordered in levels.items():
            numbered[(num.get(f"{_W}numId") or "", level)] = ordered
    return styles, numbered


def _num_pr(element: Any) -> tuple[str, str] | None:
    """A paragraph's or style's list (numId, ilvl), if it declares one (numId 0 ends a list)."""
    num_pr = element.find(f"{_W}pPr/{_W}numPr")
    if num_pr is None:
        return None
    num_id, level = num_pr.find(f"{_W}numId"), num_pr.find(f"{_W}ilvl")
    value = num_id.get(f"{_W}val") if num_id is not None else None
    if not value or value == "0":
        return None
    return value, (level.get(f"{_W}val") if level is not None else None) or "0"


class _ListMarks:
    """The mark each list paragraph is written with ("- ", "2. "), counted per list and level as Word does."""

    def __init__(self, document: Any) -> None:
        self.styles, self.numbered = _numbering(document)
        self.counts: dict[tuple[str, str], int] = {}

    def mark(self, paragraph: Any, style_id: str | None) -> str:
        found = _num_pr(paragraph) or self.styles.get(style_id or "")
        if found is None:
            return ""
        num_id, level = found
        for key in [k for k in self.counts if k[0] == num_id and k[1] > level]:
            del self.counts[key]  # a deeper level starts again under each item above it
        if not self.numbered.get(found, False):
            return "- "
        self.counts[found] = self.counts.get(found, 0) + 1
        return f"{self.counts[found]}. "


def _docx_blocks(document: Any, out: _Blocks) -> str | None:
    """Paragraphs and tables of the body in order into ``out``; returns the first Title-style paragraph. List
    paragraphs are written with their mark, one per line ("1. Fill in the form.")."""
    headings = _docx_heading_styles(document)
    marks = _ListMarks(document)
    previous_item = False
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
            previous_item = False
            continue
        text = _docx_paragraph_text(element)
        style = element.find(f"{_W}pPr/{_W}pStyle")
        style_id = style.get(f"{_W}val") if style is not None else None
        if style_id in headings or _sets_outline_level(element):
            out.add(_one_line(text), heading=True)
            if title is None and headings.get(style_id or ""):
                title = _one_line(text) or None
            previous_item = False
        else:
            mark = marks.mark(element, style_id) if text.strip() else ""
            out.add(mark + text.strip() if mark else text, separator="\n" if mark and previous_item else "\n\n")
            previous_item = bool(mark)
        # Text boxes anchored in this paragraph (call-outs, sidebars) follow it; the VML copy Word keeps as a
        # fallback for old readers is the same text and is skipped.
        for box in element.iter(f"{_W}txbxContent"):
            if not any(a.tag == _MC_FALLBACK for a in box.iterancestors()):
                for paragraph in _docx_children(box, f"{_W}p"):
                    out.add(_docx_paragraph_text(paragraph))
    return title


def _docx_notes(document: Any, kind: str) -> list[str]:
    """Footnotes or endnotes (``kind``), numbered in the order the body refers to them, as Word shows them."""
    from docx.oxml.parser import parse_xml

    part = next((p for p in document.part.package.iter_parts() if p.partname == f"/word/{kind}s.xml"), None)
    if part is None:
        return []
    notes: dict[str, str] = {}
    for note in parse_xml(part.blob).iterchildren(f"{_W}{kind}"):
        if note.get(f"{_W}type") in (None, "normal"):
            text = " ".join(_one_line(_docx_paragraph_text(p)) for p in _docx_children(note, f"{_W}p")).strip()
            if text:
                notes[note.get(f"{_W}id") or ""] = text
    order = [r.get(f"{_W}id") for r in document.element.body.iter(f"{_W}{kind}Reference")]
    ids = list(dict.fromkeys([i for i in order if i in notes] + list(notes)))
    return [f"{kind.capitalize()} {n}: {notes[i]}" for n, i in enumerate(ids, start=1)]


def _docx_headers_and_footers(document: Any) -> list[str]:
    """The distinct paragraphs of every header and footer that say something (not a bare page number)."""
    from docx.oxml.parser import parse_xml

    lines: dict[str, None] = {}
    for part in document.part.package.iter_parts():
        if re.fullmatch(r"/word/(header|footer)\d*\.xml", str(part.partname)):
            for paragraph in parse_xml(part.blob).iter(f"{_W}p"):
                text = _one_line(_docx_paragraph_text(paragraph))
                if len(re.findall(r"[^\W\d_]{2,}", text)) >= 2:
                    lines[text] = None
    return list(lines)


def _docx_extras(document: Any, out: _Blocks) -> None:
    """Notes, then headers and footers, each group under a heading of its own."""
    for heading, blocks in (
        ("Footnotes", _docx_notes(document, "footnote")),
        ("Endnotes", _docx_notes(document, "endnote")),
        ("Headers and footers", _docx_headers_and_footers(document)),
    ):
        if blocks:
            out.add(heading, heading=True)
            for block in blocks:
                out.add(block)


def _pictures(document: Any) -> list[bytes]:
    """The pictures the body shows, in order, each once (a picture used twice is one relationship)."""
    seen: dict[str, bytes] = {}
    for blip in document.element.body.iter(_BLIP):
        rid = blip.get(_EMBED)
        part = document.part.related_parts.get(rid) if rid else None
        if part is not None and rid not in seen:
            seen[rid] = part.blob
    return list(seen.values())[:MAX_PICTURES]


def _scanned(pictures: list[bytes], ocr: Ocr) -> tuple[list[str], list[str]]:
    """The text OCR reads in ``pictures`` (pages scanned into Word), within the OCR budget, and warnings."""
    texts: list[str] = []
    budget = OCR_SECONDS + OCR_SECONDS_PER_PAGE * len(pictures)
    started = time.monotonic()
    for number, blob in enumerate(pictures, start=1):
        if time.monotonic() - started > budget:
            return texts, [f"pictures {number}-{len(pictures)} {LATE} (it took over {budget:.0f} s)"]
        text = ocr.read_picture(blob)
        if text is not None:
            texts.append(_join_wrapped_lines(text.strip()))
    return texts, []


def load(path: Path, raw: bytes, ocr: Ocr | None = None) -> Extracted:
    _check_office_zip(path, raw, "Word", "word/document.xml")
    try:
        import docx
    except ImportError:  # pragma: no cover - python-docx is a dependency
        raise DocumentError(path, "DOCX support needs the 'python-docx' package") from None
    out = _Blocks()
    # python-docx and lxml parse untrusted XML and can raise many exception types on a damaged file.
    try:
        document = docx.Document(io.BytesIO(raw))
        first_title = _docx_blocks(document, out)
        _docx_extras(document, out)
        title = _useful_title(document.core_properties.title) or first_title
        pictures = _pictures(document) if len(out.text().split()) < SCAN_BELOW_WORDS else []
    except Exception as exc:
        logger.debug("python-docx failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable .docx ({type(exc).__name__}: {exc})") from None
    warnings: list[str] = []
    if pictures and (ocr is None or ocr.problem):
        if not out.text().strip() and ocr is None:  # pages scanned into Word
            raise NeedsOcrError(path, "pictures only (a scan?): their text needs OCR, which is off (ocr_languages)")
        if not out.text().strip() and ocr is not None:
            raise DocumentError(path, f"pictures only (a scan?): their text needs OCR: {ocr.problem}")
    elif pictures and ocr is not None:
        try:
            texts, warnings = _scanned(pictures, ocr)
        except OcrError as exc:
            texts, warnings = [], [f"its pictures could not be read by OCR ({exc})"]
        for text in texts:
            out.add(text)
        if any(texts):
            warnings.append(f"its pictures {OCR_MARK}{ocr.name}): a misread word can differ from the picture")
    return Extracted(out.text(), title, sections=tuple(out.sections), warnings=tuple(warnings))
