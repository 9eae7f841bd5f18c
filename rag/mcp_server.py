"""``rag mcp``: the documents as tools of an MCP client (Claude Desktop, Cursor, VS Code, an agent framework).

The Model Context Protocol lets an assistant call tools that a local program offers. This server offers four,
all read-only, over the pipeline every other entry point uses:

- ``ask``: :meth:`Pipeline.answer` (the answer with its ``[n]`` markers, the verbatim quotes with their document,
  character offsets and page, and ``answered: false`` when the documents do not say);
- ``search``: :meth:`Pipeline.retrieve` (the best passages, verbatim, for a client that writes its own answer);
- ``list_documents``: what the index holds;
- ``read_document``: a stretch of a document's stored text, the one quote offsets point into.

It speaks over stdin and stdout (the client starts it: ``{"command": "rag", "args": ["mcp", "--docs",
"/path/to/folder"]}``), or over HTTP (``rag mcp --http``: ``http://127.0.0.1:7861/mcp``, MCP's streamable HTTP,
for clients that connect to a running server). It syncs the folder and loads the models at start (over stdio on
a thread, so the client's handshake is answered at once; calls wait for it), then every ``watch_seconds`` as the
web chat does. Over stdio nothing but the protocol may reach stdout: the SDK points the
process's stdout at stderr while it serves, so a stray print cannot break the stream. Needs the ``mcp`` extra
(``pip install 'rag-docs[mcp]'``, the SDK 2.x).
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import sys
import threading
import unicodedata
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from typing_extensions import TypedDict

from rag.answering import Answer, Quote
from rag.documents import name_in
from rag.errors import RagError
from rag.evidence import continued_table

if TYPE_CHECKING:
    from rag.chunking import Chunk
    from rag.pipeline import IndexReport, Pipeline

NAME = "rag-docs"
READ_MAX_CHARS = 20_000
"""The most characters one ``read_document`` call returns (a client pages on with ``start``)."""
SEARCH_MAX = 20
"""The most passages one ``search`` call returns."""
INSTRUCTIONS = (
    "Answers questions from the user's own documents. Call `ask` with the question as the user put it: the reply's "
    "`text` is the answer with [n] markers pointing to `quotes`, each a verbatim quote with its document (`source`), "
    "character offsets and page. When `answered` is false the documents do not hold the answer: say so, and do not "
    "answer from your own knowledge as if the documents had. Quote the `quotes` verbatim when you cite them. `search` "
    "returns passages to read; `list_documents` and `read_document` show what the documents are and what they say."
)


class _Located(TypedDict):
    """Verbatim text of a stored document: ``read_document(source, start, end)`` returns exactly ``text``."""

    text: str
    source: str
    title: str
    start: int
    end: int
    page: int | None
    section: str
    columns: str
    """The header row of the table it is a row of, or that it continues from before ("Office | City | Staff"):
    what the cells mean; else "" (a table that starts inside the text shows its header itself)."""


class QuoteData(_Located):
    location: str
    """Where it stands, for people: "§ Section, p. 3, chars 120-164"."""
    highlight: list[int] | None
    """Document offsets [start, end] of the answer's key phrase inside the quote (in a row of a listed table: the
    row's own item), if marked."""
    score: float
    """Its evidence for the question, 0..1."""


class AnswerData(TypedDict):
    question: str
    text: str
    """The answer with [n] markers that point to ``quotes[n-1]`` (or the reason it is not answered)."""
    answered: bool
    """False when the documents do not hold the answer; ``quotes`` is then empty."""
    key_phrase: str | None
    quotes: list[QuoteData]
    related: list[QuoteData]
    """Passages to read, never support: the closest ones when refusing, other strong ones when answering."""
    query: str
    """The self-contained question that was searched (differs from ``question`` for a follow-up)."""


class PassageData(_Located):
    score: float
    """The fused retrieval score: it orders one result list, it is no probability."""


class SearchData(TypedDict):
    query: str
    passages: list[PassageData]


