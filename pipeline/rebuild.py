"""`supportplan registry rebuild`: refill a lost (empty) registry from the plans in output/.

Nothing is issued and no file is written in output/: the plans already there are recorded
as the versions they are, so the next `build` does not issue them again and scans of them
are read as before. For each household folder holding plan files:

- every version found (`support-plan-<ref>-v<N>.docx|pdf`) is recorded under its number,
  with the date its file was written;
- the page code (QR) on the first page of its PDF gives the version's token, checked with
  the workspace's `.secret` (a code made with another secret is not recovered);
- the latest version is compared with the household's workbook in intake/: the workbook is
  rendered again as that version, without LibreOffice, and its words compared with the
  issued Word file. When they are the same, the version gets the workbook's content, steps
  and signers, and its boxes are measured on its PDF exactly as a build measures them, so
  `build` finds it unchanged and signed scans of it are read. When they differ (the
  workbook was edited since), the version keeps its number with its content unknown, and
  the next build issues the one after it;
- earlier versions keep their numbers with their content unknown: their workbook as it
  was then is gone. Scans of them cannot be read until the registry backup is restored.

It refuses a registry that holds anything: a registry that knows some plans is restored
from backup, never merged with guesses.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from .build import Builder
from .config import Config
from .errors import RegistryUnavailable
from .files import sha256_file
from .intake.files import collect_workbooks
from .intake.problems import ReadResult
from .model import NOT_STARTED, Household
from .outputs import PLAN_FILE, STAGING, build_lock
from .pagecodes import load_secret, new_token
from .plan import assign_step_ids, content_hash, open_steps_in_print_order, plan_content
from .printed import DocumentLayout
from .reconcile.align import identify
from .registry import Registry
from .registry.rebuilt import RECOVERED_EVENT
from .render.stamp import LayoutError, measure_layout
from .render.workers import render_plan

log = logging.getLogger(__name__)

CODE_DPI = 150  # the page codes are read at the resolution scans are


class RegistryNotEmpty(RegistryUnavailable):
    """`registry rebuild` only fills an empty registry."""


@dataclass
class RecoveredVersion:
    version: int
    content_known: bool  # the workbook matched: content, steps, signers recorded
    scans_readable: bool  # its page codes and boxes are recorded
    note: str = ""


@dataclass
class RecoveredHousehold:
    reference: str
    versions: list[RecoveredVersion] = field(default_factory=list)


@dataclass
class RebuildResult:
    households: list[RecoveredHousehold] = field(default_factory=list)


@dataclass
class VersionFiles:
    docx: Path | None = None
    pdf: Path | None = None

    @property
    def written(self) -> datetime:
        path = self.pdf or self.docx
        assert path is not None
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def plan_files_in_output(config: Config) -> dict[str, dict[int, VersionFiles]]:
    """reference -> version -> its files, from `output/<ref>/` folders."""
    found: dict[str, dict[int, VersionFiles]] = {}
    if not config.output_dir.is_dir():
        return found
    for folder in sorted(config.output_dir.iterdir()):
        if not folder.is_dir() or folder.is_symlink() or folder.name.startswith("."):
            continue
        for path in sorted(folder.iterdir()):
            match = PLAN_FILE.match(path.name)
            if match is None or match["ref"] != folder.name or not path.is_file():
                continue
            files = found.setdefault(folder.name, {}).setdefault(int(match["n"]),
                                                                 VersionFiles())
            setattr(files, path.suffix.lstrip("."), path)
    return found


def rebuild_registry(config: Config, registry: Registry) -> RebuildResult:
    counts = registry.record_counts()
    if any(counts.values()):
        held = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in counts.items() if n)
        raise RegistryNotEmpty(
            f"the registry is not empty (it holds {held}), so it is not rebuilt: rebuilding "
            "only fills an empty registry that was lost. To go back to a backup, restore "
            "supportplan.sqlite (see README, \"Backups\"); to rebuild anyway, move the "
            "registry file aside first")
    result = RebuildResult()
    with build_lock(config.output_dir):
        plans = plan_files_in_output(config)
        if not plans:
            return result
        needs_secret = any(files.pdf for versions in plans.values()
                           for files in versions.values())
        secret = load_secret(config.root, may_create=False) if needs_secret else None
        builder = Builder(config, registry=registry, pdf=False)
        staging = config.output_dir / STAGING / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            workbooks = {read.household.reference: read for read in
                         builder.read(collect_workbooks([config.intake_dir]))
                         if read.ok and read.household is not None}
            for reference, versions in plans.items():
                recovered = Recovery(config, registry, builder, secret, staging)
                result.households.append(recovered.household(reference, versions,
                                                             workbooks.get(reference)))
        finally:
            builder.close()
            shutil.rmtree(staging, ignore_errors=True)
    return result


class Recovery:
    """Recovers one household's versions (see the module's docstring)."""

    def __init__(self, config: Config, registry: Registry, builder: Builder,
                 secret: bytes | None, staging: Path) -> None:
        self.config = config
        self.registry = registry
        self.builder = builder
        self.secret = secret
        self.staging = staging

    def household(self, reference: str, versions: dict[int, VersionFiles],
                  workbook: ReadResult | None) -> RecoveredHousehold:
        recovered = RecoveredHousehold(reference)
        latest = max(versions)
        as_issued = (self._as_issued(workbook, latest, versions[latest])
                     if workbook is not None else None)
        with self.registry.engine.begin() as conn:
            if workbook is not None and workbook.household is not None:
                self.registry.claim_household(conn, workbook.household)
            else:
                self.registry.claim_unknown_household(conn, reference)
        for number in sorted(versions):
            files = versions[number]
            if number == latest and as_issued is not None:
                assert workbook is not None and workbook.household is not None
                entry = self._known(workbook.household, as_issued, number, files)
            else:
                entry = self._unknown(reference, workbook, number, files)
            recovered.versions.append(entry)
        if workbook is not None and workbook.household is not None:
            matched = as_issued is not None
            with self.registry.engine.begin() as conn:
                # A workbook that no longer matches is recorded as not yet built ("" is no
                # file's hash), so the watcher builds it and the next version follows.
                self.registry.upsert_household(
                    conn, workbook.household, workbook_path=str(workbook.path),
                    workbook_sha256=sha256_file(workbook.path) if matched else "",
                    content_hash=content_hash(workbook.household) if matched
                    else "unrecovered")
        return recovered

    # -- the latest version, when the workbook still says what it printed ---------------
    def _as_issued(self, workbook: ReadResult, version: int,
                   files: VersionFiles) -> Household | None:
        """The workbook's household as version `version` printed it, if rendering it gives
        the issued Word file's words (the steps' ids are not printed, so fresh ones give
        the same words). Steps may have been marked done since, without a new version:
        the workbook is also tried with every step open, as most plans are issued."""
        household = workbook.household
        if files.docx is None or household is None:
            return None
        issued = words_of(files.docx)
        all_open = replace(household, steps=[
            replace(step, status=NOT_STARTED, done_on=None) if step.is_closed else step
            for step in household.steps])
        step_ids = assign_step_ids(household.reference, [], household.steps, 1)
        for candidate in (household, all_open):
            plan = self.builder._render(workbook, candidate, version, step_ids,
                                        content_hash(candidate), "", new_token(), "",
                                        self.staging)
            assert plan.render_job is not None
            render_plan(plan.render_job)  # here: a rebuild renders a few plans, one by one
            if words_of(plan.staged_word_copy) == issued:
                return candidate
        return None

    def _known(self, current: Household, as_issued: Household, number: int,
               files: VersionFiles) -> RecoveredVersion:
        """Record the version with the workbook's content: its steps as issued (statuses
        then) and as they are now, its signers, and its boxes measured on its PDF."""
        assert (files.docx or files.pdf) is not None
        reference = current.reference
        step_ids = assign_step_ids(reference, [], current.steps, 1)
        token = self._token(files.pdf)
        layout, note = None, ""
        if files.pdf is not None and token is not None:
            open_steps = open_steps_in_print_order(as_issued.steps, step_ids)
            try:
                layout = DocumentLayout(token, sha256_file(files.pdf),
                                        measure_layout(files.pdf, open_steps,
                                                       as_issued.signers))
            except LayoutError as exc:
                note = f"its boxes could not be measured ({exc})"
        with self.registry.engine.begin() as conn:
            self.registry.update_steps(conn, reference, step_ids, current.steps)
            version_id = self.registry.insert_version(
                conn, as_issued, version=number, content_hash=content_hash(current),
                content=plan_content(current), step_ids=step_ids,
                docx_path=str(files.docx or files.pdf), pdf_path=str(files.pdf)
                if files.pdf else None)
            self.registry.set_issued_at(conn, version_id, files.written)
            if layout is not None:
                self.registry.record_layout(conn, version_id, layout)
            self.registry.record_event(conn, RECOVERED_EVENT, reference, number,
                                       content_known=True, page_codes=layout is not None)
        return RecoveredVersion(number, True, layout is not None,
                                note or self._no_codes_note(files, token))

    # -- any other version: its number, nothing more ------------------------------------
    def _unknown(self, reference: str, workbook: ReadResult | None, number: int,
                 files: VersionFiles) -> RecoveredVersion:
        written = files.written
        household = workbook.household if workbook is not None else None
        plan_date = household.plan_date if household is not None else written.date()
        review_date = household.review_date if household is not None else written.date()
        with self.registry.engine.begin() as conn:
            self.registry.insert_unknown_version(
                conn, reference, version=number, docx_path=str(files.docx or files.pdf),
                pdf_path=str(files.pdf) if files.pdf else None, issued_at=written,
                plan_date=plan_date, review_date=review_date)
            self.registry.record_event(conn, RECOVERED_EVENT, reference, number,
                                       content_known=False, page_codes=False)
        why = ("no workbook for it was found in intake/" if workbook is None else
               "its workbook could not be read" if household is None else
               "the workbook has changed since it was issued")
        return RecoveredVersion(number, False, False, why)

    def _token(self, pdf: Path | None) -> str | None:
        """The version token in the page code on the PDF's first page."""
        if pdf is None or self.secret is None:
            return None
        document = pdfium.PdfDocument(str(pdf))
        try:
            bitmap = document[0].render(scale=CODE_DPI / 72, grayscale=True)
            gray = np.asarray(bitmap.to_numpy())
        finally:
            document.close()
        if gray.ndim == 3:
            gray = gray[..., 0]
        found = identify(np.ascontiguousarray(gray), self.secret)
        return found.page_id.token if found.page_id is not None and found.page_id.page == 1 \
            else None

    @staticmethod
    def _no_codes_note(files: VersionFiles, token: str | None) -> str:
        if files.pdf is None:
            return "it has no PDF (built with --no-pdf), so no page codes"
        if token is None:
            return ("its page code could not be checked with this workspace's .secret "
                    "(another workspace's plan, or the secret was replaced)")
        return ""


WORD_TEXT = re.compile(rb"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")


def words_of(docx: Path) -> list[bytes]:
    """The text of a Word file's body, headers and footers, part by part."""
    with zipfile.ZipFile(docx) as archive:
        names = sorted(name for name in archive.namelist()
                       if re.fullmatch(r"word/(document|header\d*|footer\d*)\.xml", name))
        return [b"".join(WORD_TEXT.findall(archive.read(name))) for name in names]
