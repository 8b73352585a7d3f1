"""Retention: remove households whose support closed longer ago than the retention period.

A household is closed when its workbook's *Closed on* date is set (the registry keeps it in
`households.closed_on`). Purging one removes everything that holds its personal data:

- its workbook in the workspace (the source of everything else: left in place, the next
  build would issue its plan again);
- its output folder (plans, review packs, reconcile summaries, box pictures, error and
  warning files) and any files a stopped build set aside for it;
- the archived scans holding only its pages (a scan that also holds another household's
  pages is kept and named in the result, for a person to deal with);
- overdue reports and queued e-mails that mention it (a report lists many households;
  the whole file goes, and the result names it);
- every registry row about it, leaving one `household_purged` event: reference, counts of
  what was removed and the OS user who ran it.

With `dry_run` nothing is changed and the result says what would go. Purging runs under
the build lock, so no build can publish for a household while it is being removed.
"""

from __future__ import annotations

import email
import io
import logging
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from email import policy
from pathlib import Path

from .config import Config
from .errors import SettingsError
from .files import sha256_file
from .outputs import ORPHANS, build_lock
from .registry import Registry
from .registry.retention import ClosedHousehold, HouseholdRecords
from .report.run import reports_dir

log = logging.getLogger(__name__)

PERIOD = re.compile(r"^\s*(?P<n>\d+)\s*(?P<unit>[ymd])\s*$", re.IGNORECASE)


def cutoff_for(period: str, today: date) -> date:
    """The date `period` ("6y", "18m", "90d") before `today`: households closed before it
    have been closed longer than the period."""
    match = PERIOD.match(period)
    if match is None:
        raise SettingsError(f'"{period}" is not a retention period; write a number and y, m '
                            'or d (years, months, days), e.g. "6y" or "18m"')
    n, unit = int(match["n"]), match["unit"].lower()
    if unit == "d":
        return today - timedelta(days=n)
    months = today.year * 12 + today.month - 1 - (n * 12 if unit == "y" else n)
    year, month = divmod(months, 12)
    month += 1
    for day in (today.day, 30, 29, 28):  # 29 February six years on is 28 February
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def default_period(config: Config) -> str:
    return config.settings.retention.closed_for


@dataclass
class PurgedHousehold:
    reference: str
    closed_on: date
    removed: dict[str, int]  # registry records, by kind
    files: list[Path] = field(default_factory=list)  # files removed (or to be)
    shared_scans: list[Path] = field(default_factory=list)  # kept: other households' pages


@dataclass
class PurgeResult:
    cutoff: date
    dry_run: bool
    households: list[PurgedHousehold] = field(default_factory=list)
    shared_files: list[Path] = field(default_factory=list)  # reports and e-mails removed
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (reference, why)

    @property
    def file_count(self) -> int:
        return sum(len(h.files) for h in self.households) + len(self.shared_files)


def purge(config: Config, registry: Registry, cutoff: date, *, dry_run: bool = False
          ) -> PurgeResult:
    """Remove (or with `dry_run` list) every household closed before `cutoff`."""
    result = PurgeResult(cutoff, dry_run)
    with build_lock(config.output_dir):
        closed = []
        for household in registry.closed_before(cutoff):
            if (why := _edited_since(config, registry, household)) is not None:
                result.skipped.append((household.reference, why))
            else:
                closed.append(household)
        references = {household.reference for household in closed}
        for household in closed:
            records = registry.household_records(household.reference, references)
            result.households.append(_purge_one(config, registry, household, records,
                                                dry_run))
        if references:
            result.shared_files = _mentioning(config, references)
            if not dry_run:
                for path in result.shared_files:
                    path.unlink(missing_ok=True)
    return result


