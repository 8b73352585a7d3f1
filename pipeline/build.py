"""Build plans: workbooks in, versioned DOCX and PDF out, recorded in the registry.

The CLI and the watcher both call `build_workbooks`. Workbooks go through in chunks, so
results come out while the rest of a big batch is still being worked on. For each chunk:

1. read each workbook (in a child process with time and memory limits) and decide: errors
   give an error report where the person will look for it; unchanged content updates
   progress only; new content is a new version, unless it would merge two households'
   records (pipeline/safeguards.py). The decision is a pure function of the workbook and
   of one snapshot of what the registry knows (pipeline/decide.py);
2. render each new version's DOCX: one for the PDF, and the editable Word copy (also for
   an unchanged version whose files went missing: pipeline/restore.py), in worker
   processes, a chunk at a time;
3. convert each DOCX to PDF (warm LibreOffice converters: pipeline/render/convert.py);
4. stamp the PDF (in the worker processes);
5. publish and record.
Stages 2 to 5 are in pipeline/stages.py.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from .config import Config
from .decide import MergeRefused, SameVersion, decide
from .errors import DiskFull, disk_full
from .files import sha256_file
from .intake.files import collect_workbooks
from .intake.isolate import IsolatedReader
from .intake.options import ReadOptions
from .intake.problems import ERROR, Problem, ReadResult
from .intake.references import case_key
from .intake.schema import HOUSEHOLD_SHEET
from .model import Household
from .outcome import (
    BUILT,
    FAILED,
    PROGRESS,
    RESTORED,
    STEPS_PER_WORKBOOK,
    UNCHANGED,
    BuildOutcome,
    PlannedVersion,
)
from .outputs import (
    UnsafeFolder,
    build_lock,
    plan_folder,
    staging_folder,
)
from .pagecodes import load_secret, new_token
from .recover import check_registry_matches_output, recover_locked, unrecorded_problem
from .registry import Registry, registry_for
from .render.context import Organisation, TemplateError
from .render.convert import Converter, ConvertSettings
from .render.soffice import ConversionError, find_soffice
from .render.template_check import PLAN, check_before_use
from .render.workers import PlanWorkers
from .restore import missing_files
from .safeguards import file_name_problem
from .stages import MAX_ATTEMPTS, InFlight, PlanStages
from .wording.settings import LanguageSettings

log = logging.getLogger(__name__)

IN_FLIGHT = 3  # chunks rendered and not yet published: slack for converters and stamping

class Builder(PlanStages):
    """Holds what a batch shares: config, registry, template, LibreOffice."""

    def __init__(self, config: Config, *, registry: Registry | None = None, pdf: bool = True,
                 converter: Converter | None = None, jobs: int | None = None,
                 same_household: Collection[str] = (),
                 opening: Future[Converter] | None = None) -> None:
        self.config = config
        # The converter pool: the caller's (the watcher keeps one warm between builds), or
        # one opened at the first PDF (or by the caller ahead: `opening`) and closed by
        # close().
        self._converter = converter
        self._owns_converter = converter is None
        self._stamper: ThreadPoolExecutor | None = None  # started with the first conversion
        self._opening = opening  # the converter, starting
        self.convert_settings = ConvertSettings.from_config(config, jobs=jobs)
        # Workbooks handled together. Warm converters take documents one by one, so small
        # chunks start them sooner; a cold LibreOffice start is paid once per chunk; with
        # no PDFs to make, each household is finished (and reported) on its own.
        self.chunk = (1 if not pdf else 2 * self.convert_settings.jobs
                      if self.convert_settings.warm
                      else max(1, config.settings.pdf.batch_size))
        self.registry = registry or registry_for(config)
        self._owns_registry = registry is None
        self.pdf = pdf
        # Stamping (page codes, corner marks, measured boxes) needs the workspace's secret.
        self.secret = (load_secret(config.root, may_create=not self.registry.has_printed_pages())
                       if pdf and config.settings.reconcile.stamp else None)
        self.organisation = Organisation.from_config(config)
        self.soffice = find_soffice(config.settings.pdf.soffice) if pdf else None
        self.languages = LanguageSettings.from_config(config)
        self.large_print = config.settings.plan.large_print
        self.read_options = ReadOptions.from_config(config)
        # References whose new version may share no member with the last (see safeguards).
        self.same_household = {case_key(reference) for reference in same_household}
        self._reader: IsolatedReader | None = None
        # Render and stamp plans in other processes, one per converter (started at the
        # first plan to render).
        self.workers = PlanWorkers(self.convert_settings.jobs)

    def notices(self) -> list[str]:
        """Things about the whole workspace worth saying once per build: a missing contact
        line, and what the template check found that does not stop a build (strings shown
        in English for want of a translation, tags Word split that docxtpl joins)."""
        found = []
        if not self.organisation.reachable:
            found.append("config.toml [organisation] has no phone or contact line, so plans "
                         "tell households only how to reach their caseworker; fill in phone "
                         "(and out_of_hours, crisis) so they know who to call")
        if self.config.template_path.is_file():
            found += check_before_use(self.config.template_path, PLAN, self.config).notices
        return found

    def build(self, workbooks: Sequence[Path],
              progress: Callable[[BuildOutcome], None] | None = None,
              tick: Callable[[int], None] | None = None) -> list[BuildOutcome]:
        """Build `workbooks`; `progress` hears of each household as it is done, `tick` of
        each step of each workbook (STEPS_PER_WORKBOOK per workbook in all)."""
        report = progress or (lambda _outcome: None)
        step = tick or (lambda _n: None)
        outcomes: dict[Path, BuildOutcome] = {}
        # A broken template fails every plan the same way: refuse it once, with what to fix.
        check_before_use(self.config.template_path, PLAN, self.config)
        with build_lock(self.config.output_dir):
            # Each time, not once: a watcher runs for weeks and a build may have been
            # stopped by an error part-way.
            recover_locked(self.config, self.registry)
            check_registry_matches_output(self.config, self.registry)
            staging = staging_folder(self.config)
            try:
                for outcome in self._pipeline(workbooks, staging, report, step):
                    outcomes[outcome.workbook] = outcome
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return [outcomes[w] for w in workbooks]

    def _pipeline(self, workbooks: Sequence[Path], staging: Path,
                  report: Callable[[BuildOutcome], None],
                  step: Callable[[int], None], attempt: int = 1) -> Iterator[BuildOutcome]:
        """The stages overlapped, in chunks: while the converters make the PDFs of one chunk
        (and a helper thread stamps them), this thread decides and renders the next, whose
        workbooks are read meanwhile, then publishes the first. Registry writes stay in this
        one thread; at most IN_FLIGHT chunks are in flight, so memory does not grow with
        the batch. Workbooks whose version number another machine took meanwhile are
        decided again afterwards (`attempt` counts the rounds)."""
        chunks = [workbooks[start: start + self.chunk]
                  for start in range(0, len(workbooks), self.chunk)]
        seen: dict[str, tuple[Path, str]] = {}
        converting = InFlight()
        again: list[Path] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reader") as reading:
            reads = [reading.submit(self._read_chunk, chunk) for chunk in chunks[:1]]
            try:
                for index, chunk in enumerate(chunks):
                    read = reads.pop().result()
                    if index + 1 < len(chunks):  # read the next while this one is worked on
                        reads.append(reading.submit(self._read_chunk, chunks[index + 1]))
                    done: list[BuildOutcome] = []
                    planned = self._prepare_chunk(chunk, read, staging, seen, done, report,
                                                  step)
                    converting.add(planned, *self._start_conversion(planned))
                    # Without PDFs there is nothing to overlap: each household is
                    # finished, and reported, as soon as it is rendered.
                    for chunk_planned, futures in converting.due(
                            keep=IN_FLIGHT - 1 if self.pdf else 0):
                        done += self._finish_chunk(chunk_planned, futures, report, step,
                                                   again if attempt < MAX_ATTEMPTS else None)
                    yield from done
                for chunk_planned, futures in converting.due(keep=0):
                    yield from self._finish_chunk(chunk_planned, futures, report, step,
                                                  again if attempt < MAX_ATTEMPTS else None)
            except BaseException as exc:
                if not isinstance(exc, Exception):  # Ctrl-C: stop LibreOffice and workers now
                    if self._converter is not None:
                        self._converter.abort()
                    self.workers.abort()
                for future in reads:
                    future.cancel()
                converting.cancel()  # nothing more converted into a staging folder going away
                raise
        if again:
            yield from self._pipeline(again, staging, report, lambda _n: None, attempt + 1)

    def _read_chunk(self, workbooks: Sequence[Path]
                    ) -> dict[Path, tuple[ReadResult, str] | str]:
        """What was read from each workbook and its content hash, or why it was not."""
        found: dict[Path, tuple[ReadResult, str] | str] = {}
        digests: dict[Path, str] = {}
        for workbook in workbooks:
            try:
                digests[workbook] = sha256_file(workbook)
            except OSError as exc:
                found[workbook] = f"cannot read {workbook.name}: {exc.strerror}"
        readable = list(digests)
        for workbook, result in zip(readable, self.read(readable), strict=True):
            found[workbook] = (result, digests[workbook])
        return found

    def _prepare_chunk(self, workbooks: Sequence[Path],
                       read: dict[Path, tuple[ReadResult, str] | str],
                       staging: Path, seen: dict[str, tuple[Path, str]],
                       done: list[BuildOutcome], report: Callable[[BuildOutcome], None],
                       step: Callable[[int], None]) -> list[PlannedVersion]:
        """Decide each workbook; render the DOCX of each new version (returned). Workbooks
        that need no PDF are finished here, into `done`."""
        def finished(outcome: BuildOutcome, steps_left: int) -> None:
            step(steps_left)
            done.append(outcome)
            report(outcome)

        planned: list[PlannedVersion] = []
        for workbook in workbooks:
            if isinstance(read[workbook], str):
                finished(BuildOutcome(workbook, FAILED, message=str(read[workbook])),
                         STEPS_PER_WORKBOOK)
                continue
            result, digest = read[workbook]
            step(1)
            try:
                outcome, plan = self._prepare(result, digest, staging, seen)
            except (TemplateError, ConversionError):
                raise  # the template or LibreOffice: every plan would fail the same way
            except Exception as exc:  # one household's failure must not stop the batch
                if disk_full(exc):
                    raise DiskFull.at(self.config.output_dir) from exc  # nor would the rest
                log.error("building a plan failed unexpectedly (%s)", type(exc).__name__)
                log.debug("details", exc_info=True)
                outcome, plan = self._unexpected(result, exc), None
            if plan is None:
                finished(outcome, STEPS_PER_WORKBOOK - 1)
            else:
                planned.append(plan)
                self._open_converter_soon()
        return self._render_all(planned, finished, step) if planned else []

    # -- stage 1: read and decide ----------------------------------------------
    def read(self, workbooks: Sequence[Path]) -> list[ReadResult]:
        """Read workbooks, each in a child process with time and memory limits."""
        if self._reader is None:
            self._reader = IsolatedReader(self.read_options)
        return self._reader.read_many(workbooks)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._stamper is not None:
            self._stamper.shutdown(wait=True)
            self._stamper = None
        self.workers.close()
        if self._opening is not None and self._converter is None:
            with contextlib.suppress(Exception):  # reported where it was awaited, if it was
                self._converter = self._opening.result()
        self._opening = None
        if self._owns_converter and self._converter is not None:
            self._converter.close()  # waits until its LibreOffice processes are gone
            self._converter = None
        if self._owns_registry:
            # its connections closed now, not whenever the garbage collector gets to them
            # (until then SQLite keeps its -wal and -shm files beside the database)
            self.registry.close()

    def _refuse(self, result: ReadResult, problem: Problem) -> BuildOutcome:
        return self.report_invalid(replace(result, household=None,
                                           problems=[*result.problems, problem]))

    def _prepare(self, result: ReadResult, workbook_sha256: str, staging: Path,
                 seen: dict[str, tuple[Path, str]]
                 ) -> tuple[BuildOutcome, PlannedVersion | None]:
        workbook = result.path
        if not result.ok:
            return self.report_invalid(result), None
        household = result.household
        assert household is not None
        reference = household.reference
        # A file not named after its reference is refused before it can claim the reference
        # in this batch (a copy must not make the real workbook look like the duplicate).
        if (problem := file_name_problem(workbook, reference)) is not None:
            return self._refuse(result, problem), None
        try:
            plan_folder(self.config, reference)
        except UnsafeFolder as exc:
            return self._refuse(result, Problem(ERROR, "", "", exc.problem, exc.fix)), None
        if case_key(reference) in seen:
            other, other_reference = seen[case_key(reference)]
            why = "" if other_reference == reference else (
                f' as "{other_reference}" (references that differ only in upper and lower '
                "case name the same folder on Windows shares)")
            # Reported under this file's own name: the folder of the reference belongs to
            # the other workbook, whose build would clear the report.
            return self._refuse(result, Problem(
                ERROR, HOUSEHOLD_SHEET, "B2", f'the reference "{reference}" is also used by '
                f"{other.name}{why}", "give each household its own reference")), None
        seen[case_key(reference)] = (workbook, reference)
        # One question to the registry, a pure decision (pipeline/decide.py); what only the
        # file system can tell (missing files, files the registry never saw) is looked at here.
        snapshot = self.registry.snapshot(reference)
        latest = snapshot.latest
        decision = decide(household, snapshot,
                          same_household=case_key(reference) in self.same_household,
                          files_missing=latest is not None and bool(missing_files(
                              latest.docx_path, latest.pdf_path if self.pdf else None)))
        if isinstance(decision, MergeRefused):
            return self._refuse(result, decision.problem), None
        if isinstance(decision, SameVersion):
            outcome = self._update_progress(result, household, workbook_sha256, decision)
            if decision.remake is None:
                return outcome, None
            return outcome, self._remake(result, decision, workbook_sha256, staging)
        if (problem := unrecorded_problem(self.config, self.registry, reference,
                                          decision.recorded_up_to)) is not None:
            return self._refuse(result, problem), None
        return BuildOutcome(workbook, BUILT, reference), self._render(
            result, household, decision.version, list(decision.step_ids),
            decision.content_hash, workbook_sha256, new_token(), decision.reason, staging)

    def _remake(self, result: ReadResult, decision: SameVersion, workbook_sha256: str,
                staging: Path) -> PlannedVersion:
        """Render an issued version again, as issued, to remake its missing files."""
        latest, remake = decision.latest, decision.remake
        assert remake is not None
        plan = self._render(result, remake.household, latest.version, list(decision.step_ids),
                            latest.content_hash, workbook_sha256, remake.token or new_token(),
                            "", staging)
        plan.restoring = latest
        return plan

    def _update_progress(self, result: ReadResult, household: Household, workbook_sha256: str,
                         decision: SameVersion) -> BuildOutcome:
        latest = decision.latest
        # The registry's write says what changed (another build may have recorded some of
        # it meanwhile): that, not the decision's expectation, is reported.
        changes = self.registry.record_progress(
            household, latest.version, decision.step_ids, workbook_path=str(result.path),
            workbook_sha256=workbook_sha256, content_hash=latest.content_hash)  # unchanged
        outcome = BuildOutcome(result.path, PROGRESS if changes else UNCHANGED,
                               household.reference, latest.version, problems=result.problems)
        outcome.message = (f"{len(changes)} step(s) changed status" if changes
                           else "no change since the last version")
        return self._after_success(outcome)

def build_workbooks(config: Config, paths: Sequence[Path], *, pdf: bool = True,
                    progress: Callable[[BuildOutcome], None] | None = None,
                    registry: Registry | None = None, jobs: int | None = None,
                    same_household: Collection[str] = ()) -> list[BuildOutcome]:
    """Build every workbook found in `paths` (files or folders); `jobs` converters side by
    side (default: [convert] jobs)."""
    builder = Builder(config, registry=registry, pdf=pdf, jobs=jobs,
                      same_household=same_household)
    try:
        return builder.build(collect_workbooks(paths), progress)
    finally:
        builder.close()


__all__ = ["BUILT", "FAILED", "PROGRESS", "RESTORED", "UNCHANGED", "BuildOutcome", "Builder",
           "ConversionError", "build_workbooks", "collect_workbooks"]
