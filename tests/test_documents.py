"""Loading real document collections: every format's text and structure, and hostile input that must fail cleanly.

Sample files are built in code (tests/fixtures/make_fixtures.py), so the PDFs and .docx files are real files that
pypdf and python-docx read, and nothing binary is committed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from fixtures.make_fixtures import (
    SAMPLE_HTML,
    SAMPLE_MARKDOWN,
    make_docx,
    make_eml,
    make_epub,
    make_odf,
    make_pdf,
    make_pptx,
    make_scan,
    make_xlsx,
    replace_zip_member,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import sentence_spans
from rag.documents import LOADERS, Document, DocumentError, Extracted, fingerprint, iter_files, load_file, load_folder


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def reason(path: Path, **kwargs: int) -> str:
    """The reason load_file gives for refusing ``path`` (the test fails if it loads)."""
    with pytest.raises(DocumentError) as caught:
        load_file(path, **kwargs)
    assert caught.value.path == path
    return caught.value.reason


# ---------------------------------------------------------------------------------------------------------------- PDF


def test_pdf_pages_carry_their_numbers_and_a_page_without_text_is_a_warning(tmp_path: Path) -> None:
    pages = ["Chapter one\nThe fleet grew by twelve ships.", "", "Chapter three\nNew routes open in spring."]
    doc = load_file(write(tmp_path, "report.pdf", make_pdf(pages, title="Annual report 2024")))
    assert doc.title == "Annual report 2024"
    assert len(doc.pages) == 3
    fleet = doc.text.index("The fleet grew by twelve ships.")
    spring = doc.text.index("New routes open in spring.")
    assert (doc.page_at(fleet), doc.page_at(spring)) == (1, 3)
    assert doc.text[doc.pages[2] :].startswith("Chapter three")
    assert doc.warnings == ("page 2 has no text (scanned image?)",)


def test_pdf_running_headers_footers_and_page_numbers_are_left_out(tmp_path: Path) -> None:
    bodies = [
        "Fleet report\nThe fleet grew by twelve ships.",
        "Ferries\nNine ferries serve the islands.",
        "Tugs\nThree tugs work the harbour.",
        "Outlook\nNew routes open in spring.",
    ]
    pages = [f"ACME Shipping - Confidential\n{body}\nPage {n} of 4" for n, body in enumerate(bodies, start=1)]
    doc = load_file(write(tmp_path, "fleet.pdf", make_pdf(pages)))
    assert "Confidential" not in doc.text and "of 4" not in doc.text
    assert doc.text == "\n\n".join(bodies)
    assert doc.page_at(doc.text.index("Three tugs")) == 3 and doc.warnings == ()
    # A short document keeps a line that repeats on its two pages; a lone page number still goes.
    short = load_file(
        write(tmp_path, "short.pdf", make_pdf(["Tide table\nHigh water 06:12.\n1", "Tide table\nLow 12:30.\n- 2 -"]))
    )
    assert short.text == "Tide table\nHigh water 06:12.\n\nTide table\nLow 12:30."
    # ... but a footer of two pages that writes its page number goes (found by a trial of a travel folder: "TAP Air
    # Portugal - PNR K7QX2M - page 1 of 2" stayed in the e-ticket's text)
    ticket = make_pdf([f"Flight TP1351 departs at 09:50.\nTAP - PNR K7QX2M - page {n} of 2" for n in (1, 2)])
    assert load_file(write(tmp_path, "ticket.pdf", ticket)).text == "\n\n".join(["Flight TP1351 departs at 09:50."] * 2)
    # Lines that repeat but for their numbers are data ("Weight: 12 kg" on a data sheet's every page), and a lone
    # number that is not the page's own (a year) stays.
    sheets = [f"Product sheet: X{n}\nThe X{n} is light.\nWeight: {10 + n} kg\n{2020 + n}" for n in range(1, 5)]
    sheet = load_file(write(tmp_path, "sheets.pdf", make_pdf(sheets)))
    assert "Weight: 13 kg" in sheet.text and "2023" in sheet.text and "Product sheet: X3" in sheet.text
    # A page with only its running lines has no text of its own: said, as for a scanned page.
    scanned = load_file(
        write(tmp_path, "scan.pdf", make_pdf([*pages[:3], "ACME Shipping - Confidential\nPage 4 of 4"]))
    )
    assert scanned.warnings == ("page 4 has no text (scanned image?)",)


@pytest.mark.parametrize(
    "junk",
    [
        "about:blank",  # what Chromium writes when it prints
        "Untitled",
        "Untitled-1",
        "https://example.com/tides?year=2025",
        "/home/ann/Downloads/export 3",
        "C:\\Users\\ann\\Documents\\tides",
        "   ",
        "tides-2025.docx",
    ],
)
def test_pdf_metadata_title_that_is_junk_gives_way_to_the_first_line(tmp_path: Path, junk: str) -> None:
    pdf = make_pdf(["Tide tables for 2025\nHigh water is at 06:12 on the first of May."], title=junk)
    assert load_file(write(tmp_path, "tides.pdf", pdf)).title == "Tide tables for 2025"


def test_pdf_metadata_title_about_blank_gives_way_to_the_file_name_without_a_title_line(tmp_path: Path) -> None:
    pdf = make_pdf(["High water is at 06:12 on the first of May."], title="about:blank")
    assert load_file(write(tmp_path, "tide_tables-2025.pdf", pdf)).title == "Tide tables 2025"


def test_pdf_metadata_title_written_by_word_loses_the_program_name_and_the_file_suffix(tmp_path: Path) -> None:
    pdf = make_pdf(["High water is at 06:12."], title="Microsoft Word - Harbour report 2025.docx")
    assert load_file(write(tmp_path, "export.pdf", pdf)).title == "Harbour report 2025"
    pdf = make_pdf(["High water is at 06:12."], title="Microsoft Word - Harbour report.docx.pdf")
    assert load_file(write(tmp_path, "export2.pdf", pdf)).title == "Harbour report"
    for junk in ("Microsoft Word - Document1", "Microsoft Excel - Book1.xlsx", "PowerPoint Presentation", "-", ".."):
        pdf = make_pdf(["Tide tables", "High water is at 06:12."], title=junk)
        assert load_file(write(tmp_path, "junk.pdf", pdf)).title == "Tide tables", junk  # the first line instead


def test_a_pdf_that_parses_too_slowly_is_cut_short_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pypdf

    import rag.formats.pdf

    real = pypdf.PageObject.extract_text

    def slow(self: pypdf.PageObject, *args: object, **kwargs: object) -> str:
        time.sleep(0.2)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", slow)
    monkeypatch.setattr(rag.formats.pdf, "READ_SECONDS", 0.3)
    monkeypatch.setattr(rag.formats.pdf, "READ_SECONDS_PER_PAGE", 0.0)
    pages = ["The fleet grew by twelve ships.", "Fuel costs fell.", "New routes open in spring."]
    doc = load_file(write(tmp_path, "slow.pdf", make_pdf(pages)))
    assert "The fleet grew by twelve ships." in doc.text and "New routes" not in doc.text
    assert len(doc.pages) == 3  # page numbers of what was read stay right
    assert doc.warnings[-1].endswith("-3 were not read: the file took over 0 s to parse (damaged or unusually complex)")
    # Indexed cut short, the file is read again on the next sync (not kept by its unchanged size and date).
    from conftest import HashEmbedder

    from rag import Pipeline

    index_dir = tmp_path.parent / f"{tmp_path.name}-index"
    pipeline = Pipeline(docs_dir=tmp_path, index_dir=index_dir, embedder=HashEmbedder())
    assert "were not read" in pipeline.index().warnings[-1]
    assert "New routes" not in pipeline.document_text("slow.pdf")
    monkeypatch.setattr(pypdf.PageObject, "extract_text", real)  # the machine is no longer slow
    assert pipeline.index().reread == ["slow.pdf"]  # unchanged, read again
    assert "New routes open in spring." in pipeline.document_text("slow.pdf")


def test_pdf_lines_laid_out_in_columns_are_read_as_table_rows(tmp_path: Path) -> None:
    """Found by a trial of a tea shop: a price list typeset in columns was read as lines of words ("LK-BLK-003
    Assam Halmari Gold 44.00 39.50 35.00"), so no price stood under its tier. Prose with two spaces after a full
    stop, and lines of as many words that do not line up, are not a table."""
    page = (
        "Price list.  Valid from 1 April.  Prices per kg.\n"
        "SKU         Tea                          Tier A   Tier B   Tier C\n"
        "LK-GRN-014  Sencha Kyoto Morning         52.00    47.00    42.00\n"
        "LK-GRN-011  Dragon Well (Longjing)      120.00   108.00    96.00\n"
        "LK-BLK-003  Assam Halmari Gold           44.00    39.50    35.00\n"
        "Orders ship  within two days.\nWe close on Sundays  and on holidays.\nCall us  any time."
    )
    doc = load_file(write(tmp_path, "prices.pdf", make_pdf([page])))
    lines = doc.text.split("\n")
    assert lines[1:5] == [
        "SKU | Tea | Tier A | Tier B | Tier C",
        "LK-GRN-014 | Sencha Kyoto Morning | 52.00 | 47.00 | 42.00",
        "LK-GRN-011 | Dragon Well (Longjing) | 120.00 | 108.00 | 96.00",
        "LK-BLK-003 | Assam Halmari Gold | 44.00 | 39.50 | 35.00",
    ]
    assert lines[0] == "Price list.  Valid from 1 April.  Prices per kg."
    assert lines[5:] == ["Orders ship  within two days.", "We close on Sundays  and on holidays.", "Call us  any time."]
    centred = (  # a paper's table: its headers centred over figures (found by a trial of a research folder)
        "Table 1. Detection results.\nModel                          Params (M)  mAP@0.5 test  FPS (Pi 5)\n"
        "YOLOv5s (baseline)                 7.2        0.612         2.1\n"
        "PolliCam (ours)                    3.2        0.703         3.9\nTiling contributed most of the gain."
    )
    doc = load_file(write(tmp_path, "paper.pdf", make_pdf([centred])))
    assert doc.text.split("\n")[1:4] == [
        "Model | Params (M) | mAP@0.5 test | FPS (Pi 5)",
        "YOLOv5s (baseline) | 7.2 | 0.612 | 2.1",
        "PolliCam (ours) | 3.2 | 0.703 | 3.9",
    ]


def test_pdf_lines_wrapped_inside_a_sentence_are_rejoined_but_headings_and_lists_are_not(tmp_path: Path) -> None:
    page = (
        "Fleet report\nThe fleet grew by\ntwelve ships in 2023 and\nnow sails daily. The new hub opens in\n"
        "October, run by\nA. Berg, Lars Holm,\nand 40 crew. It sits at Kaistraße 17,\n20457 Hamburg.\n"
        "- Ferries: 9\n- Tugs: 3\nContacts\nAnna Berg\n"
        "Stores:\n1. Flour, sugar,\n2. Eggs"
    )
    doc = load_file(write(tmp_path, "fleet.pdf", make_pdf([page])))
    joined = "The fleet grew by twelve ships in 2023 and now sails daily."
    capital = "The new hub opens in October, run by A. Berg, Lars Holm, and 40 crew."
    address = "It sits at Kaistraße 17, 20457 Hamburg."  # a comma after a number, then a postcode
    lists = "- Ferries: 9\n- Tugs: 3\nContacts\nAnna Berg\nStores:\n1. Flour, sugar,\n2. Eggs"
    assert doc.text == f"Fleet report\n{joined} {capital} {address}\n{lists}"
    sentences = [doc.text[s:e] for s, e in sentence_spans(doc.text)]
    assert joined in sentences and capital in sentences and address in sentences


def test_pdf_bookmarks_become_sections_at_their_heading(tmp_path: Path) -> None:
    pdf = make_pdf(["Intro\nWelcome aboard.", "Safety rules\nWear a life jacket."], outline=[("Safety rules", 1)])
    doc = load_file(write(tmp_path, "guide.pdf", pdf))
    (offset, heading), *_ = doc.sections
    assert heading == "Safety rules" and doc.text[offset:].startswith("Safety rules")
    assert doc.section_at(doc.text.index("Wear a life jacket")) == "Safety rules"
    assert doc.section_at(doc.text.index("Welcome")) is None


def test_pdf_with_no_text_at_all_is_refused_as_scanned(tmp_path: Path) -> None:
    assert "scanned" in reason(write(tmp_path, "scan.pdf", make_pdf(["", ""])))


def test_pdf_with_a_user_password_is_refused_but_an_owner_only_password_opens(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    def encrypted(user: str, algorithm: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(["Secret tide table."]))))
        writer.encrypt(user_password=user, owner_password="owner", algorithm=algorithm)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    assert "password" in reason(write(tmp_path, "locked.pdf", encrypted("secret", "RC4-128")))
    assert "password" in reason(write(tmp_path, "locked-aes.pdf", encrypted("secret", "AES-256")))
    # Many published PDFs carry only an owner password (no printing, no copying): their text is readable.
    for algorithm in ("RC4-128", "AES-128", "AES-256"):
        doc = load_file(write(tmp_path, f"open-{algorithm}.pdf", encrypted("", algorithm)))
        assert doc.text == "Secret tide table.", algorithm


def test_damaged_and_fake_pdfs_are_refused_with_a_reason(tmp_path: Path) -> None:
    pdf = make_pdf(["Some text on a page."])
    assert "PDF" in reason(write(tmp_path, "cut.pdf", pdf[:60]))
    assert "not a PDF" in reason(write(tmp_path, "fake.pdf", b"<html>this is not a pdf</html>"))


# --------------------------------------------------------------------------------------------------------------- DOCX


def test_docx_keeps_paragraph_order_headings_and_tables_as_whole_rows(tmp_path: Path) -> None:
    data = make_docx(
        [
            ("title", "Crew handbook"),
            ("h1", "Safety"),
            ("p", "Life jackets are stored under every seat."),
            ("h2", "Rota"),
            ("p", "Table 1: who skippers when."),
            ("table", [["Day", "Skipper"], ["Monday", "Ana Lopez"], ["Tuesday", ""]]),
            ("p", "Swap shifts with the harbour master's consent."),
        ],
    )
    doc = load_file(write(tmp_path, "handbook.docx", data))
    assert doc.title == "Crew handbook"
    assert [heading for _, heading in doc.sections] == ["Crew handbook", "Safety", "Rota"]
    assert all(doc.text[offset:].startswith(heading) for offset, heading in doc.sections)
    table = "Day | Skipper\nMonday | Ana Lopez\nTuesday |"
    assert "Table 1: who skippers when.\n\n" + table in doc.text
    assert doc.text.index("Life jackets") < doc.text.index(table) < doc.text.index("Swap shifts")
    assert doc.section_at(doc.text.index("Monday | Ana Lopez")) == "Rota"


def test_docx_reads_content_controls_and_tracked_insertions_but_not_deletions(tmp_path: Path) -> None:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = (
        f'<w:document xmlns:w="{w}"><w:body>'
        '<w:p><w:r><w:t>Kept text</w:t></w:r><w:ins><w:r><w:t xml:space="preserve"> and inserted</w:t></w:r></w:ins>'
        "<w:del><w:r><w:delText>deleted words</w:delText></w:r></w:del></w:p>"
        "<w:sdt><w:sdtContent><w:p><w:r><w:t>Inside a content control</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        "<w:p><w:hyperlink><w:r><w:t>Linked words</w:t></w:r></w:hyperlink></w:p>"
        "</w:body></w:document>"
    )
    doc = load_file(write(tmp_path, "revised.docx", make_docx([("p", "x")], document_xml=body)))
    assert doc.text == "Kept text and inserted\n\nInside a content control\n\nLinked words"


def test_docx_reads_text_boxes_footnotes_endnotes_headers_and_footers(tmp_path: Path) -> None:
    import docx

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    document = docx.Document()
    document.add_paragraph("Ferries leave every hour.")
    document.sections[0].header.paragraphs[0].text = "Harbour Authority internal handbook"
    document.sections[0].footer.paragraphs[0].text = "Page 3"  # a bare page number says nothing: left out
    buffer = io.BytesIO()
    document.save(buffer)
    parts = {i.filename: zipfile.ZipFile(buffer).read(i) for i in zipfile.ZipFile(buffer).infolist()}
    body = parts["word/document.xml"].decode()
    box = (
        '<w:p><w:r><w:t>Ticket prices rose in May.</w:t></w:r><w:r><w:footnoteReference w:id="7"/></w:r>'
        '<w:r><w:endnoteReference w:id="2"/></w:r><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml">'
        "<v:textbox><w:txbxContent><w:p><w:r><w:t>Call-out: children travel free.</w:t></w:r></w:p>"
        "</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>"
    )
    parts["word/document.xml"] = body.replace("<w:sectPr", box + "<w:sectPr", 1).encode()

    def notes(kind: str, *texts: tuple[str, str]) -> bytes:
        separator = f'<w:{kind} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{kind}>'
        items = "".join(f'<w:{kind} w:id="{i}"><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:{kind}>' for i, t in texts)
        return f'<w:{kind}s xmlns:w="{w}">{separator}{items}</w:{kind}s>'.encode()

    parts["word/footnotes.xml"] = notes("footnote", ("7", "Prices from the 2024 tariff."))
    parts["word/endnotes.xml"] = notes("endnote", ("2", "Source: harbour annual report."))
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    links = "".join(f'<Relationship Id="rIdX{k}" Type="{rel}{k}s" Target="{k}s.xml"/>' for k in ("footnote", "endnote"))
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", links + "</Relationships>").encode()
    kinds = "application/vnd.openxmlformats-officedocument.wordprocessingml."
    overrides = "".join(
        f'<Override PartName="/word/{k}s.xml" ContentType="{kinds}{k}s+xml"/>' for k in ("footnote", "endnote")
    )
    types = parts["[Content_Types].xml"].decode()
    parts["[Content_Types].xml"] = types.replace("</Types>", overrides + "</Types>").encode()
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w") as archive:
        for name, content in parts.items():
            archive.writestr(name, content)

    doc = load_file(write(tmp_path, "ferries.docx", packed.getvalue()))
    assert doc.text == (
        "Ferries leave every hour.\n\nTicket prices rose in May.\n\nCall-out: children travel free.\n\n"
        "Footnotes\n\nFootnote 1: Prices from the 2024 tariff.\n\nEndnotes\n\nEndnote 1: Source: harbour annual "
        "report.\n\nHeaders and footers\n\nHarbour Authority internal handbook"
    )
    assert [h for _, h in doc.sections] == ["Footnotes", "Endnotes", "Headers and footers"]
    assert doc.section_at(doc.text.index("Prices from")) == "Footnotes"


def test_docx_headings_are_found_by_style_name_in_a_localised_word(tmp_path: Path) -> None:
    data = make_docx([("title", "Handbuch"), ("h1", "Sicherheit"), ("p", "Schwimmwesten liegen unter dem Sitz.")])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        styles, body = archive.read("word/styles.xml"), archive.read("word/document.xml")
    for english, german in {b"Heading1": b"berschrift1", b"Title": b"Titel"}.items():  # ids translated, names not
        styles = styles.replace(b'w:styleId="%s"' % english, b'w:styleId="%s"' % german)
        body = body.replace(b'w:pStyle w:val="%s"' % english, b'w:pStyle w:val="%s"' % german)
    data = replace_zip_member(replace_zip_member(data, "word/styles.xml", styles), "word/document.xml", body)
    doc = load_file(write(tmp_path, "handbuch.docx", data))
    assert doc.title == "Handbuch"
    assert [heading for _, heading in doc.sections] == ["Handbuch", "Sicherheit"]


def test_not_really_docx_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)
    assert "old binary Word file" in reason(write(tmp_path, "old.docx", ole))
    assert "ZIP" in reason(write(tmp_path, "text.docx", "just text, not a zip"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "a zip, but not a Word document")
    assert "not a Word document" in reason(write(tmp_path, "zip.docx", buffer.getvalue()))


def test_docx_zip_bomb_is_refused_before_unzipping(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.formats.common

    monkeypatch.setattr(rag.formats.common, "_MAX_UNZIPPED", 100_000)
    bomb = replace_zip_member(make_docx([("p", "x")]), "word/media/zeros.bin", b"")
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(bomb)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, source.read(info.filename))
        target.writestr("word/media/zeros.bin", bytes(5_000_000))  # 5 MB of zeros compress to ~5 KB
    assert len(buffer.getvalue()) < 50_000
    assert "zip bomb" in reason(write(tmp_path, "bomb.docx", buffer.getvalue()))


# ------------------------------------------------------------------------------------------------ PPTX and XLSX


def test_docx_lists_keep_their_marks_one_item_per_line(tmp_path: Path) -> None:
    """Found by a trial: a handbook's numbered steps lost their numbers, so "How do I request parental leave?" got
    only "To request parental leave, follow these steps:"."""
    data = make_docx(
        [
            ("h1", "Requesting parental leave"),
            ("p", "To request parental leave, follow these steps:"),
            ("number", "Tell your line manager."),
            ("number", "Complete the form in the HR portal."),
            ("p", "Bring:"),
            ("bullet", "your ID"),
            ("bullet", "the certificate"),
        ]
    )
    doc = load_file(write(tmp_path, "handbook.docx", data))
    assert (
        "follow these steps:\n\n1. Tell your line manager.\n2. Complete the form in the HR portal.\n\nBring:\n\n"
        "- your ID\n- the certificate" in doc.text
    ), doc.text


def test_pptx_slides_are_pages_titles_are_sections_and_text_is_read_top_down(tmp_path: Path) -> None:
    deck = make_pptx(
        [
            {"title": "Quarterly review", "bullets": ["Revenue grew 12% to 4.1 million EUR.", "Two offices opened."]},
            {
                "title": "Offices",
                "table": [["Office", "Staff"], ["Lyon", "12"], ["Porto", "8"]],
                "box": "Draft for the board",  # added last, but it stands at the top of the slide
                "notes": "Mention the Gdansk lease.",
            },
            {},  # a picture-only slide
            {"table": [["Risk", "Owner"], ["Currency", "CFO"]]},  # no title
        ],
        title="Q3 review",
    )
    doc = load_file(write(tmp_path, "deck.pptx", deck))
    assert doc.text == (
        "Quarterly review\n\nRevenue grew 12% to 4.1 million EUR.\nTwo offices opened.\n\n"
        "Offices\n\nDraft for the board\n\nOffice | Staff\nLyon | 12\nPorto | 8\n\nNotes: Mention the Gdansk lease."
        "\n\nRisk | Owner\nCurrency | CFO"
    )
    assert doc.title == "Q3 review"
    assert doc.page_at(doc.text.index("Two offices")) == 1
    assert doc.page_at(doc.text.index("Porto")) == 2
    assert doc.page_at(doc.text.index("Gdansk")) == 2
    assert doc.page_at(doc.text.index("Currency")) == 4
    assert doc.warnings == ("slide 3 has no text (a picture?)",)
    assert doc.section_at(doc.text.index("Porto")) == "Offices"
    assert doc.section_at(doc.text.index("Currency")) == "Slide 4"  # not "Offices", the slide before
    assert_consistent(doc)


def test_blank_slides_at_the_end_of_a_deck_keep_its_pages_inside_the_text(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "d.pptx", make_pptx([{"title": "Intro", "bullets": ["Hello world"]}, {}, {}])))
    assert doc.pages == (0, len(doc.text), len(doc.text))
    assert doc.warnings == ("slide 2 has no text (a picture?)", "slide 3 has no text (a picture?)")
    assert_consistent(doc)


def test_a_quote_from_a_slide_says_slide_not_page() -> None:
    from rag.answering import Quote

    quote = Quote("Lyon | 12", "deck.pptx", 10, 19, 1.0, title="Q3 review", page=2, section="Offices")
    assert quote.location == "§ Offices, slide 2, chars 10-19"
    untitled = Quote("Currency | CFO", "deck.pptx", 30, 44, 1.0, title="Q3 review", page=4, section="Slide 4")
    assert untitled.location == "slide 4, chars 30-44"
    assert Quote("x", "r.pdf", 0, 1, 1.0, page=3).location == "p. 3, chars 0-1"


def test_xlsx_sheets_are_tables_under_their_names_with_values_as_shown(tmp_path: Path) -> None:
    book = make_xlsx(
        {
            "Travel": [
                ["Country", "Daily allowance", "Since", "Raise"],
                ["Norway", (95, '"€"#,##0.00'), dt.date(2024, 1, 1), (0.125, "0.0%")],
                ["Spain", 60.5, dt.datetime(2024, 3, 1, 9, 30)],
            ],
            "Empty": [],
            "Staff": [["Name", "Role"], ["Anna Nowak", "CFO | finance"]],
            "Secret": [["Password"], ["hunter2"]],
        },
        at="C3",  # the data does not start at A1: the empty columns before it are left out
        hidden=["Secret"],
    )
    doc = load_file(write(tmp_path, "allowances.xlsx", book))
    assert doc.text == (
        "Travel\n\nCountry | Daily allowance | Since | Raise\nNorway | €95.00 | 2024-01-01 | 12.5%\n"
        "Spain | 60.5 | 2024-03-01 09:30:00 |\n\nStaff\n\nName | Role\nAnna Nowak | CFO / finance"
    )
    assert [heading for _, heading in doc.sections] == ["Travel", "Staff"]
    assert doc.warnings == ("hidden sheet 'Secret' not read",)
    assert_consistent(doc)
    single = load_file(write(tmp_path, "offices.xlsx", make_xlsx({"Sheet1": [["Office", "Staff"], ["Lyon", 12]]})))
    assert single.text == "Office | Staff\nLyon | 12"  # one sheet: the table starts the document, as a CSV does
    assert single.title == "offices"


def test_xlsx_title_rows_are_headings_and_unsaved_formulas_are_shown_as_written(tmp_path: Path) -> None:
    book = make_xlsx(
        {
            "Targets": [
                ["Quarterly targets"],  # merged across the table: its title, not its header
                ["Quarter", "Owner", "Target"],
                ["Q1", "Anna", 100],
                ["Q2", "Ben", "=C3*2"],  # written by a program: no saved result to show
            ]
        },
        merged=[("Targets", "A1:C1")],
    )
    two_rows = make_xlsx({"T": [["Targets"], [""], ["Quarter", "Owner"], ["Q1", "Anna"]]}, merged=[("T", "A1:B2")])
    assert load_file(write(tmp_path, "two.xlsx", two_rows)).text == "Targets\n\nQuarter | Owner\nQ1 | Anna"
    # Found by a trial: a title typed in A1 and not merged was read as the columns' names, and the real header
    # row as a row of data (so "What do specialty drugs cost on the PPO?" had no column to read). A lone figure
    # above a table, or a one-column list, is no title.
    unmerged = make_xlsx({"T": [["Rx formulary 2025"], ["Tier", "Retail"], ["Tier 4", "25%"]]})
    assert load_file(write(tmp_path, "rx.xlsx", unmerged)).text == "Rx formulary 2025\n\nTier | Retail\nTier 4 | 25%"
    figure = make_xlsx({"T": [[2025], ["Tier", "Retail"]]})
    assert load_file(write(tmp_path, "fig.xlsx", figure)).text == "2025 |\nTier | Retail"
    column = make_xlsx({"T": [["Milk"], ["Eggs"]]})
    assert load_file(write(tmp_path, "list.xlsx", column)).text == "Milk\nEggs"
    doc = load_file(write(tmp_path, "targets.xlsx", book))
    assert doc.text == "Quarterly targets\n\nQuarter | Owner | Target\nQ1 | Anna | 100\nQ2 | Ben | =C3*2"
    assert doc.sections == ((0, "Quarterly targets"),)
    assert doc.warnings == ("1 formula cells have no saved result (the file was not saved by Excel): read as formulas",)


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (1234.5, "#,##0", "1,235"),  # halves round up, as Excel rounds them (Python's round() gives 1,234)
        (2.5, "0", "3"),
        (1234567, '#,##0,"K"', "1,235K"),  # a comma after the digits divides by 1,000
        (1234567, '#,##0.0,,"M"', "1.2M"),
        (0.4, "0.0%", "40.0%"),
        (12.5, "[$€-407] #,##0.00", "€ 12.50"),
        (2.5, '_-* #,##0.00\\ "€"_-;-* #,##0.00\\ "€"_-', "2.50 €"),
        (0.1 + 0.2, "General", "0.3"),
        (1e30, "#,##0.00", "1,000,000,000,000,000,000,000,000,000,000.00"),  # past Decimal's default precision
        (12345.6, "0." + "0" * 24, "12345.600000000000000000000000"),  # Excel allows 30 decimals
    ],
)
def test_xlsx_numbers_are_shown_in_their_cells_format(
    tmp_path: Path, value: float, number_format: str, shown: str
) -> None:
    book = make_xlsx({"Sheet1": [["Item", "Value"], ["x", (value, number_format)]]})
    assert load_file(write(tmp_path, "n.xlsx", book)).text == f"Item | Value\nx | {shown}"


def test_xlsx_reads_the_rows_a_sheet_holds_not_the_size_it_declares(tmp_path: Path) -> None:
    book = make_xlsx({"Sheet1": [[f"Office{i}", i] for i in range(50)]})
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    stale = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:A1"/>', sheet)
    doc = load_file(write(tmp_path, "stale.xlsx", replace_zip_member(book, "xl/worksheets/sheet1.xml", stale.encode())))
    assert doc.text.splitlines()[-1] == "Office49 | 49"  # all 50 rows, not the one cell declared
    empties = "".join(f'<row r="{r}"><c r="A{r}" s="0"/></row>' for r in range(51, 20_000))
    huge = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>', sheet)
    huge = huge.replace("</sheetData>", empties + "</sheetData>")
    started = time.perf_counter()
    doc = load_file(write(tmp_path, "huge.xlsx", replace_zip_member(book, "xl/worksheets/sheet1.xml", huge.encode())))
    assert len(doc.text.splitlines()) == 50
    assert time.perf_counter() - started < 10  # 16,384 columns declared: not 20,000 rows padded to them


def test_a_cell_far_down_a_sheet_costs_the_rows_before_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.formats.xlsx

    monkeypatch.setattr(rag.formats.xlsx, "MAX_CELLS", 1_000)
    book = make_xlsx({"Sheet1": [["Office", "Staff"], ["Lyon", 12]]})
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    far = sheet.replace(
        "</sheetData>", '<row r="5000000"><c r="A5000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    started = time.perf_counter()
    doc = load_file(write(tmp_path, "far.xlsx", replace_zip_member(book, "xl/worksheets/sheet1.xml", far.encode())))
    assert doc.text == "Office | Staff\nLyon | 12"
    assert doc.warnings == ("sheet 'Sheet1' cut short: the workbook has over 1,000 cells",)
    assert time.perf_counter() - started < 5  # 5,000,000 empty rows before it are not walked


def test_xlsx_stops_at_its_cell_budget_with_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.formats.xlsx

    monkeypatch.setattr(rag.formats.xlsx, "MAX_CELLS", 100)
    doc = load_file(write(tmp_path, "big.xlsx", make_xlsx({"A": [[f"r{i}", i] for i in range(80)], "B": [["z"]]})))
    assert doc.text.splitlines()[-1] == "r49 | 49"
    assert doc.warnings == ("sheet 'A' cut short: the workbook has over 100 cells",)


def test_a_sparse_xlsx_table_keeps_its_rows_of_one_cell(tmp_path: Path) -> None:
    book = make_xlsx({"Fruit": [["Apples", ""], ["Pears", ""], ["Plums", "ripe in August"]]})
    assert load_file(write(tmp_path, "fruit.xlsx", book)).text == "Apples |\nPears |\nPlums | ripe in August"


@pytest.mark.parametrize(("suffix", "kind"), [(".pptx", "PowerPoint"), (".xlsx", "Excel")])
def test_not_really_pptx_or_xlsx_files_are_refused_with_a_reason(tmp_path: Path, suffix: str, kind: str) -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)  # .ppt / .xls renamed, or password-protected
    assert f"old binary {kind} file" in reason(write(tmp_path, f"old{suffix}", ole))
    assert "ZIP" in reason(write(tmp_path, f"text{suffix}", "just text, not a zip"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "a zip, but not an Office document")
    assert f"not a{'n' if kind == 'Excel' else ''} {kind} document" in reason(
        write(tmp_path, f"zip{suffix}", buffer.getvalue())
    )
    empty = make_pptx([{}]) if suffix == ".pptx" else make_xlsx({"Sheet1": []})
    assert "no text" in reason(write(tmp_path, f"empty{suffix}", empty))
    other = make_xlsx({"Sheet1": [["a", "b"]]}) if suffix == ".pptx" else make_pptx([{"title": "T"}])
    named = "an Excel file named .pptx: rename it to .xlsx" if suffix == ".pptx" else "a PowerPoint file named .xlsx"
    assert named in reason(write(tmp_path, f"renamed{suffix}", other))


@pytest.mark.parametrize(("name", "message"), [("deck.ppt", "PowerPoint"), ("book.xls", "Excel"), ("a.doc", "Word")])
def test_old_office_files_are_skipped_with_the_format_to_save_them_in(tmp_path: Path, name: str, message: str) -> None:
    newer = {"PowerPoint": ".pptx", "Excel": ".xlsx", "Word": ".docx"}[message]
    expected = f"an old binary {message} file (.{name.split('.')[1]}): save it as {newer} to index it"
    assert reason(write(tmp_path, name, b"\xd0\xcf\x11\xe0" + bytes(600))) == expected


# ---------------------------------------------------------------------------------------------- E-mail and EPUB


def test_an_email_is_its_headers_its_body_and_its_readable_attachments(tmp_path: Path) -> None:
    report = make_pdf(["Annual report\nThe fleet grew by 12 ships."], title="Report")
    mail = make_eml(
        "Budget approved for Lyon",
        "Hi all,\r\n\r\nThe board approved 1.2 million EUR for the Lyon office.\r\nAnna\r\n",
        html="<p>Hi all,</p><p>The board approved <b>1.2 million EUR</b> for the Lyon office.</p>",
        attachments=[("report.pdf", report), ("logo.png", b"\x89PNG\r\n"), ("broken.docx", b"not a zip")],
    )
    doc = load_file(write(tmp_path, "budget.eml", mail))
    assert doc.title == "Budget approved for Lyon"
    assert doc.text == (
        "Anna Nowak <anna@example.com> sent this e-mail to Team <team@example.com> on Tuesday 3 December 2024 at "
        '09:15 (UTC+01:00), with the subject "Budget approved for Lyon". It was copied to Tom Berg <tom@example.com>.'
        "\n\nHi all,\n\nThe board approved 1.2 "
        "million EUR for the Lyon office.\nAnna\n\nAttachment: report.pdf\n\nAnnual report\nThe fleet grew by 12 ships."
    )  # the plain-text body (not the HTML copy), CRLF as LF; the picture skipped; the broken file reported
    assert doc.section_at(doc.text.index("12 ships")) == "Attachment: report.pdf"
    assert doc.warnings == ("attachment broken.docx could not be read: not a valid .docx file (damaged ZIP package: "
                            "File is not a zip file)",)  # fmt: skip
    assert_consistent(doc)


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        ("We move on 16 May.\n\nThanks,\nMaria Lindqvist\nFacilities Manager\n", "Maria Lindqvist, Facilities Manager"),
        ("We move on 23 May.\n\nOliver Grant\nChief Operating Officer\n", "Oliver Grant, Chief Operating Officer"),
        ("Thanks, see you.\n\nBest regards,\nAnna\n", "Best regards,\nAnna"),  # a name alone: as it was
    ],
)
def test_an_emails_signature_says_who_holds_the_role_in_one_line(tmp_path: Path, body: str, signature: str) -> None:
    """Found by a trial: "Who is the Facilities Manager?" was refused: "Maria Lindqvist" and "Facilities Manager"
    were two lines of two words, too short to be sentences."""
    doc = load_file(write(tmp_path, "move.eml", make_eml("Office move", body)))
    assert doc.text.endswith(signature), doc.text


def test_an_emails_quoted_and_wrapped_lines_read_as_sentences(tmp_path: Path) -> None:
    """Found by trials of a sports club's and a teacher's folders: the earlier message a reply quotes ("> ") and the
    lines a mail program wraps at 72 characters were read line by line, so "how do i pay for the kit" and "who picks
    up oliver on fridays" found no sentence that answers. A sign-off and a list of short lines stay as written."""
    body = (
        "Thank you, I have passed this on to the office.\n\nKind regards,\nSarah Patel\n\n"
        "On Tue, 13 Jan 2026, Karen Grant wrote:\n> From Friday 16 January Oliver will be collected on Fridays by his\n"
        "> grandmother, Mrs Eileen Grant, as I have started a new job.\n>\n>> Prices:\n>> Shorts 12 pounds\n"
        ">> Socks 6 pounds\n>5 kg parcels go by courier.\n"
    )
    doc = load_file(write(tmp_path, "pick-up.eml", make_eml("Re: Oliver - Friday pick up", body)))
    assert doc.text.endswith(
        "Kind regards,\nSarah Patel\n\nOn Tue, 13 Jan 2026, Karen Grant wrote:\nFrom Friday 16 January Oliver will be "
        "collected on Fridays by his grandmother, Mrs Eileen Grant, as I have started a new job.\n\nPrices:\n"
        "Shorts 12 pounds\nSocks 6 pounds\n>5 kg parcels go by courier."
    ), doc.text


def test_the_senders_sentence_reads_well_whichever_headers_a_mail_has(tmp_path: Path) -> None:
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Cc"], mail["Subject"] = "A <a@x.org>", "B <b@x.org>", "C <c@x.org>", "Budget"
    mail.set_content("The budget is 12 EUR.")
    assert load_file(write(tmp_path, "a.eml", bytes(mail))).text.startswith(
        'A <a@x.org> sent this e-mail to B <b@x.org>, with the subject "Budget". It was copied to C <c@x.org>.\n\n'
    )
    del mail["To"], mail["Subject"]
    mail["Date"] = "Mon, 02 Sep 2024 09:00:00 +0200"
    assert load_file(write(tmp_path, "b.eml", bytes(mail))).text.startswith(
        "A <a@x.org> sent this e-mail on Monday 2 September 2024 at 09:00 (UTC+02:00). "
        "It was copied to C <c@x.org>.\n\n"
    )


def test_an_html_only_email_is_read_as_its_main_text_and_a_forwarded_one_once(tmp_path: Path) -> None:
    deepest = make_eml("Old thread", "Deep inside.\n")
    inner = make_eml(
        "Ferry times",
        "The night ferry leaves at 23:40.\n",
        attachments=[("fares.txt", b"A return ticket costs 30 EUR."), ("old.eml", deepest)],
    )
    mail = make_eml("Fwd: Ferry times", "See below.\n", attachments=[("ferry.eml", inner)])
    doc = load_file(write(tmp_path, "fwd.eml", mail))
    assert "Attachment: ferry.eml" in doc.text and "The night ferry leaves at 23:40." in doc.text
    assert "Attachment: fares.txt\n\nA return ticket costs 30 EUR." in doc.text  # the forwarded mail's file
    assert "Deep inside." not in doc.text  # but not a mail attached to the attached one: no endless nesting
    html_only = write(tmp_path, "news.eml", make_eml("News", "x").replace(b"text/plain", b"text/html"))
    assert "x" in load_file(html_only).text
    assert "not an e-mail" in reason(write(tmp_path, "notes.eml", "just some words\nin a file\n"))


def test_an_epub_is_its_chapters_in_reading_order_with_their_headings(tmp_path: Path) -> None:
    book = make_epub(
        [
            ("The harbour", "<p>The harbour opened in 1887.</p><h2>Ferries</h2><p>Ferries leave hourly.</p>"),
            ("Lighthouses", "<nav><p>Contents</p></nav><p>The lighthouse is 42 m tall.</p>"),
        ],
        title="Coast guide",
        spine=[1, 0],  # the spine, not the file order, is the reading order
        author="Ann Example",
    )
    doc = load_file(write(tmp_path, "coast.epub", book))
    assert doc.title == "Coast guide"
    assert doc.text == (
        "Coast guide was written by Ann Example.\n\nLighthouses\n\nThe lighthouse is 42 m tall.\n\nThe harbour"
        "\n\nThe harbour opened in 1887.\n\nFerries\n\nFerries leave hourly."
    )
    assert [heading for _, heading in doc.sections] == ["Lighthouses", "The harbour", "Ferries"]
    assert doc.section_at(doc.text.index("hourly")) == "Ferries"
    assert_consistent(doc)


def test_attachments_are_found_by_content_type_named_safely_and_counted_when_read(tmp_path: Path) -> None:
    from email.message import EmailMessage

    inner = EmailMessage()
    inner["Subject"], inner["From"] = "Fees", "ben@example.com"
    inner.set_content("Mooring costs 25 EUR a night.")
    mail = EmailMessage()
    mail["Subject"], mail["From"] = "Forward", "anna@example.com"
    mail.set_content("See attached.")
    for n in range(25):  # pictures do not count against the limit of attachments read
        mail.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename=f"logo{n}.png")
    mail.add_attachment("Ferries leave hourly.", filename="reports/ferries.txt")  # a "/" in the name
    mail.add_attachment(inner)  # message/rfc822 without a file name
    doc = load_file(write(tmp_path, "fwd.eml", bytes(mail)))
    assert "Attachment: reports/ferries.txt\n\nFerries leave hourly." in doc.text
    assert 'Forwarded e-mail: Fees\n\nben@example.com sent this e-mail, with the subject "Fees".\n\nMooring' in doc.text
    assert doc.warnings == ()
    assert_consistent(doc)


