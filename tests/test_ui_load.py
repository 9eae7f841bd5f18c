"""Many people chatting at once: the real app under >= 20 concurrent Gradio client sessions (loopback only).

Every reply must be free of errors, say what it should (140 billion, or a refusal), and every quote it shows
must be the document's text at its offsets. Also: the chat's Markdown quotes read back exactly (the check the
load test and ``benchmarks/load.py`` rely on).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ui
from benchmarks.load import measure, quotes_in_markdown, running_app, table
from rag import Answer, Quote

USERS = 20
QUESTIONS_PER_USER = 2


@pytest.mark.slow
def test_twenty_concurrent_chat_users_get_valid_answers(tmp_path: Path) -> None:
    with running_app(tmp_path) as url:
        report = measure(url, USERS, QUESTIONS_PER_USER, tmp_path / "index", tmp_path / "docs", deadline_s=90.0)
    print(table(report))  # shown with -s: the latency figures of this run
    total = report["summary"]["all"]
    assert total["requests"] == USERS * QUESTIONS_PER_USER, report["errors"]
    assert total["errors"] == 0, report["errors"]
    assert total["invalid_quotes"] == 0, report["errors"]
    assert total["quotes_checked"] >= USERS  # most questions are answered with quotes, and all were checked
    assert all(report["summary"][endpoint]["requests"] > 0 for endpoint in ("/ask", "/answer", "/v1/answer"))


def test_chat_quotes_read_back_exactly_whatever_the_characters() -> None:
    text = "A *starred* _word_, a [link](x), <b>tags</b> & `code` | pipes ~ and a back\\slash cost €5 #1."
    doc = "Intro. " + text + " Outro."
    start = doc.index(text)
    phrase = doc.index("<b>tags</b>")
    quote = Quote(text, "dir/odd_name*.txt", start, start + len(text), 0.9, "Title *with* stars",
                  highlight=(phrase, phrase + len("<b>tags</b>")))  # fmt: skip
    answer = Answer("q?", "It says so. [1]", True, quotes=[quote, quote])
    markdown = ui.render(answer)
    assert "<b>" not in markdown  # document text never becomes markup
    assert "<mark>&lt;b&gt;tags&lt;/b&gt;</mark>" in markdown  # the key phrase is marked
    shown = quotes_in_markdown(markdown)
    assert len(shown) == 2
    for q in shown:
        assert doc[q["start"] : q["end"]] == q["text"] == text
        assert q["source"] == "dir/odd_name*.txt"
