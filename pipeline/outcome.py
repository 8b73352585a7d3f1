"""What a build says about each workbook, and a version on its way between the stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .intake.problems import ERROR, Problem, ReadResult
from .model import Household
from .printed import DocumentLayout
from .registry import VersionRecord

if TYPE_CHECKING:  # the build's stages import this module
    from .render.workers import RenderJob

BUILT = "built"
UNCHANGED = "unchanged"
PROGRESS = "progress updated"
FAILED = "failed"
RESTORED = "restored"  # the files of an unchanged version were missing and were remade
# A workbook passes three steps a progress bar can show: read, rendered, published.
STEPS_PER_WORKBOOK = 3


@dataclass
class BuildOutcome:
    workbook: Path
    status: str
    reference: str | None = None
    version: int | None = None
    docx: Path | None = None
    pdf: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    error_report: Path | None = None
    warning_report: Path | None = None

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != ERROR]


@dataclass
class PlannedVersion:
    """A new version on its way: rendered in staging, not yet published."""

    result: ReadResult
    household: Household
    version: int
    step_ids: list[str]
    content_hash: str
    workbook_sha256: str
    token: str  # the opaque id printed in the page codes
    reason: str  # why this version is issued, in words
    staged_docx: Path  # converted to the PDF
    staged_word_copy: Path  # the editable Word file that is published
    staged_pdf: Path | None = None
    outcome: BuildOutcome | None = None
    # Set by the stamping stage; recorded with the version in the same transaction, so no
    # version exists without its box positions.
    layout: DocumentLayout | None = None
    # Set when this remakes the missing files of an issued version (pipeline/restore.py).
    restoring: VersionRecord | None = None
    render_job: RenderJob | None = None  # what the workers render into staged_docx
