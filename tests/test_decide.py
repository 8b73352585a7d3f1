"""The build's decision (pipeline/decide.py) on plain data: no workbook, no files, no
registry. Each test describes what the registry knows as a snapshot and checks what the
build is told to do."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from pipeline.compare import StepState
from pipeline.decide import (
    HouseholdSnapshot,
    MergeRefused,
    NewVersion,
    Progress,
    Unchanged,
    decide,
)
from pipeline.intake.schema import MEMBERS
from pipeline.model import DONE, IN_PROGRESS, NOT_STARTED, Household, Member, Step
from pipeline.plan import KnownStep, content_hash, plan_content, step_content
from pipeline.registry import VersionRecord

REFERENCE = "HH-0042"
PLAN_DATE = date(2026, 3, 2)


def _step(area: str, goal: str, you_will: str, days: int, status: str = NOT_STARTED,
          done_on: date | None = None) -> Step:
    return Step(area, goal, "", "", you_will, "Amina Hassan", PLAN_DATE + timedelta(days=days),
                status, done_on, row=2)


def _household(*steps: Step, members: tuple[str, ...] = ("Amina Hassan", "Yusuf Hassan")
               ) -> Household:
    return Household(REFERENCE, "Hassan family", "Jo Whitfield", "jo@example.org", "North",
                     "Sam Okafor", PLAN_DATE, PLAN_DATE + timedelta(days=90), "Arabic", "Yes",
                     tuple(Member(name, "Parent", True, True) for name in members),
                     steps or (_step("Housing", "A bigger home", "Gather payslips", 30),
                               _step("Housing", "", "Bid every week", 60),
                               _step("Education & Training", "Speak English",
                                     "Go to the ESOL assessment day", 20)),
                     ())


FIRST = _household()
IDS = tuple(f"{REFERENCE}-S{number:03d}" for number in (1, 2, 3))


def _issued(household: Household, *, version: int = 1, ids: tuple[str, ...] = IDS,
            token: str | None = "tok1", highest: int | None = None,
            progress: Household | None = None) -> HouseholdSnapshot:
    """What the registry knows once `household` was issued as `version` with step ids
    `ids`; `progress`: the household whose step progress was recorded since."""
    latest = VersionRecord(7, REFERENCE, version, content_hash(household), PLAN_DATE,
                           household.review_date, f"/out/{REFERENCE}/v{version}.docx",
                           f"/out/{REFERENCE}/v{version}.pdf", datetime(2026, 3, 2, tzinfo=UTC))
    states = tuple(StepState.from_content(step_id, step_content(step), step.status,
                                          step.done_on)
                   for step_id, step in zip(ids, household.steps, strict=True))
    now = progress or household
    known = tuple(KnownStep(step_id, step_content(step), step.status, step.done_on)
                  for step_id, step in zip(ids, now.steps, strict=True))
    numbers = [int(step_id.rsplit("-S", 1)[1]) for step_id in ids]
    return HouseholdSnapshot(REFERENCE, latest, plan_content(household), states, ids, known,
                             max(numbers) + 1, version if highest is None else highest, token)


NOTHING = HouseholdSnapshot(REFERENCE, None, {}, (), (), (), 1, 0, None)


def _with_status(household: Household, index: int, status: str,
                 done_on: date | None = None) -> Household:
    steps = list(household.steps)
    steps[index] = replace(steps[index], status=status, done_on=done_on)
    return replace(household, steps=tuple(steps))


def test_a_household_the_registry_never_saw_is_issued_as_v1_with_new_step_ids() -> None:
    decision = decide(FIRST, NOTHING)
    assert decision == NewVersion(1, IDS, content_hash(FIRST), "first plan", 0)


def test_a_version_another_machine_is_publishing_still_numbers_from_the_last_issued() -> None:
    """v1 is being published elsewhere: this build proposes v1 too (the registry's lock
    settles it), and the files of v1 are not strangers."""
    decision = decide(FIRST, replace(NOTHING, highest_recorded=1))
    assert isinstance(decision, NewVersion)
    assert (decision.version, decision.recorded_up_to) == (1, 1)


def test_the_same_content_is_unchanged_and_keeps_its_version_and_step_ids() -> None:
    snapshot = _issued(FIRST)
    assert snapshot.latest is not None
    assert decide(FIRST, snapshot) == Unchanged(snapshot.latest, IDS, (), None)


def test_a_new_status_is_progress_not_a_new_version() -> None:
    now = _with_status(FIRST, 0, DONE, PLAN_DATE + timedelta(days=3))
    decision = decide(now, _issued(FIRST))
    assert isinstance(decision, Progress)
    assert decision.latest.version == 1
    assert decision.step_ids == IDS
    assert decision.changes == ((IDS[0], NOT_STARTED, DONE),)
    assert decision.remake is None


def test_progress_is_counted_from_what_was_last_recorded_not_from_the_issued_version() -> None:
    """Step 1 went to In progress in an earlier build of v1: saving it again is no change."""
    moved = _with_status(FIRST, 0, IN_PROGRESS)
    assert isinstance(decide(moved, _issued(FIRST, progress=moved)), Unchanged)
    decision = decide(_with_status(FIRST, 0, DONE, PLAN_DATE), _issued(FIRST, progress=moved))
    assert isinstance(decision, Progress)
    assert decision.changes == ((IDS[0], IN_PROGRESS, DONE),)


def test_a_done_on_date_alone_is_progress() -> None:
    done = _with_status(FIRST, 0, DONE, PLAN_DATE)
    later = _with_status(FIRST, 0, DONE, PLAN_DATE + timedelta(days=1))
    decision = decide(later, _issued(FIRST, progress=done))
    assert isinstance(decision, Progress)
    assert decision.changes == ((IDS[0], DONE, DONE),)


def test_missing_files_are_remade_as_issued_with_the_recorded_token() -> None:
    """The workbook moved on (a step done); the remade files show the version as issued."""
    now = _with_status(FIRST, 1, DONE, PLAN_DATE + timedelta(days=5))
    decision = decide(now, _issued(FIRST), files_missing=True)
    assert isinstance(decision, Progress)
    assert decision.remake is not None
    issued = decision.remake.household
    assert tuple(issued.steps) == FIRST.steps  # every step Not started, as printed
    assert replace(issued, steps=now.steps) == now  # the rest as the workbook has it
    assert decision.remake.token == "tok1"
    without_pdf = decide(FIRST, _issued(FIRST, token=None), files_missing=True)
    assert isinstance(without_pdf, Unchanged)
    assert without_pdf.remake is not None and without_pdf.remake.token is None


def test_missing_files_do_not_matter_to_new_content() -> None:
    edited = replace(FIRST, review_date=FIRST.review_date + timedelta(days=7))
    decision = decide(edited, _issued(FIRST), files_missing=True)
    assert isinstance(decision, NewVersion)


def test_new_content_is_the_next_version_carrying_ids_of_kept_and_lightly_edited_steps(
        ) -> None:
    steps = list(FIRST.steps)
    steps[1] = replace(steps[1], you_will="Bid every week on the council website")  # edited
    steps[2] = replace(steps[2], by_when=steps[2].by_when + timedelta(days=14))  # moved
    steps.append(_step("Employment & Volunteering", "Work again", "Go to the job fair", 45))
    now = replace(FIRST, steps=tuple(steps))
    decision = decide(now, _issued(FIRST))
    assert isinstance(decision, NewVersion)
    assert decision.version == 2
    assert decision.step_ids == (*IDS, f"{REFERENCE}-S004")
    assert decision.content_hash == content_hash(now)
    assert decision.reason == ("the plan changed: 1 new step(s), 1 date(s) moved, "
                               "1 step(s) reworded")
    assert decision.recorded_up_to == 1


def test_new_step_ids_continue_from_the_highest_number_ever_given() -> None:
    """S002 was taken out in an earlier version; S005 was the highest: the new one is S006,
    and a step put back as it was gets its old id again."""
    ids = (f"{REFERENCE}-S001", f"{REFERENCE}-S002", f"{REFERENCE}-S005")
    snapshot = _issued(FIRST, version=3, ids=ids, highest=4)
    now = replace(FIRST, steps=(*FIRST.steps, _step("Feeling Safe", "Feel safe at night",
                                                    "Ask for a door chain", 10)))
    decision = decide(now, snapshot)
    assert isinstance(decision, NewVersion)
    assert decision.step_ids == (*ids, f"{REFERENCE}-S006")
    assert (decision.version, decision.recorded_up_to) == (4, 4)


def test_a_removed_step_is_reported_in_the_reason() -> None:
    now = replace(FIRST, steps=FIRST.steps[:2])
    decision = decide(now, _issued(FIRST))
    assert isinstance(decision, NewVersion)
    assert decision.step_ids == IDS[:2]
    assert decision.reason == "the plan changed: 1 step(s) taken out"


def test_a_change_outside_the_steps_is_a_new_version_with_the_same_ids() -> None:
    now = replace(FIRST, team="South")
    decision = decide(now, _issued(FIRST))
    assert isinstance(decision, NewVersion)
    assert decision.step_ids == IDS
    assert decision.reason == "the plan changed (goals, members, dates or the safety plan)"


def test_new_content_sharing_no_member_with_the_last_version_is_refused() -> None:
    stranger = _household(members=("Olena Kovalenko",))
    decision = decide(stranger, _issued(FIRST))
    assert isinstance(decision, MergeRefused)
    assert (decision.problem.sheet, decision.problem.cell) == (MEMBERS.name, "A2")
    assert "HH-0042 version 1" in decision.problem.message
    assert "Olena" not in decision.problem.message + decision.problem.fix  # no names


def test_same_household_lets_all_new_members_through() -> None:
    stranger = _household(members=("Olena Kovalenko",))
    decision = decide(stranger, _issued(FIRST), same_household=True)
    assert isinstance(decision, NewVersion)
    assert decision.version == 2


def test_one_member_in_common_is_enough() -> None:
    """A partner moved out and a new baby arrived: still the same household."""
    changed = _household(members=("Amina Hassan", "Baby Hassan"))
    assert isinstance(decide(changed, _issued(FIRST)), NewVersion)


def test_the_members_check_is_not_applied_to_unchanged_content() -> None:
    """Members are part of the content: the same content cannot be another household."""
    assert isinstance(decide(FIRST, _issued(FIRST), same_household=False), Unchanged)