def test_an_epub_spine_that_repeats_a_chapter_reads_it_once_and_obfuscated_fonts_are_no_drm(tmp_path: Path) -> None:
    book = make_epub([("Only", "<p>Read me once.</p>")], spine=[0] * 50)
    assert load_file(write(tmp_path, "loop.epub", book)).text == "Only\n\nRead me once."
    fonts = (
        '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
        'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:EncryptionMethod '
        'Algorithm="http://www.idpf.org/2008/embedding"/><enc:CipherData><enc:CipherReference URI="{uri}"/>'
        "</enc:CipherData></enc:EncryptedData></encryption>"
    )
    for uri, refused in (("OEBPS/fonts/serif.otf", False), ("/OEBPS/text/chapter%200.xhtml", True)):
        with zipfile.ZipFile(io.BytesIO(make_epub([("A", "<p>Text.</p>")]))) as source:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as target:
                for info in source.infolist():
                    target.writestr(info, source.read(info.filename))
                target.writestr("META-INF/encryption.xml", fonts.format(uri=uri))
        path = write(tmp_path, f"book-{refused}.epub", buffer.getvalue())
        if refused:
            assert "DRM-protected" in reason(path)
        else:
            assert load_file(path).text == "A\n\nText."


def test_not_really_epub_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    assert "ZIP" in reason(write(tmp_path, "text.epub", "just text"))
    assert "not an EPUB document" in reason(write(tmp_path, "docx.epub", make_docx([("p", "x")])))


