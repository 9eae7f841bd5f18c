"""`rag mcp`: the documents as tools of an MCP client, driven by the official MCP SDK's client.

One test starts `rag mcp` as a client does (a subprocess speaking over stdin/stdout); the others talk to the same
server in-process over the SDK's memory transport, on the seeds pipeline with the real model.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from rag import Pipeline, mcp_server

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
        assert listed["documents"] == 2
        assert [s["path"] for s in listed["skipped"]] == ["scan.txt"]
        assert "binary" in listed["skipped"][0]["reason"]

        (seeds_copy / "notes" / "astronomy.md").parent.mkdir()
        (seeds_copy / "notes" / "astronomy.md").write_text(
            "# Astronomy\nThe Andromeda galaxy is about 2.5 million light years from Earth.\n", encoding="utf-8"
        )
        for _ in range(60):  # the folder is synced every second (RAG_WATCH_SECONDS)
            listed = data(await client.call_tool("list_documents", {}))
            if listed["documents"] == 3:
                break
            await asyncio.sleep(0.5)
        answer = data(await client.call_tool("ask", {"question": "How far is the Andromeda galaxy?"}))
        assert answer["answered"] is True
        assert answer["quotes"][0]["source"] == "notes/astronomy.md"
        assert "2.5 million light years" in answer["key_phrase"]

    with_client(params, session)
    assert (tmp_path / "index").is_dir()  # the first call built the index where the settings say


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


def test_read_document_rejects_offsets_outside_the_text(server: Any, seeds_pipeline: Pipeline) -> None:
    source = seeds_pipeline.store.sources()[0]
    length = len(seeds_pipeline.document_text(source))

    async def session(client: Client) -> None:
        for start, end in [(-1, 10), (10, 5), (0, length + 1)]:
            result = await client.call_tool("read_document", {"source": source, "start": start, "end": end})
            assert result.is_error
            assert f"0 <= start <= end <= {length}" in result.content[0].text

    with_client(server, session)


def test_rag_mcp_without_the_sdk_says_which_extra_to_install(tmp_path: Path) -> None:
    code = "import sys; sys.modules['mcp'] = None; from rag.cli import main; sys.exit(main(['mcp']))"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("rag: error: rag mcp needs the MCP SDK: pip install 'rag-docs[mcp]'")
    assert done.stdout == ""
