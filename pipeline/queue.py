"""Work shared across machines: jobs in a procrastinate queue in the PostgreSQL registry.

procrastinate (a maintained PostgreSQL task queue) does the queueing, retries with
backoff, locks and periodic jobs; this module only says what the jobs are. With a SQLite
registry there is no queue: `build` and `watch` do everything in one process.

- `build` one workbook, named by its path inside the shared intake folder (machines may
  mount the share in different places). Idempotent: the build decides from the workbook's
  content hash, so a job run twice, or the same workbook queued twice, issues one version.
- `reconcile` one scan: read once however many machines try (pipeline/registry/claims.py).
- the daily overdue report: a periodic job deferred once per day whatever the number of
  workers (the registry's claim stops a second run as well).
- every few seconds, jobs of workers that died (no heartbeat) are put back in the queue: a
  killed build left a "publishing" version, which the retried build's recovery sets aside
  before issuing that version again, once (pipeline/recover.py).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import procrastinate
from sqlalchemy.engine import make_url

from .build import Builder
from .config import Config
from .errors import SettingsError
from .intake.files import collect_workbooks
from .reconcile.run import collect_scans, reconcile_paths
from .registry import registry_for
from .report.run import daily_report_time, run_daily_report

log = logging.getLogger(__name__)

BUILD, RECONCILE, DAILY_REPORT, RETRY_STALLED = (
    "supportplan.build", "supportplan.reconcile", "supportplan.daily_report",
    "supportplan.retry_stalled")


class QueueUnavailable(SettingsError):
    """Work cannot be queued with this registry."""


def uses_queue(config: Config) -> bool:
    """Whether this workspace shares its work through the queue (a PostgreSQL registry)."""
    return make_url(config.registry_url).get_backend_name() == "postgresql"


def conninfo(registry_url: str) -> str:
    """The registry's SQLAlchemy URL as libpq understands it."""
    return make_url(registry_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


@dataclass(frozen=True)
class QueueSettings:
    retries: int
    heartbeat_seconds: float
    stalled_after_seconds: float

    @classmethod
    def from_config(cls, config: Config) -> QueueSettings:
        section = config.settings.queue
        return cls(section.retries, section.heartbeat_seconds, section.stalled_after_seconds)


def queue_app(config: Config, work: _Work | None = None) -> procrastinate.App:
    """The queue and its jobs, for this workspace (`work` does them, in a worker)."""
    if not uses_queue(config):
        raise QueueUnavailable(
            "sharing work across machines needs a PostgreSQL registry: set [registry] url in "
            "config.toml (see README, \"Several offices\"); with the SQLite registry, "
            "`supportplan build` and `supportplan watch` do all the work themselves")
    settings = QueueSettings.from_config(config)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(config.registry_url)),
        worker_defaults={"update_heartbeat_interval": settings.heartbeat_seconds,
                         "stalled_worker_timeout": settings.stalled_after_seconds})
    # Backoff: 2 s, 4 s, 8 s, … between attempts.
    retry = procrastinate.RetryStrategy(max_attempts=settings.retries, exponential_wait=2)
    work = work or _Work(config)

    @app.task(name=BUILD, retry=retry)
    def build(workbook: str) -> dict[str, Any]:
        return work.build(workbook)

    @app.task(name=RECONCILE, retry=retry)
    def reconcile(scan: str) -> dict[str, Any]:
        return work.reconcile(scan)

    at = daily_report_time(config)
    if at is not None:
        # procrastinate's cron runs in UTC; the setting is the office's local time.
        local = datetime.now().astimezone().replace(hour=at.hour, minute=at.minute)
        utc = local.astimezone(UTC)

        @app.periodic(cron=f"{utc.minute} {utc.hour} * * *", periodic_id="daily-report")
        @app.task(name=DAILY_REPORT, queueing_lock="daily-report", retry=retry)
        def daily_report(timestamp: int) -> dict[str, Any]:
            result = run_daily_report(config)
            return {"made": result is not None}

    @app.periodic(cron="* * * * * */5", periodic_id="retry-stalled")
    @app.task(name=RETRY_STALLED, queueing_lock="retry-stalled")
    async def retry_stalled(timestamp: int) -> int:
        stalled = await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=settings.stalled_after_seconds)
        count = 0
        for job in stalled:
            await app.job_manager.retry_job(job)
            count += 1
        if count:
            log.warning("%d job(s) of a worker that stopped answering are queued again", count)
        return count

    return app


class _Work:
    """What the jobs do, with one Builder per worker process (it holds LibreOffice and the
    workbook reader between jobs)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._builder: Builder | None = None

    def build(self, workbook: str) -> dict[str, Any]:
        path = self.config.intake_dir / workbook
        if not path.is_file():  # removed or renamed since it was queued: nothing to do
            return {"status": "gone"}
        if self._builder is None:
            self._builder = Builder(self.config, pdf=self.config.settings.pdf.enabled)
        [outcome] = self._builder.build([path])
        log.info("%s: %s v%s", outcome.reference or "a workbook", outcome.status,
                 outcome.version)
        return {"status": outcome.status, "reference": outcome.reference,
                "version": outcome.version}

    def reconcile(self, scan: str) -> dict[str, Any]:
        path = self.config.scans_dir / scan
        if not path.is_file():
            return {"pages": 0}
        outcomes = reconcile_paths(self.config, [path])
        return {"pages": sum(len(outcome.pages) for outcome in outcomes)}

    def close(self) -> None:
        if self._builder is not None:
            self._builder.close()


def _inside(folder: Path, paths: Iterable[Path]) -> list[str]:
    names = []
    for path in paths:
        try:
            names.append(path.resolve().relative_to(folder.resolve()).as_posix())
        except ValueError as exc:
            raise QueueUnavailable(
                f"{path} is outside the shared folder {folder}: workers on other machines "
                "could not open it; save it into that folder first") from exc
    return names


def enqueue_workbooks(config: Config, paths: Sequence[Path]) -> list[str]:
    """Queue a build of each workbook found in `paths` (inside the intake folder); returns
    their names. A workbook already waiting in the queue is not queued twice."""
    names = _inside(config.intake_dir, collect_workbooks(paths))
    _defer(config, BUILD, "workbook", names)
    return names


def enqueue_scans(config: Config, paths: Sequence[Path]) -> list[str]:
    names = _inside(config.scans_dir, collect_scans(paths))
    _defer(config, RECONCILE, "scan", names)
    return names


def _defer(config: Config, task_name: str, argument: str, names: Sequence[str]) -> None:
    app = queue_app(config)
    registry_for(config).close()  # the registry and the queue's tables up to date first
    with app.open():
        task = app.tasks[task_name]
        for name in names:
            # one waiting already reads the file as it is when it runs: enough
            with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
                task.configure(queueing_lock=f"{task_name}:{name}").defer(**{argument: name})


def run_worker(config: Config, *, wait: bool = True, name: str | None = None) -> None:
    """Run jobs until stopped (Ctrl-C, SIGTERM: the job under way is finished first), or
    with `wait` False until the queue is empty."""
    work = _Work(config)
    try:
        queue_app(config, work).run_worker(wait=wait, name=name, concurrency=1,
                                           delete_jobs="successful")
    finally:
        work.close()
