"""The overdue report as an Excel workbook: a Summary sheet with a chart, one table per kind.

Written in openpyxl's write-only (streaming) mode so 100,000+ findings fit in little
memory. Every text that came from a workbook is written as text: openpyxl would store a
string starting with "=" as a formula, so such cells are forced to the string type and
given Excel's quote prefix (so editing the cell later does not turn it into a formula).
"""

from __future__ import annotations

import os
import warnings
import zipfile
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import CellIsRule, FormulaRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.hyperlink import Hyperlink
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
    Column("Team", 14, "team"), Column("Area", 18, "area"), Column("Goal", 30, "goal"),
    Column("Step", 48, "step"), Column("Held by", 26, "held_by"), Column("Due", 11, "due"),
    Column("Days overdue", 13, "days_overdue"), Column("Escalate to", 15, "escalation"),
    Column("Detail", 34, "detail"), Column("Plan", 12, "pdf_path"),
)
OTHER_COLUMNS = tuple(c for c in STEP_COLUMNS
                      if c.attribute not in {"area", "goal", "step", "held_by"})


def columns_for(kind: str) -> tuple[Column, ...]:
    columns = STEP_COLUMNS if kind in (STEP_OVERDUE, STEP_DUE_SOON) else OTHER_COLUMNS
    if kind in UPCOMING_KINDS:  # looking ahead: show days left, a positive number
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


@lru_cache(maxsize=4096)
def _relative_folder(folder: str, report_dir: str) -> str:
    return os.path.relpath(folder, report_dir)


def plan_link(pdf_path: str | None, report_dir: Path) -> str | None:
    """A link to the plan PDF, relative to the report so the output folder can be shared."""
    if not pdf_path:
        return None
    folder, name = os.path.split(pdf_path)
    try:  # per folder, cached: a household's findings share it
        relative = os.path.join(_relative_folder(folder, str(report_dir)), name)
    except ValueError:  # another drive on Windows
        return Path(pdf_path).as_uri()
    return relative.replace(os.sep, "/")


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


def _add_severity(sheet: Any, cells: str, upcoming: bool, settings: RuleSettings) -> None:
    """Colour days overdue as teams escalate (the same thresholds as "Escalate to").

    Conditional formatting on the column, not a fill per cell: Excel-native (a value
    edited by hand recolours itself) and no style per cell to write."""
    formatting = sheet.conditional_formatting
    if upcoming:  # looking ahead: nothing is late yet
        formatting.add(cells, UPCOMING.always())
        return
    formatting.add(cells, SEVERE.rule("greaterThan", settings.escalate_service_manager_days))
    formatting.add(cells, ESCALATED.rule("greaterThan", settings.escalate_team_lead_days))
    formatting.add(cells, LATE.rule("lessThanOrEqual", settings.escalate_team_lead_days))


def write_report_xlsx(target: Path, findings: Sequence[Finding], as_of: date,
                      settings: RuleSettings, *, title: str = "Overdue report") -> Path:
    """Write the report to `target` (never overwriting). Returns `target`."""
    if target.exists():  # checked first: a write-only workbook left unsaved warns noisily
        raise FileExistsError(target)
    workbook, rows = build_report_workbook(findings, as_of, settings, target.parent,
                                           title=title)

    def write(temp: Path) -> None:
        workbook.save(temp)
        splice_rows(temp, {sheet.path.lstrip("/"): body for sheet, body in rows})

    return write_new(target, write)


def build_report_workbook(findings: Sequence[Finding], as_of: date, settings: RuleSettings,
                          report_dir: Path, *, title: str = "Overdue report"
                          ) -> tuple[Workbook, list[tuple[Any, RowWriter]]]:
    """The workbook (Summary, and each kind's header, table, links) and, per kind sheet,
    the writer of its data rows, spliced in after saving (see `splice_rows`)."""
    workbook = Workbook(write_only=True)
    by_kind: dict[str, list[Finding]] = {kind: [] for kind in KINDS}
    for finding in findings:
        by_kind[finding.kind].append(finding)
    _write_summary(workbook.create_sheet(SUMMARY), findings, as_of, settings, title)
    rows = []
    for kind in KINDS:
        sheet = workbook.create_sheet(kind)
        rows.append((sheet, _write_kind(sheet, kind, by_kind[kind], settings, report_dir)))
    return workbook, rows


