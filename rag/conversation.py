"""Resolve a follow-up question against the earlier turns of a conversation, before retrieval.

Two ways, the surer first: :func:`resolve_follow_up` writes the conversation's topic in place of a pronoun
("How big is it?" after "What is the SAFE fund?" -> "How big is the SAFE fund?") or of an ellipsis ("And
Kallas?" after "What did the commissioner say?" -> "What did Kallas say?"); when it cannot tell what a follow-up
points to, :func:`standalone_question` prefixes it with the user turns it leans on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

Message = Mapping[str, str]
"""An OpenAI/Gradio-style chat message: ``{"role": "user" | "assistant", "content": str}``."""

_REFERRING = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|he|him|his|she|her|hers|the same|the former|the latter|above|"
    r"mentioned)\b|^\s*(and|also|what about|how about|why|so)\b",
    re.IGNORECASE,
)
"""Words that point back to something said before ("How much could Ukraine borrow under *it*?")."""
_DEMONSTRATIVE = re.compile(
    r"\b(this|these|those)\b"
    r"|(?:^|\b(?:is|was|are|were|about|of|in|on|for|under|with|from|by|to|do|does|did|after|before)\s+)that\b"
    r"|\bthat\s*[?.!]*\s*$",
    re.IGNORECASE,
)
"""*This*, *these*, *those* anywhere ("Who wrote this report?"), and *that* where it points back ("Why is that?",
"How big is that fund?"), not the *that* of a relative clause ("the allowance that employees get")."""
_THERE = re.compile(r"(\w+\s+)?\bthere\b(\s*'s|\s+\w+)?", re.IGNORECASE)
"""*There* with the words around it: next to a form of *to be* it is existential (see :func:`_points_to_a_place`)."""
_TO_BE = frozenset("is are was were be been 's will".split())
_SENTENCE_END = re.compile(r"(?<=[?.!])\s+")
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


def _points_to_a_place(text: str) -> bool:
    """*There* as a place said before ("What happened there?"), not the *there* of "Is there a meal allowance?"
    or "there is"."""
    for match in _THERE.finditer(text):
        before, after = (match.group(1) or "").strip().lower(), (match.group(2) or "").strip().lower()
        if before not in _TO_BE and after not in _TO_BE:
            return True
    return False


def _names(question: str) -> list[str]:
    """Words after the first that are capitalised or hold a digit ("SAFE", "Kubilius", "Q3"), except "I"."""
    words = [w.strip("?.!,;:\"'()") for w in question.split()[1:]]
    return [w for w in words if w and w != "I" and (w[0].isupper() or any(c.isdigit() for c in w))]


_NAMES_SOMETHING = re.compile(r"\s*(what|who)(?:'s|\s+(?:is|are|was|were))\s+(?:the\s+|an?\s+)?\S+\s*\??\s*$", re.I)
"""A question that only asks what or who a thing is ("What is SAFE?", "Who is Kubilius?"): a topic of its own."""


def is_follow_up(question: str) -> bool:
    """True when the question leans on an earlier turn: a word pointing back, an opening 'and…', or almost no
    content of its own ("Why not?", "In Sweden?", "How much in EUR?"; but "What is SAFE?" and "How much
    revenue in Q3?" stand alone). Only its first sentence counts: in "How many moons does Mars have? Name
    them.", *them* points back into the question itself."""
    first = _SENTENCE_END.split(question.strip(), maxsplit=1)[0]
    pointing = _REFERRING.search(first) or _DEMONSTRATIVE.search(first) or _points_to_a_place(first)
    if pointing:
        return True
    names = _names(first)
    content = {w for w in _CONTENT.findall(question.lower()) if w not in _GENERIC}
    content |= {n.lower() for n in names}  # "Q3" is content too, though short
    return len(content) <= 1 and not (names and _NAMES_SOMETHING.match(first))


MAX_CHAIN = 2
"""Earlier user turns a follow-up may lean on at most."""


def standalone_question(question: str, history: Sequence[Message] | None = None) -> str:
    """``question`` made self-contained: a follow-up is prefixed with the user turns it leans on."""
    turns = user_turns(history)
    if not turns or not is_follow_up(question):
        return question
    context = [turns[-1]]
    # A chain of follow-ups ("and the other one?") needs the question that started it, up to MAX_CHAIN turns
    # back: further back, the conversation has most likely moved on, and old questions would drown this one.
    for earlier in reversed(turns[:-1]):
        if len(context) >= MAX_CHAIN or not is_follow_up(context[0]):
            break
        context.insert(0, earlier)
    return " ".join([*context, question])


_TOPIC = re.compile(
    r"^\s*(?P<ask>what|who)(?:'s|\s+(?P<verb>is|are|was|were))\s+(?P<topic>[^?]{1,60}?)\s*\??\s*$", re.IGNORECASE
)
"""A question that asks what or who something is: its topic is what the next question's pronoun points to."""
_SWAP = re.compile(r"^\s*(?:and|what about|how about)\s+(?P<topic>[^?]{1,60}?)\s*\??\s*$", re.IGNORECASE)
"""An ellipsis: the previous question, asked about something else ("And Kallas?")."""
_NOT_A_TOPIC_END = frozenset(
    "of in on at by for from with to into about as than like backed called made used known based located given "
    "doing done said one".split()
)
_PRONOUNS = {
    "thing": {"it": "", "its": "'s"},
    "person": {"he": "", "him": "", "his": "'s", "she": ""},
    "plural": {"they": "", "them": "", "their": "'s"},
}
"""The pronouns that may stand for a topic of each kind, and the ending of their possessive."""
_PRONOUN = re.compile(r"\b(it|its|he|him|his|she|her|hers|they|them|their|theirs)\b", re.IGNORECASE)


def _topic(question: str) -> tuple[str, str] | None:
    """The topic of "What is X?" / "Who are X?" and its kind (``thing``, ``person``, ``plural``), or None
    when X does not read as a thing named (too long, or ending in a preposition or a participle)."""
    match = _TOPIC.match(question)
    if match is None:
        return None
    topic = match["topic"].strip()
    words = topic.split()
    if len(words) > 6 or words[-1].lower() in _NOT_A_TOPIC_END or _PRONOUN.search(topic):
        return None
    if (match["verb"] or "is").lower() in ("are", "were"):
        return topic, "plural"
    return topic, "person" if match["ask"].lower() == "who" else "thing"


def _put(topic: str, question: str, kind: str) -> str | None:
    """``question`` with every pronoun replaced by ``topic``, when all its pronouns fit the topic's kind."""
    found = [m.group().lower() for m in _PRONOUN.finditer(question)]
    if not found or any(word not in _PRONOUNS[kind] for word in found):
        return None

    def replace(match: re.Match[str]) -> str:
        ending = _PRONOUNS[kind][match.group().lower()]
        if ending and topic.endswith("s") and not topic[-1:].isupper():
            ending = "'"
        text = topic + ending
        starts = match.start() == len(question) - len(question.lstrip())
        return text[0].upper() + text[1:] if starts else text

    return _PRONOUN.sub(replace, question)


def resolve_follow_up(question: str, history: Sequence[Message] | None = None) -> str | None:
    """``question`` with what it points back to written in, or None when that is not clear.

    The topic is what an earlier "What is X?" / "Who is X?" asked about, carried through the follow-ups after
    it: a pronoun of the topic's kind (*it*, *its* for a thing; *he*, *his* for a person; *they* for several)
    is replaced by it, and "And Y?" / "What about Y?" asks the previous question about Y instead. A pronoun of
    another kind ("What is its budget?" after "Who is the project lead of Project Falcon?") is left to
    :func:`standalone_question`. A follow-up may name its topic first: "And the Heron depot? Who manages it?"
    is "Who manages the Heron depot?".
    """
    turns = user_turns(history)
    if not turns or not is_follow_up(question):
        return None
    # "And the Heron depot? Who manages it?": the question names its own topic first.
    first, _, rest = question.strip().partition("? ")
    named = _SWAP.match(first + "?") if rest else None
    if named and not _PRONOUN.search(named["topic"]):
        found = {m.group().lower() for m in _PRONOUN.finditer(rest)}
        kinds = [kind for kind, pronouns in _PRONOUNS.items() if found and found <= pronouns.keys()]
        if kinds:
            return _put(named["topic"].strip(), rest, kinds[0])
    topic: tuple[str, str] | None = None
    previous = ""
    resolved: str | None = None
    for turn in [*turns[-(MAX_CHAIN + 2) :], question]:
        resolved = None
        if previous and is_follow_up(turn):
            swap = _SWAP.match(turn)
            if swap and topic and topic[0] in previous and not _PRONOUN.search(swap["topic"]):
                resolved = previous.replace(topic[0], swap["topic"].strip(), 1)
                topic = (swap["topic"].strip(), topic[1])
            elif topic:
                resolved = _put(topic[0], turn, topic[1])
            if resolved is None:
                topic = None  # what it points to is not known: neither is what later turns point to
        else:
            topic = _topic(turn)
        previous = resolved or turn
    return resolved
