"""The extractive answerer and key phrases, on hand-made passages (a hashing embedder stands in for the model)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import HashEmbedder

from rag import answering
from rag.answering import (
    Answer,
    ExtractiveAnswerer,
    answer_confidence,
    contact_of_another,
    contradicts,
    decide,
    emphasised,
    phrase_in,
    question_names,
    row_is_about_another,
    unmentioned_names,
)
from rag.chunking import Chunk
from rag.evidence import EvidenceScorer, Sentence
from rag.phrases import (
    about_another_measure,
    about_another_numbered,
    about_another_subject,
    about_another_year,
    about_sending,
    another_kind_of_money,
    asked_column,
    date_for_a_count,
    key_phrase,
    lacks_the_figure,
    money_for_a_count,
    question_type,
    roll_call,
    usual_column,
    whole_name,
)
from rag.reader import TokenScores
from rag.retrieval import Passage

TEXT = "Intro line here. The bridge was opened in 1932 by Mayor Anna Berg. It cost 4 million dollars."


def passages() -> list[Passage]:
    return [Passage(Chunk("a.txt", "A", TEXT, 100, 100 + len(TEXT), 0), 1.0, 0.5, 1.0, 0)]


def char_scores(
    sentence: str,
    best: tuple[int, int],
    start: np.ndarray | None = None,
    end: np.ndarray | None = None,
    margin: float = 3.0,
    cells: np.ndarray | None = None,
) -> TokenScores:
    """A reader's reading with one token per character (flat scores unless given), its best span ``best``."""
    offsets, flat = np.arange(len(sentence)), np.zeros(len(sentence))
    start, end = flat if start is None else start, flat if end is None else end
    return TokenScores(offsets, offsets + 1, start, end, margin, best, cells)


def test_the_key_phrase_is_bolded_around_inline_code_and_never_inside_bold() -> None:
    """Found by a trial of software docs: "`**TIDEMILL_LOG_LEVEL**`" showed its asterisks inside the code span, and
    a bold FAQ line got bold inside bold."""
    text = "Set `TIDEMILL_LOG_LEVEL` to `debug` for more output."
    assert emphasised(text, (5, 22)) == "Set **`TIDEMILL_LOG_LEVEL`** to `debug` for more output."
    assert emphasised(text, (4, 23)) == "Set **`TIDEMILL_LOG_LEVEL`** to `debug` for more output."
    assert emphasised(text, (45, 51)) == "Set `TIDEMILL_LOG_LEVEL` to `debug` for more **output**."
    assert emphasised("**Is it free?** Yes.", (2, 13)) == "**Is it free?** Yes."
    # part of a bold run (found by an online shop's trial: "**Zone **3****"), and after one
    assert emphasised("- **Zone 3**: Australia, New Zealand", (9, 10)) == "- **Zone 3**: Australia, New Zealand"
    assert emphasised("**Zone 3**: 9 to 14 days", (12, 19)) == "**Zone 3**: **9 to 14** days"
    # across a bold run's mark (a teacher's Markdown folder: "**the **top playground**, by …**"): one run
    duty = "Duty is **Wednesday** morning break."
    assert emphasised(duty, (10, 35)) == "Duty is **Wednesday morning break**."
    point = "It is the **top playground, by the frame**."
    assert emphasised(point, (6, 26)) == "It is **the top playground, by the frame**."
    assert emphasised("Taken by **9:00**.", (11, 17)) == "Taken by **9:00**."


def test_question_types_follow_the_wording() -> None:
    assert question_type("How much did it cost?") == "quantity"
    assert question_type("When was the bridge opened?") == "date"
    assert question_type("Who opened the bridge?") == "person"
    assert question_type("Where is the bridge?") == "place"
    assert question_type("What was opened?") == "other"


def test_key_phrases_pick_the_entity_asked_for() -> None:
    sentence = "The bridge was opened in 1932 by Mayor Anna Berg."
    for question, expected in [("When was the bridge opened?", "1932"), ("Who opened the bridge?", "Anna Berg")]:
        span = key_phrase(sentence, question)
        assert span is not None and expected in sentence[span[0] : span[1]], question


def test_quotes_are_offsets_into_the_document_and_sentence_vectors_are_reused() -> None:
    embedder = HashEmbedder()
    answerer = ExtractiveAnswerer(embedder, min_evidence=0.0)
    question = "When was the bridge opened?"
    answer = answerer.run(question, question, passages(), embedder.encode_query(question))
    quote = answer.quotes[0]
    document = " " * 100 + TEXT
    assert document[quote.start : quote.end] == quote.text == "The bridge was opened in 1932 by Mayor Anna Berg."
    assert answer.key_phrase == "1932" and answer.text.startswith("The bridge was opened in **1932**")
    calls = embedder.calls
    again = answerer.run(question, question, passages(), embedder.encode_query(question))
    assert embedder.calls == calls + 1  # only the question itself: the sentences came from the cache
    assert again == answer


def test_a_who_question_about_a_role_no_passage_names_is_refused() -> None:
    """Found by a trial: "Who is the Chief Financial Officer?" was answered with the CEO under a "never mention"
    note. A who-question's name of two words or more that no passage writes is refused (SQuAD train: 2 answers
    changed, both wrong before); one word is only noted, as for other questions."""
    embedder = HashEmbedder()
    answerer = ExtractiveAnswerer(embedder, min_evidence=0.0)  # answers whatever it can
    for question, answered in [
        ("Who is the Chief Engineer of the bridge?", False),
        ("Who opened the bridge?", True),
        ("Who is the Mayor Anna Berg?", True),  # written
        ("Who is Smith?", True),  # one word: noted, not refused
    ]:
        answer = answerer.run(question, question, passages(), embedder.encode_query(question))
        assert answer.answered is answered, (question, answer.text)


def candidates(text: str) -> list[str]:
    """The candidate sentences of ``text`` as one retrieved chunk."""
    chunk = Chunk("a.txt", "A", text, 0, len(text), 0)
    sentences, _, _ = EvidenceScorer(HashEmbedder()).sentences([Passage(chunk, 1.0, 0.5, 1.0, 0)])
    return [s.text for s in sentences]


def test_a_run_in_heading_is_no_candidate() -> None:
    """Found by a trial of a benefits folder: an e-mail's "PPO Gold deductible. The in-network deductible on the
    PPO Gold plan rises …" answered "What will the PPO deductible be in 2026?" with its three-word lead-in."""
    text = "Hello,\n\nPPO Gold deductible. The PPO Gold deductible rises from $1,000 to $1,250.\nCopays stay the same."
    assert candidates(text) == [
        "The PPO Gold deductible rises from $1,000 to $1,250.",
        "Copays stay the same.",
    ]


def test_an_amount_of_another_kind_of_money_answers_no_question_for_one_kind() -> None:
    """Found by a trial of a benefits folder: "a $50 copay each" of an e-mail about the PPO plan for 2026 answered
    "How much will the PPO family premium be in 2026?" and "What will the PPO deductible be in 2026?"."""
    sentence = "If you switch to the PPO Gold plan for 2026, the same visits would be a $50 copay each."
    at = sentence.index("$50")
    reading = char_scores(sentence, (at, at + 3))
    assert another_kind_of_money("How much will the PPO family premium be in 2026?", sentence, reading)
    assert not another_kind_of_money("What is the copay for a visit on the PPO?", sentence, reading)
    assert not another_kind_of_money("How much would the visits cost on the PPO?", sentence, reading)  # no kind
    premium = "The PPO premium rises to $658, with a $50 copay."  # writes the kind asked: left to the reader
    at = premium.index("$50")
    assert not another_kind_of_money("What is the PPO premium?", premium, char_scores(premium, (at, at + 3)))


