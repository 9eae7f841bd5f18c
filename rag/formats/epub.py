"""EPUB (a ZIP of XHTML chapters): the chapters in reading order (the package's spine; each once), each read as
the HTML loader reads a page, its headings kept as sections; the book's title from its metadata, and its authors
as a first sentence ("Coast guide was written by Ann Example."). A book whose
chapters are encrypted (DRM) is refused; obfuscated fonts, which publishers list the same way, are no matter."""

from __future__ import annotations

import posixpath
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from rag.errors import DocumentError
from rag.formats import html
from rag.formats.common import Extracted, _Blocks, _check_zip, _one_line, _useful_title

VERSION = 1
"""Recorded in the index (:data:`rag.documents.LOADER_VERSIONS`): bump it when a change here changes the text
this loader gives, so that the files it read are read again at the next sync."""


_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"
_OPF = "{http://www.idpf.org/2007/opf}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_XHTML = frozenset({"application/xhtml+xml", "text/html"})


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _encrypted(book: zipfile.ZipFile, names: set[str], parser: Any) -> set[str]:
    """The members that ``META-INF/encryption.xml`` says are encrypted. Publishers obfuscate embedded fonts the
    same way, so only a chapter among them makes a book unreadable."""
    from lxml import etree

    if "META-INF/encryption.xml" not in names:
        return set()
    root = etree.fromstring(book.read("META-INF/encryption.xml"), parser)
    return {
        posixpath.normpath(unquote(reference.get("URI") or "").lstrip("/"))
        for reference in root.iter()
        if isinstance(reference.tag, str) and reference.tag.endswith("CipherReference")
    }


def load(path: Path, raw: bytes) -> Extracted:
    names = _check_zip(path, raw, "EPUB", "META-INF/container.xml")
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    out = _Blocks()
    warnings: list[str] = []
    try:
        with zipfile.ZipFile(BytesIO(raw)) as book:
            container = etree.fromstring(book.read("META-INF/container.xml"), parser)
            rootfile = container.find(f".//{_CONTAINER}rootfile")
            opf_path = rootfile.get("full-path") if rootfile is not None else None
            if not opf_path or opf_path not in names:
                raise DocumentError(path, "not a valid EPUB (its container names no package file)")
            package = etree.fromstring(book.read(opf_path), parser)
            title = _useful_title(package.findtext(f".//{_DC}title"))
            folder = posixpath.dirname(opf_path)
            items = {
                item.get("id"): (item.get("href") or "", item.get("media-type") or "")
                for item in package.iter(f"{_OPF}item")
            }
            chapters: dict[str, None] = {}  # in reading order, each once (a spine may repeat one)
            for reference in package.iter(f"{_OPF}itemref"):
                href, media = items.get(reference.get("idref"), ("", ""))
                member = posixpath.normpath(posixpath.join(folder, unquote(href.split("#")[0])))
                if media in _XHTML and member in names:
                    chapters[member] = None
            if chapters.keys() & _encrypted(book, names, parser):
                raise DocumentError(path, "DRM-protected EPUB: its chapters are encrypted")
            authors = [_one_line(a.text or "") for a in package.iter(f"{_DC}creator") if (a.text or "").strip()]
            if authors:  # "Who wrote …?" is answered from the book's metadata, as a sentence
                out.add(f"{title or 'This book'} was written by {_and(authors)}.")
            for member in chapters:
                try:
                    chapter = html.load(path, book.read(member))
                except DocumentError as error:
                    warnings.append(f"chapter {member} could not be read: {error.reason}")
                    continue
                out.add_text(chapter.text, chapter.sections)
    except DocumentError:
        raise
    except Exception as exc:  # zipfile and lxml raise many types on a damaged or hostile package
        raise DocumentError(path, f"unreadable EPUB ({type(exc).__name__}: {exc})") from None
    first = next((_one_line(heading) for _, heading in out.sections), None)
    return Extracted(out.text(), title or first, sections=tuple(out.sections), warnings=tuple(warnings))
