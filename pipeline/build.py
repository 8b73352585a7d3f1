"""Build plans: workbooks in, versioned DOCX and PDF out, recorded in the registry.

The CLI and the watcher both call `build_workbooks`. For each workbook: read and validate;
if invalid, write an error report where the plan would be; if the signable content is
unchanged, update progress only; otherwise render a new version. DOCX files are rendered
first, then converted to PDF in batches, then published (linked into place, never
overwriting) and recorded in one registry transaction per household.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Config
from .files import publish, remove_stale_temporaries, replace_text, sha256_file
from .intake.files import WORKBOOK, classify
from .intake.reader import Problem, ReadResult, read_workbook
from .model import Household
from .plan import assign_step_ids, content_hash, plan_content
from .registry import Registry, VersionRecord, open_registry
from .render.docx import Organisation, plan_context, render_docx
from .render.soffice import Conversion, ConversionError, convert_many, find_soffice

log = logging.getLogger(__name__)

BUILT = "built"
UNCHANGED = "unchanged"
PROGRESS = "progress updated"
FAILED = "failed"

STAGING = ".staging"
ORPHANS = ".interrupted"
ERROR_REPORT = "errors-{ref}.txt"
_VERSION_FILE = re.compile(r"^support-plan-(?P<ref>.+)-v(?P<n>\d+)\.(docx|pdf)$")

# A hook run on each converted PDF before it is published (the reconciler's stamping
# stage registers here to add QR codes and record box positions).
PdfPostProcessor = Callable[["PlannedVersion", Path], None]
# Converts staged DOCX files to PDFs beside them, in order (default: a cold LibreOffice
# batch; the watcher plugs in its warm converter pool here).
Converter = Callable[[Sequence[Path]], list[Conversion]]


@dataclass
class BuildOutcome:
    workbook: Path
    status: str
    reference: str | None = None
    version: int | None = None
    docx: Path | None = None
    pdf: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    message: str = ""
    error_report: Path | None = None


@dataclass
class PlannedVersion:
    """A new version on its way: rendered in staging, not yet published."""

    result: ReadResult
    household: Household
    version: int
    step_ids: list[str]
    content_hash: str
    workbook_sha256: str
    staged_docx: Path
    staged_pdf: Path | None = None
    outcome: BuildOutcome | None = None
    # Set by the stamping post-processor (a reconcile.layout.DocumentLayout); recorded with
    # the version in the same transaction, so no version exists without its box positions.
    layout: Any = None


def collect_workbooks(paths: Iterable[Path]) -> list[Path]:
    """Files as given; from folders, the workbooks in them (the watcher's rules: no lock,
    temp or hidden files, no symlinks)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir()
                            if classify(p, path) == WORKBOOK and p.is_file())
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve() if path.exists() else path, None)
    return list(unique)


def plan_folder(config: Config, reference: str) -> Path:
    return config.output_dir / reference


def plan_file(config: Config, reference: str, version: int, suffix: str) -> Path:
    return plan_folder(config, reference) / f"support-plan-{reference}-v{version}.{suffix}"


def set_aside_orphans(config: Config, reference: str, issued: int) -> list[Path]:
    """Move plan files the registry never recorded (a build killed between publishing and
    recording) out of the way, so their version number is issued again cleanly and nothing
    half-done is mistaken for a signed plan. Returns where they went."""
    folder = plan_folder(config, reference)
    if not folder.is_dir():
        return []
    orphans = [p for p in folder.iterdir()
               if (m := _VERSION_FILE.match(p.name)) and m["ref"] == reference
               and int(m["n"]) > issued]
    moved = []
    for orphan in orphans:
        target = config.output_dir / ORPHANS / reference / f"{uuid.uuid4().hex[:8]}-{orphan.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        orphan.rename(target)
        moved.append(target)
        log.warning("%s: set aside %s, left by an interrupted build", reference, orphan.name)
    return moved


