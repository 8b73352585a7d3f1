"""What changed between two plan versions, and where each step stands: the comparison a
formal review pack prints, `history` tells in words, and a re-issued plan shows.

Pure functions over plain data (a version's steps with their stable ids; each step's
progress). Dates in words are written dd/mm/yyyy, as caseworkers write them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from .model import DONE, NO_LONGER_NEEDED

SHORT = 60  # characters of a step's text quoted in a sentence


class Change(StrEnum):
    NEW = "new"
    REMOVED = "removed"  # no longer in the plan at all
    NO_LONGER_NEEDED = "no longer needed"
    MOVED = "moved"  # By when changed
    REWORDED = "reworded"
    DONE = "done"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class StepState:
    """A step as one version had it: its text, target date and progress."""

    step_id: str
    area: str
    goal: str
    we_will: str
    you_will: str
    who: str
    by_when: date | None
    status: str = ""
    done_on: date | None = None

    @property
    def text(self) -> str:
        """The step in a few words: what the household will do, else what we will do."""
        return self.you_will or self.we_will

    @property
    def closed(self) -> bool:
        return self.status in (DONE, NO_LONGER_NEEDED)

    @classmethod
    def from_content(cls, step_id: str, content: Mapping[str, Any], status: str = "",
                     done_on: date | None = None) -> StepState:
        by_when = content.get("by_when")
        return cls(step_id, content.get("area", ""), content.get("goal", ""),
                   content.get("we_will", ""), content.get("you_will", ""),
                   content.get("who", ""),
                   date.fromisoformat(by_when) if isinstance(by_when, str) else by_when,
                   status or "", done_on)


@dataclass(frozen=True)
class StepComparison:
    change: Change
    now: StepState | None  # None: removed
    before: StepState | None  # None: new
    overdue: bool = False

    @property
    def step(self) -> StepState:
        state = self.now or self.before
        assert state is not None
        return state


def quote(text: str) -> str:
    text = " ".join(text.split())
    return f"'{text if len(text) <= SHORT else text[:SHORT - 1].rstrip() + '…'}'"


def _day(value: date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else "no date"


def _reworded(before: StepState, now: StepState) -> bool:
    return (before.we_will, before.you_will, before.who, before.goal) != (
        now.we_will, now.you_will, now.who, now.goal)


def compare(before: Sequence[StepState], now: Sequence[StepState],
            as_of: date | None = None) -> list[StepComparison]:
    """Each step of `now` in its order, then the steps of `before` that are gone. A step's
    change is the one that matters most to the household: done or no longer needed (since
    `before`), else new, moved or reworded."""
    earlier = {state.step_id: state for state in before}
    result: list[StepComparison] = []
    for state in now:
        previous = earlier.get(state.step_id)
        overdue = bool(as_of and not state.closed and state.by_when and state.by_when < as_of)
        if state.status == NO_LONGER_NEEDED and not (previous and previous.closed):
            change = Change.NO_LONGER_NEEDED
        elif state.status == DONE and not (previous and previous.status == DONE):
            change = Change.DONE
        elif previous is None:
            change = Change.NEW
        elif previous.by_when != state.by_when:
            change = Change.MOVED
        elif _reworded(previous, state):
            change = Change.REWORDED
        else:
            change = Change.UNCHANGED
        result.append(StepComparison(change, state, previous, overdue))
    kept = {state.step_id for state in now}
    result += [StepComparison(Change.REMOVED, None, state)
               for state in before if state.step_id not in kept]
    return result


def in_words(comparisons: Sequence[StepComparison]) -> list[str]:
    """The changes as sentences, e.g. "new step 'Apply for a bus pass'"."""
    lines = []
    for item in comparisons:
        step = item.step
        if item.change is Change.NEW:
            lines.append(f"new step {quote(step.text)}")
        elif item.change is Change.REMOVED:
            lines.append(f"step {quote(step.text)} taken out of the plan")
        elif item.change is Change.NO_LONGER_NEEDED:
            lines.append(f"step {quote(step.text)} no longer needed")
        elif item.change is Change.DONE:
            lines.append(f"step {quote(step.text)} done"
                         + (f" on {_day(step.done_on)}" if step.done_on else ""))
        elif item.change is Change.MOVED:
            assert item.before is not None
            lines.append(f"By when of {quote(step.text)} moved {_day(item.before.by_when)} "
                         f"→ {_day(step.by_when)}")
        elif item.change is Change.REWORDED:
            assert item.before is not None
            lines.append(f"step {quote(item.before.text)} now reads {quote(step.text)}")
    return lines


def reason_for(comparisons: Sequence[StepComparison] | None) -> str:
    """Why a version was issued, in a few words (for the registry and `history`)."""
    if comparisons is None:
        return "first plan"
    counts: dict[Change, int] = {}
    for item in comparisons:
        counts[item.change] = counts.get(item.change, 0) + 1
    parts = [f"{counts[change]} {label}" for change, label in (
        (Change.NEW, "new step(s)"), (Change.REMOVED, "step(s) taken out"),
        (Change.NO_LONGER_NEEDED, "no longer needed"), (Change.MOVED, "date(s) moved"),
        (Change.REWORDED, "step(s) reworded")) if counts.get(change)]
    return "the plan changed: " + ", ".join(parts) if parts else \
        "the plan changed (goals, members, dates or the safety plan)"
