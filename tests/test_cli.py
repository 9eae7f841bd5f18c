"""`rag index | ask | chat | serve` as a user runs them: a real process, real files, one-line errors."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.load import running_app
from rag.cli import unwrapped
from ui import chat_url, open_warning

pytestmark = pytest.mark.slow


def rag(
    *args: str, index_dir: Path, timeout: int = 300, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(index_dir), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=timeout,
        input=stdin if stdin is not None else "",
    )


ANDROMEDA = "How far is the Andromeda galaxy?"
ROOT = Path(__file__).resolve().parent.parent


def write_astronomy(folder: Path) -> Path:
    """A documents folder of one nested note and one unusable file."""
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "sub" / "deeper" / "astronomy.md").write_text(
        "# Astronomy notes\nThe Andromeda galaxy is about 2.5 million light years from Earth. "
        "It is the nearest large spiral galaxy.\n",
        encoding="utf-8",
    )
    (folder / "broken.txt").write_bytes(b"\x00\x01\x02binary")
    return folder


def test_index_then_ask_prints_the_answer_with_located_quotes(tmp_path: Path, seeds_copy: Path) -> None:
    (seeds_copy / "notes.bin.txt").write_bytes(b"\x00\x01\x02binary")
    out = rag("index", str(seeds_copy), index_dir=tmp_path / "index")
    assert out.returncode == 0, out.stderr
    assert "added  EU-defence-ministers-in-Brussels.txt" in out.stdout
    assert "\n skipped  notes.bin.txt: binary" in out.stdout  # named from the folder, as the added files are
    again = rag("index", str(seeds_copy), "--json", index_dir=tmp_path / "index")
    report = json.loads(again.stdout)
    assert report["embedded"] == 0 and len(report["unchanged"]) == 2
    copy = seeds_copy / "kallas (copy).txt"
    copy.write_bytes((seeds_copy / "Kallas-on-Ukraine-peace-diplomacy.txt").read_bytes())
    out = rag("index", str(seeds_copy), index_dir=tmp_path / "index")
    assert "same as  kallas (copy).txt: the same content as Kallas-on-Ukraine-peace-diplomacy.txt" in out.stdout
    assert "(0 embedded, 14 reused)" in out.stdout, out.stdout
    copy.rename(seeds_copy / "kallas.txt")
    out = rag("index", str(seeds_copy), index_dir=tmp_path / "index")
    assert " renamed  kallas (copy).txt -> kallas.txt\n" in out.stdout and " added  " not in out.stdout, out.stdout
    (seeds_copy / "kallas.txt").unlink()

    out = rag(
        "ask",
        "--docs",
        str(seeds_copy),
        "How much could Ukraine borrow under the reparations loan?",
        index_dir=tmp_path / "index",
    )
    assert out.returncode == 0, out.stderr
    assert "up to **€140 billion**" in out.stdout
    assert "[1] EU defence ministers in Brussels (EU-defence-ministers-in-Brussels.txt, chars" in out.stdout
    assert "Loading weights" not in out.stderr


def test_ask_in_a_terminal_shows_the_key_phrase_in_bold(tmp_path: Path, seeds_copy: Path) -> None:
    """Found by a trial: in a terminal `rag ask` printed the Markdown asterisks around the key phrase; piped (the
    test above), the answer stays Markdown."""
    import pty

    main, terminal = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_") and k != "NO_COLOR"}
    environ["RAG_INDEX_DIR"] = str(tmp_path / "index")
    question = "How much could Ukraine borrow under the reparations loan?"
    args = [sys.executable, "-m", "rag", "ask", "--docs", str(seeds_copy), question]
    with subprocess.Popen(
        args, stdout=terminal, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=environ
    ) as run:
        os.close(terminal)
        printed = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            printed += chunk
        assert run.wait(timeout=300) == 0
    os.close(main)
    text = printed.decode("utf-8")
    assert "up to \x1b[1m€140 billion\x1b[0m" in text and "**" not in text, text


def test_ask_into_a_pipe_closed_early_ends_quietly(tmp_path: Path, seeds_copy: Path) -> None:
    """`rag ask … | head -3` ended with a BrokenPipeError traceback."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(tmp_path / "index"), RAG_DOCS_DIR=str(seeds_copy))
    process = subprocess.Popen(
        [sys.executable, "-m", "rag", "ask", "How much could Ukraine borrow under the reparations loan?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before anything is written
    errors = process.stderr.read().decode()
    assert process.wait(timeout=300) == 141 and "Traceback" not in errors, errors


def test_a_quote_wrapped_in_its_document_is_printed_on_one_line() -> None:
    """Found by a trial: a quote of a hard-wrapped e-mail kept its line break ("…the 30-visit limit would" / "still
    apply."), which reads as two quotes in a terminal; a code block keeps its lines."""
    assert unwrapped("the 30-visit limit would\n  still apply.") == "the 30-visit limit would still apply."
    assert unwrapped("```bash\nrag index docs\nrag ask x\n```") == "```bash\nrag index docs\nrag ask x\n```"


def test_ask_json_gives_quotes_that_are_verbatim(tmp_path: Path, seeds_copy: Path) -> None:
    out = rag(
        "ask",
        "--docs",
        str(seeds_copy),
        "--json",
        "Who is the EU Defense Commissioner?",
        index_dir=tmp_path / "index",
    )
    answer = json.loads(out.stdout)
    assert answer["answered"] is True
    for quote in answer["quotes"]:
        text = (seeds_copy / quote["source"]).read_text(encoding="utf-8")
        assert text[quote["start"] : quote["end"]] == quote["text"]
        assert quote["location"] == f"chars {quote['start']}-{quote['end']}"


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["ask", ""], {}, "rag: error: The question is empty"),
        (["index", "/definitely/not/here"], {}, "rag: error: documents folder not found: /definitely/not/here"),
        (
            ["--reranker", "/no/cross-encoder", "ask", "Who?"],
            {},
            "rag: error: cannot load reranker '/no/cross-encoder'",
        ),
        (["ask", "Who?", "--index-dir", "{tmp}/a-file"], {}, "rag: error: the index folder {tmp}/a-file is a file"),
        (
            ["index", "--index-dir", "/proc/rag-test/index"],
            {},
            "rag: error: cannot create the index folder /proc/rag-test/index: No such file or directory",
        ),
        (["ask", "Who?"], {"RAG_TOP_K": "abc"}, "rag: error: RAG_TOP_K='abc' is not a valid int"),
        (["ask", "Who?"], {"RAG_TOP_K": "0"}, "rag: error: top_k must be greater than 0"),
        (
            ["ask", "Who?"],
            {"RAG_READER_BACKEND": "gpu"},
            "rag: error: reader_backend must be one of auto, onnx-int8, numpy. Currently, it is 'gpu'",
        ),
        (["serve", "--port", "70000"], {}, "rag: error: port must be between 0 and 65535. Currently, it is 70000"),
        (["serve", "--host", "no-such-host.invalid"], {}, "rag: error: cannot serve on no-such-host.invalid"),
    ],
)
def test_errors_are_one_line_without_traceback(
    tmp_path: Path, args: list[str], env: dict[str, str], message: str
) -> None:
    (tmp_path / "a-file").write_text("not an index", encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    out = rag(*args, index_dir=tmp_path / "index", timeout=120, env=env)
    assert out.returncode == 1
    assert out.stderr.strip().startswith(message.replace("{tmp}", str(tmp_path))), out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = rag("serve", "--port", str(port), index_dir=tmp_path / "index", timeout=60)
    assert out.returncode == 1
    assert out.stderr == f"rag: error: port {port} on 127.0.0.1 is already in use; choose another with --port\n"
    assert not (tmp_path / "index").exists()  # refused before indexing anything


def ui_py(*args: str, index_dir: Path, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    """``python ui.py ARGS`` from the checkout, as the README says to run it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environ.update(RAG_INDEX_DIR=str(index_dir))
    return subprocess.run(
        [sys.executable, "ui.py", *args], cwd=ROOT, capture_output=True, text=True, env=environ, timeout=timeout
    )


def test_ui_py_takes_the_options_of_rag_serve_and_starts_nothing_for_help(tmp_path: Path) -> None:
    started = time.monotonic()
    out = ui_py("--help", index_dir=tmp_path / "index")
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - started < 30  # no model loaded, no server started
    assert out.stdout.startswith("usage: python ui.py") and out.stderr == ""
    serve_help = rag("serve", "--help", index_dir=tmp_path / "index").stdout
    options = set(re.findall(r"--[a-z-]+", serve_help))
    assert options == {o for o in re.findall(r"--[a-z-]+", out.stdout)}
    assert {"--host", "--port", "--auth", "--docs", "--index-dir"} <= options
    # The options are used: a bad port is refused as by `rag serve`, an unknown option or a command is refused.
    out = ui_py("--port", "70000", index_dir=tmp_path / "index")
    assert (out.returncode, out.stderr) == (1, "rag: error: port must be between 0 and 65535. Currently, it is 70000\n")
    for wrong in (["--bogus"], ["serve"]):
        out = ui_py(*wrong, index_dir=tmp_path / "index")
        assert out.returncode == 2 and "usage: python ui.py" in out.stderr and "unrecognized arguments" in out.stderr
    assert not (tmp_path / "index").exists()
    imported = subprocess.run(
        [sys.executable, "-c", "import ui"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )  # importing the app module serves nothing
    assert (imported.returncode, imported.stdout, imported.stderr) == (0, "", "")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5"])
def test_serving_a_network_without_a_password_warns_in_one_line(host: str) -> None:
    warning = open_warning(host, None)
    assert warning is not None and "\n" not in warning
    assert f"listens on {host}" in warning
    assert "the chat, uploads and removals and the HTTP API are open to anyone who can reach this address" in warning
    assert warning.endswith("--auth USER:PASSWORD")
    assert open_warning(host, ("ann", "s3cret")) is None
    keyed = open_warning(host, None, api_key="k3y")  # the API asks for its key; the chat is still open
    assert keyed is not None and "the chat, uploads and removals are open" in keyed and "API" not in keyed


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.1.1", "::1", "localhost"])
def test_serving_this_machine_only_needs_no_warning(host: str) -> None:
    assert open_warning(host, None) is None
    assert chat_url(host, 7874, "http://localhost:7874/") == "http://localhost:7874/"


def test_the_chat_url_names_the_address_it_listens_on() -> None:
    assert chat_url("0.0.0.0", 7874, "http://localhost:7874/") == "http://0.0.0.0:7874/"
    assert chat_url("::", 7874, "http://localhost:7874/") == "http://[::]:7874/"
    assert chat_url("192.168.1.20", 8080, "https://localhost:8080/") == "https://192.168.1.20:8080/"


def test_serve_on_all_addresses_without_auth_warns_and_shows_the_real_host(tmp_path: Path) -> None:
    write_astronomy(tmp_path / "docs")
    with running_app(tmp_path, "--host", "0.0.0.0", "--docs", str(tmp_path / "docs")) as url:
        port = url.rstrip("/").rsplit(":", 1)[1]
        server_log = next(tmp_path.glob("server-*.log"))
        deadline = time.monotonic() + 30  # HTTP may answer a moment before the app prints where it serves
        while "open to anyone" not in server_log.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.1)
    log = server_log.read_text(encoding="utf-8")  # complete once the server stopped
    assert (
        f"Serving the chat on http://0.0.0.0:{port}/ (press Ctrl+C to stop); its API: http://0.0.0.0:{port}/v1" in log
    ), log
    assert "localhost" not in log
    warnings = [line for line in log.splitlines() if "open to anyone" in line]
    assert warnings == [open_warning("0.0.0.0", None)], log


def test_ask_without_docs_answers_from_the_folder_the_index_holds(tmp_path: Path, seeds_copy: Path) -> None:
    mine = write_astronomy(tmp_path / "mine")
    index = tmp_path / "index"
    out = rag("index", str(mine), index_dir=index)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("broken.txt") == 1 and "broken.txt" not in out.stderr  # listed once, in the report

    out = rag("ask", ANDROMEDA, index_dir=index)  # no --docs: the index's own folder, not the seeds
    assert out.returncode == 0, out.stderr
    # The key phrase, in bold: the distance (readers differ on the hedge word and on "from Earth").
    assert re.search(r"\*\*(about )?2.5 million light years( from Earth)?\*\*", out.stdout)
    assert "(sub/deeper/astronomy.md, chars" in out.stdout
    assert out.stderr == ""  # no skipped-file warnings on every question
    out = rag("ask", "And how big is it?", index_dir=index)  # a follow-up typed as a question of its own
    assert "`rag chat`, which keeps the conversation" in out.stderr, out.stderr
    out = rag("ask", "-v", "What is the boiling point of water?", index_dir=index)  # verbose: why it was refused
    assert "DEBUG refused 'What is the boiling point of water?': " in out.stderr, out.stderr
    assert "AVX" not in out.stderr  # not which builds of FAISS it tried to load
    again = json.loads(rag("index", "--json", index_dir=index).stdout)
    assert (again["unchanged"], again["added"], again["removed"], again["embedded"]) == (
        ["sub/deeper/astronomy.md"],
        [],
        [],
        0,
    )

    # Choosing another folder replaces the index's documents, and says so in one line.
    out = rag(
        "ask", "How much could Ukraine borrow under the reparations loan?", "--docs", str(seeds_copy), index_dir=index
    )
    assert out.returncode == 0, out.stderr
    assert "€140 billion" in out.stdout
    warning, synced = out.stderr.strip().splitlines()
    assert warning == (
        f"WARNING index: now indexing {seeds_copy.resolve()} (was {mine.resolve()}; its documents leave this index: "
        "to keep both, give each folder its own --index-dir)"
    )
    assert synced.startswith(f"index {index} synced first: 2 added, 0 updated, 1 removed")  # the answer's own sync
    out = rag("ask", ANDROMEDA, index_dir=index)
    assert out.stdout.startswith("The documents do not say.") and out.stderr == ""

    # Once the folder the index holds is gone (an unmounted drive?), it is not replaced by the seeds behind the
    # user's back: the error names it, and the index still holds its documents when it is back.
    moved = seeds_copy.rename(tmp_path / "away")
    out = rag("ask", "Who is the EU Defense Commissioner?", index_dir=index)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith(f"rag: error: the index holds the documents of {seeds_copy.resolve()}, which is not")
    moved.rename(seeds_copy)
    out = rag("ask", "Who is the EU Defense Commissioner?", index_dir=index)
    assert out.returncode == 0 and "Kubilius" in out.stdout and out.stderr == ""
    out = rag("ask", "Who is the EU Defense Commissioner?", "--docs", str(ROOT / "seeds"), index_dir=index)
    assert out.returncode == 0 and "Kubilius" in out.stdout  # naming a folder is always allowed


def test_common_options_may_follow_the_command(tmp_path: Path) -> None:
    mine = write_astronomy(tmp_path / "mine")
    elsewhere = tmp_path / "not-this-index"
    out = rag("ask", ANDROMEDA, "--docs", str(mine), "--index-dir", str(tmp_path / "index"), index_dir=elsewhere)
    assert out.returncode == 0, out.stderr
    assert re.search(r"\*\*(about )?2.5 million light years( from Earth)?\*\*", out.stdout)
    assert (tmp_path / "index" / "CURRENT").is_file() and not elsewhere.exists()
    # Before the command they work as ever; given in both places, the later one counts.
    out = rag(
        "--index-dir", str(elsewhere), "index", str(mine), "--index-dir", str(tmp_path / "index"), index_dir=elsewhere
    )
    assert out.returncode == 0, out.stderr
    assert not elsewhere.exists() and "0 added" in out.stdout


def test_a_filter_that_matches_no_document_says_so(tmp_path: Path) -> None:
    mine = write_astronomy(tmp_path / "mine")
    out = rag("ask", ANDROMEDA, "--docs", str(mine), "--filter", "folder=nope", index_dir=tmp_path / "index")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "No document matches the filter folder=nope, so there is nothing to answer from."
    out = rag("ask", ANDROMEDA, "--filter", "source=astronomy.md", "--json", index_dir=tmp_path / "index")
    answer = json.loads(out.stdout)
    assert answer["answered"] is False and answer["quotes"] == []
    assert "source=astronomy.md" in answer["text"] and "Did you mean source=sub/deeper/astronomy.md?" in answer["text"]


def test_serve_lists_each_skipped_file_once(tmp_path: Path) -> None:
    write_astronomy(tmp_path / "docs")
    with running_app(tmp_path, "--docs", str(tmp_path / "docs")):
        log = next(tmp_path.glob("server-*.log")).read_text(encoding="utf-8")
    assert log.count("broken.txt") == 1, log


def test_off_topic_question_is_refused(tmp_path: Path, seeds_copy: Path) -> None:
    out = rag("ask", "--docs", str(seeds_copy), "Who won the 2022 World Cup?", index_dir=tmp_path / "index")
    assert out.returncode == 0
    assert out.stdout.startswith("The documents do not say.")
    assert "[1]" not in out.stdout


def test_chat_keeps_the_conversation_for_follow_ups(tmp_path: Path, seeds_copy: Path) -> None:
    asked = [
        "What is the reparations loan backed by?",
        "How much could Ukraine borrow under it?",
        "Who won the 2022 World Cup?",
        "What is the SAFE fund?",
        "How big is it?",
    ]
    out = rag("chat", "--docs", str(seeds_copy), index_dir=tmp_path / "index", stdin="\n\n".join(asked) + "\n")
    assert out.returncode == 0, out.stderr
    turns = out.stdout.split("> ")[1:]
    assert [t.splitlines()[0] for t in turns] == asked
    assert "Russian sovereign assets**" in turns[0]  # what backs it, marked
    assert "**€140 billion**" in turns[1]  # "it" is the loan of the turn before
    assert "The documents do not say" in turns[2]
    assert "(searched for: How big is the SAFE fund?)" in turns[4] and "€150 billion" in turns[4]
    assert out.stderr.startswith(f"index {tmp_path / 'index'} built first: 2 added")  # one line, about the index
    assert out.stderr.count("\n") == 1


def test_index_progress_in_a_log_is_one_line_per_stage_not_a_bar(tmp_path: Path, seeds_copy: Path) -> None:
    out = rag("index", str(seeds_copy), index_dir=tmp_path / "index")  # stderr is a pipe here, as in a log
    assert out.returncode == 0, out.stderr
    assert "\r" not in out.stderr and "[###" not in out.stderr
    assert re.search(r"^embedding chunks: (\d+)/\1", out.stderr, re.MULTILINE), out.stderr
    assert re.search(r"^reading files: 2/2", out.stderr, re.MULTILINE), out.stderr  # the two seeds, read first
