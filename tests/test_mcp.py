"""`rag mcp`: the documents as tools of an MCP client, driven by the official MCP SDK's client.

`rag mcp` is started as clients start it (a subprocess speaking over stdin/stdout, or `rag mcp --http` on a
loopback port); the finer checks talk to the same server in-process over the SDK's memory transport, on the seeds
pipeline with the real model.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fixtures.make_fixtures import make_pptx
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from benchmarks.load import stop
from rag import Pipeline, mcp_server
from tests.servers import free_port

pytestmark = pytest.mark.slow

LOAN = "How much could Ukraine borrow under the reparations loan?"


def with_client(server: Any, session: Callable[[Client], Awaitable[None]]) -> None:
    async def run() -> None:
        async with Client(server) as client:
            await session(client)

    asyncio.run(run())


def data(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return dict(result.structured_content)


def test_rag_mcp_over_stdio_answers_with_verbatim_quotes_and_follows_the_folder(
    tmp_path: Path, seeds_copy: Path
) -> None:
    (seeds_copy / "scan.txt").write_bytes(b"\x00\x01\x02 not text")
    (seeds_copy / "deck.pptx").write_bytes(make_pptx([{"title": "Fleet", "bullets": ["Twelve ferries."]}, {}]))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"), RAG_DOCS_DIR=str(seeds_copy), RAG_WATCH_SECONDS="1")
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag", "mcp"], env=environ)

    async def session(client: Client) -> None:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert set(tools) == {"ask", "search", "list_documents", "read_document"}
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.values())

        answer = data(await client.call_tool("ask", {"question": LOAN}))
        assert answer["answered"] is True
        assert answer["key_phrase"] == "€140 billion"
        assert "[1]" in answer["text"]
        for quote in answer["quotes"] + answer["related"]:
            text = (seeds_copy / quote["source"]).read_text(encoding="utf-8")
            assert text[quote["start"] : quote["end"]] == quote["text"]

        off_topic = data(await client.call_tool("ask", {"question": "Who won the 2022 World Cup?"}))
        assert off_topic["answered"] is False
        assert off_topic["quotes"] == []

        listed = data(await client.call_tool("list_documents", {}))
        assert listed["documents"] == 3
        assert [s["path"] for s in listed["skipped"]] == ["scan.txt"]
        assert "binary" in listed["skipped"][0]["reason"]
        assert listed["warnings"] == [{"source": "deck.pptx", "warnings": ["slide 2 has no text"]}]

        (seeds_copy / "notes" / "astronomy.md").parent.mkdir()
        (seeds_copy / "notes" / "astronomy.md").write_text(
            "# Astronomy\nThe Andromeda galaxy is about 2.5 million light years from Earth.\n", encoding="utf-8"
        )
        for _ in range(60):  # the folder is synced every second (RAG_WATCH_SECONDS)
            listed = data(await client.call_tool("list_documents", {}))
            if listed["documents"] == 4:
                break
            await asyncio.sleep(0.5)
        answer = data(await client.call_tool("ask", {"question": "How far is the Andromeda galaxy?"}))
        assert answer["answered"] is True
        assert answer["quotes"][0]["source"] == "notes/astronomy.md"
        assert "2.5 million light years" in answer["key_phrase"]

    with_client(params, session)
    assert (tmp_path / "index").is_dir()  # the first call built the index where the settings say


def test_rag_mcp_on_a_missing_folder_starts_and_says_why_on_every_call(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"), RAG_DOCS_DIR=str(tmp_path / "gone"))
    params = StdioServerParameters(command=sys.executable, args=["-m", "rag", "mcp"], env=environ)

    async def session(client: Client) -> None:
        assert len((await client.list_tools()).tools) == 4  # the handshake does not wait for the index
        for tool, args in (("ask", {"question": "Who?"}), ("list_documents", {})):
            result = await client.call_tool(tool, args)
            assert result.is_error
            assert f"documents folder not found: {tmp_path / 'gone'}" in result.content[0].text

    with_client(params, session)


@pytest.fixture(scope="module")
def server(seeds_pipeline: Pipeline) -> Any:
    return mcp_server.build_server(seeds_pipeline)


def test_every_quote_and_passage_reads_back_verbatim_at_its_offsets(server: Any, seeds_pipeline: Pipeline) -> None:
    questions = [
        LOAN,
        "Who is the EU Defense Commissioner?",
        "How big is the SAFE fund?",
        "What did Kallas say about peace diplomacy?",
        "How many countries submitted spending plans?",
    ]

    async def session(client: Client) -> None:
        seen = 0
        for question in questions:
            answer = data(await client.call_tool("ask", {"question": question}))
            found = data(await client.call_tool("search", {"query": question, "top_k": 4}))
            assert len(found["passages"]) == 4
            for item in answer["quotes"] + answer["related"] + found["passages"]:
                stored = seeds_pipeline.document_text(item["source"])
                assert stored[item["start"] : item["end"]] == item["text"]
                read = data(
                    await client.call_tool(
                        "read_document", {"source": item["source"], "start": item["start"], "end": item["end"]}
                    )
                )
                assert read["text"] == item["text"]
                seen += 1
        assert seen >= 3 * len(questions)

    with_client(server, session)


def test_a_follow_up_is_understood_from_the_history(server: Any) -> None:
    history = [
        {"role": "user", "content": "What is the reparations loan?"},
        {"role": "assistant", "content": "A loan to Ukraine backed by frozen Russian assets. [1]"},
    ]

    async def session(client: Client) -> None:
        args = {"question": "How much could Ukraine borrow under it?", "history": history}
        answer = data(await client.call_tool("ask", args))
        assert answer["answered"] is True
        assert answer["key_phrase"] == "€140 billion"
        assert "reparations loan" in answer["query"]

    with_client(server, session)


def test_filters_keep_the_answer_to_the_documents_named(server: Any, seeds_pipeline: Pipeline) -> None:
    kallas = next(s for s in seeds_pipeline.store.sources() if s.startswith("Kallas"))

    async def session(client: Client) -> None:
        found = data(await client.call_tool("search", {"query": "Ukraine", "top_k": 5, "filters": {"source": kallas}}))
        assert {p["source"] for p in found["passages"]} == {kallas}
        answer = data(await client.call_tool("ask", {"question": LOAN, "filters": {"source": kallas}}))
        assert {q["source"] for q in answer["quotes"] + answer["related"]} <= {kallas}

    with_client(server, session)


def test_list_documents_names_what_the_index_holds(server: Any, seeds_pipeline: Pipeline) -> None:
    async def session(client: Client) -> None:
        listed = data(await client.call_tool("list_documents", {}))
        assert listed["documents"] == 2
        assert listed["chunks"] == len(seeds_pipeline.store)
        assert [d["source"] for d in listed["listed"]] == seeds_pipeline.store.sources()
        assert all(d["title"] and d["chunks"] > 0 for d in listed["listed"])
        assert data(await client.call_tool("list_documents", {"limit": 1}))["listed"] == listed["listed"][:1]

    with_client(server, session)


def test_a_long_document_is_read_in_pieces_that_join_up_to_its_text(
    server: Any, seeds_pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mcp_server, "READ_MAX_CHARS", 1000)
    source = seeds_pipeline.store.sources()[0]
    whole = seeds_pipeline.document_text(source)
    assert len(whole) > 3000

    async def session(client: Client) -> None:
        pieces, start = [], 0
        while start < len(whole):
            piece = data(await client.call_tool("read_document", {"source": source, "start": start}))
            assert piece["length"] == len(whole)
            assert piece["end"] - piece["start"] <= 1000
            pieces.append(piece["text"])
            start = piece["end"]
        assert "".join(pieces) == whole

    with_client(server, session)


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("ask", {"question": "  "}, "The question is empty"),
        ("ask", {"question": LOAN, "filters": {"colour": "red"}}, "unknown filter field 'colour'"),
        ("search", {"query": "SAFE", "top_k": 0}, "top_k must be between 1 and 20"),
        ("read_document", {"source": "../../etc/passwd"}, "no document '../../etc/passwd' in the index"),
        ("read_document", {"source": "missing.txt"}, "list_documents names them"),
        ("list_documents", {"limit": -1}, "limit must be between 0 and 1000"),
    ],
)
def test_bad_calls_get_a_clear_error_not_a_crash(server: Any, tool: str, args: dict[str, Any], message: str) -> None:
    async def session(client: Client) -> None:
        result = await client.call_tool(tool, args)
        assert result.is_error
        assert message in result.content[0].text
        assert data(await client.call_tool("list_documents", {"limit": 0}))["documents"] == 2  # still serving

    with_client(server, session)


def test_read_document_rejects_offsets_outside_the_text_and_stops_at_its_end(
    server: Any, seeds_pipeline: Pipeline
) -> None:
    source = seeds_pipeline.store.sources()[0]
    whole = seeds_pipeline.document_text(source)

    async def session(client: Client) -> None:
        for start, end in [(-1, 10), (10, 5), (len(whole) + 1, None)]:
            result = await client.call_tool("read_document", {"source": source, "start": start, "end": end})
            assert result.is_error
            assert f"0 <= start <= end, start <= {len(whole)}" in result.content[0].text
        tail = data(await client.call_tool("read_document", {"source": source, "start": len(whole) - 5, "end": 10**9}))
        assert (tail["text"], tail["end"]) == (whole[-5:], len(whole))

    with_client(server, session)


def test_table_rows_come_with_their_columns_in_answers_and_in_search(tmp_path: Path, embedder: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "offices.csv").write_text(
        "Office,City,Manager\nSales Office,Lyon,Camille Roux\nStudio,Porto,Tiago Mendes\n"
    )
    depots = [f"Depot {i},Manager {i} Berg,{10 + i % 50} staff" for i in range(400)]
    (docs / "depots.csv").write_text("Depot,Manager,Staff\n" + "\n".join(depots) + "\n")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)

    async def session(client: Client) -> None:
        answer = data(await client.call_tool("ask", {"question": "Who manages the Lyon office?"}))
        quote = answer["quotes"][0]
        assert (quote["text"], quote["columns"]) == ("Sales Office | Lyon | Camille Roux", "Office | City | Manager")
        start, end = quote["highlight"]
        assert pipeline.document_text("offices.csv")[start:end] == answer["key_phrase"] == "Camille Roux"
        found = data(
            await client.call_tool("search", {"query": "Depot 180 manager", "filters": {"source": "depots.csv"}})
        )
        middle = [p for p in found["passages"] if p["start"] > 0]
        assert middle and all(p["columns"] == "Depot | Manager | Staff" for p in middle)
        assert any("Depot 180 | Manager 180 Berg" in p["text"] for p in middle)

    with_client(mcp_server.build_server(pipeline), session)


def test_a_document_is_read_by_its_name_composed_or_decomposed(tmp_path: Path, embedder: Any) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    stored = unicodedata.normalize("NFD", "café menu.txt")  # as some systems write accented file names
    (docs / stored).write_text("The café serves soup until noon.\n", encoding="utf-8")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)

    async def session(client: Client) -> None:
        for typed in ("café menu.txt", stored):
            read = data(await client.call_tool("read_document", {"source": typed}))
            assert read["text"] == "The café serves soup until noon.\n"

    with_client(mcp_server.build_server(pipeline), session)


def test_host_and_port_without_http_are_refused(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run(
        [sys.executable, "-m", "rag", "mcp", "--port", "7899"], capture_output=True, text=True, env=environ, timeout=120
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("rag: error: --host and --port are for rag mcp --http")


def test_rag_mcp_without_the_sdk_says_which_extra_to_install(tmp_path: Path) -> None:
    code = "import sys; sys.modules['mcp'] = None; from rag.cli import main; sys.exit(main(['mcp']))"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("rag: error: rag mcp needs the MCP SDK: pip install 'rag-docs[mcp]'")
    assert done.stdout == ""


@contextlib.contextmanager
def rag_mcp_http(root: Path, docs: Path, env: dict[str, str], host: str = "127.0.0.1") -> Iterator[str]:
    """`rag mcp --http` on a free loopback port of ``host``; yields its endpoint URL; always stops it."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(root / "index"), RAG_DOCS_DIR=str(docs), RAG_WATCH_SECONDS="0", **env)
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "mcp", "--http", "--host", host, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith(f"Serving MCP on http://{host}:{port}/mcp"), line + process.stdout.read()
        yield f"http://{host}:{port}/mcp"
    finally:
        stop(process, timeout=30)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def test_rag_mcp_over_http_with_a_key_answers_only_requests_that_carry_it(tmp_path: Path, seeds_copy: Path) -> None:
    with rag_mcp_http(tmp_path, seeds_copy, {"RAG_API_KEY": "s3cret"}) as url:
        for given in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic czNjcmV0"}):
            refused = httpx2.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **given}, timeout=30)
            assert refused.status_code == 401
            assert "RAG_API_KEY" in refused.json()["error"]

        async def session(client: Client) -> None:
            answer = data(await client.call_tool("ask", {"question": LOAN}))
            assert answer["answered"] is True
            assert answer["key_phrase"] == "€140 billion"
            for quote in answer["quotes"]:
                text = (seeds_copy / quote["source"]).read_text(encoding="utf-8")
                assert text[quote["start"] : quote["end"]] == quote["text"]

        async def run() -> None:
            http = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"}, timeout=60)
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                await session(client)

        asyncio.run(run())


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2"])  # any loopback address, not only the usual one
def test_rag_mcp_over_http_refuses_web_pages(tmp_path: Path, seeds_copy: Path, host: str) -> None:
    """Without a key it serves this machine only, and no web page can reach it through the browser: not one on
    another site (DNS rebinding: a foreign Host header), nor one served from this machine (an Origin header)."""
    with rag_mcp_http(tmp_path, seeds_copy, {}, host) as url:
        accepted = httpx2.post(url, json=INITIALIZE, headers=MCP_HEADERS, timeout=30)
        assert accepted.status_code == 200
        for page in (
            {"Host": "attacker.example"},
            {"Origin": "http://attacker.example"},
            {"Origin": "http://localhost:3000"},
        ):
            refused = httpx2.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **page}, timeout=30)
            assert refused.status_code in (403, 421), page


def test_rag_mcp_over_http_to_a_network_without_a_key_refuses_to_start(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run(
        [sys.executable, "-m", "rag", "mcp", "--http", "--host", "0.0.0.0", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("rag: error: serving MCP on 0.0.0.0 would open the documents to anyone")
    assert "RAG_API_KEY" in done.stderr
