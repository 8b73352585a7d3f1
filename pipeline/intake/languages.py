"""The languages a workbook names, checked: the household's Preferred language decides the
plan's language, so one that gives an English plan (a name not recognised, or a language
with no translation yet) is a warning naming the cell; so is a member's or interpreter's
language that is not recognisably a language."""

from __future__ import annotations

from ..wording.languages import ENGLISH, Language, choose, recognise, suggestion
from .cells import Cells
from .options import ReadOptions

EXAMPLES = "e.g. Arabic, Dari, Pashto, Tigrinya, Ukrainian, French or English"


def _not_recognised(typed: str) -> tuple[str, str]:
    close = suggestion(typed)
    return (f'"{typed}" is not a language name supportplan recognises',
            f"did you mean {close}? Write the language's name in English"
            if close else f"write the language's name in English, {EXAMPLES}")


def check_preferred(cells: Cells, sheet: str, cell: str, typed: str,
                    options: ReadOptions) -> None:
    choice = choose(typed, set(options.plan_languages), options.default_language)
    if choice.problem == "unknown":
        message, fix = _not_recognised(typed)
        cells.warn(sheet, cell, f"{message}, so the plan is in English", fix)
    elif choice.problem == "untranslated" and choice.recognised:
        name = Language(choice.recognised).english_name
        cells.warn(sheet, cell, f"the plan's wording has no {name} translation yet, so the "
                   "plan is in English", f"ask whoever looks after supportplan to add "
                   f"translations/{choice.recognised}.po (see the README), or write another "
                   "language the household reads")


def check_named(cells: Cells, sheet: str, cell: str, typed: str) -> None:
    """A language named for a member or the interpreter: only whether it is one."""
    if typed.strip() and recognise(typed) is None:
        message, fix = _not_recognised(typed)
        cells.warn(sheet, cell, message, fix)


__all__ = ["ENGLISH", "check_named", "check_preferred"]
