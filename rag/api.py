"""The HTTP routes served beside the web chat: OpenAI-compatible chat completions, a plain JSON answer, and the
page that shows a quote in its document.

Any OpenAI-style client (the ``openai`` package, Open WebUI, LangChain's ``ChatOpenAI``, curl) can use the
documents as a model: ``POST /v1/chat/completions`` with the conversation as ``messages``. The reply's content is
the answer with its ``[n]`` markers followed by the quotes they point to, and the response also carries the quotes
as data (``quotes``: text, document, character offsets, page), so a program never has to parse the text.
``POST /v1/answer`` takes ``{"question", "history", "filters"}`` and returns the :class:`~rag.answering.Answer`'s
fields, as :func:`rag.answer` does in Python. ``GET /document?source=…&start=…&end=…`` is a quote in its
document, marked and scrolled to (the chat links every quote there), ``GET /document/file?source=…`` the file.

With a generative backend a stream carries the finished answer only: the code drops or marks the sentences that
no retrieved text supports once the model has written them all, so streaming its tokens would show what is then
taken back. The routes are FastAPI's (installed with Gradio); ``import rag`` does not import this module.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import html
import ipaddress
import json
import mimetypes
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote as url_quote

import anyio.to_thread
from anyio import CapacityLimiter
from fastapi import Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.routing import APIRoute

from rag.answering import Answer, Quote, page_name
from rag.documents import Document
from rag.errors import QuestionError, RagError

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

MODEL = "rag-docs"
"""The one model ``/v1/models`` lists; a request may name any model, the documents answer it."""
MAX_BODY_BYTES = 4_000_000
"""A request body larger than this is refused (413) before it is parsed: a question is at most a few thousand
characters, and a long conversation a few hundred kilobytes."""
MAX_ANSWERING = 4
"""Answers computed at once for the API (more wait), as many as the chat's queue runs: a crowd of API clients
must not starve the people in the chat."""
VIEW_CHARS = 20_000
"""The document page shows at most this many characters on each side of the quote."""


class RequestError(RagError):
    """A request the API cannot take: not JSON, too large, no question, messages of the wrong shape."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# ---- the messages in, the answer out -------------------------------------------------------------------------


def question_and_history(messages: Any) -> tuple[str, list[dict[str, str]]]:
    """The last user message of an OpenAI ``messages`` list and the turns before it (system messages left out,
    a content given as typed parts read as its text parts)."""
    turns = conversation(messages, "messages")
    if not turns:
        raise RequestError("'messages' must be a non-empty list of {'role', 'content'} objects")
    if turns[-1]["role"] != "user":
        raise RequestError("the last message must be the user's question (role 'user')")
    history = [t for t in turns[:-1] if t["role"] in ("user", "assistant")]
    return turns[-1]["content"], history


def conversation(messages: Any, name: str = "history") -> list[dict[str, str]]:
    """``messages`` as ``{"role", "content"}`` turns with text content; a RequestError naming what is wrong."""
    if messages is None:
        return []
    if not isinstance(messages, list):
        raise RequestError(f"'{name}' must be a list of {{'role', 'content'}} objects")
    turns = []
    for n, message in enumerate(messages):
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise RequestError(f"{name}[{n}] must be an object with a 'role' and a 'content'")
        turns.append({"role": message["role"], "content": _text(message.get("content"), f"{name}[{n}]")})
    return turns


def _text(content: Any, where: str) -> str:
    """A message's content as text: a string, or the text parts of a list of typed parts."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):  # [{"type": "text", "text": "..."}, {"type": "image_url", ...}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    raise RequestError(f"{where}.content must be a string or a list of text parts")


def reply_text(answer: Answer) -> str:
    """The answer as one message: its text, then the quotes its ``[n]`` markers point to (none for a refusal)."""
    if not answer.quotes:
        return answer.text
    lines = [answer.text, "", "Sources:"]
    for n, quote in enumerate(answer.quotes, start=1):
        where = f"{quote.source}, {page_name(quote.source, quote.page)}" if quote.page else quote.source
        columns = f", columns: {quote.columns}" if quote.columns else ""  # a table row's header, to read it by
        lines.append(
            f'[{n}] "{quote.text}" ({quote.title or quote.source}, {where}, chars {quote.start}-{quote.end}{columns})'
        )
    return "\n".join(lines)


def completion(answer: Answer, model: str) -> dict[str, Any]:
    """An OpenAI ``chat.completion`` object for ``answer``, with the quotes as data beside the text."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": reply_text(answer)}, "finish_reason": "stop"}
        ],
        **_answer_data(answer),
    }


