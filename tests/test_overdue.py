"""The overdue rules, with fixed dates, at their boundaries; and the registry loader."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from conftest import valid_household, write_household
from sqlalchemy import select

from pipeline import registry as r
from pipeline.build import build_workbooks
from pipeline.config import Config
from pipeline.finding_kinds import (
    ALL_KINDS,
    BOTH,
    HOLDERS,
    HOUSEHOLD,
    US,
)
from pipeline.finding_kinds import REVIEW_DUE as REVIEW_DUE_KIND
from pipeline.finding_kinds import SAFETY_NOT_WORKING as SAFETY_NOT_WORKING_KIND
from pipeline.finding_kinds import escalation as escalation_for
from pipeline.overdue import (
    HOUSEHOLD_STEP,
    PEER_REVIEW_MISSING,
    PLAN_UNSIGNED,
    REVIEW_DUE,
    REVIEW_OVERDUE,
    SERVICE_MANAGER,
    STEP_DUE_SOON,
    STEP_OVERDUE,
    TEAM_LEAD,
    WEEKLY_REVIEW_MISSING,
    HouseholdFacts,
    RuleSettings,
    Signer,
    StepFacts,
    VersionFacts,
    evaluate,
    held_by,
)

AS_OF = date(2025, 3, 10)
SIGNERS = (Signer("caseworker", "Jo Whitfield", "Caseworker"),
           Signer("member-1", "Amina Hassan", "Parent"),
           Signer("peer-reviewer", "Sam Okafor", "Peer reviewer"))
ALL_SIGNED = {s.key: date(2025, 1, 5) for s in SIGNERS}


def step(by_when: date | None, status: str = "In progress", done_on: date | None = None,
         ticks: tuple[tuple[int, date], ...] = (), current_version: int = 1,
         **text: str) -> StepFacts:
    values = {"we_will": "Refer to the housing register", "you_will": "", "who": ""} | text
    return StepFacts("HH-1-s1", "Housing", "A home", values["we_will"], values["you_will"],
                     values["who"], by_when, status, done_on, current_version, ticks)


def version(number: int = 1, issued: date = date(2025, 1, 1),
            review: date = date(2025, 6, 1), signed: dict[str, date] | None = None,
            signers: tuple[Signer, ...] = SIGNERS) -> VersionFacts:
    return VersionFacts(number, issued, review, f"/out/HH-1/support-plan-HH-1-v{number}.pdf",
                        signers, ALL_SIGNED if signed is None else signed)


def household(*steps: StepFacts, versions: tuple[VersionFacts, ...] | None = None,
              last_weekly: date | None = AS_OF, closed_on: date | None = None,
              plan_date: date = date(2025, 1, 1)) -> HouseholdFacts:
    return HouseholdFacts("HH-1", "Jo Whitfield", "North", "Sam Okafor", plan_date, closed_on,
                          last_weekly, versions if versions is not None else (version(),),
                          tuple(steps))


def kinds(facts: HouseholdFacts, as_of: date = AS_OF, **settings: int) -> list[str]:
    return [f.kind for f in evaluate([facts], as_of, RuleSettings(**settings))]


# --- steps ---------------------------------------------------------------------------

def test_step_due_today_is_due_soon_not_overdue() -> None:
    [finding] = evaluate([household(step(AS_OF))], AS_OF)
    assert (finding.kind, finding.days_overdue, finding.escalation) == (STEP_DUE_SOON, 0, "")


def test_step_due_yesterday_is_one_day_overdue_with_its_context() -> None:
    [finding] = evaluate([household(step(AS_OF - timedelta(days=1)))], AS_OF)
    assert finding.kind == STEP_OVERDUE
    assert finding.days_overdue == 1
    assert (finding.reference, finding.caseworker, finding.team, finding.area) == (
        "HH-1", "Jo Whitfield", "North", "Housing")
    assert finding.step == "We will: Refer to the housing register"
    assert finding.due == AS_OF - timedelta(days=1)
    assert finding.pdf_path and finding.pdf_path.endswith("v1.pdf")


def test_due_soon_window_edges() -> None:
    assert kinds(household(step(AS_OF + timedelta(days=7)))) == [STEP_DUE_SOON]
    assert kinds(household(step(AS_OF + timedelta(days=8)))) == []
    assert kinds(household(step(AS_OF + timedelta(days=8))), due_soon_days=8) == [STEP_DUE_SOON]


def test_done_and_no_longer_needed_are_not_overdue() -> None:
    due = AS_OF - timedelta(days=20)
    assert kinds(household(step(due, "Done", due))) == []
    assert kinds(household(step(due, "No longer needed"))) == []
    assert kinds(household(step(None))) == []  # no target date, nothing to be late for


def test_done_after_due_counts_as_overdue_until_the_day_it_was_done() -> None:
    due, done = date(2025, 3, 1), date(2025, 3, 8)
    facts = household(step(due, "Done", done))
    [before] = evaluate([facts], date(2025, 3, 5))
    assert (before.kind, before.days_overdue) == (STEP_OVERDUE, 4)
    assert kinds(facts, done) == []


def test_ticked_on_a_scan_of_the_current_or_a_later_version_counts_as_done() -> None:
    due = AS_OF - timedelta(days=3)
    assert kinds(household(step(due, ticks=((1, AS_OF - timedelta(days=1)),)))) == []
    assert kinds(household(step(due, ticks=((3, AS_OF),), current_version=2))) == []
    # ticked only after the as-of date: still overdue on the day
    assert kinds(household(step(due, ticks=((1, AS_OF + timedelta(days=1)),)))) == [
        STEP_OVERDUE]


def test_tick_on_a_superseded_version_does_not_count() -> None:
    due = AS_OF - timedelta(days=3)
    assert kinds(household(step(due, ticks=((1, AS_OF),), current_version=2))) == [
        STEP_OVERDUE]


def test_who_holds_the_step() -> None:
    assert held_by(step(None)) == "We (staff / partner)"
    assert held_by(step(None, we_will="", you_will="Bid", who="Amina Hassan")) == (
        "You (Amina Hassan)")
    assert held_by(step(None, you_will="Bid")) == (
        "We (staff / partner) and You (Whole household)")


def test_escalation_thresholds() -> None:
    def escalation(days: int) -> str:
        [finding] = evaluate([household(step(AS_OF - timedelta(days=days)))], AS_OF)
        return finding.escalation

    assert [escalation(d) for d in (7, 8, 14, 15)] == ["", TEAM_LEAD, TEAM_LEAD,
                                                       SERVICE_MANAGER]


def test_closed_household_is_left_out_from_its_closing_date() -> None:
    late = step(AS_OF - timedelta(days=30))
    assert kinds(household(late, closed_on=AS_OF)) == []
    assert kinds(household(late, closed_on=AS_OF + timedelta(days=1))) == [STEP_OVERDUE]


# --- signatures ----------------------------------------------------------------------

def test_unsigned_after_the_grace_period_lists_the_missing_signers() -> None:
    issued = AS_OF - timedelta(days=14)
    facts = household(versions=(version(issued=issued, signed={
        "caseworker": issued, "peer-reviewer": issued}),))
    assert kinds(facts) == []  # exactly 14 days: not yet
    facts = household(versions=(version(issued=issued - timedelta(days=1), signed={
        "caseworker": issued, "peer-reviewer": issued}),))
    [finding] = evaluate([facts], AS_OF)
    assert (finding.kind, finding.days_overdue) == (PLAN_UNSIGNED, 1)
    assert "Parent: Amina Hassan" in finding.detail and "Jo Whitfield" not in finding.detail


def test_signature_recorded_after_the_as_of_date_still_counts_as_missing() -> None:
    late = dict(ALL_SIGNED, **{"member-1": AS_OF + timedelta(days=2)})
    assert kinds(household(versions=(version(signed=late),))) == [PLAN_UNSIGNED]


def test_only_the_latest_version_needs_signing() -> None:
    old = version(1, issued=date(2024, 10, 1), signed={})
    new = version(2, issued=date(2025, 1, 1))
    assert kinds(household(versions=(old, new))) == []


def test_peer_review_missing_when_no_reviewer_or_no_signature() -> None:
    no_peer = version(signers=SIGNERS[:2], issued=AS_OF)
    [finding] = evaluate([household(versions=(no_peer,))], AS_OF)
    assert (finding.kind, finding.days_overdue) == (PEER_REVIEW_MISSING, 0)
    unsigned = version(signed={k: v for k, v in ALL_SIGNED.items() if k != "peer-reviewer"})
    assert kinds(household(versions=(unsigned,))) == [PEER_REVIEW_MISSING]


# --- reviews -------------------------------------------------------------------------

def test_review_due_and_overdue_boundaries() -> None:
    def review_kinds(review: date) -> list[str]:
        return kinds(household(versions=(version(review=review),)))

    assert review_kinds(AS_OF + timedelta(days=15)) == []
    assert review_kinds(AS_OF + timedelta(days=14)) == [REVIEW_DUE]
    assert review_kinds(AS_OF) == [REVIEW_DUE]
    assert review_kinds(AS_OF - timedelta(days=1)) == [REVIEW_OVERDUE]


def test_a_newer_signed_version_clears_the_review_but_an_unsigned_one_does_not() -> None:
    old = version(1, issued=date(2024, 10, 1), review=date(2025, 1, 1))
    unsigned = version(2, issued=AS_OF - timedelta(days=2), review=date(2025, 6, 1),
                       signed={})
    assert kinds(household(versions=(old, unsigned))) == [REVIEW_OVERDUE]
    signed = dataclasses.replace(unsigned, signed=ALL_SIGNED)
    assert kinds(household(versions=(old, signed))) == []


def test_weekly_review_missing_after_seven_days() -> None:
    assert kinds(household(last_weekly=AS_OF - timedelta(days=7))) == []
    [finding] = evaluate([household(last_weekly=AS_OF - timedelta(days=8))], AS_OF)
    assert (finding.kind, finding.days_overdue) == (WEEKLY_REVIEW_MISSING, 1)
    never = household(last_weekly=None, plan_date=AS_OF - timedelta(days=10))
    [finding] = evaluate([never], AS_OF)
    assert (finding.kind, finding.days_overdue) == (WEEKLY_REVIEW_MISSING, 3)
    assert kinds(household(last_weekly=AS_OF - timedelta(days=10)), weekly_review_days=10) == []


def test_versions_issued_after_the_as_of_date_are_ignored() -> None:
    future = version(1, issued=AS_OF + timedelta(days=1), signed={})
    assert kinds(household(versions=(future,))) == []


# --- the loader, from a real build ---------------------------------------------------

def test_load_facts_from_a_built_registry(workspace: Config, tmp_path: Path) -> None:
    demo = valid_household("HH-0007", team="South")
    write_household(workspace, demo)
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert outcome.status == "built"
    registry = r.registry_for(workspace)
    try:
        with registry.engine.begin() as conn:
            version_id, step_id = conn.execute(
                select(r.version_steps.c.version_id, r.version_steps.c.step_id)
                .order_by(r.version_steps.c.position).limit(1)).one()
            stamp = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
            def reading(kind: str, key: str, state: str, **decision: object) -> dict:
                return {"version_id": version_id, "kind": kind, "key": key, "page": 2,
                        "scan_sha256": "a" * 64, "state": state, "score": 0.5, "reason": "",
                        "recorded_at": stamp, "decided_state": None, **decision}

            conn.execute(r.box_readings.insert(), [
                reading("signature", "caseworker", "signed"),
                reading("signature", "member-1", "blank"),
                # a person's decision counts instead of the machine's reading
                reading("signature", "member-2", "review", decided_state="signed"),
                reading("signature", "peer-reviewer", "signed", decided_state="blank"),
                reading("tick", step_id, "ticked")])
        [facts] = registry.load_facts()
    finally:
        registry.close()
    assert (facts.reference, facts.team, facts.caseworker) == ("HH-0007", "South",
                                                               "Jo Whitfield")
    assert len(facts.steps) == 3 and facts.versions[0].version == 1
    assert set(facts.versions[0].signed) == {"caseworker", "member-2"}  # blank is not signed
    assert {s.key for s in facts.versions[0].signers} == {
        "caseworker", "member-1", "member-2", "peer-reviewer"}
    ticked = next(s for s in facts.steps if s.step_id == step_id)
    assert ticked.ticks == ((1, date(2025, 1, 2)),) and ticked.current_version == 1
    assert facts.last_weekly_review == demo.household["plan_date"]


# --- holders, escalation by kind, one finding per missing signature ------------------

def test_holder_and_kind_follow_who_holds_the_step() -> None:
    late = AS_OF - timedelta(days=30)
    ours, both, theirs = (step(late), step(late, you_will="Bid", who="Amina Hassan"),
                          step(late, we_will="", you_will="Keep a sleep diary"))
    found = [evaluate([household(s)], AS_OF)[0] for s in (ours, both, theirs)]
    assert [(f.kind, f.holder) for f in found] == [
        (STEP_OVERDUE, US), (STEP_OVERDUE, BOTH), (HOUSEHOLD_STEP, HOUSEHOLD)]
    # the household's own step is raised with them: never past the team lead
    assert [f.escalation for f in found] == [SERVICE_MANAGER, SERVICE_MANAGER, TEAM_LEAD]
    soon = evaluate([household(step(AS_OF + timedelta(days=2), we_will="",
                                    you_will="Bid"))], AS_OF)[0]
    assert (soon.kind, soon.holder, soon.escalation) == (STEP_DUE_SOON, HOUSEHOLD, "")


def test_household_step_escalates_to_the_team_lead_by_age() -> None:
    def escalation(days: int) -> str:
        theirs = step(AS_OF - timedelta(days=days), we_will="", you_will="Bid")
        return evaluate([household(theirs)], AS_OF)[0].escalation

    assert [escalation(d) for d in (7, 8, 15, 400)] == ["", TEAM_LEAD, TEAM_LEAD, TEAM_LEAD]


def test_peer_reviewers_missing_signature_is_one_finding() -> None:
    issued = AS_OF - timedelta(days=30)
    only_peer = {k: issued for k in ("caseworker", "member-1")}
    found = evaluate([household(versions=(version(issued=issued, signed=only_peer),))], AS_OF)
    assert [f.kind for f in found] == [PEER_REVIEW_MISSING]
    both = {"caseworker": issued}  # the parent and the peer reviewer: one finding each
    found = evaluate([household(versions=(version(issued=issued, signed=both),))], AS_OF)
    assert sorted(f.kind for f in found) == [PEER_REVIEW_MISSING, PLAN_UNSIGNED]
    unsigned = next(f for f in found if f.kind == PLAN_UNSIGNED)
    assert "Sam Okafor" not in unsigned.detail and all(f.holder == US for f in found)


def test_every_finding_carries_the_caseworkers_address() -> None:
    facts = dataclasses.replace(household(step(AS_OF - timedelta(days=1))),
                                caseworker_email="jo@example.org")
    [finding] = evaluate([facts], AS_OF)
    assert finding.caseworker_email == "jo@example.org"


def test_each_kind_is_described_once_and_completely() -> None:
    names = [kind.name for kind in ALL_KINDS]
    assert len(set(names)) == len(names) and all(len(n) <= 31 for n in names)  # sheet names
    colours = [kind.colour for kind in ALL_KINDS]
    assert len(set(colours)) == len(colours)
    for kind in ALL_KINDS:
        assert kind.holder in ("", *HOLDERS)
        assert kind.count_text(1).startswith("1 ") and kind.count_text(3).startswith("3 ")
    assert escalation_for(SAFETY_NOT_WORKING_KIND, 0, 7, 14) == SERVICE_MANAGER
    assert escalation_for(REVIEW_DUE_KIND, 100, 7, 14) == ""
