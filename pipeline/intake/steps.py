"""The Plan sheet's rows become steps; and the plan as a whole must stay printable.

A blank Area and Goal continue the goal above. "Who" must name a household member (or the
household as a whole). The plan's size is limited (`[plan] max_steps`,
`max_plan_characters`) so that every plan converts to PDF in seconds and fits the page
codes printed on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from ..model import (
    AREAS,
    CLOSED_STATUSES,
    DONE,
    NOT_STARTED,
    STATUSES,
    WHOLE_HOUSEHOLD,
    Member,
    SafetyItem,
    Step,
)
from .cells import Cells
from .options import ReadOptions
from .schema import PLAN, SAFETY_PLAN

# A line break leaves the rest of its line empty on the page: it counts as this many
# characters towards the plan's size.
LINE_BREAK_WEIGHT = 30


def _name_key(name: str) -> str:
    return " ".join(name.split()).casefold()


def read_steps(cells: Cells, rows: Iterable[dict[str, Any]],
               members: Sequence[Member], plan_date: date | None = None) -> list[Step]:
    names = {_name_key(m.name): m.name for m in members}
    names[_name_key(WHOLE_HOUSEHOLD)] = WHOLE_HOUSEHOLD
    steps: list[Step] = []
    previous: Step | None = None
    sheet = PLAN.name
    for row in rows:
        area_text = row["area"]
        if area_text:
            area = cells.choice(area_text, AREAS, sheet, row["_area_cell"], "life area")
        elif previous is not None and not row["goal"]:
            area = previous.area
        else:
            area = None
            if not cells.flagged(sheet, row["_area_cell"]):
                cells.error(sheet, row["_area_cell"], "Area is empty",
                            "pick the life area this step belongs to")
        goal, strengths = row["goal"], row["strengths"]
        obstacles, strengths_help = row["obstacles"], row["strengths_help"]
        if not goal and not cells.flagged(sheet, row["_goal_cell"]):
            if previous is not None and area == previous.area:
                goal = previous.goal
                strengths = strengths or previous.strengths
                obstacles = obstacles or previous.obstacles
                strengths_help = strengths_help or previous.strengths_help
            elif area is not None:
                cells.error(sheet, row["_goal_cell"], "this step has no goal",
                            "write the goal, or put this step under the goal above it "
                            "(same Area)")
        if (not row["we_will"] and not row["you_will"]
                and not cells.flagged(sheet, row["_we_will_cell"])
                and not cells.flagged(sheet, row["_you_will_cell"])):
            cells.error(sheet, row["_we_will_cell"],
                        "the step says neither what we will do nor what you will do",
                        "fill in We will and/or You will")
        who = _who(cells, row, names)
        if row["by_when"] is None and not cells.flagged(sheet, row["_by_when_cell"]):
            cells.error(sheet, row["_by_when_cell"], "the step has no target date",
                        "give every step a By when date (dd/mm/yyyy)")
        elif plan_date is not None and row["by_when"] is not None \
                and row["by_when"] < plan_date and status_text_open(row["status"]):
            cells.warn(sheet, row["_by_when_cell"],
                       f"By when {row['by_when']:%d/%m/%Y} is before the plan date "
                       f"{plan_date:%d/%m/%Y}", "check the date: a step agreed in this plan "
                       "is usually due after it was made")
        status = (cells.choice(row["status"], STATUSES, sheet, row["_status_cell"], "status")
                  if row["status"] else NOT_STARTED)
        done_on = row["done_on"]
        if done_on is not None and status not in (DONE, None):
            cells.warn(sheet, row["_done_on_cell"],
                       f"Done on is filled in but Status is {status}",
                       "set Status to Done, or clear Done on")
        if done_on is not None and done_on > date.today():
            cells.error(sheet, row["_done_on_cell"],
                        f"Done on {done_on:%d/%m/%Y} is in the future",
                        "use the date the step was actually done")
        if area is None or not goal:
            continue
        if row["our_lead"] and not row["we_will"]:
            cells.warn(sheet, row["_our_lead_cell"], "Our lead is filled in but We will is "
                       "empty", "write what we will do in We will, or clear Our lead")
        step = Step(area=area, goal=goal, strengths=strengths, we_will=row["we_will"],
                    you_will=row["you_will"], who=who, by_when=row["by_when"],
                    status=status or NOT_STARTED, done_on=done_on, row=row["_row"],
                    obstacles=obstacles, strengths_help=strengths_help,
                    our_lead=row["our_lead"])
        steps.append(step)
        previous = step
    return steps


def status_text_open(status: str) -> bool:
    """A step not (yet) marked done or no longer needed, as typed."""
    return (status or "").strip().casefold() not in {s.casefold() for s in CLOSED_STATUSES}


def _who(cells: Cells, row: dict[str, Any], names: dict[str, str]) -> str:
    who, cell = row["who"], row["_who_cell"]
    if cells.flagged(PLAN.name, cell):
        return who
    if who:
        matched = names.get(_name_key(who))
        if matched is None:
            cells.error(PLAN.name, cell, f'"{who[:80]}" is not a member of the household',
                        f"pick a name from the Members sheet, or {WHOLE_HOUSEHOLD}")
            return who
        if not row["you_will"]:
            # the cell, not the name: warnings reach build's output and logs
            cells.warn(PLAN.name, cell, "Who names a member but You will is empty",
                       "write what they will do in You will")
        return matched
    return WHOLE_HOUSEHOLD if row["you_will"] else ""


def text_size(text: str) -> int:
    return len(text) + (LINE_BREAK_WEIGHT - 1) * text.count("\n")


def check_plan_size(cells: Cells, steps: Sequence[Step], safety: Sequence[SafetyItem],
                    options: ReadOptions) -> None:
    if len(steps) > options.max_steps:
        cells.error(PLAN.name, f"A{steps[options.max_steps].row}",
                    f"the plan has {len(steps)} steps, more than the {options.max_steps} one "
                    "plan can have (it could not be printed and signed in reasonable time)",
                    "move finished steps and later goals out of this workbook (keep a copy), "
                    "so the plan covers the next few months")
        return
    size, seen_goals = 0, set()
    for step in steps:
        if (step.area, step.goal) not in seen_goals:
            seen_goals.add((step.area, step.goal))
            size += text_size(step.goal) + text_size(step.strengths)
        size += text_size(step.we_will) + text_size(step.you_will) + text_size(step.who)
    size += sum(text_size(item.worry) + text_size(item.we_will) + text_size(item.you_will)
                for item in safety)
    if size > options.max_plan_characters:
        cells.error(PLAN.name, "", f"the plan's text is {size:,} characters long (a line "
                    f"break counts as {LINE_BREAK_WEIGHT}), more than the "
                    f"{options.max_plan_characters:,} a printable plan can hold (about 130 pages)",
                    f"shorten the longest entries on the {PLAN.name} and {SAFETY_PLAN.name} "
                    "sheets, or move finished steps out of this workbook (keep a copy)")
