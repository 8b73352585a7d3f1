"""The build's later stages, for each new version: render its DOCX files (in worker
processes, a chunk of plans side by side), convert the DOCX to PDF, stamp the PDF (page
codes, measured boxes), then publish its files and record it (or, for a version whose files
went missing, remake just those: pipeline/restore.py). A workbook that cannot become a plan
gets its error report here too.

Recording is two transactions around publishing: the version is recorded as "publishing"
before its files appear and marked issued after, so a build killed at any moment leaves
nothing that recovery (pipeline/recover.py) cannot finish.
"""

from __future__ import annotations

import logging
import shutil
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from .config import Config
from .errors import NEARLY_FULL_BYTES, DiskFull, disk_full
from .files import publish
from .intake.problems import ERROR, Problem, ReadResult
from .model import Household
from .outcome import (
    BUILT,
    FAILED,
    RESTORED,
    STEPS_PER_WORKBOOK,
    UNCHANGED,
    BuildOutcome,
    PlannedVersion,
)
from .outputs import (
    clear_error_reports,
    converter_profiles,
    plan_file,
    write_error_report,
    write_warning_report,
)
from .pagecodes import WORD_COPY_PAGE, PageId, encode
from .plan import open_steps_in_print_order, plan_content
from .registry import Registry, VersionRecord, VersionTaken
from .render.context import Organisation, TemplateError
from .render.convert import Converter, ConvertSettings, open_converter_soon
from .render.soffice import Conversion
from .render.workers import PlanWorkers, RenderJob, stamp_plan
from .restore import same_layout
from .wording.settings import LanguageSettings

log = logging.getLogger(__name__)


Futures = list[Future[Any]]
# Builds on other machines may issue versions of the same household meanwhile: decide again
# this many times at most.
MAX_ATTEMPTS = 3


class InFlight:
    """Chunks whose PDFs are being made, oldest first: each chunk's plans, the futures of
    their conversions, and of their conversion and stamping both (what the chunk waits
    for)."""

    def __init__(self) -> None:
        self._chunks: deque[tuple[list[PlannedVersion], Futures, Futures | None]] = deque()

    def add(self, planned: list[PlannedVersion], conversions: Futures,
            finished: Futures | None) -> None:
        self._chunks.append((planned, conversions, finished))

    def due(self, *, keep: int) -> Iterator[tuple[list[PlannedVersion], Futures | None]]:
        """The chunks to finish now, oldest first: all but the newest `keep`, and any that
        is finished already."""
        while self._chunks and (len(self._chunks) > keep or all(
                future.done() for future in self._chunks[0][2] or ())):
            planned, _, finished = self._chunks.popleft()
            yield planned, finished

    def cancel(self) -> None:
        """Drop conversions not started; wait for what is running (each has a timeout)."""
        running = []
        while self._chunks:
            _, conversions, finished = self._chunks.popleft()
            for future in [*conversions, *(finished or ())]:
                if not future.cancel():
                    running.append(future)
        wait(running)


