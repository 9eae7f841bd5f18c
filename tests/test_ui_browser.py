"""The web chat as a person uses it: the real app in a subprocess, driven by headless Chromium.

Also the upload path's file-name sanitising (unit tests, no server) and the login screen when auth is set.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fixtures.make_fixtures import make_pptx, make_scan

import ui
from benchmarks.load import free_port, running_app
from rag import Answer, Pipeline, QuestionError, Quote
from rag.embedding import Embedder
from rag.formats.ocr import Ocr

LOAN_QUESTION = "How much could Ukraine borrow under the reparations loan?"
LOAN_QUOTE = "The mechanism would allow Ukraine to borrow up to €140 billion at little or no interest"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
]  # fmt: skip
ANSWER_TIMEOUT_MS = 90_000  # the machine is shared and noisy; an answer normally takes well under 2 s


# ---- fixtures: the real app in a subprocess (see benchmarks/load.py), a browser, a fresh chat ------------


@pytest.fixture(scope="module")
def app_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ui-app")


@pytest.fixture(scope="module")
def app_url(app_root: Path) -> Iterator[str]:
    with running_app(app_root) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/test.sh installs it)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, app_url: str) -> Iterator[Any]:
    """A fresh chat (own browser context, so no shared history) with the question box ready."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.goto(app_url, wait_until="load")  # "networkidle" never fires on a Gradio page
    page.wait_for_selector("#question textarea", timeout=60_000)
    yield page
    context.close()


def ask(page: Any, question: str) -> Any:
    """Type ``question``, submit it, and return the bot message once the answer (not the placeholder) is in."""
    bots = page.locator("#chat [data-testid=bot]")
    before = bots.count()
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        """([n, searching]) => {
            const bots = document.querySelectorAll('#chat [data-testid=bot]');
            if (bots.length <= n) return false;
            const text = bots[bots.length - 1].innerText.trim();
            return text.length > 0 && !text.includes(searching);
        }""",
        arg=[before, "Searching the documents"],
        timeout=ANSWER_TIMEOUT_MS,
    )
    # a streamed answer may still be growing: wait until the submit button is back (generation finished)
    page.wait_for_function(
        "() => !document.querySelector('#question .stop-button, #question button[aria-label=\"Stop\"]')",
        timeout=ANSWER_TIMEOUT_MS,
    )
    return bots.nth(before)


# ---- the chat in a browser ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.browser
def test_answer_quotes_its_source_and_off_topic_is_refused(page: Any) -> None:
    reply = ask(page, LOAN_QUESTION)
    text = reply.inner_text()
    assert "140 billion" in text
    assert "Sources" in text
    assert LOAN_QUOTE in text
    assert "EU defence ministers in Brussels" in text  # the document's title
    assert "EU-defence-ministers-in-Brussels.txt" in text  # its file
    assert "chars " in text  # and where in it
    marked = reply.locator("blockquote mark")
    assert marked.count() >= 1 and "140 billion" in marked.first.inner_text()  # the key phrase is highlighted
    folded = reply.locator("details").first  # the quote in its paragraph, one click away
    assert not folded.locator("b").is_visible()
    folded.locator("summary").click()
    assert LOAN_QUOTE in folded.locator("b").inner_text()
    shown = folded.inner_text()
    assert "A central topic in Brussels was the proposed reparations loan" in shown  # the sentence before it
    assert shown.index("A central topic") < shown.index(LOAN_QUOTE)
    quotes_before = page.locator("#chat blockquote").count()
    assert quotes_before >= 1
    page.screenshot(path="/tmp/ui_answer.png", full_page=True)

    refusal = ask(page, "Who won the 2022 World Cup?").inner_text()
    assert "do not say" in refusal
    assert "Sources" not in refusal
    assert page.locator("#chat blockquote").count() == quotes_before  # no quote block added for the refusal
    page.screenshot(path="/tmp/ui_refusal.png", full_page=True)


