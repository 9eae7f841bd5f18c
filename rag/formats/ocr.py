"""OCR: the text of a scanned page or an image file, read by the tesseract program.

tesseract runs as a subprocess (no Python binding to install; a hostile image that crashes its decoder costs that
one run), given the image on its standard input, with a time limit, and on one thread, so indexing a scanned
book leaves the other core to the chat. Its word-by-word output (TSV, with a confidence per word) is turned back
into text: lines kept as printed, paragraphs separated by a blank line, lines it read with low confidence (a
photo's texture "read" as letters) dropped. What the loaders store is this text, so a quote taken from it is
verbatim *of the stored text*: the one thing OCR cannot promise is that the stored text is the page's, hence the
warning every OCR-read document carries.

tesseract is a system package (Debian/Ubuntu ``apt-get install tesseract-ocr``, macOS ``brew install
tesseract``); without it, scanned pages are reported as before and image files are skipped, each saying how to
get it.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import subprocess
import time
from collections import defaultdict
from typing import Any

logger = logging.getLogger(__name__)

INSTALL = "Debian/Ubuntu: apt-get install tesseract-ocr; macOS: brew install tesseract"
MIN_LINE_CONFIDENCE = 50.0
"""A line whose words tesseract read with a lower mean confidence (0-100) is left out: on photos and drawings
it "reads" texture as letters at 10-40, while printed text reads at 85-97."""
EDGE_CONFIDENCE = 40.0
"""Words at a line's start or end read with less confidence than this are left out of it."""
PROSE_WORDS = 6
"""A line with fewer words than this does not go on into the next paragraph (see :func:`text_of_tsv`)."""
SURE_MARGIN = 30.0
"""How much surer than :data:`MIN_LINE_CONFIDENCE` a line must be once its unsure ends are left out."""
MIN_WORDS = 2
"""An image with fewer confident words than this has no text (a photo, a logo)."""
OCR_MARK = "read by OCR ("
"""In the warning of every document (or page) read by OCR, before the reader's name: "read by OCR (tesseract
(eng))". The index keeps warnings, so a sync knows which files another OCR setting would read otherwise."""
OCR_SECONDS = 60.0
OCR_SECONDS_PER_PAGE = 15.0
"""Time budget for the OCR of one file (a PDF's scanned pages, a deck's picture slides): this much plus this much
per page to read (a scanned A4 page takes 2-3 s); pages left when it runs out are reported and read again at the
next sync."""
LATE = "not read by OCR in time"
"""In the warning naming the pages left when the budget ran out: such a file is read again at the next sync."""
RECHECK_SECONDS = 60.0
"""While tesseract or a language's data is missing, it is looked for again this often."""
BLANK_CONTRAST = 40
"""An image whose darkest and lightest grey (0-255) are closer than this is blank: not read."""
TURN_MAX_PIXELS = 12_000_000
"""Images larger than this (an A4 page at 300 dpi is 8.7M) are not read a second time upside down."""
MIN_IMAGE_PIXELS = 40_000
"""Images smaller than this (200 x 200) inside a page or a slide are not read: logos, icons, stamps, rules."""
MAX_PIXELS = 60_000_000
"""Larger images are not read (a page scanned at 600 dpi is ~35M pixels): a decompression bomb, or a poster whose
reading would take minutes."""


class OcrError(Exception):
    """Why an image could not be read (the message is the reason, for the skip or warning that names the file)."""


