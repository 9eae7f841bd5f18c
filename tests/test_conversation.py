from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag import Answer, Pipeline
from rag.conversation import Message, guess_follow_up, is_follow_up, resolve_follow_up, standalone_question
from rag.embedding import Embedder

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

LOAN = [
    {"role": "user", "content": "What is the reparations loan?"},
    {"role": "assistant", "content": "A loan."},
]


def test_a_question_with_a_pronoun_takes_the_previous_user_turn() -> None:
    assert standalone_question("How much could Ukraine borrow under it?", LOAN) == (
        "What is the reparations loan? How much could Ukraine borrow under it?"
    )


def test_a_self_contained_question_is_left_alone() -> None:
    question = "Who is the EU Defense Commissioner?"
    assert not is_follow_up(question)
    assert standalone_question(question, LOAN) == question


def test_a_chain_of_follow_ups_reaches_back_to_its_topic() -> None:
    history = [*LOAN, {"role": "user", "content": "Who backs it?"}, {"role": "assistant", "content": "..."}]
    # the turn it leans on, as understood: its own "it" was the loan
    assert standalone_question("And how big is it?", history) == "Who backs the reparations loan? And how big is it?"


def test_a_long_chain_reaches_back_two_turns_at_most() -> None:
    turns = ["Who leads the Apollo project?", "What is its budget?", "And how much has been spent?"]
    history = [m for t in turns for m in ({"role": "user", "content": t}, {"role": "assistant", "content": "."})]
    assert (
        standalone_question("Where is it?", history) == "What is its budget? And how much has been spent? Where is it?"
    )


def said(*questions: str) -> list[Message]:
    return [m for q in questions for m in ({"role": "user", "content": q}, {"role": "assistant", "content": "."})]


@pytest.mark.parametrize(
    ("earlier", "question", "resolved"),
    [
        (["What is the SAFE fund?"], "How big is it?", "How big is the SAFE fund?"),
        (["What is SAFE?"], "Is it a loan or a grant?", "Is SAFE a loan or a grant?"),
        (["What are SAFE loans?"], "Who can get them?", "Who can get SAFE loans?"),
        (["Who is the EU Defense Commissioner?"], "What did he say?", "What did the EU Defense Commissioner say?"),
        (["Who is the EU Defense Commissioner?", "What did he say?"], "And Kallas?", "What did Kallas say?"),
        # the topic carries through a chain of follow-ups
        (
            ["What is the reparations loan?", "How much could Ukraine borrow under it?"],
            "What backs it?",
            "What backs the reparations loan?",
        ),
        (["What is the Eiffel Tower?"], "Who designed its lift?", "Who designed the Eiffel Tower's lift?"),
        (["What is SAFE?"], "What about the reparations loan?", "What is the reparations loan?"),
        (
            ["What is the SAFE fund?", "How big is it?", "And the reparations loan?"],
            "How much is it?",
            "How much is the reparations loan?",
        ),
        (["How many people work in Porto?"], "And in Gdansk?", "How many people work in Gdansk?"),
        (["How many people work in Porto?", "And Gdansk?"], "Who is its manager?", "Who is Gdansk's manager?"),
        (["Who manages the Kestrel depot?"], "And the Heron depot? Who manages it?", "Who manages the Heron depot?"),
    ],
)
def test_a_pronoun_or_an_ellipsis_is_replaced_by_the_topic(earlier: list[str], question: str, resolved: str) -> None:
    assert resolve_follow_up(question, said(*earlier)) == resolved