class DocumentData(TypedDict):
    source: str
    title: str
    chunks: int
    pages: int


class SkippedData(TypedDict):
    path: str
    """The file, relative to the documents folder when it is inside it."""
    reason: str


class WarnedData(TypedDict):
    source: str
    warnings: list[str]
    """What may be missing from it: "slide 5 has no text (a picture?)", "hidden sheet 'Secret' not read"."""


class DocumentsData(TypedDict):
    documents: int
    chunks: int
    listed: list[DocumentData]
    """The first documents by source (``limit`` of them)."""
    warnings: list[WarnedData]
    """The first documents (``limit``) indexed with warnings."""
    skipped: list[SkippedData]
    """Files of the folder that could not be used at the latest sync, and why (binary, empty, not UTF-8, …)."""


class ExcerptData(TypedDict):
    source: str
    start: int
    end: int
    length: int
    """The document's length in characters."""
    text: str


def quote_data(quote: Quote) -> QuoteData:
    fields = dataclasses.asdict(quote)
    keep = ("text", "source", "title", "start", "end", "page", "section", "columns", "score")
    highlight = list(quote.highlight) if quote.highlight else None
    return QuoteData(**{k: fields[k] for k in keep}, location=quote.location, highlight=highlight)  # type: ignore[typeddict-item]


def answer_data(answer: Answer) -> AnswerData:
    return AnswerData(
        question=answer.question,
        text=answer.text,
        answered=answer.answered,
        key_phrase=answer.key_phrase,
        quotes=[quote_data(q) for q in answer.quotes],
        related=[quote_data(q) for q in answer.related],
        query=answer.query,
    )


T = TypeVar("T")


