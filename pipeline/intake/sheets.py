"""Find the schema's sheets in a workbook and read their cells into a bounded grid.

openpyxl opens the workbook (read-only, values only: nothing in it is ever run); the cells
of each sheet are read here with openpyxl's own cell parser, driven row by row, because the
read-only sheet API hides three things that change what the household signs: a formula
saved without its value (read as empty), merged cells (only the first cell has the value)
and the extent of the sheet (a pasted dump of 200,000 rows or 16,000 columns). Reading
stops at the limits, so time and memory stay bounded whatever the file holds.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import (
    CELL_TAG,
    FORMULA_TAG,
    ROW_TAG,
    VALUE_TAG,
    WorkSheetParser,
)
from openpyxl.xml.constants import SHEET_MAIN_NS
from openpyxl.xml.functions import iterparse

from .cells import NO_STORED_VALUE, Cells
from .schema import MAX_SHEET_COLUMNS, MAX_SHEET_ROWS, TableSheet

_MERGE_CELL_TAG = f"{{{SHEET_MAIN_NS}}}mergeCell"
_NEW_WORKBOOK = ("start from a workbook made by `supportplan new` and copy your entries "
                 "into it")


@dataclass
class Grid:
    """The non-empty cells of one sheet, up to the limits."""

    title: str
    cells: dict[tuple[int, int], Any] = field(default_factory=dict)
    merged: list[str] = field(default_factory=list)
    beyond_rows: str | None = None     # first cell with an entry past MAX_SHEET_ROWS
    beyond_columns: str | None = None  # first cell with an entry past MAX_SHEET_COLUMNS

    def value(self, row: int, column: int) -> Any:
        return self.cells.get((row, column))

    @property
    def last_row(self) -> int:
        return max((row for row, _column in self.cells), default=0)


class _Parser(WorkSheetParser):
    def parse_cell(self, element: Any) -> dict[str, Any]:
        cell = super().parse_cell(element)
        # With data_only openpyxl reads a formula's stored result from <v>; a formula saved
        # without it would read as empty. Excel stores an empty text result as an empty <v>
        # of type "str"; an empty <v> of any other type (as openpyxl itself writes) is no
        # result at all.
        if cell["value"] is None and element.find(FORMULA_TAG) is not None:
            stored = element.find(VALUE_TAG)
            if stored is None or (not stored.text and element.get("t") != "str"):
                cell["value"] = NO_STORED_VALUE
        return cell


def find_sheet(workbook: Any, name: str, cells: Cells) -> Any | None:
    """The worksheet called `name` (ignoring case and spaces around it), or None with an
    error that lists the sheets the workbook does have."""
    titles = list(workbook.sheetnames)
    matches = [t for t in titles if t.strip().casefold() == name.casefold()]
    if len(matches) > 1:
        cells.error(name, "", f"{len(matches)} sheets are named like \"{name}\" "
                    f"({', '.join(repr(t) for t in matches)})",
                    "keep one of them: rename or delete the others")
        return None
    if not matches:
        close = difflib.get_close_matches(name, titles, n=1, cutoff=0.5)
        hint = f'rename the sheet "{close[0]}" to "{name}", or ' if close else ""
        shown = ", ".join(f'"{t[:31]}"' for t in titles[:12])
        cells.error(name, "", f'the sheet "{name}" is missing (the workbook has: {shown})',
                    f"{hint}{_NEW_WORKBOOK}")
        return None
    sheet = workbook[matches[0]]
    if not isinstance(sheet, ReadOnlyWorksheet):
        cells.error(name, "", f'the sheet "{name}" is a chart, not a table', _NEW_WORKBOOK)
        return None
    if getattr(sheet, "sheet_state", "visible") != "visible":
        cells.warn(name, "", f'the sheet "{name}" is hidden; its entries are part of the '
                   "plan all the same", "unhide it (right-click a sheet tab > Unhide) and "
                   "check what it says")
    return sheet


def read_grid(workbook: Any, sheet: Any) -> Grid:
    """Every non-empty cell of `sheet` up to MAX_SHEET_ROWS x MAX_SHEET_COLUMNS."""
    grid = Grid(sheet.title)
    parser = _Parser(None, sheet._shared_strings, data_only=True, epoch=workbook.epoch,
                     date_formats=workbook._date_formats,
                     timedelta_formats=workbook._timedelta_formats)
    depth = 0
    with workbook._archive.open(sheet._worksheet_path) as source:
        for event, element in iterparse(source, events=("start", "end")):
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if element.tag == ROW_TAG:
                if not _read_row(parser, element, grid):
                    return grid  # past the row limit: the caller reports it
                element.clear()
            elif element.tag == _MERGE_CELL_TAG:
                grid.merged.append(str(element.get("ref", ""))[:30])
                element.clear()
            elif depth <= 1 and element.tag != CELL_TAG:
                element.clear()  # a section of the sheet that is not read: let it go
    return grid


def _read_row(parser: _Parser, element: Any, grid: Grid) -> bool:
    try:
        parser.row_counter = int(element.get("r") or parser.row_counter + 1)
    except ValueError:
        parser.row_counter += 1
    parser.col_counter = 0
    row = parser.row_counter
    for cell_element in element:
        # A cell with no value, formula or inline text inside is only formatting: the
        # template formats hundreds of rows ahead, and parsing them was most of a read.
        if cell_element.tag != CELL_TAG or len(cell_element) == 0:
            continue
        cell = parser.parse_cell(cell_element)
        value, column = cell["value"], cell["column"]
        if value is None or value == "":
            continue  # spaces are kept: a name of only spaces is reported as such
        where = f"{get_column_letter(min(max(column, 1), 18278))}{row}"
        if row > MAX_SHEET_ROWS or row < 1:
            grid.beyond_rows = grid.beyond_rows or where
            return False
        if column > MAX_SHEET_COLUMNS or column < 1:
            grid.beyond_columns = grid.beyond_columns or where
            continue
        grid.cells[(row, column)] = value
    return True


def check_extent(grid: Grid, cells: Cells, name: str) -> None:
    if grid.beyond_rows:
        cells.error(name, grid.beyond_rows, f"the sheet has entries beyond row "
                    f"{MAX_SHEET_ROWS}, far more than one household's plan",
                    "check nothing was pasted in by mistake, and remove the extra rows")
    if grid.beyond_columns:
        cells.error(name, grid.beyond_columns, "the sheet has entries beyond column "
                    f"{get_column_letter(MAX_SHEET_COLUMNS)}, far more than the plan's columns",
                    "check nothing was pasted in by mistake, and delete the extra columns")


def check_merged(grid: Grid, cells: Cells, name: str, first_data_row: int,
                 columns: set[int]) -> None:
    """Merged cells keep their value in the first cell only: merged across rows, the other
    rows silently lose it (a "Who" merged over three steps names nobody for two)."""
    for ref in grid.merged:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref)
        except (ValueError, TypeError):
            continue
        if None in (min_col, min_row, max_col, max_row) or max_row < first_data_row:
            continue
        if not any(min_col <= column <= max_col for column in columns):
            continue  # e.g. help text beside the values: nothing read is lost
        across = "rows" if min_row != max_row else "columns"
        cells.error(name, ref, f"cells are merged across {across}, so only the first of them "
                    "is read and the others count as empty",
                    "select them, unmerge them (Home > Merge & Center > Unmerge Cells) and "
                    "fill in each cell")


def header_positions(grid: Grid, spec: TableSheet, cells: Cells) -> dict[str, int] | None:
    """Column index (1-based) of each schema column, found by header text in row 1, in
    any order; other columns are ignored."""
    found: dict[str, list[int]] = {}
    for (row, column), value in sorted(grid.cells.items()):
        if row == 1 and value is not NO_STORED_VALUE:
            found.setdefault(" ".join(str(value).split()).casefold(), []).append(column)
    known = {column.header.casefold() for column in spec.columns}
    unknown = {text: where[0] for text, where in found.items() if text not in known}
    positions: dict[str, int] = {}
    expected = ", ".join(column.header for column in spec.columns if not column.optional)
    for index, column in enumerate(spec.columns, start=1):
        where = found.get(column.header.casefold(), [])
        if len(where) > 1:
            letters = " and ".join(f"{get_column_letter(c)}1" for c in where)
            cells.error(spec.name, f"{get_column_letter(where[0])}1",
                        f'the header "{column.header}" appears twice ({letters}), so one '
                        "column's entries would be lost",
                        "rename or delete one of them: each header appears once")
        elif not where and column.optional:
            continue  # a workbook from before this column was added: read as blank
        elif not where:
            close = difflib.get_close_matches(column.header.casefold(), list(unknown), n=1,
                                              cutoff=0.6)
            hint = (f'if {get_column_letter(unknown[close[0]])}1 is meant to be it, rename '
                    f'it to "{column.header}"' if close else
                    f'put the header "{column.header}" back in row 1')
            cells.error(spec.name, f"{get_column_letter(index)}1",
                        f'the column "{column.header}" is missing from the header row; the '
                        f"{spec.name} sheet needs the headers {expected} (in any order)", hint)
        else:
            positions[column.key] = where[0]
    required = sum(not column.optional for column in spec.columns)
    present = sum(not column.optional for column in spec.columns if column.key in positions)
    return positions if present == required else None