def test_a_numbered_heading_of_two_words_is_no_candidate() -> None:
    """Found when numbered items began to keep their number ("2. The Loan" was "2." and "The Loan"): a heading of
    two words and its number was long enough to be read, and answered "How long is my loan?" with "2"."""
    text = "2. The Loan\n2.1 The Lender lends the sum of £285,000.\n3. Term\n3.1 The mortgage term is 25 years."
    assert candidates(text) == [
        "2.1 The Lender lends the sum of £285,000.",
        "3.1 The mortgage term is 25 years.",
    ]


def test_each_sentence_knows_the_one_before_it_in_its_paragraph() -> None:
    """What the span reader reads as a sentence's context (with weights trained for it)."""
    text = "Kaja Kallas spoke first. She said the loan was ready.\n\nThe next paragraph starts right here."
    chunk = Chunk("a.txt", "A", text, 0, len(text), 0)
    sentences, _, _ = EvidenceScorer(HashEmbedder()).sentences([Passage(chunk, 1.0, 0.5, 1.0, 0)])
    previous = {s.text: s.previous for s in sentences}
    assert previous == {
        "Kaja Kallas spoke first.": "",
        "She said the loan was ready.": "Kaja Kallas spoke first.",
        "The next paragraph starts right here.": "",
    }
    table = "| Level | Training budget |\n| Junior | 1,000 EUR |\n| Senior | 2,500 EUR |"
    chunk = Chunk("b.md", "B", table, 0, len(table), 0, section="Training")
    sentences, _, _ = EvidenceScorer(HashEmbedder()).sentences([Passage(chunk, 1.0, 0.5, 1.0, 0)])
    assert {s.text: s.previous for s in sentences}["| Senior | 2,500 EUR |"] == "Training\n| Level | Training budget |"


def test_weak_evidence_is_a_refusal_without_quotes() -> None:
    embedder = HashEmbedder()
    answerer = ExtractiveAnswerer(embedder, min_evidence=0.99)
    question = "Who won the football cup?"
    answer = answerer.run(question, question, passages(), np.asarray(embedder.encode_query(question)))
    assert not answer.answered and answer.quotes == [] and "do not say" in answer.text


@pytest.mark.parametrize(
    ("question", "sentence", "covered"),
    [
        ("Who is Kubilius?", "The plans were confirmed by Commissioner Andrius Kubilius.", True),
        ("What is SAFE?", "The defence fund, dubbed SAFE, lends €150 billion.", True),
        ("What is SAFE?", "Every euro is only safe if we also invest in defence.", False),
        ("Who is the President of France?", "The President of France visited Kyiv.", False),
        ("Where is Vilnius?", "Vilnius hosted the summit last year.", False),
        ("When was the Treaty of Rome?", "The Treaty of Rome is often cited by lawyers.", False),
    ],
)
def test_weak_evidence_answers_only_a_question_that_names_what_the_sentence_names(
    question: str, sentence: str, covered: bool
) -> None:
    answerer = ExtractiveAnswerer(HashEmbedder(), min_evidence=0.63)
    weak = [(0.05, Sentence("doc.txt", "Doc", 0, len(sentence), sentence, 0))]
    assert answerer.covers(weak, question) is covered
    assert answerer.covers([(0.7, weak[0][1])], question)  # strong evidence answers whatever the question


def test_the_reader_chooses_the_answer_and_the_confidence_head_decides_whether_to_give_it() -> None:
    rank, evidence = np.asarray([2.0, 1.5, 1.0]), np.asarray([0.7, 0.3, 0.68])
    # The sentence the reader is surest of wins over a slightly better-ranked one.
    assert decide(rank, evidence, np.asarray([-5.0, -5.0, 9.0]), 0.63, weight=1.0) == 2
    assert decide(rank, evidence, np.asarray([2.0, 1.0, 1.0]), 0.63, weight=1.0) == 0
    # Strong evidence and a sure reader answer; weak evidence and an unsure reader do not.
    weak = np.asarray([0.05, 0.04, 0.02])
    assert decide(rank, weak, np.asarray([-8.0, -9.0, -9.0]), 0.63) is None
    assert answer_confidence(weak, np.asarray([-8.0, -9.0, -9.0]), 0) < 0.1
    assert answer_confidence(np.asarray([0.99, 0.9, 0.8]), np.asarray([9.0, 2.0, 0.0]), 0) > 0.9
    # A reader sure enough answers from weaker evidence than the evidence threshold alone would take...
    middling = np.asarray([0.5, 0.4, 0.3])
    assert decide(rank, middling, np.asarray([3.0, 0.0, 0.0]), 0.63) == 0
    assert decide(rank, middling, np.asarray([-6.0, -6.0, -6.0]), 0.63) is None
    # ...and a stricter min_evidence, chosen by the user, asks more of both.
    assert decide(rank, middling, np.asarray([3.0, 0.0, 0.0]), 0.95) is None
    # Without a reading (no reader): the best-ranked sentence whose evidence reaches min_evidence.
    unread = np.full(3, -np.inf)
    assert decide(rank, evidence, unread, 0.63) == 0 and decide(rank, np.asarray([0.2, 0.7, 0.9]), unread, 0.63) == 1
    assert decide(rank, weak, unread, 0.63) is None


class StubReader:
    """Reads every sentence with one margin (None: cannot read it, as an unavailable reader)."""

    def __init__(self, margin: float | None) -> None:
        self.margin = margin

    def read(self, question: str, sentences: list[str], contexts: object = None) -> list[TokenScores | None]:
        if self.margin is None:
            return [None] * len(sentences)
        return [char_scores(s, (0, min(4, len(s))), margin=self.margin) for s in sentences]


def test_a_refusal_of_the_confidence_head_stands_and_an_unreadable_reading_falls_back_to_the_evidence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    embedder = HashEmbedder()
    question = "When was the bridge opened?"
    vector = embedder.encode_query(question)

    def answer(reader: StubReader, confidence: float) -> Answer:
        monkeypatch.setattr(answering, "answer_confidence", lambda *_: confidence)
        answerer = ExtractiveAnswerer(embedder, min_evidence=0.5, reader=reader)  # type: ignore[arg-type]
        scored = answerer.score(question, question, passages(), vector)
        assert scored[0][0] >= 0.5  # the evidence alone would answer
        return answerer.run(question, question, passages(), vector)

    assert not answer(StubReader(-12.0), confidence=0.2).answered  # the head refuses: nothing overrides it
    assert answer(StubReader(9.0), confidence=0.9).answered
    # No reading (a reader that cannot load): the evidence threshold decides, as without a reader.
    assert answer(StubReader(None), confidence=0.0).answered


def test_the_confidence_head_meets_the_calibrated_threshold_where_it_was_fitted() -> None:
    """Its 0..1 confidence is on min_evidence's scale: the fitted threshold maps to the calibrated value."""
    from rag.answering import CONFIDENCE_BIAS, CONFIDENCE_THRESHOLD, CONFIDENCE_WEIGHTS
    from rag.evidence import MIN_EVIDENCE

    # One sentence, margin 0, its evidence logit x chosen to score exactly the threshold.
    x = (CONFIDENCE_THRESHOLD - CONFIDENCE_BIAS) / (CONFIDENCE_WEIGHTS[0] + CONFIDENCE_WEIGHTS[1])
    at = np.asarray([1.0 / (1.0 + np.exp(-x))])
    assert abs(answer_confidence(at, np.asarray([0.0]), 0) - MIN_EVIDENCE) < 1e-6
    assert decide(np.zeros(1), at * 1.01, np.asarray([0.0]), MIN_EVIDENCE) == 0
    assert decide(np.zeros(1), at * 0.99, np.asarray([0.0]), MIN_EVIDENCE) is None


