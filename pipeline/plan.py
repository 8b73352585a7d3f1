"""What makes a plan version: its signable content, that content's hash, and stable step ids.

Pure functions over the model. Status and Done on are progress, not plan content: changing
them never asks the household to sign again.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from .model import AREAS, Household, Step


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _present(**values: Any) -> dict[str, Any]:
    """Fields added after plans were issued count only when filled in, so adding them
    changed no existing plan's content hash (and issued no needless new version)."""
    return {key: value for key, value in values.items() if value}


def step_content(step: Step) -> dict[str, Any]:
    return {"area": step.area, "goal": step.goal, "strengths": step.strengths,
            "we_will": step.we_will, "you_will": step.you_will, "who": step.who,
            "by_when": _iso(step.by_when),
            **_present(obstacles=step.obstacles, strengths_help=step.strengths_help,
                       our_lead=step.our_lead)}


def plan_content(household: Household) -> dict[str, Any]:
    """Everything the signed document shows, as plain JSON-able data."""
    return {
        "reference": household.reference,
        "name": household.name,
        "caseworker": household.caseworker,
        "team": household.team,
        "peer_reviewer": household.peer_reviewer,
        "plan_date": _iso(household.plan_date),
        "review_date": _iso(household.review_date),
        "preferred_language": household.preferred_language,
        "interpreter_used": household.interpreter_used,
        "members": [{"name": m.name, "role": m.role, "adult": m.adult,
                     "signs_plan": m.signs_plan} for m in household.members],
        "steps": [step_content(step) for step in household.steps],
        "safety_plan": [{"worry": s.worry, "we_will": s.we_will, "you_will": s.you_will,
                         "review_by": _iso(s.review_by)} for s in household.safety_plan],
        **_present(interpreter=[household.interpreter.name, household.interpreter.language,
                                household.interpreter.agency]
                   if household.interpreter else None),
    }


def content_hash(household: Household) -> str:
    canonical = json.dumps(plan_content(household), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class KnownStep:
    """A step the household has had, as last recorded: its text and its progress."""

    step_id: str
    content: dict[str, Any]
    status: str = ""
    done_on: date | None = None


# (step id, status before, status now): a step whose progress changed.
StatusChange = tuple[str, str, str]


def progress_changes(known: Sequence[KnownStep], step_ids: Sequence[str],
                     steps: Sequence[Step]) -> list[StatusChange]:
    """The steps whose status or Done on differ from what was last recorded (a step not
    recorded before is new, not changed). The registry applies the same rule when it
    records the progress, so the audit trail and the build's decision agree."""
    before: Mapping[str, KnownStep] = {k.step_id: k for k in known}
    changes = []
    for step_id, step in zip(step_ids, steps, strict=True):
        old = before.get(step_id)
        if old is not None and (old.status, old.done_on) != (step.status, step.done_on):
            changes.append((step_id, old.status, step.status))
    return changes


def _text(content: dict[str, Any]) -> str:
    return " | ".join(str(content.get(k) or "") for k in ("goal", "we_will", "you_will"))


# Below this similarity an edited step counts as a new step (its tick history does not carry).
SAME_STEP_SIMILARITY = 0.6


def assign_step_ids(reference: str, known: Sequence[KnownStep], steps: Sequence[Step],
                    next_number: int) -> list[str]:
    """Give each step a stable id: identical steps keep theirs, lightly edited steps in the
    same area keep theirs (best match first), the rest get new ids numbered from
    `next_number`."""
    contents = [step_content(step) for step in steps]
    ids: list[str | None] = [None] * len(steps)
    free = {k.step_id: k for k in known}
    for index, content in enumerate(contents):
        match = next((k for k in free.values() if k.content == content), None)
        if match is not None:
            ids[index] = match.step_id
            del free[match.step_id]
    candidates = sorted(
        ((difflib.SequenceMatcher(None, _text(content), _text(k.content)).ratio(), index,
          k.step_id)
         for index, content in enumerate(contents) if ids[index] is None
         for k in free.values() if k.content.get("area") == content["area"]),
        reverse=True)
    for score, index, step_id in candidates:
        if score < SAME_STEP_SIMILARITY:
            break
        if ids[index] is None and step_id in free:
            ids[index] = step_id
            del free[step_id]
    for index in range(len(ids)):
        if ids[index] is None:
            ids[index] = f"{reference}-S{next_number:03d}"
            next_number += 1
    return [step_id for step_id in ids if step_id is not None]


def open_steps_in_print_order(steps: Sequence[Step], step_ids: Sequence[str]) -> list[str]:
    """The ids of the steps that get a "Done" box, in the order the plan prints them:
    areas in the schema's order (the workbook may mix them), each area's steps in workbook
    order. The boxes measured on the PDF are matched to steps in this order."""
    printed = sorted(zip(steps, step_ids, strict=True),
                     key=lambda pair: AREAS.index(pair[0].area))
    return [step_id for step, step_id in printed if not step.is_closed]
