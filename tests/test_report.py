"""The report files (reopened and checked cell by cell) and e-mail to a real SMTP server."""

from __future__ import annotations

import io
import operator
import re
import unicodedata
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader
from reportlab.graphics.shapes import Rect

from pipeline.finding_kinds import ALL_KINDS
from pipeline.overdue import (
    HOUSEHOLD_STEP,
    KINDS,
    PEER_REVIEW_MISSING,
    PLAN_UNSIGNED,
    REVIEW_DUE,
    SAFETY_NOT_WORKING,
    STEP_OVERDUE,
    Finding,
    RuleSettings,
)
from pipeline.report.pdf import Digest, _chart, build_digest_pdf
from pipeline.report.shaping import markup
from pipeline.report.xlsx import write_report_xlsx
from pipeline.report.xlsx_cells import (
    DATE_FORMAT,
    ESCALATED,
    LATE,
    SEVERE,
    UPCOMING,
)

AS_OF = date(2025, 3, 10)
NASTY = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+1", "-2", "@SUM(A1:A2)",
         "=1+1"]


def finding(kind: str = STEP_OVERDUE, days: int = 3, **values: object) -> Finding:
    base: dict[str, object] = dict(
        kind=kind, reference="HH-0001", caseworker="Jo Whitfield", team="North",
        due=AS_OF - timedelta(days=days), days_overdue=days, area="Housing",
        goal="A home", step="We will: Refer to the housing register",
        held_by="We (staff / partner)", detail="Status: In progress", version=1,
        pdf_path="/srv/out/HH-0001/support-plan-HH-0001-v1.pdf", holder="us")
    base.update(values)
    return Finding(**base)  # type: ignore[arg-type]


# --- xlsx ----------------------------------------------------------------------------

COMPARE = {"greaterThan": operator.gt, "greaterThanOrEqual": operator.ge,
           "lessThan": operator.lt, "lessThanOrEqual": operator.le, "equal": operator.eq}


def shown_fill(sheet: Worksheet, coordinate: str, value: float | None = None) -> str | None:
    """The fill a spreadsheet shows on a cell from the sheet's conditional formatting (as
    reopened from the file): the first rule by priority that holds for the cell's value (or
    for `value`, to probe thresholds), with stopIfTrue."""
    value = sheet[coordinate].value if value is None else value
    rules = sorted((rule for formatting in sheet.conditional_formatting
                    if coordinate in formatting.sqref for rule in formatting.rules),
                   key=lambda rule: rule.priority)
    for rule in rules:
        if rule.type == "expression":
            assert rule.formula == ["TRUE"], rule.formula  # the only expression used
            holds = True
        else:
            assert rule.type == "cellIs", rule.type
            holds = COMPARE[rule.operator](value, float(rule.formula[0]))
        if holds:
            assert rule.stopIfTrue
            return str(rule.dxf.fill.bgColor.rgb)[-6:]
    return None

