"""The overdue report as an Excel workbook: a Summary sheet with a chart, one table per kind.

Written in openpyxl's write-only (streaming) mode so 100,000+ findings fit in little
memory. Every text that came from a workbook is written as text: openpyxl would store a
string starting with "=" as a formula, so such cells are forced to the string type and
given Excel's quote prefix (so editing the cell later does not turn it into a formula).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from ..files import write_new
from ..overdue import (
    KINDS,
    STEP_DUE_SOON,
    STEP_OVERDUE,
    UPCOMING_KINDS,
    Finding,
    RuleSettings,
    counts_by,
)

DATE_FORMAT = "dd/mm/yyyy"
SUMMARY = "Summary"
RISKY_PREFIXES = ("=", "+", "-", "@")
TABLE_STYLE = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
TITLE_FONT = Font(bold=True, size=14)
NOTE_FONT = Font(italic=True, color="595959")
LINK_FONT = Font(color="0563C1", underline="single")
WRAP = Alignment(wrap_text=True, vertical="top")
# Severity of days overdue, as teams escalate: service manager, team lead, late, upcoming.
SEVERE = (PatternFill("solid", fgColor="F8696B"), Font(bold=True, color="9C0006"))
ESCALATED = (PatternFill("solid", fgColor="FFC7CE"), Font(color="9C0006"))
LATE = (PatternFill("solid", fgColor="FFEB9C"), Font(color="9C5700"))
UPCOMING = (PatternFill("solid", fgColor="C6EFCE"), Font(color="006100"))


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    attribute: str


STEP_COLUMNS = (
    Column("Reference", 13, "reference"), Column("Caseworker", 20, "caseworker"),
    Column("Team", 14, "team"), Column("Area", 18, "area"), Column("Goal", 30, "goal"),
    Column("Step", 48, "step"), Column("Held by", 22, "held_by"), Column("Due", 11, "due"),
    Column("Days overdue", 9, "days_overdue"), Column("Escalate to", 15, "escalation"),
    Column("Detail", 30, "detail"), Column("Plan", 12, "pdf_path"),
)
OTHER_COLUMNS = tuple(c for c in STEP_COLUMNS
                      if c.attribute not in {"area", "goal", "step", "held_by"})


def columns_for(kind: str) -> tuple[Column, ...]:
    columns = STEP_COLUMNS if kind in (STEP_OVERDUE, STEP_DUE_SOON) else OTHER_COLUMNS
    if kind in UPCOMING_KINDS:  # looking ahead: show days left, a positive number
        columns = tuple(Column("Days left", 9, c.attribute) if c.attribute == "days_overdue"
                        else c for c in columns)
    return columns


def clean_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def text_cell(sheet: Any, value: str, **style: Any) -> WriteOnlyCell | str:
    """A cell that is text whatever it starts with; plain strings stay cheap."""
    value = clean_text(value)
    if not value.startswith(RISKY_PREFIXES) and not style:
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.data_type = "s"  # never a formula
    if value.startswith(RISKY_PREFIXES):
        cell.quotePrefix = True
    for key, setting in style.items():
        setattr(cell, key, setting)
    return cell


def severity(finding: Finding, settings: RuleSettings) -> tuple[PatternFill, Font]:
    if finding.kind in UPCOMING_KINDS:
        return UPCOMING
    if finding.days_overdue > settings.escalate_service_manager_days:
        return SEVERE
    if finding.days_overdue > settings.escalate_team_lead_days:
        return ESCALATED
    return LATE


def plan_link(pdf_path: str | None, report_dir: Path) -> str | None:
    """A link to the plan PDF, relative to the report so the output folder can be shared."""
    if not pdf_path:
        return None
    try:
        return Path(os.path.relpath(pdf_path, report_dir)).as_posix()
    except ValueError:  # another drive on Windows
        return Path(pdf_path).as_uri()


def table_name(title: str) -> str:
    return "".join(ch for ch in title.title() if ch.isalnum())


def _add_table(sheet: Any, name: str, headers: Sequence[str], first_row: int,
               last_row: int, first_col: int = 1) -> None:
    ref = (f"{get_column_letter(first_col)}{first_row}:"
           f"{get_column_letter(first_col + len(headers) - 1)}{last_row}")
    table = Table(displayName=name, ref=ref, tableStyleInfo=TABLE_STYLE)
    # Write-only sheets cannot be read back, so the column names are given, not looked up.
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, start=1)]
    table.autoFilter = AutoFilter(ref=ref)  # the filter buttons on the header row
    with warnings.catch_warnings():  # "add table columns manually": done just above
        warnings.simplefilter("ignore", UserWarning)
        sheet.add_table(table)


def write_report_xlsx(target: Path, findings: Sequence[Finding], as_of: date,
                      settings: RuleSettings, *, title: str = "Overdue report") -> Path:
    """Write the report to `target` (never overwriting). Returns `target`."""
    if target.exists():  # checked first: a write-only workbook left unsaved warns noisily
        raise FileExistsError(target)
    workbook = build_report_workbook(findings, as_of, settings, target.parent, title=title)
    return write_new(target, lambda temp: workbook.save(temp))


def build_report_workbook(findings: Sequence[Finding], as_of: date, settings: RuleSettings,
                          report_dir: Path, *, title: str = "Overdue report") -> Workbook:
    workbook = Workbook(write_only=True)
    by_kind: dict[str, list[Finding]] = {kind: [] for kind in KINDS}
    for finding in findings:
        by_kind[finding.kind].append(finding)
    _write_summary(workbook.create_sheet(SUMMARY), findings, as_of, settings, title)
    for kind in KINDS:
        _write_kind(workbook.create_sheet(kind), kind, by_kind[kind], settings, report_dir)
    return workbook


def _write_summary(sheet: Any, findings: Sequence[Finding], as_of: date,
                   settings: RuleSettings, title: str) -> None:
    headers_team = ["Team", *KINDS, "Total"]
    headers_cw = ["Team", "Caseworker", *KINDS, "Total"]
    for index, width in enumerate([22, 22, *[13] * len(KINDS), 9], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    heading = WriteOnlyCell(sheet, f"{title} as of {as_of:%d/%m/%Y}")
    heading.font = TITLE_FONT
    sheet.append([heading])
    note = WriteOnlyCell(sheet, (
        "Closed households (a Closed on date on or before the report date) are left out. "
        f"Escalate to team lead after {settings.escalate_team_lead_days} days overdue, to "
        f"service manager after {settings.escalate_service_manager_days}."))
    note.font = NOTE_FONT
    sheet.append([note])
    sheet.append([])
    by_team = counts_by(findings, "team")
    team_first = 4
    sheet.append(headers_team)
    for (team,), counts in by_team.items():
        sheet.append([text_cell(sheet, team), *counts.values(), sum(counts.values())])
    if not by_team:
        sheet.append(["(nothing found)", *[0] * (len(KINDS) + 1)])
    team_last = team_first + max(len(by_team), 1)
    _add_table(sheet, "ByTeam", headers_team, team_first, team_last)
    sheet.append([])
    sheet.append([])
    cw_first = team_last + 3
    by_caseworker = counts_by(findings, "team", "caseworker")
    sheet.append(headers_cw)
    for (team, caseworker), counts in by_caseworker.items():
        sheet.append([text_cell(sheet, team), text_cell(sheet, caseworker), *counts.values(),
                      sum(counts.values())])
    if not by_caseworker:
        sheet.append(["(nothing found)", "", *[0] * (len(KINDS) + 1)])
    cw_last = cw_first + max(len(by_caseworker), 1)
    _add_table(sheet, "ByCaseworker", headers_cw, cw_first, cw_last)

    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "Findings by team"
    chart.y_axis.title = "Findings"
    chart.height = max(7.5, 1.2 * (team_last - team_first) + 4)
    chart.width = 18
    late_kinds = [k for k in KINDS if k not in UPCOMING_KINDS]
    for kind in late_kinds:
        col = 2 + KINDS.index(kind)
        chart.add_data(Reference(sheet, min_col=col, min_row=team_first, max_row=team_last),
                       titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=team_first + 1, max_row=team_last))
    sheet.add_chart(chart, f"{get_column_letter(len(headers_cw) + 2)}{team_first}")


def _write_kind(sheet: Any, kind: str, findings: list[Finding], settings: RuleSettings,
                report_dir: Path) -> None:
    columns = columns_for(kind)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "B2"
    headers = [c.header for c in columns]
    sheet.append(headers)
    upcoming = kind in UPCOMING_KINDS
    findings = sorted(findings, key=lambda f: (-f.days_overdue, f.team, f.caseworker,
                                               f.reference))
    for finding in findings:
        row: list[Any] = []
        for column in columns:
            value = getattr(finding, column.attribute)
            if column.attribute == "due":
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = DATE_FORMAT
                row.append(cell)
            elif column.attribute == "days_overdue":
                cell = WriteOnlyCell(sheet, -value if upcoming else value)
                cell.fill, cell.font = severity(finding, settings)
                row.append(cell)
            elif column.attribute == "pdf_path":
                link = plan_link(value, report_dir)
                if link is None:
                    row.append(None)
                else:
                    cell = WriteOnlyCell(sheet, f"v{finding.version} PDF")
                    cell.hyperlink = link
                    cell.font = LINK_FONT
                    row.append(cell)
            elif column.attribute == "step":
                row.append(text_cell(sheet, value, alignment=WRAP))
            else:
                row.append(text_cell(sheet, str(value)))
        sheet.append(row)
    if not findings:
        sheet.append([f"None as of the report date ({kind.lower()})."])
    _add_table(sheet, table_name(kind), headers, 1, 1 + max(len(findings), 1))
