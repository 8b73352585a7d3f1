"""Cell values as people really type them, decoded into text, dates, yes/no and choices.

Forgiving about form (spaces, UK dates as text, Excel serial numbers, yes/y/true), strict
about meaning. Every problem is collected with sheet, cell and a plain-English fix; a cell
that already has an error is remembered, so that a later check ("X is empty") does not
blame it a second time for the same thing.
"""

from __future__ import annotations

import calendar
import difflib
import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import Any

from .printable import describe, installed_coverage
from .problems import ERROR, WARNING, Problem
from .schema import EARLIEST_YEAR, LATEST_YEAR, MAX_TEXT_LENGTH


class FormulaWithoutValue:
    """A formula cell saved without its result (scripts, exporters and some converters write
    these): Excel would show a value, openpyxl sees nothing. Never read as empty."""

    _instance: FormulaWithoutValue | None = None

    def __new__(cls) -> FormulaWithoutValue:  # one shared marker, also after pickling
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<formula without a stored value>"


NO_STORED_VALUE = FormulaWithoutValue()

# Characters XML 1.0 forbids (pasted vertical tabs, form feeds, ...): they would corrupt
# the DOCX, so they are removed and the caseworker is told.
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# Excel stores control characters in strings as _xHHHH_ escapes; openpyxl leaves them as
# typed, so they are decoded here (and then removed as illegal XML, with a warning).
_OOXML_ESCAPE = re.compile("_x([0-9A-Fa-f]{4})_")
_EXCEL_ERRORS = {"#REF", "#VALUE", "#NAME", "#DIV", "#N/A", "#NUM", "#NULL", "#SPILL", "#CALC",
                 "#GETTING_DATA"}
_EXCEL_EPOCH = date(1899, 12, 30)
_TEXT_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d", "%d %b %Y",
                      "%d %B %Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}


def is_blank(text: str) -> bool:
    """Nothing a reader could see: spaces of any kind, zero-width and format characters."""
    return all(ch.isspace() or unicodedata.category(ch) in ("Cf", "Cc", "Zs") for ch in text)


