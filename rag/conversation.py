"""Resolve a follow-up question against the earlier turns of a conversation, before retrieval."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Message = Mapping[str, str]
"""An OpenAI/Gradio-style chat message: ``{"role": "user" | "assistant", "content": str}``."""

_FOLLOW_UP = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|him|his|she|her|hers|there|then|"
    r"the same|the former|the latter|above|mentioned)\b|^\s*(and|also|what about|how about|why|so)\b",
    re.IGNORECASE,
)
_CONTENT = re.compile(r"[A-Za-z0-9€$£%]{3,}")
_GENERIC = frozenset(
    "what which who whom whose when where why how does did do is are was were can could would should will "
    "much many about tell more the and for with from they them their this that these those".split()
)


def user_turns(history: Sequence[Message] | None) -> list[str]:
    """The text of the earlier user messages, oldest first; malformed entries are ignored."""
    turns = []
    for message in history or ():
        if isinstance(message, Mapping) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str) and content.strip():
                turns.append(content.strip())
    return turns


def is_follow_up(question: str) -> bool:
    """True when the question leans on an earlier turn: a pronoun, an opening 'and…', or almost no content."""
    content = [w for w in _CONTENT.findall(question.lower()) if w not in _GENERIC]
    return bool(_FOLLOW_UP.search(question)) or len(content) <= 1


def standalone_question(question: str, history: Sequence[Message] | None = None) -> str:
    """``question`` made self-contained: a follow-up is prefixed with the user turns it leans on."""
    turns = user_turns(history)
    if not turns or not is_follow_up(question):
        return question
    context = [turns[-1]]
    # A chain of follow-ups ("and the other one?") needs the question that started it.
    for earlier in reversed(turns[:-1]):
        if not is_follow_up(context[0]):
            break
        context.insert(0, earlier)
    return " ".join([*context, question])