def test_the_refusal_threshold_is_the_one_calibrated_with_the_evidence_head() -> None:
    import json

    from rag.evidence import WEIGHTS_FILE
    from rag.settings import Settings

    calibrated = json.loads(WEIGHTS_FILE.read_text(encoding="utf-8"))["evidence"]["min_evidence"]
    assert Settings().min_evidence == ExtractiveAnswerer(HashEmbedder()).min_evidence == calibrated


@pytest.mark.parametrize(
    ("sentence", "question", "picked", "expected"),
    [
        ("The bridge was opened by Mayor Anna Berg.", "Who opened the bridge?", "Berg", "Anna Berg"),
        ("When Anna Berg opened the bridge, it rained.", "Who opened the bridge?", "Berg", "Anna Berg"),
        ("On Monday Andrius Kubilius presented the plan.", "Who presented it?", "Kubilius", "Andrius Kubilius"),
        ("It was said by Sheldon Ungar, a sociologist.", "Who said it?", "Sheldon", "Sheldon Ungar"),
        ("EU Defense Commissioner Andrius Kubilius spoke.", "Who is the EU Defense Commissioner?", "Kubilius",
         "Andrius Kubilius"),
        ("EU Defense Commissioner Andrius Kubilius spoke.", "Who is Kubilius?", "Commissioner",
         "Defense Commissioner"),
    ],
)  # fmt: skip
def test_a_name_is_completed_without_titles_days_or_the_questions_own_name(
    sentence: str, question: str, picked: str, expected: str
) -> None:
    start = sentence.index(picked)
    a, b = whole_name(sentence, question, start, start + len(picked))
    assert sentence[a:b] == expected


@pytest.mark.parametrize(
    ("sentence", "marked", "expected"),
    [("| Senior | 2,500 EUR |", "2,500", "2,500 EUR"), ("An espresso is 1.20 euros here.", "1.20", "1.20 euros"),
     ("It cost 140 dollars.", "140 dollars", "140 dollars"), ("He was 45 Euro-sceptics' hero.", "45", "45"),
     ("| Lamp | 137 USD | 400 EUR |", "EUR", "400 EUR"), ("Pay in EUR only.", "EUR", "EUR")],
)  # fmt: skip
def test_a_price_the_reader_marks_keeps_its_currency(sentence: str, marked: str, expected: str) -> None:
    a = sentence.index(marked)
    scores = char_scores(sentence, (a, a + len(marked)))
    span = key_phrase(sentence, "What does it cost?", scores=scores)
    assert span is not None and sentence[span[0] : span[1]] == expected


def test_a_table_continued_from_the_chunk_before_has_no_header_but_its_first_row() -> None:
    from rag.evidence import _table_headers, header_before

    rows = "| P-1031 | Brake pad type 31 | 33 kg |\n| P-1041 | Brake pad type 41 | 36 kg |"
    spans = [(0, rows.index("\n")), (rows.index("\n") + 1, len(rows))]
    assert _table_headers(rows, spans, whole=False) == [None, None]  # a continuation: its first row is data
    assert _table_headers(rows, spans, whole=True)[1] == rows[: spans[0][1]]  # the document's own first row
    text = "Parts\n\n" + rows
    shifted = [(a + 7, b + 7) for a, b in spans]
    assert _table_headers(text, shifted, whole=False)[1] == rows[: spans[0][1]]  # the table starts in the chunk
    # What the document holds before the chunk tells: the table starts with the chunk, or its header.
    assert header_before("Parts\n\n") == (True, None)
    assert header_before("Parts\n\n| Code | Product | Weight |\n|---|---|---|\n| P-1021 | Brake pad type 21 |\n") == (
        False,
        "| Code | Product | Weight |",
    )
    assert header_before("| P-1021 | Brake pad type 21 |\n") == (False, None)  # it starts before what was read
    assert (
        _table_headers(rows, spans, whole=False, carried="| Code | Product | Weight |")
        == ["| Code | Product | Weight |"] * 2
    )
    ruled = "| Code | Product | Weight |\n|---|---|---|\n" + rows
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", ruled)]
    assert _table_headers(ruled, lines, whole=False)[-1] == "| Code | Product | Weight |"


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        # The reader marks "GmbH"; the name the question asks about is no answer, the next best span is.
        ("| Nordlicht Logistik GmbH | Henrike Vos | North |", "Where is Nordlicht Logistik based?", "North"),
        ("Nordlicht Logistik GmbH moved to Hamburg.", "where is nordlicht logistik?", "Hamburg"),
        ("Nordlicht GmbH & Co. KG moved to Hamburg.", "Where did Nordlicht move?", "Hamburg"),
        # Only a legal form, only of the name asked about: a question that writes no word of the name keeps it.
        ("| Nordlicht Logistik GmbH | Henrike Vos | North |", "Which partner is in the North?", "GmbH"),
    ],
)
def test_a_part_of_the_name_asked_about_is_not_the_key_phrase(sentence: str, question: str, expected: str) -> None:
    """Reader scores that put "GmbH" first and the city or region second (token = character, for the test): the
    start of "GmbH" scores above that of the answer, so a span from "GmbH" to the answer's end would win if
    allowed."""
    n = len(sentence)
    start, end = np.full(n, -9.0), np.full(n, -9.0)
    gmbh, other = sentence.index("GmbH"), sentence.index("North" if "North" in sentence else "Hamburg")
    form = sentence.index("moved") - 1 if "& Co. KG" in sentence else gmbh + 4  # the whole legal form
    start[gmbh], end[form - 1], start[other], end[other + 4 if "North" in sentence else other + 6] = 0, 0, -0.2, -1
    scores = char_scores(sentence, (gmbh, form), start, end, cells=np.cumsum([c == "|" for c in sentence]))
    span = key_phrase(sentence, question, scores=scores)
    assert span is not None and sentence[span[0] : span[1]] == expected, question


@pytest.mark.parametrize(
    ("sentence", "marked", "expected"),
    [
        ("The flagship €150 billion ($174 billion) defence fund is dubbed SAFE.", "$174 billion", "€150 billion"),
        ("A room costs up to 45 EUR (about 52 USD) a night.", "52 USD", "up to 45 EUR"),
        ("The squad (12 players) flew home.", "12", "12"),  # brackets that convert nothing
    ],
)
def test_an_amount_in_brackets_after_another_gives_way_to_the_one_written(
    sentence: str, marked: str, expected: str
) -> None:
    a = sentence.index(marked)
    scores = char_scores(sentence, (a, a + len(marked)))
    span = key_phrase(sentence, "How big is it?", scores=scores)
    assert span is not None and sentence[span[0] : span[1]] == expected
    if "(" in expected or expected == "12":
        return
    asked = key_phrase(sentence, "How much is it in dollars?" if "$" in marked else "How much in USD?", scores=scores)
    assert asked is not None and sentence[asked[0] : asked[1]] == marked  # the bracket's currency was asked for


def test_an_amount_keeps_its_scale_word() -> None:
    sentence = "The loan is backed by approximately €185 billion of frozen Russian assets."
    span = key_phrase(sentence, "How much money backs the loan?")
    assert span is not None and sentence[span[0] : span[1]].endswith("€185 billion")


@pytest.mark.parametrize(
    ("sentence", "question", "expected"),
    [
        ("A day on Mars lasts 24 hours and 37 minutes.", "How long is a day on Mars?", "24 hours and 37 minutes"),
        ("The tallest volcano is Olympus Mons, about 22 kilometres high.", "How high is it?", "22 kilometres"),
        ("The garage closes at 22:00 on weekdays.", "When does the garage close?", "22:00"),
        ("| Espresso | 1.20 EUR |", "How much does an espresso cost?", "1.20 EUR"),
        (
            "Ukraine could borrow up to €140 billion at little interest.",
            "How much could Ukraine borrow?",
            "€140 billion",
        ),
    ],
)
def test_an_amount_or_a_time_is_marked_whole(sentence: str, question: str, expected: str) -> None:
    span = key_phrase(sentence, question)
    assert span is not None and sentence[span[0] : span[1]].endswith(expected), question