@pytest.mark.slow
@pytest.mark.browser
def test_a_quote_opens_in_its_document_marked_and_scrolled_to(page: Any) -> None:
    reply = ask(page, LOAN_QUESTION)
    with page.context.expect_page() as opened:  # a new tab: the conversation stays where it was
        reply.locator("a", has_text="in the document").first.click()
    document = opened.value
    document.wait_for_load_state()
    mark = document.locator("mark#quote")
    assert mark.inner_text().startswith(LOAN_QUOTE)
    assert "A central topic in Brussels" in document.locator("pre").inner_text()  # the document around it
    top = document.evaluate("() => document.querySelector('mark').getBoundingClientRect().top")
    assert 0 < top < document.viewport_size["height"] and document.evaluate("() => window.scrollY") > 0
    document.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_thumbs_down_keeps_the_question_and_its_answer_for_the_owner(page: Any, app_root: Path) -> None:
    kept = app_root / "index" / "feedback.jsonl"
    before = kept.read_text(encoding="utf-8").splitlines() if kept.exists() else []
    ask(page, "Who is the EU Defense Commissioner?")
    page.locator("#chat button[aria-label=Dislike]").last.click()
    deadline = time.monotonic() + 30
    while len(kept.read_text(encoding="utf-8").splitlines() if kept.exists() else []) == len(before):
        assert time.monotonic() < deadline, "no feedback was written"
        time.sleep(0.2)
    entry = json.loads(kept.read_text(encoding="utf-8").splitlines()[-1])
    assert entry["liked"] is False and entry["question"] == "Who is the EU Defense Commissioner?"
    assert "Kubilius" in entry["answer"] and entry["time"].endswith("Z")


@pytest.mark.slow
@pytest.mark.browser
def test_follow_up_question_uses_the_conversation(page: Any) -> None:
    ask(page, "What is the reparations loan backed by?")
    reply = ask(page, "How much could Ukraine borrow under it?").inner_text()
    assert "140 billion" in reply
    # the question searched was rewritten with the earlier turn: proof the chat history reached the pipeline
    assert "Searched for:" in reply and "reparations loan" in reply


def pick(page: Any, box: str, typed: str) -> None:
    """In the dropdown ``box`` (an elem_id), type ``typed`` and choose the one choice that holds it."""
    field = page.locator(f"#{box} input")
    field.click()
    field.fill(typed)
    option = page.locator(f"#{box} [role=option]", has_text=typed)
    option.first.wait_for(timeout=30_000)
    assert option.count() == 1, [option.nth(i).inner_text() for i in range(option.count())]
    option.first.click()
    page.locator("#question textarea").click()  # close the list


def search_in(page: Any, typed: str) -> None:
    """Pick the one "Search in" choice that matches ``typed``."""
    pick(page, "search-in", typed)


@pytest.mark.slow
@pytest.mark.browser
def test_search_in_limits_answers_to_the_chosen_documents(page: Any) -> None:
    search_in(page, "Kallas-on-Ukraine")  # the loan is in the other seed document only
    reply = ask(page, LOAN_QUESTION).inner_text()
    assert "do not say" in reply and "140 billion" not in reply
    assert "Searched in: Kallas-on-Ukraine-peace-diplomacy.txt" in reply
    assert "EU-defence-ministers-in-Brussels.txt" not in reply  # not even as a "closest passage"

    search_in(page, "EU-defence-ministers")  # both documents now: the answer is back
    reply = ask(page, LOAN_QUESTION).inner_text()
    assert "140 billion" in reply and LOAN_QUOTE in reply
    assert "Searched in: Kallas-on-Ukraine-peace-diplomacy.txt, EU-defence-ministers-in-Brussels.txt" in reply
    page.screenshot(path="/tmp/ui_search_in.png", full_page=True)


@pytest.mark.slow
@pytest.mark.browser
def test_too_long_question_is_explained_in_the_chat(page: Any) -> None:
    reply = ask(page, "why " * 600).inner_text()
    assert "Cannot answer" in reply and "too long" in reply and "2,000" in reply


@pytest.mark.slow
@pytest.mark.browser
def test_uploaded_file_can_be_asked_about_at_once(page: Any, app_root: Path, tmp_path: Path) -> None:
    upload = tmp_path / "lighthouse notes.txt"
    upload.write_text(
        "Kestrel Island lighthouse\n"
        "The Kestrel Island lighthouse was painted teal in 1931 by the harbour master, Ilse Varga. "
        "Its lamp can be seen from 27 nautical miles away on a clear night.\n",
        encoding="utf-8",
    )
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    old = tmp_path / "minutes 2019.doc"  # refused by the app, with what to do, not by a popup of the browser's
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    page.locator("#upload input[type=file]").set_input_files([str(upload), str(empty), str(old)])
    status = page.locator("#upload-status")
    status.filter(has_text="Index updated").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Added: lighthouse notes.txt" in status.inner_text()
    assert "Index updated: 1 added, 0 updated" in status.inner_text()  # about this upload, not the whole folder
    assert "Not added: empty.txt: empty file" in status.inner_text()  # the bad file is named, with the reason
    assert "minutes 2019.doc': an old binary Word file (.doc): save it as .docx" in status.inner_text()
    assert not (app_root / "docs" / "empty.txt").exists()
    assert "lighthouse notes.txt" in page.locator("#documents").inner_text()  # listed with the others
    assert (app_root / "docs" / "lighthouse notes.txt").read_bytes() == upload.read_bytes()
    search_in(page, "lighthouse")  # the new document can be chosen in "Search in" at once

    reply = ask(page, "Who painted the Kestrel Island lighthouse?").inner_text()
    assert "Ilse Varga" in reply
    assert "lighthouse notes.txt" in reply  # quoted from the new file
    assert "Searched in: lighthouse notes.txt" in reply
    page.screenshot(path="/tmp/ui_upload.png", full_page=True)


