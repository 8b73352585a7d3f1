"""Overdue rules: what is late, as of a date, for managers to act on.

Pure functions over plain dataclasses (`HouseholdFacts` in, `Finding` out). The registry
reads them in bulk (`Registry.load_facts`); nothing here touches the database.

Definitions (documented for managers in the report's notes, and in README):
- A household is *closed* when its Household sheet has a "Closed on" date on or before the
  as-of date (registry `households.closed_on`). Closed households produce no findings.
- A step is *done as of D* when its status in the latest workbook is Done or No longer
  needed and its Done on date is blank or on/before D, or when a scan of the step's current
  version (the latest version that contains the step) or a later version, recorded on or
  before D, shows its box ticked (or a person decided an uncertain box was ticked). Ticks on
  superseded versions do not count: the household re-agreed the step on the newer paper.
- A version is *signed* when every required signer except the peer reviewer has a 'signed'
  box (read as signed, or decided signed by a person) on a scan recorded on or before D.
  The peer reviewer's signature is its own rule (peer review missing) so it is never
  reported twice.
- Days overdue is as-of minus the due date: positive when late, 0 or negative (days left)
  for "due soon" and "review due".
- A step's *holder* is us (only a "we will" part), the household (only "you will") or both.
  A late step only the household holds is its own kind, "Step to raise with household":
  raised at the next conversation, escalated at most to the team lead.
Each kind's order, colour, holder, escalation and wording are in finding_kinds.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from . import finding_kinds as kinds
from .config import default_values
from .model import CLOSED_STATUSES, NOT_PARTIES, PEER_REVIEWER_KEY, WHOLE_HOUSEHOLD, Signer
from .settings import ReportSection

# The kinds by name (what a Finding carries); their properties are in finding_kinds.py.
SAFETY_NOT_WORKING = kinds.SAFETY_NOT_WORKING.name
SAFETY_REVIEW_OVERDUE = kinds.SAFETY_REVIEW_OVERDUE.name
WEEKLY_REVIEW_MISSING = kinds.WEEKLY_REVIEW_MISSING.name
STEP_OVERDUE = kinds.STEP_OVERDUE.name
HOUSEHOLD_STEP = kinds.HOUSEHOLD_STEP.name
STEP_DUE_SOON = kinds.STEP_DUE_SOON.name
PLAN_UNSIGNED = kinds.PLAN_UNSIGNED.name
REVIEW_OVERDUE = kinds.REVIEW_OVERDUE.name
REVIEW_DUE = kinds.REVIEW_DUE.name
PEER_REVIEW_MISSING = kinds.PEER_REVIEW_MISSING.name
KINDS: tuple[str, ...] = tuple(kind.name for kind in kinds.ALL_KINDS)
SAFETY_KINDS = kinds.SAFETY_KINDS
# Kinds that look ahead: their "days overdue" is zero or negative (days left).
UPCOMING_KINDS = frozenset(kind.name for kind in kinds.ALL_KINDS if kind.upcoming)

TEAM_LEAD = kinds.TEAM_LEAD
SERVICE_MANAGER = kinds.SERVICE_MANAGER
NO_TEAM = "(no team)"


_REPORT_DEFAULTS = default_values()["report"]  # the one place for defaults: config.py


@dataclass(frozen=True)
class RuleSettings:
    due_soon_days: int = _REPORT_DEFAULTS["due_soon_days"]
    unsigned_after_days: int = _REPORT_DEFAULTS["unsigned_after_days"]
    review_due_days: int = _REPORT_DEFAULTS["review_due_days"]
    weekly_review_days: int = _REPORT_DEFAULTS["weekly_review_days"]
    escalate_team_lead_days: int = _REPORT_DEFAULTS["escalate_team_lead_days"]
    escalate_service_manager_days: int = _REPORT_DEFAULTS["escalate_service_manager_days"]

    @classmethod
    def from_settings(cls, report: ReportSection) -> RuleSettings:
        """From the [report] section of config.toml (`config.settings.report`)."""
        return cls(**{name: getattr(report, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class StepFacts:
    step_id: str
    area: str
    goal: str
    we_will: str
    you_will: str
    who: str
    by_when: date | None
    status: str
    done_on: date | None
    current_version: int  # the latest plan version that contains this step
    ticks: tuple[tuple[int, date], ...] = ()  # (version, recorded on) of 'ticked' boxes


@dataclass(frozen=True)
class VersionFacts:
    version: int
    issued_on: date
    review_date: date
    pdf_path: str | None
    signers: tuple[Signer, ...]
    signed: Mapping[str, date] = field(default_factory=dict)  # signer key -> first signed


@dataclass(frozen=True)
class HouseholdFacts:
    reference: str
    caseworker: str
    team: str
    peer_reviewer: str
    plan_date: date | None
    closed_on: date | None
    last_weekly_review: date | None
    versions: tuple[VersionFacts, ...]  # oldest first
    steps: tuple[StepFacts, ...]  # active steps of the latest workbook
    # (worry, review by) of each safety item in the latest workbook
    safety_items: tuple[tuple[str, date | None], ...] = ()
    # the latest weekly review: (week of, safety plan working "Yes"/"No"/"", what changed)
    latest_weekly: tuple[date, str, str] | None = None
    # signed formal review packs: (signed on, next review), oldest first
    reviews: tuple[tuple[date, date], ...] = ()
    caseworker_email: str = ""  # the Household sheet's, for the caseworker's own list


@dataclass(frozen=True)
class Finding:
    kind: str
    reference: str
    caseworker: str
    team: str
    due: date
    days_overdue: int
    area: str = ""
    goal: str = ""
    step: str = ""
    held_by: str = ""
    detail: str = ""
    version: int | None = None
    pdf_path: str | None = None
    escalation: str = ""
    holder: str = kinds.US  # us / household / both: who has to act
    caseworker_email: str = ""
    # what is late in a line of an e-mail, without names or free text ("" = step or detail)
    short: str = ""


# --- helpers -----------------------------------------------------------------------------

def is_closed(household: HouseholdFacts, as_of: date) -> bool:
    return household.closed_on is not None and household.closed_on <= as_of


def held_by(step: StepFacts) -> str:
    """Who holds the step: "We" (staff or a partner we arrange) and/or "You" (a member)."""
    holders = []
    if step.we_will.strip():
        holders.append("We (staff / partner)")
    if step.you_will.strip():
        holders.append(f"You ({step.who.strip() or WHOLE_HOUSEHOLD})")
    return " and ".join(holders)


def step_holder(step: StepFacts) -> str:
    """us / household / both, from which parts the step has (a step with neither is ours:
    someone on our side has to fill it in)."""
    ours, theirs = bool(step.we_will.strip()), bool(step.you_will.strip())
    if ours and theirs:
        return kinds.BOTH
    return kinds.HOUSEHOLD if theirs else kinds.US


def step_text(step: StepFacts) -> str:
    parts = []
    if step.we_will.strip():
        parts.append(f"We will: {step.we_will.strip()}")
    if step.you_will.strip():
        parts.append(f"You will: {step.you_will.strip()}")
    return "\n".join(parts)


def is_step_done(step: StepFacts, as_of: date) -> bool:
    if step.status in CLOSED_STATUSES and (step.done_on is None or step.done_on <= as_of):
        return True
    return any(version >= step.current_version and recorded <= as_of
               for version, recorded in step.ticks)


def signed_keys(version: VersionFacts, as_of: date) -> set[str]:
    return {key for key, on in version.signed.items() if on <= as_of}


def missing_signers(version: VersionFacts, as_of: date) -> list[Signer]:
    """Required signers (not the peer reviewer, whose signature has its own rule, nor the
    interpreter) with no signature as of the date."""
    signed = signed_keys(version, as_of)
    return [s for s in version.signers if s.key not in NOT_PARTIES and s.key not in signed]


def escalation(days_overdue: int, settings: RuleSettings,
               kind: kinds.FindingKind = kinds.STEP_OVERDUE) -> str:
    """Who a finding of `kind` this many days late is marked for (finding_kinds.py)."""
    return kinds.escalation(kind, days_overdue, settings.escalate_team_lead_days,
                            settings.escalate_service_manager_days)


# --- the rules ---------------------------------------------------------------------------

def evaluate(households: Iterable[HouseholdFacts], as_of: date,
             settings: RuleSettings | None = None) -> list[Finding]:
    """Every finding for open households as of `as_of`, in household then kind order."""
    settings = settings or RuleSettings()
    findings: list[Finding] = []
    for household in households:
        if not is_closed(household, as_of):
            findings.extend(evaluate_household(household, as_of, settings))
    return findings


def evaluate_household(household: HouseholdFacts, as_of: date,
                       settings: RuleSettings) -> Iterator[Finding]:
    # Versions issued after the as-of date did not exist yet then.
    versions = tuple(v for v in household.versions if v.issued_on <= as_of)
    latest = versions[-1] if versions else None
    base = {"reference": household.reference, "caseworker": household.caseworker,
            "team": household.team or NO_TEAM,
            "version": latest.version if latest else None,
            "pdf_path": latest.pdf_path if latest else None,
            "caseworker_email": household.caseworker_email}

    def finding(name: str, due: date, **extra: Any) -> Finding:
        kind = kinds.kind_of(name)
        days = (as_of - due).days
        extra.setdefault("holder", kind.holder or kinds.US)
        return Finding(kind=name, due=due, days_overdue=days,
                       escalation=escalation(days, settings, kind), **base, **extra)

    yield from _safety_findings(household, as_of, finding)
    yield from _weekly_review_findings(household, as_of, settings, finding)
    yield from _step_findings(household, as_of, settings, finding)
    if latest is not None:
        yield from _signature_findings(household, latest, as_of, settings, finding)
        yield from _review_findings(versions, household.reviews, as_of, settings, finding)


def _step_findings(household: HouseholdFacts, as_of: date, settings: RuleSettings,
                   finding: Any) -> Iterator[Finding]:
    soon = as_of + timedelta(days=settings.due_soon_days)
    for step in household.steps:
        if step.by_when is None or step.by_when > soon or is_step_done(step, as_of):
            continue
        holder = step_holder(step)
        if step.by_when >= as_of:
            kind = STEP_DUE_SOON
        else:  # a step only the household holds is raised with them, not escalated as ours
            kind = HOUSEHOLD_STEP if holder == kinds.HOUSEHOLD else STEP_OVERDUE
        yield finding(kind, step.by_when, area=step.area, goal=step.goal,
                      step=step_text(step), held_by=held_by(step), holder=holder,
                      detail=f"Status: {step.status}")


def _signature_findings(household: HouseholdFacts, latest: VersionFacts, as_of: date,
                        settings: RuleSettings, finding: Any) -> Iterator[Finding]:
    due = latest.issued_on + timedelta(days=settings.unsigned_after_days)
    if due < as_of:
        missing = missing_signers(latest, as_of)
        if missing:
            names = "; ".join(f"{s.role}: {s.name}" for s in missing)
            roles = ", ".join(sorted({s.role for s in missing}))
            yield finding(PLAN_UNSIGNED, due, detail=f"v{latest.version} not signed by "
                          f"{names}", short=f"v{latest.version} waiting for {len(missing)} "
                          f"signature{'s' if len(missing) != 1 else ''} ({roles})")
    peer = next((s for s in latest.signers if s.key == PEER_REVIEWER_KEY), None)
    if peer is None:
        # Nothing to wait for: the plan went out without a colleague to check it.
        yield finding(PEER_REVIEW_MISSING, latest.issued_on,
                      detail=f"v{latest.version}: no peer reviewer named in the workbook")
    elif due < as_of and PEER_REVIEWER_KEY not in signed_keys(latest, as_of):
        yield finding(PEER_REVIEW_MISSING, due,
                      detail=f"v{latest.version}: peer reviewer {peer.name} has not signed")


def _review_findings(versions: tuple[VersionFacts, ...], reviews: tuple[tuple[date, date], ...],
                     as_of: date, settings: RuleSettings, finding: Any) -> Iterator[Finding]:
    # The review that counts is the latest signed version's; until one is signed, the
    # first version's (the plan was never agreed, so its review clock is the oldest). A
    # signed formal review pack is a review: the next one is due by the date it agreed.
    signed = [v for v in versions if not missing_signers(v, as_of)]
    current = signed[-1] if signed else versions[0]
    review = current.review_date
    done = [(on, next_review) for on, next_review in reviews
            if on <= as_of and on >= current.issued_on]
    what = f"Review of v{current.version}"
    if done:
        review = done[-1][1]
        what = f"Next review (agreed at the review of {done[-1][0]:%d/%m/%Y})"
    if review < as_of:
        yield finding(REVIEW_OVERDUE, review, detail=f"{what} was due")
    elif review <= as_of + timedelta(days=settings.review_due_days):
        yield finding(REVIEW_DUE, review, detail=f"{what} is due")


def _safety_findings(household: HouseholdFacts, as_of: date,
                     finding: Any) -> Iterator[Finding]:
    """The safety plan is watched: a latest weekly review saying it is not working
    (escalated at once, whatever its age), and items past their review date."""
    if household.latest_weekly is not None:
        week_of, working, changed = household.latest_weekly
        if working == "No" and week_of <= as_of:
            # escalated at once, whatever its age (finding_kinds.py)
            said = f"Weekly review of {week_of:%d/%m/%Y}: safety plan not working"
            yield finding(SAFETY_NOT_WORKING, week_of, short=said,
                          detail=said + (f". What has changed: {changed}" if changed else ""))
    for worry, review_by in household.safety_items:
        if review_by is not None and review_by < as_of:
            yield finding(SAFETY_REVIEW_OVERDUE, review_by, step=worry,
                          detail=f"Safety item to review by {review_by:%d/%m/%Y}")


def _weekly_review_findings(household: HouseholdFacts, as_of: date, settings: RuleSettings,
                            finding: Any) -> Iterator[Finding]:
    since = household.last_weekly_review or household.plan_date
    if since is None:
        return
    due = since + timedelta(days=settings.weekly_review_days)
    if due < as_of:
        detail = (f"Last weekly review: week of {household.last_weekly_review:%d/%m/%Y}"
                  if household.last_weekly_review else "No weekly review recorded yet")
        yield finding(WEEKLY_REVIEW_MISSING, due, detail=detail)


# --- summaries ---------------------------------------------------------------------------

def counts_by(findings: Iterable[Finding], *keys: str) -> dict[tuple[str, ...], dict[str, int]]:
    """{(team,) or (team, caseworker): {kind: count}} for the summary sheet and e-mail."""
    table: dict[tuple[str, ...], dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for item in findings:
        table[tuple(getattr(item, key) for key in keys)][item.kind] += 1
    return dict(sorted(table.items()))


def worst(findings: Iterable[Finding], limit: int = 10) -> list[Finding]:
    late = [f for f in findings if f.kind not in UPCOMING_KINDS and f.days_overdue > 0]
    return sorted(late, key=lambda f: (-f.days_overdue, f.reference, f.kind))[:limit]
