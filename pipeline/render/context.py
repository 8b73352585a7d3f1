"""What the Word template sees: a household's plan as plain data in the plan's language,
and the organisation that issues it. Kept apart from the rendering (render/docx.py, which
loads docxtpl) so that a build's own process, which checks templates but renders nothing,
never loads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Config
from ..errors import ExitCode, SupportplanError
from ..model import AREAS, DONE, NO_LONGER_NEEDED, Household, Step
from ..printed import SIGNATURE_MARK
from ..wording import Words


class TemplateError(SupportplanError):
    """The Word template is missing or broken."""

    exit_code = ExitCode.TEMPLATE


@dataclass(frozen=True)
class Organisation:
    name: str
    contact: str = ""  # a line under the name (address, general phone)
    phone: str = ""  # how a household reaches us in office hours
    out_of_hours: str = ""
    crisis: str = ""

    @classmethod
    def from_config(cls, config: Config) -> Organisation:
        section = config.settings.organisation
        return cls(section.name, section.contact, section.phone, section.out_of_hours,
                   section.crisis)

    @property
    def reachable(self) -> bool:
        """Whether the plan can tell a household how to reach us besides the caseworker."""
        return bool(self.phone or self.contact)


# The template's tick box and signature mark glyphs mark where the boxes are; typed ones
# would be taken for boxes, so they are shown as look-alikes instead.
_BOX_GLYPHS = str.maketrans({"\u2610": "[ ]", "\u2611": "[x]", "\u2612": "[x]",
                             SIGNATURE_MARK: "\u270e"})
WORDING = frozenset({"t", "en", "both"})  # the fixed wording: filled in already


def workbook_values(value: Any, words: Words) -> Any:
    """What the workbook supplies, made safe to print: no box glyphs, and text of the other
    direction isolated (see pipeline/wording/words.py)."""
    if isinstance(value, str):
        return words.isolate(value.translate(_BOX_GLYPHS))
    if isinstance(value, dict):
        return {key: item if key in WORDING else workbook_values(item, words)
                for key, item in value.items()}
    if isinstance(value, list):
        return [workbook_values(item, words) for item in value]
    return value


def _progress(step: Step, words: Words) -> str:
    """What the Done column says for a closed step (it has no box to tick)."""
    if step.status == NO_LONGER_NEEDED:
        return words.text("no_longer_needed")
    if step.status == DONE:
        return words.text("done_on", date=words.table_date(step.done_on)) if step.done_on \
            else words.text("done")
    return ""


def _goals(household: Household, step_ids: Sequence[str],
           words: Words) -> list[dict[str, Any]]:
    """Areas in the schema's order, each with its goals in workbook order, each goal with
    its steps: the order of `open_steps_in_print_order` (pipeline/plan.py), by which the
    "Done" boxes measured on the PDF are matched to steps."""
    areas: dict[str, list[dict[str, Any]]] = {area: [] for area in AREAS}
    current: dict[str, Any] | None = None
    for step, step_id in zip(household.steps, step_ids, strict=True):
        if current is None or (current["area"], current["text"]) != (step.area, step.goal):
            current = {"area": step.area, "text": step.goal, "strengths": step.strengths,
                       "obstacles": step.obstacles, "strengths_help": step.strengths_help,
                       "steps": []}
            areas[step.area].append(current)
        current["steps"].append({
            "we_will": step.we_will, "you_will": step.you_will, "who": words.who(step.who),
            "our_lead": step.our_lead, "by_when": words.table_date(step.by_when),
            "step_id": step_id, "open": not step.is_closed,
            "struck": step.status == NO_LONGER_NEEDED,
            "progress": _progress(step, words)})
    return [{"name": words.area(area), "english": words.area_english(area), "goals": goals}
            for area, goals in areas.items() if goals]


def plan_context(household: Household, version: int, step_ids: Sequence[str],
                 organisation: Organisation, words: Words) -> dict[str, Any]:
    """The data the template sees, the fixed wording (`t`, `en`, `both`) in the plan's
    language (`words`)."""
    interpreter = household.interpreter
    wording = words.namespaces({
        "reference": household.reference, "version": version,
        "review_date": household.review_date,
        "language": words.language_name(interpreter.language, standalone=False)
        if interpreter else "",
        "interpreter": (f"{interpreter.name} ({interpreter.agency})"
                        if interpreter and interpreter.agency
                        else interpreter.name if interpreter else ""),
    })
    areas = _goals(household, step_ids, words)
    shown = {area for area in AREAS if any(step.area == area for step in household.steps)}
    caseworker = household.caseworker + (f", {household.caseworker_email}"
                                         if household.caseworker_email else "")
    preferred = household.preferred_language
    return workbook_values({
        **wording,
        "org": {"name": organisation.name, "contact": organisation.contact},
        "household": {
            "reference": household.reference, "name": household.name,
            "caseworker": household.caseworker, "team": household.team,
            "peer_reviewer": household.peer_reviewer,
            "plan_date": words.long_date(household.plan_date),
            "review_date": words.long_date(household.review_date),
            "preferred_language": words.language_name(preferred)(words.language)
            if preferred else "",
            "interpreter_used": words.yes_no(household.interpreter_used or None),
        },
        "version": version,
        "members": [{"name": m.name, "role": m.role, "adult": words.yes_no(m.adult)}
                    for m in household.members],
        "areas": areas,
        "quiet_areas": [words.area(area) for area in AREAS if area not in shown],
        "quiet_areas_en": [words.area_english(area) for area in AREAS if area not in shown],
        "safety_items": [{"worry": s.worry, "we_will": s.we_will, "you_will": s.you_will,
                          "review_by": words.table_date(s.review_by)}
                         for s in household.safety_plan],
        "contact": {
            "caseworker": caseworker,
            "organisation": ", ".join(part for part in (organisation.name, organisation.phone)
                                      if part) if organisation.phone else organisation.contact,
            "out_of_hours": organisation.out_of_hours,
            "crisis": organisation.crisis,
        },
        "interpreter": bool(interpreter),
        "signers": [{"name": s.name, "role": words.role(s.role)} for s in household.signers],
    }, words)
