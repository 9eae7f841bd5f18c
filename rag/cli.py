"""``rag index | ask | chat | serve | mcp``: a thin shell over :class:`rag.Pipeline`.

Library errors become one line on stderr and a non-zero exit; ``--json`` prints machine-readable output.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import QuestionError, RagError

if TYPE_CHECKING:  # the pipeline is imported when a command runs, not for --help
    from rag.answering import Answer
    from rag.conversation import Message
    from rag.pipeline import IndexReport, Pipeline


MCP_PORT = 7861
"""``rag mcp --http``'s default port: beside the web chat's 7860."""


def _common(after_command: bool) -> argparse.ArgumentParser:
    """The options every command takes, before the command (``rag --docs D ask Q``) or after it (``rag ask Q
    --docs D``). After it they default to "not given", so they never undo the same option given before."""
    from rag.settings import default_index_dir

    unset = argparse.SUPPRESS if after_command else None
    common = argparse.ArgumentParser(add_help=False, argument_default=unset)
    common.add_argument(
        "--docs",
        dest="docs_dir",
        type=Path,
        metavar="FOLDER",
        help="documents folder (default: $RAG_DOCS_DIR, else the folder the index holds, else seeds/)",
    )
    common.add_argument(
        "--index-dir",
        type=Path,
        metavar="FOLDER",
        help=f"index folder (default: $RAG_INDEX_DIR, else {default_index_dir()})",
    )
    common.add_argument(
        "--store-url",
        metavar="URL",
        help="keep the index in PostgreSQL + pgvector at this postgresql:// URL (default: the index folder)",
    )
    common.add_argument(
        "--model", dest="embedding_model", metavar="MODEL", help="sentence-transformers model name or path"
    )
    common.add_argument(
        "--generator",
        metavar="BACKEND",
        help="generative backend: gguf:PATH, hf:FOLDER or openai:URL#MODEL (default: extractive)",
    )
    common.add_argument(
        "--reranker",
        metavar="RERANKER",
        help="second retrieval stage: sentences (default), none, or a cross-encoder name or path",
    )
    verbose_default = argparse.SUPPRESS if after_command else False
    common.add_argument("-v", "--verbose", action="store_true", default=verbose_default, help="log what happens")
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Ask your documents; answers quote their sources.",
        epilog="The options above may also follow the command: rag ask QUESTION --docs FOLDER.",
        parents=[_common(after_command=False)],
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = [_common(after_command=True)]

    index = commands.add_parser(
        "index", parents=common, help="index a folder of documents (only changed files are re-embedded)"
    )
    index.add_argument("path", nargs="?", type=Path, help="documents folder (the same as --docs)")
    index.add_argument("--rebuild", action="store_true", help="re-embed every document")
    index.add_argument("--json", action="store_true", help="print the report as JSON")
    index.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=0.0,
        metavar="SECONDS",
        help="then keep syncing every SECONDS (default: the watch_seconds setting, 10) until Ctrl+C",
    )
    index.add_argument(
        "--cluster", dest="embedding_cluster", help="embed on the Ray cluster at this address (host:port or auto)"
    )

    ask = commands.add_parser("ask", parents=common, help="answer a question, with its quotes")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument(
        "--filter",
        dest="filters",
        action="append",
        metavar="FIELD=VALUE",
        help="answer from some documents only: source=, folder=, title= or type= (repeat to combine)",
    )

    chat = commands.add_parser("chat", parents=common, help="a conversation in the terminal (follow-ups understood)")
    chat.add_argument(
        "--filter", dest="filters", action="append", metavar="FIELD=VALUE", help="as for ask: some documents only"
    )

    _serve_options(commands.add_parser("serve", parents=common, help="start the web chat"))
    mcp = commands.add_parser(
        "mcp",
        parents=common,
        help="serve the documents to an MCP client (Claude Desktop, Cursor) over stdin/stdout",
        description="An MCP server with the tools ask, search, list_documents and read_document, over stdin/stdout "
        '(the client starts it, e.g. {"command": "rag", "args": ["mcp", "--docs", "/path/to/folder"]}) or, with '
        "--http, at http://HOST:PORT/mcp. Needs the mcp extra: pip install 'rag-docs[mcp]'.",
    )
    mcp.add_argument("--http", action="store_true", help="serve over HTTP (streamable HTTP) instead of stdin/stdout")
    mcp.add_argument("--host", help="with --http: address to bind (default 127.0.0.1; others need RAG_API_KEY)")
    mcp.add_argument("--port", type=int, help=f"with --http: port (default {MCP_PORT})")
    return parser


def _serve_options(serve: argparse.ArgumentParser) -> None:
    """The options of ``rag serve`` (and of ``python ui.py``) besides the common ones."""
    serve.add_argument("--host", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, help="port (default 7860)")
    serve.add_argument("--auth", help="require a login, as USER:PASSWORD (use it when serving to a network)")


def main(argv: Sequence[str] | None = None) -> int:
    return _main(_parser().parse_args(argv))


def serve_main(argv: Sequence[str] | None = None, prog: str = "python ui.py") -> int:
    """``rag serve`` under another name: ``python ui.py [options]`` takes exactly the options of ``rag serve``
    (``argv`` defaults to the process's arguments)."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Serve the web chat (the same as rag serve).", parents=[_common(after_command=False)]
    )
    _serve_options(parser)
    return _main(parser.parse_args(argv, namespace=argparse.Namespace(command="serve")))