# ------------------------------------------------------------------------------------------------------- OpenDocument

ODT_BODY = (
    '<text:p text:style-name="P1">Crew <text:span>handbook</text:span></text:p>'
    "<text:table-of-content><text:index-body><text:p>Safety<text:tab/>1</text:p></text:index-body>"
    "</text:table-of-content>"
    "<text:tracked-changes><text:changed-region><text:deletion><text:p>Deleted words</text:p></text:deletion>"
    "</text:changed-region></text:tracked-changes>"
    '<text:h text:outline-level="1">Safety</text:h>'
    "<text:p>Life jackets are<text:s/> stored under <text:a>every seat</text:a>.<text:note text:note-class="
    '"footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Checked every spring.</text:p>'
    "</text:note-body></text:note><office:annotation><text:p>Is this still true?</text:p></office:annotation>"
    '<draw:frame text:anchor-type="paragraph"><draw:text-box><text:p>Call the harbour master on channel 12.'
    "</text:p></draw:text-box></draw:frame></text:p>"
    "<text:list><text:list-item><text:p>Wear boots.</text:p></text:list-item>"
    "<text:list-item><text:p>Carry a knife.<text:line-break/>Keep it sharp.</text:p></text:list-item></text:list>"
    '<text:section><text:h text:outline-level="2">Rota</text:h>'
    "<table:table><table:table-header-rows><table:table-row><table:table-cell><text:p>Day</text:p></table:table-cell>"
    "<table:table-cell><text:p>Skipper</text:p></table:table-cell></table:table-row></table:table-header-rows>"
    "<table:table-row><table:table-cell><text:p>Monday</text:p></table:table-cell><table:table-cell><text:p>Ana "
    "Lopez</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell "
    'table:number-columns-spanned="2"><text:p>Tuesday: no sailing</text:p></table:table-cell>'
    "<table:covered-table-cell/></table:table-row></table:table></text:section>"
    '<text:p>Swap shifts with the consent of the harbour master.<text:note text:note-class="endnote">'
    "<text:note-body><text:p>Rule 4 of the club.</text:p></text:note-body></text:note></text:p>"
)
TITLE_STYLE = '<style:style style:name="P1" style:family="paragraph" style:parent-style-name="Title"/>'