def build_server(pipeline: Pipeline, warm_up: bool = False) -> MCPServer:
    """An MCP server whose tools answer from ``pipeline``'s documents (run it with ``.run("stdio")``).

    With ``warm_up``, the index is synced and the models loaded on a thread as the server starts (or at the first
    call, whichever comes first), and every tool call waits for that: a client's handshake is answered at once
    (clients time out on a slow start), and two first calls do not both load the models.
    """
    warming = _WarmUp(pipeline) if warm_up else None

    def _reported(run: Callable[[], T]) -> T:
        """``run()`` once the warm-up is over, its library error turned into the tool error the client shows
        (the SDK hides any other exception's message as an internal error)."""
        if warming is not None:
            warming.wait()
        try:
            return run()
        except (RagError, ValueError) as error:  # ValueError: a filter of the wrong shape, an offset out of range
            raise ToolError(str(error)) from error

    @contextlib.asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[dict[str, Any]]:
        if warming is not None:  # here, once the transport is up: over stdio the SDK has moved stdout aside by now
            warming.start()
        yield {}

    server: MCPServer = MCPServer(NAME, instructions=INSTRUCTIONS, version=_version(), lifespan=lifespan)
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)

    @server.tool(title="Ask the documents", annotations=read_only)
    def ask(
        question: str,
        history: list[dict[str, str]] | None = None,
        filters: dict[str, str | list[str]] | None = None,
    ) -> AnswerData:
        """Answer a question from the documents, with verbatim quotes; says so when they do not hold the answer.

        Args:
            question: The question, as the user asked it.
            history: Earlier turns as {"role": "user" | "assistant", "content": ...}, so that a follow-up
                ("How much could Ukraine borrow under it?") is understood.
            filters: Answer from some documents only: {"source" | "folder" | "title" | "type": value or values}.
        """
        return _reported(lambda: answer_data(pipeline.answer(question, history=history, filters=filters)))

    @server.tool(title="Search the documents", annotations=read_only)
    def search(query: str, top_k: int = 5, filters: dict[str, str | list[str]] | None = None) -> SearchData:
        """The passages most relevant to a query, best first, verbatim with their document and offsets.

        Args:
            query: What to look for (a question or keywords).
            top_k: How many passages (1-20).
            filters: As for ``ask``.
        """

        def run() -> SearchData:
            if not 1 <= top_k <= SEARCH_MAX:
                raise ValueError(f"top_k must be between 1 and {SEARCH_MAX}. Currently, it is {top_k}")
            with pipeline.pinned():  # pages and headers from the index the passages came from
                found = [
                    PassageData(
                        text=p.chunk.text,
                        source=p.chunk.source,
                        title=p.chunk.title,
                        start=p.chunk.start,
                        end=p.chunk.end,
                        page=pipeline.page_at(p.chunk.source, p.chunk.start),
                        section=p.chunk.section or "",
                        columns=_columns(pipeline, p.chunk),
                        score=round(float(p.score), 4),
                    )
                    for p in pipeline.retrieve(query, top_k=top_k, filters=filters)
                ]
            return SearchData(query=query, passages=found)

        return _reported(run)

    @server.tool(title="List the documents", annotations=read_only)
    def list_documents(limit: int = 100) -> DocumentsData:
        """How many documents and passages the index holds, the first ``limit`` documents by file name, those
        indexed with warnings (a page without text, a hidden sheet), and the files that could not be used (why).

        Args:
            limit: How many documents to list (at most 1000).
        """

        def run() -> DocumentsData:
            if not 0 <= limit <= 1000:
                raise ValueError(f"limit must be between 0 and 1000. Currently, it is {limit}")
            catalog = pipeline.store.catalog(limit)
            listed = [
                DocumentData(source=source, title=title, chunks=chunks, pages=pages)
                for source, title, chunks, pages in catalog.listed
            ]
            report = pipeline.last_report
            skipped = [
                SkippedData(path=name_in(pipeline.settings.docs_dir, error.path), reason=error.reason)
                for error in (report.skipped if report else [])[:limit]
            ]
            warned = [WarnedData(source=source, warnings=list(w)) for source, w in catalog.warnings]
            return DocumentsData(
                documents=catalog.documents, chunks=catalog.chunks, listed=listed, warnings=warned, skipped=skipped
            )

        return _reported(run)

    @server.tool(title="Read a document", annotations=read_only)
    def read_document(source: str, start: int = 0, end: int | None = None) -> ExcerptData:
        """A document's stored text from ``start`` to ``end`` (character offsets, as quotes give them), at most
        20,000 characters per call and never past the document's end: read on from the ``end`` returned.

        Args:
            source: The document, as ``source`` names it in quotes and in ``list_documents``.
            start: First character (0 = the beginning).
            end: Character after the last one (default: as far as the limit allows).
        """

        def run() -> ExcerptData:
            text = None
            for name in dict.fromkeys([source, *(unicodedata.normalize(form, source) for form in ("NFC", "NFD"))]):
                with contextlib.suppress(KeyError):  # "café" typed composed, stored decomposed (or the reverse)
                    text = pipeline.document_text(name)
                    break
            if text is None:
                raise ValueError(f"no document {source!r} in the index: list_documents names them")
            stop = min(len(text), start + READ_MAX_CHARS, len(text) if end is None else end)
            if not 0 <= start <= len(text) or (end is not None and end < start):
                raise ValueError(f"start and end must satisfy 0 <= start <= end, start <= {len(text)} (the length)")
            return ExcerptData(source=source, start=start, end=stop, length=len(text), text=text[start:stop])

        return _reported(run)

    return server