@pytest.mark.slow
@pytest.mark.browser
def test_an_uploaded_scan_is_read_by_ocr_and_its_quote_opens_beside_the_image(page: Any, tmp_path: Path) -> None:
    scan = tmp_path / "ferry notice.png"
    scan.write_bytes(
        make_scan("Harbour notice\nThe night ferry to Visby leaves from pier 4 at 22:15.\nTickets are sold on board.")
    )
    page.locator("#upload input[type=file]").set_input_files(str(scan))
    status = page.locator("#upload-status")
    status.filter(has_text="Index updated").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "Added: ferry notice.png" in status.inner_text()
    assert "read by OCR" in page.locator("#documents").inner_text()  # listed with its warning

    reply = ask(page, "Where does the night ferry to Visby leave from?")
    assert "pier 4" in reply.inner_text() and "ferry notice.png" in reply.inner_text()
    with page.context.expect_page() as opened:
        reply.locator("a", has_text="in the document").first.click()
    document = opened.value
    document.wait_for_load_state()
    assert document.locator("mark#quote").inner_text() == "The night ferry to Visby leaves from pier 4 at 22:15."
    picture = document.request.get(document.locator("a", has_text="the original file").evaluate("a => a.href"))
    assert picture.headers["content-type"] == "image/png" and picture.body() == scan.read_bytes()
    document.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_document_removed_in_the_chat_leaves_the_index_but_not_the_disk(
    page: Any, app_root: Path, tmp_path: Path
) -> None:
    """Removal asks first (a newcomer removed a file with one click), then moves the file aside."""
    docs = app_root / "docs"
    if not (docs / "lighthouse notes.txt").exists():  # uploaded by the test before; on its own, upload it
        (tmp_path / "lighthouse notes.txt").write_text("The Kestrel Island lighthouse was painted by Ilse Varga.\n")
        page.locator("#upload input[type=file]").set_input_files(str(tmp_path / "lighthouse notes.txt"))
        page.locator("#upload-status").filter(has_text="Index updated").wait_for(timeout=ANSWER_TIMEOUT_MS)
    search_in(page, "lighthouse")  # chosen in "Search in" too: removing it must not leave a dead choice there
    page.get_by_text("Remove a document").click()
    pick(page, "remove-choice", "lighthouse")
    page.locator("#remove").click()  # first it asks
    status = page.locator("#remove-status")
    status.filter(has_text="Remove lighthouse notes.txt from the index?").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator("#remove-cancel").click()
    status.filter(has_text="Not removed.").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert (docs / "lighthouse notes.txt").exists() and not page.locator("#remove-yes").is_visible()
    page.locator("#remove").click()
    page.locator("#remove-yes").click()
    status.filter(has_text="Removed:").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "kept as .removed/lighthouse notes.txt" in status.inner_text()
    assert "lighthouse notes.txt" not in page.locator("#documents").inner_text()
    assert not (docs / "lighthouse notes.txt").exists()
    assert (docs / ".removed" / "lighthouse notes.txt").exists()  # nothing is lost
    assert "lighthouse" not in page.locator("#search-in").inner_text()
    reply = ask(page, "Who painted the Kestrel Island lighthouse?").inner_text()
    assert "do not say" in reply and "Ilse Varga" not in reply and "lighthouse notes.txt" not in reply


@pytest.mark.slow
@pytest.mark.browser
def test_files_changed_on_disk_while_the_chat_runs_are_picked_up_by_sync(page: Any, app_root: Path) -> None:
    note = app_root / "docs" / "harbour.txt"
    note.write_text("Harbour log\nThe night ferry to Vollen leaves at 23:40 from pier 6.\n", encoding="utf-8")
    copy = app_root / "docs" / "harbour copy.txt"
    copy.write_bytes(note.read_bytes())
    os.utime(copy, ns=(time.time_ns(), time.time_ns() + 10**9))  # the later file (a coarse clock could tie them)
    status = page.locator("#sync-status")
    page.locator("#sync").click()
    status.filter(has_text="Synced").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "2 added (harbour copy.txt, harbour.txt)" in status.inner_text() and "0 removed" in status.inner_text()
    assert "Same content: harbour copy.txt as harbour.txt" in status.inner_text()  # the newer file is the copy
    assert "harbour.txt" in page.locator("#documents").inner_text()
    assert "23:40" in ask(page, "When does the night ferry to Vollen leave?").inner_text()

    note.unlink()
    copy.unlink()
    page.locator("#sync").click()
    status.filter(has_text="2 removed (harbour copy.txt, harbour.txt)").wait_for(timeout=ANSWER_TIMEOUT_MS)
    assert "harbour.txt" not in page.locator("#documents").inner_text()


