"""Images (PNG, JPEG, TIFF, BMP, GIF, WebP): a scanned page, a photographed notice, a screenshot, read by OCR
(:mod:`rag.formats.ocr`). A multi-page TIFF (a fax, a scanner's batch) is read page by page, and quotes carry
the page; an animation is read from its first frame. Without OCR, or when no confident text is found (a photo,
a logo), the file is skipped with the reason."""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import DocumentError, NeedsOcrError
from rag.formats.common import Extracted, _join_wrapped_lines
from rag.formats.ocr import MAX_PIXELS, OCR_MARK, Ocr, OcrError, page_ranges, png_of

VERSION = 2
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
MAX_PAGES = 200
"""At most this many pages of a multi-page TIFF are read (the rest are named in a warning)."""
NEEDS_OCR = "an image: its text can only be read by OCR"


def _open(path: Path, raw: bytes) -> Any:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: sizes are checked by the caller
            return Image.open(io.BytesIO(raw))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DocumentError(path, f"not a readable image ({type(exc).__name__})") from None


def pages_of(path: Path, raw: bytes) -> tuple[int, int]:
    """(how many pages to read, how many the image has): a TIFF's frames, up to :data:`MAX_PAGES`; one for any
    other format. Each page read is checked to be small enough from the headers alone; a :class:`DocumentError`
    if it is no image Pillow knows or a page is too large (a decompression bomb, a poster)."""
    image = _open(path, raw)
    total = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
    read = 0
    try:
        for page in range(min(total, MAX_PAGES)):
            image.seek(page)
            width, height = image.size
            if width * height > MAX_PIXELS:
                where = f"page {page + 1} is " if total > 1 else ""
                raise DocumentError(
                    path, f"image too large to read ({where}{width} x {height} pixels; the limit is {MAX_PIXELS:,})"
                )
            read += 1
    except EOFError:
        total = read  # fewer frames than its header said
    except (OSError, ValueError, SyntaxError) as exc:
        raise DocumentError(path, f"not a readable image ({type(exc).__name__})") from None
    finally:
        image.close()
    return read, total


def load(path: Path, raw: bytes, ocr: Ocr | None = None) -> Extracted:
    """The text OCR reads in the image (``ocr`` None: :class:`NeedsOcrError`); a multi-page TIFF's pages as pages."""
    count, total = pages_of(path, raw)
    if ocr is None:
        raise NeedsOcrError(path, f"{NEEDS_OCR}, which is off (the setting ocr_languages)")
    try:
        if total == 1 and not raw.startswith((b"GIF", b"RIFF")):
            texts = [ocr.read(raw)]  # tesseract decodes it itself
        else:  # a TIFF's pages, one at a time; a GIF's or a WebP's first frame (tesseract reads no animation)
            texts = [ocr.read(png) if (png := png_of(frame)) else "" for frame in _frames(path, raw, count)]
    except OcrError as exc:
        raise DocumentError(path, f"an image: {exc}") from None
    texts = [_join_wrapped_lines(text.strip()) for text in texts]
    if not any(texts):
        raise DocumentError(path, "an image without text that OCR could read (a photo or a drawing?)")
    if total == 1:
        return Extracted(texts[0], warnings=(f"{OCR_MARK}{ocr.name}): a misread word can differ from the image",))
    said = [n for n, text in enumerate(texts, start=1) if text]
    notes = [f"{page_ranges(said)} {OCR_MARK}{ocr.name}): a misread word can differ from the page"]
    if len(said) < count:
        notes.append(f"{page_ranges(sorted(set(range(1, count + 1)) - set(said)))}: no text (OCR found none)")
    if total > count:
        notes.append(f"pages {count + 1}-{total} were not read (only the first {MAX_PAGES} are)")
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 2
    return Extracted("\n\n".join(texts), pages=tuple(starts), warnings=tuple(notes))


def _frames(path: Path, raw: bytes, count: int) -> Iterator[Any]:
    """The first ``count`` frames, decoded one at a time (a scanner's batch of 200 pages is ~2 GB at once)."""
    image = _open(path, raw)
    try:
        for page in range(count):
            try:
                image.seek(page)
                frame = image.copy()
            except (OSError, ValueError, SyntaxError, EOFError) as exc:
                raise DocumentError(path, f"not a readable image (page {page + 1}: {type(exc).__name__})") from None
            yield frame
    finally:
        image.close()
