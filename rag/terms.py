"""Terms a contract defines for its parties: 'Northgate Building Society, 2 Harbour Street, Leeds ("the Lender")'.

After its parties clause a contract names them only by those terms, so two questions a reader asks miss it:
"Who is the lender?" (the sentence that answers is the one that defines the term, not "Signed for the Lender: Karen
Whitfield") and "What uptime does Stratus guarantee?" of "The Provider guarantees availability of 99.9%" (no word
for Stratus in the clause). :func:`definitions` finds the terms, :func:`who_is` answers the first question with its
defining sentence, and :func:`with_terms` asks the second as "What uptime does Stratus (the Provider) guarantee?".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answering import Answer, Quote
from rag.chunking import sentence_spans
from rag.documents import Document

_DEFINED = re.compile(
    r"\(\s*(?:the\s+)?[\"“](?:the\s+)?(?P<term>[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,2})[\"”]\s*\)", re.IGNORECASE
)
"""A defining parenthesis: (the "Provider"), ("the Lender"), (“Customer”)."""
_NAME = re.compile(r"[A-Z][\w.&'’-]*(?:[ \t]+(?:(?:of|and|&|de|von|van|der|du|la|le)[ \t]+)*[A-Z0-9][\w.&'’-]*)*")
"""A name in capitals: "Northgate Building Society", "Daniel James Marsh and Sophie Anne Marsh", "Stratus Hosting
GmbH"."""
_LEAD = re.compile(r"[\s,;]*(?:(?:and|between|by|with|of)\s+)*", re.IGNORECASE)
"""What may stand before a party's name after the previous party: ', and ', 'between '."""
_WHO_IS = re.compile(
    r"^\W*who\s+(?:is|are|was|were)\s+(?:the\s+|our\s+|my\s+)?(?P<term>[a-z][\w-]*(?:\s+[a-z][\w-]*)?)\s*\??\s*$",
    re.IGNORECASE,
)
"""A question for the party a term stands for: "Who is the lender?", "Who is the Provider?"."""
_GENERIC = frozenset("agreement contract loan property services service premises policy schedule".split())
"""Terms a contract defines for things, not parties: never a party's name."""


@dataclass(frozen=True)
class Definition:
    """A term a document defines for a party, and where: ``document.text[start:end]`` is the defining sentence,
    ``document.text[name_start:name_end]`` the party's name."""

    term: str
    name: str
    source: str
    start: int
    end: int
    name_start: int
    name_end: int


def definitions(document: Document) -> list[Definition]:
    """Every party a document's sentences define a term for ('Stratus Hosting GmbH, of Mainzer Landstraße 50,
    Frankfurt am Main (the "Provider")': Provider -> Stratus Hosting GmbH): the name is the capitalised words that
    open the part of the sentence before the parenthesis (after "between", or after the previous party's term)."""
    text = document.text
    out: list[Definition] = []
    spans: list[tuple[int, int]] | None = None
    for match in _DEFINED.finditer(text):
        term = match["term"]
        if term.lower() in _GENERIC:
            continue
        spans = sentence_spans(text) if spans is None else spans
        own = next((i for i, (a, b) in enumerate(spans) if a <= match.start() < b), None)
        if own is None:
            continue
        at, last = own, own  # the defining sentence's first and last line
        name = _party(text, spans[at][0], match.start())
        if name is None and at > 0 and _broken(text, spans[at - 1], spans[at]):
            at -= 1  # a line break inside the sentence ("… Brookfield BR4\n7NE ("the Borrower")." of a PDF)
            name = _party(text, spans[at][0], match.start())
        if name is None:
            continue
        if last + 1 < len(spans) and _broken(text, spans[last], spans[last + 1]):
            last += 1  # the rest of the sentence on the next line: "… BR4\n7NE ("the Borrower")."
        out.append(Definition(term, text[slice(*name)], document.source, spans[at][0], spans[last][1], *name))
    return out


def _broken(text: str, line: tuple[int, int], after: tuple[int, int]) -> bool:
    """Whether the sentence ``line`` goes on in ``after``: it ends without punctuation, and ``after`` does not
    start with a capital ("… Brookfield BR4" then "7NE ("the Borrower")." of a PDF's wrapped line)."""
    return not re.search(r"[.!?:;]\W*$", text[slice(*line)]) and not text[after[0]].isupper()