def test_names_the_passages_never_write_are_found_despite_case_typos_and_endings() -> None:
    text = (
        "| Norway | 95 EUR | Beyoncé sang in Melbourne. American and Soviet troops met in 2014 near the U.S. base. "
        "Claims over 1,000 EUR need approval by John Smith. The ferry leaves at 23:40."
    )
    passages = [Passage(Chunk("t.md", "Travel", text, 0, len(text), 0), 1.0, 1.0, 1.0, 0)]
    assert unmentioned_names("What is the daily allowance in Sweden?", passages) == ["Sweden"]
    assert unmentioned_names("What is the daily allowance in norway or Norway?", passages) == []
    assert unmentioned_names("Where did Beyonce sing in Melborne?", passages) == []  # accents, a typo
    assert unmentioned_names("How many Americans met the Soviets?", passages) == []  # endings
    assert unmentioned_names("What happened in 2013 at the U.S. base?", passages) == ["2013"]
    assert unmentioned_names("Who met the CIA in the 2nd week?", passages) == []  # short acronyms, ordinals
    # Numbers as written: "1,500" is not "1,000", "3:40" is not "23:40".
    assert unmentioned_names("Who approves claims over 1,500 EUR?", passages) == ["1,500"]
    assert unmentioned_names("Who approves claims over 1,000 EUR?", passages) == []
    assert unmentioned_names("Does the ferry leave at 3:40?", passages) == ["3:40"]
    # Found by two trials: "1000" as "1,000", a month as "Feb 18" or in an ISO date, a run's id "r24" whole.
    dated = [
        Passage(Chunk("n.md", "Notes", t, 0, len(t), 0), 1.0, 1.0, 1.0, 0)
        for t in ("- Feb 18: cleanings, paid $185.\n2025-07-22 | recheck | LDL 128\nr24 | bigger tiles, no gain",)
    ]
    assert unmentioned_names("Who approves claims over 1000 EUR?", passages) == []
    assert unmentioned_names("What did I pay in February?", dated) == []
    assert unmentioned_names("What was my LDL in July?", dated) == []
    assert unmentioned_names("What happened in March?", dated) == ["March"]
    assert unmentioned_names("What did run r24 change?", dated) == []
    assert unmentioned_names("What did run r25 change?", dated) == ["r25"]
    # Capitals that are no names: sentence starts, after a colon or a dash, modals, titles, abbreviations.
    for question in (
        "Quick question: Can employees claim hotel costs?",
        "Travel - Could I claim a taxi?",
        "What did Mr. Smith say? Tell me more.",
        "What did the Dept. of Norway say?",
    ):
        assert unmentioned_names(question, passages) == [], question
    assert unmentioned_names("Hi! What is the allowance in Sweden?", passages) == ["Sweden"]  # any sentence


def test_a_refusal_names_what_the_passages_never_mention() -> None:
    answerer = ExtractiveAnswerer(HashEmbedder())
    refusal = answerer.refusal("What is the allowance in Sweden?", "What is the allowance in Sweden?", [], ["Sweden"])
    assert not refusal.answered and refusal.text.endswith("(the passages found never mention Sweden)")
    two = answerer.refusal("q", "q", [], ["Sweden", "Finland", "2013"])
    assert two.text.endswith("(the passages found never mention Sweden, Finland or 2013)")


def test_a_refusal_offers_the_best_ranked_sentences_that_write_half_the_words_searched() -> None:
    """Found by a trial of a research folder: 29 of 36 refusals offered nothing to read, though the best-ranked
    sentence often answered in other words than the evidence head knows ("… models with lme4 in R 4.3.1")."""
    answerer = ExtractiveAnswerer(HashEmbedder(), min_evidence=0.63)
    texts = [
        "We fitted the mixed models with lme4 in R 4.3.1.",
        "The turning point of the talks came in May.",  # one word of the boiling question: not close
    ]
    scored = [(0.01, Sentence("paper.txt", "Paper", 0, len(t), t, n)) for n, t in enumerate(texts)]
    question = "Which R package were the mixed models fitted with?"
    refusal = answerer.refusal(question, question, scored)
    assert not refusal.answered and [quote.text for quote in refusal.related] == [texts[0]]
    boiling = "What is the boiling point of water?"
    assert answerer.refusal(boiling, boiling, scored).related == []


def test_a_further_quote_writes_the_answer_only_if_it_writes_the_phrase_whole() -> None:
    assert phrase_in("Anna Berg", "Anna Berg opened the bridge.") == (0, 9)
    assert phrase_in("Anna Berg", "Joanna Bergman opened the bridge.") is None
    assert phrase_in("3:40", "The ferry leaves at 23:40.") is None
    assert phrase_in("95 EUR", "| Norway | 195 EUR |") is None
    assert phrase_in("1,000", "over 1,000.50 EUR") is None
    text = "İzmir | 95 EUR |"  # "İ".lower() is two characters: offsets are into the text as written
    assert phrase_in("95 eur", text) == (8, 14) and text[8:14] == "95 EUR"


@pytest.mark.parametrize(
    ("question", "cell"),
    [
        ("What is the minimum term for cold storage?", "8 weeks"),
        ("What is the price (in EUR) of cold storage?", "14.2"),  # a unit in brackets is not a word to name
        ("What is the unit for cold storage?", "pallet per week"),
        ("Which storage has a minimum term of 8 weeks?", None),  # the term is the condition, not what is asked
        ("Which service costs 14.2?", None),  # the first column names the row: left to the reader
        ("How much does cold storage cost?", "14.2"),  # a cost is a price (the answerer's words alike)
        ("How long must I keep cold storage?", None),  # no column named
    ],
)
def test_the_column_a_question_names_is_the_cell_asked_for(question: str, cell: str | None) -> None:
    row = "Cold storage | pallet per week | 14.2 | 8 weeks"
    span = asked_column(row, "Service | Unit | Price (EUR) | Minimum term", question)
    assert (row[span[0] : span[1]] if span else None) == cell
    assert asked_column(row, "Service | Unit", question) is None  # cells and names do not line up


CATALOGUE = "SKU | Product name | Type | Weight (g) | Price (GBP) | Stock status | Current rating | Last rating"


@pytest.mark.parametrize(
    ("question", "cell"),
    [
        ("what's the sku for the celadon gaiwan", "LK-TWR-111"),  # the first column, of a row named by another
        ("how much is the celadon gaiwan", "16.50"),  # the one column of money
        ("how much does the celadon gaiwan weigh", "220"),  # "weigh" names "Weight (g)"; no price
        ("is the celadon gaiwan in stock?", "out of stock"),  # the one column that shares a word, yes or no
        ("what type is LK-TWR-111", "teaware"),
        ("what's the rating of the celadon gaiwan", "4.5"),  # the current rating, not the one before
        ("what is LK-TWR-111", None),  # the SKU given: the row, no cell of it
    ],
)
def test_a_column_the_question_means_without_naming_it_whole_gives_the_cell(question: str, cell: str | None) -> None:
    """Found by a trial of a tea shop's catalogue: each of these marked another cell ("150 ml" of the name for the
    SKU, "6 teas" for the gift box's price, the weight for whether it is in stock)."""
    row = "LK-TWR-111 | Gaiwan Celadon 150 ml | teaware | 220 | 16.50 | out of stock | 4.5 | 4.2"
    span = asked_column(row, CATALOGUE, question)
    assert (row[span[0] : span[1]] if span else None) == cell


