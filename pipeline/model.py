"""Plain data passed between stages: a household as read from its workbook.

This module is the one place for the domain's fixed lists (areas, statuses, yes/no).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

AREAS: tuple[str, ...] = (
    "Housing",
    "Benefits & Money",
    "Education & Training",
    "Employment & Volunteering",
    "Physical & Mental Health",
    "Social & Leisure",
    "Feeling Safe",
    "Family, Friends & Contacts",
    "Self-Care & Life Skills",
)

NOT_STARTED = "Not started"
IN_PROGRESS = "In progress"
DONE = "Done"
NO_LONGER_NEEDED = "No longer needed"
STATUSES: tuple[str, ...] = (NOT_STARTED, IN_PROGRESS, DONE, NO_LONGER_NEEDED)
CLOSED_STATUSES: frozenset[str] = frozenset({DONE, NO_LONGER_NEEDED})

YES_NO: tuple[str, ...] = ("Yes", "No")

# "Who" may name a member or the household as a whole.
WHOLE_HOUSEHOLD = "Whole household"

# Signer keys: stable, non-personal names for who signs (also "member-<n>" per member).
CASEWORKER_KEY = "caseworker"
PEER_REVIEWER_KEY = "peer-reviewer"
INTERPRETER_KEY = "interpreter"
# Signers whose signature the overdue rules do not wait for as "plan unsigned": the peer
# reviewer has a rule of their own; the interpreter only confirms the plan was explained.
NOT_PARTIES = frozenset({PEER_REVIEWER_KEY, INTERPRETER_KEY})

ROLE_CASEWORKER = "Caseworker"
ROLE_PEER_REVIEWER = "Peer reviewer"
ROLE_INTERPRETER = "Interpreter"


@dataclass(frozen=True)
class Member:
    name: str
    role: str
    adult: bool
    signs_plan: bool
    language: str = ""


@dataclass(frozen=True)
class Step:
    """One row of the Plan sheet: what we will and/or you will do, by when."""

    area: str
    goal: str
    strengths: str
    we_will: str
    you_will: str
    who: str
    by_when: date | None
    status: str
    done_on: date | None
    row: int  # worksheet row, for messages and for stable-id matching
    # Per goal (written on the goal's first row): what stands in the way, and how the
    # household's strengths can overcome it. Per step: who does our part.
    obstacles: str = ""
    strengths_help: str = ""
    our_lead: str = ""

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES


@dataclass(frozen=True)
class SafetyItem:
    worry: str
    we_will: str
    you_will: str
    review_by: date | None


@dataclass(frozen=True)
class WeeklyReview:
    week_of: date
    did_we_do_it: str
    what_changed: str
    needs_and_blockers: str
    this_week: str
    safety_plan_working: str
    recorded_by: str


@dataclass(frozen=True)
class Interpreter:
    """The professional interpreter who explained the plan. They sign to say so, but are not
    a party to the plan: their signature is never awaited by the overdue rules."""

    name: str
    language: str
    agency: str = ""


@dataclass(frozen=True)
class Signer:
    """Someone who must sign a plan version. `key` is stable and non-personal."""

    key: str
    name: str
    role: str


@dataclass(frozen=True)
class Household:
    reference: str
    name: str
    caseworker: str
    caseworker_email: str
    team: str
    peer_reviewer: str
    plan_date: date
    review_date: date
    preferred_language: str
    interpreter_used: str
    members: tuple[Member, ...]
    steps: tuple[Step, ...]
    safety_plan: tuple[SafetyItem, ...]
    weekly_reviews: tuple[WeeklyReview, ...] = field(default=())
    closed_on: date | None = None
    interpreter: Interpreter | None = None  # when a professional interpreter was used

    @property
    def signers(self) -> tuple[Signer, ...]:
        """Caseworker, each member who signs, the interpreter (if one was used), then the
        peer reviewer (if named)."""
        signers = [Signer(CASEWORKER_KEY, self.caseworker, ROLE_CASEWORKER)]
        signers += [
            Signer(f"member-{index}", member.name, member.role or "Household member")
            for index, member in enumerate(self.members, start=1)
            if member.signs_plan
        ]
        if self.interpreter is not None:
            signers.append(Signer(INTERPRETER_KEY, self.interpreter.name, ROLE_INTERPRETER))
        if self.peer_reviewer:
            signers.append(Signer(PEER_REVIEWER_KEY, self.peer_reviewer, ROLE_PEER_REVIEWER))
        return tuple(signers)