@pytest.mark.parametrize(
    ("earlier", "question"),
    [
        (["Who is the project lead of Project Falcon?"], "What is its budget?"),  # "its" is not the lead
        (["How many vacation days do employees get?"], "Can they carry them over?"),  # no topic asked about
        (["What is the reparations loan backed by?"], "How much could Ukraine borrow under it?"),  # not a name
        (["What is the SAFE fund?"], "Who is Kubilius?"),  # not a follow-up
        (["What is the SAFE fund?", "Is there a meal allowance?"], "How big is it?"),  # the topic changed
        # the question names what its pronoun may point to
        (["Who is Kaja Kallas?"], "What did Witkoff do before he went to Moscow?"),
        (["What is the reparations loan?"], "What is the SAFE fund and how big is it?"),
        # an "it" that points to nothing said before
        (["What is the SAFE fund?"], "Is it true that Kallas said Putin cannot be trusted?"),
        (["What is the SAFE fund?"], "How long does it take for Witkoff to reach Moscow?"),
        (["What is the SAFE fund?"], "What time is it in Brussels?"),
        # an ellipsis that changes a part of the question, not its topic
        (["What is the minimum wage?"], "And in Germany?"),
        (["What is the SAFE fund?"], "And why?"),
        (["What is the SAFE fund?"], "And who is Kallas?"),
        # two people, or a person said to be someone else
        (["Who is Kaja Kallas?"], "What did she tell him?"),
        (["Who is Kaja Kallas?", "What did she say?", "And Witkoff?"], "What did she say next?"),
        (["Who is Kaja Kallas?", "And Witkoff?"], "What did she say about the talks?"),
        (["What is the SAFE fund?"], "What is IT support?"),  # IT, the acronym
        (["What is  ?"], "How big is it?"),  # a topic of nothing
    ],
)
def test_what_a_follow_up_points_to_is_not_guessed(earlier: list[str], question: str) -> None:
    assert resolve_follow_up(question, said(*earlier)) is None


@pytest.mark.parametrize(
    ("earlier", "question", "guessed"),
    [
        (["How much is the excess on the hire car?"], "Can I reduce it?", "Can I reduce the excess on the hire car?"),
        (  # a possessive: what the thing asked about is of
            ["What's the address of our hotel in Lisbon?"],
            "What's their phone number?",
            "What's our hotel in Lisbon's phone number?",
        ),
        (["Is breakfast included in Porto?"], "How much is it?", "How much is breakfast?"),
        (  # no name, but a thing asked about
            ["What is the reparations loan backed by?"],
            "How much could Ukraine borrow under it?",
            "How much could Ukraine borrow under the reparations loan?",
        ),
        (["Is MySQL still supported?"], "When was it deprecated?", "When was MySQL deprecated?"),
        (["What flight are we taking to Madrid?"], "How much did it cost?", "How much did the flight cost?"),
        (["How long are completed jobs kept?"], "And failed ones?", "How long are failed jobs kept?"),
        (
            ["From what time can we check in at the hotel?"],
            "And check-out?",
            "From what time can we check out at the hotel?",
        ),
    ],
)
def test_a_follow_up_not_surely_resolved_is_read_as_best_guessed(
    earlier: list[str], question: str, guessed: str
) -> None:
    """Found by two trials (a travel folder: 0 of 13 follow-ups right; software docs: 4 of 13): a follow-up the
    conversation could not resolve was answered as asked ("Can I reduce it?"), searched with the turn before."""
    assert resolve_follow_up(question, said(*earlier)) is None
    assert guess_follow_up(question, said(*earlier)) == guessed


@pytest.mark.parametrize(
    ("earlier", "question"),
    [
        (["What is the SAFE fund?"], "How big is it?"),  # surely resolved: nothing to guess
        (["What is the SAFE fund?"], "Who is Kubilius?"),  # not a follow-up
        (["How many vacation days do employees get?"], "Can they carry them over?"),  # nothing asked about by name
        (["Who is Kaja Kallas?"], "What did she tell him?"),  # people are not guessed
        (["How much is the excess on the hire car?"], "Is it true that the excess is waived?"),  # an "it" of nothing
        (["What time is the fado dinner?"], "What's the address?"),  # no pronoun: read as asked
    ],
)
def test_nothing_is_guessed_without_a_thing_to_stand_for(earlier: list[str], question: str) -> None:
    assert guess_follow_up(question, said(*earlier)) is None


