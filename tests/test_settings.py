"""Settings refuse values that cannot work, and warn about ``RAG_*`` variables that are no setting."""

from __future__ import annotations

import logging
import os

import pytest

from rag.errors import SettingsError
from rag.settings import MIN_CHUNK_CHARS, NOT_SETTINGS, Settings


def test_defaults_construct_with_no_environment(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rag.settings"):
        assert Settings.from_env({}) == Settings()
    assert caplog.records == []


@pytest.mark.parametrize(
    ("variable", "raw", "setting"),
    [
        ("RAG_MAX_FILE_BYTES", "-1", "max_file_bytes"),
        ("RAG_MAX_FILE_BYTES", "0", "max_file_bytes"),
        ("RAG_DENSE_WEIGHT", "-5", "dense_weight"),
        ("RAG_KEYWORD_WEIGHT", "-5", "keyword_weight"),
        ("RAG_DENSE_WEIGHT", "nan", "dense_weight"),
        ("RAG_KEYWORD_WEIGHT", "inf", "keyword_weight"),
        ("RAG_CHUNK_CHARS", "5", "chunk_chars"),
        ("RAG_CHUNK_CHARS", "0", "chunk_chars"),
        ("RAG_CHUNK_CHARS", str(MIN_CHUNK_CHARS - 1), "chunk_chars"),
        ("RAG_MAX_QUESTION_CHARS", "0", "max_question_chars"),
        ("RAG_GENERATOR_TEMPERATURE", "-0.5", "generator_temperature"),
        ("RAG_TOP_K", "-1", "top_k"),
        ("RAG_CANDIDATES", "0", "candidates"),
        ("RAG_MAX_QUOTES", "0", "max_quotes"),
        ("RAG_RRF_K", "-10", "rrf_k"),
        ("RAG_RERANK_CANDIDATES", "0", "rerank_candidates"),
        ("RAG_RERANK_READS", "-1", "rerank_reads"),
        ("RAG_MIN_EVIDENCE", "1.5", "min_evidence"),
        ("RAG_MIN_EVIDENCE", "-0.1", "min_evidence"),
        ("RAG_FALLBACK_ENCODING", "klingon", "fallback_encoding"),
        ("RAG_WATCH_SECONDS", "-1", "watch_seconds"),
    ],
)
def test_a_value_that_cannot_work_is_refused_in_one_line_naming_the_setting(
    variable: str, raw: str, setting: str
) -> None:
    with pytest.raises(SettingsError, match=rf"^{setting} must .*Currently") as caught:
        Settings.from_env({variable: raw})
    assert "\n" not in str(caught.value)


def test_the_smallest_chunk_size_is_named_and_accepted() -> None:
    with pytest.raises(SettingsError, match=f"chunk_chars must be at least {MIN_CHUNK_CHARS}. Currently, it is 5"):
        Settings(chunk_chars=5)
    assert Settings(chunk_chars=MIN_CHUNK_CHARS).chunk_chars == MIN_CHUNK_CHARS


def test_fusion_weights_may_be_zero_but_not_both() -> None:
    assert Settings(dense_weight=0.0).keyword_weight == 1.0  # keyword retrieval only
    assert Settings(keyword_weight=0.0).dense_weight == 0.7  # dense retrieval only
    with pytest.raises(SettingsError, match="dense_weight and keyword_weight cannot both be 0"):
        Settings.from_env({"RAG_DENSE_WEIGHT": "0", "RAG_KEYWORD_WEIGHT": "0"})


def test_a_misspelled_variable_is_logged_with_the_closest_setting(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rag.settings"):
        settings = Settings.from_env({"RAG_TOPK": "3"})
    assert settings.top_k == Settings().top_k  # still ignored, but no longer silently
    assert [r.getMessage() for r in caplog.records] == ["RAG_TOPK is not a setting (did you mean RAG_TOP_K?)"]
    assert caplog.records[0].levelno == logging.WARNING


def test_an_unknown_variable_with_no_close_setting_is_still_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="rag.settings"):
        Settings.from_env({"RAG_ZZZZZZZZZZZZ": "1"})
    assert [r.getMessage() for r in caplog.records] == ["RAG_ZZZZZZZZZZZZ is not a setting (it is ignored)"]


def test_settings_and_known_non_settings_are_not_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    environ = dict.fromkeys(NOT_SETTINGS, "/tmp/somewhere")
    environ |= {"RAG_TOP_K": "3", "RAG_DOCS_DIR": "/tmp/docs", "RAG_OFFLINE": "1", "PATH": "/usr/bin", "RAGTIME": "x"}
    with caplog.at_level(logging.WARNING, logger="rag.settings"):
        settings = Settings.from_env(environ)
    assert settings.top_k == 3
    assert caplog.records == []
    assert "RAG_CACHE_DIR" in NOT_SETTINGS  # read by rag/embedding.py for its model cache


def test_the_real_environment_is_checked_too(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAG_CHUNK_CHAR", "800")
    with caplog.at_level(logging.WARNING, logger="rag.settings"):
        Settings.from_env()
    assert "RAG_CHUNK_CHAR is not a setting (did you mean RAG_CHUNK_CHARS?)" in caplog.messages
