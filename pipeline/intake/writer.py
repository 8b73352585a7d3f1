"""Write the household workbook from the schema: blank (`supportplan new`) or filled (demo,
tests). Values are given as plain dicts keyed by the schema's column keys, so callers may
also write deliberately wrong values to exercise validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ..files import write_new
from ..model import AREAS, STATUSES, WHOLE_HOUSEHOLD, YES_NO
from .schema import (
    DATE_FORMAT_EXCEL,
    EARLIEST_YEAR,
    HOUSEHOLD_FIELDS,
    HOUSEHOLD_SHEET,
    INSTRUCTIONS,
    LATEST_YEAR,
    LISTS,
    MEMBERS,
    TABLE_SHEETS,
    Kind,
    TableSheet,
)

HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
HEADER_FONT = Font(bold=True, color="FFFFFF")
LABEL_FONT = Font(bold=True)
HELP_FONT = Font(italic=True, color="595959")
INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="top")

Rows = Sequence[Mapping[str, Any]]

# Neither Excel nor LibreOffice Calc grows a row for wrapped text in a file they did not
# lay out themselves: each row with wrapped text is given the height its lines need (at
# 11 pt, about this many characters fit a line of each column's width).
HELP_CHARS_PER_LINE = 66
INSTRUCTION_CHARS_PER_LINE = 92
LINE_HEIGHT_PT = 15


def _wrapped_height(text: str, chars_per_line: int) -> float:
    lines = sum(max(1, -(-len(part) // chars_per_line)) for part in text.split("\n"))
    return lines * LINE_HEIGHT_PT + 3


def write_workbook(
    path: Path,
    household: Mapping[str, Any],
    members: Rows = (),
    steps: Rows = (),
    safety_plan: Rows = (),
    weekly_reviews: Rows = (),
) -> Path:
    """Create the workbook at `path`. Refuses to overwrite (FileExistsError)."""
    workbook = build_workbook(household, members, steps, safety_plan, weekly_reviews)
    return write_new(path, lambda temp: workbook.save(temp))


def build_workbook(
    household: Mapping[str, Any],
    members: Rows = (),
    steps: Rows = (),
    safety_plan: Rows = (),
    weekly_reviews: Rows = (),
) -> Workbook:
    workbook = Workbook()
    instructions = workbook.active
    instructions.title = INSTRUCTIONS
    lists = _write_lists(workbook)
    _write_household(workbook.create_sheet(HOUSEHOLD_SHEET), household, lists)
    rows_by_sheet = {"Members": members, "Plan": steps, "Safety plan": safety_plan,
                     "Weekly reviews": weekly_reviews}
    for sheet in TABLE_SHEETS:
        _write_table(workbook.create_sheet(sheet.name), sheet, rows_by_sheet[sheet.name], lists)
    workbook.move_sheet(LISTS, offset=len(workbook.sheetnames))
    _write_instructions(instructions)
    for sheet in workbook.worksheets:
        _print_setup(sheet)
    workbook.active = 0
    return workbook


def _print_setup(sheet: Worksheet) -> None:
    """Printed (caseworkers do print), each sheet is A4 landscape, one page wide, with the
    header row repeated on every page."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    if sheet.title not in (INSTRUCTIONS, LISTS):
        sheet.print_title_rows = "1:1"


# --- Lists: the dropdown values, on a hidden sheet -------------------------------------

_LIST_COLUMNS = {Kind.AREA: "A", Kind.STATUS: "B", Kind.YES_NO: "C"}