@pytest.mark.parametrize(
    ("earlier", "question", "resolved"),
    [
        (  # the phrase with the same last word
            ["How much was the electricity bill for January to March 2025?"],
            "And the water bill?",
            "How much was the water bill for January to March 2025?",
        ),
        (["How much is the hotel limit in London?"], "And the meal limit?", "How much is the meal limit in London?"),
        # the phrase with the same preposition, or another of time
        (
            ["What is the excess for an escape of water claim?"],
            "And for subsidence?",
            "What is the excess for subsidence?",
        ),
        (["What are the quiet hours during the week?"], "And at weekends?", "What are the quiet hours at weekends?"),
        # a year, whatever its preposition (found by a trial: "for 2026" replaced "for a family in 2025")
        (
            ["What is the HSA contribution limit for a family in 2025?"],
            "And for 2026?",
            "What is the HSA contribution limit for a family in 2026?",
        ),
        (["What was revenue in 2023?"], "What about 2022?", "What was revenue in 2022?"),
        # a weekday for the one weekday, a name for the one other name (found by a restaurant's trial: "and
        # Northgate?" was searched with the turn before, and answered from another document)
        (
            ["What time does Canal Street shut on a Friday?"],
            "And Northgate?",
            "What time does Northgate shut on a Friday?",
        ),
        (["What shift is Sofia doing on Friday?"], "and Saturday?", "What shift is Sofia doing on Saturday?"),
        (
            ["What uptime do we promise Enterprise customers?"],
            "And for Business?",
            "What uptime do we promise Business customers?",
        ),
        (["What is the defence budget of Germany?"], "And France?", "What is the defence budget of France?"),
        (["What is the US position?"], "And the EU's?", "What is the EU's position?"),
        # an age group for the one the question wrote (found by a sports club's trial), and its team's name with it
        (["when do the under 12s train on tuesday"], "and the under 14s?", "when do the under 14s train on tuesday?"),
        (["Who coaches the U12 Lions?"], "And the U9s?", "Who coaches the U9s?"),
        # the role a who-question asks about
        (
            ["Who is the secretary of the residents' club?"],
            "And the treasurer?",
            "Who is the treasurer of the residents' club?",
        ),
    ],
)
def test_an_ellipsis_swaps_the_phrase_alike(earlier: list[str], question: str, resolved: str) -> None:
    """Found by a trial: "And the water bill?" after a question about the electricity bill, and "And for
    subsidence?" after one about the excess for an escape of water, were searched as both questions together and
    answered about the first one's topic."""
    assert resolve_follow_up(question, said(*earlier)) == resolved


@pytest.mark.parametrize(
    ("earlier", "question", "resolved"),
    [
        (["Who runs the Lyon office?"], "How many people work there?", "How many people work at the Lyon office?"),
        (["Where is the Heron depot?"], "Who works there?", "Who works at the Heron depot?"),
        (["What did the ministers discuss in Brussels?"], "Who else went there?", "Who else went to Brussels?"),
        (["What did Kallas say in Brussels?"], "What did Hegseth say there?", "What did Hegseth say in Brussels?"),
        (["Who runs the Lyon office?"], "How do I get there?", "How do I get to the Lyon office?"),
        (["What happened in Moscow?"], "Who did Witkoff meet there?", "Who did Witkoff meet in Moscow?"),
        (["Who runs the Lyon office?"], "What happened over there?", "What happened at the Lyon office?"),
        (["Who runs the Lyon office?"], "There?", "At the Lyon office?"),
        # an ellipsis swaps the place
        (["How many people work in Porto?"], "And Gdansk?", "How many people work in Gdansk?"),
        (["What is the minimum wage in France?"], "And Germany?", "What is the minimum wage in Germany?"),
        (["What is the budget of the Lyon office?"], "And Paris?", "What is the budget of the Paris office?"),
        (
            ["Who runs the Lyon office?", "How many people work there?"],
            "And the Porto office?",
            "How many people work at the Porto office?",
        ),
    ],
)
def test_there_is_replaced_by_the_place_named_before(earlier: list[str], question: str, resolved: str) -> None:
    """*There* was only prefixed with the earlier question, so "How many people work there?" after "Who runs the
    Lyon office?" searched for both and was refused."""
    assert resolve_follow_up(question, said(*earlier)) == resolved


@pytest.mark.parametrize(
    ("earlier", "question"),
    [
        (["What happened in January?"], "What happened there?"),  # a month is not a place
        (["Who runs the Lyon office?", "What is the meal allowance?"], "How many people work there?"),  # moved on
        (["Who runs the Lyon office?"], "Is there parking?"),  # existential "there"
        (["What happened in Moscow?"], "What did he do there?"),  # "he" is not known
        (["Who runs the Lyon office?"], "What other options are there?"),  # existential, at the end too
        (["Who runs the Lyon office?"], "Who else was there?"),  # next to "was": existential or not, unsure
        (["Who reports to Anna Nowak?"], "How many people work there?"),  # "to" a person
        (["What was announced at Christmas?"], "Who was at the party there?"),  # a time
        (["What happens in Section 3?"], "What is said there?"),  # a part of a document
        (["What did Trump say in Trump's plan?"], "What happened there?"),  # a possessive: not a place's name
        (["Where is Kaja Kallas?"], "What did she see there?"),  # a person may be anywhere
        (["Who runs the Lyon office?"], "Hi there, what is the notice period?"),  # a greeting
        # "And X?" swaps the place only when the place is all the question names
        (["What did Kubilius say in Brussels?"], "And Kallas?"),
        (["When did Witkoff meet Putin in Moscow?"], "And Kushner?"),
        (["What is covered in Chapter 2?"], "And Chapter 3?"),
    ],
)
def test_a_there_with_no_place_to_point_to_is_not_guessed(earlier: list[str], question: str) -> None:
    assert resolve_follow_up(question, said(*earlier)) is None


