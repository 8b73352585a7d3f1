"""The build's later stages, for each new version: convert its DOCX to PDF, stamp the PDF
(page codes, measured boxes), then publish its files and record it (or, for a version whose
files went missing, remake just those: pipeline/restore.py).

Recording is two transactions around publishing: the version is recorded as "publishing"
before its files appear and marked issued after, so a build killed at any moment leaves
nothing that recovery (pipeline/recover.py) cannot finish.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .config import Config
from .errors import NEARLY_FULL_BYTES, DiskFull
from .files import publish
from .outcome import BUILT, FAILED, RESTORED, BuildOutcome, Converter, PlannedVersion
from .outputs import (
    clear_error_reports,
    converter_profiles,
    plan_file,
    write_warning_report,
)
from .plan import plan_content
from .registry import Registry, VersionRecord
from .render.soffice import PdfOptions, convert_many
from .render.stamp import stamp_plan
from .restore import same_layout

log = logging.getLogger(__name__)


class PlanStages:
    """Stages 2-4 of `Builder` (pipeline/build.py), which sets these attributes."""

    config: Config
    registry: Registry
    converter: Converter | None
    soffice: Path | None
    secret: bytes | None
    pdf_options: PdfOptions

    def _after_success(self, outcome: BuildOutcome) -> BuildOutcome:
        assert outcome.reference is not None
        clear_error_reports(self.config, outcome.reference, outcome.workbook)
        outcome.warning_report = write_warning_report(self.config, outcome.workbook,
                                                      outcome.reference, outcome.warnings)
        return outcome

    # -- stage 2: convert --------------------------------------------------------------
    def _convert(self, planned: list[PlannedVersion]) -> None:
        assert self.soffice is not None
        docxs = [plan.staged_docx for plan in planned]
        conversions = self.converter(docxs) if self.converter is not None else convert_many(
            docxs, soffice=self.soffice,
            timeout=float(self.config.get("pdf", "timeout_seconds")),
            workers=int(self.config.get("pdf", "workers")),
            batch_size=int(self.config.get("pdf", "batch_size")),
            profiles=converter_profiles(self.config), options=self.pdf_options)
        if any(c.pdf is None for c in conversions) and shutil.disk_usage(
                docxs[0].parent).free < NEARLY_FULL_BYTES:
            raise DiskFull.at(self.config.output_dir)  # LibreOffice only says "exit 77"
        for plan, conversion in zip(planned, conversions, strict=True):
            if conversion.pdf is None:
                plan.outcome = BuildOutcome(plan.result.path, FAILED, plan.household.reference,
                                            message=conversion.error or "PDF conversion failed")
                continue
            plan.staged_pdf = conversion.pdf
            if self.secret is not None:
                self._stamp(plan, conversion.pdf, self.secret)

    # -- stage 3: stamp ----------------------------------------------------------------
    def _stamp(self, plan: PlannedVersion, pdf: Path, secret: bytes) -> None:
        try:
            # only open steps have a "Done" box: a closed one shows when it was done
            open_steps = [step_id for step_id, step in zip(plan.step_ids, plan.household.steps,
                                                           strict=True) if not step.is_closed]
            plan.layout = stamp_plan(pdf, open_steps, plan.household.signers, secret,
                                     plan.token)
        except Exception as exc:  # one plan's stamping failure must not stop a batch
            log.exception("stamping failed for %s", plan.household.reference)
            plan.outcome = BuildOutcome(plan.result.path, FAILED, plan.household.reference,
                                        message=f"the PDF could not be stamped: {exc}")

    # -- stage 4: publish and record -------------------------------------------------
    def _publish(self, plan: PlannedVersion) -> BuildOutcome:
        if plan.restoring is not None:
            return self._restore(plan, plan.restoring)
        household, reference = plan.household, plan.household.reference
        docx = plan_file(self.config, reference, plan.version, "docx")
        pdf = plan_file(self.config, reference, plan.version, "pdf") if plan.staged_pdf else None
        with self.registry.publishing() as recording:
            # Recorded first, as "publishing": files never exist without a record to explain
            # them. The number is checked again under the household's row lock (another
            # machine may have issued it since this build read the workbook).
            with recording.begin():
                self.registry.reserve_version(recording, household, plan.version,
                                              plan.content_hash)
                self.registry.update_steps(recording, reference, plan.step_ids,
                                           household.steps)
                version_id = self.registry.insert_version(
                    recording, household, version=plan.version,
                    content_hash=plan.content_hash, content=plan_content(household),
                    step_ids=plan.step_ids, docx_path=str(docx),
                    pdf_path=str(pdf) if pdf else None, reason=plan.reason)
                if plan.layout is not None:
                    self.registry.record_layout(recording, version_id, plan.layout)
                self.registry.hold_version(recording, version_id)
            published: list[Path] = []
            try:
                docx.parent.mkdir(parents=True, exist_ok=True)
                for staged, target in ((plan.staged_word_copy, docx), (plan.staged_pdf, pdf)):
                    if staged is not None and target is not None:
                        publish(staged, target)
                        published.append(target)
            except BaseException as exc:
                # Undo in-process (a disk full, a file in the way); a killed process leaves
                # the "publishing" record for recovery instead.
                for path in published:
                    path.unlink(missing_ok=True)
                with self.registry.engine.begin() as conn:
                    self.registry.discard_version(conn, version_id)
                if isinstance(exc, FileExistsError):
                    return BuildOutcome(plan.result.path, FAILED, reference, message=f"{exc} "
                                        "already exists (another build got there first); "
                                        "save the workbook again to retry")
                raise
            with recording.begin():
                self.registry.upsert_household(recording, household,
                                               workbook_path=str(plan.result.path),
                                               workbook_sha256=plan.workbook_sha256,
                                               content_hash=plan.content_hash)
                self.registry.mark_issued(recording, version_id)
                self.registry.record_event(recording, "version_issued", reference,
                                           plan.version, docx=docx.name,
                                           pdf=pdf.name if pdf else None,
                                           signers=[s.key for s in household.signers],
                                           reason=plan.reason)
        return self._after_success(BuildOutcome(plan.result.path, BUILT, reference,
                                                plan.version, docx, pdf,
                                                problems=plan.result.problems))

    def _restore(self, plan: PlannedVersion, latest: VersionRecord) -> BuildOutcome:
        """Put back the missing files of an issued version, if remade exactly as issued."""
        reference = plan.household.reference
        recorded = self.registry.version_layout(latest.id)
        if recorded is not None and plan.staged_pdf is not None and (
                plan.layout is None or not same_layout(plan.layout, recorded)):
            return BuildOutcome(plan.result.path, FAILED, reference, latest.version,
                                message=f"the files of v{latest.version} are missing and "
                                "could not be remade exactly as issued; restore them from "
                                f"your backup into output/{reference}/")
        docx = Path(latest.docx_path)
        pdf = Path(latest.pdf_path) if latest.pdf_path else None
        restored = []
        for staged, target in ((plan.staged_word_copy, docx), (plan.staged_pdf, pdf)):
            if staged is not None and target is not None and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                publish(staged, target)
                restored.append(target.name)
        with self.registry.engine.begin() as conn:
            self.registry.record_event(conn, "files_restored", reference, latest.version,
                                       files=restored)
        return self._after_success(BuildOutcome(
            plan.result.path, RESTORED, reference, latest.version, docx, pdf,
            problems=plan.result.problems,
            message=f"remade the missing {' and '.join(restored)} (the version is unchanged)"))