def test_odt_reads_headings_paragraphs_lists_tables_and_boxes_in_order_then_its_notes(tmp_path: Path) -> None:
    page = (
        '<style:master-page style:name="Standard"><style:header><text:p>Harbour Authority internal handbook</text:p>'
        "</style:header><style:footer><text:p>Page <text:page-number>3</text:page-number></text:p></style:footer>"
        "</style:master-page>"
    )  # a bare page number says nothing: left out
    doc = load_file(write(tmp_path, "handbook.odt", make_odf("text", ODT_BODY, styles=TITLE_STYLE, pages=page)))
    assert doc.text == (
        "Crew handbook\n\nSafety\n\nLife jackets are  stored under every seat.\n\n"
        "Call the harbour master on channel 12.\n\nWear boots.\n\nCarry a knife.\nKeep it sharp.\n\n"
        "Rota\n\nDay | Skipper\nMonday | Ana Lopez\nTuesday: no sailing\n\n"
        "Swap shifts with the consent of the harbour master.\n\n"
        "Footnotes\n\nFootnote 1: Checked every spring.\n\nEndnotes\n\nEndnote 1: Rule 4 of the club.\n\n"
        "Headers and footers\n\nHarbour Authority internal handbook"
    )  # not the table of contents, the deleted words or the comment
    assert doc.title == "Crew handbook"  # its Title paragraph, as no title is in its metadata
    assert [heading for _, heading in doc.sections] == [
        "Crew handbook", "Safety", "Rota", "Footnotes", "Endnotes", "Headers and footers"
    ]  # fmt: skip
    assert doc.section_at(doc.text.index("Ana Lopez")) == "Rota"
    assert_consistent(doc)
    titled = load_file(write(tmp_path, "named.odt", make_odf("text", ODT_BODY, title="Crew handbook 2025")))
    assert titled.title == "Crew handbook 2025"