class PlanStages:
    """Stages 2-5 of `Builder` (pipeline/build.py), which sets these attributes."""

    config: Config
    registry: Registry
    pdf: bool
    _converter: Converter | None
    _stamper: ThreadPoolExecutor | None
    _opening: Future[Converter] | None
    convert_settings: ConvertSettings
    secret: bytes | None
    workers: PlanWorkers
    organisation: Organisation
    languages: LanguageSettings
    large_print: bool

    def _after_success(self, outcome: BuildOutcome) -> BuildOutcome:
        assert outcome.reference is not None
        clear_error_reports(self.config, outcome.reference, outcome.workbook)
        outcome.warning_report = write_warning_report(self.config, outcome.workbook,
                                                      outcome.reference, outcome.warnings)
        return outcome

    # -- stage 2: render the DOCX files (in the workers) ------------------------------
    def _render(self, result: ReadResult, household: Household, version: int,
                step_ids: list[str], digest: str, workbook_sha256: str, token: str,
                reason: str, staging: Path) -> PlannedVersion:
        """The version, with what to render for it (rendered with its chunk's plans)."""
        staged = staging / f"support-plan-{household.reference}-v{version}.docx"
        word_copy = staging / "word" / staged.name
        word_copy.parent.mkdir(exist_ok=True)
        plan = PlannedVersion(result, household, version, step_ids, digest, workbook_sha256,
                              token, reason, staged, word_copy)
        plan.render_job = RenderJob(
            self.config.template_path, household, version, tuple(step_ids), self.organisation,
            self.languages, self.large_print, staged, word_copy,
            encode(PageId(token, WORD_COPY_PAGE), self.secret)
            if self.secret is not None else None)
        return plan

    def _render_all(self, planned: list[PlannedVersion],
                    finished: Callable[[BuildOutcome, int], None],
                    step: Callable[[int], None]) -> list[PlannedVersion]:
        """Render the DOCX files of a chunk's plans side by side in the workers; a plan that
        fails is finished; a broken template stops the batch (every plan would fail)."""
        jobs = [plan.render_job for plan in planned]
        rendered = []
        for plan, failure in zip(planned, self.workers.render(jobs), strict=True):
            if failure is None:
                step(1)
                rendered.append(plan)
            elif isinstance(failure, TemplateError):
                raise failure
            elif disk_full(failure):
                raise DiskFull.at(self.config.output_dir) from failure
            else:
                log.error("rendering a plan failed unexpectedly (%s)", type(failure).__name__)
                log.debug("details", exc_info=failure)
                finished(self._unexpected(plan.result, failure), STEPS_PER_WORKBOOK - 1)
        return rendered

    def report_invalid(self, result: ReadResult) -> BuildOutcome:
        """No plan: write the error report where the person will look, return the outcome."""
        reference = result.household.reference if result.household else None
        report = write_error_report(self.config, result, reference)
        errors = result.errors
        first = errors[0] if errors else None
        # A problem in a cell may quote what was typed there (a name): build's output goes
        # to logs, so it names the cell and leaves the words to the errors file.
        where = ("" if first is None else f", first at {first.location}" if first.sheet
                 else f", first: {first}")
        return BuildOutcome(result.path, FAILED, reference, problems=result.problems,
                            message=f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
                                    f"{where}", error_report=report)

    def _unexpected(self, result: ReadResult, exc: Exception) -> BuildOutcome:
        problem = Problem(ERROR, "", "", f"{result.path.name}: an unexpected error "
                          f"({type(exc).__name__}) stopped this plan",
                          "tell whoever looks after supportplan; the details are in the "
                          "debug log (--log-level debug)")
        return self.report_invalid(ReadResult(result.path, None, [*result.problems, problem]))

    # -- stage 3: convert (in other processes, while the next chunk is rendered) -------
    def _start_conversion(self, planned: list[PlannedVersion]
                          ) -> tuple[Futures, Futures | None]:
        """Start converting; returns the conversions' futures and, for each plan, the
        future of its conversion and stamping both."""
        if not self.pdf or not planned:
            return [], None
        if self._converter is None:
            self._open_converter_soon()
            assert self._opening is not None
            self._converter = self._opening.result()
        if self._stamper is None:
            # A thread per worker process, each waiting for a conversion, then for its
            # stamping in a worker.
            self._stamper = ThreadPoolExecutor(max_workers=self.workers.size,
                                               thread_name_prefix="stamper")
        conversions = self._converter.submit([plan.staged_docx for plan in planned])
        return conversions, [self._stamper.submit(self._take_conversion, plan, conversion)
                             for plan, conversion in zip(planned, conversions, strict=True)]

    def _open_converter_soon(self) -> None:
        """Start the converters in the background, at the first plan that needs a PDF: they
        warm up while the rest of its chunk is rendered (a batch of unchanged workbooks
        starts no LibreOffice)."""
        if self.pdf and self._converter is None and self._opening is None:
            self._opening = open_converter_soon(self.convert_settings,
                                                converter_profiles(self.config))

    def _take_conversion(self, plan: PlannedVersion, converting: Future[Conversion]) -> None:
        """Once the PDF is made (or not): stamp it, or say why the plan failed. Runs in a
        stamper thread, and so writes nothing but the staged PDF."""
        conversion = converting.result()
        if conversion.pdf is None:
            if shutil.disk_usage(plan.staged_docx.parent).free < NEARLY_FULL_BYTES:
                raise DiskFull.at(self.config.output_dir)  # LibreOffice only says "exit 77"
            plan.outcome = BuildOutcome(plan.result.path, FAILED, plan.household.reference,
                                        message=conversion.error or "PDF conversion failed")
            return
        plan.staged_pdf = conversion.pdf
        if self.secret is not None:
            self._stamp(plan, conversion.pdf, self.secret)

    def _finish_chunk(self, planned: list[PlannedVersion],
                      futures: list[Future[None]] | None,
                      report: Callable[[BuildOutcome], None],
                      step: Callable[[int], None],
                      again: list[Path] | None = None) -> list[BuildOutcome]:
        """Publish each plan of a chunk once its PDF is made. A plan whose version number
        another machine took meanwhile goes into `again`, to be decided afresh (unless
        `again` is None: tried often enough)."""
        done = []
        for index, plan in enumerate(planned):
            if futures is not None:
                futures[index].result()  # converted and stamped, or plan.outcome says why not
            try:
                outcome = plan.outcome or self._publish(plan)
            except VersionTaken as taken:  # another machine recorded this number first
                if not taken.same_content and again is not None:
                    step(1)
                    again.append(plan.result.path)  # decide again from what it issued
                    continue
                outcome = self._taken(plan, taken)
            step(1)
            report(outcome)
            done.append(outcome)
        return done

    @staticmethod
    def _taken(plan: PlannedVersion, taken: VersionTaken) -> BuildOutcome:
        reference = plan.household.reference
        if taken.same_content:
            return BuildOutcome(plan.result.path, UNCHANGED, reference, taken.version,
                                problems=plan.result.problems,
                                message=f"v{taken.version} with this content was made by "
                                "another build at the same time")
        return BuildOutcome(plan.result.path, FAILED, reference, message=(
            f"other builds kept issuing new versions of {reference} meanwhile (now "
            f"v{taken.version}); save the workbook again to build it"))

    # -- stage 4: stamp ----------------------------------------------------------------
    def _stamp(self, plan: PlannedVersion, pdf: Path, secret: bytes) -> None:
        try:
            # only open steps have a "Done" box: a closed one shows when it was done
            open_steps = open_steps_in_print_order(plan.household.steps, plan.step_ids)
            plan.layout = self.workers.run(stamp_plan, pdf, open_steps,
                                           plan.household.signers, secret, plan.token)
        except Exception as exc:  # one plan's stamping failure must not stop a batch
            log.exception("stamping failed for %s", plan.household.reference)
            plan.outcome = BuildOutcome(plan.result.path, FAILED, plan.household.reference,
                                        message=f"the PDF could not be stamped: {exc}")

    # -- stage 5: publish and record -------------------------------------------------
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
