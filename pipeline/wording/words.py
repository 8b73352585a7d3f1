"""One plan's fixed wording: in the household's language, and in English beside it when the
plan is bilingual, with this plan's values filled in.

The templates see three namespaces of the same keys (pipeline/wording/catalogues):

* ``t``: the plan's language (falling back to English for a string not yet translated);
* ``en``: English, shown in a smaller line under headings, column titles and sentences
  when ``bilingual`` is true, so the caseworker can follow;
* ``both``: "the plan's language · English" in one line (labels, the signature box), or
  the plan's language alone.

Values from the workbook keep their own direction: in a right-to-left plan a value with
Latin letters (and in a left-to-right plan one with Arabic letters) is wrapped in Unicode
isolates (FSI ... PDI), so "Gather payslips." keeps its full stop at its end and a cell
mixing Latin and Arabic text keeps its word order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from babel.dates import format_date, get_date_format

from ..model import (
    AREAS,
    ROLE_CASEWORKER,
    ROLE_INTERPRETER,
    ROLE_PEER_REVIEWER,
    STATUSES,
    WHOLE_HOUSEHOLD,
)
from .catalogue import Catalogues, Lookup
from .languages import ENGLISH, Language, display_name

GLOSS_SEPARATOR = " · "
FSI, PDI = "\u2068", "\u2069"  # first strong isolate, pop directional isolate
ISOLATES = (FSI, PDI)


def _key(prefix: str, name: str) -> str:
    return prefix + "_" + "_".join(
        "".join(c if c.isalnum() else " " for c in name.casefold()).split())


AREA_KEYS = {area: _key("area", area) for area in AREAS}
STATUS_KEYS = {status: _key("status", status) for status in STATUSES}
ROLE_KEYS = {ROLE_CASEWORKER: "role_caseworker", ROLE_PEER_REVIEWER: "role_peer_reviewer",
             ROLE_INTERPRETER: "role_interpreter", "Household member": "role_member"}

# Locales whose dates are written differently from their language's default: the
# organisation is British, so English dates are day-month-year.
DATE_LOCALES = {"en": "en_GB"}


def needs_isolating(text: str, rtl: bool) -> bool:
    """Whether `text` has strong characters of the direction opposite to the plan's."""
    classes = {unicodedata.bidirectional(char) for char in text}
    return "L" in classes if rtl else bool(classes & {"R", "AL"})


def isolate(text: str, rtl: bool) -> str:
    if not text or not needs_isolating(text, rtl):
        return text
    return f"{FSI}{text}{PDI}"


Value = str | int | date | Callable[[Language], str] | None


class _Filled(Mapping[str, str]):
    """The sentences of one namespace (t, en or both), each filled in at first use."""

    def __init__(self, keys: Sequence[str], fill: Callable[[str], str]) -> None:
        # a dict for quick lookups that still iterates in the catalogue's order, as the
        # namespaces did when they were filled-in dicts
        self._keys, self._fill, self._done = dict.fromkeys(keys), fill, dict[str, str]()

    def __getitem__(self, key: str) -> str:
        found = self._done.get(key)
        if found is None:
            if key not in self._keys:
                raise KeyError(key)
            found = self._done[key] = self._fill(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True)
class PlanLanguage:
    """The language a plan is in, and whether English stands beside it."""

    language: Language
    bilingual: bool = True

    @property
    def with_english(self) -> bool:
        return self.bilingual and self.language.code != ENGLISH