def _party(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Where the name of the party defined by the parenthesis at ``end`` stands, in its sentence from ``start``:
    the capitalised words that open its part of the sentence (after "between", or after the previous party's
    term), followed by a comma or the parenthesis; None when that part opens with anything else."""
    previous = [m.end() for m in _DEFINED.finditer(text, start, end)]
    between = text.rfind(" between ", start, end)
    at = max([start, between + 1 if between >= 0 else start, *previous])
    lead = _LEAD.match(text, at, end)
    at = lead.end() if lead else at
    name = _NAME.match(text, at, end)
    if name is None or name.group().lower().startswith("the ") or len(name.group().split()) > 10:
        return None  # "The Lender agrees to lend …": a sentence, not a name
    if not re.match(r"[ \t]*[,(]", text[name.end() : end + 1]):
        return None  # "Moving your mortgage ("port")": words, not a name
    return name.start(), name.end()


_PARTIES = re.compile(r"^\W*who\s+(?:are|were)\s+the\s+(?:two\s+)?parties\b", re.IGNORECASE)
"""A question for every party of a contract: "Who are the parties to the contract?"."""


def asks_who_is(question: str) -> bool:
    """Whether ``question`` asks who a term stands for ("Who is the lender?"), or who the parties are."""
    return _WHO_IS.match(question) is not None or _PARTIES.match(question) is not None


def who_is(question: str, found: Sequence[Definition], document_of: Callable[[str], Document]) -> Answer | None:
    """The answer to "Who is the lender?" when a document defines that term for a party: its defining sentence,
    the party's name marked; to "Who are the parties to the contract?", the sentence that defines two or more, each
    name marked. None for any other question, or when no document (or more than one party or sentence) has it."""
    if _PARTIES.match(question):
        sentences: dict[tuple[str, int], list[Definition]] = {}
        for d in found:
            sentences.setdefault((d.source, d.start), []).append(d)
        clauses = [ds for ds in sentences.values() if len({d.name for d in ds}) > 1]
        return _quoted(question, clauses[0], document_of) if len(clauses) == 1 else None
    asked = _WHO_IS.match(question)
    if asked is None:
        return None
    term = asked["term"].lower()
    matches = [d for d in found if d.term.lower() in (term, term.removesuffix("s"))]  # "Who are the borrowers?"
    if len({d.name for d in matches}) != 1:
        return None
    return _quoted(question, matches[:1], document_of)


def _quoted(question: str, parties: Sequence[Definition], document_of: Callable[[str], Document]) -> Answer:
    """The answer that quotes the sentence defining ``parties`` (one sentence), each party's name marked."""
    first = parties[0]
    document = document_of(first.source)
    sentence = document.text[first.start : first.end]
    marked, at = "", first.start
    for d in parties:
        marked += f"{document.text[at : d.name_start]}**{d.name}**"
        at = d.name_end
    quote = Quote(
        sentence,
        first.source,
        first.start,
        first.end,
        1.0,
        title=document.title,
        page=document.page_at(first.start),
        highlight=(first.name_start, parties[-1].name_end),
        section=document.section_at(first.start) or "",
    )
    text = f"{marked}{document.text[at : first.end]} [1]"
    return Answer(question, text, True, [quote], key_phrase=" and ".join(d.name for d in parties), query=question)


_TERM_PHRASE = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s+)?(?:the\s+)?(?P<term>.+?)$", re.IGNORECASE)
"""A key phrase that is a term: "1.1 The Provider", "the Lender"."""


def named_party(answer: Answer, found: Sequence[Definition], document_of: Callable[[str], Document]) -> Answer:
    """``answer`` with the party its key phrase stands for, when that is a term its document defines ("Which
    company hosts Project Atlas?" -> "**The Provider** shall host …" and "(the Provider is Stratus Hosting GmbH)",
    quoting the definition)."""
    if not (answer.answered and answer.key_phrase and answer.quotes):
        return answer
    phrase = _TERM_PHRASE.match(answer.key_phrase.strip())
    source = answer.quotes[0].source
    party = next((d for d in found if phrase and d.source == source and d.term.lower() == phrase["term"].lower()), None)
    if party is None:
        return answer
    defined = _quoted(answer.question, [party], document_of).quotes[0]
    text = f"{answer.text} (the {party.term} is {party.name} [{len(answer.quotes) + 1}])"
    return dataclasses.replace(answer, text=text, quotes=[*answer.quotes, defined])


def with_terms(question: str, found: Sequence[Definition]) -> str:
    """``question`` with the term each party it names is called by ("What uptime does Stratus guarantee?" ->
    "What uptime does Stratus (the Provider) guarantee?"), so that the clauses about that party are found and
    matched; a party is named by the first word of its name, or by its whole name."""
    out = question
    for d in found:
        if re.search(rf"\b{re.escape(d.term)}\b", out, re.IGNORECASE):
            continue
        first = d.name.split()[0]
        if len(first) < 3 or first.lower() in {"the", "and"}:
            continue
        named = re.search(rf"\b{re.escape(d.name)}\b", out) or re.search(rf"\b{re.escape(first)}\b", out)
        if named is None:
            continue
        end = named.end()
        if out[end : end + 2] in ("'s", "’s"):
            end += 2
        out = f"{out[:end]} (the {d.term}){out[end:]}"
    return out
