"""The web chat: a Gradio app, thin over :class:`rag.Pipeline`. Run ``python ui.py`` or ``rag serve``.

Every answer shows, under it, the verbatim quotes it rests on, with the document's title, file and position,
and each quote's paragraph one click away ("in context").
A "Search in" box above the chat narrows answers to some documents or folders (a :mod:`rag.filters` filter).
A side panel lists the indexed documents, takes new files, which are saved into the documents folder (under a
safe name) and indexed at once, and removes documents (their files are moved aside, never deleted).
Retrieval and answering live in :mod:`rag`; this module only translates between the browser and the pipeline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import json
import logging
import os
import re
import secrets
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag import Answer, DocumentError, IndexReport, Pipeline, Quote, RagError
from rag.answering import page_noun
from rag.api import document_link, is_loopback
from rag.conversation import Message
from rag.documents import LOADERS, OLD_FORMATS, fingerprint, iter_files, load_file, name_in
from rag.embedding import default_cache_dir
from rag.errors import NeedsOcrError
from rag.filters import Filter, FilterSpec
from rag.formats.ocr import Ocr

logger = logging.getLogger(__name__)

EXAMPLES = [
    "How much could Ukraine borrow under the reparations loan?",
    "Who is the EU Defense Commissioner?",
    "Who won the 2022 World Cup?",
]
"""Offered in an empty chat over the seed documents (they are about the seeds; another folder gets none)."""

SEEDS = Path(__file__).resolve().parent / "seeds"

UPLOAD_TYPES: tuple[str, ...] = tuple(sorted(LOADERS))
"""File suffixes the chat accepts: exactly the formats :mod:`rag.documents` can read."""

MAX_LISTED = 200
"""The side panel lists at most this many documents (a big folder would bury the upload box)."""

BUSY = "_Indexing changes to the documents folder…_ (the list updates when it is done; answers come meanwhile)"
"""Shown while a sync runs (the folder watcher's, an upload's or a removal's): a big file may take minutes."""

SEARCHING = "_Searching the documents…_"
"""Shown in the chat while an answer is being prepared (replaced by the answer)."""

CSS = """
#chat blockquote { border-left: 4px solid #2563eb; background: #f5f8ff; padding: 6px 12px; margin: 8px 0; }
#chat mark { background: #fde68a; padding: 0 2px; border-radius: 3px; }
#chat details { margin: -4px 0 8px 16px; font-size: 0.92em; color: #4b5563; }
#chat details b { color: #111827; font-weight: 600; }
#chat summary { cursor: pointer; color: #2563eb; }
#docs-panel ul { padding-left: 1.1em; }
#docs-panel li { margin-bottom: 4px; }
#upload-status { min-height: 96px; }
"""


class UploadError(RagError):
    """An uploaded file cannot be added: wrong type, too large, unreadable, or already there."""


# ---- rendering answers ------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")


def _escape(text: str) -> str:
    """Document text shown verbatim in Markdown: HTML and Markdown syntax characters are escaped."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


CONTEXT_CHARS = 400
"""At most this many characters of the document are shown on each side of a quote, "in context"."""

Surroundings = Callable[[Quote], tuple[str, str]]
"""The document text just before and just after a quote."""


def surroundings(pipeline: Pipeline, limit: int = CONTEXT_CHARS) -> Surroundings:
    """The text around a quote in its stored document: back to the start of its paragraph and on to the end of
    it, at most ``limit`` characters each way (cut at a word)."""

    def around(quote: Quote) -> tuple[str, str]:
        lo, hi = max(quote.start - limit, 0), quote.end + limit
        window = pipeline.excerpt(quote.source, lo, hi)  # the quote and up to ``limit`` characters each side
        before, after = window[: quote.start - lo], window[quote.end - lo :]
        paragraph = before.rfind("\n\n")
        cut_before = paragraph < 0 and lo > 0  # the window starts inside a paragraph
        before = before[paragraph + 2 :] if paragraph >= 0 else before
        paragraph = after.find("\n\n")
        cut_after = paragraph < 0 and len(window) == hi - lo
        after = after[:paragraph] if paragraph >= 0 else after
        if cut_before and " " in before and not before.startswith(("\n", " ")):
            before = "…" + before.split(" ", 1)[1]
        if cut_after and " " in after:
            after = after.rsplit(" ", 1)[0] + "…"
        # A line break beside the quote is kept (a table's row is a line of its own), other space is not
        ends_line, starts_line = before.rstrip(" \t").endswith("\n"), after.lstrip(" \t").startswith("\n")
        before, after = before.strip(), after.strip()
        return before + ("\n" if ends_line and before else ""), ("\n" if starts_line and after else "") + after

    return around


def _context_html(quote: Quote, before: str, after: str) -> str:
    """The quote in its paragraph, folded: a click on "in context" shows it (the quote itself in bold), its lines
    as the document breaks them (a table's rows one under the other, not run together)."""

    def lines(text: str) -> str:
        return html.escape(text).replace("\n", "<br>")

    body = f"{lines(before)} <b>{html.escape(quote.text)}</b> {lines(after)}".strip()
    body = body.replace("<br> <b>", "<br><b>").replace("</b> <br>", "</b><br>")
    return f"<details><summary>in context</summary>{body}</details>"


def _quote_markdown(n: int | None, quote: Quote, context: Surroundings | None = None) -> str:
    """One quote as a Markdown block quote: the words (key phrase marked), then title, file and position, and
    (with ``context``) the paragraph around it, folded."""
    raw = quote.text
    if quote.highlight and quote.start <= quote.highlight[0] < quote.highlight[1] <= quote.end:
        a, b = quote.highlight[0] - quote.start, quote.highlight[1] - quote.start
        text = f"{_escape(raw[:a])}<mark>{_escape(raw[a:b])}</mark>{_escape(raw[b:])}"
    else:
        text = _escape(raw)
    label = f"**[{n}]** " if n is not None else ""
    source = quote.source.replace("`", "'")
    place = f"{_escape(quote.location)} · [in the document]({document_link(quote)})"
    block = f"> {label}“{text}”  \n> — *{_escape(quote.title)}* · `{source}` · {place}"
    if quote.columns:  # a table row is read with its columns' names (shown apart: they are not quoted)
        block = f"> <small>columns: {_escape(quote.columns)}</small>  \n{block}"
    if context is None:
        return block
    try:
        before, after = context(quote)
    except (RagError, LookupError):  # the document left the index meanwhile: the quote stands on its own
        return block
    return f"{block}\n\n{_context_html(quote, before, after)}" if before or after else block


def _answer_markdown(text: str) -> str:
    """An answer's text shown safely: everything escaped (a question echoed in a refusal, or a document's own
    markup, never becomes HTML or a link), then the answerer's ``**bold**`` key phrase restored."""
    return re.sub(r"\\\*\\\*(.+?)\\\*\\\*", r"**\1**", _escape(text))


def render(answer: Answer, scope: str | None = None, context: Surroundings | None = None) -> str:
    """An answer as Markdown: the text, then each quote with where it stands. ``scope`` names the documents
    the search was limited to, if it was; ``context`` (:func:`surroundings`) adds each quote's paragraph."""
    parts = [_answer_markdown(answer.text)]
    searched = []
    if answer.query and answer.query != answer.question:
        searched.append(f"Searched for: *{_escape(answer.query)}*")
    if scope:
        searched.append(f"Searched in: {_escape(scope)}")
    if searched:
        parts.append(f"<small>{' · '.join(searched)}</small>")
    if answer.quotes:
        parts.append("**Sources**")
        parts.extend(_quote_markdown(n, q, context) for n, q in enumerate(answer.quotes, start=1))
    if answer.related:
        parts.append(
            "**Also relevant** (these say something else: not cited as support)"
            if answer.answered
            else "**Closest passages** (too weak to count as an answer)"
        )
        parts.extend(_quote_markdown(None, q, context) for q in answer.related)
    return "\n\n".join(parts)


# ---- the chat ---------------------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    """The plain text of a Gradio message content (a string, or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text") or "")
    if isinstance(content, Sequence):
        return " ".join(_text_of(part) for part in content)
    return ""


def _turns(history: Sequence[Any] | None) -> list[Message]:
    """Gradio's chat history as the ``{"role", "content"}`` messages :meth:`Pipeline.answer` takes."""
    return [
        {"role": str(m.get("role", "")), "content": _text_of(m.get("content"))}
        for m in history or []
        if isinstance(m, dict)
    ]


def respond(
    pipeline: Pipeline,
    message: str,
    history: Sequence[Any] | None,
    filters: FilterSpec | None = None,
    scope: str | None = None,
) -> Iterator[str]:
    """The chat function: one question (with the conversation so far) -> the answer, streamed as it grows.

    :meth:`Pipeline.stream_answer` yields text pieces as a generative backend writes them (the extractive
    answerer has none), then the final :class:`Answer`, whose rendering with its quotes replaces the text.
    ``filters`` limits the search to some documents; ``scope`` says which, under the answer.
    """
    question = message if isinstance(message, str) else _text_of(message)
    if not question.strip():
        yield "**Please type a question** about the documents."
        return
    turns = _turns(history)
    yield SEARCHING
    try:
        text = ""
        for piece in pipeline.stream_answer(question, history=turns, filters=filters):
            if isinstance(piece, Answer):
                yield render(piece, scope, surroundings(pipeline))
                return
            text += piece
            yield _answer_markdown(text)
    except RagError as error:
        yield f"**Cannot answer:** {error}"


def answer_json(
    pipeline: Pipeline, question: str, history: Sequence[Any] | None = None, filters: FilterSpec | None = None
) -> dict[str, Any]:
    """The answer as plain data (the :class:`Answer` fields), for programs calling the ``/answer`` API."""
    return dataclasses.asdict(pipeline.answer(question, history=_turns(history), filters=filters or None))


# ---- searching some documents only ------------------------------------------------------------------------

_FOLDER, _SOURCE = "folder:", "source:"


def scope_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    """What the "Search in" box offers, as (label, value): every folder, then every listed document.

    Values are ``folder:<path>`` and ``source:<path>`` (see :func:`scope_filter`); documents are the first
    :data:`MAX_LISTED` by path, as in the side panel (typing in the box searches the list).
    """
    listed = pipeline.store.catalog(MAX_LISTED).listed
    folders = sorted({source.rsplit("/", n)[0] for source, *_ in listed for n in range(1, source.count("/") + 1)})
    return [(f"{folder}/ (folder)", _FOLDER + folder) for folder in folders] + [
        (f"{title} · {source}" if title != source else source, _SOURCE + source) for source, title, *_ in listed
    ]


def scope_filter(pipeline: Pipeline, selected: Sequence[str] | None) -> tuple[FilterSpec | None, str | None]:
    """The filter for the "Search in" choices (nothing chosen: every document) and how to say it to the user.

    Choices widen the search: two documents mean either of them. Fields of a filter must all hold, so a
    mixed choice of folders and documents is turned into the documents of those folders, named one by one.
    """
    folders = [v.removeprefix(_FOLDER) for v in selected or () if v.startswith(_FOLDER)]
    sources = [v.removeprefix(_SOURCE) for v in selected or () if v.startswith(_SOURCE)]
    if not folders and not sources:
        return None, None
    said = [f"{f}/" for f in folders] + sources
    scope = _names(said, 3)
    if folders and sources:
        under = pipeline.store.sources(Filter(folder=tuple(folders)))
        return {"source": sources + [s for s in under if s not in sources]}, scope
    return ({"folder": folders} if folders else {"source": sources}), scope


# ---- adding documents from the browser --------------------------------------------------------------------


def safe_filename(name: str) -> str:
    """A file name that is safe to create inside the documents folder, derived from an uploaded name.

    Folder parts (``../``, ``C:\\``) are dropped, characters other than letters, digits, ``_``, ``-``,
    parentheses, commas and spaces become ``-``, and leading dots go, so the result is one plain, visible file
    name with a lower-case suffix. Raises :class:`UploadError` if the suffix is not a supported document type.
    """
    base = unicodedata.normalize("NFKC", re.split(r"[\\/]", name)[-1])
    base = "".join(ch for ch in base if ch.isprintable())
    stem, dot, suffix = base.rpartition(".")
    if not dot or not suffix.strip():
        raise UploadError(f"{name!r}: a document needs a file type suffix (one of {', '.join(UPLOAD_TYPES)})")
    suffix = "." + suffix.strip().lower()
    if suffix in OLD_FORMATS:  # say what to do, not only what is wrong
        kind, newer = OLD_FORMATS[suffix]
        raise UploadError(f"{name!r}: an old binary {kind} file ({suffix}): save it as {newer} to add it")
    if suffix not in UPLOAD_TYPES:
        raise UploadError(f"{name!r}: unsupported file type '{suffix}' (supported: {', '.join(UPLOAD_TYPES)})")
    stem = re.sub(r"[^\w\-(), ]+", "-", stem)
    stem = re.sub(r"\s+", " ", re.sub(r"-{2,}", "-", stem)).strip(" -_")[:100].strip(" -_")
    return f"{stem or 'document'}{suffix}"


@dataclass(frozen=True)
class Saved:
    """The outcome of one upload: where it went (None if it was not saved) and what to tell the user."""

    path: Path | None
    message: str


def save_upload(
    upload: Path, name: str, folder: Path, max_bytes: int, fallback_encoding: str = "", ocr: Ocr | None = None
) -> Saved:
    """Copy an uploaded file into ``folder`` under :func:`safe_filename` of ``name``, never overwriting.

    The file is read first (so a broken, empty or binary file is refused with the reason before it lands in
    the folder); what only OCR can read (an image, a scanned PDF) is let through when ``ocr`` can run, and read
    once, by the indexing (OCR takes seconds a page). A file with the same bytes anywhere in the folder means
    nothing is copied; a name already taken gets ``-2``, ``-3``... The copy is written to a hidden temporary
    file and linked into place, so a half-written file is never indexed. Raises :class:`UploadError` with a
    message for the user.
    """
    filename = safe_filename(name)
    try:
        try:
            load_file(upload, filename, max_bytes, fallback_encoding)
        except NeedsOcrError:
            if ocr is None or ocr.problem:  # read with it, to say why it cannot be read (no OCR runs)
                load_file(upload, filename, max_bytes, fallback_encoding, ocr)
    except DocumentError as error:
        raise UploadError(f"{filename}: {error.reason}") from None
    raw = upload.read_bytes()
    digest = fingerprint(raw)
    folder = folder.resolve()
    twin = _same_file(folder, raw, digest)
    if twin is not None:
        return Saved(None, f"{name} is already in the documents as {twin} (same content)")
    stem, suffix = filename[: -len(Path(filename).suffix)], Path(filename).suffix
    tmp = folder / f".upload-{hashlib.sha256(os.urandom(16)).hexdigest()[:12]}{suffix}"
    tmp.write_bytes(raw)
    try:
        for n in range(1, 1000):
            target = folder / (filename if n == 1 else f"{stem}-{n}{suffix}")
            if target.resolve().parent != folder:  # cannot happen after safe_filename; checked all the same
                raise UploadError(f"{name!r}: refused, the name points outside the documents folder")
            if target.exists():  # another file (one with these bytes was found above)
                continue
            try:
                os.link(tmp, target)  # fails if the name was taken meanwhile: never overwrites
            except FileExistsError:
                continue
            renamed = "" if target.name == name else f" (saved as {target.name})"
            return Saved(target, f"{name}{renamed}")
        raise UploadError(f"{filename}: too many files with this name already")
    finally:
        tmp.unlink(missing_ok=True)


def _same_file(folder: Path, raw: bytes, digest: str) -> str | None:
    """The path (relative to ``folder``) of a document with exactly these bytes, anywhere in the folder; only
    files of the same size are read."""
    for path in iter_files(folder):
        try:
            if path.stat().st_size == len(raw) and fingerprint(path.read_bytes()) == digest:
                return path.relative_to(folder).as_posix()
        except OSError:
            continue
    return None


def add_files(
    pipeline: Pipeline, uploads: Sequence[str | Path], progress: Callable[[int, int, str], None] | None = None
) -> str:
    """Save uploaded files into the documents folder and index them; a Markdown report for the user."""
    settings = pipeline.settings
    lines: list[str] = []
    saved: list[Path] = []
    added: dict[Path, int] = {}  # a saved file -> its line in the report
    for number, upload in enumerate(uploads):
        path = Path(upload)
        if progress:
            progress(number, len(uploads), f"checking {path.name}")
        try:
            outcome = save_upload(
                path, path.name, settings.docs_dir, settings.max_file_bytes, settings.fallback_encoding, pipeline.ocr
            )
        except UploadError as error:
            lines.append(f"**Not added:** {error}")
            continue
        if outcome.path:
            saved.append(outcome.path)
            added[outcome.path.resolve()] = len(lines)
        lines.append(("**Added:** " if outcome.path else "**Skipped:** ") + outcome.message)
    if saved:
        if progress:
            progress(0, 1, "reading and splitting the new documents")
        try:
            report = pipeline.index(progress=progress)
        except RagError as error:
            return "\n\n".join([*lines, f"**Indexing failed:** {error}"])
        chunks = report.chunks
        dropped = [s for s in report.skipped if s.path.resolve() in added]
        for skipped in dropped:  # read (by OCR) only now, and nothing could be used: not kept either
            skipped.path.unlink(missing_ok=True)
            lines[added[skipped.path.resolve()]] = f"**Not added:** {skipped.path.name}: {skipped.reason}"
        if dropped:
            with contextlib.suppress(RagError):  # the side panel's list of skipped files forgets them
                chunks = pipeline.index().chunks
        changed = f"{len(report.added)} added, {len(report.updated)} updated"
        if report.removed:  # files deleted from the folder since the last sync leave the index with this one
            changed += f", {len(report.removed)} removed (gone from the folder: {_escape(_names(report.removed))})"
        lines.append(f"Index updated: {changed}; {_count(chunks, 'passage')} in all. Ask about it now.")
    return "\n\n".join(lines) if lines else "No file was given."


FEEDBACK_CHARS = 20_000
"""At most this much of a question or an answer is kept with a thumbs up or down (the page sends what it holds)."""
FEEDBACK_MAX_BYTES = 50_000_000
"""The feedback file stops growing here (an open chat lets anyone click): a warning is logged instead."""


def feedback_path(pipeline: Pipeline) -> Path | None:
    """Where the thumbs given to answers are kept (the ``feedback_file`` setting), or None when they are off."""
    chosen = pipeline.settings.feedback_file.strip()
    if chosen.lower() == "off":
        return None
    return Path(chosen).expanduser() if chosen else pipeline.settings.index_dir / "feedback.jsonl"


def feedback_record(history: Sequence[Any], index: int, liked: Any) -> dict[str, Any] | None:
    """What a thumbs up or down on ``history[index]`` (an answer) records: when, the question it answered (the
    user turn before it), the answer's text and ``liked`` (True, False, or None when taken back)."""
    if not 0 <= index < len(history) or not isinstance(history[index], dict):
        return None
    questions = [m for m in history[:index] if isinstance(m, dict) and m.get("role") == "user"]
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "liked": liked if isinstance(liked, bool) else None,
        "question": _text_of(questions[-1].get("content"))[:FEEDBACK_CHARS] if questions else "",
        "answer": _text_of(history[index].get("content"))[:FEEDBACK_CHARS],
    }


def sync_folder(pipeline: Pipeline, progress: Callable[[int, int, str], None] | None = None) -> str:
    """Sync the index with the documents folder as it is on disk now (files added, edited or deleted there
    while the chat runs); a Markdown report for the user."""
    try:
        report = pipeline.index(progress=progress)
    except RagError as error:
        return f"**Sync failed:** {error}"
    moved = {name for pair in report.renamed for name in pair}  # said below, as renamed
    added, removed = [n for n in report.added if n not in moved], [n for n in report.removed if n not in moved]
    parts = [
        f"{len(names)} {what}" + (f" ({_escape(_names(names))})" if names else "")
        for what, names in (("added", added), ("updated", report.updated), ("removed", removed))
    ]
    folder = _escape(str(pipeline.settings.docs_dir))
    lines = [f"**Synced** with {folder}: {', '.join(parts)}; {_count(report.chunks, 'passage')}."]
    lines += [f"**Not indexed:** {_escape(e.path.name)}: {_escape(e.reason)}" for e in report.skipped[:MAX_LISTED]]
    lines += [f"**Same content:** {_escape(a)} as {_escape(b)}" for a, b in report.duplicates[:MAX_LISTED]]
    lines += [f"**Renamed:** {_escape(a)} to {_escape(b)}" for a, b in report.renamed[:MAX_LISTED]]
    return "\n\n".join(lines)


def _names(names: Sequence[str], limit: int = 5) -> str:
    """The first ``limit`` names, then "and N more"."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


REMOVED = ".removed"
"""Where removed documents go, inside the documents folder: hidden, so never indexed, and nothing is lost (move a
file back to restore it)."""


def remove_document(pipeline: Pipeline, source: str | None) -> str:
    """Take the document ``source`` (its path relative to the documents folder) out of the index by moving its
    file to :data:`REMOVED`, then sync; a Markdown report for the user. Only an indexed document can be named,
    so no other path of the machine can be touched."""
    if not source:
        return "Choose a document to remove."
    if source not in pipeline.store.sources():
        return f"**Not removed:** {source} is not an indexed document."
    folder = pipeline.settings.docs_dir.resolve()
    path = folder / source
    if not path.is_file() or not path.resolve().is_relative_to(folder):
        return f"**Not removed:** {source} is not a file in the documents folder any more."
    target = folder / REMOVED / source
    target.parent.mkdir(parents=True, exist_ok=True)
    stem, suffix, n = target.stem, target.suffix, 2
    while target.exists():  # an earlier removal of the same name is kept too
        target, n = target.with_name(f"{stem}-{n}{suffix}"), n + 1
    os.replace(path, target)
    try:
        report = pipeline.index()
    except RagError as error:
        return f"**Moved** {source} to `{REMOVED}/`, but **indexing failed:** {error}"
    if source not in report.removed:
        return f"**Moved** {source} to `{REMOVED}/`, but the index still holds it (is another folder indexed?)."
    kept = target.relative_to(folder).as_posix().replace("`", "'")
    return (
        f"**Removed:** {source}; {_count(report.chunks, 'passage')} left in the index. The file is kept as "
        f"`{kept}` in the documents folder: move it back to restore it."
    )


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def documents_markdown(pipeline: Pipeline) -> str:
    """The indexed documents as a Markdown list: title, file name, size in chunks (and pages)."""
    catalog = pipeline.store.catalog(MAX_LISTED)
    if not catalog.documents:
        return f"No documents yet. Add files here, or put them in `{pipeline.settings.docs_dir}`."
    lines = [f"**{_count(catalog.documents, 'document')}**, {_count(catalog.chunks, 'passage')}", ""]
    for source, title, chunks, pages in catalog.listed:
        paged = f", {_count(pages, page_noun(source))}" if pages else ""
        name = source.replace("`", "'")
        lines.append(f"- *{_escape(title)}*  \n  `{name}` · {_count(chunks, 'passage')}{paged}")
    if catalog.documents > MAX_LISTED:
        lines.append(f"- … and {catalog.documents - MAX_LISTED:,} more")
    skipped = pipeline.last_report.skipped if pipeline.last_report else []
    if catalog.warnings:  # what was indexed but may be incomplete: said at every sync, not only the first
        lines += ["", "**Indexed with warnings:**"]
        for source, warnings in catalog.warnings[:MAX_LISTED]:
            name = source.replace("`", "'")
            lines.append(f"- `{name}`: {_escape('; '.join(warnings))}")
    if skipped:
        lines += ["", f"**{_count(len(skipped), 'file')} could not be used:**"]
        for error in skipped[:MAX_LISTED]:
            name = name_in(pipeline.settings.docs_dir, error.path).replace("`", "'")
            lines.append(f"- `{name}`: {_escape(error.reason)}")
    return "\n".join(lines)


# ---- the app ----------------------------------------------------------------------------------------------


def history_key(folder: Path | None = None) -> str:
    """The key Gradio encodes the browser's saved conversations with, made once and kept in ``folder``
    (``$RAG_CACHE_DIR``), so that a browser can still read its conversations after the chat restarts (Gradio's
    default is a new key per start). It is sent to every page, so it keeps nothing secret from whoever uses the
    browser. Without a writable folder: a key per start."""
    path = (folder or default_cache_dir()) / "chat-history.key"
    try:
        kept = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        kept = ""
    if len(kept) >= 24:
        return kept
    key = secrets.token_urlsafe(24)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="ascii") as file:
            file.write(key)
    except OSError:
        return key  # nowhere to keep it
    try:
        if kept:
            os.replace(part, path)  # a damaged key: replaced
        else:
            os.link(part, path)  # no key yet: made, unless another process made one first
    except FileExistsError:
        key = path.read_text(encoding="ascii").strip() or key  # the other process's key
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            part.unlink()
    return key


def build_demo(pipeline: Pipeline, lock: threading.Lock | None = None, history_secret: str | None = None) -> Any:
    """The Gradio app for ``pipeline`` (built, not launched, so tests can serve it themselves). ``lock`` is held
    by every upload, removal and sync (pass the one a :class:`~rag.watch.FolderWatcher` holds);
    ``history_secret`` is the key of the conversations saved in the browser (:func:`history_key`; None: a new
    one, so conversations saved before are not readable)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    uploading = lock or threading.Lock()  # one upload or removal at a time per app, whatever the queue settings

    def chat(message: str, history: list[dict[str, Any]], search_in: list[str] | None) -> Iterator[str]:
        filters, scope = scope_filter(pipeline, search_in)
        yield from respond(pipeline, message, history, filters, scope)

    def choices(chosen: list[str] | None = None) -> Any:
        """The "Search in" box with the current choices; ``chosen`` (after a removal) keeps only what still
        exists (Gradio refuses a value that is not a choice, and every question after it would fail)."""
        offered = scope_choices(pipeline)
        if chosen is None:
            return gr.Dropdown(choices=offered)
        values = {value for _, value in offered}
        return gr.Dropdown(choices=offered, value=[v for v in chosen if v in values])

    def removable() -> Any:
        return gr.Dropdown(choices=pipeline.store.sources()[:MAX_LISTED], value=None)

    def remove(source: str | None, chosen: list[str] | None) -> tuple[str, str, Any, Any, Any]:
        with uploading:
            status = remove_document(pipeline, source)
        return status, documents_markdown(pipeline), choices(chosen), removable(), gr.Row(visible=False)

    def confirm_removal(source: str | None) -> tuple[str, Any]:
        """The first click on "Remove": what will happen, and the buttons to go on or not."""
        if not source:
            return "Choose a document to remove.", gr.Row(visible=False)
        return (
            f"Remove **{_escape(source)}** from the index? Its file is moved to `{REMOVED}/` in the documents "
            "folder (move it back to restore it).",
            gr.Row(visible=True),
        )

    tracker = gr.Progress()  # Gradio shows a progress bar for a handler whose default argument is one

    def show(done: int, total: int, what: str, progress: Any) -> None:
        progress((done, total) if total > 1 else None, desc=what.capitalize())  # one step: no "0/1" counter

    def upload(files: list[str] | None, progress: Any = tracker) -> tuple[str, str, None, Any, Any]:
        if not files:
            return "No file was given.", documents_markdown(pipeline), None, choices(), removable()
        with uploading:
            status = add_files(pipeline, files, lambda done, total, what: show(done, total, what, progress))
        return status, documents_markdown(pipeline), None, choices(), removable()

    def sync(chosen: list[str] | None, progress: Any = tracker) -> tuple[str, str, Any, Any]:
        if not uploading.acquire(blocking=False):  # the watcher (or an upload) is indexing: it covers this click
            return BUSY, documents_markdown(pipeline), choices(chosen), removable()
        try:
            status = sync_folder(pipeline, lambda done, total, what: show(done, total, what, progress))
        finally:
            uploading.release()
        return status, documents_markdown(pipeline), choices(chosen), removable()

    def listing() -> str:
        return documents_markdown(pipeline) + (f"\n\n{BUSY}" if uploading.locked() else "")

    def api_answer(
        question: str, history: list[dict[str, Any]] | None = None, filters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Answer ``question`` from the documents; returns the Answer's fields (text, quotes with offsets).
        ``filters`` limits the search, e.g. ``{"folder": "reports"}`` or ``{"source": ["a.pdf", "b.md"]}``."""
        try:
            return answer_json(pipeline, question, history, filters)
        except RagError as error:
            raise gr.Error(str(error)) from None

    _ = pipeline.store  # opening the index settles which folder it holds
    serves_seeds = pipeline.settings.docs_dir.resolve() == SEEDS
    description = (
        "Answers come only from the documents listed on the right, with each supporting sentence "
        "quoted word for word. When the documents do not say, the bot says so."
    )
    with gr.Blocks(title="Ask your documents", analytics_enabled=False) as demo:
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                gr.Markdown(f"# Ask your documents\n{description}", elem_id="intro")
                search_in = gr.Dropdown(
                    choices=scope_choices(pipeline),
                    value=[],
                    multiselect=True,
                    label="Search in",
                    info="Empty: every document. Or pick documents and folders to answer from them only.",
                    elem_id="search-in",
                )
                chatbot = gr.Chatbot(
                    label="Answers with sources",
                    height="max(320px, 100vh - 360px)",  # the window's height, less the title and the question box
                    elem_id="chat",
                    latex_delimiters=[],
                    buttons=["copy"],
                )
                chat_box = gr.ChatInterface(
                    chat,
                    additional_inputs=[search_in],
                    chatbot=chatbot,
                    textbox=gr.Textbox(
                        placeholder="Ask a question about the documents…",
                        elem_id="question",
                        submit_btn=True,
                        max_lines=6,
                    ),
                    examples=[[question, None] for question in EXAMPLES] if serves_seeds else None,
                    run_examples_on_click=True,
                    api_name="ask",
                    flagging_mode="never",
                    fill_height=False,
                    save_history=True,  # conversations kept in the browser, listed beside the chat
                )
                if history_secret:
                    chat_box.saved_conversations.secret = history_secret  # ... and readable after a restart
                saved = chat_box.new_chat_button.parent  # the saved conversations' column: 100 px wrapped each
                if saved is not None:  # title onto four lines
                    saved.min_width, saved.elem_id = 200, "saved-chats"
            with gr.Column(scale=1, min_width=280, elem_id="docs-panel"):
                gr.Markdown("### Documents")
                docs = gr.Markdown(documents_markdown(pipeline), elem_id="documents")
                sync_button = gr.Button("Sync with the folder", size="sm", elem_id="sync")
                synced = gr.Markdown(
                    "Files added, edited or deleted in the documents folder are picked up here.",
                    elem_id="sync-status",
                )
                with gr.Accordion("Add documents", open=True):
                    # Any type is let through the browser, so that an unsupported one is refused here, with the
                    # reason kept in the status below (Gradio's own refusal is a popup that goes in seconds).
                    files = gr.File(label="Upload files", file_count="multiple", elem_id="upload")
                    status = gr.Markdown(
                        f"{', '.join(UPLOAD_TYPES)} files up to {pipeline.settings.max_file_bytes // 1_000_000} "
                        "MB are saved into the documents folder and indexed at once.",
                        elem_id="upload-status",
                    )
                with gr.Accordion("Remove a document", open=False):
                    doomed = gr.Dropdown(
                        choices=pipeline.store.sources()[:MAX_LISTED],
                        value=None,
                        label="Document",
                        elem_id="remove-choice",
                    )
                    remove_button = gr.Button("Remove from the index", variant="stop", elem_id="remove")
                    removed = gr.Markdown(
                        f"The file is moved to `{REMOVED}/` in the documents folder, not deleted.",
                        elem_id="remove-status",
                    )
                    with gr.Row(visible=False, elem_id="remove-confirm") as confirm_row:
                        confirm_button = gr.Button("Yes, remove it", variant="stop", elem_id="remove-yes")
                        cancel_button = gr.Button("Cancel", elem_id="remove-cancel")
        files.upload(
            upload,
            inputs=files,
            outputs=[status, docs, files, search_in, doomed],
            api_name="upload",
            show_progress_on=status,
            concurrency_limit=1,
        )
        sync_button.click(
            sync,
            inputs=[search_in],
            outputs=[synced, docs, search_in, doomed],
            api_name="sync",
            show_progress_on=synced,
            concurrency_limit=1,
        )
        # Two clicks: "Remove" says what will happen, "Yes, remove it" does it (the API's /remove is the second).
        remove_button.click(confirm_removal, inputs=[doomed], outputs=[removed, confirm_row], api_visibility="private")
        doomed.change(lambda: gr.Row(visible=False), outputs=[confirm_row], api_visibility="private")
        cancel_button.click(
            lambda: ("Not removed.", gr.Row(visible=False)), outputs=[removed, confirm_row], api_visibility="private"
        )
        confirm_button.click(
            remove,
            inputs=[doomed, search_in],
            outputs=[removed, docs, search_in, doomed, confirm_row],
            api_name="remove",
            concurrency_limit=1,
        )
        demo.load(
            lambda: (documents_markdown(pipeline), choices(), removable()),
            outputs=[docs, search_in, doomed],
            api_visibility="private",
        )
        feedback = feedback_path(pipeline)
        if feedback is not None:
            writing = threading.Lock()

            def record(history: list[dict[str, Any]], data: gr.LikeData) -> None:
                index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
                entry = feedback_record(history, int(index), data.liked)
                if entry is None:
                    return
                try:
                    with writing:
                        feedback.parent.mkdir(parents=True, exist_ok=True)
                        if feedback.exists() and feedback.stat().st_size > FEEDBACK_MAX_BYTES:
                            logger.warning("%s is over %d bytes: feedback not kept", feedback, FEEDBACK_MAX_BYTES)
                            return
                        with open(feedback, "a", encoding="utf-8") as file:
                            file.write(json.dumps(entry, ensure_ascii=False) + "\n")
                except OSError as error:
                    logger.warning("could not keep the feedback in %s: %s", feedback, error)

            record.__annotations__["data"] = gr.LikeData  # Gradio fills the argument by this type; the string
            # annotation of this module's postponed annotations names a local import it cannot resolve
            chatbot.like(record, inputs=chatbot, api_visibility="private")
        if pipeline.settings.watch_seconds > 0:  # the folder is synced in the background: keep the list current
            gr.Timer(max(pipeline.settings.watch_seconds, 5.0)).tick(
                listing, outputs=docs, show_progress="hidden", api_visibility="private"
            )
        gr.api(api_answer, api_name="answer")
    return demo


def open_warning(host: str, auth: tuple[str, str] | None, api_key: str = "") -> str | None:
    """The one-line warning for a chat served beyond this machine without a login, else None."""
    if auth or is_loopback(host):
        return None
    what = "the chat, uploads and removals" + ("" if api_key else " and the HTTP API")
    return (
        f"WARNING: no password is set and the chat listens on {host}: {what} are open to anyone who can reach "
        "this address; require a login with --auth USER:PASSWORD"
    )


def chat_url(host: str, port: int, local_url: str) -> str:
    """Where the chat is served, as the user should read it: Gradio's ``local_url`` (``localhost``) on this
    machine only, else the address it listens on (Gradio would say ``localhost`` for ``0.0.0.0`` too)."""
    if is_loopback(host):
        return local_url
    scheme = local_url.partition("://")[0] or "http"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}/"


def serve(pipeline: Pipeline | None = None, auth: tuple[str, str] | None = None, **launch: Any) -> Any:
    """Index (if needed) and serve the chat on ``settings.host:settings.port`` (127.0.0.1 by default).

    Blocks until stopped, unless ``prevent_thread_lock=True`` is passed; returns the running app.
    """
    pipeline = pipeline or Pipeline()
    if pipeline.settings.sync_on_start:
        report = pipeline.index()
        print(f"index: {report.summary()}", flush=True)
        for error in report.skipped:
            print(f"skipped {error.path}: {error.reason}", flush=True)
    pipeline.warm()
    lock = threading.Lock()
    demo = build_demo(pipeline, lock, history_key())
    settings = pipeline.settings
    from rag.api import routes

    # OpenAI-compatible chat completions, /v1/answer and the quotes' document pages, there as the server starts
    launch = {"css": CSS, "footer_links": ["api"], "app_kwargs": {"routes": routes(pipeline, auth)}, **launch}
    if auth:
        launch.setdefault("auth_message", "Ask your documents: log in to continue.")
    block = not launch.pop("prevent_thread_lock", False)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=settings.host,
        server_port=settings.port,
        auth=auth,
        share=False,
        show_error=True,
        max_file_size=settings.max_file_bytes,
        prevent_thread_lock=True,
        quiet=True,  # Gradio's own banner suggests share=True, which this app never does
        **launch,
    )
    url = chat_url(settings.host, demo.server_port, demo.local_url)
    print(f"Serving the chat on {url} (press Ctrl+C to stop); its API: {url}v1 (OpenAI-compatible)", flush=True)
    warning = open_warning(settings.host, auth, settings.api_key)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    if settings.sync_on_start and settings.watch_seconds > 0:
        from rag.watch import FolderWatcher

        def changed(report: IndexReport) -> None:
            print(f"synced with {settings.docs_dir}: {report.summary()}", flush=True)

        FolderWatcher(pipeline, settings.watch_seconds, lock, changed).start()
    if block:
        demo.block_thread()
    return demo


if __name__ == "__main__":  # ``python ui.py [options]`` is ``rag serve [options]``
    from rag.cli import serve_main

    sys.exit(serve_main())