ODS_STYLES = (
    '<style:style style:name="ta1" style:family="table"><style:table-properties table:display="true"/></style:style>'
    '<style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/>'
    "</style:style>"
)


def cells(*values: str, repeat: int = 1) -> str:
    return "".join(
        f'<table:table-cell table:number-columns-repeated="{repeat}"><text:p>{v}</text:p></table:table-cell>'
        if v
        else f'<table:table-cell table:number-columns-repeated="{repeat}"/>'
        for v in values
    )


def test_ods_sheets_are_tables_as_shown_with_the_empty_margins_a_sheet_writes_left_out(tmp_path: Path) -> None:
    row = '<table:table-row table:number-rows-repeated="{n}">{cells}</table:table-row>'
    fees = "".join(
        [
            row.format(n=1, cells=cells("Length", "", "Fee") + cells("", repeat=16381)),
            row.format(n=1, cells=cells("up to 8 m", "", "25.00 EUR") + cells("", repeat=16381)),
            row.format(n=2, cells=cells("8 to 12 m", "", "40.00 EUR")),  # the same row twice
            row.format(n=1048570, cells=cells("", repeat=16384)),  # the rest of the sheet, empty
        ]
    )
    comment = "<office:annotation><text:p>Checked by Anna</text:p></office:annotation>"  # not the cell's text
    lyon = cells("Lyon") + f"<table:table-cell>{comment}<text:p>12</text:p></table:table-cell>"
    staff = row.format(n=1, cells=cells("Office", "Staff")) + row.format(n=1, cells=lyon)
    secret = row.format(n=1, cells=cells("Password", "hunter2"))
    body = (
        f'<table:table table:name="Fees" table:style-name="ta1">{fees}</table:table>'
        f'<table:table table:name="Staff" table:style-name="ta1">{staff}</table:table>'
        f'<table:table table:name="Secrets" table:style-name="ta2">{secret}</table:table>'
    )
    started = time.perf_counter()
    doc = load_file(write(tmp_path, "harbour-fees.ods", make_odf("spreadsheet", body, styles=ODS_STYLES)))
    assert time.perf_counter() - started < 2  # a million declared rows are not expanded
    assert doc.text == (
        "Fees\n\nLength | Fee\nup to 8 m | 25.00 EUR\n8 to 12 m | 40.00 EUR\n8 to 12 m | 40.00 EUR\n\n"
        "Staff\n\nOffice | Staff\nLyon | 12"
    )  # the column left empty in every row is dropped, as in a workbook
    assert doc.warnings == ("hidden sheet 'Secrets' not read",)
    assert doc.title == "harbour fees"
    assert doc.section_at(doc.text.index("Lyon")) == "Staff"


def test_ods_title_rows_are_headings_and_a_far_away_cell_costs_no_memory(tmp_path: Path) -> None:
    """Found by a review: a title merged across columns became the table's header row; and a 637-byte sheet
    of 400 one-cell rows and one cell 200,000 columns to the right took 654 MB (every row padded that wide)."""
    title = '<table:table-row><table:table-cell table:number-columns-spanned="3"><text:p>Price list 2024</text:p>'
    title += '</table:table-cell><table:covered-table-cell table:number-columns-repeated="2"/></table:table-row>'
    rows = "".join(f"<table:table-row>{cells(*r)}</table:table-row>" for r in [("Service", "Price"), ("Cold", "14.2")])
    doc = load_file(
        write(
            tmp_path, "prices.ods", make_odf("spreadsheet", f'<table:table table:name="P">{title}{rows}</table:table>')
        )
    )
    assert doc.text == "Price list 2024\n\nService | Price\nCold | 14.2"
    assert doc.sections == ((0, "Price list 2024"),)
    far = (
        '<table:table-row><table:table-cell table:number-columns-repeated="200000"/>'
        + cells("x")
        + "</table:table-row>"
    )
    body = "<table:table-row>" + cells("a") + "</table:table-row>"
    sheet = make_odf("spreadsheet", f'<table:table table:name="S">{body * 400}{far}</table:table>')
    started = time.perf_counter()
    doc = load_file(write(tmp_path, "far.ods", sheet))
    assert time.perf_counter() - started < 2
    assert doc.text == "a |\n" * 400 + " | x"  # two columns: the ones that hold text


def test_odp_slides_are_pages_read_top_down_with_their_notes_and_not_the_master_fields(tmp_path: Path) -> None:
    def frame(kind: str, y: str, text: str) -> str:
        kind = f' presentation:class="{kind}"' if kind else ""
        return (
            f'<draw:frame{kind} svg:x="1cm" svg:y="{y}"><draw:text-box><text:p>{text}</text:p></draw:text-box>'
            "</draw:frame>"
        )

    table = (
        '<draw:frame svg:x="1cm" svg:y="9cm"><table:table><table:table-row><table:table-cell><text:p>Office</text:p>'
        "</table:table-cell><table:table-cell><text:p>Staff</text:p></table:table-cell></table:table-row>"
        "<table:table-row><table:table-cell><text:p>Lyon</text:p></table:table-cell><table:table-cell><text:p>12"
        "</text:p></table:table-cell></table:table-row></table:table></draw:frame>"
    )
    notes = (
        '<presentation:notes><draw:page-thumbnail presentation:class="page"/>'
        + frame("", "12cm", "Mention the Gdansk lease.")  # a notes frame, as other programs may write it
        + frame("page-number", "24cm", "<text:page-number>&lt;number&gt;</text:page-number>")
        + "</presentation:notes>"
    )
    body = (
        '<draw:page draw:name="page1">'
        + frame("title", "1cm", "Quarterly review")
        + frame("outline", "60mm", "Two offices opened.")
        + frame("subtitle", "2in", "Revenue grew 12%.")  # 5.08 cm: above the outline, though written after it
        + frame("footer", "18cm", "Confidential")
        + "</draw:page>"
        + f'<draw:page draw:name="page2">{frame("title", "1cm", "Offices")}{table}{notes}</draw:page>'
        + '<draw:page draw:name="page3"><draw:frame svg:y="1cm"><draw:image/></draw:frame></draw:page>'
        + '<draw:page draw:name="page4"><draw:custom-shape svg:y="3cm"><text:p>Risks are low.</text:p>'
        + "<draw:enhanced-geometry/></draw:custom-shape></draw:page>"
    )
    doc = load_file(write(tmp_path, "review.odp", make_odf("presentation", body, title="Q3 review")))
    assert doc.text == (
        "Quarterly review\n\nRevenue grew 12%.\n\nTwo offices opened.\n\n"
        "Offices\n\nOffice | Staff\nLyon | 12\n\nNotes: Mention the Gdansk lease.\n\nRisks are low."
    )
    assert doc.title == "Q3 review"
    assert [doc.page_at(doc.text.index(s)) for s in ("Two offices", "Lyon", "Gdansk", "Risks")] == [1, 2, 2, 4]
    assert doc.section_at(doc.text.index("Risks")) == "Slide 4"  # not "Offices", the slide before
    assert doc.warnings == ("slide 3 has no text (a picture?)",)
    assert_consistent(doc)


def test_opendocument_boxes_in_boxes_and_grouped_shapes_are_read(tmp_path: Path) -> None:
    """Found by a review: a text box inside a text box was lost, and so was a slide's text in a group."""
    box = "<draw:frame><draw:text-box><text:p>{}</text:p>{}</draw:text-box></draw:frame>"
    inner = "<text:p>" + box.format("Inner box text.", "") + "</text:p>"
    odt = make_odf("text", "<text:p>Anchor paragraph." + box.format("Outer box text.", inner) + "</text:p>")
    assert (
        load_file(write(tmp_path, "boxes.odt", odt)).text == "Anchor paragraph.\n\nOuter box text.\n\nInner box text."
    )
    group = '<draw:g><draw:g><draw:frame svg:y="2cm"><draw:text-box><text:p>Grouped callout.</text:p></draw:text-box>'
    page = '<draw:page><draw:frame presentation:class="title" svg:y="1cm"><draw:text-box><text:p>Results</text:p>'
    odp = make_odf(
        "presentation", page + f"</draw:text-box></draw:frame>{group}</draw:frame></draw:g></draw:g></draw:page>"
    )
    assert load_file(write(tmp_path, "group.odp", odp)).text == "Results\n\nGrouped callout."