@pytest.mark.parametrize(
    ("question", "header", "cell"),
    [
        ("what's the tier c price for assam", "SKU | Tea | Tier A | Tier B | Tier C", "35.00"),  # "a" is no word
        ("what's the tier b price for assam", "SKU | Tea | Tier A | Tier B | Tier C", "39.50"),
        ("how many times can you re-steep oolong", "Tea | Steeping time | Re-steeps", "4–5"),  # not by "times"
        ("how long do i steep oolong", "Tea | Steeping time | Re-steeps", None),  # "steep" alone: left to the reader
        ("what is the steeping time for oolong", "Tea | Steeping time | Re-steeps", "3 min"),
    ],
)
def test_a_column_named_with_a_word_that_tells_it_from_another_is_the_one_asked(
    question: str, header: str, cell: str | None
) -> None:
    """Found by a trial of a tea shop: "tier c" marked the Tier A price (both columns are "tier" once "a" is dropped
    as a stop word), and "re-steep" the steeping time ("Re-steeps" is "steep", and "times" named "Steeping time")."""
    row = "LK-BLK-003 | Assam Halmari Gold | 44.00 | 39.50 | 35.00" if "Tier" in header else "Oolong | 3 min | 4–5"
    span = asked_column(row, header, question)
    assert (row[span[0] : span[1]] if span else None) == cell


@pytest.mark.parametrize(
    ("question", "cell"),
    [
        ("How much does dental cover for a crown? And out-of-network?", "40%"),  # not In-network's "network"
        ("How much does dental cover for a crown out of network?", "40%"),
        ("What is the in-network coverage for crowns?", "50%"),
        ("What does a preferred brand drug cost at a retail pharmacy on the PPO?", "$40"),  # "retail", "PPO": most
        ("What does a preferred brand drug cost on the PPO?", None),  # "PPO" alone: both PPO columns, one word
    ],
)
def test_a_column_is_named_with_its_prefix_or_by_most_of_its_words(question: str, cell: str | None) -> None:
    """Found by a trial of a benefits folder: "And out-of-network?" marked the In-network cell ("in" and "out" are
    stop words), and "retail … PPO" named no column of "PPO Gold retail 30-day" (not all its words)."""
    dental = "Class III - Major | Crowns, bridges, dentures, implants | 50% | 40%"
    drugs = "Tier 2 | Preferred brand | $40 | $100 | 25% coinsurance"
    header = "Tier | Description | PPO Gold retail 30-day | PPO Gold mail order 90-day | HDHP Silver"
    row, span = (dental, asked_column(dental, "Class | Services | In-network | Out-of-network", question))
    if "brand" in question:
        row, span = drugs, asked_column(drugs, header, question)
    assert (row[span[0] : span[1]] if span else None) == cell


@pytest.mark.parametrize(
    ("question", "cell"),
    [
        ("What percentage does the dental plan pay for fillings?", "80%"),  # the usual: in network
        ("What is paid for fillings out of network?", None),  # asked: the reader's cell stands
        ("And out-of-network?", None),
    ],
)
def test_an_exception_s_column_answers_only_when_asked(question: str, cell: str | None) -> None:
    """Found by a trial of a benefits folder: "What percentage does the dental plan pay for fillings?" marked the
    Out-of-network cell the reader chose (70%), though the question asks what the plan pays in its network."""
    row = "Class II - Basic | Fillings, simple extractions | 80% | 70%"
    at = row.index("70%")
    span = usual_column(row, "Class | Covered services | In-network | Out-of-network", question, (at, at + 3))
    assert (row[span[0] : span[1]] if span else None) == cell
    price = "Day pass | EUR 5 | EUR 9"  # "Non-member" beside "Member"
    at = price.index("EUR 9")
    span = usual_column(price, "Item | Member | Non-member", "How much is a day pass?", (at, at + 5))
    assert span is not None and price[span[0] : span[1]] == "EUR 5"


def test_a_column_named_with_a_threshold_after_an_at_sign_is_named_by_its_measure() -> None:
    """Found by a trial of a research folder: "What is the AP for hoverflies?" marked the Test instances cell of
    "hoverfly | 702 | 0.588": the column "AP@0.5" was not named, its "0" and "5" not in the question."""
    row = "hoverfly | 702 | 0.588"
    span = asked_column(row, "Class | Test instances | AP@0.5", "What is the AP for hoverflies?")
    assert span is not None and row[span[0] : span[1]] == "0.588"


def test_a_row_is_about_the_names_it_holds_or_its_document_writes_beside_its_table() -> None:
    table = "| City | Manager |\n|---|---|\n| Lyon | Camille Roux |\n| Gdansk | Piotr Nowak |"
    text = f"# Offices\n\nNordlicht runs four offices.\n\n{table}"
    row = "| Lyon | Camille Roux |"
    start = text.index(row)
    passages = [Passage(Chunk("offices.md", "Offices", text, 0, len(text), 0), 1.0, 0.5, 1.0, 0)]
    lyon = Sentence("offices.md", "Offices", start, start + len(row), row, 0, header="Offices\n| City | Manager |")

    def about_another(question: str) -> bool:
        return row_is_about_another(question_names(question), lyon, passages)

    assert not about_another("Who manages the Lyon office?")
    assert not about_another("Who manages the Lyon office of Nordlicht?")  # written beside the table
    assert about_another("Who manages the Gdansk office?")  # another row's
    assert about_another("Who manages the Berlin office?")  # nobody's
    prose = Sentence("offices.md", "Offices", 20, 47, "Nordlicht runs four offices.", 0)
    assert not row_is_about_another(["Berlin"], prose, passages)  # prose is left to the never-mentioned note


@pytest.mark.parametrize(
    ("sentence", "number", "money"),
    [
        ("The shift lead earns 7,500 to 9,000 PLN per month.", "7,500 to 9,000", True),
        ("Entry costs 45 euros.", "45", True),
        ("Entry costs €45.", "€45", True),
        ("A trailer takes 33 Euro pallets.", "33", False),  # found by a review: a Euro pallet is a pallet
        ("The ship carries 20,000 TEU per voyage.", "20,000", False),  # a code, but no currency's
        ("The server has 64 CPU per socket.", "64", False),
    ],
)
def test_a_count_is_told_from_an_amount_of_money(sentence: str, number: str, money: bool) -> None:
    at = sentence.index(number)
    reading = char_scores(sentence, (at, at + len(number)))
    assert money_for_a_count("How many do they have?", sentence, reading) is money
    assert not money_for_a_count("How many euros do they have?", sentence, reading)  # asks for money