def exchange(*turns: tuple[str, str]) -> list[Message]:
    """A conversation of (question, answer text) turns."""
    return [m for q, a in turns for m in ({"role": "user", "content": q}, {"role": "assistant", "content": a})]


CONFIRMED = (
    "Who confirmed the spending plans?",
    "All 19 members handed in their spending plans, **EU Defense Commissioner Andrius Kubilius** confirmed. [1]",
)


def test_he_after_a_who_question_is_the_person_it_was_answered_with() -> None:
    history = exchange(CONFIRMED)
    assert resolve_follow_up("What else did he say?", history) == (
        "What else did EU Defense Commissioner Andrius Kubilius say?"
    )
    # Carried through the follow-ups after it, as a topic asked about is.
    history = exchange(CONFIRMED, ("What else did he say?", "Fifteen countries ... **Ukraine** ... [1]"))
    assert resolve_follow_up("When did he say it?", history) is None  # "it" is of another kind: not guessed
    assert resolve_follow_up("Where did he say that?", history) == (
        "Where did EU Defense Commissioner Andrius Kubilius say that?"
    )


@pytest.mark.parametrize(
    ("turn", "question", "resolved"),
    [
        (  # "Who is X?" answered with a name: both, as the documents may write either
            ("Who is the CFO?", "The CFO is **Tom Becker**. [1]"),
            "What must he send to the board?",
            "What must the CFO Tom Becker send to the board?",
        ),
    ],
)
def test_a_pronoun_after_a_who_question_is_whom_it_was_answered_with(
    turn: tuple[str, str], question: str, resolved: str
) -> None:
    assert resolve_follow_up(question, exchange(turn)) == resolved


def test_it_after_a_which_question_is_the_thing_it_was_answered_with() -> None:
    """Found by a trial: "How much does it weigh?" after "Which model has a touchscreen?" searched both questions
    joined and answered with a router's weight."""
    which = ("Which model has a touchscreen?", "- | Feature | BM-300 | **BM-700 Barista** | [1]\n- | Display | …")
    assert resolve_follow_up("How much does it weigh?", exchange(which)) == "How much does BM-700 Barista weigh?"
    weighed = ("How much does it weigh?", "| Weight | 5.9 kg | **10.4 kg** | [1]")
    assert resolve_follow_up("And the BM-300?", exchange(which, weighed)) == "How much does the BM-300 weigh?"
    for reply in ("The **cheapest one** is …", "**Anna Berg** chairs it. [1]"):  # no name; a person is no *it*
        assert resolve_follow_up("How much does it weigh?", exchange(("Which model is best?", reply))) is None


def test_a_question_about_a_role_starts_afresh_and_its_answer_is_what_she_stands_for() -> None:
    """Found by a newcomer: "Who is the recruiter?" was searched with the two turns before it, and *she* was lost."""
    history = exchange(
        ("What is the meal allowance?", "The meal allowance is **12 EUR** a day. [1]"),
        ("And abroad?", "…"),
        ("Who is the recruiter?", "Applications go to our recruiter **Aylin Kaya**. [1]"),
    )
    assert standalone_question("Who is the recruiter?", history[:4]) == "Who is the recruiter?"
    assert resolve_follow_up("How fast does she reply?", history) == "How fast does the recruiter Aylin Kaya reply?"
    assert standalone_question("Where is her office?", history) == "Who is the recruiter? Where is her office?"
    absent = exchange(("Who was absent from the board meeting?", "**Lotte Bakker** sent her apologies. [1]"))
    assert standalone_question("Who was absent?", absent) == (  # found by a newcomer: an adjective, no role
        "Who was absent from the board meeting? Who was absent?"
    )
    lyon = exchange(("How many people work in the Lyon office?", "**12** people work there. [1]"))
    assert standalone_question("Who is the manager?", lyon) == (  # found by a review: the role of the office named
        "How many people work in the Lyon office? Who is the manager?"
    )