def test_xlsx_reopened_cell_by_cell(tmp_path: Path) -> None:
    findings = [finding(days=20, escalation="Service manager"),
                *[finding(days=2, reference=f"HH-000{i}", step=text, goal=text)
                  for i, text in enumerate(NASTY, start=2)],
                finding(PLAN_UNSIGNED, days=1, team="South", caseworker="Ana Lima",
                        detail="-v1 not signed"),
                finding(REVIEW_DUE, days=-5, pdf_path=None, detail="#N/A")]
    target = tmp_path / "reports" / "overdue-2025-03-10.xlsx"
    write_report_xlsx(target, findings, AS_OF, RuleSettings())

    with zipfile.ZipFile(target) as archive:  # no formula anywhere in the file
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)

    workbook = load_workbook(target)
    assert workbook.sheetnames == ["Summary", *KINDS]
    sheet = workbook[STEP_OVERDUE]
    assert sheet.freeze_panes == "B2"
    [(name, ref)] = sheet.tables.items()
    assert (name, ref) == ("StepOverdue", "A1:M7")
    assert sheet.tables[name].autoFilter.ref == "A1:M7"  # filter buttons on every column
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["Reference", "Caseworker", "Team", "Holder"]
    assert headers == [c.name for c in sheet.tables[name].tableColumns]

    worst = sheet[2]  # sorted most overdue first
    col = {h: i for i, h in enumerate(headers)}
    assert worst[col["Reference"]].value == "HH-0001"
    assert worst[col["Holder"]].value == "us"
    due = worst[col["Due"]]
    assert due.is_date and due.number_format == DATE_FORMAT
    assert due.value.date() == AS_OF - timedelta(days=20)
    days = worst[col["Days overdue"]]
    assert days.value == 20 and days.data_type == "n"
    days_ref = days.coordinate
    assert shown_fill(sheet, days_ref) == SEVERE.fill
    assert shown_fill(sheet, days_ref.replace("2", "3")) == LATE.fill  # 2 days overdue
    # The thresholds are the escalation settings: more than 14 days, more than 7.
    assert [shown_fill(sheet, days_ref, n) for n in (15, 14, 8, 7, 0)] == [
        SEVERE.fill, ESCALATED.fill, ESCALATED.fill, LATE.fill, LATE.fill]
    assert shown_fill(sheet, "A2") is None and shown_fill(sheet, days_ref[0] + "1") is None
    assert worst[col["Escalate to"]].value == "Service manager"
    link = worst[col["Plan"]]
    assert link.value == "v1 PDF"
    # absolute: it opens from an e-mail, wherever the workbook was saved
    assert link.hyperlink.target == "file:///srv/out/HH-0001/support-plan-HH-0001-v1.pdf"

    texts = {sheet.cell(row, col["Step"] + 1).value: sheet.cell(row, col["Step"] + 1)
             for row in range(3, 8)}
    assert set(texts) == set(NASTY)
    for text, cell in texts.items():
        assert cell.data_type == "s", text
        assert cell.quotePrefix, text
    assert all(sheet.cell(row, col["Goal"] + 1).data_type == "s" for row in range(2, 8))

    upcoming = workbook[REVIEW_DUE]
    assert upcoming["F1"].value == "Days left" and upcoming["F2"].value == 5
    assert shown_fill(upcoming, "F2") == UPCOMING.fill
    assert upcoming["I2"].value is None  # no PDF, no link
    assert upcoming["H2"].value == "#N/A" and upcoming["H2"].data_type == "s"  # not an error
    assert workbook[PLAN_UNSIGNED]["H2"].value == "-v1 not signed"

    summary = workbook["Summary"]
    assert set(summary.tables) == {"ByTeam", "ByCaseworker"}
    rows = {r[0]: r for r in summary.iter_rows(min_row=5, max_row=6, values_only=True)}
    north = rows["North"]
    assert north[1 + KINDS.index(STEP_OVERDUE)] == 6
    assert north[1 + len(KINDS)] == 7 and isinstance(north[1 + len(KINDS)], int)
    assert rows["South"][1 + KINDS.index(PLAN_UNSIGNED)] == 1
    caseworkers = {r[1]: r for r in summary.iter_rows(min_row=10, max_row=11,
                                                      values_only=True)}
    assert caseworkers["Jo Whitfield"][2] == 6  # households
    assert caseworkers["Ana Lima"][3 + KINDS.index(PLAN_UNSIGNED)] == 1


def test_workbook_chart_has_the_kinds_colours_and_only_kinds_with_items(
        tmp_path: Path) -> None:
    findings = [finding(days=3), finding(PLAN_UNSIGNED, days=2, team="South"),
                finding(REVIEW_DUE, days=-3),  # upcoming: not in the chart
                finding(SAFETY_NOT_WORKING, days=0, team="South"),
                finding(HOUSEHOLD_STEP, days=40, holder="household")]
    target = write_report_xlsx(tmp_path / "r.xlsx", findings, AS_OF, RuleSettings())
    workbook = load_workbook(target)
    # days coloured as each kind escalates: safety at once, the household's step no further
    # than the team lead
    assert shown_fill(workbook[SAFETY_NOT_WORKING], "F2") == SEVERE.fill
    household = workbook[HOUSEHOLD_STEP]
    assert household["D2"].value == "household"
    assert shown_fill(household, "J2") == ESCALATED.fill
    with zipfile.ZipFile(target) as archive:
        chart = archive.read("xl/charts/chart1.xml").decode()
    colours = {kind.name: kind.colour.lstrip("#").upper() for kind in ALL_KINDS}
    assert len(re.findall(r"<(?:c:)?ser>", chart)) == 4
    for kind in (STEP_OVERDUE, PLAN_UNSIGNED, SAFETY_NOT_WORKING, HOUSEHOLD_STEP):
        assert colours[kind] in chart
    assert colours[REVIEW_DUE] not in chart and colours[PEER_REVIEW_MISSING] not in chart


def test_links_stop_at_excels_limit_and_the_rest_show_the_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.report.xlsx as xlsx

    monkeypatch.setattr(xlsx, "EXCEL_MAX_LINKS", 2)  # Excel's real limit is ~65,530 a sheet
    findings = [finding(days=10 - n, reference=f"HH-000{n}",
                        pdf_path=f"/srv/out/HH-000{n}/support-plan-HH-000{n}-v1.pdf")
                for n in range(4)]
    target = write_report_xlsx(tmp_path / "reports" / "r.xlsx", findings, AS_OF,
                               RuleSettings())
    sheet = load_workbook(target)[STEP_OVERDUE]
    plan = [c.column_letter for c in sheet[1] if c.value == "Plan"][0]
    cells = [sheet[f"{plan}{row}"] for row in range(2, 6)]
    assert [c.hyperlink is not None for c in cells] == [True, True, False, False]
    assert [c.value for c in cells[:2]] == ["v1 PDF", "v1 PDF"]
    assert cells[2].value == "file:///srv/out/HH-0002/support-plan-HH-0002-v1.pdf"