@pytest.mark.parametrize(
    ("question", "sentence", "phrase", "context", "another"),
    [
        (
            "What was revenue in 2024?",
            "Revenue for 2025 was €7.9 million, up 6 percent from 2024.",
            "€7.9 million",
            "",
            True,
        ),
        (
            "What was revenue in 2025?",
            "Revenue for 2025 was €7.9 million, up 6 percent from 2024.",
            "€7.9 million",
            "",
            False,
        ),
        # 2024 is the base of the figure the reader marked: that figure's year is the context's, if it names one
        (
            "What was revenue in 2024?",
            "Revenue was €7.9 million, up from €7.5 million in 2024.",
            "€7.9 million",
            "",
            False,
        ),
        (
            "What was revenue in 2024?",
            "Revenue was €7.9 million, up from €7.5 million in 2024.",
            "€7.9 million",
            "2025",
            True,
        ),
        ("What was revenue in 2022?", "In 2023 revenue was €6.8 million.", "€6.8 million", "", True),
        ("What was revenue in 2022?", "Revenue was €6.8 million.", "€6.8 million", "", False),  # no year known
        ("What was revenue in 2022?", "Revenue was €6.8 million.", "€6.8 million", "Annual report 2023", True),
        ("What was revenue in 2023?", "Revenue was €6.8 million.", "€6.8 million", "Annual report 2023", False),
        ("How many staff were there in 2022?", "Staff grew from 40 in 2019 to 52 in 2023.", "52", "", True),
        ("How many staff were there in 2021?", "The team had 52 staff from 2019 to 2023.", "52", "", False),
        ("How many staff were there in 2021?", "The team had 52 staff in 2019-23.", "52", "", False),
        ("How many staff were there in 2024?", "The team has had 52 staff since 2019.", "52", "", False),
        ("What was the endowment in 2004?", "Its endowment was $213 million (2004) in 1986 terms.", "$213", "", True),
        # a figure's own year, of two in one sentence (found by a newcomer: 684 was the answer for 2023); the
        # sentence answers 2023 all the same, with 610 (the asked year right after it), but not 2022
        (
            "How many employees were there in 2023?",
            "Staff grew from 610 at the end of 2023 to 684 at the end of 2024.",
            "684",
            "",
            False,
        ),
        (
            "How many employees were there in 2022?",
            "Staff grew from 610 at the end of 2023 to 684 at the end of 2024.",
            "684",
            "",
            True,
        ),
        (
            "How many employees were there in 2023?",
            "Staff grew from 610 at the end of 2023 to 684 at the end of 2024.",
            "610",
            "",
            False,
        ),
        (
            "What was revenue in 2024?",
            "In 2023 revenue was €6.8 million and in 2024 it was €7.9 million.",
            "€6.8 million",
            "",
            True,
        ),
        (
            "What was revenue in 2024?",
            "In 2023 revenue was €6.8 million and in 2024 it was €7.9 million.",
            "€7.9 million",
            "",
            False,
        ),
        ("Who was the chair in 2022?", "Anna Berg became chair in 2023.", "Anna Berg", "", False),  # not a figure
        ("When was revenue €7.9 million in 2025?", "In May 2024 revenue was €7.9 million.", "May 2024", "", False),
        ("How much did revenue grow in 2024?", "In 2025 revenue grew by 6 percent.", "6 percent", "", True),
        ("How much did revenue grow in 2025?", "In 2025 revenue grew by 6 percent from 2024.", "6 percent", "", False),
    ],
)
def test_a_figure_is_for_the_year_its_sentence_or_its_context_names(
    question: str, sentence: str, phrase: str, context: str, another: bool
) -> None:
    at = sentence.index(phrase)
    reading = char_scores(sentence, (at, at + len(phrase)))
    assert about_another_year(question, sentence, reading, "", context) is another
    assert not about_another_year(question, sentence, None, context)  # nothing read, nothing known


def test_a_figure_with_its_year_right_after_it_is_that_year_s_even_as_a_base() -> None:
    """Found by a newcomer: "What was net profit in 2023?" found no answer in "… £3.9 million in 2024, compared
    with £3.1 million in 2023 …" (2023 only the base), nor "How many parcels …" in "… against 12.8 million in
    2023.", and "What was staff turnover in 2022?" marked "11 percent in 2024 from 14 percent"."""
    for sentence, first, second, year, figure in [
        (
            "Net profit was £3.9 million in 2024, compared with £3.1 million in 2023 and £2.4 million in 2022.",
            "£3.9 million",
            "£2.4 million",  # the reader's next best is another year's too: the one the asked year follows is it
            "2023",
            "£3.1 million",
        ),
        (
            "Northwind delivered 14.2 million parcels in 2024, against 12.8 million in 2023.",
            "14.2 million",
            "12.8 million",
            "2023",
            "12.8 million",
        ),
        (
            "Staff turnover fell to 11 percent in 2024 from 14 percent in 2022.",
            "11 percent in 2024 from 14 percent",  # two figures in one span
            "2024",
            "2022",
            "14 percent",
        ),
    ]:
        start, end = np.zeros(len(sentence)), np.zeros(len(sentence))
        for phrase, logit in ((first, 5.0), (second, 4.0)):
            at = sentence.index(phrase)
            start[at], end[at + len(phrase) - 1] = logit, logit
        at = sentence.index(first)
        reading = char_scores(sentence, (at, at + len(first)), start, end)
        question = f"What was the figure in {year}?"
        assert not about_another_year(question, sentence, reading), sentence
        span = key_phrase(sentence, question, scores=reading)
        assert span is not None and sentence[span[0] : span[1]] == figure
        assert about_another_year("What was the figure in 2019?", sentence, reading)


@pytest.mark.parametrize(
    ("question", "sentence", "another"),
    [
        ("What was net profit in 2023?", "Operating profit rose to £5.6 million in 2024.", True),
        ("What was net profit in 2023?", "Net profit was £3.1 million, operating profit £5.6 million.", False),
        ("What was net profit in 2023?", "Profit was £3.1 million in 2023.", False),  # the thing, no measure
        ("What is the maximum speed?", "The average speed is 30 km/h.", True),
        ("What is the max speed?", "The maximum speed is 320 mph.", False),  # one measure, two ways to write it
        ("What is the average household income?", "The median household income was $51,739.", False),  # as asked
        ("What is the yearly potential?", "The annual potential of solar energy is large.", False),
        ("What is the weekly circulation?", "Daily Mail circulation fell.", False),  # a name, not a measure
        ("What is the monthly fee?", "The annual fee is €120.", True),
    ],
)
def test_another_measure_of_the_thing_asked_is_no_answer(question: str, sentence: str, another: bool) -> None:
    assert about_another_measure(question, sentence) is another


@pytest.mark.parametrize(
    ("question", "sentence", "phrase", "context", "unfit"),
    [
        ("What was operating profit in 2022?", "Revenue in 2022 was £39.7 million.", "£39.7 million", "", True),
        ("What was operating profit in 2022?", "Operating profit was £4.1 million in 2022.", "£4.1 million", "", False),
        ("What was profit in 2022?", "It was £4.1 million in 2022.", "£4.1 million", "Profit and loss", False),
        ("How many murders were there in 2014?", "Police reported 52 homicides in 2014.", "52", "", True),
        ("Who chaired the board in 2022?", "Anna Berg chaired it in 2022.", "Anna Berg", "", False),  # no figure
        ("What was revenue?", "Profit was £4.1 million in 2022.", "£4.1 million", "", False),  # no year asked
    ],
)
def test_a_year_s_figure_of_something_the_question_never_names_is_no_answer(
    question: str, sentence: str, phrase: str, context: str, unfit: bool
) -> None:
    at = sentence.index(phrase)
    reading = char_scores(sentence, (at, at + len(phrase)))
    assert about_another_subject(question, sentence, reading, context) is unfit
    assert not about_another_subject(question, sentence, None, context)


