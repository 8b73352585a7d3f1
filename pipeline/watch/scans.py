"""Signed scans the watcher has seen: read here by the reconciler, one file at a time, or,
with a PostgreSQL registry, put in the work queue for `supportplan worker` processes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Config
from ..errors import SupportplanError
from ..registry import Registry
from .eventlog import EventLog, counted

if TYPE_CHECKING:
    from ..reconcile.run import ScanOutcome

log = logging.getLogger(__name__)


def hand_over_scans(config: Config, registry: Registry, events: EventLog, scans: list[Path],
                    *, queued: bool) -> None:
    # Imported on first use: the reconciler pulls in image libraries a watcher that only
    # builds plans never needs.
    from ..reconcile.run import reconcile_paths

    if queued:
        from ..queue import enqueue_scans

        enqueue_scans(config, [scan.resolve() for scan in scans])
        events.emit(f"queued {counted(len(scans), 'scan')} for the workers")
        return
    for scan in scans:  # one at a time: a bad scan must not hold back the others
        try:
            outcomes = reconcile_paths(config, [scan.resolve()], registry=registry)
        except SupportplanError as exc:
            # Something about the workspace (its secret missing, say), not a bug: one line
            # that says what to do, and the scan waits until it is fixed.
            log.debug("reconciling a scan stopped", exc_info=True)
            events.emit("scan not read", output=scan, detail=str(exc).splitlines()[0][:400])
            continue
        except Exception:  # never let a scan stop the watcher
            log.exception("reconciler failed")
            events.emit("scan failed in the reconciler", output=scan)
            continue
        for outcome in outcomes:
            _log_scan(events, outcome)


def _log_scan(events: EventLog, outcome: ScanOutcome) -> None:
    """One line per page read: household reference, version, page, what was found."""
    if outcome.already_seen:
        events.emit("scan already reconciled", output=outcome.file)
        return
    for page in outcome.pages:
        detail = page.summary() if page.matched else str(page.reason or "")[:160]
        events.emit(f"scan {page.status}", page.household, output=outcome.file, detail=detail)