def test_a_follow_up_is_prefixed_with_the_turn_before_as_it_was_understood() -> None:
    history = exchange(("Who is the CFO?", "The CFO is **Tom Becker**. [1]"), ("What must he send to the board?", "…"))
    assert standalone_question("By when?", history) == "What must the CFO Tom Becker send to the board? By when?"


@pytest.mark.parametrize(
    ("turn", "question", "resolved"),
    [
        (
            ("Who is the CFO?", "The CFO is **CFO Tom Becker**. [1]"),
            "What did he sign?",
            "What did CFO Tom Becker sign?",
        ),
        (("Who is Dr. Vogel?", "**Lena Vogel** heads security. [1]"), "What did she say?", "What did Lena Vogel say?"),
        (("Who is the CFO?", "The CFO is **Tom Becker**. [1]"), "And the CEO?", "Who is the CEO?"),  # as asked
        (  # a possessive "her" (found by a trial), and an object one
            ("Who is the module leader?", "The module leader is **Helen Okafor** (h.okafor@uni.ac.uk). [1]"),
            "What is her email address?",
            "What is the module leader Helen Okafor's email address?",
        ),
        (
            ("Who is the module leader?", "The module leader is **Helen Okafor** (h.okafor@uni.ac.uk). [1]"),
            "When can I meet her?",
            "When can I meet the module leader Helen Okafor?",
        ),
        (("Who are the founders?", "**Anna Nowak** … [1]"), "When did they start?", "When did the founders start?"),
    ],
)
def test_a_person_answered_is_named_once_and_a_question_swaps_what_it_asked(
    turn: tuple[str, str], question: str, resolved: str
) -> None:
    """Found by a review: "the CFO CFO Tom Becker", "Dr. Vogel Lena Vogel", "And the CEO?" and "they" lost."""
    assert resolve_follow_up(question, exchange(turn)) == resolved


@pytest.mark.parametrize(
    ("earlier", "question"),
    [
        (("Who wrote the report?", "… by **Deloitte** [1]"), "When was it published?"),  # "it" is the report
        (("Who approved the budget?", "**The Board** … [1]"), "Is it final?"),
        (("What is the SAFE fund?", "…"), "And the budget?"),  # an attribute of the fund, not another fund
        (("When does the Heron depot open?", "…"), "And the weekend?"),
        (("How many people work in Porto?", "…"), "What does it cost?"),  # "it" is not Porto
    ],
)
def test_what_an_answer_or_a_place_does_not_stand_for_is_left_to_the_prefixing(
    earlier: tuple[str, str], question: str
) -> None:
    assert resolve_follow_up(question, exchange(earlier)) is None


def test_an_ellipsis_swaps_a_person_answered_before() -> None:
    history = exchange(CONFIRMED, ("What else did he say?", "Fifteen countries ... [1]"))
    assert resolve_follow_up("And Kallas?", history) == "What else did Kallas say?"


@pytest.mark.parametrize(
    "turn",
    [
        ("Who backs the loan?", "The loan is backed by **The European Union** … [1]"),  # not a person's name
        ("Who confirmed the plans?", "The documents do not say. I found nothing in them that answers: …"),
        ("What did Kubilius confirm?", "… **Andrius Kubilius** confirmed. [1]"),  # not a who-question
        ("Who confirmed the plans?", "… **Kubilius** confirmed. [1]"),  # one word: a name or not, unsure
    ],
)
def test_only_a_person_named_in_the_answer_to_a_who_question_becomes_the_topic(turn: tuple[str, str]) -> None:
    assert resolve_follow_up("What else did he say?", exchange(turn)) is None


def test_malformed_history_is_ignored() -> None:
    history = [{"role": "user"}, "nonsense", {"role": "system", "content": "x"}, {"content": 3}]
    assert standalone_question("And it?", history) == "And it?"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "question",
    [
        "Is there a meal allowance?",  # existential "there"
        "What is the meal allowance that employees get?",  # relative "that"
        "How many moons does Mars have? Name them.",  # "them" points into the question itself
        "Was there a vote on the loan?",
        "What types of leave are there?",  # existential "there" at the end
        "What is SAFE?",  # one word of content, but a name: a new topic
        "How much revenue in Q3?",
        "Who is Kubilius?",
        "Who is the recruiter?",  # one word of content, but a role of its own
    ],
)
def test_a_new_topic_is_not_taken_for_a_follow_up(question: str) -> None:
    assert not is_follow_up(question)
    assert standalone_question(question, LOAN) == question