@pytest.mark.parametrize(
    ("question", "sentence", "phrase", "lacks"),
    [
        ("What was operating profit in 2022?", "Staff turnover fell to 11 percent in 2022.", "Staff turnover", True),
        (
            "What was revenue in 2025?",
            "For 2025, the board expects revenue growth of 5 to 7 percent.",
            "5 to 7 percent",
            True,
        ),
        ("What was revenue in 2025?", "Revenue rose by 6 percent to €7.9 million in 2025.", "6 percent", True),
        ("What was revenue in 2025?", "Revenue rose by 6 percent to €7.9 million in 2025.", "€7.9 million", False),
        ("What was the cost of tuition in 2010?", "In 2010 tuition was free.", "free", False),
        ("What was the population in 1900?", "By 1900 two million people lived there.", "two million", False),
        (
            "What was Somalia's largest ISP in 2009?",
            "Global Internet was the largest ISP in 2009.",
            "Global Internet",
            False,
        ),
        ("What was operating profit?", "Staff turnover fell to 11 percent.", "Staff turnover", False),  # no year
        # a question for a price (found by a trial: "For larger homes" was the price of a satellite)
        ("What does the MeshPoint MP-1 cost?", "For larger homes, add an MP-1 satellite.", "For larger homes", True),
        ("How much does the BM-500 cost?", "The BM-500 costs €649.", "€649", False),
        ("What was the cost of the first copies?", "They cost fifteen shillings.", "fifteen shillings", False),
        ("What did the defeat cost him?", "It cost him the race.", "the race", False),  # no price asked
        # found by a benefits trial: a count where no money is written is no price
        ("How much does each therapy session cost us now?", "The plan covers up to 30 visits a year.", "30", True),
        ("How much does a session cost us?", "Each session now costs 10% of $145, or $14.50.", "$14.50", False),
    ],
)
def test_a_question_for_a_year_s_figure_needs_a_figure_not_a_change(
    question: str, sentence: str, phrase: str, lacks: bool
) -> None:
    at = sentence.index(phrase)
    assert lacks_the_figure(question, sentence, char_scores(sentence, (at, at + len(phrase)))) is lacks


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("What is the daily allowance abroad?", "EUR 55"),  # found by a trial: GBP 45 was marked
        ("What is the daily allowance in the UK?", "GBP 45"),
        ("What is the daily allowance?", "GBP 45"),  # neither asked: the reader's
        ("How much do employees receive for small expenses?", "GBP 45"),  # said of both: the reader's
    ],
)
def test_of_two_amounts_the_one_the_question_qualifies_is_marked(question: str, phrase: str) -> None:
    sentence = "Employees receive a daily allowance of GBP 45 in the UK and EUR 55 abroad for small expenses."
    at = sentence.index("GBP 45")
    span = key_phrase(sentence, question, scores=char_scores(sentence, (at, at + len("GBP 45"))))
    assert span is not None and sentence[span[0] : span[1]] == phrase


def test_a_clause_number_is_no_key_phrase() -> None:
    """Found by a trial: "What is the liability cap?" marked "7.1" of a contract's clause."""
    sentence = "7.1 The Provider's total liability is limited to the fees paid in the previous 12 months."
    start, end = np.zeros(len(sentence)), np.zeros(len(sentence))
    for phrase, logit in (("7.1", 5.0), ("12 months", 4.0)):
        at = sentence.index(phrase)
        start[at], end[at + len(phrase) - 1] = logit, logit
    span = key_phrase(sentence, "What is the liability cap?", scores=char_scores(sentence, (0, 3), start, end))
    assert span is not None and sentence[span[0] : span[1]] == "12 months"


def test_an_emails_headers_answer_who_sent_it_and_when_it_was_sent_only() -> None:
    """Found by a trial: "Who sent the e-mail about the move date?" marked the recipient, and "When is the office
    move?" the time the e-mail about it was sent."""
    headers = (
        "Oliver Grant <oliver@example.com> sent this e-mail to Maria Lindqvist <maria@example.com> on Wednesday 5"
        ' March 2025 at 16:40 (UTC+00:00), with the subject "RE: Office move".'
    )
    at = headers.index("Maria Lindqvist")
    reading = char_scores(headers, (at, at + len("Maria Lindqvist")))
    span = key_phrase(headers, "Who sent the e-mail about the move date?", scores=reading)
    assert span is not None and headers[span[0] : span[1]] == "Oliver Grant"
    span = key_phrase(headers, "Who received the e-mail?", scores=reading)  # not the sender asked
    assert span is not None and headers[span[0] : span[1]] == "Maria Lindqvist"
    assert about_sending("When is the office move?", headers)
    assert not about_sending("When was the e-mail about the move sent?", headers)
    assert not about_sending("Who sent it?", headers) and not about_sending("Who was the message copied to?", headers)
    assert about_sending("Who picks up Oliver on Fridays?", headers)  # found by a trial of a teacher's folder
    assert about_sending("Why did the trip date change?", headers)
    assert not about_sending("When is the office move?", "We move on Friday 23 May 2025.")


def test_a_sentence_about_another_numbered_thing_is_no_answer() -> None:
    """Found by trials of a landlord's and a teacher's folders: "when does flat 3 epc expire" was answered with
    "Flat 2's EPC expires in June 2026", and "who teaches year 3" with the teacher of Year 1."""
    assert about_another_numbered("when does flat 3 epc expire", "Flat 2's EPC expires in June 2026.")
    assert about_another_numbered("when does flat 3 epc expire", "| Flat 2 | D | 64 | 2 June 2026 |")
    assert about_another_numbered("who teaches year 3", "Her class teacher is Miss Kaur in Hazel Class (Year 1).")
    assert not about_another_numbered("when does flat 3 epc expire", "| Flat 3 | C | 69 | 29 September 2033 |")
    assert not about_another_numbered("when does flat 3 epc expire", "Flats 2 and 3 were assessed in 2023.")
    assert not about_another_numbered("when does flat 3 epc expire", "The EPC of each flat lasts ten years.")
    assert not about_another_numbered("What is on 12 May?", "The hall is closed on 14 May.")  # a date, not a thing
    assert not about_another_numbered("Is it open at 9?", "Open from 10 to 6.")


def test_a_time_of_day_is_no_age_and_a_date_no_count() -> None:
    """Found by a trial of a teacher's folder: "what's ethan's reading age" (the folder does not say) was answered
    "5:30" of his parents' evening slot."""
    slot = "5:30 | Ethan Price *"
    assert date_for_a_count("what's ethan's reading age", slot, char_scores(slot, (0, 4)))
    assert date_for_a_count("How old is Ethan?", slot, char_scores(slot, (0, 4)))
    assert not date_for_a_count("When is Ethan's slot?", slot, char_scores(slot, (0, 4)))
    dated = "Date: 2024-06-18, 18,342 duplicate webhooks."
    assert date_for_a_count("How many webhooks were sent?", dated, char_scores(dated, (14, 16)))
    assert not date_for_a_count("How many webhooks were sent?", dated, char_scores(dated, (18, 24)))


def test_the_roll_call_of_minutes_answers_who_was_there_or_not() -> None:
    lines = [
        "The board met online.",
        "In attendance: Claire Dubois.",
        "Present: Anna Schmidt, Lotte Bakker.",
        "Absent: Maria Rossi",
    ]
    assert roll_call("Who attended the board meeting?", lines) == 2  # "Present:" before "In attendance:"
    assert roll_call("Who were the participants?", lines) == 2
    assert roll_call("Who was absent?", lines) == 3
    assert roll_call("Who sent apologies?", lines) == 3
    for other in ("Who chairs the board?", "Who joined the company in 2020?", "What was present in the sample?"):
        assert roll_call(other, lines) is None
    assert roll_call("Who attended?", ["The board met online."]) is None
    span = key_phrase(lines[2], "Who attended the meeting?")
    assert span is not None and lines[2][span[0] : span[1]] == "Anna Schmidt, Lotte Bakker"


def test_the_figure_of_the_year_asked_is_marked_of_two_in_a_sentence() -> None:
    """Found by a newcomer: "How many employees were there in 2023?" marked 2024's 684, not 2023's 610."""
    sentence = "The number of employees grew from 610 at the end of 2023 to 684 at the end of 2024."
    start, end = np.zeros(len(sentence)), np.zeros(len(sentence))
    for figure, logit in (("684", 5.0), ("610", 4.0)):  # the reader's best span, and its next best
        at = sentence.index(figure)
        start[at], end[at + len(figure) - 1] = logit, logit
    reading = char_scores(sentence, (sentence.index("684"), sentence.index("684") + 3), start, end)
    for year, figure in (("2023", "610"), ("2024", "684")):
        question = f"How many employees were there in {year}?"
        span = key_phrase(sentence, question, scores=reading)
        assert span is not None and sentence[span[0] : span[1]] == figure
        assert not about_another_year(question, sentence, reading)  # the sentence answers both years
    assert about_another_year("How many employees were there in 2022?", sentence, reading)


