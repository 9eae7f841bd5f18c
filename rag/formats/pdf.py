"""PDF (pypdf): text page by page, page start offsets, the outline as sections, the metadata title; a scanned
page (no text layer) read from its images by OCR when OCR is on (:mod:`rag.formats.ocr`)."""

from __future__ import annotations

import io
import logging
import re
import time
from pathlib import Path
from typing import Any

from rag.errors import DocumentError
from rag.formats.common import _JUNK, Extracted, _join_wrapped_lines, _one_line, _useful_title
from rag.formats.ocr import (
    LATE,
    OCR_MARK,
    OCR_SECONDS,
    OCR_SECONDS_PER_PAGE,
    Ocr,
    OcrError,
    page_ranges,
)

VERSION = 4
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


logger = logging.getLogger(__name__)

NO_TEXT = "has no text (scanned image?)"
"""In the warning of a page without text that OCR did not read: such a file is read again once OCR can run."""
CUT_SHORT = "were not read"
"""In the warning of a PDF whose reading ran out of time: such a file is read again on the next sync."""
READ_SECONDS = 30.0
READ_SECONDS_PER_PAGE = 1.0
"""Time budget for reading one PDF: this much plus this much per page (a typical page takes ~10-50 ms)."""


def _pdf_outline(reader: Any, pages: list[str], starts: list[int]) -> list[tuple[int, str]]:
    """Bookmarks as sections: at the heading's text on its page when found there, else at the page start."""
    sections: list[tuple[int, str]] = []
    pending: list[Any] = [reader.outline]
    while pending and len(sections) < 10_000:
        item = pending.pop()
        if isinstance(item, list):
            pending.extend(reversed(item))
            continue
        title = _one_line(_JUNK.sub(" ", str(getattr(item, "title", "") or "")))
        number = reader.get_destination_page_number(item)
        if not title or number is None or not 0 <= number < len(pages) or not pages[number]:
            continue
        found = pages[number].lower().find(title.lower())
        sections.append((starts[number] + max(found, 0), title))
    return sorted(set(sections))


_PAGE_NUMBER = re.compile(
    r"(?:(?:page|p\.|seite|página|pagina)\s*)?[-–—]?\s*(?P<n>\d{1,4})\s*(?:(?:of|/|von|de|di)\s*\d{1,4})?\s*[-–—]?",
    re.I,
)
"""A line that is only a page number: "7", "- 7 -", "Page 3 of 12", "3 / 12"."""
RUNNING_EDGE_LINES = 2
"""How many lines at the top and at the bottom of a page may be a running header or footer."""


