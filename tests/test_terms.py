"""Terms a contract defines for its parties ("the Lender"), found and used to answer."""

from __future__ import annotations

from rag.documents import Document
from rag.terms import definitions, who_is, with_terms

MORTGAGE = (
    "Residential Mortgage Agreement\n1. Parties\n"
    '1.1 This agreement is made between Northgate Building Society, 2 Harbour Street, Leeds LS1 4ND ("the Lender") '
    "and Daniel James Marsh and Sophie Anne Marsh, of 14 Alder Close, Brookfield BR4\n"  # a PDF's line break
    '7NE ("the Borrower").\n'
    '2.1 The Lender agrees to lend the Borrower the sum of £285,000 ("the Loan").\n'
    '4.1 Interest is charged at a fixed rate of 3.19% per year until 30 June 2027 ("the Fixed Rate Period").\n'
    'Moving your mortgage to a new home ("porting") needs the Lender\'s consent.\n'
)


def document(text: str) -> Document:
    return Document(source="mortgage.pdf", title="Residential Mortgage Agreement", text=text, fingerprint="x")


def test_the_parties_a_contract_defines_terms_for_are_found() -> None:
    found = definitions(document(MORTGAGE))
    assert [(d.term, d.name) for d in found] == [
        ("Lender", "Northgate Building Society"),
        ("Borrower", "Daniel James Marsh and Sophie Anne Marsh"),  # across the line break; not the Loan or porting
    ]
    for d in found:
        assert MORTGAGE[d.name_start : d.name_end] == d.name
        assert MORTGAGE[d.start : d.end].startswith("1.1 This agreement") and MORTGAGE[d.start : d.end].endswith(
            '("the Borrower").'
        )


def test_who_a_term_stands_for_is_answered_with_its_definition() -> None:
    mortgage = document(MORTGAGE)
    found = definitions(mortgage)
    lender = who_is("Who is the lender?", found, lambda source: mortgage)
    assert lender is not None and lender.key_phrase == "Northgate Building Society"
    quote = lender.quotes[0]
    assert MORTGAGE[quote.start : quote.end] == quote.text and quote.highlight is not None
    assert MORTGAGE[slice(*quote.highlight)] == "Northgate Building Society"
    borrowers = who_is("Who are the borrowers?", found, lambda source: mortgage)
    assert borrowers is not None and borrowers.key_phrase == "Daniel James Marsh and Sophie Anne Marsh"
    parties = who_is("Who are the parties to the agreement?", found, lambda source: mortgage)
    assert parties is not None and parties.text.count("**") == 4, parties
    assert who_is("Who is the conveyancer?", found, lambda source: mortgage) is None
    assert who_is("Who signed for the Lender?", found, lambda source: mortgage) is None


def test_a_question_naming_a_party_is_asked_with_its_term() -> None:
    found = definitions(document(MORTGAGE))
    assert with_terms("Can Northgate change the rate?", found) == "Can Northgate (the Lender) change the rate?"
    assert with_terms("What is Northgate's phone number?", found) == "What is Northgate's (the Lender) phone number?"
    assert with_terms("Can the Lender change the rate?", found) == "Can the Lender change the rate?"  # it says so
    assert with_terms("What rate does Halifax charge?", found) == "What rate does Halifax charge?"
