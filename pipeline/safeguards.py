"""Checks that keep one household's record from becoming another's.

A caseworker who starts a new household by copying last month's workbook and forgets to
change the reference would otherwise issue the copy as the next version of the other
household: its step ids, progress and overdue findings would become the new family's, and
the plan the family signs would carry the other family's history. Two checks stop that:
the workbook's file name must be its reference, and a new version must share at least one
member with the version before it. Messages name households by reference only (no names in
logs), and say what to do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .intake.problems import ERROR, Problem
from .intake.references import case_key
from .intake.schema import HOUSEHOLD_SHEET, MEMBERS
from .model import Household


def file_name_problem(workbook: Path, reference: str) -> Problem | None:
    """The workbook must be saved under its reference (HH-0042.xlsx for HH-0042)."""
    if case_key(workbook.stem) == case_key(reference):
        return None
    return Problem(ERROR, HOUSEHOLD_SHEET, "B2",
                   f'{workbook.name} says it is household "{reference}", but its file name '
                   f"does not: if it is a copy of {reference}'s workbook for a new household, "
                   f"it would become {reference}'s next plan",
                   f"for a new household, give it its own reference in Household!B2 and save "
                   f"it under that name (e.g. HH-0101.xlsx); if it really is {reference}, "
                   f"save it as {reference}{workbook.suffix}")


def _names(members: Iterable[Any]) -> set[str]:
    return {" ".join(str(name).split()).casefold() for name in members if name}


def members_problem(household: Household, previous: Mapping[str, Any] | None,
                    previous_version: int) -> Problem | None:
    """A new version must share at least one member with the last issued version."""
    if previous is None:
        return None
    before = _names(m.get("name") for m in previous.get("members", []))
    now = _names(m.name for m in household.members)
    if not before or before & now:
        return None
    reference = household.reference
    return Problem(ERROR, MEMBERS.name, "A2",
                   f"none of the members listed here is in {reference} version "
                   f"{previous_version}, the last plan issued for {reference}: this looks "
                   f"like another household's workbook saved under {reference}",
                   f"if this is a new household, give it its own reference (Household!B2) "
                   f"and file name; if {reference} really is the same household with all "
                   f"new members, build it with `supportplan build --same-household "
                   f"{reference}`")
