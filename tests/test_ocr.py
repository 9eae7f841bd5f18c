"""OCR, for real: image files and scanned PDF pages read by the tesseract program (installed by scripts/test.sh),
answered with quotes that point into the text OCR stored, with their page; without tesseract, said so and read
once it is there."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from conftest import HashEmbedder
from fixtures.make_fixtures import join_pdfs, make_docx, make_eml, make_pdf, make_pptx, make_scan
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from test_documents import mutate
from test_pipeline import assert_quotes_verbatim, pipeline_on

import ui
from rag import Pipeline
from rag.documents import DocumentError, load_file
from rag.errors import SettingsError
from rag.formats import image
from rag.formats.ocr import Ocr, text_of_tsv
from rag.settings import Settings

NOTICE = "The Heron depot in Gdansk opened in March 2021.\nIt stores 4,200 pallets of spare parts."
SCANNED_PAGE = "Staffing\nThe Heron depot employs forty-one people on two shifts.\nIts manager is Piotr Nowak."


def scanned_report() -> bytes:
    """A PDF whose first page has a text layer and whose second is a scan (an image only)."""
    return join_pdfs(make_pdf(["Depot report\nThe report covers the depots of the northern region."]),
                     make_scan(SCANNED_PAGE, "PDF"))  # fmt: skip


def test_an_image_file_is_read_by_ocr(tmp_path: Path) -> None:
    path = tmp_path / "notice.png"
    path.write_bytes(make_scan(NOTICE))
    doc = load_file(path, ocr=Ocr())
    assert "The Heron depot in Gdansk opened in March 2021." in doc.text
    assert "It stores 4,200 pallets of spare parts." in doc.text
    assert doc.warnings == ("read by OCR (tesseract (eng)): a misread word can differ from the image",)
    jpeg = tmp_path / "notice.jpg"
    jpeg.write_bytes(make_scan(NOTICE, "JPEG"))
    assert load_file(jpeg, ocr=Ocr()).text == doc.text
    for turn in (90, 180):  # scanned sideways, upside down
        turned = io.BytesIO()
        Image.open(io.BytesIO(make_scan(NOTICE))).rotate(turn, expand=True).save(turned, "PNG")
        path.write_bytes(turned.getvalue())
        assert load_file(path, ocr=Ocr()).text == doc.text, turn


def test_a_scanned_pdf_page_is_read_by_ocr_and_keeps_its_page_number(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(scanned_report())
    doc = load_file(path, ocr=Ocr())
    at = doc.text.index("The Heron depot employs forty-one people on two shifts.")
    assert doc.page_at(at) == 2 and doc.page_at(doc.text.index("northern region")) == 1
    assert doc.warnings == ("page 2 read by OCR (tesseract (eng)): a misread word can differ from the page",)


def test_a_multi_page_tiff_is_read_page_by_page(tmp_path: Path) -> None:
    pages = [Image.open(io.BytesIO(make_scan(text))) for text in ("Page one is about ferries.", "", SCANNED_PAGE)]
    path = tmp_path / "fax.tiff"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    doc = load_file(path, ocr=Ocr())
    assert doc.page_at(doc.text.index("Page one is about ferries.")) == 1
    assert doc.page_at(doc.text.index("Its manager is Piotr Nowak.")) == 3
    assert doc.warnings == (
        "pages 1, 3 read by OCR (tesseract (eng)): a misread word can differ from the page",
        "page 2: no text (OCR found none)",
    )


def test_a_scan_whose_text_layer_holds_only_a_stamp_is_read_by_ocr(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for number in (1, 2):  # each scan stamped with its Bates number, a text layer of one word
        scan = PdfReader(io.BytesIO(make_scan(f"The depot number {number} employs {number + 9} people.", "PDF")))
        page = writer.add_page(scan.pages[0])
        page.merge_page(PdfReader(io.BytesIO(make_pdf([f"ACME-00010{number}"]))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "stamped.pdf"
    path.write_bytes(out.getvalue())
    doc = load_file(path, ocr=Ocr())
    assert doc.text == (
        "ACME-000101\n\nThe depot number 1 employs 10 people.\n\nACME-000102\n\nThe depot number 2 employs 11 people."
    )
    assert doc.page_at(doc.text.index("number 2")) == 2


def test_a_slide_that_is_a_picture_is_read_by_ocr(tmp_path: Path) -> None:
    deck = make_pptx(
        [
            {"title": "Depot update", "bullets": ["Two depots report this month."]},
            {"picture": make_scan(SCANNED_PAGE)},  # a screenshot pasted as the whole slide
            {},  # blank
        ]
    )
    path = tmp_path / "update.pptx"
    path.write_bytes(deck)
    doc = load_file(path, ocr=Ocr())
    assert doc.page_at(doc.text.index("The Heron depot employs forty-one people on two shifts.")) == 2
    assert doc.warnings == (
        "slide 3 has no text",
        "slide 2 read by OCR (tesseract (eng)): a misread word can differ from the slide",
    )
    assert load_file(path).warnings == ("slide 2 has no text (a picture?)", "slide 3 has no text (a picture?)")


def test_a_scan_saved_as_a_word_file_is_read_by_ocr(tmp_path: Path) -> None:
    path = tmp_path / "scan.docx"
    path.write_bytes(make_docx([("picture", make_scan(NOTICE)), ("picture", make_scan(SCANNED_PAGE))]))
    doc = load_file(path, ocr=Ocr())
    assert doc.text.index("It stores 4,200 pallets") < doc.text.index("Its manager is Piotr Nowak.")
    assert doc.warnings == ("its pictures read by OCR (tesseract (eng)): a misread word can differ from the picture",)
    with pytest.raises(DocumentError, match=r"pictures only .* OCR needs the tesseract program"):
        load_file(path, ocr=Ocr(program="no-tesseract-here"))
    with pytest.raises(DocumentError, match="which is off"):
        load_file(path)
    report = tmp_path / "report.docx"  # a Word file with text: its pictures (charts, photos) are not read
    report.write_bytes(make_docx([("p", "The depot report covers the northern region this quarter."),
                                  ("picture", make_scan(NOTICE))]))  # fmt: skip
    assert "Heron" not in load_file(report, ocr=Ocr()).text


def test_ocr_out_of_time_names_the_pages_left_and_they_are_read_at_the_next_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rag.formats.pdf
    import rag.formats.pptx

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "report.pdf").write_bytes(scanned_report())
    (docs / "update.pptx").write_bytes(make_pptx([{"picture": make_scan(SCANNED_PAGE)}]))
    for module in (rag.formats.pdf, rag.formats.pptx):
        monkeypatch.setattr(module, "OCR_SECONDS", -1.0)
        monkeypatch.setattr(module, "OCR_SECONDS_PER_PAGE", 0.0)
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    first = pipeline.index()
    assert "report.pdf: page 2 not read by OCR in time (it took over -1 s)" in first.warnings
    assert [e.reason for e in first.skipped] == [  # a deck of one picture: no text yet, and not remembered as such
        "no text could be extracted in time: slide 1 not read by OCR in time (it took over -1 s)"
    ]
    monkeypatch.undo()  # time enough now
    again = pipeline.index()
    assert (again.reread, again.added) == (["report.pdf"], ["update.pptx"])
    assert "Piotr Nowak" in pipeline.document_text("report.pdf") and "Piotr Nowak" in pipeline.document_text(
        "update.pptx"
    )


def test_an_emailed_scan_is_not_read_again_at_every_sync(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "mail.eml").write_bytes(
        make_eml("Report", "See attached.\n", attachments=[("report.pdf", scanned_report())])
    )
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    assert pipeline.index().added == ["mail.eml"]
    again = pipeline.index()
    assert (again.reread, again.unchanged) == ([], ["mail.eml"])  # its attachment is never read by OCR


def test_without_ocr_a_scanned_page_is_reported_and_an_image_skipped_with_the_way_to_read_it(tmp_path: Path) -> None:
    report, notice = tmp_path / "report.pdf", tmp_path / "notice.png"
    report.write_bytes(scanned_report())
    notice.write_bytes(make_scan(NOTICE))
    missing = Ocr(program="no-tesseract-here")
    doc = load_file(report, ocr=missing)
    assert "Heron" not in doc.text
    assert doc.warnings == (
        "page 2 has no text (scanned image?)",
        "its pages without text need OCR: OCR needs the tesseract program, which is not installed "
        "(Debian/Ubuntu: apt-get install tesseract-ocr; macOS: brew install tesseract)",
    )
    with pytest.raises(DocumentError, match="an image: OCR needs the tesseract program, which is not installed"):
        load_file(notice, ocr=missing)
    with pytest.raises(DocumentError, match="only be read by OCR, which is off"):
        load_file(notice)  # ocr_languages empty
    only_scan = tmp_path / "scan.pdf"
    only_scan.write_bytes(make_scan(SCANNED_PAGE, "PDF"))
    with pytest.raises(DocumentError, match=r"scanned PDF without a text layer\?\): OCR needs the tesseract"):
        load_file(only_scan, ocr=missing)
    with pytest.raises(DocumentError, match=r"has no data for the language xyz .*apt-get install tesseract-ocr-xyz"):
        load_file(notice, ocr=Ocr("eng+xyz"))


def test_a_photo_without_text_is_skipped_and_unsure_lines_are_left_out(tmp_path: Path) -> None:
    rng = random.Random(7)
    noise = Image.new("L", (600, 400))
    noise.putdata([rng.choice((0, 255)) for _ in range(600 * 400)])
    photo = io.BytesIO()
    noise.save(photo, "PNG")
    path = tmp_path / "photo.png"
    path.write_bytes(photo.getvalue())
    with pytest.raises(DocumentError, match="an image without text that OCR could read"):
        load_file(path, ocr=Ocr())
    header = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"
    rows = [
        (1, 1, 1, 1, 95.0, "Opening"), (1, 1, 1, 2, 91.0, "hours"),  # a sure line
        (1, 1, 2, 1, 21.0, "~z"), (1, 1, 2, 2, 34.0, "Wi"),  # texture read as letters
        (2, 1, 1, 1, 88.0, "Daily"), (2, 1, 1, 2, 90.0, "9-17"),  # another paragraph
    ]  # fmt: skip
    tsv = "\n".join([header, *(f"5\t1\t{b}\t{p}\t{ln}\t{w}\t0\t0\t9\t9\t{c}\t{t}" for b, p, ln, w, c, t in rows)])
    assert text_of_tsv(tsv) == "Opening hours\n\nDaily 9-17"
    rows = [
        (1, 1, 1, 1, 93.0, "The refund is"),
        (1, 1, 2, 1, 30.0, "not granted"),
        (1, 1, 3, 1, 92.0, "after 30 days."),
    ]
    tsv = "\n".join([header, *(f"5\t1\t{b}\t{p}\t{ln}\t{w}\t0\t0\t9\t9\t{c}\t{t}" for b, p, ln, w, c, t in rows)])
    assert text_of_tsv(tsv) == "The refund is\n\nafter 30 days."  # never "The refund is after 30 days."
    rows = [
        *((1, 1, 1, n, 95.0, w) for n, w in enumerate("it ends by giving the Landlord not".split(), 1)),  # skewed:
        (2, 1, 1, 1, 93.0, "less"), (2, 1, 1, 2, 95.0, "than"), (2, 1, 1, 3, 92.0, "six months."),  # split sentence
        (3, 1, 1, 1, 0.0, "fe"), (3, 1, 1, 2, 88.0, "£1,591"), (3, 1, 1, 3, 0.0, "oka"),  # a table's rules around
        (4, 1, 1, 1, 96.0, "TOTAL"), (5, 1, 1, 1, 94.0, "paid"), (5, 1, 1, 2, 95.0, "by card."),  # no prose line
    ]  # fmt: skip
    tsv = "\n".join([header, *(f"5\t1\t{b}\t{p}\t{ln}\t{w}\t0\t0\t9\t9\t{c}\t{t}" for b, p, ln, w, c, t in rows)])
    assert (
        text_of_tsv(tsv)
        == "it ends by giving the Landlord not\nless than six months.\n\n£1,591\n\nTOTAL\n\npaid by card."
    )
    assert text_of_tsv(header) == ""


def test_ocr_languages_is_checked_when_set() -> None:
    assert Settings().ocr_languages == "eng"
    assert Settings(ocr_languages="deu+eng").ocr_languages == "deu+eng"
    with pytest.raises(SettingsError, match="ocr_languages must be tesseract language codes"):
        Settings(ocr_languages="eng; rm -rf /")


@pytest.mark.slow
def test_scans_are_answered_with_quotes_and_pages_and_read_again_once_ocr_can_run(tmp_path: Path, embedder) -> None:
    files = {"report.pdf": scanned_report(), "notice.png": make_scan(NOTICE), "notes.txt": "Fuel is ordered weekly."}
    blind = pipeline_on(tmp_path, embedder, files)
    blind.ocr = Ocr(program="no-tesseract-here")  # as on a machine without tesseract
    first = blind.index()
    assert [error.path.name for error in first.skipped] == ["notice.png"]
    assert "OCR needs the tesseract program" in first.skipped[0].reason
    assert "report.pdf: page 2 has no text (scanned image?)" in first.warnings
    assert not blind.index().changed  # not read again at every sync while OCR cannot run
    assert not blind.answer("How many people does the Heron depot employ?").answered

    pipeline = Pipeline(blind.settings, embedder=embedder)  # tesseract installed since
    again = pipeline.index()
    assert (again.reread, again.added, again.updated, again.skipped) == (["report.pdf"], ["notice.png"], [], [])
    assert pipeline.index().reread == []  # read once, not at every sync
    employs = pipeline.answer("How many people does the Heron depot employ?")
    assert employs.answered and employs.key_phrase == "forty-one", employs.text
    assert (employs.quotes[0].source, employs.quotes[0].page) == ("report.pdf", 2)
    opened = pipeline.answer("When did the Heron depot open?")
    assert opened.answered and opened.key_phrase == "March 2021", opened.text
    assert opened.quotes[0].source == "notice.png"
    for answer in (employs, opened):
        assert_quotes_verbatim(pipeline, answer)

    off = Pipeline(blind.settings.replace(ocr_languages="off"), embedder=embedder)  # read as the setting says now
    now = off.index()
    assert (now.reread, now.removed, [e.path.name for e in now.skipped]) == (
        ["report.pdf"],
        ["notice.png"],
        ["notice.png"],
    )
    assert "only be read by OCR, which is off" in now.skipped[0].reason
    assert off.index().reread == []


SCAN_SAMPLES = {".png": make_scan("Tide tables are published on Mondays."), ".jpg": make_scan("Fees rise.", "JPEG")}


@pytest.mark.parametrize("suffix", sorted(SCAN_SAMPLES))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_ocr_of_damaged_images_gives_text_or_a_reason(suffix: str, data: st.DataObject, tmp_path: Path) -> None:
    path = tmp_path / f"fuzz{suffix}"
    try:
        extracted = image.load(path, mutate(SCAN_SAMPLES[suffix], data.draw), Ocr(timeout=20))
    except DocumentError as error:
        assert error.reason and error.path == path
    else:
        assert extracted.text.strip()


def test_an_uploaded_image_that_ocr_finds_nothing_in_is_not_kept(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("Fuel is ordered weekly.\n")
    pipeline = Pipeline(docs_dir=docs, index_dir=tmp_path / "index", embedder=HashEmbedder())
    pipeline.index()
    photo, notice = tmp_path / "photo.png", tmp_path / "notice.png"
    Image.radial_gradient("L").resize((600, 400)).save(photo)  # no text at all
    notice.write_bytes(make_scan(NOTICE))
    report = ui.add_files(pipeline, [photo, notice])
    assert "**Not added:** photo.png: an image without text that OCR could read" in report
    assert "**Added:** notice.png" in report and "Index updated: 1 added" in report
    assert sorted(p.name for p in docs.iterdir()) == ["notes.txt", "notice.png"]  # the photo was not kept
    assert pipeline.last_report is not None and pipeline.last_report.skipped == []