def _main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # which CPU build it tried: noise, not news
    if args.verbose:
        logging.getLogger("rag.answering").setLevel(logging.DEBUG)  # why a question was refused
    if not args.verbose:
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no weight-loading bars in a shell
    try:
        code = _run(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return code
    except RagError as error:
        print(f"rag: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `rag ask … | head -3`: the reader has gone, as with any Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141


def _run(args: argparse.Namespace) -> int:
    from rag.conversation import is_follow_up
    from rag.pipeline import Pipeline

    fields = ("index_dir", "embedding_model", "generator", "reranker", "docs_dir", "host", "port", "embedding_cluster")
    overrides = {k: getattr(args, k, None) for k in fields}
    if args.command == "index" and args.path is not None:
        if args.docs_dir is not None and args.docs_dir.expanduser().resolve() != args.path.expanduser().resolve():
            raise RagError(f"two documents folders given: {args.path} and --docs {args.docs_dir}")
        overrides["docs_dir"] = args.path
    if args.store_url:
        overrides.update(store="pgvector", store_url=args.store_url)
    pipeline = Pipeline(**overrides)

    if args.command == "index":
        report = pipeline.index(rebuild=args.rebuild, progress=None if args.json else _ProgressBar())
        _print_report(pipeline, report, args.json)
        if args.watch is not None:
            from rag.watch import FolderWatcher

            interval = args.watch if args.watch > 0 else pipeline.settings.watch_seconds or 10.0
            if not args.json:
                print(f"watching {pipeline.settings.docs_dir} every {interval:g} s (Ctrl+C to stop)", flush=True)
            said = {(e.path, e.reason) for e in report.skipped}

            def changed(report: IndexReport) -> None:  # files skipped before are not listed again (JSON: all)
                fresh = [e for e in report.skipped if (e.path, e.reason) not in said]
                said.update((e.path, e.reason) for e in fresh)
                _print_report(pipeline, report if args.json else dataclasses.replace(report, skipped=fresh), args.json)

            FolderWatcher(pipeline, interval, on_change=changed).run()
        return 0

    if args.command == "ask":
        answer = pipeline.answer(args.question, filters=_filters(args.filters or []))
        _say_what_the_sync_changed(pipeline)
        if is_follow_up(args.question):
            print(
                "note: this reads as a follow-up, but `rag ask` answers each question on its own: "
                "ask the whole question, or use `rag chat`, which keeps the conversation",
                file=sys.stderr,
            )
        if args.json:
            data = dataclasses.asdict(answer)
            for shown, quote in zip(data["quotes"] + data["related"], answer.quotes + answer.related, strict=True):
                shown["location"] = quote.location  # "§ Fees, p. 3, chars 120-164", as the text output says it
            print(json.dumps(data, indent=2, ensure_ascii=False))
            return 0
        _print_answer(answer)
        return 0

    if args.command == "chat":
        return _chat(pipeline, _filters(args.filters or []))

    if args.command == "mcp":
        try:
            from rag.mcp_server import serve_stdio
        except ImportError as error:
            raise RagError(f"rag mcp needs the MCP SDK: pip install 'rag-docs[mcp]' ({error})") from None
        if not args.http:
            if args.host or args.port:
                raise RagError("--host and --port are for rag mcp --http (over stdin/stdout there is no port)")
            serve_stdio(pipeline)
            return 0
        from rag.mcp_server import serve_http

        port = args.port or MCP_PORT
        _check_port(pipeline.settings.host, port)
        serve_http(pipeline, pipeline.settings.host, port)
        return 0

    auth = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        if not user or not password:
            raise RagError("--auth must be USER:PASSWORD")
        auth = (user, password)
    _check_port(pipeline.settings.host, pipeline.settings.port)  # before indexing, which may take a while

    from ui import serve  # the web app lives beside the package, at the top of the checkout

    serve(pipeline, auth=auth)
    return 0


def _print_report(pipeline: Pipeline, report: IndexReport, as_json: bool = False) -> None:
    """What a sync did: a line per file added, updated, removed or skipped, then the summary; or JSON."""
    if as_json:
        data = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
        data["skipped"] = [{"path": str(e.path), "reason": e.reason} for e in report.skipped]
        print(json.dumps(data, indent=2), flush=True)
        return
    moved = {name for pair in report.renamed for name in pair}
    for old, new in report.renamed:
        print(f"{'renamed':>8}  {old} -> {new}")
    files = {"added": report.added, "updated": report.updated, "re-read": report.reread, "removed": report.removed}
    for label, names in files.items():
        for name in names:
            if label not in ("added", "removed") or name not in moved:
                print(f"{label:>8}  {name}")
    from rag.documents import name_in

    for error in report.skipped:  # named as the lines above name files: from the documents folder
        print(f"{'skipped':>8}  {name_in(pipeline.settings.docs_dir, error.path)}: {error.reason}")
    for warning in report.warnings:
        print(f"{'warning':>8}  {warning}")
    for name, other in report.duplicates:
        print(f"{'same as':>8}  {name}: the same content as {other} (both indexed, quoted once)")
    print(f"index {_index_place(pipeline)}: {report.summary()}", flush=True)


def _index_place(pipeline: Pipeline) -> str:
    """Where the index lives, as the user set it: the index folder, or the database (password hidden)."""
    settings = pipeline.settings
    if settings.store == "pgvector":
        from rag.pgstore import redact

        return redact(settings.store_url)
    return str(settings.index_dir)


def _say_what_the_sync_changed(pipeline: Pipeline) -> None:
    """One line on stderr when answering first synced the index with changed files or rebuilt it (so that a
    read command never rewrites the index unseen; stdout stays the answer)."""
    report = pipeline.last_report
    if report is None or not report.changed:
        return
    index = _index_place(pipeline)
    if report.rebuilt and report.rebuilt.startswith("no index"):
        print(f"index {index} built first: {report.summary()}", file=sys.stderr)
        return
    why = f"rebuilt ({report.rebuilt}); " if report.rebuilt else ""
    print(f"index {index} synced first: {why}{report.summary()}", file=sys.stderr)


def shown(text: str, terminal: bool | None = None) -> str:
    """An answer's text as printed: in a terminal, its Markdown bold (the key phrase) in the terminal's bold, or
    without the asterisks when ``NO_COLOR`` is set; piped elsewhere, as it is (Markdown, as the chat shows it)."""
    if not (sys.stdout.isatty() if terminal is None else terminal):
        return text
    bold = "\\1" if os.environ.get("NO_COLOR") else "\033[1m\\1\033[0m"
    return re.sub(r"\*\*(.+?)\*\*", bold, text, flags=re.DOTALL)


def unwrapped(quote: str) -> str:
    """A quote as printed: a sentence hard-wrapped in its document (an e-mail, a PDF) on one line; a code block
    as it is."""
    from rag.chunking import FENCE

    return quote if FENCE.match(quote) else re.sub(r"[ \t]*\n\s*", " ", quote)


def _print_answer(answer: Answer) -> None:
    print(shown(answer.text))
    for n, quote in enumerate(answer.quotes, start=1):
        print(f"\n[{n}] {quote.title} ({quote.source}, {quote.location})\n    “{unwrapped(quote.text)}”")
        if quote.columns:
            print(f"    (columns: {quote.columns})")
    if answer.related:
        if answer.answered:
            print("\nAlso relevant (these say something else: not cited as support):")
        else:
            print("\nClosest passages (too weak to count as an answer):")
        for quote in answer.related:
            print(f"  - {quote.source}, {quote.location}: “{unwrapped(quote.text)}”")


def _chat(pipeline: Pipeline, filters: dict[str, list[str]] | None) -> int:
    """Questions from the terminal, one per line, answered with the conversation so far (end of input, "exit",
    or an empty line typed at the prompt stops); a bad question is explained and the conversation goes on."""
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about the documents; follow-up questions are understood. Ctrl+D or an empty line ends.")
    history: list[Message] = []
    while True:
        try:
            question = input("> " if interactive else "").strip()
        except EOFError:
            return 0
        if question in {"exit", "quit"} or (not question and interactive):
            return 0
        if not question:  # a blank line of piped input separates questions, it does not end them
            continue
        try:
            answer = pipeline.answer(question, history=history, filters=filters)
        except QuestionError as error:
            print(f"rag: {error}", file=sys.stderr)
            continue
        if not history:
            _say_what_the_sync_changed(pipeline)  # the first question opened (and synced) the index
        if not interactive:
            print(f"> {question}")
        if answer.query and answer.query != answer.question:
            print(f"(searched for: {answer.query})")
        _print_answer(answer)
        print()
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def _check_port(host: str, port: int) -> None:
    """Fail in one line if the web chat could not listen on ``host:port`` (in use, not allowed, no such address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise RagError(f"cannot serve on {host}: {exc.strerror}; choose another with --host") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As the web server will: SO_REUSEADDR ignores connections of an earlier run still closing (TIME_WAIT).
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise RagError(f"port {port} on {host} is already in use; choose another with --port") from None
            raise RagError(f"cannot listen on port {port} on {host}: {exc.strerror or exc}") from None


def _filters(items: Sequence[str]) -> dict[str, list[str]] | None:
    """``["folder=a", "folder=b", "type=pdf"]`` -> ``{"folder": ["a", "b"], "type": ["pdf"]}``."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise RagError(f"--filter needs FIELD=VALUE, e.g. folder=reports (got {item!r})")
        out.setdefault(key.strip(), []).append(value)
    return out or None


class _ProgressBar:
    """The indexing progress on stderr: a bar with the rate and the time left on a terminal; in a log (stderr
    not a terminal) one line per stage when it is done, not a line per update."""

    def __init__(self) -> None:
        self.started: dict[str, float] = {}

    def __call__(self, done: int, total: int, what: str) -> None:
        started = self.started.setdefault(what, time.monotonic())
        if not sys.stderr.isatty():
            if total and done >= total:
                took = time.monotonic() - started
                print(f"{what}: {done}/{total}" + (f" in {took:.1f} s" if took >= 0.1 else ""), file=sys.stderr)
            return
        width = 30
        filled = int(width * done / total) if total else width
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed > 0 and done else 0.0
        left = f", {(total - done) / rate:.0f} s left" if rate and done < total else ""
        speed = f" ({rate:.0f}/s{left})" if rate else ""
        end = "\n" if done >= total else ""
        print(
            f"\r{what}: [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{speed}\x1b[K",
            end=end,
            file=sys.stderr,
            flush=True,
        )
