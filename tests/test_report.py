"""The report files (reopened and checked cell by cell) and e-mail to a real SMTP server."""

from __future__ import annotations

import io
import operator
import socket
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from conftest import valid_household, write_household
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from pypdf import PdfReader

from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.overdue import (
    KINDS,
    PLAN_UNSIGNED,
    REVIEW_DUE,
    STEP_OVERDUE,
    Finding,
    RuleSettings,
)
from pipeline.report import run_report
from pipeline.report.pdf import build_digest_pdf
from pipeline.report.run import outbox_dir
from pipeline.report.xlsx import (
    DATE_FORMAT,
    ESCALATED,
    LATE,
    SEVERE,
    UPCOMING,
    write_report_xlsx,
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
        pdf_path="/srv/out/HH-0001/support-plan-HH-0001-v1.pdf")
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
    assert (name, ref) == ("StepOverdue", "A1:L7")
    assert sheet.tables[name].autoFilter.ref == "A1:L7"
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Reference", "Caseworker", "Team"]
    assert headers == [c.name for c in sheet.tables[name].tableColumns]

    worst = sheet[2]  # sorted most overdue first
    col = {h: i for i, h in enumerate(headers)}
    assert worst[col["Reference"]].value == "HH-0001"
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
    assert not link.hyperlink.target.startswith("/")  # relative: the folder can be shared
    assert (target.parent / link.hyperlink.target).resolve() == Path(
        "/srv/out/HH-0001/support-plan-HH-0001-v1.pdf")

    texts = {sheet.cell(row, col["Step"] + 1).value: sheet.cell(row, col["Step"] + 1)
             for row in range(3, 8)}
    assert set(texts) == set(NASTY)
    for text, cell in texts.items():
        assert cell.data_type == "s", text
        assert cell.quotePrefix, text
    assert all(sheet.cell(row, col["Goal"] + 1).data_type == "s" for row in range(2, 8))

    upcoming = workbook[REVIEW_DUE]
    assert upcoming["E1"].value == "Days left" and upcoming["E2"].value == 5
    assert shown_fill(upcoming, "E2") == UPCOMING.fill
    assert upcoming["H2"].value is None  # no PDF, no link
    assert upcoming["G2"].value == "#N/A" and upcoming["G2"].data_type == "s"  # not an error
    assert workbook[PLAN_UNSIGNED]["G2"].value == "-v1 not signed"

    summary = workbook["Summary"]
    assert set(summary.tables) == {"ByTeam", "ByCaseworker"}
    rows = {r[0]: r for r in summary.iter_rows(min_row=5, max_row=6, values_only=True)}
    north = rows["North"]
    assert north[1 + KINDS.index(STEP_OVERDUE)] == 6
    assert north[1 + len(KINDS)] == 7 and isinstance(north[1 + len(KINDS)], int)
    assert rows["South"][1 + KINDS.index(PLAN_UNSIGNED)] == 1
    assert len(summary._charts) == 1


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
    assert cells[2].value.endswith("HH-0002/support-plan-HH-0002-v1.pdf")


def test_long_text_wraps_in_a_tall_enough_row(tmp_path: Path) -> None:
    long_step = "We will: " + "find a school place near the new flat " * 6  # ~230 letters
    findings = [finding(days=9, step=long_step), finding(days=3, step="We will: call"),
                finding(days=1, step="We will: call\nYou will: answer")]
    target = write_report_xlsx(tmp_path / "r.xlsx", findings, AS_OF, RuleSettings())
    sheet = load_workbook(target)[STEP_OVERDUE]
    headers = [c.value for c in sheet[1]]
    step = headers.index("Step") + 1
    assert all(c.font.b for c in sheet[1])  # bold even where table styles are not shown
    assert sheet.cell(2, step).value == long_step and sheet.cell(2, step).alignment.wrap_text
    assert sheet.row_dimensions[2].height >= 4 * 15  # Calc would keep one line otherwise
    assert not sheet.cell(3, step).alignment.wrap_text and sheet.row_dimensions[3].height is None
    assert sheet.cell(4, step).alignment.wrap_text and sheet.row_dimensions[4].height == 30
    # Printed: landscape, one page wide, the header row on every page.
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$1:$1"


def test_empty_report_still_has_valid_tables(tmp_path: Path) -> None:
    target = write_report_xlsx(tmp_path / "empty.xlsx", [], AS_OF, RuleSettings())
    workbook = load_workbook(target)
    assert workbook[STEP_OVERDUE].tables["StepOverdue"].ref == "A1:L2"
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


