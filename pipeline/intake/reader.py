"""Read and validate a household workbook.

Forgiving about what people really type (spaces, blank rows, UK dates as text, Excel serial
numbers, yes/y/true), strict about meaning. Every problem is collected, with sheet, cell and
a plain-English fix, so the caseworker can correct them all in one sitting.
"""

from __future__ import annotations

import calendar
import difflib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException

from ..model import (
    AREAS,
    DONE,
    NOT_STARTED,
    STATUSES,
    WHOLE_HOUSEHOLD,
    Household,
    Member,
    SafetyItem,
    Step,
    WeeklyReview,
)
from .schema import (
    HOUSEHOLD_FIELDS,
    HOUSEHOLD_SHEET,
    MAX_SHEET_ROWS,
    MAX_TEXT_LENGTH,
    MAX_UNPACKED_MB,
    MEMBERS,
    PLAN,
    SAFETY_PLAN,
    WEEKLY_REVIEWS,
    Kind,
    TableSheet,
)

ERROR = "error"
WARNING = "warning"

# Characters XML 1.0 forbids (pasted vertical tabs, form feeds, ...): they would corrupt
# the DOCX, so they are removed and the caseworker is told.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel stores control characters in strings as _xHHHH_ escapes; openpyxl leaves them as
# typed, so they are decoded here (and then removed as illegal XML, with a warning).
_OOXML_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")
REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_EXCEL_EPOCH = date(1899, 12, 30)
_TEXT_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d", "%d %b %Y",
                      "%d %B %Y")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


@dataclass(frozen=True)
class Problem:
    severity: str
    sheet: str
    cell: str
    message: str
    fix: str

    @property
    def location(self) -> str:
        if not self.sheet:
            return "Workbook"
        return f"{self.sheet}!{self.cell}" if self.cell else self.sheet

    def __str__(self) -> str:
        return f"{self.location}: {self.message}; {self.fix}"


@dataclass
class ReadResult:
    path: Path
    household: Household | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return self.household is not None and not self.errors


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def read_workbook(path: Path, *, review_interval_months: int = 3) -> ReadResult:
    """Read `path` into a Household; problems are collected, never raised."""
    path = Path(path)
    too_big = _unpacks_too_big(path)
    if too_big is not None:
        return ReadResult(path, None, [too_big])
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError,
            TypeError, EOFError) as exc:
        return ReadResult(path, None, [_unreadable(path, exc)])
    try:
        return _Reader(path, workbook, review_interval_months).read()
    finally:
        workbook.close()


