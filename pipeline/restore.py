"""Remaking a version's files when they were deleted but its workbook has not changed.

The registry still knows the version: its content, the step statuses it was issued with,
its page codes and box positions. Rendering the same content again with the same token
gives the same pages; the remade PDF is accepted only if its boxes sit where the recorded
ones do, so paper already signed keeps being read against it. Otherwise the person is told
to restore the files from backup. Only the missing files are written; nothing is
overwritten and no new version is issued.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .compare import StepState
from .model import Household
from .printed import DocumentLayout

# Boxes remade within this distance of the recorded ones are the same boxes.
SAME_PLACE_MM = 0.5


def missing_files(docx_path: str, pdf_path: str | None) -> list[Path]:
    return [Path(path) for path in (docx_path, pdf_path) if path and not Path(path).exists()]


def as_issued(household: Household, states: list[StepState]) -> Household:
    """The household with each step's progress as the version was issued with it (the
    workbook may have moved on since, without a new version)."""
    steps = [replace(step, status=state.status, done_on=state.done_on)
             for step, state in zip(household.steps, states, strict=True)]
    return replace(household, steps=steps)


def same_layout(remade: DocumentLayout, recorded: DocumentLayout) -> bool:
    if len(remade.pages) != len(recorded.pages):
        return False
    for new, old in zip(remade.pages, recorded.pages, strict=True):
        if len(new.boxes) != len(old.boxes):
            return False
        for a, b in zip(new.boxes, old.boxes, strict=True):
            if (a.kind, a.key) != (b.kind, b.key) or max(
                    abs(p - q) for p, q in zip(a.bbox, b.bbox, strict=True)) > SAME_PLACE_MM:
                return False
    return True
