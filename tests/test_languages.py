"""Plans in the household's language, as real LibreOffice prints them: right to left for
Arabic, Ukrainian in Ukrainian, English left alone, bilingual or not; tagged PDFs in the
plan's language, PDF/A-2 when archival, large print; and signed Arabic and bilingual plans
read back from their scans."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from babel.dates import format_date
from click.testing import CliRunner
from conftest import PLAN_DATE, valid_household, write_household
from pdfcheck import archival_problems, structure, untagged_drawing, xmp_text
from scanpen import marked_page, save_pdf
from sqlalchemy import select

from pipeline.build import BUILT, build_workbooks
from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.intake.reader import read_workbook
from pipeline.printed import PageLayout
from pipeline.registry import page_layouts, registry_for
from pipeline.review import make_review
from pipeline.wording.words import ISOLATES

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def configured(workspace: Config, **settings: object) -> Config:
    """The workspace with [section] key = value lines changed, e.g. plan__bilingual=False."""
    text = workspace.source.read_text()
    for name, value in settings.items():
        key = name.split("__")[1]
        shown = str(value).lower() if isinstance(value, bool) else json.dumps(value)
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {shown}", text, count=1)
    workspace.source.write_text(text)
    return load_config(workspace.source)


def build_one(config: Config, language: str, reference: str = "HH-0001"):  # noqa: ANN201
    demo = valid_household(reference, preferred_language=language, interpreter_used="Yes",
                           interpreter_name="Rania Khalil", interpreter_language=language)
    write_household(config, demo)
    [outcome] = build_workbooks(config, [config.intake_dir / f"{reference}.xlsx"])
    assert outcome.status == BUILT, outcome.message
    return outcome


def pdf_text(pdf: Path) -> str:
    document = pdfium.PdfDocument(str(pdf))
    try:
        text = " ".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()
    return " ".join("".join(c for c in text if c not in ISOLATES).split())


def docx_xml(docx: Path) -> str:
    with zipfile.ZipFile(docx) as archive:
        return archive.read("word/document.xml").decode()


def layouts(config: Config) -> list[PageLayout]:
    registry = registry_for(config)
    try:
        with registry.engine.connect() as conn:
            rows = conn.execute(select(page_layouts.c.layout)
                                .order_by(page_layouts.c.page)).all()
        return [PageLayout.from_json(row.layout) for row in rows]
    finally:
        registry.close()


@pytest.mark.slow
def test_an_arabic_household_gets_an_arabic_plan_right_to_left(workspace: Config) -> None:
    outcome = build_one(workspace, "Arabic")
    xml = docx_xml(outcome.docx)
    assert xml.count("<w:bidi/>") > 100  # every paragraph runs right to left ...
    assert '<w:bidi w:val="0"/>' in xml  # ... but the English lines under them
    assert xml.count("<w:bidiVisual/>") == xml.count("<w:tbl>") + xml.count("<w:tbl ")
    assert "Noto Sans Arabic" in zipfile.ZipFile(outcome.docx).read("word/styles.xml").decode()
    text = pdf_text(outcome.pdf)
    # (pdfium and poppler, reordering a right-to-left line, turn the lam-alef ligatures of
    # words such as على round, though the PDF maps them in the right order; so the words
    # checked here have none)
    for arabic in ("خطة الدعم", "أهدافكم", "البقاء في أمان", "بمن تتصلون", "التوقيع",
                   "ما سنفعله نحن", "السكن"):
        assert arabic in text, arabic
    for english in ("Your goals", "Keeping safe", "Signing this plan"):  # bilingual
        assert english in text, english
    # dates in Arabic with Western digits, which the caseworker reads too
    review = format_date(PLAN_DATE.replace(year=PLAN_DATE.year), "long", locale="ar")
    assert re.sub(r"\D", "", review) and re.search(r"\d{4}", review)
    assert "مارس" in format_date(PLAN_DATE.replace(month=3), "long", locale="ar")
    plan_date = format_date(PLAN_DATE, "long", locale="ar")
    assert plan_date in xml
    with pikepdf.open(outcome.pdf) as document:
        assert str(document.Root.Lang).split("-")[0] == "ar"
        assert bool(document.Root.MarkInfo.Marked)
        assert document.docinfo["/Title"] == "خطة الدعم \u2068HH-0001\u2069، الإصدار 1"
        assert bool(document.Root.ViewerPreferences.DisplayDocTitle)
    kinds = structure(outcome.pdf)
    assert kinds.count("H1") >= 5 and "TH" in kinds and "Table" in kinds
    assert untagged_drawing(outcome.pdf) == []  # the stamped codes are artifacts
    # the review pack follows the household's language too
    pack = make_review(workspace, "HH-0001", pdf=False)
    pack_xml = docx_xml(pack.docx)
    assert "مراجعة خطة الدعم الخاصة بكم" in pack_xml and "<w:bidiVisual/>" in pack_xml


@pytest.mark.slow
def test_a_ukrainian_plan_is_in_ukrainian_and_can_leave_english_out(
        workspace: Config) -> None:
    outcome = build_one(workspace, "Ukrainian")
    text = pdf_text(outcome.pdf)
    for ukrainian in ("План підтримки", "Ваші цілі", "Безпека", "Підписання плану",
                      "Ми зробимо", "Житло",
                      " ".join(format_date(PLAN_DATE, "long", locale="uk").split())):
        assert ukrainian in text, ukrainian
    assert "Your goals" in text
    assert "<w:bidi/>" not in docx_xml(outcome.docx)
    with pikepdf.open(outcome.pdf) as document:
        assert str(document.Root.Lang).startswith("uk")
    alone = configured(workspace, plan__bilingual=False)
    outcome = build_one(alone, "Українська", "HH-0002")
    text = pdf_text(outcome.pdf)
    assert "Ваші цілі" in text and "Your goals" not in text and "Goal" not in text


@pytest.mark.slow
def test_an_english_plan_stays_english(workspace: Config) -> None:
    outcome = build_one(workspace, "English")
    text = pdf_text(outcome.pdf)
    assert "Your goals" in text and "Support plan HH-0001, version 1" in text
    assert not re.search(r"[\u0600-\u06ff]{4,} [\u0600-\u06ff]", text.replace("أمينة حسن", ""))
    assert text.count("Your goals") == 1  # no English line under English
    assert "<w:bidi/>" not in docx_xml(outcome.docx)
    with pikepdf.open(outcome.pdf) as document:
        assert str(document.Root.Lang).startswith("en")
        assert "/OutputIntents" not in document.Root  # not archival unless asked


@pytest.mark.slow
def test_archival_gives_pdf_a_2_and_large_print_14_pt(workspace: Config) -> None:
    config = configured(workspace, pdf__archival=True, plan__large_print=True)
    outcome = build_one(config, "Arabic")
    assert archival_problems(outcome.pdf) == []
    assert "<pdfaid:part>2</pdfaid:part>" in xmp_text(outcome.pdf)
    document = pdfium.PdfDocument(str(outcome.pdf))
    try:
        sizes = []
        for page in document:
            textpage = page.get_textpage()
            chars = "".join(textpage.get_text_range(i, 1) or " "
                            for i in range(textpage.count_chars()))
            start = chars.find("Gather payslips")
            if start >= 0:
                sizes.append(pdfium.raw.FPDFText_GetFontSize(textpage.raw, start))
    finally:
        document.close()
    assert sizes and min(sizes) >= 13.9


@pytest.mark.slow
@pytest.mark.parametrize(("language", "bilingual"), [("Arabic", False), ("Dari", True)])
def test_a_signed_plan_in_another_language_is_read_back(workspace: Config, language: str,
                                                        bilingual: bool) -> None:
    """Signature boxes are found by their mark, not by a word: an Arabic plan with no
    English on it, and a bilingual Dari one, are signed by everyone and read back."""
    config = configured(workspace, plan__bilingual=bilingual)
    outcome = build_one(config, language)
    pages = layouts(config)
    signers = [box.key for layout in pages for box in layout.boxes if box.kind == "signature"]
    assert len(signers) == 5
    text = pdf_text(outcome.pdf)
    assert ("Signature" in text) is bilingual
    marks = dict.fromkeys(signers, "signed")
    save_pdf([marked_page(outcome.pdf, layout, marks) for layout in pages],
             config.scans_dir / "signed.pdf")
    result = CliRunner().invoke(main, ["--config", str(config.source), "reconcile", "--json"])
    assert result.exit_code == 0, result.output
    read = {box["signer"]: box["state"] for line in result.output.splitlines()
            for box in json.loads(line)["signatures"]}
    assert read == dict.fromkeys(signers, "signed")


def test_a_language_the_plan_cannot_be_in_is_a_warning_naming_the_cell(
        workspace: Config) -> None:
    demo = valid_household(preferred_language="Arabik")
    demo.members[0]["language"] = "Tigrynia"
    problems = [str(p) for p in read_workbook(write_household(workspace, demo)).problems]
    assert 'Household!B10: "Arabik" is not a language name supportplan recognises, so the ' \
        "plan is in English; did you mean Arabic?" in " ".join(problems)
    assert any(p.startswith('Members!E2: "Tigrynia"') and "Tigrinya" in p for p in problems)
    demo = valid_household("HH-0002", preferred_language="Somali")
    problems = [str(p) for p in read_workbook(write_household(workspace, demo)).problems]
    assert any("no Somali translation yet, so the plan is in English" in p for p in problems)
