"""The HTTP API beside the chat, as programs use it: the official OpenAI client against the real app (loopback)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from benchmarks.load import running_app
from rag import Answer, Pipeline, Quote
from rag.api import (
    MAX_BODY_BYTES,
    RequestError,
    authorized,
    document_page,
    question_and_history,
    reply_text,
    routes,
)
from rag.documents import Document
from rag.embedding import Embedder
from tests.conftest import HashEmbedder
from tests.fixtures.make_fixtures import make_scan

LOAN_QUESTION = "How much could Ukraine borrow under the reparations loan?"


# ---- the parts, no server ------------------------------------------------------------------------------------


def test_the_question_is_the_last_user_message_and_the_turns_before_it_the_history() -> None:
    parts = [{"type": "text", "text": "How much could Ukraine"}, {"type": "text", "text": "borrow under it?"}]
    question, history = question_and_history(
        [
            {"role": "system", "content": "You are helpful."},  # left out: the documents answer, not a persona
            {"role": "user", "content": "What is the reparations loan backed by?"},
            {"role": "assistant", "content": "Frozen Russian assets."},
            {"role": "user", "content": parts},  # a content given as typed parts
        ]
    )
    assert question == "How much could Ukraine borrow under it?"
    assert history == [
        {"role": "user", "content": "What is the reparations loan backed by?"},
        {"role": "assistant", "content": "Frozen Russian assets."},
    ]


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        (None, "non-empty list"),
        ([], "non-empty list"),
        (["hello"], "messages[0] must be an object"),
        ([{"content": "no role"}], "messages[0] must be an object"),
        ([{"role": "user", "content": 5}], "messages[0].content"),
        ([{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}], "last message"),
    ],
)
def test_messages_of_the_wrong_shape_are_refused_with_what_is_wrong(messages: Any, says: str) -> None:
    with pytest.raises(RequestError, match=says.replace("[", r"\[").replace("]", r"\]")):
        question_and_history(messages)


def test_the_reply_text_lists_the_quotes_its_markers_point_to() -> None:
    quote = Quote("Up to €140 billion.", "loan.txt", 10, 29, 0.9, "The loan", page=3)
    text = reply_text(Answer("How much?", "Up to **€140 billion**. [1]", True, [quote]))
    assert text.splitlines() == [
        "Up to **€140 billion**. [1]",
        "",
        "Sources:",
        '[1] "Up to €140 billion." (The loan, loan.txt, p. 3, chars 10-29)',
    ]
    refusal = Answer("Who won?", "The documents do not say.", False)
    assert reply_text(refusal) == "The documents do not say."  # no sources for a refusal


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "users", "key", "allowed"),
    [
        (None, None, "", True),  # nothing set: open (the chat binds 127.0.0.1 by default)
        (None, ("ann", "pw"), "", False),
        (basic("ann", "pw"), ("ann", "pw"), "", True),
        (basic("ann", "wrong"), ("ann", "pw"), "", False),
        ("Basic !!not-base64", ("ann", "pw"), "", False),
        ("Bearer k3y", None, "k3y", True),
        ("Bearer k3y", ("ann", "pw"), "k3y", True),
        ("Bearer nope", None, "k3y", False),
        ("Bearer pw", ("ann", "pw"), "", False),  # a bearer token needs RAG_API_KEY
        (basic("ann", "pw"), None, "k3y", False),
        ("Basic \xe9\xe9", ("ann", "pw"), "", False),  # not base64 at all (a ValueError, not binascii's)
        ("Bearer cl\xc3\xa9", None, "clé", True),  # a UTF-8 key arrives as Latin-1 characters
    ],
)
def test_the_api_asks_for_the_key_or_the_chat_login_once_either_is_set(
    header: str | None, users: tuple[str, str] | None, key: str, allowed: bool
) -> None:
    assert authorized(header, users, key) is allowed


def test_the_document_page_marks_the_quote_and_escapes_everything() -> None:
    text = "<script>alert(1)</script> Intro & more.\n\nThe depot is in <b>Bremen</b>. Outro."
    start = text.index("The depot")
    end = text.index(" Outro")
    page = document_page(Document("notes/a&b.txt", "Depots <1>", text, "f"), start, end)
    assert '<mark id="quote">The depot is in &lt;b&gt;Bremen&lt;/b&gt;.</mark>' in page
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Depots &lt;1&gt;" in page and "notes%2Fa%26b.txt" in page  # title escaped, file link quoted
    assert f"chars {start}-{end}" in page
    paged = document_page(Document("r.pdf", "Report", "x" * 100 + "Page two text.", "f", pages=(0, 100)), 100, 114)
    assert "p. 2, chars 100-114" in paged and 'href="document/file?source=r.pdf#page=2"' in paged  # at its page
    deck = document_page(Document("d.pptx", "Deck", "x" * 100 + "Slide two.", "f", pages=(0, 100)), 100, 110)
    assert "slide 2, chars 100-110" in deck and 'href="document/file?source=d.pptx"' in deck  # a download: no anchor
    far = document_page(Document("x.txt", "", "a" * 50_000 + "QUOTE" + "b" * 50_000, "f"), 50_000, 50_005)
    assert far.count("a") < 25_000 and "… " in far and " …" in far  # a window around the quote, not all of it


# ---- the real app, through the official OpenAI client --------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("api-app")
    with running_app(root) as url:
        yield url, root


@pytest.fixture(scope="module")
def client(app: tuple[str, Path]) -> Any:
    openai = pytest.importorskip("openai")
    return openai.OpenAI(base_url=app[0] + "v1", api_key="unused", max_retries=0, timeout=120)


@pytest.fixture(scope="module")
def stored(app: tuple[str, Path], embedder: Embedder) -> Pipeline:
    """The app's index, read from this process: the documents' stored text, to check quotes against."""
    _, root = app
    return Pipeline(docs_dir=root / "docs", index_dir=root / "index", embedder=embedder, sync_on_start=False)


def assert_quotes_are_verbatim(quotes: list[dict[str, Any]], stored: Pipeline) -> None:
    for quote in quotes:
        assert stored.document_text(quote["source"])[quote["start"] : quote["end"]] == quote["text"], quote


@pytest.mark.slow
def test_an_openai_client_gets_the_answer_with_its_quotes_as_text_and_as_data(client: Any, stored: Pipeline) -> None:
    assert [model.id for model in client.models.list()] == ["rag-docs"]
    reply = client.chat.completions.create(model="rag-docs", messages=[{"role": "user", "content": LOAN_QUESTION}])
    content = reply.choices[0].message.content
    assert "**€140 billion**" in content and "[1]" in content
    assert "Sources:" in content and "EU-defence-ministers-in-Brussels.txt" in content
    extra = reply.model_extra
    assert extra["answered"] is True and extra["quotes"]
    assert_quotes_are_verbatim(extra["quotes"] + extra["related"], stored)

    refusal = client.chat.completions.create(
        model="any-name", messages=[{"role": "user", "content": "Who won the 2022 World Cup?"}]
    )
    assert "do not say" in refusal.choices[0].message.content
    assert refusal.model_extra["answered"] is False and refusal.model_extra["quotes"] == []
    assert refusal.model == "any-name"


@pytest.mark.slow
def test_a_streamed_follow_up_is_resolved_against_the_messages_before_it(client: Any, stored: Pipeline) -> None:
    chunks = list(
        client.chat.completions.create(
            model="rag-docs",
            stream=True,
            messages=[
                {"role": "user", "content": "What is the reparations loan backed by?"},
                {"role": "assistant", "content": "About €185 billion of frozen Russian sovereign assets."},
                {"role": "user", "content": "How much could Ukraine borrow under it?"},
            ],
        )
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert "140 billion" in text
    assert chunks[-1].choices[0].finish_reason == "stop"
    last = chunks[-1].model_extra
    assert "reparations loan" in last["query"]  # searched with the earlier turn
    assert_quotes_are_verbatim(last["quotes"], stored)


@pytest.mark.slow
def test_bad_requests_get_a_400_that_says_why(client: Any, app: tuple[str, Path]) -> None:
    openai = pytest.importorskip("openai")
    with pytest.raises(openai.BadRequestError, match="question is empty"):
        client.chat.completions.create(model="rag-docs", messages=[{"role": "user", "content": "   "}])
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(model="rag-docs", messages=[{"role": "assistant", "content": "Hi"}])
    with pytest.raises(openai.BadRequestError, match="unknown filter field"):
        client.chat.completions.create(
            model="rag-docs", messages=[{"role": "user", "content": LOAN_QUESTION}], extra_body={"filters": {"x": 1}}
        )
    status, body = post(app[0] + "v1/chat/completions", b"{not json")
    assert status == 400 and "not JSON" in body["error"]["message"]


def post(url: str, data: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_the_plain_answer_endpoint_returns_the_answer_fields_and_honours_filters(
    app: tuple[str, Path], stored: Pipeline
) -> None:
    question = json.dumps({"question": LOAN_QUESTION}).encode()
    status, body = post(app[0] + "v1/answer", question)
    assert status == 200 and body["answered"] and "140 billion" in body["key_phrase"]
    assert_quotes_are_verbatim(body["quotes"], stored)
    limited = json.dumps({"question": LOAN_QUESTION, "filters": {"source": "Kallas-on-Ukraine-peace-diplomacy.txt"}})
    status, body = post(app[0] + "v1/answer", limited.encode())
    assert status == 200 and not body["answered"]  # the loan is in the other document only
    status, body = post(app[0] + "v1/answer", json.dumps({"question": 5}).encode())
    assert status == 400 and "must be a string" in body["error"]["message"]


@pytest.mark.slow
def test_with_a_login_set_the_api_needs_the_key_or_the_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, app: tuple[str, Path]
) -> None:
    openai = pytest.importorskip("openai")
    monkeypatch.setenv("RAG_API_KEY", "s3cret-key")
    question = json.dumps({"question": LOAN_QUESTION}).encode()
    with running_app(app[1], "--auth", "ann:s3cret-pass") as url:  # the same index, served with a login
        status, body = post(url + "v1/answer", question)
        assert status == 401 and "Authorization" in body["error"]["message"]
        assert post(url + "v1/answer", question, {"Authorization": "Bearer wrong"})[0] == 401
        assert post(url + "v1/answer", question, {"Authorization": basic("ann", "s3cret-pass")})[0] == 200
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url + "v1", api_key="wrong", max_retries=0).models.list()
        reply = openai.OpenAI(base_url=url + "v1", api_key="s3cret-key", max_retries=0).chat.completions.create(
            model="rag-docs", messages=[{"role": "user", "content": LOAN_QUESTION}]
        )
        assert "140 billion" in reply.choices[0].message.content
        page = f"{url}document?source=EU-defence-ministers-in-Brussels.txt&start=0&end=10"
        assert get(page)[0] == 401  # a document needs the login too
        assert get(page, {"Authorization": basic("ann", "s3cret-pass")})[0] == 200


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"question": "Who is Kallas?", "filters": "x"}, 400, "a filter is a mapping"),
        ({"question": "Who is Kallas?", "filters": [1]}, 400, "a filter is a mapping"),
        ({"question": "Who is Kallas?", "filters": {"source": 5}}, 400, "non-empty strings"),
        ({"question": "Who is Kallas?", "history": "x"}, 400, "'history' must be a list"),
        ({"question": "Who is Kallas?", "history": [{"role": "user", "content": 3}]}, 400, "history[0].content"),
        ({"q": "Who is Kallas?"}, 400, "has no 'question'"),
        ({"question": "Who is Kallas \ud800?"}, 200, ""),  # a lone surrogate: valid JSON, not text
        ("[" * 100_000 + "]" * 100_000, 400, "not JSON"),  # nested too deep to parse
        ("x" * (MAX_BODY_BYTES + 1), 413, "larger than"),
    ],
)
def test_any_body_gets_an_answer_or_a_json_error_never_a_crash(
    app: tuple[str, Path], body: object, status: int, says: str
) -> None:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    got, reply = post(app[0] + "v1/answer", data)
    assert got == status, reply
    assert says in (reply["error"]["message"] if status != 200 else "")


@pytest.mark.slow
def test_a_history_given_as_parts_is_read_and_stream_must_be_true_to_stream(app: tuple[str, Path]) -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "What is the reparations loan backed by?"}]},
        {"role": "assistant", "content": "Frozen assets."},
    ]
    body = {"question": "How much could Ukraine borrow under it?", "history": history}
    status, reply = post(app[0] + "v1/answer", json.dumps(body).encode())
    assert status == 200 and "reparations loan" in reply["query"]
    messages = [{"role": "user", "content": LOAN_QUESTION}]
    status, reply = post(app[0] + "v1/chat/completions", json.dumps({"messages": messages, "stream": "false"}).encode())
    assert status == 200 and reply["object"] == "chat.completion"  # a string "false" is not a request to stream


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=60) as response:
            return response.status, response.read().decode("utf-8"), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


@pytest.mark.slow
def test_a_quote_opens_in_its_document_and_only_indexed_documents_open(app: tuple[str, Path]) -> None:
    url, root = app
    _, reply = post(url + "v1/answer", json.dumps({"question": LOAN_QUESTION}).encode())
    quote = reply["quotes"][0]
    status, page, _ = get(f"{url}document?source={quote['source']}&start={quote['start']}&end={quote['end']}")
    assert status == 200 and f'<mark id="quote">{quote["text"]}</mark>' in page
    assert "EU defence ministers in Brussels" in page and "the original file" in page

    status, text, headers = get(f"{url}document/file?source={quote['source']}")
    assert status == 200 and text == (root / "docs" / quote["source"]).read_text(encoding="utf-8")
    assert headers["content-type"].startswith("text/plain") and headers["x-content-type-options"] == "nosniff"
    for source in ["../../../etc/passwd", "%2Fetc%2Fpasswd", "missing.txt", ""]:
        assert get(f"{url}document?source={source}")[0] == 404, source
        assert get(f"{url}document/file?source={source}")[0] == 404, source


def test_an_html_document_is_downloaded_never_shown_on_the_chats_address(tmp_path: Path) -> None:
    """An HTML file served inline on the chat's address could run its scripts there, with the chat's login."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.html").write_text("<html><body><p>The depot is in Kiel.</p><script>alert(1)</script></body></html>")
    (docs / "notes.md").write_text("# Notes\n\nThe depot is in Bremen.\n")
    (docs / "notice.png").write_bytes(make_scan("The depot is in Rostock."))
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    pipeline.index()
    client = TestClient(FastAPI(routes=routes(pipeline)))
    page = client.get("/document/file", params={"source": "page.html"})
    assert page.status_code == 200 and page.headers["content-disposition"].startswith("attachment")
    assert page.headers["content-security-policy"] == "sandbox" and "html" in page.headers["content-type"]
    assert client.head("/document/file", params={"source": "notes.md"}).status_code == 200  # a link checker's
    notes = client.get("/document/file", params={"source": "notes.md"})
    assert notes.headers["content-type"].startswith("text/plain") and notes.text.startswith("# Notes")
    assert notes.headers["content-disposition"].startswith("inline")
    scan = client.get("/document/file", params={"source": "notice.png"})  # a scan read by OCR: seen, to check quotes
    assert scan.headers["content-type"] == "image/png" and scan.headers["content-disposition"].startswith("inline")
    assert scan.headers["content-security-policy"] == "sandbox" and scan.content == (docs / "notice.png").read_bytes()


def test_with_only_an_api_key_the_chats_document_links_stay_open(tmp_path: Path) -> None:
    """The key guards the API; the chat (open without --auth) links its quotes' documents, and links carry no key."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.md").write_text("# Notes\n\nThe depot is in Bremen.\n")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder(), api_key="k3y")
    pipeline.index()
    client = TestClient(FastAPI(routes=routes(pipeline)))
    assert client.get("/document", params={"source": "notes.md"}).status_code == 200
    assert client.get("/document/file", params={"source": "notes.md"}).status_code == 200
    assert client.post("/v1/answer", json={"question": "Where is the depot?"}).status_code == 401
    with_login = TestClient(FastAPI(routes=routes(pipeline, ("ann", "pw"))))
    assert with_login.get("/document", params={"source": "notes.md"}).status_code == 401
    assert with_login.get("/document", params={"source": "notes.md"}, auth=("ann", "pw")).status_code == 200
