"""Render a household into the Word template with docxtpl.

Autoescape is always on: whatever a caseworker typed (`{{ x }}`, `<b>`, `&`) appears
literally. The template is read once per process and re-opened from memory per plan.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate

from ..model import AREAS, Household


class TemplateError(Exception):
    """The Word template is missing or broken."""


@dataclass(frozen=True)
class Organisation:
    name: str
    contact: str = ""


# The template's tick box glyph marks where each step's "Done" box is; typed boxes would be
# taken for one, so they are shown as brackets instead.
_BOX_GLYPHS = str.maketrans({"\u2610": "[ ]", "\u2611": "[x]", "\u2612": "[x]"})


def _without_box_glyphs(value: Any) -> Any:
    if isinstance(value, str):
        return value.translate(_BOX_GLYPHS)
    if isinstance(value, dict):
        return {key: _without_box_glyphs(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_box_glyphs(item) for item in value]
    return value


def long_date(value: date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def table_date(value: date | None) -> str:
    """Short enough to sit on one line in a narrow "By when" column."""
    return f"{value.day} {value:%b %Y}" if value else ""


def plan_context(household: Household, version: int, step_ids: Sequence[str],
                 organisation: Organisation) -> dict[str, Any]:
    """The data the template sees; names are documented in the template builder."""
    rows_by_area: dict[str, list[dict[str, Any]]] = {area: [] for area in AREAS}
    goals_by_area: dict[str, set[str]] = {area: set() for area in AREAS}
    previous_goal: tuple[str, str] | None = None
    for step, step_id in zip(household.steps, step_ids, strict=True):
        first = previous_goal != (step.area, step.goal)
        previous_goal = (step.area, step.goal)
        goals_by_area[step.area].add(step.goal)
        rows_by_area[step.area].append({
            "goal": step.goal if first else "",
            "strengths": step.strengths if first else "",
            "we_will": step.we_will, "you_will": step.you_will, "who": step.who,
            "by_when": table_date(step.by_when), "step_id": step_id, "first_of_goal": first,
        })
    return _without_box_glyphs({
        "org": {"name": organisation.name, "contact": organisation.contact},
        "household": {
            "reference": household.reference, "name": household.name,
            "caseworker": household.caseworker, "team": household.team,
            "peer_reviewer": household.peer_reviewer,
            "plan_date": long_date(household.plan_date),
            "review_date": long_date(household.review_date),
            "preferred_language": household.preferred_language,
            "interpreter_used": household.interpreter_used,
        },
        "version": version,
        "members": [{"name": m.name, "role": m.role, "adult": "Yes" if m.adult else "No"}
                    for m in household.members],
        "areas": [{"name": area, "goals_count": len(goals_by_area[area]),
                   "rows": rows_by_area[area]} for area in AREAS if rows_by_area[area]],
        "quiet_areas": [area for area in AREAS if not rows_by_area[area]],
        "safety_items": [{"worry": s.worry, "we_will": s.we_will, "you_will": s.you_will,
                          "review_by": table_date(s.review_by)} for s in household.safety_plan],
        "signers": [{"name": s.name, "role": s.role} for s in household.signers],
    })


@lru_cache(maxsize=4)
def _template_bytes(path: Path, mtime_ns: int) -> bytes:
    return path.read_bytes()


def render_docx(template: Path, context: dict[str, Any], target: Path) -> None:
    """Render `context` into `template`, saving the DOCX at `target`."""
    try:
        data = _template_bytes(template, template.stat().st_mtime_ns)
    except OSError as exc:
        raise TemplateError(f"{template}: the Word template cannot be read ({exc.strerror}). "
                            "Check [paths] template in config.toml, or run `supportplan "
                            "init` to get a fresh one.") from exc
    document = DocxTemplate(io.BytesIO(data))
    try:
        document.render(context, autoescape=True)
    except Exception as exc:  # docxtpl/jinja2 raise many types for a broken template
        raise TemplateError(f"{template}: the Word template could not be filled in ({exc}). "
                            "If it was edited in Word, check the {{ }} and {% %} tags are "
                            "intact.") from exc
    document.save(target)
