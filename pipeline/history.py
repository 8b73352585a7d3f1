"""A household's story from the registry: every version, why it was issued, who signed it
and when, what changed from the version before in words, its formal reviews, and whether
the household is gaining independence.

Independence, kept factual and small: per version, how many steps only we hold, only the
household holds, or both hold; and of the household's own steps ("you will") that were due
by the date, how many were done on time. The seeds warn against staff doing what people
could do themselves; a plan that shifts from "we will" to "you will" shows the opposite.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from .compare import StepState, compare, in_words
from .model import DONE
from .registry import Registry


@dataclass(frozen=True)
class Balance:
    we_only: int
    you_only: int
    both: int
    you_due: int  # household steps whose target date has passed
    you_on_time: int  # ... of which done by their date

    @property
    def you_share(self) -> float:
        """The share of steps in which the household acts (alone or with us)."""
        total = self.we_only + self.you_only + self.both
        return (self.you_only + self.both) / total if total else 0.0

    @property
    def on_time_share(self) -> float | None:
        return self.you_on_time / self.you_due if self.you_due else None

    def in_words(self) -> str:
        on_time = (f"; {self.you_on_time} of {self.you_due} household step(s) due were done "
                   "on time" if self.you_due else "")
        return (f"{self.we_only} step(s) only we hold, {self.you_only} only the household, "
                f"{self.both} both ({self.you_share:.0%} with the household acting){on_time}")


def balance(states: list[StepState], as_of: date, ticked: dict[str, date] | None = None
            ) -> Balance:
    ticked = ticked or {}
    we_only = sum(bool(s.we_will) and not s.you_will for s in states)
    you_only = sum(bool(s.you_will) and not s.we_will for s in states)
    both = sum(bool(s.we_will) and bool(s.you_will) for s in states)
    due = [s for s in states if s.you_will and s.by_when and s.by_when < as_of
           and s.status != "No longer needed"]

    def on_time(state: StepState) -> bool:
        done_on = state.done_on if state.status == DONE else ticked.get(state.step_id)
        if state.status == DONE and done_on is None:
            return True  # done, date not given: counted as done
        return done_on is not None and state.by_when is not None and done_on <= state.by_when

    return Balance(we_only, you_only, both, len(due), sum(on_time(s) for s in due))


@dataclass
class VersionStory:
    version: int
    issued_on: date
    reason: str
    supersedes: int | None
    signed: list[dict[str, Any]]  # {name, role, signed_on}
    changes: list[str]
    balance: Balance
    pdf: str | None


@dataclass
class HouseholdStory:
    reference: str
    versions: list[VersionStory] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"reference": self.reference,
                "versions": [{**asdict(v), "issued_on": v.issued_on.isoformat(),
                              "balance": {**asdict(v.balance),
                                          "you_share": round(v.balance.you_share, 3)}}
                             for v in self.versions],
                "reviews": self.reviews}


def household_story(registry: Registry, reference: str, as_of: date | None = None
                    ) -> HouseholdStory:
    as_of = as_of or date.today()
    story = HouseholdStory(reference)
    versions = registry.versions(reference)
    ticked = registry.ticked_steps(reference)
    progress = {row["step_id"]: row for row in registry.steps_for(reference, active_only=False)}
    previous: list[StepState] | None = None
    for record in versions:
        states = registry.version_states(record.id)
        now_states = [StepState(s.step_id, s.area, s.goal, s.we_will, s.you_will, s.who,
                                s.by_when, progress[s.step_id]["status"] if s.step_id in
                                progress else s.status,
                                progress[s.step_id]["done_on"] if s.step_id in progress
                                else s.done_on) for s in states]
        changes = in_words(compare(previous, states)) if previous is not None else []
        story.versions.append(VersionStory(
            record.version, record.issued_at.date(), registry.version_reason(record.id),
            record.version - 1 if record.version > 1 else None,
            registry.version_signatures(record.id), changes,
            balance(now_states, as_of, ticked), record.pdf_path))
        previous = states
    story.reviews = [{"made_on": pack.made_on.isoformat(), "version": pack.version,
                      "compared_with": pack.base_version,
                      "signed_on": pack.signed_on.isoformat() if pack.signed_on else None,
                      "next_review": pack.next_review.isoformat(), "pdf": pack.pdf_path}
                     for pack in registry.review_packs(reference)]
    return story
