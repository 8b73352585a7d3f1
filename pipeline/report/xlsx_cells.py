"""Cells, columns and formats of the overdue workbook (report/xlsx.py writes it)."""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

from ..finding_kinds import Escalation, FindingKind
from ..overdue import RuleSettings

DATE_FORMAT = "dd/mm/yyyy"
RISKY_PREFIXES = ("=", "+", "-", "@")
TABLE_STYLE = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
# Fonts name the workbook's own (Calibri, theme minor): a font without a name shows in
# LibreOffice as its default serif.
BODY = {"name": "Calibri", "family": 2, "scheme": "minor"}
TITLE_FONT = Font(**BODY, bold=True, size=14)
NOTE_FONT = Font(**BODY, size=11, italic=True, color="595959")
LINK_FONT = Font(**BODY, size=11, color="0563C1", underline="single")
HEADER_FONT = Font(**BODY, size=11, bold=True)
WRAP = Alignment(wrap_text=True)  # bottom, like the unstyled cells beside it
LINE_HEIGHT = 15  # points, Calibri 11


@dataclass(frozen=True)
class Severity:
    """How a "Days overdue" value looks: a fill and a font colour (Excel's own palette)."""
    fill: str
    font: str
    bold: bool = False

    def style(self) -> dict[str, Any]:
        # A conditional format's solid fill is drawn in bgColor; fgColor too for other readers.
        return {"fill": PatternFill("solid", fgColor=self.fill, bgColor=self.fill),
                "font": Font(color=self.font, bold=self.bold)}

    def rule(self, operator: str, threshold: int) -> Any:
        return CellIsRule(operator=operator, formula=[str(threshold)], stopIfTrue=True,
                          **self.style())

    def always(self) -> Any:
        return FormulaRule(formula=["TRUE"], stopIfTrue=True, **self.style())


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


STEP_COLUMNS = (
    Column("Reference", 13, "reference"), Column("Caseworker", 20, "caseworker"),
    Column("Team", 14, "team"), Column("Holder", 11, "holder"), Column("Area", 18, "area"),
    Column("Goal", 30, "goal"), Column("Step", 48, "step"), Column("Held by", 26, "held_by"),
    Column("Due", 11, "due"), Column("Days overdue", 13, "days_overdue"),
    Column("Escalate to", 15, "escalation"), Column("Detail", 34, "detail"),
    Column("Plan", 12, "pdf_path"),
)
OTHER_COLUMNS = tuple(c for c in STEP_COLUMNS
                      if c.attribute not in {"area", "goal", "step", "held_by"})


def columns_for(kind: FindingKind) -> tuple[Column, ...]:
    columns = STEP_COLUMNS if kind.steps else OTHER_COLUMNS
    if kind.upcoming:  # looking ahead: show days left, a positive number
        columns = tuple(Column("Days left", c.width, c.attribute) if c.attribute == "days_overdue"
                        else c for c in columns)
    return columns


def clean_text(value: str) -> str:
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def text_lines(value: str, width: float) -> int:
    """Lines `value` takes wrapped in a column `width` wide. About: widths count "0"s, and
    Calibri fits ~1.2 letters in one (seen in LibreOffice); word breaks waste some."""
    per_line = int(width * 1.2)
    if len(value) <= per_line and "\n" not in value:
        return 1
    return sum(max(1, -(-len(line) // per_line)) for line in value.split("\n"))


def header_cells(sheet: Any, headers: Sequence[str], wrap: bool = False,
                 numbers: Collection[str] = ()) -> list[Any]:
    """Bold headers: the table style draws them in Excel, but not every reader has it
    (LibreOffice shows no table styles). Headers of number and date columns (`numbers`)
    sit on the right, over their values."""
    cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, header)
        cell.font = HEADER_FONT
        right = header in numbers
        if wrap or right:
            cell.alignment = Alignment(wrap_text=wrap, horizontal="right" if right else None)
        cells.append(cell)
    return cells


def _print_setup(sheet: Any, title_rows: str | None = None) -> None:
    """Printed (or saved as PDF): A4 landscape, one page wide, headers on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages down as it takes
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        sheet.print_title_rows = title_rows


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


def _add_severity(sheet: Any, cells: str, kind: FindingKind, settings: RuleSettings) -> None:
    """Colour days overdue as the kind escalates (the same thresholds as "Escalate to").

    Conditional formatting on the column, not a fill per cell: Excel-native (a value
    edited by hand recolours itself) and no style per cell to write."""
    formatting = sheet.conditional_formatting
    if kind.upcoming:  # looking ahead: nothing is late yet
        formatting.add(cells, UPCOMING.always())
        return
    if kind.escalation is Escalation.AT_ONCE:  # for the service manager whatever its age
        formatting.add(cells, SEVERE.always())
        return
    if kind.escalation is not Escalation.TEAM_LEAD_AT_MOST:
        formatting.add(cells, SEVERE.rule("greaterThan",
                                          settings.escalate_service_manager_days))
    formatting.add(cells, ESCALATED.rule("greaterThan", settings.escalate_team_lead_days))
    formatting.add(cells, LATE.rule("lessThanOrEqual", settings.escalate_team_lead_days))