# --- e-mail to a real SMTP server -----------------------------------------------------

@dataclass
class Inbox:
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[attr-defined]
        return "250 Message accepted"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def routed_workspace(workspace: Config, port: int) -> Config:
    for reference, team in (("HH-0001", "North"), ("HH-0002", "South"), ("HH-0003", "West")):
        write_household(workspace, valid_household(reference, team=team))
    outcomes = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert [o.status for o in outcomes] == ["built"] * 3
    assert workspace.source is not None
    workspace.source.write_text(f"""
[report.teams]
North = ["north.manager@example.org"]
"South" = ["south.manager@example.org", "south.lead@example.org"]

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"
sender = "plans@example.org"
timeout_seconds = 5
""", encoding="utf-8")
    return load_config(workspace.source)


def late_date() -> date:
    return date.today() + timedelta(days=120)  # every step late, every review overdue


def test_each_manager_gets_only_their_own_team(workspace: Config,
                                               smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    config = routed_workspace(workspace, port)
    as_of = late_date()
    result = run_report(config, as_of)
    assert result.xlsx.is_file() and result.pdf.is_file()
    assert not result.failed and not list(outbox_dir(config).glob("*.eml"))
    assert result.unrouted_teams == ["West"]
    by_recipients = {tuple(sorted(rcpts)): message for rcpts, message in inbox.messages}
    assert set(by_recipients) == {("north.manager@example.org",),
                                  ("south.lead@example.org", "south.manager@example.org")}
    for recipients, team, reference in (
            (("north.manager@example.org",), "North", "HH-0001"),
            (("south.lead@example.org", "south.manager@example.org"), "South", "HH-0002")):
        message = by_recipients[recipients]
        assert message["Subject"] == (f"Support plans: overdue items for {team} as of "
                                      f"{as_of:%d/%m/%Y}")
        assert message["From"] == "plans@example.org"
        attachments = {part.get_filename(): part.get_content()
                       for part in message.iter_attachments()}
        stem = f"overdue-{as_of.isoformat()}-{team.lower()}"
        assert set(attachments) == {f"{stem}.xlsx", f"{stem}.pdf"}
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert reference in body
        sheet = load_workbook(io.BytesIO(attachments[f"{stem}.xlsx"]))[STEP_OVERDUE]
        references = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
        teams = {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
        assert references == {reference} and teams == {team}
        # nothing about another team, anywhere in the message
        raw = message.as_bytes()
        for other in {"HH-0001", "HH-0002", "HH-0003"} - {reference}:
            assert other.encode() not in raw
            assert other.encode() not in attachments[f"{stem}.pdf"]


def test_failed_send_is_kept_and_retried_next_run(workspace: Config,
                                                  smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    config = routed_workspace(workspace, free_port())  # nobody listens there
    as_of = late_date()
    first = run_report(config, as_of)
    assert len(first.failed) == 2 and first.xlsx.is_file()
    queued = sorted(p.name for p in outbox_dir(config).glob("*.eml"))
    assert len(queued) == 2 and not inbox.messages

    assert config.source is not None
    config.source.write_text(config.source.read_text().replace(
        f"port = {config.values['smtp']['port']}", f"port = {port}"), encoding="utf-8")
    second = run_report(load_config(config.source), as_of, email=True)
    assert not second.failed
    assert len(inbox.messages) == 4  # two retried from the first run, two new
    assert second.xlsx != first.xlsx and first.xlsx.is_file()  # nothing overwritten
    assert not list(outbox_dir(config).glob("*.eml"))


def test_cli_dry_run_sends_nothing(workspace: Config, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    config = routed_workspace(workspace, port)
    as_of = late_date()
    result = CliRunner().invoke(main, ["report", "--config", str(config.source), "--as-of",
                                       as_of.isoformat(), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would e-mail team North -> north.manager@example.org" in result.output
    assert "would e-mail team South -> south.manager@example.org, south.lead@example.org" \
        in result.output
    assert 'no manager is set for team "West"' in result.output
    assert not inbox.messages and not list(outbox_dir(config).glob("*.eml"))
    assert (config.output_dir / "reports" / f"overdue-{as_of.isoformat()}.xlsx").is_file()
    bad = CliRunner().invoke(main, ["report", "--config", str(config.source), "--as-of",
                                    "31/02/2025"])
    assert bad.exit_code == 2 and "dd/mm/yyyy" in bad.output
