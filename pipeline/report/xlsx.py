"""The overdue report as an Excel workbook: a Summary sheet with a chart, one table per kind.

Written in openpyxl's write-only (streaming) mode so 100,000+ findings fit in little
memory, with each kind sheet's data rows spliced in as SpreadsheetML (RowWriter). XlsxWriter
in constant-memory mode, the library made for this, was measured against it on the same
data (bench/report.py, bench/xlsxwriter_report.py): for 10,000 households (93,043
findings), taking turns in one process, 62-70 s against the splice's 28-35 s, the same
peak memory (~530 MiB, the facts dominate), and no Excel tables in that mode; so the
splice stays. Every text that came from a workbook is written as text: openpyxl would store a
string starting with "=" as a formula, so such cells are forced to the string type and
given Excel's quote prefix (so editing the cell later does not turn it into a formula).
Plan links are absolute (report/links.py), so they open from an e-mail.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from ..files import write_new
from ..finding_kinds import ALL_KINDS, FindingKind
from ..overdue import KINDS, Finding, RuleSettings, counts_by
from .xlsx_cells import (
    DATE_FORMAT,
    LINE_HEIGHT,
    LINK_FONT,
    NOTE_FONT,
    RISKY_PREFIXES,
    TITLE_FONT,
    WRAP,
    Column,
    _add_severity,
    _add_table,
    _print_setup,
    clean_text,
    columns_for,
    header_cells,
    table_name,
    text_cell,
    text_lines,
)

LinkFor = Callable[[str | None], str | None]
SUMMARY = "Summary"


def _file_url(pdf_path: str | None) -> str | None:
    return Path(pdf_path).absolute().as_uri() if pdf_path else None


def write_report_xlsx(target: Path, findings: Sequence[Finding], as_of: date,
                      settings: RuleSettings, *, title: str = "Overdue report",
                      link_for: LinkFor | None = None) -> Path:
    """Write the report to `target` (never overwriting). Returns `target`.

    `link_for` turns a plan's PDF path into its link (report/links.py); by default the
    PDF's own `file:` URL."""
    if target.exists():  # checked first: a write-only workbook left unsaved warns noisily
        raise FileExistsError(target)
    workbook, rows = build_report_workbook(findings, as_of, settings, link_for or _file_url,
                                           title=title)

    def write(temp: Path) -> None:
        workbook.save(temp)
        splice_rows(temp, {sheet.path.lstrip("/"): body for sheet, body in rows})

    return write_new(target, write)


def build_report_workbook(findings: Sequence[Finding], as_of: date, settings: RuleSettings,
                          link_for: LinkFor, *, title: str = "Overdue report"
                          ) -> tuple[Workbook, list[tuple[Any, RowWriter]]]:
    """The workbook (Summary, and each kind's header, table, links) and, per kind sheet,
    the writer of its data rows, spliced in after saving (see `splice_rows`)."""
    workbook = Workbook(write_only=True)
    by_kind: dict[str, list[Finding]] = {kind: [] for kind in KINDS}
    for finding in findings:
        by_kind[finding.kind].append(finding)
    _write_summary(workbook.create_sheet(SUMMARY), findings, as_of, settings, title)
    rows = []
    for kind in ALL_KINDS:
        sheet = workbook.create_sheet(kind.name)
        rows.append((sheet, _write_kind(sheet, kind, by_kind[kind.name], settings, link_for)))
    return workbook, rows


def _write_summary(sheet: Any, findings: Sequence[Finding], as_of: date,
                   settings: RuleSettings, title: str) -> None:
    headers_team = ["Team", *KINDS, "Total"]
    headers_cw = ["Team", "Caseworker", "Households", *KINDS, "Total"]
    # 15 fits "Weekly review" in bold: kind names take two lines (row heights below).
    for index, width in enumerate([22, 22, *[15] * (len(KINDS) + 1), 9], start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    _print_setup(sheet)
    heading = WriteOnlyCell(sheet, f"{title} as of {as_of:%d/%m/%Y}")
    heading.font = TITLE_FONT
    sheet.append([heading])
    note = WriteOnlyCell(sheet, (
        "Closed households (a Closed on date on or before the report date) are left out. "
        f"Escalate to team lead after {settings.escalate_team_lead_days} days overdue, to "
        f"service manager after {settings.escalate_service_manager_days}; steps only the "
        "household holds go no further than the team lead."))
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
    households: dict[tuple[str, str], set[str]] = {}
    for item in findings:
        households.setdefault((item.team, item.caseworker), set()).add(item.reference)
    sheet.row_dimensions[cw_first].height = 2 * LINE_HEIGHT
    sheet.append(header_cells(sheet, headers_cw, wrap=True, numbers=headers_cw[2:]))
    for (team, caseworker), counts in by_caseworker.items():
        sheet.append([text_cell(sheet, team), text_cell(sheet, caseworker),
                      len(households[(team, caseworker)]), *counts.values(),
                      sum(counts.values())])
    if not by_caseworker:
        sheet.append(["(nothing found)", "", *[0] * (len(KINDS) + 2)])
    cw_last = cw_first + max(len(by_caseworker), 1)
    _add_table(sheet, "ByCaseworker", headers_cw, cw_first, cw_last)

    if by_team:
        _add_chart(sheet, by_team, team_first, team_last, len(headers_cw))


def _add_chart(sheet: Any, by_team: dict[tuple[str, ...], dict[str, int]], first: int,
               last: int, width_in_columns: int) -> None:
    """Late findings by team, stacked, in each kind's colour (the digest's too); kinds with
    no findings are left out, so the legend lists only what is there."""
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = "Late findings by team"
    chart.y_axis.title = "Findings"
    chart.height = max(7.5, 1.2 * (last - first) + 4)
    chart.width = 18
    for index, kind in enumerate(ALL_KINDS):
        if kind.upcoming or not any(counts[kind.name] for counts in by_team.values()):
            continue
        chart.add_data(Reference(sheet, min_col=2 + index, min_row=first, max_row=last),
                       titles_from_data=True)
        colour = kind.colour.lstrip("#").upper()
        chart.series[-1].graphicalProperties = GraphicalProperties(solidFill=colour)
        chart.series[-1].graphicalProperties.line.solidFill = colour
    chart.set_categories(Reference(sheet, min_col=1, min_row=first + 1, max_row=last))
    sheet.add_chart(chart, f"{get_column_letter(width_in_columns + 2)}{first}")


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


def _write_kind(sheet: Any, kind: FindingKind, findings: list[Finding],
                settings: RuleSettings, link_for: LinkFor) -> RowWriter:
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
        sheet.append([f"None as of the report date ({kind.name.lower()})."])
    links = [link_for(finding.pdf_path) for finding in findings]
    upcoming = kind.upcoming
    writer = RowWriter(sheet, columns, findings, links, upcoming)
    # The links are known now; openpyxl writes them (and their relationships) on save.
    letter = get_column_letter(len(columns))
    for number, link in enumerate(links[:EXCEL_MAX_LINKS], start=2):
        if link is not None:
            sheet._hyperlinks.append(Hyperlink(ref=f"{letter}{number}", target=link))
    last = 1 + max(len(findings), 1)
    _add_table(sheet, table_name(kind.name), headers, 1, last)
    if findings:
        days = get_column_letter(1 + [c.attribute for c in columns].index("days_overdue"))
        _add_severity(sheet, f"{days}2:{days}{last}", kind, settings)
    return writer