def test_what_an_opendocument_file_holds_decides_how_it_is_read_not_its_suffix(tmp_path: Path) -> None:
    sheet = make_odf("spreadsheet", '<table:table table:name="S">' + f"<table:table-row>{cells('a', 'b')}"
                     "</table:table-row></table:table>")  # fmt: skip
    assert load_file(write(tmp_path, "sheet.odt", sheet)).text == "a | b"


def test_not_really_or_unreadable_opendocument_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    assert "ZIP" in reason(write(tmp_path, "text.odt", "just text"))
    assert "not an OpenDocument document" in reason(write(tmp_path, "word.odt", make_docx([("p", "x")])))
    locked = make_odf("text", "<text:p>Secret</text:p>", encrypted=True)
    assert reason(write(tmp_path, "locked.odt", locked)).startswith("password-protected .odt")
    drawing = replace_zip_member(  # a drawing: its body is office:drawing
        make_odf("text", ""),
        "content.xml",
        b'<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body>'
        b"<office:drawing/></office:body></office:document-content>",
    )
    assert "only text documents, spreadsheets and presentations" in reason(write(tmp_path, "plan.odg.odt", drawing))
    entity = b'<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]><d>&e;</d>'
    hostile = replace_zip_member(make_odf("text", "<text:p>x</text:p>"), "content.xml", entity)
    assert "root:" not in load_file_or_reason(write(tmp_path, "xxe.odt", hostile))


def load_file_or_reason(path: Path) -> str:
    try:
        return load_file(path).text
    except DocumentError as error:
        return error.reason


# ---------------------------------------------------------------------------------------------------------------- RTF

WORD_RTF = (
    r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\froman Times New Roman;}{\f1\fnil\fcharset128 \'82\'6c;}}"
    r"{\colortbl;\red0\green0\blue0;}{\stylesheet{\s0 Normal;}{\s1\sbasedon0 heading 1;}{\s15 Title;}"
    r"{\*\cs10 Default Paragraph Font;}}{\info{\title Crew handbook 2025}{\author Anna Nowak}}"
    r"{\header \pard\plain Harbour Authority internal handbook\par}{\footer \pard\plain Page {\field{\*\fldinst PAGE}"
    r"{\fldrslt 3}}\par}"
    "\n"
    r"\pard\plain\s15 Crew handbook\par"
    r"\pard\plain\s1 Safety\par"
    r"\pard\plain Life jackets are stored under every seat{\v  (hidden note)}{\deleted  of the cabin}."
    r"{\super\chftn}{\footnote\pard\plain{\super\chftn} Checked every spring.}\par"
    r"{\listtext\pard\plain \u8226\'95\tab}\pard\plain\ls1 Wear boots\'97always.\line Caf\'e9 closes at 6.\par"
    r"{\pict\pngblip\picw10\pich10 89504e470d0a1a0a0000000d49484452}{\*\shppict{\pict 00ff}}"
    r'\pard\plain{\field{\*\fldinst HYPERLINK "https://example.com"}{\fldrslt Harbour rules}} apply to all.\par'
    r"\pard\plain\outlinelevel1 Rota\par"
    r"\trowd\cellx2000\cellx4000\pard\intbl Day\cell Skipper\cell\row"
    r"\trowd\cellx2000\cellx4000\pard\intbl Monday\cell Ana \u321?ukasz\par Lopez\cell\row"
    r"\trowd\cellx2000\cellx4000\pard\intbl Tuesday\cell\cell\row"
    r"\pard\plain Swap shifts with {\b the harbour master}'s consent{\footnote\ftnalt\pard\plain Rule 4.}.\par"
    r"{\*\unknowndestination do not read me}{\*\annotation A comment.}\binary\bin4 {}\\ done.\par}"
)


def test_rtf_reads_headings_paragraphs_and_tables_then_notes_as_a_word_file_is_read(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "handbook.rtf", WORD_RTF))
    assert doc.text == (
        "Crew handbook\n\nSafety\n\nLife jackets are stored under every seat.\n\n"
        "Wear boots\u2014always.\nCaf\u00e9 closes at 6.\n\nHarbour rules apply to all.\n\n"
        "Rota\n\nDay | Skipper\nMonday | Ana \u0141ukasz Lopez\nTuesday |\n\n"
        "Swap shifts with the harbour master's consent.\n\ndone.\n\n"
        "Footnotes\n\nFootnote 1: Checked every spring.\n\nEndnotes\n\nEndnote 1: Rule 4.\n\n"
        "Headers and footers\n\nHarbour Authority internal handbook"
    )  # not hidden or deleted text, field codes, pictures, list bullets, comments, unknown destinations or the
    # four raw bytes after \bin4
    assert doc.title == "Crew handbook 2025"
    assert [h for _, h in doc.sections] == [
        "Crew handbook", "Safety", "Rota", "Footnotes", "Endnotes", "Headers and footers"
    ]  # fmt: skip
    assert doc.section_at(doc.text.index("Ana")) == "Rota"
    assert_consistent(doc)


def test_rtf_text_in_another_code_page_or_in_unicode_escapes_is_read_as_written(tmp_path: Path) -> None:
    russian = "{\\rtf1\\ansi\\ansicpg1251 " + "".join(f"\\'{b:02x}" for b in "Привет, мир.".encode("cp1251")) + "\\par}"
    assert load_file(write(tmp_path, "ru.rtf", russian)).text == "Привет, мир."
    japanese = r"{\rtf1\ansi\ansicpg932 \'93\'fa\'96\'7b\uc2\u35486\'8c\'ea.\par}"  # two bytes a character
    assert load_file(write(tmp_path, "ja.rtf", japanese)).text == "日本語."
    mac = r"{\rtf1\mac Caf\'8e.\par}"
    assert load_file(write(tmp_path, "mac.rtf", mac)).text == "Café."


def test_rtf_beyond_the_basic_plane_tables_in_headers_and_long_cells(tmp_path: Path) -> None:
    """Found by a review: an emoji written as two UTF-16 halves (as LibreOffice, Word and TextEdit write it) became
    spaces, a "\\u" out of range raised ValueError, a header's table ran its cells together, and a cell of many
    paragraphs took quadratic time (23 s for 400,000)."""
    emoji = r"{\rtf1 Sales rose 5 % \uc0 \u55357\uc1 \u56832\'3f in May; x\u99999999 y.\par}"
    assert load_file(write(tmp_path, "e.rtf", emoji)).text == "Sales rose 5 % \U0001f600 in May; x."
    header = r"{\rtf1{\header\pard\intbl Acme Logistics GmbH\cell Hafenstrasse 17 Hamburg\cell\row}Body text.\par}"
    assert load_file(write(tmp_path, "h.rtf", header)).text.endswith("Acme Logistics GmbH | Hafenstrasse 17 Hamburg")
    long_cell = b"{\\rtf1\\intbl " + b"abcdefghij\\par " * 200_000 + b"\\cell\\row}"
    started = time.perf_counter()
    assert len(load_file(write(tmp_path, "long.rtf", long_cell)).text) == 11 * 200_000 - 1
    assert time.perf_counter() - started < 5


def test_not_really_rtf_or_hostile_rtf_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    assert reason(write(tmp_path, "notes.rtf", "Just text.")).startswith("not an RTF document")
    assert "nested" in reason(write(tmp_path, "deep.rtf", "{\\rtf1 " + "{" * 5000 + "x" + "}" * 5000 + "}"))
    assert reason(write(tmp_path, "empty.rtf", r"{\rtf1\ansi{\fonttbl{\f0 Arial;}}\par}")) == (
        "no text could be extracted"
    )


# --------------------------------------------------------------------------------------------------------------- HTML


def test_html_keeps_the_main_text_and_drops_menus_scripts_banners_and_footers(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "harbour.html", SAMPLE_HTML))
    assert doc.title == "Harbour opening hours"
    assert "The harbour office opens at 7:30 on weekdays and at 9:00 on Saturdays." in doc.text
    assert "Length | Fee\nup to 8 m | 25 EUR\n8 to 12 m | 40 EUR" in doc.text
    for boilerplate in ("Menu item", "cookies", "tracking", "font:", "Copyright", "Share on", "other harbours", "Home"):
        assert boilerplate not in doc.text
    assert [heading for _, heading in doc.sections] == ["Harbour opening hours", "Fees"]
    assert doc.section_at(doc.text.index("25 EUR")) == "Fees"


def test_html_without_main_element_drops_boilerplate_and_keeps_wrapped_content(tmp_path: Path) -> None:
    page = """<html><body class="has-sidebar"><form id="aspnetForm">
      <div class="navbar"><a>Products</a><a>About</a></div>
      <div class="content"><h1>Return policy</h1><p>Items can be returned within 30 days.<br>Keep the receipt.</p>
      <p hidden>Invisible text</p><p style="display: none">Also invisible</p>
      <pre>code   keeps
  its   spacing</pre></div>
      <div class="site-footer">Contact us</div></form></body></html>"""
    doc = load_file(write(tmp_path, "policy.htm", page))
    assert doc.text == (
        "Return policy\n\nItems can be returned within 30 days.\nKeep the receipt.\n\ncode   keeps\n  its   spacing"
    )


def test_html_main_inside_a_boilerplate_looking_wrapper_is_still_found(tmp_path: Path) -> None:
    page = (
        '<div class="page with-sidebar-layout menu-open"><nav>Skip me</nav><main><header><h1>Guide</h1></header>'
        "<p>Body text.</p><div class='share'>Share</div></main><div class='sidebar'>Ads here</div></div>"
    )
    assert load_file(write(tmp_path, "guide.html", page)).text == "Guide\n\nBody text."


def test_html_table_cells_with_paragraphs_lists_and_nested_tables_stay_on_their_row(tmp_path: Path) -> None:
    page = (
        "<h2>Rota</h2><table><thead><tr><th>Day</th><th>Crew</th></tr></thead><tbody>"
        "<tr><td><p>Monday</p><p>morning</p></td><td><ul><li>Ana</li><li>Ben</li></ul></td></tr>"
        "<tr><td>Tuesday</td><td><table><tr><td>Cy</td><td>Di</td></tr></table></td></tr>"
        "</tbody></table><p>After the table.</p>"
    )
    doc = load_file(write(tmp_path, "rota.html", page))
    assert doc.text == "Rota\n\nDay | Crew\nMonday morning | Ana Ben\nTuesday | Cy Di\n\nAfter the table."