@pytest.mark.parametrize(
    "question",
    [
        "What is its budget?",
        "Why is that?",
        "How big is that fund?",
        "What happened there?",
        "What about the SAFE?",
        "Why not?",
        "How much?",
        "Can I?",
        "In Sweden?",  # one word of content, a name, but no question of its own
        "How much in EUR?",
        "In 2023?",
        "What is the price?",  # of what was asked about before, most likely
    ],
)
def test_words_pointing_back_make_a_follow_up(question: str) -> None:
    assert is_follow_up(question)


# ---- conversations on real documents, with the real model ----------------------------------------------------

NOTES = {
    "falcon.txt": "Project Falcon kickoff notes.\n\nThe project lead is Margaret Okonkwo. The budget approved by the "
    "board is 2.4 million dollars.\nThe first milestone is due on 15 June 2027.\n",
    "handbook.md": "# Employee Handbook\n\n## Vacation policy\n\nFull-time employees receive 27 days of paid vacation "
    "per year. Unused vacation days can be carried over until March 31 of the following year.\n\n## Remote work\n\n"
    "Employees may work remotely up to three days per week.\n\n## Expenses\n\nTravel expenses must be submitted "
    "within 30 days. The daily meal allowance is 45 euros.\n",
    "baker.txt": "The head baker is Marta Quist.\n\nThe bakery opens at seven in the morning and closes at six.\n",
    "mars.md": "# Mars facts\n\nMars has two moons, Phobos and Deimos. A day on Mars lasts 24 hours and 37 minutes.\n",
    "offices.md": "# Offices\n\n| Office | City | Manager | Staff |\n|---|---|---|---|\n"
    "| Headquarters | Leipzig | Greta Vollmer | 84 |\n| Design Studio | Porto | Tiago Mendes | 22 |\n"
    "| Sales Office | Lyon | Camille Roux | 12 |\n",
}


@pytest.fixture(scope="module")
def notes_pipeline(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Pipeline:
    root = tmp_path_factory.mktemp("conversation")
    (root / "docs").mkdir()
    for name, text in NOTES.items():
        (root / "docs" / name).write_text(text, encoding="utf-8")
    for seed in SEEDS.glob("*.txt"):
        shutil.copy(seed, root / "docs" / seed.name)
    pipeline = Pipeline(docs_dir=root / "docs", index_dir=root / "index", embedder=embedder)
    pipeline.index()
    return pipeline


def converse(pipeline: Pipeline, *questions: str) -> list[Answer]:
    history: list[Message] = []
    answers = []
    for question in questions:
        answers.append(pipeline.answer(question, history=history))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answers[-1].text}]
    return answers


def first_quote(answer: Answer) -> str:
    assert answer.answered, answer.text
    return answer.quotes[0].text


@pytest.mark.slow
def test_a_change_of_topic_is_answered_on_its_own(notes_pipeline: Pipeline) -> None:
    lead, meal, moons = converse(
        notes_pipeline,
        "Who is the project lead of Project Falcon?",
        "Is there a meal allowance?",
        "How many moons does Mars have? Name them.",
    )
    assert "Margaret Okonkwo" in first_quote(lead)
    assert meal.query == meal.question and "45 euros" in first_quote(meal)
    assert moons.query == moons.question and "Phobos and Deimos" in first_quote(moons)


@pytest.mark.slow
def test_a_follow_up_is_answered_about_its_own_question_not_the_earlier_one(notes_pipeline: Pipeline) -> None:
    _, budget = converse(notes_pipeline, "Who is the project lead of Project Falcon?", "What is its budget?")
    assert "Project Falcon" in budget.query  # searched with the earlier turn...
    assert "2.4 million dollars" in first_quote(budget)  # ...but answered about the budget, not the lead

    _, borrow = converse(
        notes_pipeline, "What is the reparations loan backed by?", "How much could Ukraine borrow under it?"
    )
    assert "€140 billion" in (borrow.key_phrase or "")  # not the €185 billion that backs it

    _, carry, remote = converse(
        notes_pipeline,
        "How many vacation days do employees get?",
        "Can they carry them over?",
        "What about remote work?",
    )
    assert "carried over" in first_quote(carry)
    assert "work remotely" in first_quote(remote)


