"""What a build does with one household's valid workbook, decided from what the registry
knows about the household: a pure function over plain data, testable without files or a
database.

The Builder (pipeline/build.py) asks the registry one question, `Registry.snapshot`, checks
what only the file system can tell (are the latest version's files still there?), and acts
on the answer here:

- `Unchanged` / `Progress`: the plan content is the latest version's; record the workbook's
  progress (status, Done on) and, if that version's files went missing, remake them exactly
  as issued (pipeline/restore.py). No new version to sign.
- `MergeRefused`: new content that shares no member with the latest version looks like
  another household's workbook saved under this reference (pipeline/safeguards.py).
- `NewVersion`: the next version number, the steps' stable ids and why it is issued. The
  number is a proposal: it is checked again under the database's lock when the version is
  recorded (`Registry.reserve_version`), since another machine may issue it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .compare import StepState, compare, reason_for
from .intake.problems import Problem
from .model import Household
from .plan import (
    KnownStep,
    StatusChange,
    assign_step_ids,
    content_hash,
    progress_changes,
    step_content,
)
from .restore import as_issued
from .safeguards import members_problem

if TYPE_CHECKING:  # the registry's record type only: this module reads no database
    from .registry import VersionRecord


@dataclass(frozen=True)
class HouseholdSnapshot:
    """What the registry knows about one household, read together in one connection
    (`Registry.snapshot`)."""

    reference: str
    latest: VersionRecord | None  # the newest issued version (None: never issued)
    content: Mapping[str, Any]  # what `latest` showed (plan.plan_content); {} when none
    states: tuple[StepState, ...]  # `latest`'s steps as issued (text and progress then)
    step_ids: tuple[str, ...]  # `latest`'s step ids, in plan order
    known_steps: tuple[KnownStep, ...]  # every step the household had, as last recorded
    next_step_number: int  # one past the highest step number ever given to the household
    # The newest version number recorded, issued or still being published (0: none): files
    # up to it may be in output/<ref>/ legitimately.
    highest_recorded: int
    token: str | None  # the page-code token of `latest`'s stamped PDF, if it has one


@dataclass(frozen=True)
class Remake:
    """The latest version's files are missing: render it again, as issued."""

    household: Household  # the workbook with each step's progress as the version had it
    token: str | None  # the page-code token to print again (None: make a new one)


@dataclass(frozen=True)
class SameVersion:
    """The plan content is the latest version's: no new version to sign."""

    latest: VersionRecord
    step_ids: tuple[str, ...]
    # Status changes since the progress last recorded. What the registry's write reports
    # is what the build says (it may differ if another build recorded them meanwhile).
    changes: tuple[StatusChange, ...]
    remake: Remake | None  # set when the version's files must be remade


class Unchanged(SameVersion):
    """Nothing changed but, perhaps, the weekly reviews or the safety plan."""


class Progress(SameVersion):
    """Some steps' status or Done on changed."""


@dataclass(frozen=True)
class MergeRefused:
    """The new content would make another household's workbook this household's next
    version (pipeline/safeguards.py)."""

    problem: Problem


@dataclass(frozen=True)
class NewVersion:
    """Issue version `version` with these step ids."""

    version: int
    step_ids: tuple[str, ...]
    content_hash: str
    reason: str  # why, in words (for the registry and `history`)
    recorded_up_to: int  # plan files up to this version number are the registry's own


Decision = Unchanged | Progress | MergeRefused | NewVersion


def decide(household: Household, snapshot: HouseholdSnapshot, *,
           same_household: bool = False, files_missing: bool = False) -> Decision:
    """What to do with `household` (a valid workbook's) given what the registry knows.

    `same_household`: the person said this reference's new version may share no member
    with the last (`build --same-household`). `files_missing`: some of the latest version's
    files are gone from output/ (looked at by the caller; only used when content is
    unchanged)."""
    digest = content_hash(household)
    latest = snapshot.latest
    if latest is not None and latest.content_hash == digest:
        changes = tuple(progress_changes(snapshot.known_steps, snapshot.step_ids,
                                         household.steps))
        remake = (Remake(as_issued(household, list(snapshot.states)), snapshot.token)
                  if files_missing else None)
        kind = Progress if changes else Unchanged
        return kind(latest, snapshot.step_ids, changes, remake)
    if latest is not None and not same_household and (
            problem := members_problem(household, snapshot.content, latest.version)
    ) is not None:
        return MergeRefused(problem)
    step_ids = tuple(assign_step_ids(household.reference, snapshot.known_steps,
                                     household.steps, snapshot.next_step_number))
    issued = latest.version if latest is not None else 0
    reason = reason_for(compare(snapshot.states, [
        StepState.from_content(step_id, step_content(step), step.status, step.done_on)
        for step_id, step in zip(step_ids, household.steps, strict=True)])
        if latest is not None else None)
    return NewVersion(issued + 1, step_ids, digest, reason,
                      max(issued, snapshot.highest_recorded))
