"""The HTTP API served beside the web chat: OpenAI-compatible chat completions and a plain JSON answer.

Any OpenAI-style client (the ``openai`` package, Open WebUI, LangChain's ``ChatOpenAI``, curl) can use the
documents as a model: ``POST /v1/chat/completions`` with the conversation as ``messages``. The reply's content is
the answer with its ``[n]`` markers followed by the quotes they point to, and the response also carries the quotes
as data (``quotes``: text, document, character offsets, page), so a program never has to parse the text.
``POST /v1/answer`` takes ``{"question", "history", "filters"}`` and returns the :class:`~rag.answering.Answer`'s
fields, as :func:`rag.answer` does in Python.

With a generative backend a stream carries the finished answer only: the code drops or marks the sentences that
no retrieved text supports once the model has written them all, so streaming its tokens would show what is then
taken back. The routes are FastAPI's (installed with Gradio); ``import rag`` does not import this module.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

from rag.answering import Answer, Quote
from rag.errors import QuestionError, RagError

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

MODEL = "rag-docs"
"""The one model ``/v1/models`` lists; a request may name any model, the documents answer it."""


class RequestError(RagError):
    """A request the API cannot take: not JSON, no question, messages of the wrong shape."""


def question_and_history(messages: Any) -> tuple[str, list[dict[str, str]]]:
    """The last user message of an OpenAI ``messages`` list and the turns before it (system messages left out,
    a content given as typed parts read as its text parts)."""
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list of {'role', 'content'} objects")
    turns = []
    for n, message in enumerate(messages):
        if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
            raise RequestError(f"messages[{n}] must be an object with a 'role' and a 'content'")
        turns.append({"role": message["role"], "content": _text(message.get("content"), n)})
    if turns[-1]["role"] != "user":
        raise RequestError("the last message must be the user's question (role 'user')")
    history = [t for t in turns[:-1] if t["role"] in ("user", "assistant")]
    return turns[-1]["content"], history


def _text(content: Any, n: int) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, list):  # [{"type": "text", "text": "..."}, {"type": "image_url", ...}]
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text")
    raise RequestError(f"messages[{n}].content must be a string or a list of text parts")


def quote_data(quote: Quote) -> dict[str, Any]:
    return dataclasses.asdict(quote)


def reply_text(answer: Answer) -> str:
    """The answer as one message: its text, then the quotes its ``[n]`` markers point to (none for a refusal)."""
    if not answer.quotes:
        return answer.text
    lines = [answer.text, "", "Sources:"]
    for n, quote in enumerate(answer.quotes, start=1):
        where = f"{quote.source}, p. {quote.page}" if quote.page else quote.source
        lines.append(f'[{n}] "{quote.text}" ({quote.title or quote.source}, {where}, chars {quote.start}-{quote.end})')
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
        **_extra(answer),
    }


def completion_chunks(answer: Answer, model: str) -> Iterator[str]:
    """The same answer as a ``chat.completion.chunk`` event stream (Server-Sent Events), ending in ``[DONE]``."""
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
            chunk.update(_extra(answer))
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


def _extra(answer: Answer) -> dict[str, Any]:
    return {
        "answered": answer.answered,
        "query": answer.query,
        "quotes": [quote_data(q) for q in answer.quotes],
        "related": [quote_data(q) for q in answer.related],
    }


def authorized(header: str | None, users: tuple[str, str] | None, api_key: str) -> bool:
    """Whether an ``Authorization`` header may use the API: always when neither a login nor a key is set; else
    ``Bearer <api_key>`` or HTTP Basic with the chat's login."""
    if not users and not api_key:
        return True
    scheme, _, value = (header or "").partition(" ")
    if scheme.lower() == "bearer" and api_key:
        return hmac.compare_digest(value.strip().encode(), api_key.encode())
    if scheme.lower() == "basic" and users:
        try:
            given = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(given.encode(), f"{users[0]}:{users[1]}".encode())
    return False


def add_routes(app: FastAPI, pipeline: Pipeline, users: tuple[str, str] | None = None) -> None:
    """Serve ``/v1/models``, ``/v1/chat/completions`` and ``/v1/answer`` from ``pipeline`` on ``app``.

    With a login (``users``, the chat's ``--auth``) or ``settings.api_key`` set, every request must bring one of
    them (see :func:`authorized`). Answers are computed on worker threads, off the event loop."""
    api_key = pipeline.settings.api_key

    def error(status: int, message: str, kind: str = "invalid_request_error") -> JSONResponse:
        headers = {"WWW-Authenticate": 'Basic realm="rag"'} if status == 401 else None
        return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status, headers=headers)

    def guarded(request: Request) -> JSONResponse | None:
        if authorized(request.headers.get("authorization"), users, api_key):
            return None
        return error(401, "this API needs 'Authorization: Bearer <RAG_API_KEY>' or the chat's login", "auth_error")

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RequestError(f"the request body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RequestError("the request body must be a JSON object")
        return data

    def answered(run: Any) -> Any:
        try:
            return run()
        except (RequestError, QuestionError, ValueError) as exc:
            return error(400, str(exc))
        except RagError as exc:
            return error(503, str(exc), "server_error")

    async def models(request: Request) -> Any:
        denied = guarded(request)
        return denied or {"object": "list", "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "rag"}]}

    async def chat_completions(request: Request) -> Any:
        denied = guarded(request)
        if denied:
            return denied
        try:
            data = await body(request)
        except RequestError as exc:
            return error(400, str(exc))

        def run() -> Any:
            question, history = question_and_history(data.get("messages"))
            answer = pipeline.answer(question, history=history, filters=data.get("filters"))
            model = str(data.get("model") or MODEL)
            if data.get("stream"):
                return StreamingResponse(completion_chunks(answer, model), media_type="text/event-stream")
            return completion(answer, model)

        return await _in_thread(answered, run)

    async def answer(request: Request) -> Any:
        denied = guarded(request)
        if denied:
            return denied
        try:
            data = await body(request)
        except RequestError as exc:
            return error(400, str(exc))

        def run() -> Any:
            history = data.get("history") or []
            if not isinstance(history, list):
                raise RequestError("'history' must be a list of {'role', 'content'} messages")
            question = data.get("question")
            if not isinstance(question, str):
                raise RequestError("'question' must be a string")
            return dataclasses.asdict(pipeline.answer(question, history=history, filters=data.get("filters")))

        return await _in_thread(answered, run)

    app.add_api_route("/v1/models", models, methods=["GET"])
    app.add_api_route("/v1/chat/completions", chat_completions, methods=["POST"])
    app.add_api_route("/v1/answer", answer, methods=["POST"])


async def _in_thread(function: Any, *args: Any) -> Any:
    """Run the blocking ``function`` off the event loop (the models and the index are used from threads)."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(function, *args)
