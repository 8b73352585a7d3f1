"""Read and validate a household workbook.

Forgiving about what people really type (spaces, blank rows, UK dates as text, Excel serial
numbers, yes/y/true), strict about meaning. Every problem is collected, with sheet, cell and
a plain-English fix, so the caseworker can correct them all in one sitting.

`read_workbook` never raises for a bad file (only MemoryError, which the child process that
runs it turns into a message): the container is checked first (container.py), then openpyxl
opens it read-only and values-only, and sheets are read into bounded grids (sheets.py).
"""

from __future__ import annotations

import calendar
import logging
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ..model import Household, Interpreter, Member, SafetyItem, WeeklyReview
from .cells import NO_STORED_VALUE, Cells, is_blank
from .container import check_container
from .languages import check_named, check_preferred
from .options import ReadOptions
from .problems import ERROR, WARNING, Problem, ReadResult
from .references import check_reference
from .schema import (
    HOUSEHOLD_FIELDS,
    HOUSEHOLD_SHEET,
    MAX_MEMBERS,
    MEMBERS,
    PLAN,
    SAFETY_PLAN,
    WEEKLY_REVIEWS,
    Kind,
    TableSheet,
)
from .sheets import check_extent, check_merged, find_sheet, header_positions, read_grid
from .steps import check_plan_size, read_steps

log = logging.getLogger(__name__)

__all__ = ["ERROR", "WARNING", "Problem", "ReadOptions", "ReadResult", "add_months",
           "read_workbook"]


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def read_workbook(path: Path, *, review_interval_months: int | None = None,
                  options: ReadOptions | None = None) -> ReadResult:
    """Read `path` into a Household; problems are collected, never raised."""
    path = Path(path)
    options = options or ReadOptions.defaults()
    if review_interval_months is not None:
        options = replace(options, review_interval_months=review_interval_months)
    container = check_container(path)
    if not container.ok:
        return ReadResult(path, None, container.problems)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation extensions, ...);
            # none of them carry plan content.
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, read_only=True, data_only=True, keep_links=False)
            try:
                result = _Reader(path, workbook, options).read()
            finally:
                workbook.close()
    except MemoryError:
        raise
    except Exception as exc:  # openpyxl and the XML parsers raise many types for bad files
        log.info("workbook unreadable: %s", type(exc).__name__)  # no content: privacy
        return ReadResult(path, None, [*container.problems, _unreadable(path, exc)])
    result.problems[:0] = container.problems
    return result


def _unreadable(path: Path, exc: Exception) -> Problem:
    kind = type(exc).__name__
    if "ParseError" in kind or "XMLSyntaxError" in kind:
        reason = "is damaged: part of it is not well-formed"
    elif isinstance(exc, KeyError):
        reason = "is damaged: a part it needs is missing"
    else:
        reason = "could not be read: it is damaged, or was not saved by Excel"
    return Problem(ERROR, "", "", f"{path.name} {reason} ({kind})",
                   "open it in Excel, which may offer to repair it, and save it again as an "
                   "Excel Workbook (.xlsx); or start from `supportplan new`")


