"""What reading a workbook gives back: a household, or the problems that stop it.

Plain dataclasses, so a result read in a child process crosses back as it is (pickled).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..model import Household

ERROR = "error"
WARNING = "warning"


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


def workbook_error(path: Path, message: str, fix: str) -> ReadResult:
    """A result for a file that could not be read at all: one error naming the file."""
    return ReadResult(path, None, [Problem(ERROR, "", "", f"{path.name} {message}", fix)])