def test_long_text_wraps_in_a_tall_enough_row(tmp_path: Path) -> None:
    long_step = "We will: " + "find a school place near the new flat " * 6  # ~230 letters
    findings = [finding(days=9, step=long_step), finding(days=3, step="We will: call"),
                finding(days=1, step="We will: call\nYou will: answer")]
    target = write_report_xlsx(tmp_path / "r.xlsx", findings, AS_OF, RuleSettings())
    sheet = load_workbook(target)[STEP_OVERDUE]
    headers = [c.value for c in sheet[1]]
    step = headers.index("Step") + 1
    assert all(c.font.b for c in sheet[1])
    assert sheet.cell(2, step).value == long_step and sheet.cell(2, step).alignment.wrap_text
    assert sheet.row_dimensions[2].height >= 4 * 15  # Calc would keep one line otherwise
    assert not sheet.cell(3, step).alignment.wrap_text
    assert sheet.row_dimensions[3].height in (None, 15)
    assert sheet.cell(4, step).alignment.wrap_text and sheet.row_dimensions[4].height == 30
    # Printed: landscape, one page wide, the header row on every page.
    setup = sheet.page_setup  # fitToWidth left out of the file means 1, its default
    assert setup.orientation == "landscape" and setup.fitToWidth in (None, 1)
    assert setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"


def test_empty_report_still_has_valid_tables(tmp_path: Path) -> None:
    target = write_report_xlsx(tmp_path / "empty.xlsx", [], AS_OF, RuleSettings())
    workbook = load_workbook(target)
    assert workbook[STEP_OVERDUE].tables["StepOverdue"].ref == "A1:M2"
    assert workbook[STEP_OVERDUE]["A2"].value.startswith("None as of")
    with pytest.raises(FileExistsError):  # never overwritten
        write_report_xlsx(target, [], AS_OF, RuleSettings())


def test_digest_is_one_page_even_with_many_findings() -> None:
    findings = [finding(days=d % 40, reference=f"HH-{d:04d}", team=f"Team {d % 15}",
                        step="We will: " + "a very long step text " * 20)
                for d in range(2000)]
    data = build_digest_pdf(findings, AS_OF, RuleSettings(), items=12)
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Overdue report as of 10/03/2025" in text and "2000" in text


def test_digest_shapes_and_orders_arabic_names() -> None:
    arabic = "أمينة حسن"
    # display order: the first name typed is drawn rightmost; each word keeps its typed
    # letters (HarfBuzz lays them out right to left) and the Arabic font
    assert markup(arabic) == " ".join(f'<font face="NotoSansArabic">{w}</font>'
                                      for w in ("حسن", "أمينة"))
    assert markup("Jo <Whitfield>") == "Jo &lt;Whitfield&gt;"

    findings = [finding(days=30, caseworker=arabic, escalation="Service manager")]
    page = PdfReader(io.BytesIO(build_digest_pdf(findings, AS_OF, RuleSettings()))).pages[0]
    fonts = {str(font["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert any("NotoSansArabic" in name for name in fonts)
    text = page.extract_text()
    # joined letters are drawn with their contextual glyphs (presentation forms or the
    # font's own), not the isolated letters reportlab alone would print
    shaped = [ch for ch in text if "\ufb50" <= ch <= "\ufeff" or "\ue000" <= ch <= "\uf8ff"]
    assert shaped, text


def test_digest_legend_has_only_kinds_with_items_in_their_colours() -> None:
    findings = [finding(days=3), finding(PLAN_UNSIGNED, days=2, team="South")]
    data = build_digest_pdf(findings, AS_OF, RuleSettings())
    # NFKC: HarfBuzz draws "fi" as its ligature
    text = unicodedata.normalize("NFKC", PdfReader(io.BytesIO(data)).pages[0].extract_text())
    assert "Jo Whitfield 1 household; 1 of our actions late; 1 plan waiting for " \
        "signatures" in " ".join(text.split())
    assert "Weekly review missing" not in text and "Safety plan not working" not in text
    drawing = _chart(Digest.of(findings, 12), "Helvetica", 12)
    assert drawing is not None
    fills = {c.fillColor.hexval()[2:].upper() for c in drawing.contents
             if isinstance(c, Rect)}
    by_name = {kind.name: kind.colour.lstrip("#").upper() for kind in ALL_KINDS}
    assert fills == {by_name[STEP_OVERDUE], by_name[PLAN_UNSIGNED]}