def _write_summary(sheet: Any, findings: Sequence[Finding], as_of: date,
                   settings: RuleSettings, title: str) -> None:
    headers_team = ["Team", *KINDS, "Total"]
    headers_cw = ["Team", "Caseworker", *KINDS, "Total"]
    # 15 fits "Weekly review" in bold: kind names take two lines (row heights below).
    for index, width in enumerate([22, 22, *[15] * len(KINDS), 9], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    _print_setup(sheet)
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
    # Heights are set before the rows are streamed out.
    sheet.row_dimensions[team_first].height = 2 * LINE_HEIGHT
    sheet.append(header_cells(sheet, headers_team, wrap=True, numbers=headers_team[1:]))
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
    sheet.row_dimensions[cw_first].height = 2 * LINE_HEIGHT
    sheet.append(header_cells(sheet, headers_cw, wrap=True, numbers=headers_cw[2:]))
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


# Excel repairs (drops) the links of a sheet with more than 65,530; past this many rows the
# plan's path is shown as text instead.
EXCEL_MAX_LINKS = 65_000


class RowWriter:
    """Data rows of one kind sheet as SpreadsheetML, written straight to the file.

    openpyxl spends ~30 us per cell on objects and style lookups; 100,000 findings are
    over a million cells. Its output for the sheet (header, table, links, styles) is kept,
    and these rows are spliced into its <sheetData>. Style ids come from openpyxl, so
    the formats are the same ones it would have written.
    """

    def __init__(self, sheet: Any, columns: Sequence[Column], findings: list[Finding],
                 links: list[str | None], upcoming: bool) -> None:
        self.columns, self.findings, self.links = columns, findings, links
        self.upcoming = upcoming
        self.letters = [get_column_letter(i) for i in range(1, len(columns) + 1)]

        def style(**attributes: Any) -> int:
            cell = WriteOnlyCell(sheet)
            for key, value in attributes.items():
                setattr(cell, key, value)
            return int(cell.style_id)

        self.date_style = style(number_format=DATE_FORMAT)
        self.link_style = style(font=LINK_FONT)
        self.text_styles = {(wrap, quote): style(alignment=WRAP if wrap else Alignment(),
                                                 quotePrefix=quote)
                            for wrap in (False, True) for quote in (False, True)}

    def text(self, ref: str, value: str, wrap: bool = False) -> str:
        style = self.text_styles[(wrap, value.startswith(RISKY_PREFIXES))]
        style_attr = f' s="{style}"' if style else ""
        return (f'<c r="{ref}" t="inlineStr"{style_attr}><is><t xml:space="preserve">'
                f"{xml_escape(value)}</t></is></c>")

    def rows(self) -> Iterator[str]:
        epoch = date(1899, 12, 30)
        for number, (finding, link) in enumerate(zip(self.findings, self.links, strict=True),
                                                 start=2):
            cells, lines = [], 1
            for letter, column in zip(self.letters, self.columns, strict=True):
                ref = f"{letter}{number}"
                value = getattr(finding, column.attribute)
                if column.attribute == "due":
                    cells.append(f'<c r="{ref}" s="{self.date_style}"><v>'
                                 f"{(value - epoch).days}</v></c>")
                elif column.attribute == "days_overdue":
                    shown = -value if self.upcoming else value  # coloured by _add_severity
                    cells.append(f'<c r="{ref}"><v>{shown}</v></c>')
                elif column.attribute == "pdf_path":
                    if link is not None and number - 2 < EXCEL_MAX_LINKS:
                        # the link itself is on the sheet (_write_kind)
                        cells.append(f'<c r="{ref}" t="inlineStr" s="{self.link_style}"><is>'
                                     f"<t>v{finding.version} PDF</t></is></c>")
                    elif link is not None:
                        cells.append(self.text(ref, link))
                elif value := clean_text(str(value)):
                    needed = text_lines(value, column.width)
                    lines = max(lines, needed)
                    cells.append(self.text(ref, value, wrap=needed > 1))
            # Text too long for its column wraps, and the row is made tall enough for it:
            # Excel would fit the height itself, LibreOffice keeps the one-line default.
            height = f' ht="{lines * LINE_HEIGHT}"' if lines > 1 else ""
            yield f'<row r="{number}"{height}>{"".join(cells)}</row>'


def splice_rows(path: Path, sheets: dict[str, RowWriter]) -> None:
    """Rewrite the saved workbook with each kind sheet's rows inside its <sheetData>."""
    rebuilt = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(
                rebuilt, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as target:
            for info in source.infolist():
                data = source.read(info.filename)
                writer = sheets.get(info.filename)
                if writer is None:
                    target.writestr(info, data)
                    continue
                head, marker, tail = data.partition(b"</sheetData>")
                if not marker:  # openpyxl wrote <sheetData/>: never, as a header is there
                    raise ValueError(f"{info.filename}: no sheetData to fill")
                with target.open(info.filename, "w", force_zip64=True) as out:
                    out.write(head)
                    chunk: list[str] = []
                    for row in writer.rows():
                        chunk.append(row)
                        if len(chunk) >= 2000:
                            out.write("".join(chunk).encode("utf-8"))
                            chunk.clear()
                    out.write("".join(chunk).encode("utf-8"))
                    out.write(marker)
                    out.write(tail)
        os.replace(rebuilt, path)
    finally:
        rebuilt.unlink(missing_ok=True)


def _write_kind(sheet: Any, kind: str, findings: list[Finding], settings: RuleSettings,
                report_dir: Path) -> RowWriter:
    columns = columns_for(kind)
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "B2"
    _print_setup(sheet, title_rows="1:1")
    headers = [c.header for c in columns]
    findings = sorted(findings, key=lambda f: (-f.days_overdue, f.team, f.caseworker,
                                               f.reference))
    sheet.append(header_cells(sheet, headers, numbers=[
        c.header for c in columns if c.attribute in ("due", "days_overdue")]))
    if not findings:
        sheet.append([f"None as of the report date ({kind.lower()})."])
    links = [plan_link(finding.pdf_path, report_dir) for finding in findings]
    upcoming = kind in UPCOMING_KINDS
    writer = RowWriter(sheet, columns, findings, links, upcoming)
    # The links are known now; openpyxl writes them (and their relationships) on save.
    letter = get_column_letter(len(columns))
    for number, link in enumerate(links[:EXCEL_MAX_LINKS], start=2):
        if link is not None:
            sheet._hyperlinks.append(Hyperlink(ref=f"{letter}{number}", target=link))
    last = 1 + max(len(findings), 1)
    _add_table(sheet, table_name(kind), headers, 1, last)
    if findings:
        days = get_column_letter(1 + [c.attribute for c in columns].index("days_overdue"))
        _add_severity(sheet, f"{days}2:{days}{last}", upcoming, settings)
    return writer