def _without_running_lines(pages: list[str]) -> list[str]:
    """The pages without their running headers and footers: a line among the first or last
    :data:`RUNNING_EDGE_LINES` of a page that is only its page number, or that repeats at the edge of at least
    half of the pages, three or more, the same but for the page number ("ACME Corp. Confidential", "Annual
    report 2024 | 7" on page 7), or at the edge of both pages of two, writing its page number ("… - page 1 of
    2"). Other numbers must repeat too: "Weight: 12 kg" on a data sheet's every page is data. Left in, running
    lines break sentences that run over a page and turn up in quotes."""

    def key(line: str, page: int) -> str:
        return re.sub(rf"(?<![\w.,]){page}(?![\w.,])", "#", " ".join(line.split())).casefold()

    def loose(line: str) -> str:
        return re.sub(r"\d+", "#", " ".join(line.split())).casefold()

    def edges(lines: list[str]) -> list[int]:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return sorted(set(filled[:RUNNING_EDGE_LINES] + filled[-RUNNING_EDGE_LINES:]))

    def page_number(line: str, page: int) -> bool:
        match = _PAGE_NUMBER.fullmatch(line.strip())
        return match is not None and int(match["n"]) == page

    split = [page.split("\n") for page in pages]
    seen: dict[str, int] = {}
    for number, lines in enumerate(split, start=1):
        for k in {key(lines[i], number) for i in edges(lines)}:
            seen[k] = seen.get(k, 0) + 1
    with_text = sum(1 for page in pages if page.strip())
    running = {k for k, n in seen.items() if with_text >= 3 and n >= max(3, (with_text + 1) // 2)}
    # of two pages, a line at the edge of both, the same but for its numbers, that writes its page number as one
    # ("… - page 1 of 2" and "… - page 2 of 2"; not "The depot number 1 …" and "The depot number 2 …")
    paired: set[str] = set()
    if len(split) == with_text == 2:
        numbered = [
            {
                loose(lines[i])
                for i in edges(lines)
                if re.search(rf"(?i:page|p\.|seite)\s*{n}\b|\b{n}\s*(?:/|of)\s*2\b", lines[i])
            }
            for n, lines in enumerate(split, start=1)
        ]
        paired = numbered[0] & numbered[1]
    out = []
    for number, lines in enumerate(split, start=1):
        drop = {
            i
            for i in edges(lines)
            if key(lines[i], number) in running or page_number(lines[i], number) or loose(lines[i]) in paired
        }
        out.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return out


_GAP = re.compile(r"\S(?: ?\S)*")
"""A cell of a line laid out in columns: words joined by single spaces (two or more spaces part cells)."""
ALIGN_SLACK = 1
"""How far (in characters) a column's cells may miss the stretch of the line they share."""


def _aligned_tables(page: str) -> str:
    """Lines laid out in columns with spaces (a price list typeset in a fixed-width font, a report's table) as
    table rows, their cells joined by ``" | "`` as the DOCX and HTML loaders write rows, so the first is read as
    the header of the rest ("Tier C" of "LK-BLK-003 | Assam Halmari Gold | 44.00 | 39.50 | 35.00").

    A table is three or more consecutive lines of the same two or more cells, the cells of each column on a common
    stretch of the line (left-aligned text, right-aligned figures, centred headers); prose with a double space
    after a full stop is not."""
    lines = page.split("\n")
    cells = [[(m.start(), m.end()) for m in _GAP.finditer(line)] if "|" not in line else [] for line in lines]
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and len(cells[j]) >= 2 and len(cells[j]) == len(cells[i]):
            j += 1
        while j - i >= 3 and not _aligned(cells[i:j]):
            j -= 1  # a last line that only happens to have as many cells
        if j - i >= 3:
            out.extend(" | ".join(lines[k][a:b] for a, b in cells[k]) for k in range(i, j))
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def _aligned(rows: list[list[tuple[int, int]]]) -> bool:
    """Whether each column's cells, on every line, share a stretch of the line: left-aligned text, right-aligned
    figures and headers centred over them all do; prose's words after a double space do not."""
    for column in zip(*rows, strict=True):
        if max(a for a, _ in column) - ALIGN_SLACK > min(b for _, b in column) + ALIGN_SLACK:
            return False
    return True


MAX_IMAGES_PER_PAGE = 8
"""At most this many images of one page are read (a page drawn from hundreds of tiles is no scan)."""
OCR_BELOW_WORDS = 8
"""A page whose text layer holds fewer words than this (once running lines are gone) is read by OCR too: a scan
stamped with a page or Bates number ("ACME-000100") or a scanner app's "Scanned by ..." line."""


def _drawn_images(page: Any) -> list[Any]:
    """The images the page draws (its content stream's ``Do``), each once, in the order drawn: a page's
    resources may list images it never draws (pages sharing one resource dictionary list every page's scan)."""
    contents = page.get_contents()
    names: list[str] = []
    for operands, operator in contents.operations if contents is not None else []:
        if operator == b"Do" and operands and str(operands[0]) not in names:
            names.append(str(operands[0]))
    images = page.images
    by_name: dict[str, Any] = {}
    for key in images.keys():  # noqa: SIM118 - iterating the list itself gives the images, not their names
        drawn = key if isinstance(key, str) else key[0]  # an image inside a drawn form: ["/Fm0", "/Im1"]
        if drawn in names:
            by_name.setdefault(drawn, images[key])
    return [by_name[name] for name in names if name in by_name][:MAX_IMAGES_PER_PAGE]


def _scanned_page(page: Any, ocr: Ocr) -> tuple[str, int]:
    """The text OCR reads in the images a page draws, and how many images it read (none: a blank page)."""
    texts = [ocr.read_picture(image.image) for image in _drawn_images(page) if image.image is not None]
    return "\n\n".join(text for text in texts if text), sum(text is not None for text in texts)


def load(path: Path, raw: bytes, ocr: Ocr | None = None) -> Extracted:
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise DocumentError(path, "PDF support needs the 'pypdf' package") from None
    if b"%PDF-" not in raw[:1024]:
        raise DocumentError(path, "not a PDF file (no %PDF- header)")
    warnings: list[str] = []
    # pypdf parses untrusted bytes and can raise almost any exception type on a damaged file; each is a reason.
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except DependencyError:
                raise DocumentError(path, "encrypted PDF (AES): opening it needs the 'cryptography' package") from None
            if not opened:
                raise DocumentError(path, "encrypted PDF: it needs a password; save an unprotected copy")
        page_count = len(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:
        logger.debug("pypdf failed on %s", path, exc_info=True)
        raise DocumentError(path, f"unreadable PDF ({type(exc).__name__}: {exc})") from None
    if page_count == 0:
        raise DocumentError(path, "PDF without pages")
    texts: list[str] = []
    unread: set[int] = set()  # pages that could not be read (their own warning says so)
    read_by_ocr: set[int] = set()
    # pypdf has no timeout; a damaged or pathological file can take minutes. Pages are read against a budget
    # (checked between pages: one pathological page can still run long), and what is left when it runs out is
    # reported rather than indexed; the next sync reads the file again.
    deadline = time.monotonic() + READ_SECONDS + READ_SECONDS_PER_PAGE * page_count
    for number in range(1, page_count + 1):
        if time.monotonic() > deadline:
            warnings.append(
                f"pages {number}-{page_count} {CUT_SHORT}: the file took over "
                f"{READ_SECONDS + READ_SECONDS_PER_PAGE * page_count:.0f} s to parse (damaged or unusually complex)"
            )
            texts.extend([""] * (page_count - number + 1))
            unread.update(range(number, page_count + 1))
            break
        try:
            page_text = reader.pages[number - 1].extract_text() or ""
        except Exception as exc:  # one damaged page costs that page, not the document
            logger.debug("pypdf failed on page %d of %s", number, path, exc_info=True)
            warnings.append(f"page {number} could not be read ({type(exc).__name__})")
            texts.append("")
            unread.add(number)
            continue
        texts.append(_JUNK.sub(" ", page_text.replace("\r\n", "\n").replace("\r", "\n")))
    if ocr is not None and not ocr.problem:
        _read_scans(reader, texts, unread, read_by_ocr, warnings, ocr)
    texts = [_join_wrapped_lines(_aligned_tables(page.strip())) for page in _without_running_lines(texts)]
    for number, page_text in enumerate(texts, start=1):
        if not page_text and number not in unread and number not in read_by_ocr:
            warnings.append(f"page {number} {NO_TEXT}" if ocr is None or ocr.problem else f"page {number} has no text")
    if ocr is not None and ocr.problem and any(NO_TEXT in warning for warning in warnings):
        warnings.append(f"its pages without text need OCR: {ocr.problem}")
    if read_by_ocr and ocr is not None:
        warnings.append(
            f"{page_ranges(sorted(read_by_ocr))} {OCR_MARK}{ocr.name}): a misread word can differ from the page"
        )
    starts: list[int] = []
    offset = 0
    for page_text in texts:
        starts.append(offset)
        offset += len(page_text) + 2
    title = None
    sections: list[tuple[int, str]] = []
    try:
        title = _useful_title(reader.metadata.title if reader.metadata else None)
        sections = _pdf_outline(reader, texts, starts)
    except Exception:
        logger.debug("unreadable metadata or outline in %s", path, exc_info=True)
    return Extracted("\n\n".join(texts), title, tuple(starts), tuple(sections), tuple(warnings))


def _read_scans(
    reader: Any, texts: list[str], unread: set[int], read_by_ocr: set[int], warnings: list[str], ocr: Ocr
) -> None:
    """OCR the pages whose text layer is empty or all but (fewer than :data:`OCR_BELOW_WORDS` words once running
    lines are gone): their text becomes what the layer held, then what OCR read. Within :data:`OCR_SECONDS`."""
    from pypdf.errors import LimitReachedError

    cleaned = _without_running_lines(texts)
    wanted = [n for n, text in enumerate(cleaned, start=1) if n not in unread and len(text.split()) < OCR_BELOW_WORDS]
    budget = OCR_SECONDS + OCR_SECONDS_PER_PAGE * len(wanted)
    deadline = time.monotonic() + budget
    for done, number in enumerate(wanted):
        if time.monotonic() > deadline:
            rest = wanted[done:]
            warnings.append(f"{page_ranges(rest)} {LATE} (it took over {budget:.0f} s)")
            unread.update(rest)
            return
        try:
            text, images = _scanned_page(reader.pages[number - 1], ocr)
        except OcrError as exc:
            warnings.append(f"page {number} has no text, and OCR could not read it ({exc})")
            unread.add(number)
            continue
        except LimitReachedError:
            warnings.append(f"page {number} has no text, and its image is too large to read")
            unread.add(number)
            continue
        except Exception as exc:  # an image pypdf cannot decode (JBIG2 without jbig2dec, a damaged stream)
            logger.debug("no image of page %d", number, exc_info=True)
            warnings.append(f"page {number} has no text, and its image could not be decoded ({type(exc).__name__})")
            unread.add(number)
            continue
        if text.strip():
            read_by_ocr.add(number)
            texts[number - 1] = f"{texts[number - 1].rstrip()}\n\n{_JUNK.sub(' ', text)}".strip()
        elif images and not cleaned[number - 1].strip():
            warnings.append(f"page {number} has no text (OCR found none in its image)")
            unread.add(number)
