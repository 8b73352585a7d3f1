"""Which language a plan is in.

Caseworkers type a language's name as they say it ("Arabic", "Dari", "Farsi (Dari)",
"العربية", "ar"). CLDR's language names (through Babel) recognise it; the plan is then in
that language when a catalogue for it exists, else in English, and either way the reader
says why, naming the cell (pipeline/intake/reader.py).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, cached_property

from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers

ENGLISH = "en"
# Names caseworkers write that CLDR lists differently (or not at all), and common variants.
ALIASES: dict[str, str] = {
    "dari": "fa_AF", "dari persian": "fa_AF", "afghan persian": "fa_AF", "prs": "fa_AF",
    "farsi": "fa", "pushto": "ps", "pashtu": "ps", "tigrigna": "ti", "tigrinyan": "ti",
}
# Locales whose own name for themselves is recognised too (people write "العربية").
NATIVE_NAMES_OF = ("ar", "fa", "fa_AF", "ps", "ti", "uk", "fr", "en", "so", "am", "ku",
                   "ckb", "ur", "ru", "es", "pt", "tr", "sq", "ro", "pl", "zh", "vi")
# The pieces of a typed name tried one by one: "Arabic (Syrian)", "Dari/Farsi", "Kurdish - Sorani".
_PIECES = re.compile(r"\s*(?:[()/,;]|\s-\s|\bor\b)\s*")


@dataclass(frozen=True)
class Language:
    """A language a plan can be in; `code` is a Babel locale id and the catalogue's name."""

    code: str

    @cached_property
    def locale(self) -> Locale:
        return Locale.parse(self.code)

    @property
    def rtl(self) -> bool:
        return self.locale.character_order == "right-to-left"

    @property
    def tag(self) -> str:
        """The BCP 47 tag (for the document's and the PDF's language): fa-AF, ar, uk."""
        return self.code.replace("_", "-")

    def name(self, in_language: Language | None = None, standalone: bool = True) -> str:
        """This language's name in `in_language` (default: in itself): capitalised when it
        stands alone in a table cell, as CLDR writes it in a sentence ("en arabe")."""
        where = (in_language or self).locale
        name = (where.languages.get(self.code) or where.languages.get(self.locale.language)
                or self.code)
        return name[:1].upper() + name[1:] if standalone else name

    @property
    def english_name(self) -> str:
        return self.name(Language(ENGLISH))


def _normal(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.replace("_", " ").split()).strip(" .:-")


@cache
def _index() -> dict[str, str]:
    """Typed name -> locale id: English names of every CLDR language, the own names of the
    languages refugee and migrant households most often speak, and the aliases."""
    index: dict[str, str] = {}
    for code, name in Locale(ENGLISH).languages.items():
        index.setdefault(_normal(name), code)
    for code in NATIVE_NAMES_OF:
        try:
            locale = Locale.parse(code)
        except (UnknownLocaleError, ValueError):
            continue
        for name in (locale.languages.get(code), locale.languages.get(locale.language)):
            if name:
                index.setdefault(_normal(name), code)
    index.update(ALIASES)
    return index


def warm_language_index() -> None:
    """Build the index of language names now (for a process that forks workers)."""
    _index()
    _identifiers()


@cache
def _identifiers() -> dict[str, str]:
    return {identifier.casefold(): identifier for identifier in locale_identifiers()}


def _recognised(typed: str) -> list[str]:
    """Every locale id named in `typed`: the whole text first, then each of its pieces."""
    whole = _normal(typed)
    found: list[str] = []
    for candidate in (whole, *(p for p in _PIECES.split(whole) if p)) if whole else ():
        code = _index().get(candidate) or _identifiers().get(
            candidate.replace("-", "_").replace(" ", "_"))
        if code and code not in found:
            found.append(code)
    return found


def recognise(typed: str) -> str | None:
    """The locale id for a language name or code as typed, or None when it is not one."""
    found = _recognised(typed)
    return found[0] if found else None


def suggestion(typed: str) -> str | None:
    """The English name of the language `typed` most looks like a misspelling of."""
    close = difflib.get_close_matches(_normal(typed), list(_index()), n=1, cutoff=0.75)
    return Language(_index()[close[0]]).english_name if close else None


@dataclass(frozen=True)
class Choice:
    """The language a plan is in, and, when that is not what the workbook asked for, why."""

    language: Language
    asked: str  # as typed in the workbook
    recognised: str | None  # the locale id of what was typed
    problem: str = ""  # "" | "unknown" | "untranslated"


def catalogue_for(code: str, available: frozenset[str] | set[str]) -> str | None:
    """The catalogue for locale `code`: its own, else its language's (ar_SY -> ar)."""
    if code in available:
        return code
    language = code.split("_")[0]
    return language if language in available else None


def choose(typed: str, available: frozenset[str] | set[str], default: str = ENGLISH) -> Choice:
    """The plan's language for a household whose Preferred language is `typed`."""
    if not typed.strip():
        return Choice(Language(default), typed, None)
    found = _recognised(typed)
    if not found:
        return Choice(Language(ENGLISH), typed, None, "unknown")
    # "Farsi (Dari)": the first named language that has a catalogue
    for code in found:
        catalogue = catalogue_for(code, available)
        if catalogue is not None:
            return Choice(Language(catalogue), typed, code)
    return Choice(Language(ENGLISH), typed, found[0], "untranslated")


def display_name(typed: str, plan: Language, standalone: bool = True) -> str:
    """A language named in the workbook, as the plan shows it: in the plan's language when
    recognised (Arabic -> العربية on an Arabic plan), else as typed."""
    code = recognise(typed)
    if code is None:
        return typed
    try:
        return Language(code).name(plan, standalone)
    except (UnknownLocaleError, ValueError):
        return typed
