"""Household references: they become folder and file names, so they are checked strictly.

A reference names `output/<ref>/` on whatever disk the office uses, often a Windows share:
no path separators or dots, nothing invisible, no names Windows reserves for devices, and
(checked by the build, across a batch) no two references that differ only in case.
"""

from __future__ import annotations

import re

from .cells import Cells
from .schema import HOUSEHOLD_SHEET

REFERENCE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
# Windows refuses these as file or folder names, whatever the case.
_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$", re.IGNORECASE)
_FIX = "use up to 40 letters, digits and dashes, e.g. HH-0042"


def reference_problem(reference: str) -> str | None:
    """Why `reference` cannot name a household's folder, or None when it can."""
    shown = reference if len(reference) <= 60 else reference[:57] + "..."
    if not REFERENCE_PATTERN.match(reference):
        if len(reference) > 40:
            return f'"{shown}" is {len(reference)} characters long, too long for a reference'
        return f'"{shown}" cannot be used as a household reference'
    if _RESERVED.match(reference):
        return f'"{reference}" is a name Windows reserves, so it cannot be a folder name'
    return None


def check_reference(cells: Cells, reference: str, cell: str) -> bool:
    problem = reference_problem(reference)
    if problem is not None:
        cells.error(HOUSEHOLD_SHEET, cell, problem, _FIX)
    return problem is None


def case_key(reference: str) -> str:
    """References that collide on a case-insensitive disk share this key."""
    return reference.casefold()