class _WarmUp:
    """Syncs the index and loads the models on a thread, once; :meth:`wait` starts it if nothing has yet."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._thread = threading.Thread(target=self._run, name="rag-mcp-warm-up", daemon=True)
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread.ident is None:
                self._thread.start()

    def wait(self) -> None:
        self.start()
        self._thread.join()

    def _run(self) -> None:  # a failure is said on stderr, and again by every call (the pipeline raises it)
        try:
            _ = self.pipeline.store
            self.pipeline.warm()
        except RagError as error:
            print(f"rag mcp: {error}", file=sys.stderr, flush=True)


def _columns(pipeline: Pipeline, chunk: Chunk) -> str:
    """The header row of the table ``chunk`` continues, if it starts with one of its rows (else "")."""
    first_line = chunk.text.split("\n", 1)[0]
    if chunk.start == 0 or "|" not in first_line:
        return ""
    try:
        whole, header = continued_table(chunk, pipeline.excerpt)
    except KeyError:  # removed by a sync since it was retrieved
        return ""
    return "" if whole or header is None else header


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rag-docs")
    except PackageNotFoundError:
        return "0"


def serve_stdio(pipeline: Pipeline) -> None:
    """Serve ``pipeline`` over stdin and stdout until the client closes them, keeping the folder synced."""
    _watch(pipeline)
    build_server(pipeline, warm_up=True).run("stdio")


def serve_http(pipeline: Pipeline, host: str, port: int) -> None:
    """Serve ``pipeline`` at ``http://host:port/mcp`` (MCP's streamable HTTP) until Ctrl+C, keeping the folder
    synced. With ``settings.api_key`` set every request must carry ``Authorization: Bearer <key>``; without
    one, only this machine may be served, and web pages cannot reach it (:func:`_guard`)."""
    import uvicorn

    from rag.api import is_loopback

    key = pipeline.settings.api_key
    if not key and not is_loopback(host):
        raise RagError(
            f"serving MCP on {host} would open the documents to anyone who can reach it: set RAG_API_KEY "
            "(clients send it as 'Authorization: Bearer <key>') or serve 127.0.0.1"
        )
    _ = pipeline.store  # synced and loaded before listening, as the web chat is: the first call is answered at once
    pipeline.warm()
    app = build_server(pipeline).streamable_http_app(host=host, transport_security=_guard(host))
    _watch(pipeline)
    if host in ("0.0.0.0", "::"):  # not an address to connect to: say what is
        started = (
            f"Serving MCP on port {port} of every address of this machine (http://{socket.gethostname()}:{port}/mcp)"
        )
    else:
        started = f"Serving MCP on http://{f'[{host}]' if ':' in host else host}:{port}/mcp"

    class Announced(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if not self.should_exit:  # listening now: a client started on this line connects
                print(f"{started} (press Ctrl+C to stop)", flush=True)

    asgi = KeyRequired(app, key) if key else app
    Announced(uvicorn.Config(asgi, host=host, port=port, log_level="warning")).run()


def _guard(host: str) -> TransportSecuritySettings | None:
    """On this machine only: requests must name it (``Host``: a DNS-rebinding page names its own site) and come
    from no web page (an ``Origin`` header: MCP clients are programs, not pages). None beyond it: the key
    guards then, and clients name the machine as they reach it."""
    from rag.api import is_loopback

    if not is_loopback(host):
        return None
    names = sorted({f"[{host}]" if ":" in host else host, "127.0.0.1", "localhost", "[::1]"})
    hosts = [*names, *(f"{name}:*" for name in names)]  # "localhost" alone: a client of a server on port 80
    return TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=[])


class KeyRequired:
    """An ASGI app that lets through only requests with ``Authorization: Bearer <key>`` (401 otherwise)."""

    def __init__(self, app: Any, key: str) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from starlette.responses import JSONResponse

        from rag.api import authorized

        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            if not authorized(header, None, self.key):
                message = "missing or wrong API key: send 'Authorization: Bearer <key>' (the server's RAG_API_KEY)"
                denied = JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await denied(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _watch(pipeline: Pipeline) -> None:
    """Sync the documents folder every ``watch_seconds`` on a daemon thread, as the web chat does."""
    settings = pipeline.settings
    if settings.sync_on_start and settings.watch_seconds > 0:
        from rag.watch import FolderWatcher

        def changed(report: IndexReport) -> None:  # stderr: with stdio, stdout carries the protocol
            print(f"synced with {settings.docs_dir}: {report.summary()}", file=sys.stderr, flush=True)

        FolderWatcher(pipeline, settings.watch_seconds, on_change=changed).start()


__all__ = ["AnswerData", "KeyRequired", "build_server", "serve_http", "serve_stdio"]