class Words:
    """The fixed wording of one plan."""

    def __init__(self, catalogues: Catalogues, plan: PlanLanguage) -> None:
        self.catalogues = catalogues
        self.plan = plan
        self.language = plan.language
        self.english_language = Language(ENGLISH)
        self.fallbacks: set[str] = set()  # keys shown in English for want of a translation
        # Each string looked up once per plan (a plan uses each many times, and a lookup
        # checks the catalogue files on disk); a new plan's Words sees edited catalogues.
        self._found: dict[str, Lookup] = {}
        self._english: dict[str, str] = {}

    # -- dates and values ------------------------------------------------------------------
    @staticmethod
    def _date_locale(language: Language) -> str:
        return DATE_LOCALES.get(language.code, language.code)

    def long_date(self, value: date | None, language: Language | None = None) -> str:
        """15 March 2026, 15 مارس 2026: month names in the language, Western digits."""
        language = language or self.language
        return format_date(value, "long", locale=self._date_locale(language)) if value else ""

    def table_date(self, value: date | None, language: Language | None = None) -> str:
        """Short enough for a narrow "By when" column (15 Mar 2026, 15 бер. 2026 р.), but
        with the month in words: a numeric date (Arabic's is) reads differently to a
        caseworker used to day/month and to one used to month/day."""
        language = language or self.language
        if not value:
            return ""
        locale = self._date_locale(language)
        numeric = "MMM" not in get_date_format("medium", locale=locale).pattern
        return format_date(value, "long" if numeric else "medium", locale=locale)

    def isolate(self, text: str) -> str:
        return isolate(text, self.language.rtl)

    def _value(self, value: Value, language: Language) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            text = self.long_date(value, language)
        elif callable(value):
            text = value(language)
        else:
            text = str(value)
        return isolate(text, language.rtl)

    # -- the strings -----------------------------------------------------------------------
    def _fill(self, text: str, language: Language, values: Mapping[str, Value]) -> str:
        try:
            return text.format(**{name: self._value(value, language)
                                  for name, value in values.items()})
        except (KeyError, IndexError, ValueError):
            return text  # a sentence whose values this plan does not have

    def text(self, key: str, **values: Value) -> str:
        """`key` in the plan's language."""
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = self.catalogues.lookup(self.language.code, key)
        if not found.translated:
            self.fallbacks.add(key)
        return self._fill(found.text, self.language if found.translated
                          else self.english_language, values)

    def english(self, key: str, **values: Value) -> str:
        english = self._english.get(key)
        if english is None:
            english = self._english[key] = self.catalogues.english(key)
        return self._fill(english, self.english_language, values)

    def both(self, key: str, **values: Value) -> str:
        """"the plan's language · English" when bilingual, else the plan's language."""
        primary = self.text(key, **values)
        if not self.plan.with_english:
            return primary
        english = self.english(key, **values)
        return primary if english == primary else \
            f"{primary}{GLOSS_SEPARATOR}{isolate(english, self.language.rtl)}"

    def namespaces(self, values: Mapping[str, Value]) -> dict[str, Any]:
        """What the template sees: t, en, both (every key) and bilingual. Each sentence is
        filled in when the template first uses it: filling in all ~200 of them three ways
        (dates formatted by Babel) was half the time a plan took to render."""
        keys = self.catalogues.keys()
        return {"t": _Filled(keys, lambda key: self.text(key, **values)),
                "en": _Filled(keys, lambda key: self.english(key, **values)),
                "both": _Filled(keys, lambda key: self.both(key, **values)),
                "bilingual": self.plan.with_english}

    # -- the workbook's fixed values, shown in the plan's language ------------------------
    def area(self, area: str) -> str:
        return self.text(AREA_KEYS[area]) if area in AREA_KEYS else area

    def area_english(self, area: str) -> str:
        return self.english(AREA_KEYS[area]) if area in AREA_KEYS else area

    def status(self, status: str) -> str:
        return self.both(STATUS_KEYS[status]) if status in STATUS_KEYS else status

    def role(self, role: str) -> str:
        """A signer's role: the fixed ones translated, a member's own as written."""
        return self.both(ROLE_KEYS[role]) if role in ROLE_KEYS else role

    def who(self, who: str) -> str:
        return self.text("whole_household") if who == WHOLE_HOUSEHOLD else who

    def yes_no(self, value: str | bool | None) -> str:
        if value in (True, "Yes"):
            return self.both("yes")
        if value in (False, "No"):
            return self.both("no")
        return "—"

    def language_name(self, typed: str, standalone: bool = True) -> Callable[[Language], str]:
        """A language named in the workbook, as each language of the plan writes it."""
        return lambda language: display_name(typed, language, standalone)

    def list_of(self, items: list[str]) -> str:
        return self.text("list_separator").join(items)
