"""`supportplan review HH-0042`: a formal review pack.

The pack compares the household's current plan with the **last signed version** (every
party signed it on paper; the first version when none has been signed yet), lists the
weekly reviews since then, asks the three review questions, leaves room for the
household's views, proposes the next review date and has fresh signature blocks. It is
printed with page codes like a plan, so the signed pack is read back by `reconcile`; once
every party has signed it, it counts as the review (the overdue rules use its date).

Files: `output/<ref>/review-<ref>-<yyyy-mm-dd>.docx` and `.pdf` (a second pack the same
day gets `-2`, and so on: files are never overwritten).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .compare import Change, StepComparison, StepState, compare
from .config import Config
from .errors import SupportplanError
from .files import publish
from .intake.reader import add_months
from .model import AREAS, Signer
from .outputs import converter_profiles, plan_folder
from .pagecodes import load_secret, new_token
from .registry import Registry, VersionRecord, registry_for
from .render.context import Organisation, workbook_values
from .render.docx import render_docx
from .render.finishing import Finishing
from .render.soffice import ConversionError, PdfOptions, convert_many, find_soffice
from .render.stamp import stamp_plan
from .render.template_check import REVIEW, check_before_use
from .wording import Words
from .wording.settings import LanguageSettings
from .workspace import REVIEW_TEMPLATE

BRIEF = 90  # characters of each weekly review answer shown in the pack


class ReviewError(SupportplanError):
    """The pack cannot be made as asked (no such household, no plan yet, no template)."""


@dataclass
class ReviewOutcome:
    reference: str
    review_id: int
    docx: Path
    pdf: Path | None
    version: int
    base_version: int
    base_signed_on: date | None
    next_review: date
    open_steps: int


def review_template(config: Config) -> Path:
    """The review pack's Word template: beside the plan's, or the one shipped."""
    beside = config.template_path.with_name(REVIEW_TEMPLATE)
    shipped = Path(__file__).resolve().parent.parent / "templates" / REVIEW_TEMPLATE
    for candidate in (beside, shipped):
        if candidate.is_file():
            return candidate
    raise ReviewError(f"the review pack template {beside} is missing; run `supportplan init` "
                      "to get a fresh one")


def _brief(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BRIEF else text[:BRIEF - 1].rstrip() + "…"


def current_states(registry: Registry, version: VersionRecord) -> list[StepState]:
    """The version's steps with their progress now: the latest workbook's status and Done
    on, or a tick read from a scan of this version or a later one."""
    progress = {row["step_id"]: row for row in registry.steps_for(version.household,
                                                                  active_only=False)}
    ticked = registry.ticked_steps(version.household)
    states = []
    for state in registry.version_states(version.id):
        row = progress.get(state.step_id)
        status = row["status"] if row else state.status
        done_on = row["done_on"] if row else state.done_on
        if state.step_id in ticked and status not in ("Done", "No longer needed"):
            status, done_on = "Done", ticked[state.step_id]
        states.append(StepState(state.step_id, state.area, state.goal, state.we_will,
                                state.you_will, state.who, state.by_when, status, done_on))
    return states


def _rows(comparisons: list[StepComparison], words: Words) -> list[dict[str, Any]]:
    by_area: dict[str, list[dict[str, Any]]] = {area: [] for area in AREAS}
    previous_goal = None
    for item in comparisons:
        step = item.step
        struck = item.change in (Change.REMOVED, Change.NO_LONGER_NEEDED)
        done = (item.now is not None and item.now.status == "Done")
        if item.change is Change.REMOVED:
            status = words.both("label_removed")
        elif item.change is Change.NO_LONGER_NEEDED or (item.now and item.now.status ==
                                                          "No longer needed"):
            status, struck = words.both("no_longer_needed"), True
        elif done:
            status = (words.text("done_on", date=words.table_date(step.done_on))
                      if step.done_on else words.both("done"))
        elif item.overdue:
            status = words.both("label_overdue")
        else:
            status = words.both("label_open")
        by_when = words.table_date(step.by_when)
        if item.change is Change.MOVED and item.before is not None:
            by_when = words.text("moved", before=words.table_date(item.before.by_when),
                                 after=by_when)
        goal = step.goal if (step.area, step.goal) != previous_goal else ""
        previous_goal = (step.area, step.goal)
        by_area.setdefault(step.area, []).append({
            "goal": goal, "we_will": step.we_will, "you_will": step.you_will,
            "who": words.who(step.who) if step.you_will else "", "by_when": by_when,
            "status": status,
            "struck": struck, "new": item.change is Change.NEW,
            "open": not struck and not done, "step_id": step.step_id})
    return [{"name": words.area(area), "english": words.area_english(area), "rows": rows}
            for area, rows in by_area.items() if rows]


@dataclass(frozen=True)
class PackFacts:
    """What a pack is made from, gathered from the registry: the household as its current
    version recorded it, that version, the version compared with (and the day it was
    signed), the steps compared, the weekly reviews since, and who signs."""

    reference: str
    household: dict[str, Any]
    version: int
    plan_date: date
    base_version: int
    base_signed_on: date | None
    comparisons: list[StepComparison]
    weekly: list[dict[str, Any]]
    signers: list[Signer]


@dataclass
class PackContent:
    """What goes into a pack: the template's data, the ids of its open steps (each gets a
    "Done" box), and how the document is finished (its language and title)."""

    facts: PackFacts
    context: dict[str, Any]
    open_steps: list[str]
    finishing: Finishing


def pack_facts(registry: Registry, reference: str, made_on: date) -> tuple[PackFacts,
                                                                           VersionRecord]:
    current = registry.latest_version(reference)
    if current is None:
        raise ReviewError(f"{reference} has no plan yet: build its plan first")
    signed = registry.last_signed_version(reference)
    versions = registry.versions(reference)
    base = next(v for v in versions if v.id == signed[0]) if signed else versions[0]
    comparisons = compare(registry.version_states(base.id), current_states(registry, current),
                          made_on)
    return PackFacts(reference, registry.version_content(current.id), current.version,
                     current.plan_date, base.version, signed[2] if signed else None,
                     comparisons, list(registry.weekly_reviews_since(reference,
                                                                     base.plan_date)),
                     list(registry.version_signers(current.id))), current


def pack_content(facts: PackFacts, made_on: date, next_review: date,
                 organisation: Organisation, languages: LanguageSettings,
                 large_print: bool = False) -> PackContent:
    """The pack's content, in the household's language."""
    household = facts.household
    interpreter = household.get("interpreter")
    words = languages.words_for(household.get("preferred_language") or "")
    wording = words.namespaces({
        "reference": facts.reference, "version": facts.version, "review_date": "",
        "next_review": next_review, "made_on": made_on,
        "language": words.language_name(interpreter[1], standalone=False)
        if interpreter else "",
        "interpreter": (f"{interpreter[0]} ({interpreter[2]})" if interpreter and interpreter[2]
                        else interpreter[0] if interpreter else "")})
    areas = _rows(facts.comparisons, words)
    open_steps = [row["step_id"] for area in areas for row in area["rows"] if row["open"]]
    weekly = [{"week_of": words.table_date(row["week_of"]),
               **{key: _brief(row[key] or "") for key in (
                   "did_we_do_it", "what_changed", "needs_and_blockers", "this_week")},
               "safety_plan_working": words.yes_no(row["safety_plan_working"] or None)}
              for row in facts.weekly]
    compared = (words.text("compared_signed", version=facts.base_version,
                           date=facts.base_signed_on) if facts.base_signed_on
                else words.text("compared_unsigned", version=facts.base_version))
    caseworker = household.get("caseworker", "")
    context = workbook_values({
        **wording,
        "org": {"name": organisation.name, "contact": organisation.contact},
        "household": {"name": household.get("name", ""), "reference": facts.reference,
                      "caseworker": caseworker},
        "review": {"made_on": words.long_date(made_on),
                   "of": words.text("review_version", version=facts.version,
                                    date=facts.plan_date),
                   "compared": compared},
        "areas": areas, "weekly": weekly,
        "contact": {"caseworker": caseworker,
                    "organisation": ", ".join(p for p in (organisation.name, organisation.phone)
                                              if p) if organisation.phone else organisation.contact,
                    "out_of_hours": organisation.out_of_hours, "crisis": organisation.crisis},
        "interpreter": bool(interpreter),
        "signers": [{"name": s.name, "role": words.role(s.role)} for s in facts.signers],
    }, words)
    return PackContent(facts, context, open_steps,
                       Finishing(words.language, wording["t"]["review_reference"],
                                 large_print))


def _target(folder: Path, reference: str, made_on: date) -> str:
    stem = f"review-{reference}-{made_on.isoformat()}"
    n = 1
    while (folder / f"{stem}.docx").exists() or (folder / f"{stem}.pdf").exists():
        n += 1
        stem = f"review-{reference}-{made_on.isoformat()}-{n}"
    return stem


def make_review(config: Config, reference: str, *, made_on: date | None = None,
                pdf: bool = True, registry: Registry | None = None) -> ReviewOutcome:
    """Make, stamp, publish and record a review pack for `reference`."""
    made_on = made_on or date.today()
    registry = registry or registry_for(config)
    next_review = add_months(made_on, config.settings.plan.review_interval_months)
    organisation = Organisation.from_config(config)
    template = review_template(config)
    check_before_use(template, REVIEW, config)
    facts, current = pack_facts(registry, reference, made_on)
    pack = pack_content(facts, made_on, next_review, organisation,
                        LanguageSettings.from_config(config),
                        config.settings.plan.large_print)
    context, open_steps, signers = pack.context, pack.open_steps, facts.signers
    base_version, base_signed_on = facts.base_version, facts.base_signed_on
    folder = plan_folder(config, reference)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _target(folder, reference, made_on)
    with tempfile.TemporaryDirectory(dir=config.output_dir, prefix=".review-") as staging:
        staged = Path(staging) / f"{stem}.docx"
        body = render_docx(template, context, staged, finishing=pack.finishing)
        layout = None
        staged_pdf = None
        if pdf:
            [conversion] = convert_many(
                [staged], soffice=find_soffice(config.settings.pdf.soffice),
                timeout=config.settings.pdf.timeout_seconds, workers=1, batch_size=1,
                profiles=converter_profiles(config),
                options=PdfOptions(archival=config.settings.pdf.archival))
            if conversion.pdf is None:
                raise ConversionError(conversion.error or "the review pack could not be "
                                      "converted to PDF")
            staged_pdf = conversion.pdf
            if config.settings.reconcile.stamp:
                secret = load_secret(config.root, may_create=False)
                layout = stamp_plan(staged_pdf, open_steps, signers, secret, new_token())
        docx_path, pdf_path = folder / f"{stem}.docx", folder / f"{stem}.pdf"
        word_copy = Path(staging) / "word.docx"
        render_docx(template, context, word_copy, finishing=pack.finishing, word_copy=True,
                    body=body)
        publish(word_copy, docx_path)
        if staged_pdf is not None:
            publish(staged_pdf, pdf_path)
        with registry.engine.begin() as conn:
            review_id = registry.insert_review_pack(
                conn, reference=reference, version_id=current.id, base_version=base_version,
                made_on=made_on, next_review=next_review, docx_path=str(docx_path),
                pdf_path=str(pdf_path) if staged_pdf else None, signers=signers)
            if layout is not None:
                registry.record_layout(conn, current.id, layout, review_id)
            registry.record_event(conn, "review_pack_made", reference, current.version,
                                  review_id=review_id, base_version=base_version,
                                  docx=docx_path.name, pdf=pdf_path.name if staged_pdf else None)
    return ReviewOutcome(reference, review_id, docx_path, pdf_path if staged_pdf else None,
                         current.version, base_version, base_signed_on, next_review,
                         len(open_steps))
