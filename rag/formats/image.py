"""Images (PNG, JPEG, TIFF, BMP, GIF, WebP): a scanned page, a photographed notice, a screenshot, read by OCR
(:mod:`rag.formats.ocr`). Without OCR, or when no confident text is found (a photo, a logo), the file is skipped
with the reason."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from rag.errors import DocumentError, NeedsOcrError
from rag.formats.common import Extracted, _join_wrapped_lines
from rag.formats.ocr import MAX_PIXELS, Ocr, OcrError

VERSION = 1
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")


def check(path: Path, raw: bytes) -> tuple[int, int]:
    """The image's size in pixels, read from its header (nothing decoded); a :class:`DocumentError` if it is no
    image Pillow knows or is too large to read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: the size is checked below
            with Image.open(io.BytesIO(raw)) as image:
                width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DocumentError(path, f"not a readable image ({type(exc).__name__})") from None
    if width * height > MAX_PIXELS:
        raise DocumentError(path, f"image too large to read ({width} x {height} pixels; the limit is {MAX_PIXELS:,})")
    return width, height


def load(path: Path, raw: bytes, ocr: Ocr | None = None) -> Extracted:
    check(path, raw)
    if ocr is None:
        raise NeedsOcrError(path, "an image: reading its text needs OCR, which is off (the setting ocr_languages)")
    try:
        text = ocr.read(raw)
    except OcrError as exc:
        raise DocumentError(path, f"an image: {exc}") from None
    text = _join_wrapped_lines(text.strip())
    if not text:
        raise DocumentError(path, "an image without text that OCR could read (a photo or a drawing?)")
    return Extracted(text, warnings=(f"read by OCR ({ocr.name}): a misread word can differ from the image",))
