"""PPTX (python-pptx): each slide is a page (quotes say "slide 3"), its title a heading, then its text boxes,
tables and groups in reading order (top to bottom, left to right), then the speaker's notes. A slide without
text (a scanned page, a screenshot pasted as a picture) is read from its pictures by OCR when OCR is on."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _check_office_zip, _join_wrapped_lines, _one_line, _useful_title
from rag.formats.ocr import (
    LATE,
    OCR_MARK,
    OCR_SECONDS,
    OCR_SECONDS_PER_PAGE,
    Ocr,
    OcrError,
    page_ranges,
)

VERSION = 1
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


logger = logging.getLogger(__name__)

NO_TEXT = "has no text (a picture?)"
"""In the warning of a slide without text that OCR did not read: such a file is read again once OCR can run."""
PICTURES_PER_SLIDE = 4
"""At most this many pictures of one slide are read by OCR, largest first."""


def _in_reading_order(shapes: Iterable[Any]) -> list[Any]:
    """Shapes from top to bottom, then left to right (the order in the file is the drawing order, not the
    reading order: a text box added last may stand at the top)."""
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def _shape_blocks(shape: Any) -> Iterator[str]:
    """The text of one shape: a text frame's paragraphs, a table's rows ("cell | cell"), a group's shapes."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        for member in _in_reading_order(shape.shapes):
            yield from _shape_blocks(member)
    elif getattr(shape, "has_table", False) and shape.has_table:
        rows = []
        for row in shape.table.rows:
            cells = [_one_line(cell.text).replace("|", "/") for cell in row.cells]
            if any(cells):
                rows.append(" | ".join(cells))
        yield "\n".join(rows)
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        yield "\n".join(paragraph.text.replace("\v", "\n") for paragraph in shape.text_frame.paragraphs)


def _picture_text(slide: Any, ocr: Ocr) -> tuple[str, int]:
    """The text OCR reads in a slide's pictures (the largest :data:`PICTURES_PER_SLIDE`, then in reading order),
    and how many it read. A picture that cannot be decoded is passed over; :class:`OcrError` is the caller's."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    pictures = [shape for shape in slide.shapes if shape.shape_type == MSO_SHAPE_TYPE.PICTURE]
    largest = sorted(pictures, key=lambda shape: -(shape.width or 0) * (shape.height or 0))[:PICTURES_PER_SLIDE]
    texts = [ocr.read_picture(shape.image.blob) for shape in _in_reading_order(largest)]
    read = [_join_wrapped_lines(text.strip()) for text in texts if text is not None]
    return "\n\n".join(text for text in read if text), len(read)


def load(path: Path, raw: bytes, ocr: Ocr | None = None) -> Extracted:
    _check_office_zip(path, raw, "PowerPoint", "ppt/presentation.xml")
    try:
        from pptx import Presentation
    except ImportError:  # pragma: no cover - python-pptx is a dependency
        raise DocumentError(path, "PPTX support needs the 'python-pptx' package") from None
    out = _Blocks()
    starts: list[int] = []
    sections: list[tuple[int, str]] = []
    warnings: list[str] = []
    read_by_ocr: list[int] = []
    late: list[int] = []  # slides OCR had no time left for (read again at the next sync)
    started, ocr_budget = time.monotonic(), OCR_SECONDS
    # python-pptx and lxml parse untrusted XML and can raise many exception types on a damaged file.
    try:
        presentation = Presentation(io.BytesIO(raw))
        for number, slide in enumerate(presentation.slides, start=1):
            starts.append(out.length + (2 if out.parts else 0))  # where its first block will stand
            blocks = len(out.parts)
            title_shape = slide.shapes.title
            title = _one_line(title_shape.text) if title_shape is not None and title_shape.has_text_frame else ""
            if title:
                out.add(title, heading=True)
            others = (s for s in slide.shapes if title_shape is None or s.shape_id != title_shape.shape_id)
            for shape in _in_reading_order(others):
                for block in _shape_blocks(shape):
                    out.add(block)
            notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
            if notes is not None and notes.text.strip():
                out.add(f"Notes: {notes.text.strip()}")
            if len(out.parts) == blocks and ocr is not None and not ocr.problem:
                ocr_budget += OCR_SECONDS_PER_PAGE
                if time.monotonic() - started > ocr_budget:
                    late.append(number)
                    continue
                try:
                    text, pictures = _picture_text(slide, ocr)
                except OcrError as exc:
                    text, pictures = "", -1  # said here
                    warnings.append(f"slide {number} has no text, and OCR could not read its pictures ({exc})")
                out.add(text)
                if text:
                    read_by_ocr.append(number)
                elif pictures > 0:
                    warnings.append(f"slide {number} has no text (OCR found none in its pictures)")
                elif pictures == 0:
                    warnings.append(f"slide {number} has no text")
            elif len(out.parts) == blocks:
                warnings.append(f"slide {number} {NO_TEXT}")
            if len(out.parts) > blocks and not title:
                sections.append((starts[-1], f"Slide {number}"))  # so it is not taken for the slide before
        named = _useful_title(presentation.core_properties.title)
    except Exception as exc:
        logger.debug("python-pptx failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable .pptx ({type(exc).__name__}: {exc})") from None
    if late:
        warnings.append(f"{page_ranges(late).replace('page', 'slide')} {LATE} (it took over {ocr_budget:.0f} s)")
    if ocr is not None and ocr.problem and any(NO_TEXT in warning for warning in warnings):
        warnings.append(f"its slides without text need OCR: {ocr.problem}")
    if read_by_ocr and ocr is not None:
        warnings.append(
            f"{page_ranges(read_by_ocr).replace('page', 'slide')} {OCR_MARK}{ocr.name}): a misread word can differ "
            "from the slide"
        )
    first = next((heading for _, heading in out.sections), None)  # the first slide's title
    text = out.text()
    pages = tuple(min(start, len(text)) for start in starts)  # blank slides at the end start where the text ends
    return Extracted(text, named or first, pages, tuple(sorted(out.sections + sections)), tuple(warnings))
