"""Each kind of overdue finding, described once.

The rules (overdue.py), the workbook, the digest PDF and the e-mail all read this table:
its order is the report's order, its colour the same in the workbook chart and the digest,
its holder and escalation decide who is told, and its wording is what people read. A new
rule is one entry here plus its function in overdue.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Who holds a finding: our staff (or a partner we arrange), the household, or both.
US = "us"
HOUSEHOLD = "household"
BOTH = "both"
HOLDERS = (US, HOUSEHOLD, BOTH)

TEAM_LEAD = "Team lead"
SERVICE_MANAGER = "Service manager"


class Escalation(Enum):
    """How a kind of finding climbs: by age (team lead, then service manager), straight to
    the service manager, at most to the team lead (the household's own steps: raised with
    them, not treated as a staff failure), or never (looking ahead, nothing late yet)."""

    BY_AGE = "by age"
    AT_ONCE = "at once"
    TEAM_LEAD_AT_MOST = "team lead at most"
    NEVER = "never"


@dataclass(frozen=True)
class FindingKind:
    name: str  # the finding's kind as people read it; the workbook sheet's name
    colour: str  # "#RRGGBB", the same in the workbook chart and the digest
    holder: str  # US, HOUSEHOLD or BOTH; "" = decided per step (who the step names)
    escalation: Escalation
    one: str  # a caseworker's summary, one item: "1 plan waiting for signatures"
    many: str  # ... and more: "{n} plans waiting for signatures"
    steps: bool = False  # a step of the plan: the workbook shows its area, goal and text

    @property
    def upcoming(self) -> bool:
        """Looks ahead: days are days left, not days late."""
        return self.escalation is Escalation.NEVER

    def count_text(self, count: int) -> str:
        return self.one if count == 1 else self.many.format(n=count)


SAFETY_NOT_WORKING = FindingKind(
    "Safety plan not working", "#C00000", US, Escalation.AT_ONCE,
    "1 safety plan not working", "{n} safety plans not working")
SAFETY_REVIEW_OVERDUE = FindingKind(
    "Safety item review overdue", "#ED7D31", US, Escalation.BY_AGE,
    "1 safety item not reviewed", "{n} safety items not reviewed")
WEEKLY_REVIEW_MISSING = FindingKind(
    "Weekly review missing", "#FFC000", US, Escalation.BY_AGE,
    "1 weekly review missing", "{n} weekly reviews missing")
STEP_OVERDUE = FindingKind(
    "Step overdue", "#4472C4", "", Escalation.BY_AGE,
    "1 of our actions late", "{n} of our actions late", steps=True)
PLAN_UNSIGNED = FindingKind(
    "Plan unsigned", "#7030A0", US, Escalation.BY_AGE,
    "1 plan waiting for signatures", "{n} plans waiting for signatures")
REVIEW_OVERDUE = FindingKind(
    "Review overdue", "#70AD47", US, Escalation.BY_AGE,
    "1 review overdue", "{n} reviews overdue")
PEER_REVIEW_MISSING = FindingKind(
    "Peer review missing", "#A5A5A5", US, Escalation.BY_AGE,
    "1 peer review missing", "{n} peer reviews missing")
HOUSEHOLD_STEP = FindingKind(
    "Step to raise with household", "#5B9BD5", HOUSEHOLD, Escalation.TEAM_LEAD_AT_MOST,
    "1 household step to raise", "{n} household steps to raise", steps=True)
STEP_DUE_SOON = FindingKind(
    "Step due soon", "#9DC3E6", "", Escalation.NEVER,
    "1 step due soon", "{n} steps due soon", steps=True)
REVIEW_DUE = FindingKind(
    "Review due", "#C5E0B4", US, Escalation.NEVER,
    "1 review due soon", "{n} reviews due soon")

# The report's order: safety first (a plan to keep someone safe that is not working, or not
# looked at), then what we must act on, then what the household holds, then what is coming.
ALL_KINDS: tuple[FindingKind, ...] = (
    SAFETY_NOT_WORKING, SAFETY_REVIEW_OVERDUE, WEEKLY_REVIEW_MISSING, STEP_OVERDUE,
    PLAN_UNSIGNED, REVIEW_OVERDUE, PEER_REVIEW_MISSING, HOUSEHOLD_STEP, STEP_DUE_SOON,
    REVIEW_DUE)
BY_NAME = {kind.name: kind for kind in ALL_KINDS}
SAFETY_KINDS = frozenset({SAFETY_NOT_WORKING.name, SAFETY_REVIEW_OVERDUE.name,
                          WEEKLY_REVIEW_MISSING.name})


def kind_of(name: str) -> FindingKind:
    return BY_NAME[name]


def escalation(kind: FindingKind, days_late: int, team_lead_days: int,
               service_manager_days: int) -> str:
    """Who a finding this many days late is marked for: "", TEAM_LEAD or SERVICE_MANAGER."""
    if kind.escalation is Escalation.NEVER:
        return ""
    if kind.escalation is Escalation.AT_ONCE:
        return SERVICE_MANAGER
    if (days_late > service_manager_days
            and kind.escalation is not Escalation.TEAM_LEAD_AT_MOST):
        return SERVICE_MANAGER
    if days_late > team_lead_days:
        return TEAM_LEAD
    return ""