def _unpacks_too_big(path: Path) -> Problem | None:
    """A household workbook unpacks to well under a megabyte; refuse anything that would
    take minutes (or all memory) to open, before opening it."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None  # load_workbook gives the precise message
    if unpacked <= MAX_UNPACKED_MB * 1024 * 1024:
        return None
    return Problem(ERROR, "", "", f"{path.name} unpacks to {unpacked / 1024 / 1024:.0f} MB, "
                   f"more than the {MAX_UNPACKED_MB} MB a household workbook can be",
                   "remove pasted-in data or pictures, or start again from `supportplan new`")


def _unreadable(path: Path, exc: Exception) -> Problem:
    if isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile):
        reason = f"could not be opened ({exc.strerror or exc})"
        fix = "close it in Excel if it is open elsewhere, check the file exists, and save again"
    elif path.stat().st_size == 0 if path.exists() else False:
        reason = "is empty (0 bytes)"
        fix = "save the workbook again from Excel"
    else:
        reason = "is not a readable Excel workbook (.xlsx); it may be damaged, password-" \
                 "protected or in the old .xls format"
        fix = ("open it in Excel, remove any password, and use File > Save As > Excel "
               "Workbook (.xlsx)")
    return Problem(ERROR, "", "", f"{path.name} {reason}", fix)


class _Reader:
    def __init__(self, path: Path, workbook: Any, review_interval_months: int) -> None:
        self.path = path
        self.workbook = workbook
        self.review_interval_months = review_interval_months
        self.problems: list[Problem] = []

    # -- problem helpers -------------------------------------------------------------
    def error(self, sheet: str, cell: str, message: str, fix: str) -> None:
        self.problems.append(Problem(ERROR, sheet, cell, message, fix))

    def warn(self, sheet: str, cell: str, message: str, fix: str) -> None:
        self.problems.append(Problem(WARNING, sheet, cell, message, fix))

    # -- value parsing ---------------------------------------------------------------
    def text(self, value: Any, sheet: str, cell: str) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, datetime | date):
            value = value.strftime("%d/%m/%Y")
        text = str(value)
        if "_x" in text:
            text = _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
        cleaned = _ILLEGAL_XML.sub("", text)
        if cleaned != text:
            self.warn(sheet, cell, "contained invisible control characters (often from "
                      "copy and paste), which were removed",
                      "check the text still reads as intended")
        cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n").strip()
        if cleaned.startswith("#") and cleaned.rstrip("!?/0").upper() in {
            "#REF", "#VALUE", "#NAME", "#DIV", "#N/A", "#NUM", "#NULL"}:
            self.error(sheet, cell, f"shows the Excel error {cleaned}",
                       "fix or remove the formula in this cell")
        if len(cleaned) > MAX_TEXT_LENGTH:
            self.error(sheet, cell, f"has {len(cleaned)} characters, more than the "
                       f"{MAX_TEXT_LENGTH} a plan can show",
                       "shorten it, or split it over several steps")
        return cleaned

    def date_value(self, value: Any, sheet: str, cell: str) -> date | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            if 1 <= value < 2958466:
                return _EXCEL_EPOCH + timedelta(days=int(value))
        elif isinstance(value, str):
            typed = " ".join(value.split())
            for pattern in _TEXT_DATE_FORMATS:
                try:
                    return datetime.strptime(typed, pattern).date()
                except ValueError:
                    continue
        self.error(sheet, cell, f'"{value}" is not a date', "use dd/mm/yyyy")
        return None

    def yes_no(self, value: Any, sheet: str, cell: str) -> bool | None:
        typed = self.text(value, sheet, cell).lower()
        if not typed:
            return None
        if typed in _YES:
            return True
        if typed in _NO:
            return False
        self.error(sheet, cell, f'"{typed}" is not Yes or No', "choose Yes or No from the list")
        return None

    def choice(self, value: str, allowed: tuple[str, ...], sheet: str, cell: str,
               what: str) -> str | None:
        folded = {option.casefold(): option for option in allowed}
        simplified = {re.sub(r"[^a-z]", "", key): option for key, option in folded.items()}
        match = folded.get(value.casefold()) or simplified.get(re.sub(r"[^a-z]", "",
                                                                      value.casefold()))
        if match is None:
            close = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            self.error(sheet, cell, f'"{value}" is not a known {what}',
                       f"{hint}pick one from the list: {', '.join(allowed)}")
        return match

    # -- sheets ----------------------------------------------------------------------
    def sheet(self, name: str) -> Any | None:
        by_folded = {title.strip().casefold(): title for title in self.workbook.sheetnames}
        title = by_folded.get(name.casefold())
        if title is None:
            self.error(name, "", f'the sheet "{name}" is missing',
                       "start from a workbook made by `supportplan new` and copy your "
                       "entries into it")
            return None
        return self.workbook[title]

    def read(self) -> ReadResult:
        values = self.read_household()
        members = self.read_members()
        steps = self.read_steps(members)
        safety = [SafetyItem(row["worry"], row["we_will"], row["you_will"], row["review_by"])
                  for row in self.read_rows(SAFETY_PLAN, "worry")]
        reviews = [self.weekly_review(row) for row in self.read_rows(WEEKLY_REVIEWS, "week_of")]
        household = None
        if values is not None and not any(p.severity == ERROR for p in self.problems):
            household = Household(
                members=tuple(members), steps=tuple(steps), safety_plan=tuple(safety),
                weekly_reviews=tuple(r for r in reviews if r is not None), **values)
        return ReadResult(self.path, household, self.problems)

    def read_household(self) -> dict[str, Any] | None:
        sheet = self.sheet(HOUSEHOLD_SHEET)
        if sheet is None:
            return None
        by_label = {f.label.casefold(): f for f in HOUSEHOLD_FIELDS}
        found: dict[str, tuple[Any, str]] = {}
        for row_number, row in enumerate(sheet.iter_rows(max_col=2, values_only=True), 1):
            label = str(row[0] or "").replace("*", "").strip().casefold() if row else ""
            if label in by_label:
                value = row[1] if len(row) > 1 else None
                found[by_label[label].key] = (value, f"B{row_number}")
        values: dict[str, Any] = {}
        for spec in HOUSEHOLD_FIELDS:
            if spec.key not in found:
                self.error(HOUSEHOLD_SHEET, "A", f'the row "{spec.label}" is missing',
                           f'add a row with "{spec.label}" in column A and its value in B')
                continue
            raw, cell = found[spec.key]
            if spec.kind is Kind.DATE:
                value: Any = self.date_value(raw, HOUSEHOLD_SHEET, cell)
            elif spec.kind is Kind.YES_NO:
                flag = self.yes_no(raw, HOUSEHOLD_SHEET, cell)
                value = "" if flag is None else ("Yes" if flag else "No")
            else:
                value = self.text(raw, HOUSEHOLD_SHEET, cell)
            if spec.required and value in ("", None) and not self._has_error_at(cell):
                self.error(HOUSEHOLD_SHEET, cell, f"{spec.label} is empty",
                           f"fill in {spec.label.lower()}: {spec.help[0].lower()}"
                           f"{spec.help[1:].rstrip('.')}")
            values[spec.key] = value
        self.check_household(values, found)
        if any(values.get(key) in ("", None) for key in ("reference", "plan_date")):
            return None
        if values.get("review_date") is None:
            values["review_date"] = add_months(values["plan_date"], self.review_interval_months)
        return values

    def _has_error_at(self, cell: str) -> bool:
        return any(p.cell == cell and p.sheet == HOUSEHOLD_SHEET for p in self.problems)

    def check_household(self, values: dict[str, Any], found: dict[str, tuple[Any, str]]) -> None:
        def cell(key: str) -> str:
            return found.get(key, (None, "B"))[1]

        reference = values.get("reference") or ""
        if reference and not REFERENCE_PATTERN.match(reference):
            self.error(HOUSEHOLD_SHEET, cell("reference"),
                       f'"{reference}" cannot be used as a household reference',
                       "use up to 40 letters, digits and dashes, e.g. HH-0042")
        elif reference and reference.casefold() != self.path.stem.casefold():
            self.warn(HOUSEHOLD_SHEET, cell("reference"),
                      f'the reference "{reference}" differs from the file name '
                      f'"{self.path.name}"', f"name the file {reference}.xlsx to avoid mix-ups")
        email = values.get("caseworker_email") or ""
        if email and not _EMAIL.match(email):
            self.error(HOUSEHOLD_SHEET, cell("caseworker_email"),
                       f'"{email}" is not an email address', "write it as name@example.org")
        plan_date, review_date = values.get("plan_date"), values.get("review_date")
        if plan_date and review_date and review_date <= plan_date:
            self.error(HOUSEHOLD_SHEET, cell("review_date"),
                       f"the review date {review_date:%d/%m/%Y} is not after the plan date "
                       f"{plan_date:%d/%m/%Y}", "use a later review date, or leave it blank")
        values["closed_on"] = values.get("closed_on")

    def read_rows(self, spec: TableSheet, required_key: str | None) -> Iterator[dict[str, Any]]:
        """Yield one parsed dict per non-blank row (with '_row'); report missing required."""
        sheet = self.sheet(spec.name)
        if sheet is None:
            return
        # Reading stops after MAX_SHEET_ROWS: a pasted-in data dump must not hold up a batch
        # or the watcher for minutes.
        rows = sheet.iter_rows(values_only=True, max_row=MAX_SHEET_ROWS + 1)
        header = next(rows, ())
        positions = self.header_positions(spec, header)
        if positions is None:
            return
        for row_number, row in enumerate(rows, start=2):
            raw = {key: (row[index] if index < len(row) else None)
                   for key, index in positions.items()}
            if all(value is None or (isinstance(value, str) and not value.strip())
                   for value in raw.values()):
                continue
            if row_number > MAX_SHEET_ROWS:
                self.error(spec.name, f"A{row_number}", f"the sheet has entries beyond row "
                           f"{MAX_SHEET_ROWS}, far more than one household's plan",
                           "check nothing was pasted in by mistake, and remove the extra rows")
                return
            parsed: dict[str, Any] = {"_row": row_number}
            for column in spec.columns:
                cell = f"{get_column_letter(positions[column.key] + 1)}{row_number}"
                value = raw[column.key]
                if column.kind is Kind.DATE:
                    parsed[column.key] = self.date_value(value, spec.name, cell)
                elif column.kind is Kind.YES_NO:
                    parsed[column.key] = self.yes_no(value, spec.name, cell)
                else:
                    parsed[column.key] = self.text(value, spec.name, cell)
                parsed[f"_{column.key}_cell"] = cell
            if required_key is None:
                yield parsed
                continue
            required = spec.column(required_key)
            if parsed[required_key] in ("", None) and raw[required_key] in (None, ""):
                self.error(spec.name, parsed[f"_{required_key}_cell"],
                           f"{required.header} is empty on a row that has other entries",
                           f"fill in {required.header}, or clear the row")
            yield parsed

    def header_positions(self, spec: TableSheet, header: tuple[Any, ...]) -> dict[str, int] | None:
        seen = {" ".join(str(v).split()).casefold(): i for i, v in enumerate(header) if v}
        positions: dict[str, int] = {}
        for index, column in enumerate(spec.columns):
            position = seen.get(column.header.casefold())
            if position is None:
                self.error(spec.name, f"{get_column_letter(index + 1)}1",
                           f'the column "{column.header}" is missing from the header row',
                           f'put the header "{column.header}" back in row 1')
            else:
                positions[column.key] = position
        return positions if len(positions) == len(spec.columns) else None

    def read_members(self) -> list[Member]:
        members: list[Member] = []
        seen: dict[str, str] = {}
        for row in self.read_rows(MEMBERS, "name"):
            name, adult = row["name"], row["adult"]
            if adult is None and row["_adult_cell"] and not self._errors_at(MEMBERS.name,
                                                                         row["_adult_cell"]):
                self.error(MEMBERS.name, row["_adult_cell"], f"Adult is empty for {name!r}"
                           if name else "Adult is empty", "choose Yes or No")
            signs = row["signs_plan"]
            if signs is None:
                signs = bool(adult)
            elif signs and adult is False:
                self.warn(MEMBERS.name, row["_signs_plan_cell"],
                          "a child is set to sign the plan",
                          "children usually do not sign; set Signs plan to No unless intended")
            if name:
                key = name.casefold()
                if key in seen:
                    self.error(MEMBERS.name, row["_name_cell"],
                               f'"{name}" is listed twice (also {seen[key]})',
                               "give each member a distinct name, e.g. add a family name")
                seen.setdefault(key, row["_name_cell"])
                members.append(Member(name, row["role"], bool(adult), signs, row["language"]))
        if not members and not self._errors_at(MEMBERS.name, None):
            self.error(MEMBERS.name, "A2", "no household members are listed",
                       "add at least one member, starting in row 2")
        elif members and not any(m.signs_plan for m in members):
            self.warn(MEMBERS.name, "D2", "no member is set to sign the plan",
                      "set Signs plan to Yes for the adults")
        return members

    def _errors_at(self, sheet: str, cell: str | None) -> bool:
        return any(p.severity == ERROR and p.sheet == sheet and (cell is None or p.cell == cell)
                   for p in self.problems)

    def read_steps(self, members: list[Member]) -> list[Step]:
        names = {m.name.casefold(): m.name for m in members}
        names[WHOLE_HOUSEHOLD.casefold()] = WHOLE_HOUSEHOLD
        steps: list[Step] = []
        previous: Step | None = None
        for row in self.read_rows(PLAN, None):
            area_text = row["area"]
            if area_text:
                area = self.choice(area_text, AREAS, PLAN.name, row["_area_cell"], "life area")
            elif previous is not None and not row["goal"]:
                area = previous.area
            else:
                area = None
                self.error(PLAN.name, row["_area_cell"], "Area is empty",
                           "pick the life area this step belongs to")
            goal, strengths = row["goal"], row["strengths"]
            if not goal:
                if previous is not None and area == previous.area:
                    goal = previous.goal
                    strengths = strengths or previous.strengths
                elif area is not None:
                    self.error(PLAN.name, row["_goal_cell"], "this step has no goal",
                               "write the goal, or put this step under the goal above it "
                               "(same Area)")
            if not row["we_will"] and not row["you_will"]:
                self.error(PLAN.name, row["_we_will_cell"],
                           "the step says neither what we will do nor what you will do",
                           "fill in We will and/or You will")
            who = row["who"]
            if who:
                matched = names.get(who.casefold())
                if matched is None:
                    self.error(PLAN.name, row["_who_cell"],
                               f'"{who}" is not a member of the household',
                               f"pick a name from the Members sheet, or {WHOLE_HOUSEHOLD}")
                who = matched or who
                if not row["you_will"]:
                    self.warn(PLAN.name, row["_who_cell"], f"Who is {who} but You will is "
                              "empty", "write what they will do in You will")
            elif row["you_will"]:
                who = WHOLE_HOUSEHOLD
            if row["by_when"] is None and not self._errors_at(PLAN.name, row["_by_when_cell"]):
                self.error(PLAN.name, row["_by_when_cell"], "the step has no target date",
                           "give every step a By when date (dd/mm/yyyy)")
            status = (self.choice(row["status"], STATUSES, PLAN.name, row["_status_cell"],
                                  "status") if row["status"] else NOT_STARTED)
            done_on = row["done_on"]
            if done_on is not None and status not in (DONE, None):
                self.warn(PLAN.name, row["_done_on_cell"],
                          f"Done on is filled in but Status is {status}",
                          "set Status to Done, or clear Done on")
            if done_on is not None and done_on > date.today():
                self.error(PLAN.name, row["_done_on_cell"],
                           f"Done on {done_on:%d/%m/%Y} is in the future",
                           "use the date the step was actually done")
            if area is None or not goal:
                continue
            step = Step(area=area, goal=goal, strengths=strengths, we_will=row["we_will"],
                        you_will=row["you_will"], who=who, by_when=row["by_when"],
                        status=status or NOT_STARTED, done_on=done_on, row=row["_row"])
            steps.append(step)
            previous = step
        return steps

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