def test_html_lists_keep_their_marks_and_headings_their_path(tmp_path: Path) -> None:
    """Found by a trial: the steps of an FAQ's <ol> became paragraphs without their numbers, and a question heading
    under "Getting started" did not say so."""
    page = (
        "<h1>Router FAQ</h1><h2>Getting started</h2><h3>How do I set it up?</h3><ol><li>Connect the modem.</li>"
        "<li><p>Press the power button.</p></li></ol><p>Done.</p><ul><li>Tip one</li><li>Tip two<ol start='3'>"
        "<li>Nested</li></ol></li></ul><h2>Wi-Fi</h2><p>Two bands.</p>"
    )
    doc = load_file(write(tmp_path, "faq.html", page))
    assert "How do I set it up?\n\n1. Connect the modem.\n\n2. Press the power button.\n\nDone." in doc.text
    assert "- Tip one\n- Tip two\n3. Nested" in doc.text
    assert doc.section_at(doc.text.index("Connect")) == "Getting started › How do I set it up?"
    assert doc.section_at(doc.text.index("Two bands")) == "Wi-Fi"


def test_html_in_a_declared_legacy_charset_is_decoded(tmp_path: Path) -> None:
    page = '<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><p>Cr\xe8me br\xfbl\xe9e</p>'
    doc = load_file(write(tmp_path, "menu.html", page.encode("latin-1")))
    assert (doc.title, doc.text) == ("Café", "Crème brûlée")


def test_deeply_nested_unclosed_and_unterminated_html_is_read_in_linear_time(tmp_path: Path) -> None:
    nested = "<div>" * 2000 + "deep text" + "</div>" * 2000
    too_deep = "<p>intro</p>" + "<div>" * 100_000 + "lost" + "</div>" * 100_000
    unclosed = "<p>para " * 20_000 + "<li>item " * 20_000 + "<td>cell " * 20_000
    # Unterminated tags, comments and quotes: Python 3.11's html.parser needs minutes for these (quadratic).
    unterminated = "<a href='" * 40_000 + "<!--" * 40_000 + "<a" * 40_000
    started = time.perf_counter()
    assert load_file(write(tmp_path, "nested.html", nested)).text == "deep text"
    doc = load_file(write(tmp_path, "too-deep.html", too_deep))
    assert doc.text == "intro" and "nested more than 2,048" in doc.warnings[0]
    assert load_file(write(tmp_path, "unclosed.html", unclosed)).text.startswith("para\n\npara")
    with contextlib.suppress(DocumentError):
        load_file(write(tmp_path, "unterminated.html", unterminated))
    assert time.perf_counter() - started < 10


# ----------------------------------------------------------------------------------------------------------- Markdown


def test_markdown_headings_become_sections_but_not_comments_in_code(tmp_path: Path) -> None:
    doc = load_file(write(tmp_path, "lighthouses.md", SAMPLE_MARKDOWN))
    assert doc.title == "Field guide to lighthouses"  # from the front matter
    assert doc.text == SAMPLE_MARKDOWN  # Markdown is quoted as written
    assert [heading for _, heading in doc.sections] == ["Lighthouses", "Fresnel lenses", "Keepers"]
    assert doc.section_at(doc.text.index("concentrates")) == "Fresnel lenses"
    assert doc.section_at(doc.text.index("echo light")) == "Fresnel lenses"
    assert doc.section_at(doc.text.index("automation")) == "Keepers"


def test_a_markdown_section_is_named_with_the_headings_it_stands_under(tmp_path: Path) -> None:
    """Found by a trial of release notes: a sentence under "### Removed" did not say of which release."""
    markdown = (
        "# Tally release notes\n\nIntro.\n\n## Tally 3.2.0 — 21 October 2024\n\n### Fixed\n\n- A crash.\n\n"
        "## Tally 3.0.0\n\n### Removed\n\n#### Plugins\n\n- The clipper.\n\n##### Old\n\nDeep.\n\n"
        "## Support\n\nMail us.\n"
    )
    doc = load_file(write(tmp_path, "notes.md", markdown))
    assert doc.title == "Tally release notes"
    assert doc.section_at(doc.text.index("Intro")) == "Tally release notes"  # the title names no part of the rest
    assert doc.section_at(doc.text.index("A crash")) == "Tally 3.2.0 — 21 October 2024 › Fixed"
    assert doc.section_at(doc.text.index("The clipper")) == "Tally 3.0.0 › Removed › Plugins"
    assert doc.section_at(doc.text.index("Deep")) == "Removed › Plugins › Old"  # the three innermost
    assert doc.section_at(doc.text.index("Mail us")) == "Support"
    two = load_file(write(tmp_path, "two.md", "# One\n\n## A\n\nx\n\n# Two\n\ny\n"))  # two top headings
    assert [heading for _, heading in two.sections] == ["One", "One › A", "Two"]


def test_markdown_title_is_the_top_heading_without_markup(tmp_path: Path) -> None:
    markdown = "Intro line\n\n## Part **one**\n\ntext\n\n# The [real](http://x) title #\n"
    doc = load_file(write(tmp_path, "x.md", markdown))
    assert doc.title == "The real title"
    assert [heading for _, heading in doc.sections] == ["Part one", "The real title"]


# --------------------------------------------------------------------------------------------------------------- text


def test_plain_text_headings_in_capitals_or_numbered_become_sections(tmp_path: Path) -> None:
    """Found by a trial: a travel policy's "4. AIR TRAVEL" and a paper's "3. Results" were no sections, so an
    overview quoted the first three sentences and a quote never said where it stands."""
    policy = (
        "TRAVEL POLICY\nVersion 5.\n\n1. PURPOSE AND SCOPE\nAll staff.\n\n4. AIR TRAVEL\nEconomy class.\n"
        "4.1 LONG FLIGHTS\nNot a heading: no blank line before it.\n\nNASA and the ESA\nnot capitals.\n"
    )
    doc = load_file(write(tmp_path, "policy.txt", policy))
    assert [h for _, h in doc.sections] == ["TRAVEL POLICY", "1. PURPOSE AND SCOPE", "4. AIR TRAVEL"]
    assert doc.section_at(doc.text.index("Economy")) == "4. AIR TRAVEL"  # the title names no part of the rest
    paper = (
        "Deficit irrigation of tomatoes\n\nAbstract\n\nWe tested it.\n\n2. Materials and methods\n\nPlots.\n\n"
        "2.1 Study site\n\nA greenhouse.\n\n3. Results\n\nYield fell.\n\n1. Remove the filter.\n\n"
        "Table 1. Mean results\n\n80% ETc | 11.3\n"
    )
    doc = load_file(write(tmp_path, "paper.txt", paper))
    assert [h for _, h in doc.sections] == [
        "Abstract",
        "2. Materials and methods",
        "2. Materials and methods › 2.1 Study site",
        "3. Results",
    ]  # not a sentence of a list ("1. Remove the filter."), nor a table's caption


def test_text_encodings_with_and_without_bom_give_the_same_text(tmp_path: Path) -> None:
    text = "Tide tables — published on Mondays.\nSecond line."
    variants = {
        "utf8.txt": text.encode(),
        "bom.txt": b"\xef\xbb\xbf" + text.encode(),
        "utf16.txt": text.encode("utf-16"),
        "crlf.txt": text.replace("\n", "\r\n").encode(),
    }
    for name, data in variants.items():
        assert load_file(write(tmp_path, name, data)).text == text, name


def test_unusable_text_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    assert "not UTF-8" in reason(write(tmp_path, "latin1.txt", "Crème brûlée".encode("latin-1")))
    assert "offset 2" in reason(write(tmp_path, "latin1b.txt", "Cr\xe8me".encode("latin-1")))
    assert "binary" in reason(write(tmp_path, "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert "binary" in reason(write(tmp_path, "controls.txt", bytes(range(1, 32)) * 20))
    assert "empty" in reason(write(tmp_path, "empty.txt", b""))
    assert "empty" in reason(write(tmp_path, "blank.md", b" \n\t\n"))
    assert "no text" in reason(write(tmp_path, "scripts-only.html", "<script>var a = 1;</script>"))
    assert "not a readable image" in reason(write(tmp_path, "photo.png", b"\x89PNG"))
    assert "unsupported file type '.svg'" in reason(write(tmp_path, "logo.svg", b"<svg/>"))


# ------------------------------------------------------------------------------------------------ files and folders


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "word " * 1000)
    assert "too large (5,000 bytes; the limit is 4,000)" in reason(path, max_bytes=4000)
    assert load_file(path, max_bytes=5000).text.startswith("word word")


def test_broken_links_folders_and_pipes_are_refused_without_blocking(tmp_path: Path) -> None:
    (tmp_path / "gone.md").symlink_to(tmp_path / "missing.md")
    assert "broken link" in reason(tmp_path / "gone.md")
    (tmp_path / "folder.txt").mkdir()
    assert "folder" in reason(tmp_path / "folder.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    assert "not a regular file" in reason(tmp_path / "pipe.txt")


def test_an_unreadable_file_is_refused_as_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "secret.txt", "classified")
    path.chmod(0)
    if os.geteuid() == 0:  # root reads mode-000 files, so make the open fail the way it does for a user
        real_open = Path.open

        def denied(self: Path, *args: object, **kwargs: object) -> object:
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "open", denied)
    assert "permission denied" in reason(path)
    write(tmp_path, "public.txt", "open to all")
    report = load_folder(tmp_path)
    assert [d.source for d in report.documents] == ["public.txt"]
    assert [e.path.name for e in report.skipped] == ["secret.txt"]


