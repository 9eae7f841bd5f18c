"""RTF (Word, WordPad, TextEdit, LibreOffice; legal and medical systems export it): paragraphs, headings (by
outline level, or a "heading N" / "Title" style), tables as "cell | cell" rows, then the footnotes, endnotes and
the header and footer lines under headings of their own, as a Word file is read; the title from the document's
information. Text in the file's code page (``\\ansicpg``) and Unicode escapes; not hidden or deleted text,
field codes, pictures, embedded objects or list bullets. A small tokenizer of its own: it runs in linear time
and needs no package."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import DocumentError
from rag.formats.common import Extracted, _Blocks, _one_line, _useful_title

VERSION = 1
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""

_TOKEN = re.compile(
    rb"\\([a-zA-Z]{1,32})(-?\d{1,10})? ?"  # a control word and its parameter; one space after it is part of it
    rb"|\\'([0-9a-fA-F]{2})"  # a byte in the document's code page
    rb"|\\(.)"  # a control symbol: \{ \} \\ \~ \- \_ \* and \<newline>
    rb"|([{}])"
    rb"|[\r\n]+"  # line breaks in the file are not in the text
    rb"|([^\\{}\r\n]+)",
    re.DOTALL,
)
_SKIPPED = frozenset(
    b"fonttbl colortbl pict object themedata colorschememapping latentstyles datastore xmlnstbl "
    b"listtable listoverridetable rsidtbl generator filetbl revtbl pgdsctbl fldinst bkmkstart bkmkend listtext "
    b"pntext pntxta pntxtb nonshppict shppict xe tc private userprops docvar mmathPr wgrffmtfilter "
    b"fchars lchars operator author subject keywords comment company manager category doccomm "
    b"annotation atnid atnauthor atrfstart atrfend sp shprslt".split()
)
"""Destinations whose text is not the document's (tables of fonts and styles, metadata, pictures, field codes,
list bullets, comments). The style sheet and the title are read apart."""
_NOTES_AND_HEADERS = frozenset(b"footnote header headerl headerr headerf footer footerl footerr footerf".split())
_SYMBOLS = {
    b"emdash": "\u2014", b"endash": "\u2013", b"lquote": "\u2018", b"rquote": "\u2019", b"ldblquote": "\u201c",
    b"rdblquote": "\u201d", b"bullet": "\u2022", b"emspace": " ", b"enspace": " ", b"qmspace": " ", b"tab": "\t",
    b"line": "\n",
}  # fmt: skip
_CODE_PAGES = {b"mac": "mac_roman", b"pc": "cp437", b"pca": "cp850"}
_CHARACTER_SYMBOLS = {b"~": " ", b"_": "-", b"-": "", b"{": "{", b"}": "}", b"\\": "\\"}
_HEADING_STYLE = re.compile(r"(?:heading|titre|überschrift|kop|titolo|encabezado)\s*\d|title", re.IGNORECASE)
MAX_DEPTH = 1000
"""Groups nested deeper than this are a hostile file, not a document."""


@dataclass
class _State:
    """What a group sets: inherited by the groups it opens, restored when it closes."""

    skip: bool = False
    hidden: bool = False
    deleted: bool = False
    optional: bool = False  # after \*: the destination that follows is skipped unless this reader knows it
    skip_after_unicode: int = 1  # \ucN: the fallback characters that follow a \uN
    where: str = "body"  # body, box (a text box), footnote, endnote, header, stylesheet, info, title


@dataclass
class _Paragraph:
    text: list[str] = field(default_factory=list)
    style: int = 0
    outline: int | None = None
    in_table: bool = False


class _Reader:
    """Collects the paragraphs, table rows, notes and header lines of one RTF file as its tokens arrive."""

    def __init__(self) -> None:
        self.out = _Blocks()
        self.rows: list[str] = []
        self.cells: list[str] = []
        self.paragraph = _Paragraph()
        self.heading_styles: set[int] = set()
        self.style_text: list[str] = []
        self.style_number = 0
        self.stylesheet_depth = -1
        self.title: list[str] = []
        self.notes: dict[str, list[str]] = {"footnote": [], "endnote": [], "header": []}
        self.note_text: list[str] = []
        self.boxes: list[str] = []  # text boxes anchored in the paragraph being read: they follow it
        self.first_heading: str | None = None

    def text(self, state: _State, text: str) -> None:
        if state.where == "stylesheet":
            self.style_text.append(text)
        elif state.where == "title":
            self.title.append(text)
        elif state.where in self.notes or state.where == "box":
            self.note_text.append(text)
        elif state.where == "body" and not state.hidden and not state.deleted:
            self.paragraph.text.append(text)

    def end_paragraph(self, state: _State) -> None:
        if state.where in self.notes or state.where == "box":
            self.note_text.append("\n")
            return
        if state.where != "body":
            return
        if self.paragraph.in_table:  # a paragraph inside a cell: the cell goes on (joined once, at its end)
            self.paragraph.text.append(" ")
            return
        text = _joined(self.paragraph.text)
        self.paragraph.text = []
        self.flush_rows()
        heading = self.paragraph.outline is not None or self.paragraph.style in self.heading_styles
        line = _one_line(text) if heading else text
        if heading and line:
            self.first_heading = self.first_heading or line
        self.out.add(line, heading=heading)
        for box in self.boxes:
            self.out.add(box)
        self.boxes = []

    def end_cell(self) -> None:
        self.cells.append(_one_line(_joined(self.paragraph.text)).replace("|", "/"))
        self.paragraph.text = []

    def end_row(self) -> None:
        if self.paragraph.text and _joined(self.paragraph.text).strip():
            self.end_cell()
        if any(self.cells):
            self.rows.append(" | ".join(self.cells).rstrip())
        self.cells = []
        self.paragraph.text = []

    def flush_rows(self) -> None:
        if self.rows:
            self.out.add("\n".join(self.rows))
            self.rows = []

    def end_style(self) -> None:
        name = "".join(self.style_text).strip().rstrip(";").strip()
        if _HEADING_STYLE.match(name):
            self.heading_styles.add(self.style_number)
        self.style_text = []

    def end_note(self, kind: str) -> None:
        if kind == "box":
            self.boxes.append(_joined(self.note_text).strip())
            self.note_text = []
            return
        text = _one_line(_joined(self.note_text)).strip(" |")  # a table's last cell ends a line with " |"
        self.note_text = []
        if kind == "header":
            if len(re.findall(r"[^\W\d_]{2,}", text)) >= 2 and text not in self.notes["header"]:
                self.notes["header"].append(text)  # not a bare page number
        elif text:
            self.notes[kind].append(f"{kind.capitalize()} {len(self.notes[kind]) + 1}: {text}")

    def finish(self) -> None:
        self.end_paragraph(_State())
        self.flush_rows()
        for kind, heading in (("footnote", "Footnotes"), ("endnote", "Endnotes"), ("header", "Headers and footers")):
            if self.notes[kind]:
                self.out.add(heading, heading=True)
                for block in self.notes[kind]:
                    self.out.add(block)


def _joined(parts: list[str]) -> str:
    """The text of ``parts``, a character beyond the first 65,536 joined from the two halves RTF writes it in
    ("\\u55357 \\u56832": 😀); a half alone becomes U+FFFD."""
    text = "".join(parts)
    if any("\ud800" <= c <= "\udfff" for c in text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def _codec(number: int) -> str:
    name = f"cp{number}"
    try:
        codecs.lookup(name)
    except LookupError:
        return "cp1252"
    return name


def load(path: Path, raw: bytes) -> Extracted:
    if not raw.lstrip().startswith(b"{\\rtf"):
        raise DocumentError(path, "not an RTF document (it does not start with {\\rtf)")
    reader = _Reader()
    stack: list[_State] = []
    state = _State()
    encoding = "cp1252"
    pending = bytearray()  # bytes of \'hh escapes, decoded together (a multi-byte code page needs two)
    skip_chars = 0  # fallback characters left to skip after a \uN
    position, size = 0, len(raw)
    while position < size:
        match = _TOKEN.match(raw, position)
        if match is None:  # a lone backslash at the very end
            break
        position = match.end()
        word, parameter, hex_byte, symbol, brace, chunk = match.groups()
        if hex_byte is not None:
            if skip_chars:
                skip_chars -= 1
            elif not state.skip:
                pending.append(int(hex_byte, 16))
            continue
        if pending:
            reader.text(state, pending.decode(encoding, errors="replace"))
            pending.clear()
        if chunk is not None:
            text = chunk.decode(encoding, errors="replace")
            if skip_chars:
                text, skip_chars = text[skip_chars:], max(0, skip_chars - len(text))
            if text and not state.skip:
                reader.text(state, text)
            continue
        skip_chars = 0
        if brace == b"{":
            if len(stack) >= MAX_DEPTH:
                raise DocumentError(path, f"groups nested over {MAX_DEPTH} deep: not a document")
            stack.append(state)
            state = _State(**vars(state))
        elif brace == b"}":
            closing = state
            state = stack.pop() if stack else _State()
            if closing.where == "stylesheet" and len(stack) == reader.stylesheet_depth:
                reader.end_style()  # one entry of the style sheet ends
            elif closing.where in ("footnote", "endnote", "header", "box") and state.where != closing.where:
                reader.end_note(closing.where)
        elif symbol is not None:
            if symbol == b"*":
                state.optional = True
            elif symbol in (b"\n", b"\r"):
                reader.end_paragraph(state)
            elif symbol in _CHARACTER_SYMBOLS and not state.skip:
                reader.text(state, _CHARACTER_SYMBOLS[symbol])
        elif word is not None:
            number = int(parameter) if parameter is not None else None
            if word == b"bin":  # raw bytes follow
                position += max(number or 0, 0)
                continue
            if state.skip:
                continue
            if state.optional:  # \*\footnote (as LibreOffice writes it) is read; any other is skipped
                state.optional = False
                if word not in _NOTES_AND_HEADERS and word != b"shpinst":  # a shape's text boxes are read
                    state.skip = True
                    continue
            body = state.where == "body"
            if word in _SKIPPED:
                state.skip = True
            elif word == b"stylesheet":
                state.where, reader.stylesheet_depth = "stylesheet", len(stack)
            elif word == b"info":
                state.where = "info"
            elif word == b"title" and state.where == "info":
                state.where = "title"
            elif word in _NOTES_AND_HEADERS:
                state.where = "header" if word.startswith((b"header", b"footer")) else "footnote"
            elif word == b"shptxt":
                state.where = "box"
            elif word == b"ftnalt" and state.where == "footnote":
                state.where = "endnote"
            elif word == b"ansicpg" and number is not None:
                encoding = _codec(number)
            elif word in _CODE_PAGES:
                encoding = _CODE_PAGES[word]
            elif word == b"uc" and number is not None:
                state.skip_after_unicode = max(number, 0)
            elif word == b"u" and number is not None:
                if -32768 <= number <= 65535:  # a UTF-16 unit, written signed; a pair is joined by _joined
                    reader.text(state, chr(number + 65536 if number < 0 else number) if number else "")
                skip_chars = state.skip_after_unicode
            elif word in _SYMBOLS:
                reader.text(state, _SYMBOLS[word])
            elif word in (b"par", b"page", b"sect"):
                reader.end_paragraph(state)
            elif word == b"pard" and body:
                reader.paragraph.style, reader.paragraph.outline, reader.paragraph.in_table = 0, None, False
            elif word == b"s" and number is not None:
                if state.where == "stylesheet":
                    reader.style_number = number
                elif body:
                    reader.paragraph.style = number
            elif word == b"outlinelevel" and number is not None and body:
                reader.paragraph.outline = number if 0 <= number < 9 else None
            elif word == b"intbl" and body:
                reader.paragraph.in_table = True
            elif word == b"cell" and body:
                reader.end_cell()
            elif word == b"cell":  # a table in a header, a text box or a note
                reader.text(state, " | ")
            elif word == b"nestcell":
                reader.text(state, " ")
            elif word == b"row" and body:
                reader.end_row()
            elif word == b"row":
                reader.text(state, "\n")
            elif word == b"v":
                state.hidden = number != 0
            elif word == b"deleted":
                state.deleted = number != 0
            elif word == b"plain":
                state.hidden = state.deleted = False
    if pending:
        reader.text(state, pending.decode(encoding, errors="replace"))
    reader.finish()
    title = _useful_title(_joined(reader.title))
    return Extracted(reader.out.text(), title or reader.first_heading, sections=tuple(reader.out.sections))