class Cells:
    """Decodes cell values, collecting problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._flagged: set[tuple[str, str]] = set()

    def error(self, sheet: str, cell: str, message: str, fix: str) -> None:
        self.problems.append(Problem(ERROR, sheet, cell, message, fix))
        self._flagged.add((sheet, cell))

    def warn(self, sheet: str, cell: str, message: str, fix: str) -> None:
        self.problems.append(Problem(WARNING, sheet, cell, message, fix))

    def flagged(self, sheet: str, cell: str | None = None) -> bool:
        """Has this cell (or, with cell None, anything on this sheet) an error already?"""
        if cell is not None:
            return (sheet, cell) in self._flagged
        return any(flagged_sheet == sheet for flagged_sheet, _cell in self._flagged)

    @property
    def has_errors(self) -> bool:
        return bool(self._flagged)

    def _stored(self, value: Any, sheet: str, cell: str) -> bool:
        if value is NO_STORED_VALUE:
            self.error(sheet, cell, "holds a formula with no stored value",
                       "open the workbook in Excel and save it, so the value is stored")
            return False
        return True

    # -- kinds of value ------------------------------------------------------------------
    def text(self, value: Any, sheet: str, cell: str, *, strict: bool = False) -> str:
        """The text shown in the cell, cleaned. `strict`: control characters are an error
        (a reference becomes a folder name), not silently removed."""
        if value is None or not self._stored(value, sheet, cell):
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
            if strict:
                self.error(sheet, cell, "contains invisible control characters",
                           "delete the cell's contents and type it again")
                return ""
            self.warn(sheet, cell, "contained invisible control characters (often from "
                      "copy and paste), which were removed",
                      "check the text still reads as intended")
        # One spelling per character: a name typed with a separate accent mark still
        # matches the same name typed with an accented letter.
        cleaned = unicodedata.normalize("NFC", cleaned)
        cleaned = cleaned.replace("\r\n", "\n").replace("\r", "\n").strip()
        if is_blank(cleaned):
            return ""
        if cleaned.startswith("#") and cleaned.rstrip("!?/0").upper() in _EXCEL_ERRORS:
            self.error(sheet, cell, f"shows the Excel error {cleaned}",
                       "fix or remove the formula in this cell")
        if len(cleaned) > MAX_TEXT_LENGTH:
            self.error(sheet, cell, f"has {len(cleaned)} characters, more than the "
                       f"{MAX_TEXT_LENGTH} a plan can show",
                       "shorten it, or split it over several steps")
        if not cleaned.isascii() and (coverage := installed_coverage()) is not None \
                and (missing := coverage.missing(cleaned)):
            self.warn(sheet, cell, f"has {len(missing)} character"
                      f"{'s' if len(missing) != 1 else ''} that no font on this computer can "
                      f"print ({describe(missing)}): the plan would show empty boxes instead",
                      "install a font that has them (scripts/setup.sh installs fonts for "
                      "Chinese, Japanese, Korean and emoji), or leave them out")
        return cleaned

    def date(self, value: Any, sheet: str, cell: str) -> date | None:
        if value is None or (isinstance(value, str) and is_blank(value)):
            return None
        if not self._stored(value, sheet, cell):
            return None
        found: date | None = None
        if isinstance(value, datetime):
            found = value.date()
        elif isinstance(value, date):
            found = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if 1 <= value < 2958466:
                found = _EXCEL_EPOCH + timedelta(days=int(value))
        elif isinstance(value, str):
            typed = " ".join(value.split())
            for pattern in _TEXT_DATE_FORMATS:
                try:
                    found = datetime.strptime(typed, pattern).date()
                    break
                except ValueError:
                    continue
        shown = str(value)[:40]
        if found is None:
            message, fix = _why_not_a_date(shown)
            self.error(sheet, cell, message, fix)
        elif not EARLIEST_YEAR <= found.year <= LATEST_YEAR:
            self.error(sheet, cell, f"{found:%d/%m/%Y} is not a plausible date (the year is "
                       f"outside {EARLIEST_YEAR}-{LATEST_YEAR})",
                       "check the year; use dd/mm/yyyy")
            found = None
        return found

    def yes_no(self, value: Any, sheet: str, cell: str) -> bool | None:
        typed = self.text(value, sheet, cell).lower()
        if not typed:
            return None
        if typed in _YES:
            return True
        if typed in _NO:
            return False
        self.error(sheet, cell, f'"{typed[:40]}" is not Yes or No',
                   "choose Yes or No from the list")
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
            # "; " between choices: some contain commas ("Family, Friends & Contacts")
            self.error(sheet, cell, f'"{value[:60]}" is not a known {what}',
                       f"{hint}pick one from the list: {'; '.join(allowed)}")
        return match


_DAY_MONTH_YEAR = re.compile(r"^\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})\s*$")


def _why_not_a_date(shown: str) -> tuple[str, str]:
    """What is wrong with text that looks like a date but is not one, in plain words."""
    found = _DAY_MONTH_YEAR.match(shown)
    if found is None:
        return f'"{shown}" is not a date', "use dd/mm/yyyy, e.g. 14/03/2027"
    day, month, year = (int(part) for part in found.groups())
    if year < 100:
        year += 2000
    if 1 <= month <= 12 and day > 0:
        length = calendar.monthrange(year, month)[1] if 1 <= year <= 9999 else 31
        if day > length:
            name = calendar.month_name[month]
            return (f'"{shown}": {name} {year} has {length} days',
                    f"use a day that exists, e.g. {length:02d}/{month:02d}/{year}")
    if month > 12 and 1 <= day <= 12:
        return (f'"{shown}": there is no month {month}; dates are written day first',
                f"if you meant {month} {calendar.month_name[day]} {year}, write "
                f"{month:02d}/{day:02d}/{year} (dd/mm/yyyy)")
    if month > 12 or month == 0:
        return f'"{shown}": there is no month {month}', "use dd/mm/yyyy, e.g. 14/03/2027"
    return f'"{shown}" is not a date', "use dd/mm/yyyy, e.g. 14/03/2027"