def test_folders_load_nested_files_with_posix_sources_and_ignore_hidden_ones(tmp_path: Path) -> None:
    write(tmp_path, "a/b/deep.md", "# Deep\n\ntext")
    write(tmp_path, "top.txt", "top text")
    write(tmp_path, ".hidden.txt", "hidden")
    write(tmp_path, ".git/config.txt", "hidden folder")
    write(tmp_path, "a/~$report.docx", b"\x00lock file of an open Word document")
    write(tmp_path, "a/bad.txt", b"\xff\xfe\x00\xd8")  # broken UTF-16
    (tmp_path / "a" / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    report = load_folder(tmp_path)
    assert [d.source for d in report.documents] == ["a/b/deep.md", "top.txt"]
    assert sorted(e.path.name for e in report.skipped) == ["bad.txt", "dangling.txt"]
    assert [p.name for p in iter_files(tmp_path)] == ["deep.md", "bad.txt", "dangling.txt", "top.txt"]


def test_loading_twice_gives_identical_documents(tmp_path: Path) -> None:
    files = {
        "r.pdf": make_pdf(["Page one.", "Page two."]),
        "h.docx": make_docx([("h1", "Heading"), ("p", "Text.")]),
        "p.html": SAMPLE_HTML,
        "m.md": SAMPLE_MARKDOWN,
        "t.txt": "plain text\r\n",
    }
    for name, data in files.items():
        path = write(tmp_path, name, data)
        first, second = load_file(path, name), load_file(path, name)
        assert first == second
        assert_consistent(first)


def test_importing_the_loaders_does_not_import_the_format_libraries() -> None:
    code = "import sys, rag.documents; print(sorted({'pypdf', 'docx', 'lxml', 'pptx', 'openpyxl'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "[]"


def assert_consistent(doc: Document) -> None:
    """Offsets a quote relies on: pages and sections sorted, inside the text, and page_at agrees with pages."""
    assert doc.text.strip() and doc.title and len(doc.fingerprint) == 64
    assert list(doc.pages) == sorted(doc.pages) and all(0 <= start <= len(doc.text) for start in doc.pages)
    assert list(doc.sections) == sorted(doc.sections)
    assert all(0 <= offset < len(doc.text) and heading for offset, heading in doc.sections)
    for number, start in enumerate(doc.pages, 1):
        if number == len(doc.pages) or doc.pages[number] > start:
            assert doc.page_at(start) == number


# ------------------------------------------------------------------------------------------------------------- fuzzing

SAMPLES: dict[str, bytes] = {
    ".txt": "Tide tables — published on Mondays.\nSecond line.\n".encode(),
    ".md": SAMPLE_MARKDOWN.encode(),
    ".html": SAMPLE_HTML.encode(),
    ".pdf": make_pdf(["Chapter one\nThe fleet grew.", "", "More (text) \\ here"], title="T", outline=[("More", 2)]),
    ".csv": b'Office,City,Staff\nSales Office,"Lyon, France",12\n"Design ""Studio""",Porto,"2\n2"\n',
    ".rtf": WORD_RTF.encode(),
    ".png": make_scan("Tide tables are published on Mondays."),
    ".jpg": make_scan("Fees rise.", "JPEG"),
    ".eml": make_eml("Fees", "Mooring costs 25 EUR.\n", html="<p>Mooring</p>", attachments=[("a.csv", b"x,y\n1,2\n")]),
}


@functools.cache
def _sample_zipped(suffix: str) -> bytes:
    if suffix == ".epub":
        return make_epub([("One", "<p>Text.</p><h2>Two</h2><table><tr><td>a</td></tr></table>"), ("Three", "")])
    if suffix == ".pptx":
        return make_pptx([{"title": "T", "bullets": ["Text."], "notes": "N"}, {"table": [["a", "b"], ["c", "d"]]}])
    if suffix == ".xlsx":
        return make_xlsx({"One": [["a", "b"], ["c", 1.5]], "Two": [["d", dt.date(2024, 1, 1)]]})
    if suffix == ".odt":
        return make_odf("text", ODT_BODY, styles=TITLE_STYLE, title="T")
    if suffix == ".ods":
        two = (
            '<table:table table:name="Two"><table:table-row>' + cells("c", "", "d") + "</table:table-row></table:table>"
        )
        return make_odf(
            "spreadsheet", f'<table:table table:name="One" table:style-name="ta2"/>{two}', styles=ODS_STYLES
        )
    if suffix == ".odp":
        page = '<draw:page><draw:frame presentation:class="title" svg:y="1cm"><draw:text-box><text:p>T</text:p>'
        return make_odf("presentation", page + "</draw:text-box></draw:frame></draw:page>")
    return make_docx([("title", "T"), ("h1", "Heading"), ("p", "Text."), ("table", [["a", "b"], ["c", "d"]])])


ZIP_PARTS = {
    ".docx": ["word/document.xml", "word/styles.xml", "[Content_Types].xml"],
    ".pptx": ["ppt/slides/slide1.xml", "ppt/slides/slide2.xml", "ppt/presentation.xml", "[Content_Types].xml"],
    ".xlsx": ["xl/worksheets/sheet1.xml", "xl/styles.xml", "xl/workbook.xml", "[Content_Types].xml"],
    ".epub": ["META-INF/container.xml", "OEBPS/content.opf", "OEBPS/text/chapter 0.xhtml"],
    **{suffix: ["content.xml", "meta.xml", "META-INF/manifest.xml"] for suffix in (".odt", ".ods", ".odp")},
}


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """One hostile variant of ``data``: truncated, bytes flipped, a slice duplicated or deleted, or random bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "delete", "random"]))
    if kind == "random":
        return draw(st.binary(max_size=2000))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    buffer = bytearray(data)
    if kind == "flip":
        for _ in range(draw(st.integers(1, 8))):
            buffer[draw(st.integers(0, len(buffer) - 1))] = draw(st.integers(0, 255))
        return bytes(buffer)
    start = draw(st.integers(0, len(buffer)))
    end = draw(st.integers(start, min(len(buffer), start + 500)))
    if kind == "splice":
        return bytes(buffer[:end] + buffer[start:])
    return bytes(buffer[:start] + buffer[end:])


def assert_total(suffix: str, data: bytes, tmp_path: Path) -> None:
    """The loader gives an Extracted or a DocumentError, nothing else, fast; load_file keeps offsets consistent."""
    path = tmp_path / f"fuzz{suffix}"
    started = time.perf_counter()
    try:
        result = LOADERS[suffix](path, data)
    except DocumentError as error:
        assert error.reason and error.path == path
    else:
        assert isinstance(result, Extracted)
    assert time.perf_counter() - started < 5, f"{suffix} loader took too long on {data[:100]!r}"
    path.write_bytes(data)
    try:
        doc = load_file(path)
    except DocumentError:
        return
    assert_consistent(doc)


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("suffix", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_loaders_are_total_on_mutated_files(suffix: str, data: st.DataObject, tmp_path: Path) -> None:
    assert_total(suffix, mutate(SAMPLES[suffix], data.draw), tmp_path)


@pytest.mark.parametrize("suffix", sorted(ZIP_PARTS))
@FUZZ
@given(data=st.data())
def test_zip_format_loaders_are_total_on_mutated_packages_and_xml(
    suffix: str, data: st.DataObject, tmp_path: Path
) -> None:
    sample = _sample_zipped(suffix)
    if data.draw(st.booleans()):  # damage the zip itself
        assert_total(suffix, mutate(sample, data.draw), tmp_path)
        return
    with zipfile.ZipFile(io.BytesIO(sample)) as archive:  # or a well-formed zip holding damaged XML
        name = data.draw(st.sampled_from(ZIP_PARTS[suffix]))
        member = archive.read(name)
    assert_total(suffix, replace_zip_member(sample, name, mutate(member, data.draw)), tmp_path)


TAG_SOUP = [
    "<div>", "</div>", "<p>", "</p>", "<table>", "<tr>", "<td>", "</td>", "</tr>", "<main>", "</main>", "<nav>",
    "</nav>", "<pre>", "</pre>", "<br>", "<h2>", "</h2>", "<script>", "</script>", "<!--", "-->", "<![CDATA[",
    "&amp;", "&#0;", "&#xd800;", "<title>", "</title>", "<svg>", "<", ">", "'", '"', "<a href='", "text ", "\n",
    "\x00", "é",
]  # fmt: skip


@FUZZ
@given(html=st.lists(st.sampled_from(TAG_SOUP), max_size=300))
def test_html_loader_is_total_on_tag_soup(html: list[str], tmp_path: Path) -> None:
    assert_total(".html", "".join(html).encode(), tmp_path)


@pytest.mark.parametrize(
    ("name", "raw", "text"),
    [
        (  # quoted cells: commas, doubled quotes and line breaks inside them
            "offices.csv",
            'Office,City,Staff\nSales Office,"Lyon, France",12\n"Design ""Studio""",Porto,"2\n2"\n',
            'Office | City | Staff\nSales Office | Lyon, France | 12\nDesign "Studio" | Porto | 2 2',
        ),
        ("preise.csv", 'Produkt;Preis\nStuhl;"149,90 EUR"\n', "Produkt | Preis\nStuhl | 149,90 EUR"),  # a ";" file
        ("parts.tsv", "Part\tWeight\nP-1\t12 kg\n\n", "Part | Weight\nP-1 | 12 kg"),
        ("odd.csv", "Name,Note\nA,x | y\n", "Name | Note\nA | x / y"),  # a "|" in a cell would split it
    ],
)
def test_a_csv_or_tsv_file_is_read_as_a_table_of_rows(tmp_path: Path, name: str, raw: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(raw, encoding="utf-8")
    doc = load_file(path)
    assert doc.text == text
    assert doc.title == path.stem  # not its header row


def test_a_csv_with_a_stray_quote_or_of_prose_is_still_read(tmp_path: Path) -> None:
    """Found by a review: one stray quote swallowed every later row into one cell, or skipped the file (a cell
    larger than the csv module's limit); a .csv of sentences had its commas turned into cells."""
    stray = tmp_path / "parts.csv"
    stray.write_text('Part,Name,Price\n1,"Cable 2m,5\n' + "".join(f"{i},Part {i},{i} EUR\n" for i in range(2, 3000)))
    doc = load_file(stray)
    assert doc.text.splitlines()[0] == "Part | Name | Price" and "2999 | Part 2999 | 2999 EUR" in doc.text
    prose = tmp_path / "minutes.csv"
    prose.write_text("We agreed to move the Lyon office, effective June.\nAnna, Tom and Pierre will plan it.\n")
    assert load_file(prose).text == prose.read_text()  # read as the text it is


def test_a_file_not_in_utf8_is_read_in_the_fallback_encoding_named(tmp_path: Path) -> None:
    path = tmp_path / "cafe.txt"
    raw = "Café Lumière serves crêpes — 5 €.".encode("cp1252")
    path.write_bytes(raw)
    with pytest.raises(DocumentError, match=r"not UTF-8 .* name the encoding"):
        load_file(path)  # refused by default, with what to do
    doc = load_file(path, fallback_encoding="cp1252")
    assert doc.text == "Café Lumière serves crêpes — 5 €."
    assert doc.warnings == ("not UTF-8: read as cp1252",) and doc.fingerprint == fingerprint(raw)
    markdown = tmp_path / "notes.md"
    markdown.write_bytes("# Zürich\n\nDas Büro öffnet um 8 Uhr.\n".encode("latin-1"))
    assert load_file(markdown, fallback_encoding="latin-1").sections == ((0, "Zürich"),)


def test_html_keeps_a_header_or_footer_of_text_and_drops_one_of_links(tmp_path: Path) -> None:
    """Found by a restaurant's trial: "What's the phone number at Northgate?" was refused, the number only in the
    menu page's footer (each site's address, phone and hours), dropped with the header's "Menu valid from …"."""
    page = (
        "<html><body><header><h1>Osteria Lumen — Dinner Menu</h1><p>Menu valid from 10 February 2025.</p></header>"
        "<nav><a href='/'>Home</a> <a href='/book'>Book a table</a></nav><main><h2>Dolci</h2><ul><li>Tiramisù £8.00"
        "</li></ul></main><footer><div><h3>Canal Street</h3><p>14 Canal Street, Manchester M1 3HE · 0161 496 0120"
        "</p></div><div><h3>Northgate</h3><p>22 Northgate Road, Stockport SK1 2AF · 0161 496 0455</p></div>"
        "<nav class='footer-links'><a href='/jobs'>Jobs at Lumen</a></nav>"
        "<p>© 2025 Lumen Hospitality Ltd · <a href='/privacy'>Privacy</a></p></footer>"
        "<footer><a href='/a'>About us</a> · <a href='/press'>Press and media</a> · <a href='/c'>Contact</a></footer>"
        "</body></html>"
    )
    doc = load_file(write(tmp_path, "menu.html", page))
    assert "Menu valid from 10 February 2025." in doc.text
    assert "22 Northgate Road, Stockport SK1 2AF · 0161 496 0455" in doc.text
    for boilerplate in ("Book a table", "Jobs at Lumen", "Press and media"):  # menus, in a footer or not
        assert boilerplate not in doc.text