@pytest.mark.slow
@pytest.mark.browser
def test_login_is_required_when_auth_is_set(browser: Any, app_root: Path) -> None:
    with running_app(app_root, "--auth", "ann:s3cret-pass") as url:  # `rag serve --auth`, on the same index
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "config", timeout=10)  # the app's API is closed without a login
        assert refused.value.code == 401

        context = browser.new_context()
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.locator("input[type=password]").wait_for(timeout=60_000)
        assert page.locator("#question textarea").count() == 0  # no chat before logging in
        page.locator("input[data-testid=textbox]").fill("ann")
        page.locator("input[type=password]").fill("wrong")
        page.get_by_role("button", name="Login").click()
        page.get_by_text("Incorrect credentials").wait_for(timeout=30_000)
        page.locator("input[data-testid=textbox]").fill("ann")  # the form is cleared after a failed login
        page.locator("input[type=password]").fill("s3cret-pass")
        page.get_by_role("button", name="Login").click()
        page.wait_for_selector("#question textarea", timeout=60_000)
        # a quote's document opens with the chat's login (its cookie), without a second one
        document = page.goto(url + "document?source=EU-defence-ministers-in-Brussels.txt&start=0&end=10")
        assert document is not None and document.status == 200
        context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_a_conversation_is_kept_in_the_browser_across_a_reload_and_a_restart(browser: Any, app_root: Path) -> None:
    """A reload (or a restart of `rag serve`) lost the conversation; now the browser keeps it, listed beside the
    chat, and a follow-up in a conversation taken up again still leans on its earlier turns."""
    question = "What is the reparations loan backed by?"
    port = free_port()  # the same address after the restart: the browser keeps data per address
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    with running_app(app_root, port=port) as url:
        page.goto(url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        ask(page, question)
        page.wait_for_function(  # saved (encrypted) once the answer is in: far longer than an empty list
            "() => Object.keys(localStorage).some(k => k.startsWith('_saved_conversations')"
            " && localStorage[k].length > 500)",
            timeout=30_000,
        )
        page.reload(wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        assert page.locator("#chat [data-testid=bot]").count() == 0  # a new chat, the old one listed beside it
        page.get_by_text(question).first.click()
        page.locator("#chat [data-testid=bot]").first.wait_for(timeout=30_000)
        assert "frozen Russian sovereign assets" in page.locator("#chat [data-testid=bot]").first.inner_text()
    with running_app(app_root, port=port) as url:  # a new server process
        page.goto(url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        page.get_by_text(question).first.click(timeout=30_000)
        page.locator("#chat [data-testid=bot]").first.wait_for(timeout=30_000)
        reply = ask(page, "How much could Ukraine borrow under it?").inner_text()
        assert "140 billion" in reply and "Searched for:" in reply and "reparations loan" in reply
    context.close()


@pytest.mark.slow
@pytest.mark.browser
def test_the_documents_list_follows_the_folder_while_the_chat_runs(browser: Any, tmp_path: Path) -> None:
    with running_app(tmp_path, env={"RAG_WATCH_SECONDS": "1"}) as url:  # synced every second, listed every 5 s
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.goto(url, wait_until="load")
        page.wait_for_selector("#question textarea", timeout=60_000)
        assert "depots.txt" not in page.locator("#documents").inner_text()
        (tmp_path / "docs" / "depots.txt").write_text("The Kestrel depot is in Kiel.\n", encoding="utf-8")
        page.locator("#documents", has_text="depots.txt").wait_for(timeout=60_000)
        assert "3 documents" in page.locator("#documents").inner_text()
        context.close()


# ---- saving uploads safely (no server) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uploaded", "saved"),
    [
        ("report.txt", "report.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("..\\..\\Windows\\win.ini.md", "win-ini.md"),
        ("/abs/path/notes.PDF", "notes.pdf"),
        (".hidden.txt", "hidden.txt"),
        ("...txt", "document.txt"),
        ("a/../../b.html", "b.html"),
        ("résumé 2024 (final).docx.md", "résumé 2024 (final)-docx.md"),
        ("parking rules (v2), draft.md", "parking rules (v2), draft.md"),
        ("evil\x00name\n.txt", "evilname.txt"),
        ("x" * 300 + ".txt", "x" * 100 + ".txt"),
    ],
)
def test_safe_filename_stays_a_plain_visible_name(uploaded: str, saved: str) -> None:
    name = ui.safe_filename(uploaded)
    assert name == saved
    assert "/" not in name and "\\" not in name and not name.startswith(".")


@pytest.mark.parametrize("uploaded", ["malware.exe", "archive.tar.gz", "README", ".bashrc", "../../.ssh/id_rsa"])
def test_unsupported_types_are_refused_with_the_supported_list(uploaded: str) -> None:
    with pytest.raises(ui.UploadError, match=r"\.txt"):
        ui.safe_filename(uploaded)


def test_an_old_office_file_is_refused_with_the_format_to_save_it_in() -> None:
    """Found by a newcomer: a .doc was refused by the browser's popup, with no word of saving it as .docx."""
    with pytest.raises(ui.UploadError, match=r"old binary Word file \(\.doc\): save it as \.docx"):
        ui.safe_filename("minutes 2019.doc")


def test_save_upload_never_escapes_or_overwrites(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The first notes.\n", encoding="utf-8")
    incoming = tmp_path / "in"
    incoming.mkdir()
    other = incoming / "notes.txt"
    other.write_text("Different notes about something else.\n", encoding="utf-8")

    saved = ui.save_upload(other, "../../notes.txt", docs, 1_000_000)
    assert saved.path == docs.resolve() / "notes-2.txt"  # renamed, not overwritten, not outside the folder
    assert (docs / "notes.txt").read_text(encoding="utf-8") == "The first notes.\n"
    assert saved.path.read_text(encoding="utf-8") == other.read_text(encoding="utf-8")

    again = ui.save_upload(other, "notes.txt", docs, 1_000_000)
    assert again.path is None and "already" in again.message  # same bytes: nothing new written
    assert sorted(p.name for p in docs.iterdir()) == ["notes-2.txt", "notes.txt"]  # no temporary left behind
    assert not list(tmp_path.glob("*.txt"))  # nothing written next to the documents folder

    (docs / "projects").mkdir()
    (docs / "projects" / "status.txt").write_text("Apollo is on track.\n", encoding="utf-8")
    copy = incoming / "status copy.txt"
    copy.write_text("Apollo is on track.\n", encoding="utf-8")
    twin = ui.save_upload(copy, copy.name, docs, 1_000_000)  # the same bytes under another name, elsewhere
    assert twin.path is None and "already in the documents as projects/status.txt" in twin.message


def test_save_upload_refuses_bad_files_before_they_land(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    big = tmp_path / "big.txt"
    big.write_text("word " * 1000, encoding="utf-8")
    with pytest.raises(ui.UploadError, match="too large"):
        ui.save_upload(big, "big.txt", docs, 1000)
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n", encoding="utf-8")
    with pytest.raises(ui.UploadError, match="empty"):
        ui.save_upload(empty, "empty.txt", docs, 1000)
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\x00\x01\x02 binary")
    with pytest.raises(ui.UploadError, match="binary"):
        ui.save_upload(binary, "blob.txt", docs, 1000)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(make_scan("The depot opened in March 2021.", "PDF"))
    for ocr in (None, Ocr(program="no-tesseract-here")):  # what only OCR can read, with no OCR to read it
        with pytest.raises(ui.UploadError, match=r"scanned PDF without a text layer\?\)"):
            ui.save_upload(scan, "scan.pdf", docs, 100_000, ocr=ocr)
    blob = tmp_path / "blob.png"
    blob.write_bytes(b"\x89PNG not really")
    with pytest.raises(ui.UploadError, match="not a readable image"):  # checked before OCR
        ui.save_upload(blob, "blob.png", docs, 1000, ocr=Ocr())
    assert list(docs.iterdir()) == []
    assert ui.save_upload(scan, "scan.pdf", docs, 100_000, ocr=Ocr()).path == docs / "scan.pdf"  # read when indexed


# ---- the chat function without a browser: streaming seam, errors ------------------------------------------


class FakePipeline:
    """Answers every question with one fixed quote; records the history it was given."""

    def __init__(self) -> None:
        self.histories: list[Any] = []

    def answer(self, question: str, history: Sequence[Any] | None = None, filters: Any = None) -> Answer:
        self.histories.append(history)
        if len(question) > 50:
            raise QuestionError("The question is too long (51 characters; the limit is 50).")
        quote = Quote("Ukraine could borrow up to €140 billion.", "loan.txt", 10, 50, 0.9, "Loan")
        return Answer(question, "Up to **€140 billion**. [1]", True, quotes=[quote])

    def stream_answer(self, question: str, history: Sequence[Any] | None = None, filters: Any = None) -> Any:
        yield self.answer(question, history)  # as Pipeline.stream_answer does for the extractive answerer

    def excerpt(self, source: str, start: int, end: int) -> str:
        return "Loan terms\n\nUnder the plan, Ukraine could borrow up to €140 billion. Repayment comes later."[
            max(start, 0) : end
        ]


class StreamingPipeline(FakePipeline):
    def stream_answer(self, question: str, history: Sequence[Any] | None = None, filters: Any = None) -> Any:
        yield "Up to "
        yield "€140 billion."
        yield self.answer(question, history)


def test_respond_shows_progress_then_the_answer_with_history_passed() -> None:
    pipeline = FakePipeline()
    history = [{"role": "user", "content": "About the loan"}, {"role": "assistant", "content": [{"text": "Ok"}]}]
    steps = list(ui.respond(pipeline, "How much?", history))  # type: ignore[arg-type]
    assert steps[0] == ui.SEARCHING
    assert "€140 billion" in steps[-1] and "**Sources**" in steps[-1] and "`loan.txt`" in steps[-1]
    assert pipeline.histories == [[{"role": "user", "content": "About the loan"},
                                   {"role": "assistant", "content": "Ok"}]]  # fmt: skip


def test_respond_streams_a_generative_backend_then_shows_its_quotes() -> None:
    steps = list(ui.respond(StreamingPipeline(), "How much?", []))  # type: ignore[arg-type]
    assert steps[:3] == [ui.SEARCHING, "Up to ", "Up to €140 billion."]  # text grows as it is generated
    assert "**Sources**" in steps[-1] and len(steps) == 4


def test_respond_explains_bad_input_in_the_chat() -> None:
    assert "type a question" in list(ui.respond(FakePipeline(), "   ", []))[-1]  # type: ignore[arg-type]
    last = list(ui.respond(FakePipeline(), "x" * 51, []))[-1]  # type: ignore[arg-type]
    assert last.startswith("**Cannot answer:**") and "too long" in last


# ---- "Search in": choices and filters on a real index with folders -----------------------------------------


def test_search_in_offers_folders_and_documents_and_answers_only_from_them(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    (docs / "reports" / "2024").mkdir(parents=True)
    (docs / "reports" / "2024" / "q1.txt").write_text(
        "First quarter report\nThe bakery sold 48,000 croissants in the first quarter of 2024.\n", encoding="utf-8"
    )
    (docs / "reports" / "plan.md").write_text(
        "# Plan\n\nThe bakery plans to open a second shop in Ghent next spring.\n", encoding="utf-8"
    )
    (docs / "notes.txt").write_text(
        "Staff notes\nThe head baker of the bakery is Marta Quist, who joined in 2019.\n", encoding="utf-8"
    )
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    pipeline.index()

    values = [value for _, value in ui.scope_choices(pipeline)]
    assert values[:2] == ["folder:reports", "folder:reports/2024"]  # folders first, each level of the tree
    assert sorted(values[2:]) == ["source:notes.txt", "source:reports/2024/q1.txt", "source:reports/plan.md"]

    assert ui.scope_filter(pipeline, []) == (None, None)  # nothing chosen: every document
    assert ui.scope_filter(pipeline, ["folder:reports"]) == ({"folder": ["reports"]}, "reports/")
    mixed, said = ui.scope_filter(pipeline, ["folder:reports/2024", "source:notes.txt"])
    assert mixed == {"source": ["notes.txt", "reports/2024/q1.txt"]}  # either of them, not both at once
    assert said == "reports/2024/, notes.txt"

    question = "Who is the head baker?"
    everywhere = list(ui.respond(pipeline, question, []))[-1]
    assert "Marta Quist" in everywhere and "Searched in" not in everywhere
    in_reports = list(ui.respond(pipeline, question, [], *ui.scope_filter(pipeline, ["folder:reports"])))[-1]
    assert "Marta Quist" not in in_reports and "notes.txt" not in in_reports
    assert "do not say" in in_reports and "Searched in: reports/" in in_reports
    both = ui.scope_filter(pipeline, ["folder:reports", "source:notes.txt"])
    assert "Marta Quist" in list(ui.respond(pipeline, question, [], *both))[-1]

    data = ui.answer_json(pipeline, "When did the head baker join?", filters={"source": "notes.txt"})
    assert data["answered"] and {q["source"] for q in data["quotes"]} == {"notes.txt"}


def _chat_examples(pipeline: Pipeline) -> Any:
    demo = ui.build_demo(pipeline)
    chat = [c for c in demo.config["components"] if c.get("props", {}).get("elem_id") == "chat"]
    return chat[0]["props"].get("examples")


def test_example_questions_are_offered_only_over_the_seeds(tmp_path: Path, embedder: Embedder) -> None:
    seeds = Pipeline(docs_dir=ui.SEEDS, index_dir=tmp_path / "seeds-index", embedder=embedder)
    assert [e["text"] for e in _chat_examples(seeds)] == ui.EXAMPLES
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.txt").write_text("The garage closes at 22:00 on weekdays.\n", encoding="utf-8")
    own = Pipeline(docs_dir=tmp_path / "docs", index_dir=tmp_path / "own-index", embedder=embedder)
    assert not _chat_examples(own)  # questions about Ukraine would mislead over someone else's documents


def test_remove_document_moves_the_file_aside_and_refuses_other_paths(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    (docs / "team").mkdir(parents=True)
    (docs / "team" / "roles.txt").write_text("Staff\nThe head baker of the bakery is Marta Quist.\n", encoding="utf-8")
    (docs / "other.txt").write_text("Notes\nThe bakery opens at seven in the morning.\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not a document of the folder\n", encoding="utf-8")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    pipeline.index()
    assert "Marta Quist" in (pipeline.answer("Who is the head baker?").key_phrase or "")

    for bad in ("../secret.txt", "missing.txt", "", None):
        assert "remove" in ui.remove_document(pipeline, bad).lower()  # explained, nothing moved
    assert (tmp_path / "secret.txt").exists() and (docs / "other.txt").exists()

    status = ui.remove_document(pipeline, "team/roles.txt")
    assert status.startswith("**Removed:** team/roles.txt")
    assert pipeline.store.sources() == ["other.txt"]
    assert not pipeline.answer("Who is the head baker?").answered
    assert (docs / ".removed" / "team" / "roles.txt").read_text(encoding="utf-8").startswith("Staff")

    (docs / "team" / "roles.txt").write_text("Staff\nThe head baker is now Ola Berg.\n", encoding="utf-8")
    pipeline.index()
    ui.remove_document(pipeline, "team/roles.txt")  # removed again: the first removed copy is kept as well
    assert sorted(p.name for p in (docs / ".removed" / "team").iterdir()) == ["roles-2.txt", "roles.txt"]


class TextPipeline:
    def __init__(self, text: str) -> None:
        self.text = text

    def excerpt(self, source: str, start: int, end: int) -> str:
        return self.text[max(start, 0) : end]


@pytest.mark.parametrize(
    ("text", "before", "after"),
    [
        ("Alpha beta gamma. The fund is big. More here.", "Alpha beta gamma.", "More here."),  # from the very start
        ("Old part.\n\nNew part. The fund is big.\n\nNext.", "New part.", ""),  # its own paragraph only
        ("word " * 200 + "The fund is big. " + "tail " * 200, "…" + "word " * 78 + "word", "tail " * 78 + "tail…"),
        ("Fees\n| A | 1 |\nThe fund is big.\n| C | 3 |\n\nNext.", "Fees\n| A | 1 |\n", "\n| C | 3 |"),  # rows: lines
    ],
)
def test_a_quote_in_context_is_its_paragraph_cut_at_words(text: str, before: str, after: str) -> None:
    start = text.index("The fund is big.")
    quote = Quote("The fund is big.", "a.txt", start, start + 16, 0.9, "A")
    assert ui.surroundings(TextPipeline(text), limit=400)(quote) == (before, after)  # type: ignore[arg-type]


def test_a_tables_rows_in_context_stay_one_under_the_other() -> None:
    """Found by a newcomer: "in context" ran a table's rows together on one line."""
    quote = Quote("| B | 2 |", "a.md", 10, 19, 0.9, "A")
    shown = ui._context_html(quote, "| A | 1 |\n", "\n| C | 3 |")
    assert shown.endswith(">| A | 1 |<br><b>| B | 2 |</b><br>| C | 3 |</details>"), shown


def test_the_documents_panel_names_the_files_that_could_not_be_used(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    (docs / "old").mkdir(parents=True)
    (docs / "notes.txt").write_text("Notes\nThe garage closes at 22:00 on weekdays.\n", encoding="utf-8")
    (docs / "old" / "blob.txt").write_bytes(b"\x00\x01\x02 binary")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    pipeline.index()
    panel = ui.documents_markdown(pipeline)
    assert "`notes.txt`" in panel
    assert "**1 file could not be used:**" in panel and "- `old/blob.txt`: " in panel and "binary" in panel


def test_the_documents_panel_keeps_saying_what_was_indexed_with_warnings(tmp_path: Path, embedder: Embedder) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "deck.pptx").write_bytes(make_pptx([{"title": "Fleet", "bullets": ["Twelve ferries."]}, {}]))
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    pipeline.index()
    (docs / "notes.txt").write_text("The garage closes at 22:00.\n", encoding="utf-8")
    pipeline.index()  # a later sync's report holds only what it changed: the deck's warning is kept all the same
    panel = ui.documents_markdown(pipeline)
    assert "`deck.pptx` · 1 passage, 2 slides" in panel
    assert "**Indexed with warnings:**\n- `deck.pptx`: slide 2 has no text" in panel


def test_a_question_echoed_in_a_refusal_is_shown_as_text_not_markup() -> None:
    question = '<img src=x onerror="alert(1)"> **bold** [link](http://evil.example)'
    refusal = Answer(question, f"The documents do not say. I found nothing in them that answers: {question}", False)
    shown = ui.render(refusal)
    assert "<img" not in shown and "&lt;img" in shown
    assert "[link](" not in shown  # no link: the words as typed (only bold markers can pass, as bold)
    answer = Answer("q", "Ukraine could borrow up to **€140 billion** at <b>no</b> interest. [1]", True)
    assert "**€140 billion**" in ui.render(answer) and "<b>" not in ui.render(answer)  # the key phrase stays bold


def test_a_table_row_is_shown_with_its_columns_and_other_rows_only_as_related() -> None:
    row = Quote("| Norway | 95 EUR |", "travel.md", 83, 102, 0.9, "Travel", columns="| Country | Daily allowance |")
    other = Quote("| Portugal | 60 EUR |", "travel.md", 103, 124, 0.8, "Travel")
    shown = ui.render(Answer("q", "| Norway | **95 EUR** | [1]", True, [row], [other]))
    sources = shown[shown.index("**Sources**") :]
    assert sources.index("columns:") < sources.index("Norway") and "Country" in sources and "Daily allowance" in sources
    assert "**Also relevant**" in shown and shown.index("**Also relevant**") < shown.index("Portugal")
    assert "too weak" not in shown  # that label is for refusals
    assert "too weak" in ui.render(Answer("q", "The documents do not say.", False, [], [other]))


def test_the_key_of_saved_conversations_is_made_once_and_kept(tmp_path: Path) -> None:
    key = ui.history_key(tmp_path)
    assert len(key) >= 24 and ui.history_key(tmp_path) == key  # the same after a restart
    assert (tmp_path / "chat-history.key").stat().st_mode & 0o077 == 0  # its owner's only (tidy, not a secret)
    assert not list(tmp_path.glob("*.part"))
    (tmp_path / "chat-history.key").write_text("abc")  # damaged: replaced by a new key, kept from then on
    replaced = ui.history_key(tmp_path)
    assert replaced != key and ui.history_key(tmp_path) == replaced
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert len(ui.history_key(blocked)) >= 24  # no folder to keep it in: a key per start, no error


def test_feedback_names_the_question_answered_and_can_be_turned_off(tmp_path: Path) -> None:
    history = [
        {"role": "user", "content": "What is SAFE?"},
        {"role": "assistant", "content": "A loan fund. [1]"},
        {"role": "user", "content": [{"type": "text", "text": "How big is it?"}]},
        {"role": "assistant", "content": "€150 billion. [1]"},
    ]
    entry = ui.feedback_record(history, 3, False)
    assert entry is not None and (entry["question"], entry["answer"], entry["liked"]) == (
        "How big is it?",
        "€150 billion. [1]",
        False,
    )
    assert ui.feedback_record(history, 1, "Like")["liked"] is None  # type: ignore[index]  # not a yes or no
    assert ui.feedback_record(history, 9, True) is None
    pipeline = Pipeline(docs_dir=tmp_path, index_dir=tmp_path / "index", embedder=Embedder("unused"))
    assert ui.feedback_path(pipeline) == tmp_path / "index" / "feedback.jsonl"
    assert ui.feedback_path(Pipeline(pipeline.settings.replace(feedback_file="off"))) is None


@pytest.mark.slow
def test_sync_while_another_sync_runs_says_so_at_once(tmp_path: Path, embedder: Embedder) -> None:
    """A 10 MB file took minutes to index in the background; a click on "Sync with the folder" then waited in
    the queue with no word of why, and reported "0 added" at the end (the background sync had added it)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gradio_client import Client

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The head baker is Marta Quist.\n", encoding="utf-8")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder, watch_seconds=0)
    pipeline.index()
    lock = threading.Lock()
    demo = ui.build_demo(pipeline, lock)
    demo.launch(server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        with lock:  # a sync (the watcher's, an upload's) is running
            status = client.predict([], api_name="/sync")[0]
        assert status == ui.BUSY
        assert client.predict([], api_name="/sync")[0].startswith("**Synced**")
    finally:
        demo.close()