class _Reader:
    def __init__(self, path: Path, workbook: Any, options: ReadOptions) -> None:
        self.path = path
        self.workbook = workbook
        self.options = options
        self.cells = Cells()

    def read(self) -> ReadResult:
        values = self.read_household()
        members = self.read_members()
        plan_date = values.get("plan_date") if values else None
        steps = read_steps(self.cells, self.read_rows(PLAN, None), members, plan_date)
        safety = [SafetyItem(row["worry"], row["we_will"], row["you_will"], row["review_by"])
                  for row in self.read_rows(SAFETY_PLAN, "worry")]
        reviews = [self.weekly_review(row) for row in self.read_rows(WEEKLY_REVIEWS, "week_of")]
        check_plan_size(self.cells, steps, safety, self.options)
        household = None
        if values is not None and not self.cells.has_errors:
            household = Household(
                members=tuple(members), steps=tuple(steps), safety_plan=tuple(safety),
                weekly_reviews=tuple(r for r in reviews if r is not None), **values)
        return ReadResult(self.path, household, self.cells.problems)

    # -- Household: label in column A, value in column B --------------------------------
    def read_household(self) -> dict[str, Any] | None:
        cells = self.cells
        sheet = find_sheet(self.workbook, HOUSEHOLD_SHEET, cells)
        if sheet is None:
            return None
        grid = read_grid(self.workbook, sheet)
        check_extent(grid, cells, HOUSEHOLD_SHEET)
        check_merged(grid, cells, HOUSEHOLD_SHEET, 2, {1, 2})
        by_label = {f.label.casefold(): f for f in HOUSEHOLD_FIELDS}
        found: dict[str, tuple[Any, str]] = {}
        for (row, column), label in sorted(grid.cells.items()):
            if column != 1 or not isinstance(label, str):
                continue
            spec = by_label.get(" ".join(label.replace("*", "").split()).casefold())
            if spec is None:
                continue
            if spec.key in found:
                cells.error(HOUSEHOLD_SHEET, f"A{row}", f'the row "{spec.label}" appears '
                            f"twice (also in row {found[spec.key][1][1:]})",
                            "keep one of them and delete the other row")
                continue
            found[spec.key] = (grid.value(row, 2), f"B{row}")
        values: dict[str, Any] = {}
        for spec in HOUSEHOLD_FIELDS:
            if spec.key not in found:
                if spec.optional:  # a workbook from before this row was added
                    values[spec.key] = None if spec.kind is Kind.DATE else ""
                    continue
                cells.error(HOUSEHOLD_SHEET, "A", f'the row "{spec.label}" is missing',
                            f'add a row with "{spec.label}" in column A and its value in B')
                continue
            raw, cell = found[spec.key]
            if spec.kind is Kind.DATE:
                value: Any = cells.date(raw, HOUSEHOLD_SHEET, cell)
            elif spec.kind is Kind.YES_NO:
                flag = cells.yes_no(raw, HOUSEHOLD_SHEET, cell)
                value = "" if flag is None else ("Yes" if flag else "No")
            else:
                value = cells.text(raw, HOUSEHOLD_SHEET, cell,
                                   strict=spec.kind is Kind.REFERENCE)
            if spec.required and value in ("", None) and not cells.flagged(HOUSEHOLD_SHEET,
                                                                          cell):
                cells.error(HOUSEHOLD_SHEET, cell, f"{spec.label} is empty",
                            f"fill in {spec.label.lower()}: {spec.help[0].lower()}"
                            f"{spec.help[1:].rstrip('.')}")
            values[spec.key] = value
        self.check_household(values, found)
        if any(values.get(key) in ("", None) for key in ("reference", "plan_date")):
            return None
        if values.get("review_date") is None:
            values["review_date"] = add_months(values["plan_date"],
                                               self.options.review_interval_months)
        return values

    def check_household(self, values: dict[str, Any], found: dict[str, tuple[Any, str]]) -> None:
        def cell(key: str) -> str:
            return found.get(key, (None, "B"))[1]

        cells = self.cells
        reference = values.get("reference") or ""
        if reference and not check_reference(cells, reference, cell("reference")):
            values["reference"] = ""
        elif reference and reference.casefold() != self.path.stem.casefold():
            cells.warn(HOUSEHOLD_SHEET, cell("reference"),
                       f'the reference "{reference}" differs from the file name '
                       f'"{self.path.name}"', f"name the file {reference}.xlsx to avoid mix-ups")
        email = values.get("caseworker_email") or ""
        if email and not _plausible_email(email):
            cells.error(HOUSEHOLD_SHEET, cell("caseworker_email"),
                        f'"{email[:80]}" is not an email address',
                        "write it as name@example.org")
        plan_date, review_date = values.get("plan_date"), values.get("review_date")
        if plan_date and review_date and review_date <= plan_date:
            cells.error(HOUSEHOLD_SHEET, cell("review_date"),
                        f"the review date {review_date:%d/%m/%Y} is not after the plan date "
                        f"{plan_date:%d/%m/%Y}", "use a later review date, or leave it blank")
        values["closed_on"] = values.get("closed_on")
        values["interpreter"] = self.interpreter(values, cell)
        check_preferred(cells, HOUSEHOLD_SHEET, cell("preferred_language"),
                        values.get("preferred_language") or "", self.options)
        if values.get("interpreter") is not None:
            check_named(cells, HOUSEHOLD_SHEET, cell("interpreter_language"),
                        str(found.get("interpreter_language", ("", ""))[0] or ""))

    def interpreter(self, values: dict[str, Any], cell: Any) -> Interpreter | None:
        """The interpreter, when "Interpreter used" is Yes and one is named."""
        name = values.pop("interpreter_name", "") or ""
        language = values.pop("interpreter_language", "") or ""
        agency = values.pop("interpreter_agency", "") or ""
        if values.get("interpreter_used") != "Yes":
            if name:
                self.cells.warn(HOUSEHOLD_SHEET, cell("interpreter_name"),
                                "an interpreter is named but Interpreter used is not Yes",
                                "set Interpreter used to Yes, or clear the interpreter's name")
            return None
        if not name:
            self.cells.warn(HOUSEHOLD_SHEET, cell("interpreter_name"),
                            "Interpreter used is Yes but the interpreter is not named",
                            "write the interpreter's name, so they can sign the plan too")
            return None
        if not language:
            language = values.get("preferred_language") or ""
        if not language:
            self.cells.warn(HOUSEHOLD_SHEET, cell("interpreter_language"),
                            "the interpreter's language is not given",
                            "write the language the plan was explained in")
        return Interpreter(name, language, agency)

    # -- table sheets ----------------------------------------------------------------------
    def read_rows(self, spec: TableSheet, required_key: str | None) -> Iterator[dict[str, Any]]:
        """Yield one parsed dict per non-blank row (with '_row'); report missing required."""
        cells = self.cells
        sheet = find_sheet(self.workbook, spec.name, cells)
        if sheet is None:
            return
        grid = read_grid(self.workbook, sheet)
        check_extent(grid, cells, spec.name)
        positions = header_positions(grid, spec, cells)
        if positions is None or grid.beyond_rows or grid.beyond_columns:
            return
        check_merged(grid, cells, spec.name, 2, set(positions.values()))
        for row_number in range(2, grid.last_row + 1):
            raw = {key: grid.value(row_number, column) for key, column in positions.items()}
            if all(_blank_value(value) for value in raw.values()):
                continue
            parsed: dict[str, Any] = {"_row": row_number}
            for column in spec.columns:
                if column.key not in positions:  # an optional column this workbook lacks
                    parsed[column.key] = None if column.kind in (Kind.DATE, Kind.YES_NO) \
                        else ""
                    parsed[f"_{column.key}_cell"] = ""
                    continue
                cell = f"{get_column_letter(positions[column.key])}{row_number}"
                value = raw[column.key]
                if column.kind is Kind.DATE:
                    parsed[column.key] = cells.date(value, spec.name, cell)
                elif column.kind is Kind.YES_NO:
                    parsed[column.key] = cells.yes_no(value, spec.name, cell)
                else:
                    parsed[column.key] = cells.text(value, spec.name, cell)
                parsed[f"_{column.key}_cell"] = cell
            if required_key is not None:
                required = spec.column(required_key)
                cell = parsed[f"_{required_key}_cell"]
                if parsed[required_key] in ("", None) and not cells.flagged(spec.name, cell):
                    spaces = isinstance(raw[required_key], str)
                    cells.error(spec.name, cell, f"{required.header} "
                                + ("has only spaces" if spaces else "is empty")
                                + " on a row that has other entries",
                                f"fill in {required.header}, or clear the row")
            yield parsed

    def read_members(self) -> list[Member]:
        cells = self.cells
        members: list[Member] = []
        seen: dict[str, str] = {}
        for row in self.read_rows(MEMBERS, "name"):
            name, adult = row["name"], row["adult"]
            if adult is None and not cells.flagged(MEMBERS.name, row["_adult_cell"]):
                cells.error(MEMBERS.name, row["_adult_cell"],
                            f"Adult is empty for {name!r}" if name else "Adult is empty",
                            "choose Yes or No")
            signs = row["signs_plan"]
            if signs is None:
                signs = bool(adult)
            elif signs and adult is False:
                cells.warn(MEMBERS.name, row["_signs_plan_cell"],
                           "a child is set to sign the plan",
                           "children usually do not sign; set Signs plan to No unless intended")
            if name:
                key = " ".join(name.split()).casefold()
                if key in seen:
                    cells.error(MEMBERS.name, row["_name_cell"],
                                f'"{name}" is listed twice (also {seen[key]})',
                                "give each member a distinct name, e.g. add a family name")
                seen.setdefault(key, row["_name_cell"])
                members.append(Member(name, row["role"], bool(adult), signs, row["language"]))
                check_named(cells, MEMBERS.name, row["_language_cell"], row["language"] or "")
        if len(members) > MAX_MEMBERS:
            cells.error(MEMBERS.name, "", f"{len(members)} members are listed, more than the "
                        f"{MAX_MEMBERS} one plan can have a signature block for",
                        "check nothing was pasted in by mistake; list only the household")
        if not members and not cells.flagged(MEMBERS.name):
            cells.error(MEMBERS.name, "A2", "no household members are listed",
                        "add at least one member, starting in row 2")
        elif members and not any(m.signs_plan for m in members):
            cells.warn(MEMBERS.name, "D2", "no member is set to sign the plan",
                       "set Signs plan to Yes for the adults")
        return members

    def weekly_review(self, row: dict[str, Any]) -> WeeklyReview | None:
        if row["week_of"] is None:
            return None
        flag = row["safety_plan_working"]
        return WeeklyReview(
            week_of=row["week_of"], did_we_do_it=row["did_we_do_it"],
            what_changed=row["what_changed"], needs_and_blockers=row["needs_and_blockers"],
            this_week=row["this_week"],
            safety_plan_working="" if flag is None else ("Yes" if flag else "No"),
            recorded_by=row["recorded_by"])


def _blank_value(value: Any) -> bool:
    if value is NO_STORED_VALUE:
        return False
    return value is None or (isinstance(value, str) and is_blank(value))


def _plausible_email(text: str) -> bool:
    local, at, domain = text.partition("@")
    return (bool(at) and bool(local) and "." in domain.strip(".") and "@" not in domain
            and not any(ch.isspace() for ch in text))
