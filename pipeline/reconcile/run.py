"""`supportplan reconcile`: read scan files, record what they show, archive, summarise.

For each file: hash it; a file read before changes nothing (its stored results are
reported again) unless some of its pages could not be read then: those files are read
again, since the cause may have been fixed. Otherwise archive it unchanged under its hash,
read every page, crop every box, record it all in the registry (one transaction, a
savepoint per page) and write a plain-text summary next to the plan outputs.

Nothing about one page, box or file stops the others: every failure becomes a quarantined
page with the reason.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..compare import quote
from ..config import Config
from ..errors import SupportplanError
from ..files import replace_text, sha256_file, write_new_bytes
from ..outputs import UnsafeFolder, plan_folder
from ..pagecodes import SecretError, load_secret
from ..registry import SCAN, Registry, now, registry_for
from ..signoff import BoxKind, BoxState, PageResult, PageStatus
from .boxes import Thresholds
from .crops import write_crops
from .load import SCAN_SUFFIXES, load_pages
from .read import PageReader, PageReading, ReadSettings

log = logging.getLogger(__name__)

CROPS_FOLDER = "boxes"


@dataclass
class ScanOutcome:
    file: Path
    sha256: str
    pages: list[PageResult]
    already_seen: bool = False
    read_again: bool = False  # read before with pages quarantined; read once more

    @property
    def quarantined(self) -> int:
        return sum(not page.matched for page in self.pages)


def collect_scans(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file()
                            and not p.name.startswith((".", "~"))
                            and p.suffix.lower() in SCAN_SUFFIXES)
        else:
            found.append(path)
    return found


def read_settings(config: Config) -> ReadSettings:
    section = config.settings.reconcile
    return ReadSettings(
        work_dpi=section.work_dpi,
        thresholds=Thresholds(section.signature_blank_below, section.signature_marked_above,
                              section.tick_blank_below, section.tick_marked_above))


def _quarantined(path: Path, index: int, reason: str) -> PageResult:
    return PageResult(str(path), index, PageStatus.QUARANTINED, reason)


class Reconciler:
    def __init__(self, config: Config, registry: Registry | None = None) -> None:
        self.config = config
        self.registry = registry or registry_for(config)
        # A missing secret is only made afresh while no plan has been printed with one.
        try:
            secret = load_secret(config.root, may_create=not self.registry.has_printed_pages())
        except SecretError as exc:  # say what it means for scans before what to do
            raise SecretError("No scan was read: the page codes on scans cannot be checked "
                              f"without this workspace's secret. {exc}") from None
        self.reader = PageReader(secret, self.registry.find_page,
                                 read_settings(config), self.registry.version_for_token)
        self.max_megapixels = config.settings.reconcile.max_megapixels
        self.archive = (config.root / config.settings.reconcile.archive).resolve()

    def reconcile_file(self, path: Path) -> ScanOutcome:
        try:
            digest = sha256_file(path)
        except OSError as exc:
            return ScanOutcome(path, "", [_quarantined(path, 0, f"cannot read the file "
                                                                f"({exc.strerror})")])
        # One reader per scan however many machines watch the folder: the others skip it.
        if not self.registry.claim(SCAN, digest):
            log.info("a scan is being read by another process; skipped here")
            return ScanOutcome(path, digest, [], already_seen=True)
        try:
            return self._reconcile_claimed(path, digest)
        finally:
            self.registry.release(SCAN, digest, done=False)  # the scans table says it was read

    def _reconcile_claimed(self, path: Path, digest: str) -> ScanOutcome:
        previous = self.registry.scan_pages(digest)
        if previous is not None:
            pages = [PageResult.from_json(dict(page, file=str(path))) for page in previous]
            if all(page.matched for page in pages):  # the same scan again: nothing changes
                return ScanOutcome(path, digest, pages, already_seen=True)
        archived = self._archive(path, digest)
        readings = list(self._read(path))
        for reading in readings:
            self._attach_crops(reading, digest)
        results = [reading.result for reading in readings]
        self.registry.record_scan(digest, path.name, self.registry.stored_path(archived),
                                  results)
        self._write_summaries(digest, results)
        return ScanOutcome(path, digest, results, read_again=previous is not None)

    def _read(self, path: Path) -> Iterable[PageReading]:
        for loaded in load_pages(path, max_megapixels=self.max_megapixels):
            if loaded.image is None:
                reading = PageReading(_quarantined(path, loaded.index, loaded.error))
            else:
                try:
                    reading = self.reader.read(loaded.image, file=str(path),
                                               page_index=loaded.index,
                                               bitonal=loaded.bitonal or None)
                except Exception as exc:  # one bad page must never stop the file or the batch
                    log.exception("page %d of a scan could not be read", loaded.index)
                    reading = PageReading(_quarantined(path, loaded.index,
                                                       f"the page could not be read ({exc})"))
            if loaded.note:  # JavaScript or attachments in the file, ignored
                reading.result.notes.append(loaded.note)
            yield reading

    def _attach_crops(self, reading: PageReading, digest: str) -> None:
        result = reading.result
        if not result.matched or result.household is None:
            return
        try:
            crops = write_crops(reading, plan_folder(self.config, result.household)
                                / CROPS_FOLDER, digest[:12])
        except (OSError, UnsafeFolder) as exc:  # they help people; a reading is kept without
            log.warning("box crops for a page could not be written (%s)",
                        getattr(exc, "strerror", None) or exc)
            return
        for index, crop in crops.items():
            result.boxes[index].crop = self.registry.stored_path(crop)

    def _archive(self, path: Path, digest: str) -> Path:
        target = self.archive / f"{digest}{path.suffix.lower() or '.bin'}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            with contextlib.suppress(FileExistsError):  # another reconciler got there first
                write_new_bytes(target, path.read_bytes())
        return target

    def _write_summaries(self, digest: str, results: Sequence[PageResult]) -> None:
        short = digest[:12]
        by_household: dict[str, list[PageResult]] = {}
        for result in results:
            by_household.setdefault(result.household or "quarantine", []).append(result)
        for household, pages in by_household.items():
            try:
                folder = plan_folder(self.config, household)
            except UnsafeFolder as exc:
                log.warning("%s", exc)
                folder = self.config.output_dir
            folder.mkdir(parents=True, exist_ok=True)
            name = Path(pages[0].file).name  # so a person can find the paper it came from
            lines = [f"Scan {short} ({name}, archived as {digest}), read "
                     f"{now():%Y-%m-%d %H:%M} UTC",
                     f"{len(pages)} page(s) here.", ""]
            for result in pages:
                labels = (self.registry.box_labels(result.version_id)
                          if result.version_id is not None else {})
                lines += describe(result, labels)
            replace_text(folder / f"reconcile-{household}-{short}.txt", "\n".join(lines) + "\n")


def describe(result: PageResult, labels: dict[tuple[str, str], str] | None = None
             ) -> list[str]:
    """The summary file's lines for one page, naming people and steps in words (`labels`:
    (kind, key) -> the signer's name and role, or the step's text; ids follow in
    brackets)."""
    labels = labels or {}
    if not result.matched:
        where = (f"{result.household} v{result.version} page {result.page}"
                 if result.household else "unidentified")
        return [f"Page {result.page_index + 1} of the file ({where}): NOT READ - "
                f"{result.reason}", ""]
    document = "a formal review of plan version" if result.review_id else "plan version"
    lines = [f"Page {result.page_index + 1} of the file = {document} {result.version}, "
             f"page {result.page} (alignment within {result.fit_mm} mm)"]
    if result.superseded_by is not None:
        lines.append(f"  NOTE: {result.superseded_note()}.")
    lines += [f"  NOTE: {note}." for note in result.notes]
    for box in result.boxes:
        words = labels.get((str(box.kind), box.key))
        if box.kind is BoxKind.SIGNATURE:
            label = f"signature of {words or box.role} ({box.key})"
        else:
            label = f"'Done' box of {quote(words) if words else 'step'} ({box.key})"
        state = f"{box.state} (score {box.score:.2f})"
        if box.state is BoxState.REVIEW:
            state += (f" - {box.reason}; decide with `supportplan boxes decide "
                      f"{box.reading_id} ...`" if box.reading_id else f" - {box.reason}")
        lines.append(f"  {label}: {state}")
    for mark in result.marks:
        x0, y0, x1, y1 = mark.bbox
        where = f"at {x0:.0f}-{x1:.0f} mm across, {y0:.0f}-{y1:.0f} mm down"
        lines.append(f"  handwriting ({mark.kind}) {where}: the plan may have been changed "
                     "on paper" if mark.is_change else f"  a date written on a signer's "
                     f"date line {where}")
    return lines + [""]


def reconcile_paths(config: Config, paths: Sequence[Path], *,
                    progress: Callable[[ScanOutcome], None] | None = None,
                    registry: Registry | None = None) -> list[ScanOutcome]:
    """Reconcile every scan in `paths` (files or folders); the watcher calls this too.
    A file that fails as a whole (the registry unavailable, say) is reported as one
    quarantined page with the reason, and the next file is read."""
    reconciler = Reconciler(config, registry)
    outcomes = []
    try:
        for path in collect_scans(paths):
            try:
                outcome = reconciler.reconcile_file(path)
            except Exception as exc:
                log.exception("a scan file could not be reconciled")
                # our own errors are in the user's words; anything else is a fault of ours,
                # whose details belong in the log rather than in a summary a person reads
                what = (str(exc) if isinstance(exc, SupportplanError)
                        else "an unexpected error; the details are in the log")
                outcome = ScanOutcome(path, "", [_quarantined(
                    path, 0, f"the file could not be read or recorded ({what}); it stays in "
                             "place and is tried again on the next run")])
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    finally:
        if registry is None:  # opened here, so closed here
            reconciler.registry.close()
    return outcomes