def completion_chunks(answer: Answer, model: str) -> Iterator[str]:
    """The same answer as a ``chat.completion.chunk`` event stream (Server-Sent Events), ending in ``[DONE]``;
    the last chunk carries the quotes as data."""
    head = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk", "created": int(time.time())}
    head["model"] = model
    deltas: list[tuple[dict[str, Any], str | None]] = [
        ({"role": "assistant", "content": ""}, None),
        ({"content": reply_text(answer)}, None),
        ({}, "stop"),
    ]
    for n, (delta, finish) in enumerate(deltas):
        chunk = {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        if n == len(deltas) - 1:
            chunk.update(_answer_data(answer))
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _answer_data(answer: Answer) -> dict[str, Any]:
    """What a completion carries beside its text: whether it answers, what was searched, the quotes as data."""
    return {
        "answered": answer.answered,
        "query": answer.query,
        "quotes": [dataclasses.asdict(q) for q in answer.quotes],
        "related": [dataclasses.asdict(q) for q in answer.related],
    }


def _clean(value: Any) -> Any:
    """``value`` from JSON with every lone surrogate ("\\ud800", valid JSON, not text) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


# ---- a quote in its document ---------------------------------------------------------------------------------


def document_link(quote: Quote) -> str:
    """The relative address of ``quote``'s page in its document (relative: it works behind a proxy's prefix)."""
    return f"document?source={url_quote(quote.source, safe='')}&start={quote.start}&end={quote.end}#quote"


def document_page(document: Document, start: int, end: int) -> str:
    """The HTML page of a stored document with ``text[start:end]`` marked and scrolled to (``#quote``): up to
    :data:`VIEW_CHARS` characters around it, every character of the document escaped."""
    text = document.text
    start = min(max(start, 0), len(text))
    end = min(max(end, start), len(text))
    lo, hi = max(start - VIEW_CHARS, 0), min(end + VIEW_CHARS, len(text))
    body = f'{html.escape(text[lo:start])}<mark id="quote">{html.escape(text[start:end])}</mark>'
    body += html.escape(text[end:hi])
    body = ("… " if lo else "") + body + (" …" if hi < len(text) else "")
    page = document.page_at(start)
    where = f"{page_name(document.source, page)}, " if page else ""
    at_page = f"#page={page}" if page and document.source.lower().endswith(".pdf") else ""  # a PDF viewer's anchor
    file = f"document/file?source={url_quote(document.source, safe='')}{at_page}"
    title = html.escape(document.title or document.source)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><style>'
        "body{font:16px/1.6 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;color:#111827}"
        "header{border-bottom:1px solid #e5e7eb;margin-bottom:1rem}pre{white-space:pre-wrap;font:inherit}"
        "mark{background:#fde68a;padding:2px 0;scroll-margin-top:40vh}small{color:#4b5563}</style></head><body>"
        f"<header><h1>{title}</h1><p><small><code>{html.escape(document.source)}</code> · the quote: {where}"
        f'chars {start}-{end} · <a href="{html.escape(file)}">the original file</a></small></p></header>'
        f"<pre>{body}</pre></body></html>"
    )


_INLINE = frozenset({".pdf", ".txt", ".text", ".md", ".markdown"})
"""Files shown in the browser; others (HTML, DOCX) are downloaded: an HTML document served on the chat's address
could run its scripts there."""
_PICTURES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
             ".webp": "image/webp", ".bmp": "image/bmp"}  # fmt: skip
"""Images shown in the browser too, with their media types (fixed: ``mimetypes`` answers from the machine's own
tables). Not TIFF, which browsers do not show (it is downloaded); no SVG is read, which could hold scripts."""


# ---- who may call -------------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """True if ``host`` (an address or a name) reaches this machine only: 127.0.0.0/8, ::1, ``localhost``.
    A name that resolves to any other address, or not at all, is taken as reachable from the network."""
    try:
        addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError):
        return False
    return bool(addresses) and all(_loopback_address(a.split("%")[0]) for a in addresses)


def _loopback_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is 127.0.0.1
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def authorized(header: str | None, users: tuple[str, str] | None, api_key: str) -> bool:
    """Whether an ``Authorization`` header may use the routes: always when neither a login nor a key is set;
    else ``Bearer <api_key>`` or HTTP Basic with the chat's login. The header arrives as Latin-1 characters
    (HTTP's bytes); both secrets are compared as UTF-8 bytes."""
    if not users and not api_key:
        return True
    scheme, _, value = (header or "").partition(" ")
    given = value.strip().encode("latin-1", "replace")
    if scheme.lower() == "bearer" and api_key:
        return hmac.compare_digest(given, api_key.encode())
    if scheme.lower() == "basic" and users:
        try:
            login = base64.b64decode(given, validate=True)
        except ValueError:  # binascii.Error, or characters outside base64
            return False
        return hmac.compare_digest(login, f"{users[0]}:{users[1]}".encode())
    return False


def _logged_in(request: Request) -> bool:
    """Whether the request carries the chat's login cookie (a browser following a quote's link from the chat)."""
    app = request.app
    cookie_id = getattr(app, "cookie_id", None)
    token = request.cookies.get(f"access-token-{cookie_id}") or request.cookies.get(
        f"access-token-unsecure-{cookie_id}"
    )
    return bool(token) and token in getattr(app, "tokens", {})


# ---- the routes ---------------------------------------------------------------------------------------------


def routes(pipeline: Pipeline, users: tuple[str, str] | None = None) -> list[APIRoute]:
    """The routes answering from ``pipeline``, for the chat's FastAPI app (``launch(app_kwargs={"routes": …})``,
    so they are there when it starts listening).

    With a login (``users``, the chat's ``--auth``) or ``settings.api_key`` set, every request must bring one of
    them (:func:`authorized`) or the chat's login cookie. Answers are computed on worker threads, at most
    :data:`MAX_ANSWERING` at once."""
    api_key = pipeline.settings.api_key
    answering = CapacityLimiter(MAX_ANSWERING)

    def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
        headers = None
        if status == 401:  # what a client can answer with: a browser asks for a login only if one can work
            headers = {"WWW-Authenticate": 'Basic realm="rag"' if users else 'Bearer realm="rag"'}
        return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status, headers=headers)

    def denied(request: Request) -> JSONResponse | None:
        if authorized(request.headers.get("authorization"), users, api_key) or _logged_in(request):
            return None
        return error(401, "this API needs 'Authorization: Bearer <RAG_API_KEY>' or the chat's login", "auth_error")

    def page_denied(request: Request) -> JSONResponse | None:
        """The document pages follow the chat's access, not the API key's: the chat's links carry no key."""
        if not users or authorized(request.headers.get("authorization"), users, "") or _logged_in(request):
            return None
        return error(401, "this page needs the chat's login", "auth_error")

    async def read_json(request: Request) -> dict[str, Any]:
        raw = bytearray()
        async for part in request.stream():
            raw += part
            if len(raw) > MAX_BODY_BYTES:
                raise RequestError(f"the request body is larger than {MAX_BODY_BYTES:,} bytes", 413)
        try:
            data = json.loads(raw or b"null")
        except (ValueError, RecursionError) as exc:
            raise RequestError(f"the request body is not JSON: {str(exc)[:200]}") from None
        if not isinstance(data, dict):
            raise RequestError("the request body must be a JSON object")
        return dict(_clean(data))

    async def answer_with(request: Request, run: Callable[[dict[str, Any]], Any]) -> Any:
        """Check the caller, read the body, and run ``run(body)`` on a worker thread; errors as JSON."""
        refused = denied(request)
        if refused:
            return refused
        try:
            data = await read_json(request)
            return await anyio.to_thread.run_sync(run, data, limiter=answering)
        except RequestError as exc:
            return error(exc.status, str(exc))
        except QuestionError as exc:
            return error(400, str(exc))
        except RagError as exc:
            return error(503, str(exc), "server_error")

    async def models(request: Request) -> Any:
        refused = denied(request)
        return refused or {
            "object": "list",
            "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "rag"}],
        }

    def complete(data: dict[str, Any]) -> Any:
        question, history = question_and_history(data.get("messages"))
        answer = pipeline.answer(question, history=history, filters=data.get("filters"))
        model = data["model"] if isinstance(data.get("model"), str) and data["model"] else MODEL
        if data.get("stream") is True:
            return StreamingResponse(completion_chunks(answer, model), media_type="text/event-stream")
        return completion(answer, model)

    def answer_fields(data: dict[str, Any]) -> Any:
        question = data.get("question")
        if "question" not in data:
            raise RequestError('the body has no \'question\': send {"question": "…"}')
        if not isinstance(question, str):
            raise RequestError("'question' must be a string")
        history = conversation(data.get("history"))
        return dataclasses.asdict(pipeline.answer(question, history=history, filters=data.get("filters")))

    async def chat_completions(request: Request) -> Any:
        return await answer_with(request, complete)

    async def answer(request: Request) -> Any:
        return await answer_with(request, answer_fields)

    def indexed(source: str) -> bool:
        return source in pipeline.store.sources()

    def missing(source: str) -> HTMLResponse:
        return HTMLResponse(f"<p>{html.escape(source)} is not an indexed document.</p>", status_code=404)

    async def document(request: Request, source: str = "", start: int = 0, end: int = 0) -> Response:
        refused = page_denied(request)
        if refused:
            return refused
        if not await anyio.to_thread.run_sync(indexed, source):
            return missing(source)
        try:
            doc = await anyio.to_thread.run_sync(pipeline.store.document, source)
        except LookupError:  # removed since
            return missing(source)
        return HTMLResponse(document_page(doc, start, end), headers={"X-Content-Type-Options": "nosniff"})

    async def document_file(request: Request, source: str = "") -> Response:
        refused = page_denied(request)
        if refused:
            return refused
        folder = pipeline.settings.docs_dir.resolve()
        path = (folder / source).resolve()
        if not await anyio.to_thread.run_sync(indexed, source) or not path.is_relative_to(folder) or not path.is_file():
            return missing(source)
        suffix = path.suffix.lower()
        headers = {"X-Content-Type-Options": "nosniff"}
        if suffix == ".pdf":  # shown by the browser's PDF viewer, which does not run in a sandbox
            media, shown = "application/pdf", "inline"
        elif suffix in _INLINE:
            media, shown = "text/plain; charset=utf-8", "inline"
        elif suffix in _PICTURES:  # a scan read by OCR: shown, to check a quote against it
            media, shown = _PICTURES[suffix], "inline"
            headers["Content-Security-Policy"] = "sandbox"
        else:  # HTML, DOCX: downloaded, never run on the chat's address
            media, shown = mimetypes.guess_type(path.name)[0] or "application/octet-stream", "attachment"
            headers["Content-Security-Policy"] = "sandbox"
        return FileResponse(path, media_type=media, filename=path.name, content_disposition_type=shown, headers=headers)

    return [
        APIRoute("/v1/models", models, methods=["GET"]),
        APIRoute("/v1/chat/completions", chat_completions, methods=["POST"]),
        APIRoute("/v1/answer", answer, methods=["POST"]),
        APIRoute("/document", document, methods=["GET", "HEAD"]),
        APIRoute("/document/file", document_file, methods=["GET", "HEAD"]),
    ]
