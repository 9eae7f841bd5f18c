from __future__ import annotations

from rag.conversation import is_follow_up, standalone_question

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
    assert standalone_question("And how big is it?", history).startswith("What is the reparations loan?")


def test_malformed_history_is_ignored() -> None:
    history = [{"role": "user"}, "nonsense", {"role": "system", "content": "x"}, {"content": 3}]
    assert standalone_question("And it?", history) == "And it?"  # type: ignore[arg-type]
