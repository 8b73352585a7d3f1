"""Render a household into the Word template with docxtpl.

Autoescape is always on: whatever a caseworker typed (`{{ x }}`, `<b>`, `&`) appears
literally. The template is read once per process and re-opened from memory per plan.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage
from jinja2 import Environment, Template

from ..config import Config
from ..errors import ExitCode, SupportplanError
from ..model import AREAS, DONE, NO_LONGER_NEEDED, Household, Step
from ..printed import SIGNATURE_MARK
from ..wording import Words
from .finishing import Finishing, finish
from .slim import slim_template

WORD_COPY_CODE_MM = 14.0


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


class _CompiledOnce(Environment):
    """Compiles each part of the template once per process instead of once per plan:
    compiling was half of a plan's render time, and a batch renders every plan twice."""

    _KEEP = 64  # parts of a few templates (plan, review pack), edited now and then

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source: Any, globals: Any = None,  # noqa: A002 (jinja's name)
                    template_class: Any = None) -> Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            if len(self._compiled) >= self._KEEP:
                self._compiled.clear()
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


_JINJA = _CompiledOnce()


@lru_cache(maxsize=32)
def _patched(src_xml: str) -> str:
    return DocxTemplate.patch_xml(None, src_xml)  # type: ignore[arg-type]  # uses no state


class _Template(DocxTemplate):
    """docxtpl's clean-up of the template's XML before Jinja sees it (dozens of regular
    expressions over every part) done once per template, not once per plan: the same
    template always gives the same result."""

    def patch_xml(self, src_xml: str) -> str:
        return _patched(src_xml)


@lru_cache(maxsize=4)
def _template_bytes(path: Path, mtime_ns: int) -> bytes:
    return slim_template(path.read_bytes())


def render_docx(template: Path, context: dict[str, Any], target: Path, *,
                finishing: Finishing | None = None, word_copy: bool = False,
                word_copy_code: bytes | None = None) -> None:
    """Render `context` into `template`, saving the DOCX at `target`, finished for its
    reader (language, direction, print size, title: finishing.py). `word_copy`: the
    editable Word file people receive, whose header says to print the PDF to sign and
    carries `word_copy_code` (a PNG page code saying "printed from the Word file")."""
    try:
        data = _template_bytes(template, template.stat().st_mtime_ns)
    except OSError as exc:
        raise TemplateError(f"{template}: the Word template cannot be read ({exc.strerror}). "
                            "Check [paths] template in config.toml, or run `supportplan "
                            "init` to get a fresh one.") from exc
    document = _Template(io.BytesIO(data))
    context = {**context, "word_copy": word_copy or word_copy_code is not None,
               "word_copy_code": InlineImage(document, io.BytesIO(word_copy_code),
                                             width=Mm(WORD_COPY_CODE_MM))
               if word_copy_code is not None else ""}
    try:
        document.render(context, jinja_env=_JINJA, autoescape=True)
    except Exception as exc:  # docxtpl/jinja2 raise many types for a broken template
        raise TemplateError(f"{template}: the Word template could not be filled in ({exc}). "
                            "If it was edited in Word, check the {{ }} and {% %} tags are "
                            "intact.") from exc
    if finishing is not None:
        finish(document.docx, finishing)
    # Zipped in memory, then written: a disk that fills up fails the write with a plain
    # error, instead of leaving a half-closed zip whose clean-up complains on stderr.
    buffer = io.BytesIO()
    document.save(buffer)
    target.write_bytes(buffer.getvalue())
