"""The daily overdue report, made by the watcher in the background."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from ..config import Config
from ..report.run import (
    ReportError,
    check_settings,
    daily_report_time,
    reports_dir,
    run_daily_report,
)
from .eventlog import EventLog
from .settings import WatchError

log = logging.getLogger(__name__)


class DailyReport:
    """Runs the overdue report once a day at [report] daily_at, in a background thread so
    e-mail never delays a build. A watcher started after today's time makes today's report
    at once, unless today's report is already in output/reports/."""

    def __init__(self, config: Config, events: EventLog) -> None:
        self.config, self.events = config, events
        self._thread: threading.Thread | None = None
        self._next: datetime | None = None  # None: no daily report
        try:
            at = daily_report_time(config)
            if at is not None:
                check_settings(config)
        except ReportError as exc:
            raise WatchError(str(exc)) from exc
        if at is None:
            return
        now = datetime.now()
        today = datetime.combine(now.date(), at)
        made_today = (reports_dir(config) / f"overdue-{now.date().isoformat()}.xlsx").exists()
        if today > now:
            self._next = today
        else:
            self._next = today + timedelta(days=1) if made_today else now

    def maybe_start(self) -> None:
        if self._next is None or datetime.now() < self._next:
            return
        self._next += timedelta(days=1)
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._work, name="daily-report", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            result = run_daily_report(self.config)
            if result is None:
                self.events.emit("daily report made by another watcher or worker")
                return
            self.events.emit("daily report made", output=result.pdf,
                             detail=f"{len(result.findings)} finding(s)")
        except Exception:  # a report failure is logged, never stops the watcher
            log.exception("daily report failed")
            self.events.emit("daily report failed", detail="see the debug log")

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=30)
