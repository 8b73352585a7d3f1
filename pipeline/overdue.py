"""Overdue rules: what is late, as of a date, for managers to act on.

Pure functions over plain dataclasses (`HouseholdFacts` in, `Finding` out). The registry is
read once, in bulk, by `load_facts`; nothing else here touches the database.

Definitions (documented for managers in the report's notes, and in README):
- A household is *closed* when its Household sheet has a "Closed on" date on or before the
  as-of date (registry `households.closed_on`). Closed households produce no findings.
- A step is *done as of D* when its status in the latest workbook is Done or No longer
  needed and its Done on date is blank or on/before D, or when a scan of the step's current
  version (the latest version that contains the step) or a later version, recorded on or
  before D, shows its box ticked. Ticks on superseded versions do not count: the household
  re-agreed the step on the newer paper.
- A version is *signed* when every required signer except the peer reviewer has a 'signed'
  box on a scan recorded on or before D. The peer reviewer's signature is its own rule
  (peer review missing) so it is never reported twice.
- Days overdue is as-of minus the due date: positive when late, 0 or negative (days left)
  for "due soon" and "review due".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .config import default_values
from .model import CLOSED_STATUSES, PEER_REVIEWER_KEY, WHOLE_HOUSEHOLD, Signer

STEP_OVERDUE = "Step overdue"
STEP_DUE_SOON = "Step due soon"
PLAN_UNSIGNED = "Plan unsigned"
REVIEW_OVERDUE = "Review overdue"
REVIEW_DUE = "Review due"
WEEKLY_REVIEW_MISSING = "Weekly review missing"
PEER_REVIEW_MISSING = "Peer review missing"
# Report order: the most actionable first.
KINDS: tuple[str, ...] = (STEP_OVERDUE, PLAN_UNSIGNED, REVIEW_OVERDUE, WEEKLY_REVIEW_MISSING,
                          PEER_REVIEW_MISSING, STEP_DUE_SOON, REVIEW_DUE)
# Kinds that look ahead: their "days overdue" is zero or negative (days left).
UPCOMING_KINDS = frozenset({STEP_DUE_SOON, REVIEW_DUE})

TEAM_LEAD = "Team lead"
SERVICE_MANAGER = "Service manager"
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
    def from_config(cls, values: Mapping[str, Any]) -> RuleSettings:
        """From the [report] section of config.toml."""
        return cls(**{name: int(values[name]) for name in cls.__dataclass_fields__
                      if name in values})


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
    """Required signers, other than the peer reviewer, with no signature as of the date."""
    signed = signed_keys(version, as_of)
    return [s for s in version.signers if s.key != PEER_REVIEWER_KEY and s.key not in signed]


def escalation(days_overdue: int, settings: RuleSettings) -> str:
    if days_overdue > settings.escalate_service_manager_days:
        return SERVICE_MANAGER
    if days_overdue > settings.escalate_team_lead_days:
        return TEAM_LEAD
    return ""


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
            "pdf_path": latest.pdf_path if latest else None}

    def finding(kind: str, due: date, **extra: Any) -> Finding:
        days = (as_of - due).days
        late = days if kind not in UPCOMING_KINDS else 0
        return Finding(kind=kind, due=due, days_overdue=days,
                       escalation=escalation(late, settings), **base, **extra)

    yield from _step_findings(household, as_of, settings, finding)
    if latest is not None:
        yield from _signature_findings(household, latest, as_of, settings, finding)
        yield from _review_findings(versions, as_of, settings, finding)
    yield from _weekly_review_findings(household, as_of, settings, finding)


def _step_findings(household: HouseholdFacts, as_of: date, settings: RuleSettings,
                   finding: Any) -> Iterator[Finding]:
    soon = as_of + timedelta(days=settings.due_soon_days)
    for step in household.steps:
        if step.by_when is None or step.by_when > soon or is_step_done(step, as_of):
            continue
        kind = STEP_OVERDUE if step.by_when < as_of else STEP_DUE_SOON
        yield finding(kind, step.by_when, area=step.area, goal=step.goal,
                      step=step_text(step), held_by=held_by(step),
                      detail=f"Status: {step.status}")


def _signature_findings(household: HouseholdFacts, latest: VersionFacts, as_of: date,
                        settings: RuleSettings, finding: Any) -> Iterator[Finding]:
    due = latest.issued_on + timedelta(days=settings.unsigned_after_days)
    if due < as_of:
        missing = missing_signers(latest, as_of)
        if missing:
            names = "; ".join(f"{s.role}: {s.name}" for s in missing)
            yield finding(PLAN_UNSIGNED, due, detail=f"v{latest.version} not signed by "
                          f"{names}")
    peer = next((s for s in latest.signers if s.key == PEER_REVIEWER_KEY), None)
    if peer is None:
        # Nothing to wait for: the plan went out without a colleague to check it.
        yield finding(PEER_REVIEW_MISSING, latest.issued_on,
                      detail=f"v{latest.version}: no peer reviewer named in the workbook")
    elif due < as_of and PEER_REVIEWER_KEY not in signed_keys(latest, as_of):
        yield finding(PEER_REVIEW_MISSING, due,
                      detail=f"v{latest.version}: peer reviewer {peer.name} has not signed")


def _review_findings(versions: tuple[VersionFacts, ...], as_of: date, settings: RuleSettings,
                     finding: Any) -> Iterator[Finding]:
    # The review that counts is the latest signed version's; until one is signed, the
    # first version's (the plan was never agreed, so its review clock is the oldest).
    signed = [v for v in versions if not missing_signers(v, as_of)]
    current = signed[-1] if signed else versions[0]
    review = current.review_date
    if review < as_of:
        yield finding(REVIEW_OVERDUE, review, detail=f"Review of v{current.version} was due")
    elif review <= as_of + timedelta(days=settings.review_due_days):
        yield finding(REVIEW_DUE, review, detail=f"Review of v{current.version} is due")


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


# --- the loader (the only database access) -----------------------------------------------

def load_facts(engine: Any) -> list[HouseholdFacts]:
    """Read everything the rules need from the registry in a handful of bulk queries."""
    from sqlalchemy import func, select

    from . import registry as r

    with engine.connect() as conn:
        version_rows = conn.execute(select(
            r.plan_versions.c.id, r.plan_versions.c.household, r.plan_versions.c.version,
            r.plan_versions.c.issued_at, r.plan_versions.c.review_date,
            r.plan_versions.c.pdf_path).order_by(r.plan_versions.c.household,
                                                 r.plan_versions.c.version)).all()
        signer_rows = conn.execute(select(
            r.version_signers.c.version_id, r.version_signers.c.signer_key,
            r.version_signers.c.name, r.version_signers.c.role)
            .order_by(r.version_signers.c.version_id, r.version_signers.c.position)).all()
        signed_rows = conn.execute(select(
            r.signatures.c.version_id, r.signatures.c.signer_key,
            func.min(r.signatures.c.recorded_at)).where(r.signatures.c.state == "signed")
            .group_by(r.signatures.c.version_id, r.signatures.c.signer_key)).all()
        current_rows = conn.execute(select(
            r.version_steps.c.step_id, func.max(r.plan_versions.c.version))
            .join(r.plan_versions, r.plan_versions.c.id == r.version_steps.c.version_id)
            .group_by(r.version_steps.c.step_id)).all()
        tick_rows = conn.execute(select(
            r.step_ticks.c.step_id, r.plan_versions.c.version, r.step_ticks.c.recorded_at)
            .join(r.plan_versions, r.plan_versions.c.id == r.step_ticks.c.version_id)
            .where(r.step_ticks.c.state == "ticked")).all()
        step_rows = conn.execute(select(
            r.steps.c.step_id, r.steps.c.household, r.steps.c.area, r.steps.c.goal,
            r.steps.c.we_will, r.steps.c.you_will, r.steps.c.who, r.steps.c.by_when,
            r.steps.c.status, r.steps.c.done_on).where(r.steps.c.active.is_(True))
            .order_by(r.steps.c.household, r.steps.c.step_id)).all()
        household_rows = conn.execute(select(
            r.households.c.reference, r.households.c.caseworker, r.households.c.team,
            r.households.c.peer_reviewer, r.households.c.plan_date, r.households.c.closed_on,
            r.households.c.last_weekly_review).order_by(r.households.c.reference)).all()

    signers: dict[int, list[Signer]] = defaultdict(list)
    for row in signer_rows:
        signers[row.version_id].append(Signer(row.signer_key, row.name, row.role))
    signed: dict[int, dict[str, date]] = defaultdict(dict)
    for version_id, key, first in signed_rows:
        signed[version_id][key] = _day(first)
    versions: dict[str, list[VersionFacts]] = defaultdict(list)
    for row in version_rows:
        versions[row.household].append(VersionFacts(
            row.version, _day(row.issued_at), row.review_date, row.pdf_path,
            tuple(signers.get(row.id, ())), signed.get(row.id, {})))
    current = dict(current_rows)
    ticks: dict[str, list[tuple[int, date]]] = defaultdict(list)
    for step_id, version, recorded in tick_rows:
        ticks[step_id].append((version, _day(recorded)))
    household_steps: dict[str, list[StepFacts]] = defaultdict(list)
    for row in step_rows:
        household_steps[row.household].append(StepFacts(
            row.step_id, row.area, row.goal, row.we_will, row.you_will, row.who, row.by_when,
            row.status, row.done_on, current.get(row.step_id, 0),
            tuple(ticks.get(row.step_id, ()))))
    return [HouseholdFacts(row.reference, row.caseworker, row.team, row.peer_reviewer,
                           row.plan_date, row.closed_on, row.last_weekly_review,
                           tuple(versions.get(row.reference, ())),
                           tuple(household_steps.get(row.reference, ())))
            for row in household_rows]


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
