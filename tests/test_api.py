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

from benchmarks.load import running_app
from rag import Answer, Pipeline, Quote
from rag.api import RequestError, authorized, question_and_history, reply_text
from rag.embedding import Embedder

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
    ],
)
def test_the_api_asks_for_the_key_or_the_chat_login_once_either_is_set(
    header: str | None, users: tuple[str, str] | None, key: str, allowed: bool
) -> None:
    assert authorized(header, users, key) is allowed


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