def _write_lists(workbook: Workbook) -> dict[Kind, str]:
    sheet = workbook.create_sheet(LISTS)
    sheet.sheet_state = "hidden"
    sheet["A1"], sheet["B1"], sheet["C1"], sheet["D1"] = "Areas", "Statuses", "Yes/No", "Who"
    sheet["E1"] = "Rows of named members"
    for values, letter in ((AREAS, "A"), (STATUSES, "B"), (YES_NO, "C")):
        for offset, value in enumerate(values, start=2):
            sheet[f"{letter}{offset}"] = value
    # Who: the household as a whole, then the names typed on Members, with no gaps (a
    # blank row on Members must not show as a run of blank choices). Column E holds the
    # row number of each named member; column D takes the n-th smallest of them. Plain
    # (non-array) formulas, so Excel and LibreOffice Calc both work them out.
    sheet["D2"] = WHOLE_HOUSEHOLD
    members_name = quote_sheetname(MEMBERS.name)
    first, last = 2, MEMBERS.rows + 1
    for index in range(MEMBERS.rows):
        source = f"{members_name}!$A${index + 2}"
        sheet[f"E{index + 3}"] = f'=IF(TRIM({source})="","",ROW({source}))'
        sheet[f"D{index + 3}"] = (f'=IFERROR(INDEX({members_name}!$A${first}:$A${last},'
                                  f"SMALL($E$3:$E${MEMBERS.rows + 2},{index + 1})-{first - 1}),"
                                  '"")')
    lengths = {Kind.AREA: len(AREAS), Kind.STATUS: len(STATUSES), Kind.YES_NO: len(YES_NO)}
    lists = quote_sheetname(LISTS)
    ranges = {kind: f"{lists}!${letter}$2:${letter}${lengths[kind] + 1}"
              for kind, letter in _LIST_COLUMNS.items()}
    # The Who list is as long as the names there are, plus "Whole household".
    ranges[Kind.WHO] = (f"OFFSET({lists}!$D$2,0,0,1+COUNT({lists}!$E$3:$E${MEMBERS.rows + 2}),"
                        "1)")
    return ranges


def _validation_for(kind: Kind, lists: dict[Kind, str], label: str) -> DataValidation | None:
    if kind in lists:
        strict = kind is not Kind.WHO  # "Who" may name someone not (yet) on Members
        validation = DataValidation(type="list", formula1=f"{lists[kind]}", allow_blank=True,
                                    errorStyle="stop" if strict else "warning")
        validation.error = f"Pick {label} from the list."
    elif kind is Kind.DATE:
        validation = DataValidation(type="date", operator="between",
                                    formula1=f"DATE({EARLIEST_YEAR},1,1)",
                                    formula2=f"DATE({LATEST_YEAR},12,31)", allow_blank=True)
        validation.error = "Type a date as dd/mm/yyyy."
    else:
        return None
    validation.errorTitle = "Please check this value"
    validation.showErrorMessage = True
    return validation


def _cell_value(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) and kind is Kind.YES_NO:
        return "Yes" if value else "No"
    return value


def _style_input(cell: Any, kind: Kind) -> None:
    cell.border = BOX
    cell.alignment = WRAP
    if kind is Kind.DATE:
        cell.number_format = DATE_FORMAT_EXCEL
    elif kind in (Kind.TEXT, Kind.LONG_TEXT, Kind.EMAIL, Kind.REFERENCE):
        cell.number_format = "@"  # text: stops Excel turning "1-2" into a date


# --- Household: label | value | help --------------------------------------------------

def _write_household(sheet: Worksheet, values: Mapping[str, Any], lists: dict[Kind, str]) -> None:
    sheet["A1"], sheet["B1"], sheet["C1"] = "Field", "Value", "What to write"
    for cell in sheet[1]:
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
    for row, field in enumerate(HOUSEHOLD_FIELDS, start=2):
        label = sheet.cell(row, 1, field.label + (" *" if field.required else ""))
        label.font, label.alignment = LABEL_FONT, WRAP
        value_cell = sheet.cell(row, 2, _cell_value(field.kind, values.get(field.key)))
        _style_input(value_cell, field.kind)
        value_cell.fill = INPUT_FILL
        sheet.cell(row, 3, field.help).font = HELP_FONT
        sheet.cell(row, 3).alignment = WRAP
        # italic help text: about 1.15 characters fit per unit of column width
        sheet.row_dimensions[row].height = _wrapped_height(field.help,
                                                           int(HELP_CHARS_PER_LINE * 1.15))
        validation = _validation_for(field.kind, lists, field.label.lower())
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(value_cell)
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 36
    sheet.column_dimensions["C"].width = HELP_CHARS_PER_LINE + 4
    sheet.freeze_panes = "A2"


