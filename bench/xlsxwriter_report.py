"""The overdue report written with XlsxWriter, for bench/report.py to measure against the
report's own writer (pipeline/report/xlsx.py: openpyxl plus spliced SpreadsheetML).

The same sheets, columns, formats, chart and links, with XlsxWriter in constant-memory
mode: rows stream to the file as they are written. Measured about twice as slow as the
splice on the same findings (10,000 households: 62-70 s against 28-35 s), so the report
keeps the splice; this stays so the comparison can be repeated as XlsxWriter improves.
Every text is written with `write_string` and the workbook refuses to read strings as
formulas, numbers or links: what a caseworker typed ("=HYPERLINK(…)", "+1", "#N/A")
stays text. Constant-memory mode has no Excel table objects, so each sheet has a filter
on its header row instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.url import Url

from pipeline.files import write_new
from pipeline.finding_kinds import ALL_KINDS, FindingKind
from pipeline.overdue import Finding, RuleSettings, counts_by

DATE_FORMAT = "dd/mm/yyyy"
SUMMARY = "Summary"
EPOCH = date(1899, 12, 30)  # Excel's day 0: dates are written as their serial numbers
LINE_HEIGHT = 15  # points, Calibri 11
# Excel drops every link of a sheet with more than 65,530; past this many rows the plan's
# address is shown as text instead.
EXCEL_MAX_LINKS = 65_000
WORKBOOK_OPTIONS = {"constant_memory": True, "strings_to_formulas": False,
                    "strings_to_numbers": False, "strings_to_urls": False}

LinkFor = Callable[[str | None], str | None]


@dataclass(frozen=True)
class Severity:
    """How a "Days overdue" value looks: a fill and a font colour (Excel's own palette)."""
    fill: str
    font: str
    bold: bool = False

    def format(self) -> dict[str, Any]:
        return {"bg_color": f"#{self.fill}", "font_color": f"#{self.font}", "bold": self.bold}


# Severity of days overdue, as teams escalate: service manager, team lead, late, upcoming.
SEVERE = Severity("F8696B", "9C0006", bold=True)
ESCALATED = Severity("FFC7CE", "9C0006")
LATE = Severity("FFEB9C", "9C5700")
UPCOMING = Severity("C6EFCE", "006100")


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    attribute: str


COLUMNS = (
    Column("Reference", 13, "reference"), Column("Caseworker", 20, "caseworker"),
    Column("Team", 14, "team"), Column("Holder", 11, "holder"), Column("Area", 18, "area"),
    Column("Goal", 30, "goal"), Column("Step", 48, "step"), Column("Held by", 26, "held_by"),
    Column("Due", 11, "due"), Column("Days overdue", 13, "days_overdue"),
    Column("Escalate to", 15, "escalation"), Column("Detail", 34, "detail"),
    Column("Plan", 12, "pdf_path"),
)
STEP_ONLY = frozenset({"area", "goal", "step", "held_by"})


def columns_for(kind: FindingKind) -> tuple[Column, ...]:
    columns = COLUMNS if kind.steps else tuple(c for c in COLUMNS
                                               if c.attribute not in STEP_ONLY)
    if kind.upcoming:  # looking ahead: show days left, a positive number
        columns = tuple(Column("Days left", c.width, c.attribute)
                        if c.attribute == "days_overdue" else c for c in columns)
    return columns


def text_lines(value: str, width: float) -> int:
    """Lines `value` takes wrapped in a column `width` wide. About: widths count "0"s, and
    Calibri fits ~1.2 letters in one (seen in LibreOffice); word breaks waste some."""
    per_line = int(width * 1.2)
    if len(value) <= per_line and "\n" not in value:
        return 1
    return sum(max(1, -(-len(line) // per_line)) for line in value.split("\n"))


class PlanUrl(Url):
    """A plan link kept exactly as given. XlsxWriter reads `file:` URLs as Windows paths
    and turns file:///srv/plans/x.pdf into the relative srv\\plans\\x.pdf, dead once the
    workbook is opened from an e-mail; a plan link must stay absolute."""

    def _parse_url(self) -> None:
        link = self._link
        self._link = "plan+" + link  # parsed as an ordinary URL (scheme://…)
        super()._parse_url()
        self._link = self._relationship_link = link.split("#", 1)[0]


class ReportWorkbook:
    """One workbook being written; its formats made once."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
        self.book.set_properties({"title": "Overdue report", "author": "supportplan"})
        add = self.book.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.note = add({"italic": True, "font_color": "#595959"})
        self.header = add({"bold": True, "bg_color": "#DDEBF7", "bottom": 1, "valign": "top"})
        self.header_wrap = add({"bold": True, "bg_color": "#DDEBF7", "bottom": 1,
                                "text_wrap": True, "valign": "top"})
        self.header_right = add({"bold": True, "bg_color": "#DDEBF7", "bottom": 1,
                                 "align": "right", "text_wrap": True, "valign": "top"})
        self.date = add({"num_format": DATE_FORMAT, "valign": "top"})
        self.number = add({"valign": "top"})
        self.text = add({"valign": "top"})
        self.wrap = add({"text_wrap": True, "valign": "top"})
        self.link = add({"font_color": "#0563C1", "underline": 1, "valign": "top"})
        self.severity = {name: add(level.format()) for name, level in (
            ("severe", SEVERE), ("escalated", ESCALATED), ("late", LATE),
            ("upcoming", UPCOMING))}

    def close(self) -> None:
        self.book.close()


def _print_setup(sheet: Any, repeat_header: bool) -> None:
    """Printed (or saved as PDF): A4 landscape, one page wide, headers on every page."""
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.fit_to_pages(1, 0)
    if repeat_header:
        sheet.repeat_rows(0)


def write_report_xlsx(target: Path, findings: Sequence[Finding], as_of: date,
                      settings: RuleSettings, *, title: str = "Overdue report",
                      link_for: LinkFor | None = None) -> Path:
    """Write the report to `target` (never overwriting). Returns `target`.

    `link_for` turns a plan's PDF path into the link shown (report/links.py); by default
    the PDF's own `file:` URL."""
    link_for = link_for or _file_url

    def write(temp: Path) -> None:
        workbook = ReportWorkbook(temp)
        try:
            _write_summary(workbook, findings, as_of, settings, title)
            by_kind: dict[str, list[Finding]] = {kind.name: [] for kind in ALL_KINDS}
            for finding in findings:
                by_kind[finding.kind].append(finding)
            for kind in ALL_KINDS:
                _write_kind(workbook, kind, by_kind[kind.name], settings, link_for)
        finally:
            workbook.close()

    return write_new(target, write)


def _file_url(pdf_path: str | None) -> str | None:
    return Path(pdf_path).absolute().as_uri() if pdf_path else None


def _write_summary(workbook: ReportWorkbook, findings: Sequence[Finding], as_of: date,
                   settings: RuleSettings, title: str) -> None:
    sheet = workbook.book.add_worksheet(SUMMARY)
    names = [kind.name for kind in ALL_KINDS]
    sheet.set_column(0, 1, 22)
    sheet.set_column(2, 2 + len(names), 15)  # "Households", each kind, "Total"
    _print_setup(sheet, repeat_header=False)
    sheet.write_string(0, 0, f"{title} as of {as_of:%d/%m/%Y}", workbook.title)
    sheet.write_string(1, 0, (
        "Closed households (a Closed on date on or before the report date) are left out. "
        f"Escalate to team lead after {settings.escalate_team_lead_days} days overdue, to "
        f"service manager after {settings.escalate_service_manager_days}; steps only the "
        "household holds go no further than the team lead."), workbook.note)

    by_team = counts_by(findings, "team")
    team_header = 3
    sheet.set_row(team_header, 2 * LINE_HEIGHT)
    _header(workbook, sheet, team_header, ["Team", *names, "Total"], numbers_from=1)
    row = team_header
    for (team,), counts in by_team.items():
        row += 1
        sheet.write_string(row, 0, team, workbook.text)
        for col, count in enumerate([*counts.values(), sum(counts.values())], start=1):
            sheet.write_number(row, col, count)
    if not by_team:
        row += 1
        sheet.write_string(row, 0, "(nothing found)")
    team_last = row

    cw_header = team_last + 3
    by_caseworker = counts_by(findings, "team", "caseworker")
    households: dict[tuple[str, str], set[str]] = {}
    for item in findings:
        households.setdefault((item.team, item.caseworker), set()).add(item.reference)
    sheet.set_row(cw_header, 2 * LINE_HEIGHT)
    _header(workbook, sheet, cw_header, ["Team", "Caseworker", "Households", *names, "Total"],
            numbers_from=2)
    row = cw_header
    for (team, caseworker), counts in by_caseworker.items():
        row += 1
        sheet.write_string(row, 0, team)
        sheet.write_string(row, 1, caseworker)
        values = [len(households[(team, caseworker)]), *counts.values(), sum(counts.values())]
        for col, count in enumerate(values, start=2):
            sheet.write_number(row, col, count)
    if not by_caseworker:
        sheet.write_string(row + 1, 0, "(nothing found)")
    if by_team:
        _add_chart(workbook, sheet, by_team, team_header, team_last, len(names))


def _add_chart(workbook: ReportWorkbook, sheet: Any, by_team: dict[tuple[str, ...],
               dict[str, int]], first: int, last: int, kind_count: int) -> None:
    """Late findings by team, stacked, one colour per kind (the digest's colours); kinds
    with no findings are left out, so the legend lists only what is there."""
    chart = workbook.book.add_chart({"type": "bar", "subtype": "stacked"})
    for index, kind in enumerate(ALL_KINDS):
        if kind.upcoming or not any(counts[kind.name] for counts in by_team.values()):
            continue
        col = 1 + index
        chart.add_series({"name": [SUMMARY, first, col],
                          "categories": [SUMMARY, first + 1, 0, last, 0],
                          "values": [SUMMARY, first + 1, col, last, col],
                          "fill": {"color": kind.colour}, "border": {"none": True},
                          "gap": 60})
    chart.set_title({"name": "Late findings by team", "name_font": {"size": 12}})
    chart.set_x_axis({"name": "Findings", "major_gridlines": {"visible": True}})
    chart.set_y_axis({"reverse": True})  # teams top to bottom, as in the table
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 640, "height": max(300, 26 * (last - first) + 160)})
    sheet.insert_chart(first, 3 + kind_count + 1, chart)


def _header(workbook: ReportWorkbook, sheet: Any, row: int, headers: Sequence[str],
            numbers_from: int) -> None:
    for col, header in enumerate(headers):
        style = workbook.header_right if col >= numbers_from else workbook.header_wrap
        sheet.write_string(row, col, header, style)


def _write_kind(workbook: ReportWorkbook, kind: FindingKind, findings: list[Finding],
                settings: RuleSettings, link_for: LinkFor) -> None:
    sheet = workbook.book.add_worksheet(kind.name)
    columns = columns_for(kind)
    for index, column in enumerate(columns):
        sheet.set_column(index, index, column.width)
    sheet.freeze_panes(1, 1)
    _print_setup(sheet, repeat_header=True)
    numbers = {"due", "days_overdue"}
    for col, column in enumerate(columns):
        style = workbook.header_right if column.attribute in numbers else workbook.header
        sheet.write_string(0, col, column.header, style)
    last = max(len(findings), 1)
    sheet.autofilter(0, 0, last, len(columns) - 1)
    if not findings:
        sheet.write_string(1, 0, f"None as of the report date ({kind.name.lower()}).")
        return
    findings = sorted(findings, key=lambda f: (-f.days_overdue, f.team, f.caseworker,
                                               f.reference))
    days_col = [c.attribute for c in columns].index("days_overdue")
    _add_severity(workbook, sheet, days_col, last, kind, settings)
    _write_rows(workbook, sheet, columns, findings, kind.upcoming, link_for)


def _write_rows(workbook: ReportWorkbook, sheet: Any, columns: Sequence[Column],
                findings: Sequence[Finding], upcoming: bool, link_for: LinkFor) -> None:
    """The data rows, streamed: the hot loop of a 100,000-finding report."""
    write_string, write_number = sheet.write_string, sheet.write_number
    text, wrap, date_format = workbook.text, workbook.wrap, workbook.date
    plan = [c.attribute for c in columns].index("pdf_path")
    texts = [(col, c.attribute, c.width) for col, c in enumerate(columns)
             if c.attribute not in ("due", "days_overdue", "pdf_path")]
    due = [c.attribute for c in columns].index("due")
    days = [c.attribute for c in columns].index("days_overdue")
    for row, finding in enumerate(findings, start=1):
        lines = 1
        for col, attribute, width in texts:
            value = getattr(finding, attribute)
            if not value:
                continue
            needed = text_lines(value, width)
            if needed > 1:
                lines = max(lines, needed)
                write_string(row, col, value, wrap)
            else:
                write_string(row, col, value, text)
        # Text too long for its column wraps, and the row is made tall enough for it:
        # Excel would fit the height itself, LibreOffice keeps the one-line default.
        if lines > 1:
            sheet.set_row(row, lines * LINE_HEIGHT)
        write_number(row, due, (finding.due - EPOCH).days, date_format)
        write_number(row, days, -finding.days_overdue if upcoming else finding.days_overdue,
                     workbook.number)
        link = link_for(finding.pdf_path)
        if link is None:
            continue
        if row <= EXCEL_MAX_LINKS:
            url = PlanUrl(link)
            url.text = f"v{finding.version} PDF"
            sheet.write_url(row, plan, url, workbook.link)
        else:
            write_string(row, plan, link, text)


def _add_severity(workbook: ReportWorkbook, sheet: Any, col: int, last: int,
                  kind: FindingKind, settings: RuleSettings) -> None:
    """Colour days overdue as teams escalate (the same thresholds as "Escalate to").

    Conditional formatting on the column, not a fill per cell: Excel-native (a value
    edited by hand recolours itself) and no style per cell to write."""
    cells = (1, col, last, col)
    formats = workbook.severity
    if kind.upcoming:  # looking ahead: nothing is late yet
        sheet.conditional_format(*cells, {"type": "formula", "criteria": "TRUE",
                                          "format": formats["upcoming"], "stop_if_true": True})
        return
    for criteria, value, name in (
            (">", settings.escalate_service_manager_days, "severe"),
            (">", settings.escalate_team_lead_days, "escalated"),
            ("<=", settings.escalate_team_lead_days, "late")):
        sheet.conditional_format(*cells, {"type": "cell", "criteria": criteria,
                                          "value": value, "format": formats[name],
                                          "stop_if_true": True})
