"""Resolve a follow-up question against the earlier turns of a conversation, before retrieval.

Two ways, the surer first: :func:`resolve_follow_up` writes the conversation's topic in place of a pronoun
("How big is it?" after "What is the SAFE fund?" -> "How big is the SAFE fund?") or of an ellipsis ("And
Kallas?" after "What did the commissioner say?" -> "What did Kallas say?"); when it cannot tell what a follow-up
points to, :func:`standalone_question` prefixes it with the user turns it leans on for the search, and
:func:`guess_follow_up` gives the question the answer is read against ("Can I reduce it?" after "How much is the
excess on the hire car?" -> "Can I reduce the excess on the hire car?").
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


def _replies(history: Sequence[Message] | None) -> dict[int, str]:
    """The assistant's reply to each user turn that has one, by the turn's place in :func:`user_turns`."""
    replies: dict[int, str] = {}
    turn = -1
    for message in history or ():
        if not isinstance(message, Mapping) or not isinstance(message.get("content"), str):
            continue
        if message.get("role") == "user" and message["content"].strip():
            turn += 1
        elif message.get("role") == "assistant" and turn >= 0 and turn not in replies:
            replies[turn] = message["content"]
    return replies


_MARKED = re.compile(r"\*\*(?P<phrase>[^*\n]{1,80}?)\*\*")
"""The key phrase an answer marks (the first ``**…**`` of its text)."""
_PERSON = re.compile(r"(?!The\b)(?:[A-Z][\w.'-]*\s+){0,4}[A-Z][a-z]+(?:[-'][A-Za-z]+)?\s+[A-Z][a-z]+(?:[-'][A-Za-z]+)?")
"""A person as an answer marks them: capitalised words ending in a first and last name ("Kaja Kallas", "EU Defense
Commissioner Andrius Kubilius"), not "The European Union"."""


def _answered(question: str, reply: str) -> str | None:
    """The person a "Who …?" question was answered with (the reply's key phrase, when it reads as a first and last
    name), whom a following *he* or *she* may point to ("Who confirmed the plans?" -> "Andrius Kubilius"; "What
    else did he say?"). Not an organisation for *it*: "When was it published?" after "Who wrote the report?"
    asks about the report, not about "Deloitte"."""
    if not re.match(r"\s*who\b", question, re.IGNORECASE):
        return None
    marked = _MARKED.search(reply)
    phrase = marked["phrase"].strip() if marked else ""
    return phrase if _PERSON.fullmatch(phrase) else None


_A_NAME = re.compile(r"(?:[A-Z][\w.&'-]*|[\w.-]*\d[\w.-]*)(?:\s+[\w.&'-]+){0,4}")
"""A thing's name as an answer marks it: capitalised or with a digit first ("BM-700 Barista", "Tally 3.2.0")."""


def _chosen(question: str, reply: str) -> str | None:
    """The thing a "Which …?" question was answered with (the reply's key phrase, when it reads as a name), which a
    following *it* points to ("Which model has a touchscreen?" -> "BM-700 Barista"; "How much does it weigh?")."""
    if not re.match(r"\s*which\b", question, re.IGNORECASE):
        return None
    marked = _MARKED.search(reply)
    phrase = marked["phrase"].strip() if marked else ""
    return phrase if _A_NAME.fullmatch(phrase) and not _PERSON.fullmatch(phrase) else None


def _same_name(one: str, other: str) -> bool:
    """Whether two ways of naming someone share a name ("Dr. Vogel" and "Lena Vogel", "the CFO" and "CFO Tom
    Becker"): then the one answered is enough, not both side by side."""
    titles = {"the", "dr", "mr", "mrs", "ms", "prof"}
    words = [{w for w in re.findall(r"\w+", x.lower()) if w not in titles} for x in (one, other)]
    return bool(words[0] & words[1])


def _theres(text: str) -> list[tuple[int, int, str]]:
    """Where *there* stands for a place said before ("What happened there?", "How many people work there?"):
    the start and end of what to replace and the word before it. Not the *there* next to a form of *to be*
    ("Is there a meal allowance?", "What options are there?"; so "Who else was there?" is left alone too), nor
    a greeting's ("Hi there")."""
    found = []
    for match in _THERE.finditer(text):
        before, after = (match.group(1) or "").strip().lower(), (match.group(2) or "").strip().lower()
        if before in _TO_BE or after in _TO_BE or before in _GREETINGS:
            continue
        word = re.search(r"\bthere\b", match.group(), re.IGNORECASE)
        assert word is not None
        start = match.start(1) if before in _VAGUE else match.start() + word.start()  # "over there": both go
        found.append((start, match.start() + word.end(), before))
    return found


_GREETINGS = frozenset("hi hello hey thanks".split())
_VAGUE = frozenset("over out up down around back".split())
"""Words that go with a *there* and go with it when the place is written in: "What happened over there?" ->
"What happened at the Lyon office?"."""


def _points_to_a_place(text: str) -> bool:
    """Whether *there* in ``text`` stands for a place said before (see :func:`_theres`)."""
    return bool(_theres(text))


_PLACE_NOUNS = (
    "office|offices|depot|depots|warehouse|warehouses|plant|factory|branch|site|store|shop|headquarters|campus|"
    "building|hospital|school|university|hotel|airport|station|lab|laboratory|center|centre|port|harbou?r|base|"
    "facility|mine|farm|studio|city|town|village|country|region|summit|meeting|conference"
)
_WHERE = re.compile(
    rf"^\s*[Ww]here\s+(?:is|are|was|were|'s)\s+(?P<place>the\s+(?:[A-Z][\w.'-]*\s+){{0,3}}(?:[A-Z][\w.'-]*|{_PLACE_NOUNS}))"
    r"(?:\s+(?:located|based|situated|held))?\s*\??\s*$"
)
"""A question that asks where a thing is ("Where is the Heron depot?"): the thing is then the place. Not "Where
is Kaja Kallas?": a person may be anywhere."""
_NAMED_PLACE = re.compile(rf"\bthe\s+(?:[A-Z][\w.'-]*\s+){{1,3}}(?:{_PLACE_NOUNS})\b")
"""A place a question names by its kind ("the Lyon office", "the Heron depot", "the NATO summit")."""
_AT_PLACE = re.compile(
    r"\b(?P<link>in|at|near)\s+(?P<place>(?:the\s+)?[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3})(?P<next>\s+\S+)?"
)
"""A place a question puts something in ("in Brussels", "at the Louvre"); not "to" or "from", which as often
point to a person ("reports to Anna Nowak")."""
_NOT_PLACES = frozenset(
    "january february march april may june july august september october november december monday tuesday "
    "wednesday thursday friday saturday sunday christmas easter ramadan noon midnight night eur usd gbp chf jpy "
    "english french german spanish section chapter table figure appendix annex part article page step phase "
    "clause paragraph item i".split()
)
"""Capitalised words after "in" or "at" that are times, currencies, languages or parts of a document."""
_GOING = frozenset(
    "go goes went gone going get gets got travel travels travelled traveled fly flies flew come comes came move "
    "moved drive drove walk walked send sent return returned".split()
)
"""Verbs after which *there* is a destination: "How do I get there?" -> "How do I get to the Lyon office?"."""
_LINKED = frozenset("from to near in at into".split())


def _place(question: str) -> tuple[str, str] | None:
    """The place a question names and the word that puts something in it (``("at", "the Lyon office")``,
    ``("in", "Brussels")``), which a following *there* points to; None when it names no place."""
    where = _WHERE.match(question)
    if where:
        return "at", where["place"]
    named = _NAMED_PLACE.search(question)
    if named:
        return "at", named.group()
    for match in _AT_PLACE.finditer(question):
        place, after = match["place"], (match["next"] or "").strip()
        words = {w.lower().strip(".'") for w in place.split()}
        if words & _NOT_PLACES or after[:1].isdigit() or re.search(r"['’]s?$", place):  # "in Section 3", "in X's"
            continue
        return match["link"].lower(), place
    return None


def _put_place(place: tuple[str, str], question: str) -> str | None:
    """``question`` with each *there* that points back replaced by ``place``, or None when it has none."""
    spots = _theres(question)
    if not spots:
        return None
    link, name = place
    for start, end, before in reversed(spots):
        words = name if before in _LINKED else f"{'to' if before in _GOING else link} {name}"
        if start == len(question) - len(question.lstrip()):
            words = words[0].upper() + words[1:]  # "There?" -> "At the Lyon office?"
        question = question[:start] + words + question[end:]
    return question


def _only_place(question: str, place: str) -> bool:
    """Whether the place is the only thing ``question`` names, so that "And Gdansk?" after it can only swap the
    place ("How many people work in Porto?"), not a person ("What did Kubilius say in Brussels?")."""
    return not set(_names(question)) - set(place.split())


def _names(question: str) -> list[str]:
    """Words after the first that are capitalised or hold a digit ("SAFE", "Kubilius", "Q3"), except "I"."""
    words = [w.strip("?.!,;:\"'()") for w in question.split()[1:]]
    return [w for w in words if w and w != "I" and (w[0].isupper() or any(c.isdigit() for c in w))]


_NAMES_SOMETHING = re.compile(r"\s*(what|who)(?:'s|\s+(?:is|are|was|were))\s+(?:the\s+|an?\s+)?\S+\s*\??\s*$", re.I)
"""A question that only asks what or who a thing is ("What is SAFE?", "Who is Kubilius?"): a topic of its own."""


_ASKS_FOR_A_ROLE = re.compile(r"\s*who(?:'s|\s+(?:is|are|was|were))\s+(?:the|an?)\s+\S+\s*\??\s*$", re.I)
"""A who-question about a role: "Who is the recruiter?" (not "Who was absent?", which asks about what came before)."""


def is_follow_up(question: str, previous: str = "") -> bool:
    """True when the question leans on an earlier turn: a word pointing back, an opening 'and…', or almost no
    content of its own ("Why not?", "In Sweden?", "How much in EUR?", "What is the price?"; but "What is
    SAFE?" and "How much revenue in Q3?" stand alone). "Who is the recruiter?" stands alone unless the
    ``previous`` question named something the role may be of ("Who is the manager?" after "How many people
    work in the Lyon office?"). Only its first sentence counts: in "How many moons does Mars have? Name
    them.", *them* points back into the question itself."""
    first = _SENTENCE_END.split(question.strip(), maxsplit=1)[0]
    pointing = _REFERRING.search(first) or _DEMONSTRATIVE.search(first) or _points_to_a_place(first)
    if pointing:
        return True
    names = _names(first)
    content = {w for w in _CONTENT.findall(question.lower()) if w not in _GENERIC}
    content |= {n.lower() for n in names}  # "Q3" is content too, though short
    # "Who is the recruiter?" asks about a role of its own, unless something was just named that it may be of;
    # "What is the price?" is most likely of what came before
    asks_who = bool(_ASKS_FOR_A_ROLE.match(first)) and not _names(previous)
    return len(content) <= 1 and not ((names or asks_who) and _NAMES_SOMETHING.match(first))


MAX_CHAIN = 2
"""Earlier user turns a follow-up may lean on at most."""


def standalone_question(question: str, history: Sequence[Message] | None = None) -> str:
    """``question`` made self-contained: a follow-up is prefixed with the user turns it leans on, each as
    :func:`resolve_follow_up` understood it ("By when?" after "What must he send to the board?", itself after
    "Who is the CFO?", is searched as "What must the CFO Tom Becker send to the board? By when?")."""
    turns = user_turns(history)
    if not turns or not is_follow_up(question, turns[-1]):
        return question
    turns = [*turns[:-1], _understood(history or []) or turns[-1]]
    context = [turns[-1]]
    # A chain of follow-ups ("and the other one?") needs the question that started it, up to MAX_CHAIN turns
    # back: further back, the conversation has most likely moved on, and old questions would drown this one.
    for earlier in reversed(turns[:-1]):
        if len(context) >= MAX_CHAIN or not is_follow_up(context[0], earlier):
            break
        context.insert(0, earlier)
    return " ".join([*context, question])


def _understood(history: Sequence[Message]) -> str | None:
    """The last user turn of ``history`` as :func:`resolve_follow_up` understood it (None: as it was asked)."""
    messages = list(history)
    for at in range(len(messages) - 1, -1, -1):
        message = messages[at]
        if isinstance(message, Mapping) and message.get("role") == "user" and isinstance(message.get("content"), str):
            return resolve_follow_up(message["content"].strip(), messages[:at]) if message["content"].strip() else None
    return None


_TOPIC = re.compile(
    r"^\s*(?P<ask>what|who)(?:'s|\s+(?P<verb>is|are|was|were))\s+(?P<topic>[^?]{1,60}?)\s*\??\s*$", re.IGNORECASE
)
"""A question that asks what or who something is: its topic is what the next question's pronoun points to."""
_SWAP = re.compile(r"^\s*(?:and|what about|how about)\s+(?P<topic>[^?]{1,60}?)\s*\??\s*$", re.IGNORECASE)
"""An ellipsis: the previous question, asked about something else ("And Kallas?")."""
_NAME = re.compile(r"(?:the\s+)?[A-Z][\w.-]*(?:\s+[\w.-]+){0,5}|the\s+[a-z][\w-]*(?:\s+[\w-]+){1,3}")
"""What an ellipsis may swap: a name, possibly with "the" and a few words ("Kallas", "the Heron depot", "EU
Defense Commissioner Andrius Kubilius"), or a thing named with "the" ("the reparations loan"); not "in Germany",
"why", "Germany's" (those change a part of the question, not its topic)."""
_NOT_A_TOPIC_END = frozenset(
    "of in on at by for from with to into about as than like backed called made used known based located given "
    "doing done said one".split()
)
_LINKS = frozenset("of in on at by for from with to into about as than and or".split())
_PRONOUNS = {
    "thing": {"it": "", "its": "'s"},
    "person": {"he": "", "him": "", "his": "'s", "she": "", "her": "'s"},
    "plural": {"they": "", "them": "", "their": "'s"},
}
"""The pronouns that may stand for a topic of each kind, and the ending of their possessive."""
_POSSESSIVE = re.compile(r"\s+(?!(?:to|for|about|at|in|on|with|from|by|and|or|that|if|when|after|before)\b)[a-z]", re.I)
"""What follows a possessive *her*: a noun ("her email address"), not a preposition or the question's end."""
_PRONOUN = re.compile(r"\b(it|its|he|him|his|she|her|hers|they|them|their|theirs)\b", re.IGNORECASE)
_GENDER = {"he": "m", "him": "m", "his": "m", "she": "f", "her": "f", "hers": "f"}
_EXPLETIVE = re.compile(
    r"\bit\s+(?:is|was|'s|seems|seemed|appears|appeared)\s+(?:\w+\s+)?(?:that|to|whether|if|for)\b"
    r"|\b(?:is|was|isn't|wasn't)\s+it\s+(?:true|possible|likely|necessary|ok|okay|worth|safe|allowed|legal|"
    r"better|hard|easy|too|right|wrong)\b"
    r"|\b(?:does|did|will|would|can|could)\s+it\s+(?:take|cost\s+to|matter|rain|snow)\b|\bit\s+takes?\b"
    r"|\bwhat\s+time\s+is\s+it\b|\bit\s+(?:rains?|snows?|seems|appears)\b",
    re.IGNORECASE,
)
"""An *it* that stands for nothing said before: "Is it true that …", "How long does it take to …"."""


def _pronouns(text: str) -> list[str]:
    """The pronouns of ``text``, lower case ("IT" is the acronym, not *it*)."""
    return [m.group().lower() for m in _PRONOUN.finditer(text) if not (m.group().isupper() and len(m.group()) > 1)]


def _topic(question: str) -> tuple[str, str] | None:
    """The topic of "What is X?" / "Who are X?" and its kind (``thing``, ``person``, ``plural``), or None
    when X does not read as a thing named (empty, too long, or ending in a preposition or a participle)."""
    match = _TOPIC.match(question)
    if match is None:
        return None
    topic = match["topic"].strip()
    words = topic.split()
    if not words or len(words) > 6 or words[-1].lower() in _NOT_A_TOPIC_END or _PRONOUN.search(topic):
        return None
    if (match["verb"] or "is").lower() in ("are", "were"):
        return topic, "plural"
    return topic, "person" if match["ask"].lower() == "who" else "thing"


def _names_its_own(question: str) -> bool:
    """Whether the question names something before its first pronoun, that the pronoun may point to ("What did
    Witkoff do before he went?", "What is the SAFE fund and how big is it?")."""
    first = _PRONOUN.search(question)
    before = question[: first.start()] if first else question
    words = before.split()
    names = [w for w in words[1:] if w[:1].isupper() and w != "I"]
    return bool(names) or bool(re.search(r"\b(?:the|a|an)\s+\w+", before, re.IGNORECASE))


def _put(topic: str, question: str, kind: str) -> str | None:
    """``question`` with every pronoun replaced by ``topic``, when all its pronouns fit the topic's kind and
    point back (not "Is it true that …"), and the question names nothing of its own they may point to."""
    found = _pronouns(question)
    if not found or any(word not in _PRONOUNS[kind] for word in found):
        return None
    if len({_GENDER[w] for w in found if w in _GENDER}) > 1:
        return None  # "What did she tell him?": two people
    if _EXPLETIVE.search(question) or _names_its_own(question):
        return None

    def replace(match: re.Match[str]) -> str:
        if match.group().isupper() and len(match.group()) > 1:
            return match.group()
        ending = _PRONOUNS[kind][match.group().lower()]
        if match.group().lower() == "her" and not _POSSESSIVE.match(question, match.end()):
            ending = ""  # "What did they tell her?": her, not hers
        if ending and topic.endswith("s") and not topic[-1:].isupper():
            ending = "'"
        text = topic + ending
        starts = match.start() == len(question) - len(question.lstrip())
        return text[0].upper() + text[1:] if starts else text

    return _PRONOUN.sub(replace, question)


def _swappable(phrase: str) -> bool:
    """Whether an ellipsis's phrase, or a topic it would replace, reads as a name (see :data:`_NAME`)."""
    phrase = phrase.strip()
    words = phrase.split()
    return (
        bool(_NAME.fullmatch(phrase))
        and not any(w.lower() in _LINKS for w in words)
        and not re.search(r"['’]s?$", phrase)
    )


_WHEN_PREPOSITIONS = frozenset("at on during over in".split())
"""Prepositions of time, one as good as another in an ellipsis ("And at weekends?" after "… during the week?")."""
_ELLIPSIS_PP = re.compile(r"(?P<preposition>[a-z]+)\s+(?P<object>[\w'’£€$%.-]+(?:\s+[\w'’£€$%.-]+){0,3})", re.I)
_DETERMINER = frozenset("the a an my our your their this that".split())
_NOT_IN_A_NAME = frozenset(
    "what which who whom whose when where why how is are was were be been do does did can could will would should "
    "much many of in on at by for from with to into about as than and or".split()
)
"""Words a noun phrase does not stretch back over ("How much was the electricity bill": "the electricity bill")."""


_ROLE = re.compile(r"\W*who(?:'s|\s+(?:is|are|was|were))\s+(?P<role>the\s+[a-z][\w-]*)\s+(?:of|for|at|in|on)\s", re.I)
"""A question for who holds a role somewhere: "Who is the secretary of the homeowners' association?"."""


def _swap_alike(previous: str, new: str) -> str | None:
    """``previous`` asked about ``new`` (an ellipsis's phrase) instead of its like, when that is plain: a phrase
    with the same preposition, or two of time ("And for subsidence?" after "What is the excess for an escape of
    water claim?"; "And at weekends?" after "What are the quiet hours during the week?"), or a noun phrase with
    the same last word ("And the water bill?" after "How much was the electricity bill for January to March?":
    "How much was the water bill for January to March?"), or the role a who-question asks about ("And the
    treasurer?" after "Who is the secretary of the club?"). None otherwise: "And the budget?" after "What is the
    SAFE fund?" asks about the fund's budget, which no swap writes. A year replaces the one year the question
    wrote, whatever its preposition ("And for 2026?" after "What is the limit for a family in 2025?")."""
    body = previous.strip().rstrip("?").rstrip()
    words = new.split()
    if not words or len(words) > 5:
        return None
    year = re.fullmatch(r"(?:(?:in|for|of|during)\s+)?((?:19|20)\d\d)", new, re.IGNORECASE)
    years = list(re.finditer(r"(?<![\w-])(?:19|20)\d\d(?![\w-])", body)) if year else []
    if len(years) == 1:  # "And for 2026?" after "… limit for a family in 2025?": the year, not the family
        return f"{body[: years[0].start()]}{year[1] if year else ''}{body[years[0].end() :]}?"
    named = _name_swapped(body, new)
    if named is not None:  # "And Northgate?" after "When does Canal Street close on Friday?"
        return named
    lead = words[0].lower()
    if _ELLIPSIS_PP.fullmatch(new) and lead in _LINKS | _WHEN_PREPOSITIONS and len(words) > 1:
        alike = {lead} | (_WHEN_PREPOSITIONS if lead in _WHEN_PREPOSITIONS else set())
        found = [m for m in re.finditer(r"\b[A-Za-z]+\b", body) if m.group().lower() in alike]
        if not found:
            return None
        at = found[-1].start()
        return f"{body[:at]}{new}?"
    if lead not in _DETERMINER or len(words) < 2:
        return None
    head = words[-1].lower()
    tokens = list(re.finditer(r"[\w'’-]+", body))
    heads = [i for i, t in enumerate(tokens) if t.group().lower() in (head, head + "s") and i > 0]
    role = _ROLE.match(body)
    if not heads and role and len(words) <= 3:  # "And the treasurer?" after "Who is the secretary of the club?"
        return f"{body[: role.start('role')]}{new}{body[role.end('role') :]}?"
    if len(heads) != 1:
        return None
    first = heads[0]
    while first > 0 and tokens[first - 1].group().lower() not in _NOT_IN_A_NAME:
        first -= 1
        if tokens[first].group().lower() in _DETERMINER:
            break
    if tokens[first].group().lower() not in _DETERMINER:
        return None  # "How much was electricity …": no phrase of its own to swap
    start, end = tokens[first].start(), tokens[heads[0]].end()
    return f"{body[:start]}{new}{body[end:]}?"


_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?"
_A_WEEKDAY = re.compile(rf"(?<![\w-]){_WEEKDAY}(?![\w-])", re.IGNORECASE)
_MONTHS = frozenset("January February March April May June July August September October November December".split())
_NAMED = re.compile(r"(?:(?:at|in|for|on|of|with)\s+)?(?:the\s+)?(?P<name>[A-Z][\w&'’-]*(?:\s+[A-Z][\w&'’-]*){0,2})")
_BODY_NAME = re.compile(r"(?<![\w'’-])[A-Z][\w&'’-]*(?:\s+[A-Z][\w&'’-]*)*")


AGE_GROUP = re.compile(
    r"(?<![\w-])(?:under(?:[- ]?(?P<plural>\d{1,2})(?:s|['’]s)|-(?P<hyphen>\d{1,2}))|u-?(?P<short>\d{1,2})s?)(?![\w-])",
    re.IGNORECASE,
)
"""An age group as people say it: "the under 12s", "under-14", "u12s"."""


def _name_swapped(body: str, new: str) -> str | None:
    """``body`` (a question without its "?") asked of the weekday or the name ``new`` instead of the one weekday,
    or the one other name, it writes: "And Saturday?" after "What shift is Sofia doing on Friday?", "And
    Northgate?" after "When does Canal Street close on Friday?" (a weekday is no name of a place), "And for
    Business?" after "What uptime do we promise Enterprise customers?", an age group for the one it writes ("and the
    under 14s?" after "when do the under 12s train on tuesday"). None when it writes none or two."""
    day = _A_WEEKDAY.fullmatch(re.sub(r"^(?:on|for)\s+", "", new, flags=re.IGNORECASE))
    if day is not None:
        days = list(_A_WEEKDAY.finditer(body))
        if len(days) != 1:
            return None
        return f"{body[: days[0].start()]}{day.group().capitalize()}{body[days[0].end() :]}?"
    age = AGE_GROUP.fullmatch(re.sub(r"^(?:for\s+|with\s+)?(?:the\s+)?", "", new, flags=re.IGNORECASE))
    if age is not None:  # "and the under 14s?" after "when do the under 12s train on tuesday"
        ages = list(AGE_GROUP.finditer(body))
        if len(ages) != 1:
            return None
        team = re.match(r"\s+[A-Z][a-z]+\b", body[ages[0].end() :])  # "U12 Lions": the U9 are not the Lions
        end = ages[0].end() + (team.end() if team else 0)
        return f"{body[: ages[0].start()]}{age.group()}{body[end:]}?"
    named = _NAMED.fullmatch(new)
    if named is None or _A_WEEKDAY.fullmatch(named["name"]) or named["name"] in _MONTHS:
        return None
    names = [
        m
        for m in _BODY_NAME.finditer(body)
        if m.start() > 0 and not _A_WEEKDAY.fullmatch(m.group()) and m.group() not in _MONTHS and m.group() != "I"
    ]
    if len(names) != 1 or names[0].group() == named["name"]:
        return None
    return f"{body[: names[0].start()]}{named['name']}{body[names[0].end() :]}?"


def resolve_follow_up(question: str, history: Sequence[Message] | None = None) -> str | None:
    """``question`` with what it points back to written in, or None when that is not clear.

    The topic is what an earlier "What is X?" / "Who is X?" asked about, or the person an earlier "Who …?" or the
    thing an earlier "Which …?" was answered with (the answer's key phrase, when it reads as a name), carried
    through the follow-ups after
    it: a pronoun of the topic's kind (*it*, *its* for a thing; *he*, *his* for a person; *they* for several)
    is replaced by it, and "And Y?" / "What about Y?" asks the previous question about the name Y instead of
    the topic's name. Left to :func:`standalone_question`: a pronoun of another kind ("What is its budget?"
    after "Who is the project lead of Project Falcon?"), one that may point to something the question itself
    names ("What did Witkoff do before he went?"), an *it* that points to nothing ("Is it true that …"), two
    people ("What did she tell him?"), and an ellipsis that changes a part of the question ("And in Germany?").
    A follow-up may name its topic first: "And the Heron depot? Who manages it?" is "Who manages the Heron
    depot?".
    """
    turns = user_turns(history)
    if not turns or not is_follow_up(question, turns[-1]):
        return None
    # "And the Heron depot? Who manages it?": the question names its own topic first.
    first, _, rest = question.strip().partition("? ")
    named = _SWAP.match(first + "?") if rest else None
    if named and _swappable(named["topic"]):
        found = set(_pronouns(rest))
        kinds = [kind for kind, pronouns in _PRONOUNS.items() if found and found <= pronouns.keys()]
        if kinds:
            return _put(named["topic"].strip(), rest, kinds[0])
        return None
    topic: tuple[str, str] | None = None
    shown = ""  # the topic as the question that set it wrote it ("the CFO", for "And the CEO?")
    place: tuple[str, str] | None = None  # ("at", "the Lyon office"): where a "there" points
    bound: dict[str, str] = {}  # "f" -> "Kaja Kallas": whom a "she" or a "he" stood for
    previous = ""
    resolved: str | None = None
    replies = _replies(history)
    first_kept = max(len(turns) - (MAX_CHAIN + 2), 0)
    for at, turn in enumerate([*turns[first_kept:], question], start=first_kept):
        resolved = None
        if previous and is_follow_up(turn, previous):
            swap = _SWAP.match(turn)
            if swap:
                new = swap["topic"].strip()
                located = re.fullmatch(r"(?:in|at|near)\s+(?P<name>.+)", new, re.IGNORECASE)  # "And in Gdansk?"
                if located and place and place[1] in previous:
                    new = located["name"]
                    topic = None
                written = topic[0] if topic and topic[0] in previous else shown if shown and shown in previous else ""
                if topic and written and _swappable(new) and _swappable(written):
                    resolved = previous.replace(written, new, 1)
                    if topic[1] == "person":  # two people now: "she" may be either, until one is said to be
                        bound.update({g: "" for g in ("f", "m") if g not in bound})
                    topic, shown = (new, topic[1]), new
                elif alike := _swap_alike(previous, new):  # "And the meal limit?" after "the hotel limit in London"
                    resolved, topic = alike, None
                elif place and place[1] in previous and _swappable(new) and _only_place(previous, place[1]):
                    kind = _NAMED_PLACE.fullmatch(place[1])
                    if kind and not new.lower().startswith("the "):  # "And Paris?" after "the Lyon office"
                        new = f"the {new} {place[1].split()[-1]}"
                    resolved = previous.replace(place[1], new, 1)  # "And Gdansk?" after "… work in Porto?"
                    topic = None
                else:
                    topic = None  # it changes a part of the question: what later turns point to is not known
            else:
                # "What does he do there?" after "Who is the CEO of Acme in Germany?": the topic says where
                known = place if place and not (topic and place[1] in topic[0]) else None
                text = (_put_place(known, turn) if known else None) or turn
                if topic:
                    said = {_GENDER[w] for w in _pronouns(text) if w in _GENDER}
                    if any(bound.get(g, topic[0]) != topic[0] for g in said):
                        topic = None  # "she" was someone else: after "And Witkoff?", she is still Kallas
                    else:
                        resolved = _put(topic[0], text, topic[1])
                        if resolved:
                            bound.update(dict.fromkeys(said, topic[0]))
                        elif any(w not in _PRONOUNS[topic[1]] for w in _pronouns(text)):
                            topic = None  # a pronoun of another kind: what it points to is not known
                if resolved is None and topic is None and place and set(_pronouns(text)) == {"its"}:
                    resolved = _put(place[1], text, "thing")  # "Who is its manager?" after "… work in Gdansk?"
                if resolved is None and text != turn and not _pronouns(text):
                    resolved = text  # only a "there", and it is resolved
            place = _place(resolved or turn) or place
        else:
            topic = _topic(turn)
            chosen = _chosen(turn, replies.get(at, "")) if topic is None else None
            if chosen:
                topic = (chosen, "thing")  # "Which model has a touchscreen?" answered "BM-700 Barista": it
            shown = topic[0] if topic else ""
            person = _answered(turn, replies.get(at, ""))
            if person and not (topic and topic[1] == "plural"):  # "they" after "Who are the founders?": them
                # "Who is the CFO?" answered "Tom Becker": he is "the CFO Tom Becker" (the documents may write
                # either); "And Kallas?" still swaps "the CFO", the words the question wrote
                both = topic and not _same_name(topic[0], person)
                topic = (f"{topic[0]} {person}" if both and topic else person, "person")
            place = _place(turn)
        previous = resolved or turn
    return resolved


_PREPOSITIONS = frozenset("of in on at for from to".split())
_ADVERBS = frozenset("still also already currently really actually ever now yet always never usually".split())
_OPENS_YES_NO = frozenset("is are was were".split())
_IT_OR_THEY = {"it": "", "its": "'s", "they": "", "them": "", "their": "'s"}
"""The pronouns a guessed thing may stand for: *they* too, for a hotel or an insurer ("What's their phone number?")."""
_WORD = re.compile(r"[\w'’&.-]*\w")
_A_THING = re.compile(r"\b(?:the|a|an)\s+\w+", re.I)
_ONES = re.compile(r"^\s*(?:and|what about|how about)\s+(?:the\s+)?(?P<kind>[a-z][\w-]*)\s+ones\s*\??\s*$", re.I)
"""An ellipsis of the same things of another kind: "And failed ones?"."""


def _participle(word: str) -> bool:
    """A word that ends a noun phrase as a passive verb does ("backed", "included"), not "speed" or "bed"."""
    return len(word) > 4 and word.endswith("ed") and not word.endswith("eed")


def _antecedent(question: str) -> str | None:
    """What an earlier question that is not "What is X?" asks about, for a pronoun after it to stand for: a name
    before anything else it names and before any *of*, *in*, *on*, … ("F2" of "What does F2 mean on the
    boiler?"); else its first noun phrase with a determiner and up to two phrases of *of*, *in*, *on*, … after it
    ("the excess on the hire car", "the address of our hotel in Lisbon"); the bare noun a yes-no question opens
    with ("breakfast" of "Is breakfast included in Porto?"); or the thing a which- or what-question asks for
    ("the flight" of "What flight are we taking to Madrid?"). None when it has none."""
    body = question.strip().rstrip("?.! ")
    tokens = list(_WORD.finditer(body))
    words = [t.group().lower() for t in tokens]

    def phrase_end(at: int) -> int:
        end = at
        while end < len(tokens) and end - at < 4 and words[end] not in _NOT_IN_A_NAME | _DETERMINER | _ADVERBS:
            if end > at and (_participle(words[end]) or body[tokens[end - 1].end() : tokens[end].start()].strip()):
                break  # "the reparations loan backed by …"; a comma ends it too
            end += 1
        return end

    start = next((i for i, w in enumerate(words) if i > 0 and w in _DETERMINER and w not in ("a", "an")), None)
    linked = next((i for i, w in enumerate(words) if w in _PREPOSITIONS), len(words))
    named = [i for i in range(1, min(linked, start or linked)) if _names(f"_ {tokens[i].group()}")]
    if named:  # "What does F2 mean on the boiler?": F2, what the question is about, not where
        last = named[0]
        while last + 1 in named:
            last += 1
        return body[tokens[named[0]].start() : tokens[last].end()]
    if start is not None:
        end = phrase_end(start + 1)
    elif len(words) > 2 and words[0] in _OPENS_YES_NO and words[1] not in _NOT_IN_A_NAME:
        start, end = 1, phrase_end(1)  # "Is breakfast included in Porto?": "breakfast"
    elif len(words) > 2 and words[0] in ("what", "which") and words[1] not in _NOT_IN_A_NAME:
        end = phrase_end(1)  # "What flight are we taking …?": "the flight"
        return f"the {body[tokens[1].start() : tokens[end - 1].end()]}" if end > 1 else None
    else:
        return None
    if end <= start + (words[start] in _DETERMINER):
        return None
    for _ in range(2):  # "the address" "of our hotel" "in Lisbon"
        if end + 1 >= len(tokens) or words[end] not in _PREPOSITIONS:
            break
        at = end + 1 + (words[end + 1] in _DETERMINER)
        further = phrase_end(at)
        if further == at:
            break
        end = further
    return body[tokens[start].start() : tokens[end - 1].end()]


def guess_follow_up(question: str, history: Sequence[Message] | None = None) -> str | None:
    """A follow-up that :func:`resolve_follow_up` leaves alone, with its *it* or *they* taken to stand for what
    the question before asked about (:func:`_antecedent`): "Can I reduce it?" after "How much is the excess on
    the hire car?" -> "Can I reduce the excess on the hire car?"; "What's their phone number?" after "What's the
    address of our hotel in Lisbon?" -> "What's our hotel in Lisbon's phone number?"; or the same things of
    another kind ("And failed ones?" after "How long are completed jobs kept?"), or the other of a pair ("And
    check-out?" after "… check in at the hotel?"). A guess: it is what the answer is read against, while the
    search still uses the turns it leans on (:func:`standalone_question`). None when there is nothing to guess
    with. (A bare "What's the address?" is not asked "of the fado dinner": the restaurant's "Address: …" line
    does not write the dinner, its booking sentence does.)"""
    turns = user_turns(history)
    if not turns or not is_follow_up(question, turns[-1]) or resolve_follow_up(question, history):
        return None
    previous = _understood(history or []) or turns[-1]
    asked = question.strip()
    ones = _ONES.match(asked)
    if ones:  # "And failed ones?" after "How long are completed jobs kept?"
        pair = re.search(
            r"\b(?!(?:the|our|my|your|their|this|that|these|those|are|were|is|was|do|does|did|many|much)\b)"
            r"([a-z][\w-]*)\s+([a-z][\w-]*s)\b",
            previous,
        )
        if pair is None:
            return None
        return f"{previous[: pair.start(1)]}{ones['kind']}{previous[pair.end(1) :]}"
    swap = _SWAP.match(asked)
    pair = (
        re.fullmatch(r"(?:the\s+)?(?P<first>[a-z]+)-(?P<second>[a-z]+)", swap["topic"].strip(), re.I) if swap else None
    )
    if pair:  # "And check-out?" after "From what time can we check in at the hotel?"
        alike = re.search(rf"\b{pair['first']}[\s-]+(?!{pair['second']}\b)[a-z]+\b", previous, re.I)
        if alike:
            return f"{previous[: alike.start()]}{pair['first']} {pair['second']}{previous[alike.end() :]}"
    topic = _topic(previous)
    thing = topic[0] if topic and topic[1] != "person" else _antecedent(previous)
    if not thing:
        return None
    found = _pronouns(question)
    if not found:
        return None
    first = _PRONOUN.search(asked)
    before = asked[: first.start()] if first else asked  # "What is the fund and how big is it?": its own thing
    if any(word not in _IT_OR_THEY for word in found) or _EXPLETIVE.search(asked) or _A_THING.search(before):
        return None
    owner = thing.split(" of ", 1)[1] if " of " in thing else thing  # "their phone number": the hotel's

    def replace(match: re.Match[str]) -> str:
        if match.group().isupper() and len(match.group()) > 1:
            return match.group()
        ending = _IT_OR_THEY[match.group().lower()]
        text = (owner + ("'" if owner.endswith("s") else "'s")) if ending else thing
        return text[0].upper() + text[1:] if match.start() == len(asked) - len(asked.lstrip()) else text

    return _PRONOUN.sub(replace, asked)
