"""`supportplan reconcile`: read scan files, record what they show, archive, summarise.

For each file: hash it; a file seen before changes nothing (its stored results are
reported again). Otherwise archive it unchanged under its hash, read every page, record
signatures, ticks and events in one transaction, and write a plain-text summary next to
the plan outputs (plus crops of boxes left for review).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2

from ..config import Config
from ..files import replace_text, sha256_file, write_new, write_new_bytes
from ..registry import (
    Registry,
    insert_ignoring_duplicates,
    now,
    open_registry,
    scans,
    signatures,
    step_ticks,
)
from .codes import load_secret
from .detect import Thresholds
from .load import SCAN_SUFFIXES, load_pages
from .read import MATCHED, QUARANTINED, PageResult, read_page
from .store import find_page, scan_results, signed_before, ticked_before

# Per box kind: its table, key column, the state that counts, the event written the first
# time that state is seen for the version, and how to tell it was seen before.
_BOX_RECORDS = {
    "signature": (signatures, "signer_key", "signed", "signature_found", signed_before),
    "tick": (step_ticks, "step_id", "ticked", "step_ticked", ticked_before),
}

log = logging.getLogger(__name__)


@dataclass
class ScanOutcome:
    file: Path
    sha256: str
    pages: list[dict[str, Any]]
    already_seen: bool = False


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


def thresholds_from(config: Config) -> Thresholds:
    get = config.values["reconcile"]
    return Thresholds(float(get["signature_blank_below"]), float(get["signature_marked_above"]),
                      float(get["tick_blank_below"]), float(get["tick_marked_above"]))


class Reconciler:
    def __init__(self, config: Config, registry: Registry | None = None) -> None:
        self.config = config
        self.registry = registry or open_registry(config.registry_url)
        self.secret = load_secret(config.root)
        self.thresholds = thresholds_from(config)
        self.dpi = int(config.get("reconcile", "work_dpi"))
        self.max_megapixels = float(config.get("reconcile", "max_megapixels"))
        self.archive = (config.root / str(config.get("reconcile", "archive"))).resolve()

    def lookup(self, token: str, page: int):  # noqa: ANN201 - KnownPage | None
        return find_page(self.registry.engine, token, page)

    def reconcile_file(self, path: Path) -> ScanOutcome:
        try:
            digest = sha256_file(path)
        except OSError as exc:
            return ScanOutcome(path, "", [PageResult(str(path), 0, QUARANTINED,
                                                     f"cannot read the file ({exc})").to_json()])
        previous = scan_results(self.registry.engine, digest)
        if previous is not None:  # the same scan again: nothing changes
            return ScanOutcome(path, digest, [dict(p, file=str(path)) for p in previous],
                               already_seen=True)
        archived = self._archive(path, digest)
        results: list[PageResult] = []
        for loaded in load_pages(path, max_megapixels=self.max_megapixels):
            if loaded.image is None:
                results.append(PageResult(str(path), loaded.index, QUARANTINED, loaded.error))
                continue
            try:
                results.append(read_page(
                    loaded.image, file=str(path), page_index=loaded.index, secret=self.secret,
                    lookup=self.lookup, dpi=self.dpi, thresholds=self.thresholds,
                    keep_aligned=True))
            except Exception as exc:  # one bad page must never stop the batch
                log.exception("page %d of a scan failed", loaded.index)
                results.append(PageResult(str(path), loaded.index, QUARANTINED,
                                          f"the page could not be read ({exc})"))
        pages = [r.to_json() for r in results]
        self._record(path, digest, archived, results, pages)
        self._write_summaries(path, digest, results)
        return ScanOutcome(path, digest, pages)

    def _archive(self, path: Path, digest: str) -> Path:
        target = self.archive / f"{digest}{path.suffix.lower() or '.bin'}"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            with contextlib.suppress(FileExistsError):  # another reconciler got there first
                write_new_bytes(target, path.read_bytes())
        return target

    def _record(self, path: Path, digest: str, archived: Path, results: Sequence[PageResult],
                pages: list[dict[str, Any]]) -> None:
        arrived = now()
        with self.registry.engine.begin() as conn:
            conn.execute(scans.insert().values(
                sha256=digest, original_name=path.name, archived_path=str(archived),
                received_at=arrived, pages=pages))
            for result in results:
                household, version = result.household, result.version
                if result.status != MATCHED:
                    self.registry.record_event(conn, "scan_page_quarantined", household,
                                               version, scan=digest, page_index=result.page_index,
                                               reason=result.reason)
                    continue
                assert result.version_id is not None
                for box in result.boxes:
                    table, key_column, positive, event, seen_before = _BOX_RECORDS[box.kind]
                    first = box.state == positive and not seen_before(
                        conn, result.version_id, box.key)
                    insert_ignoring_duplicates(conn, table, {
                        "version_id": result.version_id, key_column: box.key,
                        "scan_sha256": digest, "page": result.page, "state": box.state,
                        "score": box.score, "recorded_at": arrived})
                    if first:
                        detail = ({"signer": box.key, "role": box.role}
                                  if box.kind == "signature" else {"step_id": box.key})
                        self.registry.record_event(conn, event, household, version,
                                                   scan=digest, score=box.score,
                                                   scan_arrived=arrived, **detail)
                    if box.state == "review":
                        self.registry.record_event(conn, "box_needs_review", household,
                                                   version, kind=box.kind, key=box.key,
                                                   scan=digest, score=box.score)
                if result.marks:
                    self.registry.record_event(conn, "paper_changes", household, version,
                                               scan=digest, page=result.page,
                                               marks=[[m.kind, list(m.bbox)]
                                                      for m in result.marks])
                self.registry.record_event(conn, "scan_matched", household, version,
                                           scan=digest, page=result.page,
                                           page_index=result.page_index)

    def _write_summaries(self, path: Path, digest: str, results: Sequence[PageResult]) -> None:
        short = digest[:12]
        by_household: dict[str, list[PageResult]] = {}
        for result in results:
            by_household.setdefault(result.household or "quarantine", []).append(result)
        for household, pages in by_household.items():
            folder = self.config.output_dir / household
            folder.mkdir(parents=True, exist_ok=True)
            lines = [f"Scan {short} (archived as {digest}), read {now():%Y-%m-%d %H:%M} UTC",
                     f"{len(pages)} page(s) here.", ""]
            for result in pages:
                lines += _describe(result)
                self._write_crops(folder, short, result)
            replace_text(folder / f"reconcile-{household}-{short}.txt", "\n".join(lines) + "\n")

    def _write_crops(self, folder: Path, short: str, result: PageResult) -> None:
        if result.aligned is None:
            return
        px = self.dpi / 25.4
        for box in result.boxes:
            if box.state != "review":
                continue
            x0, y0, x1, y1 = box.bbox
            pad = 3.0
            crop = result.aligned[max(0, int((y0 - pad) * px)): int((y1 + pad) * px),
                                  max(0, int((x0 - pad) * px)): int((x1 + pad) * px)]
            ok, data = cv2.imencode(".png", crop)
            target = folder / "review" / f"{short}-p{result.page}-{box.kind}-{box.key}.png"
            target.parent.mkdir(exist_ok=True)
            if ok and not target.exists():
                write_new(target, lambda temp, data=data: temp.write_bytes(data.tobytes()))


def _describe(result: PageResult) -> list[str]:
    if result.status != MATCHED:
        where = (f"{result.household} v{result.version} page {result.page}"
                 if result.household else "unidentified")
        return [f"Page {result.page_index + 1} of the file ({where}): NOT READ - "
                f"{result.reason}", ""]
    lines = [f"Page {result.page_index + 1} of the file = plan version {result.version}, "
             f"page {result.page} (alignment within {result.fit_mm} mm)"]
    for box in result.boxes:
        label = (f"signature of {box.role} ({box.key})" if box.kind == "signature"
                 else f"'Done' box of step {box.key}")
        note = "  <- please check the crop in review/" if box.state == "review" else ""
        lines.append(f"  {label}: {box.state} (score {box.score:.2f}){note}")
    for mark in result.marks:
        x0, y0, x1, y1 = mark.bbox
        lines.append(f"  handwriting ({mark.kind}) at {x0:.0f}-{x1:.0f} mm across, "
                     f"{y0:.0f}-{y1:.0f} mm down: the plan may have been changed on paper")
    return lines + [""]


def reconcile_paths(config: Config, paths: Sequence[Path], *,
                    progress: Callable[[ScanOutcome], None] | None = None,
                    registry: Registry | None = None) -> list[ScanOutcome]:
    """Reconcile every scan in `paths` (files or folders); the watcher calls this too."""
    reconciler = Reconciler(config, registry)
    outcomes = []
    for path in collect_scans(paths):
        outcome = reconciler.reconcile_file(path)
        outcomes.append(outcome)
        if progress:
            progress(outcome)
    return outcomes