@pytest.mark.slow
def test_a_resolved_follow_up_is_searched_and_answered_as_resolved(notes_pipeline: Pipeline) -> None:
    fund, size = converse(notes_pipeline, "What is the SAFE fund?", "How big is it?")
    assert size.question == "How big is it?" and size.query == "How big is the SAFE fund?"
    assert "€150 billion" in first_quote(size) and first_quote(size) == first_quote(fund)
    _, said_, kallas = converse(
        notes_pipeline, "Who is the EU Defense Commissioner?", "What did he say?", "And Kallas?"
    )
    assert "Kubilius" in first_quote(said_)
    assert kallas.query == "What did Kallas say?" and "Kallas" in first_quote(kallas)


@pytest.mark.slow
def test_a_title_or_heading_is_never_quoted(notes_pipeline: Pipeline) -> None:
    for question in (
        "Who is the project lead of Project Falcon?",
        "What does the employee handbook say about expenses?",
    ):
        answer = notes_pipeline.answer(question)
        for quote in [*answer.quotes, *answer.related]:
            assert quote.text.strip(" .#") not in {"Project Falcon kickoff notes", "Employee Handbook", "Expenses"}


@pytest.mark.slow
def test_a_first_line_that_states_something_is_still_quoted(notes_pipeline: Pipeline) -> None:
    assert "Marta Quist" in (notes_pipeline.answer("Who is the head baker?").key_phrase or "")


@pytest.mark.slow
def test_there_is_answered_about_the_place_asked_about_before(notes_pipeline: Pipeline) -> None:
    runs, staff, porto = converse(
        notes_pipeline, "Who runs the Lyon office?", "How many people work there?", "And the Porto office?"
    )
    assert runs.key_phrase == "Camille Roux", runs.text
    assert staff.query == "How many people work at the Lyon office?"
    assert staff.key_phrase == "12" and "Lyon" in first_quote(staff)
    assert porto.key_phrase == "22" and "Porto" in first_quote(porto)


@pytest.mark.slow
def test_a_guessed_follow_up_is_answered_about_what_it_points_to(tmp_path: Path, embedder: Embedder) -> None:
    """Found by a trial of a travel folder: "What's their phone number?" after "What's the address of our hotel in
    Lisbon?" got the restaurant's number, "How much is it if we add it?" after a question about breakfast was
    refused."""
    docs = tmp_path / "docs"
    docs.mkdir()
    files = {
        "hotel-lisbon.md": "# Your booking at Casa do Alfama Boutique Hotel is confirmed\n\nYour reservation at Casa "
        "do Alfama Boutique Hotel in Lisbon is confirmed.\n\n## Booking details\n\nCheck-in | Monday 8 June 2026, "
        "from 15:00\nCheck-out | Friday 12 June 2026, until 11:00\nMeals | Breakfast included\n\n## Hotel "
        "information\n\nAddress: Rua dos Remedios 42, 1100-445 Lisboa, Portugal.\n\nPhone: +351 21 886 4420. "
        "E-mail: reservas@casadoalfama.example\n\nThe reception is open 24 hours.\n",
        "tasca-do-largo.md": "# Your table at Tasca do Largo\n\nThank you for your reservation at Tasca do Largo. We "
        "are pleased to confirm your table for 2 people on Wednesday 10 June 2026 at 20:30, with live fado from "
        "21:30.\n\nWe hold tables for 15 minutes after the reservation time.\n\nAddress: Largo do Chafariz de "
        "Dentro 7, Alfama, 1100-139 Lisboa.\nPhone: +351 21 887 1290\n",
        "guesthouse-porto.md": "# Ribeira Douro Guesthouse, Porto\n\nBreakfast is not included in your rate. It can "
        "be added at the guesthouse for EUR 14 per person per day, served from 08:00 to 10:00.\n\nCheck-in is from "
        "14:00 to 22:00.\n",
    }
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=embedder)
    pipeline.index()
    _, phone = converse(pipeline, "What's the address of our hotel in Lisbon?", "What's their phone number?")
    assert phone.key_phrase == "+351 21 886 4420", phone.text
    _, added = converse(pipeline, "Is breakfast included in Porto?", "How much is it if we add it?")
    assert added.key_phrase == "EUR 14 per person per day", added.text