class Ocr:
    """Reads images with tesseract in ``languages`` (tesseract's codes joined by ``+``: ``eng``, ``deu+eng``).

    Built from settings by :class:`rag.pipeline.Pipeline` (``ocr_languages``). Whether tesseract and its
    language data are installed is looked up on first use (:attr:`problem`), and again a minute later while
    they are missing, so a chat that is running reads its scans once tesseract is installed.
    """

    def __init__(self, languages: str = "eng", program: str = "tesseract", timeout: float = 120.0) -> None:
        self.languages = languages
        self.program = program
        self.timeout = timeout
        self.name = f"tesseract ({languages})"
        """What reads the text, as warnings name it: "tesseract (eng)"."""
        self._checked: tuple[float, str | None, frozenset[str]] | None = None

    @property
    def problem(self) -> str | None:
        """Why OCR cannot run here (no tesseract, no data for a language), or None when it can."""
        return self._check()[1]

    def _check(self) -> tuple[float, str | None, frozenset[str]]:
        """(when, the problem or None, the languages tesseract has data for); looked up again after
        :data:`RECHECK_SECONDS` while there is a problem."""
        checked = self._checked
        if checked is None or (checked[1] is not None and time.monotonic() - checked[0] > RECHECK_SECONDS):
            problem, have = self._look_up()
            checked = self._checked = (time.monotonic(), problem, have)
        return checked

    def _look_up(self) -> tuple[str | None, frozenset[str]]:
        exe = shutil.which(self.program)
        if exe is None:
            return f"OCR needs the tesseract program, which is not installed ({INSTALL})", frozenset()
        try:
            listed = subprocess.run(
                [exe, "--list-langs"], capture_output=True, timeout=30, env=_env(), stdin=subprocess.DEVNULL
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"tesseract does not run ({type(exc).__name__}: {exc})", frozenset()
        said = listed.stdout.decode("utf-8", "replace").splitlines() if listed.returncode == 0 else []
        have = frozenset(line.strip() for line in said[1:])  # after "List of available languages in ...:"
        missing = [lang for lang in self.languages.split("+") if lang not in have]
        if missing:
            return (
                f"tesseract has no data for the language {', '.join(missing)} (Debian/Ubuntu: apt-get install "
                + " ".join(f"tesseract-ocr-{lang}" for lang in missing)
                + "; or choose others with ocr_languages)"
            ), have
        return None, have

    def read(self, image: bytes) -> str:
        """The text of ``image`` (PNG, JPEG, TIFF, BMP, GIF or WebP bytes): lines separated by ``\\n``, paragraphs
        by a blank line, "" when it holds no confident text. Raises :class:`OcrError` when it cannot be read.

        A page scanned sideways is turned by tesseract itself (page segmentation 1 finds the orientation
        first, with its "osd" data; ~15% slower on a full page than plain mode 3); one upside down, which that
        misses on a short text, is read again turned when the first reading found nothing confident."""
        if self.problem:
            raise OcrError(self.problem)
        text = self._run(image)
        if not text and (turned := _turned(image)) is not None:
            text = self._run(turned)
        return text

    def read_picture(self, picture: Any) -> str | None:
        """The text of a picture inside a page, a slide or a Word file: a Pillow image, or its file's bytes.
        None when it is not read: smaller than :data:`MIN_IMAGE_PIXELS` (an icon, a logo), larger than
        :data:`MAX_PIXELS`, blank, or bytes Pillow cannot decode (EMF, WMF, a damaged file). Raises
        :class:`OcrError` as :meth:`read` does."""
        from PIL import Image

        try:  # from memory: nothing to close
            image = Image.open(io.BytesIO(picture)) if isinstance(picture, bytes) else picture
            fits = MIN_IMAGE_PIXELS <= image.width * image.height <= MAX_PIXELS
            png = png_of(image) if fits else None
        except Exception:
            logger.debug("picture not decoded", exc_info=True)
            return None
        return None if png is None else self.read(png)

    def _run(self, image: bytes) -> str:
        layout = "1" if "osd" in self._check()[2] else "3"
        try:
            done = subprocess.run(
                [self.program, "stdin", "stdout", "--psm", layout, "-l", self.languages, "tsv"],
                input=image,
                capture_output=True,
                timeout=self.timeout,
                env=_env(),
            )
        except subprocess.TimeoutExpired:
            raise OcrError(f"OCR took over {self.timeout:.0f} s") from None
        except OSError as exc:
            raise OcrError(f"tesseract does not run ({exc.strerror or exc})") from None
        if done.returncode != 0:
            said = [line for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
            why = said[-1][:200] if said else f"exit {done.returncode}"
            raise OcrError(f"tesseract could not read it, a damaged or unusual image ({why})")
        return text_of_tsv(done.stdout.decode("utf-8", "replace"))


def png_of(picture: Any) -> bytes | None:
    """A Pillow image as PNG bytes for tesseract, or None when it is blank (one shade, nothing to read)."""
    if picture.mode not in ("1", "L", "RGB"):
        picture = picture.convert("RGB")
    low, high = picture.convert("L").getextrema()
    if high - low < BLANK_CONTRAST:
        return None
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def _turned(image: bytes) -> bytes | None:
    """``image`` upside down, as PNG; None when it is not worth a second reading (blank, or too large for a
    short text: the turn is for notices and labels, a full page's orientation tesseract finds itself) or
    Pillow cannot decode it (a damaged file tesseract still read)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(image)) as picture:
            if picture.width * picture.height > TURN_MAX_PIXELS:
                return None
            return png_of(picture.rotate(180))
    except Exception:
        return None


def text_of_tsv(tsv: str) -> str:
    """tesseract's TSV (one row per word, with its block, paragraph, line and confidence) as text.

    - Unsure words at a line's ends are left out (a table's rules read as "fe £1,591 oka"), then a line unsure
      on the whole (:data:`MIN_LINE_CONFIDENCE`; without its ends, it must be surer by :data:`SURE_MARGIN`:
      text upside down reads as confident nonsense between unsure ends), and a paragraph ends where a line was
      left out: "The refund is" and "after thirty days." around an unsure "not granted" must not make one
      sentence that says the opposite.
    - Paragraphs are separated by a blank line, but for one that goes on a sentence the one before left open
      on a line of prose (:data:`PROSE_WORDS` words or more, not a receipt's "TOTAL" or a list's "4 x Carrot
      cake"): "... giving the Landlord not" / "less than six months' notice" (a skewed scan splits paragraphs
      mid-sentence) are one line break apart, which the loaders rejoin as a wrapped line.
    """
    lines: dict[tuple[int, int, int, int], list[tuple[float, str]]] = defaultdict(list)
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) != 12 or cells[0] != "5" or not cells[11].strip():
            continue
        try:
            key = (int(cells[1]), int(cells[2]), int(cells[3]), int(cells[4]))
            lines[key].append((float(cells[10]), cells[11].strip()))
        except ValueError:
            continue
    paragraphs: list[tuple[bool, list[str]]] = []  # (a line was left out just before it, its lines)
    confident, place, cut = 0, None, False
    for key in sorted(lines):
        words = _trimmed(lines[key])
        if not words or max(_mean(lines[key]), _mean(words) - SURE_MARGIN) < MIN_LINE_CONFIDENCE:
            cut = True
            continue
        confident += len(words)
        if cut or key[:3] != place:
            paragraphs.append((cut, []))
            place, cut = key[:3], False
        paragraphs[-1][1].append(" ".join(word for _, word in words))
    if confident < MIN_WORDS:
        return ""
    out = ""
    for cut_before, paragraph in paragraphs:
        text = "\n".join(paragraph)
        last = out.rsplit("\n", 1)[-1]
        goes_on = (
            not cut_before and len(last.split()) >= PROSE_WORDS and last[-1:] not in ".!?:;" and text[:1].islower()
        )
        out += ("\n" if goes_on else "\n\n" if out else "") + text
    return out


def _mean(words: list[tuple[float, str]]) -> float:
    return sum(conf for conf, _ in words) / len(words)


def _trimmed(words: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """A line without the unsure words at its ends (a table's rules, a scan's edge read as letters)."""
    start, end = 0, len(words)
    while start < end and words[start][0] < EDGE_CONFIDENCE:
        start += 1
    while end > start and words[end - 1][0] < EDGE_CONFIDENCE:
        end -= 1
    return words[start:end]


def _env() -> dict[str, str]:
    # One thread: OCR runs while the chat answers on the other core (tesseract's OpenMP would take both).
    return {**os.environ, "OMP_THREAD_LIMIT": "1"}


def page_ranges(pages: list[int]) -> str:
    """``[1, 2, 3, 7]`` as "pages 1-3, 7" (or "page 7")."""
    spans: list[list[int]] = []
    for page in sorted(pages):
        if spans and page == spans[-1][1] + 1:
            spans[-1][1] = page
        else:
            spans.append([page, page])
    words = ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in spans)
    return ("pages " if len(pages) > 1 else "page ") + words