@pytest.mark.parametrize(
    ("sentence", "question", "read", "phrase"),
    [
        (
            "The 2026 IRS limits are $4,400 (self-only) and\n$8,750 (family).",
            "What is the HSA contribution limit for a family in 2026?",
            "$4,400 (self-only) and\n$8,750",
            "$8,750",
        ),
        (
            "The deductible rises from $1,000 to $1,250 for an individual and from\n$2,000 to $2,500 for a family.",
            "What's the deductible for the whole family?",
            "$1,000 to $1,250 for an individual and from\n$2,000 to $2,500",
            "$2,000 to $2,500",
        ),
        (  # neither asked: the reader's span stands
            "The 2026 IRS limits are $4,400 (self-only) and\n$8,750 (family).",
            "What are the 2026 IRS limits?",
            "$4,400 (self-only) and\n$8,750",
            "$4,400 (self-only) and\n$8,750",
        ),
    ],
)
def test_of_amounts_read_together_the_one_the_question_qualifies(
    sentence: str, question: str, read: str, phrase: str
) -> None:
    """Found by a trial of a benefits folder: "And for the whole family?" marked the individual and the family
    figures together, and "And for 2026?" both IRS limits."""
    at = sentence.index(read)
    span = key_phrase(sentence, question, scores=char_scores(sentence, (at, at + len(read))))
    assert span is not None and sentence[span[0] : span[1]] == phrase


@pytest.mark.parametrize(
    ("sentence", "read", "phrase"),
    [
        (
            "Present: Anna Schmidt (chair), Lotte Bakker, Jonas Weber, Pieter de Vries.",
            "Anna Schmidt",
            "Anna Schmidt (chair), Lotte Bakker, Jonas Weber, Pieter de Vries",
        ),
        ("Attendees: Anna Schmidt and Lotte Bakker", "Lotte Bakker", "Anna Schmidt and Lotte Bakker"),
        ("Absent: Maria Rossi, who sent her apologies.", "Maria Rossi", "Maria Rossi"),  # a clause, no list
        ("Chair: Anna Schmidt.", "Anna Schmidt", "Anna Schmidt"),  # one name
        ("Anna Schmidt, Lotte Bakker and Jonas Weber were present.", "Anna Schmidt", "Anna Schmidt"),  # no label
    ],
)
def test_a_who_question_gets_every_name_a_labelled_line_lists(sentence: str, read: str, phrase: str) -> None:
    """Found by a trial: "Who was present?" marked only the chair of the minutes' "Present: …" line."""
    at = sentence.index(read)
    span = key_phrase(sentence, "Who was present?", scores=char_scores(sentence, (at, at + len(read))))
    assert span is not None and sentence[span[0] : span[1]] == phrase
    for other in ("What is it?", "Who chairs the meeting?"):  # not a person; one person (found by a trial)
        assert key_phrase(sentence, other, scores=char_scores(sentence, (at, at + len(read)))) == (at, at + len(read))


@pytest.mark.parametrize(
    ("question", "sentence", "read", "phrase"),
    [
        (
            "By how much did revenue grow?",
            "Revenue was €7.9 million, up 6 percent from 2024.",
            "€7.9 million",
            "6 percent",
        ),
        ("How much did sales fall in 2024?", "Sales fell by €2 million to €5 million.", "€5 million", "€2 million"),
        ("What was the increase in capacity?", "Capacity increased by 35,800 MW in 2010.", "2010", "35,800 MW"),
        (
            "By how much did revenue grow?",
            "Revenue rose 5 percent and profit rose 8 percent.",
            "8 percent",
            "8 percent",
        ),
        ("What was revenue?", "Revenue was €7.9 million, up 6 percent from 2024.", "€7.9 million", "€7.9 million"),
    ],
)
def test_a_question_for_the_size_of_a_change_gets_the_change(
    question: str, sentence: str, read: str, phrase: str
) -> None:
    """Found by a trial: "By how much did revenue grow?" marked the revenue, not the growth; two changes in one
    sentence, or a question for no change, keep the reader's span."""
    at = sentence.index(read)
    span = key_phrase(sentence, question, scores=char_scores(sentence, (at, at + len(read))))
    assert span is not None and sentence[span[0] : span[1]] == phrase


def test_a_column_is_not_the_answer_to_a_question_for_a_place_or_to_an_amount_it_does_not_hold() -> None:
    """Found by a review: "Where is the event on 12 May?" gave the Event cell; "How much does cold storage cost
    per unit?" the Unit cell's "pallet per week" (its Price cell, named "cost", is the answer)."""
    assert (
        asked_column("12 May | Board meeting | Hamburg", "Date | Event | Location", "Where is the event on 12 May?")
        is None
    )
    row = "Cold storage | pallet per week | 14.2 | 8 weeks"
    span = asked_column(row, "Service | Unit | Price (EUR) | Minimum term", "How much does cold storage cost per unit?")
    assert span is not None and row[span[0] : span[1]] == "14.2"
    assert (
        asked_column(row, "Service | Unit | Minimum term | Notes", "How much does cold storage cost per unit?") is None
    )


def test_a_column_is_named_in_the_words_a_reader_uses_for_it() -> None:
    """Found by a trial of software docs: "Which env var sets the log level?" was refused, its row's
    "Environment variable" column unnamed."""
    row = "| `log.level` | `info` | `TIDEMILL_LOG_LEVEL` | One of `debug`, `info` |"
    span = asked_column(
        row, "| Option | Default | Environment variable | Meaning |", "Which env var sets the log level?"
    )
    assert span is not None and row[span[0] : span[1]] == "`TIDEMILL_LOG_LEVEL`"


@pytest.mark.parametrize(
    ("other", "disagrees"),
    [
        ("Employees get 30 days of paid annual leave per calendar year.", True),
        ("Employees get 28 days of paid annual leave per calendar year.", False),  # the same
        ("Employees in Poland get 26 days of paid annual leave per calendar year.", False),  # another fact
        ("Staff members get 30 days of paid annual leave per calendar year.", False),  # words changed too
        ("Employees get 28 days of paid annual leave per calendar year, 2 more at 50.", False),  # not the same
    ],
)
def test_a_disagreement_is_the_same_sentence_with_other_numbers_only(other: str, disagrees: bool) -> None:
    assert contradicts("Employees get 28 days of paid annual leave per calendar year.", other) is disagrees
    assert not contradicts(
        "The fee is EUR 1,200 a year for all members.", "The fee is EUR 1200 a year for all members."
    )


@pytest.mark.parametrize(
    ("cell", "figure"),
    [
        ("1,250.50 EUR", 1250.5),
        ("1.72", 1.72),
        ("3 400", 3400.0),
        ("1.250,50 €", 1250.5),
        ("1,72", 1.72),
        ("n/a", None),
    ],
)
def test_a_cells_figure_is_read_with_its_separators(cell: str, figure: float | None) -> None:
    from rag.answering import _figure

    assert _figure(cell) == figure


def test_a_contact_asked_for_someone_is_not_anothers() -> None:
    """Found by a travel folder: "What's Ines's phone number?" was answered with a restaurant's "Phone: …" line."""
    restaurant = Sentence("fado_dinner.eml", "Booking confirmed", 0, 23, "Phone: +351 21 887 1290", 0)
    assert contact_of_another("What's Ines's phone number?", restaurant)
    assert not contact_of_another("What's the phone number?", restaurant)
    host = Sentence("guesthouse.txt", "Porto", 0, 26, "Phone: +351 912 345 678", 0, previous="Your host is Rui.")
    assert not contact_of_another("What is Rui's phone number?", host)
    assert not contact_of_another("What is the guesthouse's phone number?", host)  # (its file's name)