@contextlib.contextmanager
def build_lock(output_dir: Path) -> Iterator[None]:
    """One build at a time per output folder (the watcher and a manual `build` may overlap):
    version numbers and orphan clean-up rely on it. Released by the OS if the process dies."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / ".build.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_interrupted_leftovers(output_dir: Path) -> None:
    """Staging folders and `.part` files a killed build left. Call with the build lock held:
    they may belong to a build still running."""
    shutil.rmtree(output_dir / STAGING, ignore_errors=True)
    remove_stale_temporaries(output_dir)


def default_post_processor(config: Config, pdf: bool) -> PdfPostProcessor | None:
    """Stamping (QR codes, alignment marks, measured box layout) unless turned off."""
    if not pdf or not bool(config.get("reconcile", "stamp")):
        return None
    from .reconcile.stamp import make_post_processor

    return make_post_processor(config)


class Builder:
    """Holds what a batch shares: config, registry, template, LibreOffice."""

    def __init__(self, config: Config, *, registry: Registry | None = None, pdf: bool = True,
                 post_process: PdfPostProcessor | None = None,
                 converter: Converter | None = None) -> None:
        self.config = config
        self.converter = converter
        self.registry = registry or open_registry(config.registry_url)
        self.pdf = pdf
        self.post_process = post_process
        self.organisation = Organisation(config.organisation_name,
                                         str(config.get("organisation", "contact")))
        self.soffice = find_soffice(str(config.get("pdf", "soffice"))) if pdf else None
        self._cleaned = False

    def build(self, workbooks: Sequence[Path],
              progress: Callable[[BuildOutcome], None] | None = None) -> list[BuildOutcome]:
        with build_lock(self.config.output_dir):
            if not self._cleaned:
                remove_interrupted_leftovers(self.config.output_dir)
                self._cleaned = True
            staging = self.config.output_dir / STAGING / uuid.uuid4().hex
            staging.mkdir(parents=True)
            try:
                return self._build(workbooks, staging, progress or (lambda _outcome: None))
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def _build(self, workbooks: Sequence[Path], staging: Path,
               progress: Callable[[BuildOutcome], None]) -> list[BuildOutcome]:
        outcomes: dict[Path, BuildOutcome] = {}
        planned: list[PlannedVersion] = []
        seen_references: dict[str, Path] = {}
        for workbook in workbooks:
            outcome, plan = self._prepare(workbook, staging, seen_references)
            if plan is None:
                outcomes[workbook] = outcome
                progress(outcome)
            else:
                planned.append(plan)
        if self.pdf and planned:
            self._convert(planned)
        for plan in planned:
            outcome = plan.outcome or self._publish(plan)
            outcomes[plan.result.path] = outcome
            progress(outcome)
        return [outcomes[w] for w in workbooks]

    # -- stage 1: read, decide, render DOCX ------------------------------------------
    def _prepare(self, workbook: Path, staging: Path,
                 seen: dict[str, Path]) -> tuple[BuildOutcome, PlannedVersion | None]:
        try:
            workbook_sha256 = sha256_file(workbook)
        except OSError as exc:
            return BuildOutcome(workbook, FAILED, message=f"cannot read {workbook.name}: "
                                f"{exc.strerror}"), None
        result = read_workbook(
            workbook, review_interval_months=int(self.config.get("plan",
                                                                 "review_interval_months")))
        if not result.ok:
            return self.report_invalid(result), None
        household = result.household
        assert household is not None
        reference = household.reference
        if reference in seen:
            result.problems.append(Problem(
                "error", "Household", "B2", f'the reference "{reference}" is also used by '
                f"{seen[reference].name}", "give each household its own reference"))
            return self.report_invalid(result), None
        seen[reference] = workbook
        digest = content_hash(household)
        latest = self.registry.latest_version(reference)
        if latest is not None and latest.content_hash == digest:
            return self._update_progress(result, household, workbook_sha256, latest), None
        with self.registry.engine.connect() as conn:
            step_ids = assign_step_ids(reference, self.registry.known_steps(reference, conn),
                                       household.steps,
                                       self.registry.next_step_number(reference, conn))
        issued = latest.version if latest else 0
        set_aside_orphans(self.config, reference, issued)
        version = issued + 1
        staged = staging / f"support-plan-{reference}-v{version}.docx"
        context = plan_context(household, version, step_ids, self.organisation)
        render_docx(self.config.template_path, context, staged)
        return BuildOutcome(workbook, BUILT, reference), PlannedVersion(
            result, household, version, step_ids, digest, workbook_sha256, staged)

    def report_invalid(self, result: ReadResult) -> BuildOutcome:
        """No plan: write the error report where the plan would be, return the outcome."""
        reference = result.household.reference if result.household else None
        report = self._write_error_report(result, reference)
        first = result.errors[0] if result.errors else None
        return BuildOutcome(result.path, FAILED, reference, problems=result.problems,
                            message=f"{len(result.errors)} error(s), first: {first}",
                            error_report=report)

    def _write_error_report(self, result: ReadResult, reference: str | None) -> Path:
        name = reference or _safe_stem(result.path)
        target = plan_folder(self.config, name) / ERROR_REPORT.format(ref=name)
        lines = [f"{result.path.name}: no plan was made because of {len(result.errors)} "
                 "problem(s).", "Fix each one in the workbook and save it again; the plan is "
                 "then made automatically.", ""]
        lines += [f"- {problem}" for problem in result.errors]
        if result.warnings:
            lines += ["", "Also worth checking (these do not stop the plan):"]
            lines += [f"- {problem}" for problem in result.warnings]
        target.parent.mkdir(parents=True, exist_ok=True)
        return replace_text(target, "\n".join(lines) + "\n")

    def _clear_error_report(self, reference: str, workbook: Path) -> None:
        for name in {reference, _safe_stem(workbook)}:
            (plan_folder(self.config, name) / ERROR_REPORT.format(ref=name)).unlink(
                missing_ok=True)

    def _update_progress(self, result: ReadResult, household: Household, workbook_sha256: str,
                         latest: VersionRecord) -> BuildOutcome:
        reference = household.reference
        step_ids = self.registry.version_step_ids(latest.id)
        with self.registry.engine.begin() as conn:
            changes = self.registry.update_steps(conn, reference, step_ids, household.steps)
            self.registry.upsert_household(conn, household, workbook_path=str(result.path),
                                           workbook_sha256=workbook_sha256,
                                           content_hash=latest.content_hash)  # unchanged
            for step_id, old, new in changes:
                self.registry.record_event(conn, "step_status", reference, latest.version,
                                           step_id=step_id, old=old, new=new)
        self._clear_error_report(reference, result.path)
        outcome = BuildOutcome(result.path, PROGRESS if changes else UNCHANGED, reference,
                               latest.version, problems=result.problems)
        outcome.message = (f"{len(changes)} step(s) changed status" if changes
                           else "no change since the last version")
        return outcome

    # -- stage 2: convert --------------------------------------------------------------
    def _convert(self, planned: list[PlannedVersion]) -> None:
        assert self.soffice is not None
        docxs = [plan.staged_docx for plan in planned]
        conversions = self.converter(docxs) if self.converter is not None else convert_many(
            docxs, soffice=self.soffice,
            timeout=float(self.config.get("pdf", "timeout_seconds")),
            workers=int(self.config.get("pdf", "workers")),
            batch_size=int(self.config.get("pdf", "batch_size")))
        for plan, conversion in zip(planned, conversions, strict=True):
            if conversion.pdf is None:
                plan.outcome = BuildOutcome(plan.result.path, FAILED, plan.household.reference,
                                            message=conversion.error or "PDF conversion failed")
                continue
            plan.staged_pdf = conversion.pdf
            if self.post_process is not None:
                try:
                    self.post_process(plan, conversion.pdf)
                except Exception as exc:  # one plan's stamping failure must not stop a batch
                    log.exception("post-processing failed for %s", plan.household.reference)
                    plan.outcome = BuildOutcome(plan.result.path, FAILED,
                                                plan.household.reference,
                                                message=f"PDF post-processing failed: {exc}")

    # -- stage 3: publish and record -------------------------------------------------
    def _publish(self, plan: PlannedVersion) -> BuildOutcome:
        household, reference = plan.household, plan.household.reference
        docx = plan_file(self.config, reference, plan.version, "docx")
        pdf = plan_file(self.config, reference, plan.version, "pdf") if plan.staged_pdf else None
        docx.parent.mkdir(parents=True, exist_ok=True)
        try:
            publish(plan.staged_docx, docx)
            if pdf is not None and plan.staged_pdf is not None:
                publish(plan.staged_pdf, pdf)
        except FileExistsError as exc:
            return BuildOutcome(plan.result.path, FAILED, reference, message=f"{exc} already "
                                "exists (another build got there first); save the workbook "
                                "again to retry")
        with self.registry.engine.begin() as conn:
            self.registry.upsert_household(conn, household, workbook_path=str(plan.result.path),
                                           workbook_sha256=plan.workbook_sha256,
                                           content_hash=plan.content_hash)
            self.registry.update_steps(conn, reference, plan.step_ids, household.steps)
            version_id = self.registry.insert_version(
                conn, household, version=plan.version, content_hash=plan.content_hash,
                content=plan_content(household), step_ids=plan.step_ids,
                docx_path=str(docx), pdf_path=str(pdf) if pdf else None)
            if plan.layout is not None:
                from .reconcile.store import record_layout
                record_layout(conn, version_id, plan.layout)
            self.registry.record_event(conn, "version_issued", reference, plan.version,
                                       docx=docx.name, pdf=pdf.name if pdf else None,
                                       signers=[s.key for s in household.signers])
        self._clear_error_report(reference, plan.result.path)
        return BuildOutcome(plan.result.path, BUILT, reference, plan.version, docx, pdf,
                            problems=plan.result.problems)


def _safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:40] or "workbook"


def build_workbooks(config: Config, paths: Sequence[Path], *, pdf: bool = True,
                    progress: Callable[[BuildOutcome], None] | None = None,
                    registry: Registry | None = None) -> list[BuildOutcome]:
    """Build every workbook found in `paths` (files or folders)."""
    builder = Builder(config, registry=registry, pdf=pdf,
                      post_process=default_post_processor(config, pdf))
    return builder.build(collect_workbooks(paths), progress)


__all__ = ["BUILT", "FAILED", "PROGRESS", "UNCHANGED", "BuildOutcome", "Builder",
           "ConversionError", "build_workbooks", "collect_workbooks"]