# --- Table sheets -------------------------------------------------------------------

def _write_table(sheet: Worksheet, spec: TableSheet, rows: Rows, lists: dict[Kind, str]) -> None:
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(1, index, column.header)
        cell.fill, cell.font = HEADER_FILL, HEADER_FONT
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if column.help:
            cell.comment = Comment(column.help, "supportplan", width=260, height=90)
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    prepared = max(spec.rows, len(rows))
    for index, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        for row in range(2, prepared + 2):
            _style_input(sheet.cell(row, index), column.kind)
        validation = _validation_for(column.kind, lists, column.header.lower())
        if validation is not None:
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{prepared + 1}")
    for row_number, row in enumerate(rows, start=2):
        for index, column in enumerate(spec.columns, start=1):
            sheet.cell(row_number, index, _cell_value(column.kind, row.get(column.key)))
    sheet.freeze_panes = "A2"
    sheet.row_dimensions[1].height = 32
    last = get_column_letter(len(spec.columns))
    sheet.auto_filter.ref = f"A1:{last}{prepared + 1}"


# --- Instructions -------------------------------------------------------------------

def _write_instructions(sheet: Worksheet) -> None:
    lines: list[tuple[str, Font | None]] = [
        ("How to fill in this support plan workbook", Font(bold=True, size=16, color="1F4E79")),
        ("", None),
        ("Fill it in with the household, in their words. When you save it in the intake "
         "folder, the support plan (Word and PDF) appears in the output folder within seconds.",
         None),
        ("", None),
        ("1. Household: the reference, household name, your name, the plan date. Fields "
         "marked * are needed. Leave Review date blank for the usual interval. Save the "
         "workbook under its reference (HH-0042.xlsx for HH-0042). If an interpreter "
         "explained the plan, write their name, language and agency: they sign it too.",
         None),
        ("2. Members: everyone in the household. Adults sign the plan; children do not "
         "(change 'Signs plan' if needed).", None),
        ("3. Plan: one row per step. Pick the Area, write the Goal in the household's words "
         "and the strengths they bring. Each step says what WE WILL do and/or what YOU WILL "
         "do, WHO does it and BY WHEN. To add another step to the same goal, leave Goal "
         "blank on the next row.", None),
        ("   Aim for one or two goals per area; leave areas out that do not matter now. Lean "
         "on 'You will' where the household can do it themselves.", None),
        ("   Optional columns: Obstacles and How strengths help (on the goal's first row) "
         "record what stands in the way and how the household's strengths can overcome it; "
         "Our lead names who does our part (a colleague or a partner agency).", None),
        ("4. Safety plan: each worry or risk, what we will do and what you will do.", None),
        ("5. Weekly reviews: one row per weekly review.", None),
        ("6. Progress: update Status and Done on as steps are done. This does not change "
         "the plan the household signed; changing goals, steps or dates makes a new version "
         "to sign.", None),
        ("", None),
        ("Dates: type them as dd/mm/yyyy (for example 14/03/2027). Lists: click a cell and "
         "use the arrow to pick a value. Hover over a column header for a hint.", None),
        ("When the plan is ready: print the PDF (not the Word file, which has no page "
         "codes), read it through with the household, sign it together, and scan the signed "
         "pages into the intake/scans folder. The signatures and ticks are read back.",
         None),
        ("If something is wrong, a file named errors-<reference>.txt appears next to where "
         "the plan would be, saying which cell to fix and how. Fix it and save again. Things "
         "worth checking that do not stop the plan are listed in warnings-<reference>.txt.",
         None),
    ]
    for row, (text, font) in enumerate(lines, start=1):
        cell = sheet.cell(row, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if font is not None:
            cell.font = font
        if text and font is None:
            sheet.row_dimensions[row].height = _wrapped_height(text, INSTRUCTION_CHARS_PER_LINE)
    sheet.row_dimensions[1].height = 24
    sheet.column_dimensions["A"].width = INSTRUCTION_CHARS_PER_LINE + 8
    sheet.sheet_view.showGridLines = False

