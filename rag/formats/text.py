"""Plain text and Markdown: the file's text as is; Markdown also gives its headings and front-matter title."""

from __future__ import annotations

import re
from pathlib import Path

from rag.formats.common import Extracted, _decode, heading_paths

VERSION = 2
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


def load(path: Path, raw: bytes) -> Extracted:
    text = _decode(path, raw)
    return Extracted(text, sections=heading_paths(_text_headings(text)))


_CAPITALS_LINE = re.compile(
    r"^[ \t]*(?:(?P<number>\d{1,2}(?:\.\d{1,2})*)[.)]?[ \t]+)?(?P<heading>[A-Z][A-Z0-9&,'’/()\- ]{2,78}?)[ \t]*$",
    re.MULTILINE,
)
"""A line in capitals, numbered or not: "4. AIR TRAVEL", "9.1 INSURANCE", "APPENDIX"."""


_TITLED_LINE = re.compile(
    r"^[ \t]*(?:(?P<number>\d{1,2}(?:\.\d{1,2})*)[.)]?[ \t]+(?P<heading>[A-Z][^\n.:;!?]{0,60}?)"
    r"|(?P<word>Abstract|Summary|Introduction|Background|Methods|Materials and methods|Results|Discussion|"
    r"Conclusions?|References|Acknowledge?ments|Appendix(?: [A-Z0-9])?))[ \t]*$",
    re.MULTILINE,
)
"""A numbered line ("3. Results", "2.1 Study site") or a part of a paper ("Abstract") that may be a heading."""


_TEXT = re.compile(r"\S")
_BLANK_LINE = re.compile(r"[ \t]*\n[ \t]*\n")


def _text_headings(text: str) -> list[tuple[int, str, int]]:
    """(offset, heading, level) of the headings of plain text: lines in capitals ("4. AIR TRAVEL") with a blank line
    or the start before them and text after them, and numbered lines of a few words ("3. Results") or the parts
    of a paper ("Abstract") with a blank line around them too; a numbered one ("4.1") is a level deeper for each
    dot, the first line a level above the rest."""
    found: dict[int, tuple[int, str, int]] = {}
    for pattern, blank_after in ((_CAPITALS_LINE, False), (_TITLED_LINE, True)):
        for m in pattern.finditer(text):
            start = m.start()
            while start and text[start - 1] in " \t":
                start -= 1
            if (start and not text.endswith("\n\n", 0, start)) or _TEXT.search(text, m.end()) is None:
                continue  # a line of a paragraph, or nothing under it
            if pattern is _CAPITALS_LINE and not re.search(r"[A-Z]{3}", m["heading"]):
                continue
            if blank_after and (not _BLANK_LINE.match(text, m.end()) or len(m.group().split()) > 8):
                continue
            level = 2 + (m["number"] or "").count(".") if start else 1
            at = m.start() + len(m.group()) - len(m.group().lstrip())
            found.setdefault(at, (at, m.group().strip(), level))
    return sorted(found.values())


_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r" {0,3}(=+|-+)[ \t]*$")
_ORDERED_ITEM = re.compile(r"\d{1,9}[.)](\s|$)")
_INLINE_MARKUP = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|[*_`]+")


def _markdown_sections(text: str) -> tuple[list[tuple[int, str, int]], str | None]:
    """(line offset, heading, level) of ATX and setext headings outside code blocks, and a front-matter title."""
    sections: list[tuple[int, str, int]] = []
    title: str | None = None
    lines = text.split("\n")
    offsets = []
    position = 0
    for line in lines:
        offsets.append(position)
        position += len(line) + 1
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        for i in range(1, min(len(lines), 200)):
            if lines[i].strip() in {"---", "..."}:
                for meta in lines[1:i]:
                    key, _, value = meta.partition(":")
                    if key.strip().lower() == "title" and value.strip():
                        title = value.strip().strip("\"'") or None
                start = i + 1
                break
    fence: str | None = None
    previous_paragraph: int | None = None  # index of a plain text line that a setext underline would make a heading
    for i in range(start, len(lines)):
        line = lines[i]
        opening = _FENCE.match(line)
        if fence is not None:
            closing = opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence)
            if closing and opening and not line[opening.end() :].strip():
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            previous_paragraph = None
            continue
        atx = _ATX.match(line)
        if atx:
            heading = _INLINE_MARKUP.sub(r"\1", atx.group(2) or "").strip()
            if heading:
                sections.append((offsets[i], heading, len(atx.group(1))))
            previous_paragraph = None
            continue
        setext = _SETEXT.match(line)
        if setext and previous_paragraph is not None:
            heading = _INLINE_MARKUP.sub(r"\1", lines[previous_paragraph]).strip()
            if heading:
                sections.append((offsets[previous_paragraph], heading, 1 if setext.group(1)[0] == "=" else 2))
            previous_paragraph = None
            continue
        stripped = line.strip()
        is_plain = bool(stripped) and not line.startswith(("    ", "\t")) and stripped[0] not in "-*+>|<"
        previous_paragraph = i if is_plain and not _ORDERED_ITEM.match(stripped) else None
    return sections, title


def load_markdown(path: Path, raw: bytes) -> Extracted:
    text = _decode(path, raw)
    sections, title = _markdown_sections(text)
    if title is None and sections:
        top = min(level for _, _, level in sections)
        title = next(heading for _, heading, level in sections if level == top)
    return Extracted(text, title, sections=heading_paths(sections))