def _edited_since(config: Config, registry: Registry, household: ClosedHousehold
                  ) -> str | None:
    """Why not to purge a household whose workbook was saved since it was last built: the
    registry's closing date may be out of date (support reopened, the date corrected)."""
    stored = household.workbook_path
    workbook = Path(registry.full_path(stored) or stored) if stored else \
        config.intake_dir / f"{household.reference}.xlsx"
    try:
        current = sha256_file(workbook)
    except OSError:
        return None  # no workbook any more: the registry is all there is
    if current == household.workbook_sha256:
        return None
    return (f"{workbook.name} was saved after it was last built, so its closing date may "
            "have changed; run `supportplan build` first, then purge again")


def _purge_one(config: Config, registry: Registry, household: ClosedHousehold,
               records: HouseholdRecords, dry_run: bool) -> PurgedHousehold:
    reference = household.reference
    files = _household_files(config, registry, household, records)
    shared = [Path(registry.full_path(path) or path)
              for path in registry.archived_paths(records.shared_scans)]
    outcome = PurgedHousehold(reference, household.closed_on, records.counts, files, shared)
    if dry_run:
        return outcome
    # Files first, then the rows: stopped half-way, a re-run still finds the household
    # (its rows) and finishes; the other way round its files would be left unknown.
    for path in files:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    with registry.engine.begin() as conn:
        registry.delete_household(conn, records)
    log.info("%s: purged (%d files)", reference, len(files))
    return outcome


def _household_files(config: Config, registry: Registry, household: ClosedHousehold,
                     records: HouseholdRecords) -> list[Path]:
    """What to remove, each once: files and folders that exist and lie inside the
    workspace (a path recorded from outside it is not supportplan's to delete)."""
    reference = household.reference
    root = config.root.resolve()
    candidates: list[Path] = [config.output_dir / reference,
                              config.output_dir / ORPHANS / reference,
                              config.intake_dir / f"{reference}.xlsx",
                              config.intake_dir / f"{reference}.xlsm"]
    stored = [household.workbook_path, *records.plan_files, *records.review_files,
              *records.box_crops, *records.scan_files]
    candidates += [Path(registry.full_path(path) or path) for path in stored if path]
    found: list[Path] = []
    for path in candidates:
        if not (path.exists() or path.is_symlink()):
            continue
        resolved = path.parent.resolve() / path.name
        if root not in resolved.parents:
            log.warning("%s: %s is outside the workspace and was left in place", reference,
                        path.name)
            continue
        if any(resolved == kept or kept in resolved.parents for kept in found):
            continue  # inside a folder already on the list
        found = [kept for kept in found if resolved not in kept.parents] + [resolved]
    return found


# -- reports and queued e-mails ---------------------------------------------------------------
def _mentioning(config: Config, references: set[str]) -> list[Path]:
    """Overdue reports (xlsx, pdf) and queued e-mails that mention any of `references`."""
    folder = reports_dir(config)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".xlsx", ".pdf", ".eml"):
            text = _text_of(path)
            if any(_mentions(text, reference) for reference in references):
                found.append(path)
    return found


def _mentions(text: str, reference: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(reference)}(?![\w-])", text) is not None


def _text_of(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix.lower() == ".eml":
        message = email.message_from_bytes(data, policy=policy.default)
        parts = []
        for part in message.walk():
            if part.is_multipart():
                continue
            payload = part.get_payload(decode=True) or b""
            parts.append(_bytes_text(payload, part.get_filename() or ""))
        return "\n".join(parts)
    return _bytes_text(data, path.name)


def _bytes_text(data: bytes, name: str) -> str:
    """The words in a report file or an e-mail part, whatever its kind."""
    if data.startswith(b"PK"):  # xlsx: the cells are in the zip's XML parts
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "\n".join(archive.read(info).decode("utf-8", "replace")
                                 for info in archive.infolist()
                                 if info.filename.endswith(".xml"))
        except zipfile.BadZipFile:
            return ""
    if data.startswith(b"%PDF"):
        from pypdf import PdfReader

        try:
            return "\n".join(page.extract_text() or "" for page in
                             PdfReader(io.BytesIO(data)).pages)
        except Exception:  # a damaged report: judged by its name only
            log.debug("could not read %s", name, exc_info=True)
            return name
    return data.decode("utf-8", "replace")
