"""The registry: plan versions, steps, signers, scans, box readings and an audit trail,
through SQLAlchemy Core. All SQL lives in this package.

SQLite in the workspace by default; the same code runs on PostgreSQL by changing
`[registry] url`. The schema is versioned with Alembic (pipeline/registry/migrations);
opening a registry brings it up to date. Every change that matters is also an event.

schema   the tables (the head of the migrations)
migrate  apply pending migrations, safely from several processes
queue_schema  the work queue's tables (procrastinate's), made and upgraded with them
core     households, versions, steps, events (`PlanRecords`)
paper    page layouts, scans, box readings and people's decisions (`PaperRecords`)
reviews  the last signed version, formal review packs, weekly reviews (`ReviewRecords`)
facts    bulk reads for the overdue rules (`FactRecords`)
snapshot what a build needs to know about one household, in one read (`SnapshotRecords`)
retention  households closed long ago, and removing one (`RetentionRecords`)
rebuilt  versions recovered from plan files into an empty registry (`RebuiltRecords`)
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, ExceptionContext

from ..config import Config
from ..errors import NEARLY_FULL_BYTES, DiskFull, RegistryUnavailable, disk_full
from .claims import DAILY_REPORT, EMAIL, SCAN, ClaimRecords
from .core import PlanRecords, VersionRecord, insert_ignoring_duplicates, now, os_user
from .facts import FactRecords
from .issuing import IssueRecords, VersionTaken
from .migrate import upgrade
from .paper import BoxRecord, KnownPage, PaperRecords, RegistryError
from .rebuilt import RebuiltRecords
from .retention import RetentionRecords
from .reviews import ReviewPack, ReviewRecords
from .schema import (
    box_readings,
    events,
    households,
    metadata,
    page_layouts,
    plan_versions,
    review_packs,
    safety_items,
    scans,
    steps,
    version_signers,
    version_steps,
    weekly_reviews,
    work_claims,
)
from .snapshot import SnapshotRecords


class Registry(PlanRecords, IssueRecords, SnapshotRecords, ClaimRecords, PaperRecords,
               ReviewRecords, FactRecords, RetentionRecords, RebuiltRecords):
    def __init__(self, engine: Engine, root: Path | None = None) -> None:
        self.engine = engine
        self.root = root.resolve() if root is not None else None


def _sqlite_pragmas(wait_seconds: float) -> Callable[[Any, Any], None]:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the builder
        cursor.execute("PRAGMA foreign_keys=ON")
        # A write waits for another command's write to finish, retrying with backoff
        # (SQLite's busy handler), before it gives up with "database is locked".
        cursor.execute(f"PRAGMA busy_timeout={int(wait_seconds * 1000)}")
        cursor.close()
    return on_connect


def open_registry(url: str, root: Path | None = None, *, wait_seconds: float = 30) -> Registry:
    """Open the registry at `url`, bringing its schema up to date. `root` is the workspace:
    paths inside it are stored relative to it."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas(wait_seconds))
        event.listen(engine, "handle_error", _sqlite_failure(Path(engine.url.database or ""),
                                                             wait_seconds))
    elif engine.dialect.name == "postgresql":
        engine.dispose()
        # A row another machine holds is waited for as long as SQLite's busy timeout; then
        # the command stops with the same message rather than hanging.
        engine = create_engine(url, connect_args={
            "options": f"-c lock_timeout={int(wait_seconds * 1000)}"})
        event.listen(engine, "handle_error", _postgres_failure(engine, wait_seconds))
    upgrade(engine, root)
    return Registry(engine, root)


def _sqlite_failure(database: Path, wait_seconds: float
                    ) -> Callable[[ExceptionContext], None]:
    """Say what SQLite's errors mean for the person running the command."""
    def explain(context: ExceptionContext) -> None:
        error = context.original_exception
        text = str(error).lower()
        if isinstance(error, MemoryError) or not text:
            return
        if disk_full(error) or ("disk i/o error" in text and database.parent.exists()
                                and shutil.disk_usage(database.parent).free
                                < NEARLY_FULL_BYTES):
            raise DiskFull.at(database.parent) from error
        if "database is locked" in text or "database table is locked" in text:
            raise RegistryUnavailable(
                f"the registry ({database.name}) stayed busy with another command for "
                f"{wait_seconds:.0f} seconds; nothing was changed by this one. Run it again "
                "when the other has finished (raise [registry] wait_seconds to wait longer)"
            ) from error
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            raise RegistryUnavailable(
                f"the registry {database} is damaged ({error}); nothing was changed. Restore "
                "it from your latest backup (see README, \"Backups\"), or run `supportplan "
                "registry rebuild` on an empty one") from error
    return explain


def _postgres_failure(engine: Engine, wait_seconds: float
                      ) -> Callable[[ExceptionContext], None]:
    """Say what PostgreSQL's errors mean for the person running the command (the URL is
    shown without its password)."""
    where = engine.url.render_as_string(hide_password=True)

    def explain(context: ExceptionContext) -> None:
        error = context.original_exception
        state = getattr(error, "sqlstate", None) or ""
        if context.connection is None or state.startswith("08"):  # could not connect
            raise RegistryUnavailable(
                f"the registry ({where}) cannot be reached ({str(error).strip()[:200]}); "
                "nothing was changed. Check that the PostgreSQL server is running and that "
                "config.toml [registry] url names it") from error
        if state == "55P03":  # lock_not_available: lock_timeout passed
            raise RegistryUnavailable(
                f"the registry ({where}) stayed busy with another command for "
                f"{wait_seconds:.0f} seconds; nothing was changed by this one. Run it again "
                "when the other has finished (raise [registry] wait_seconds to wait longer)"
            ) from error
        if state == "53100":  # disk_full
            raise RegistryUnavailable(
                f"the disk of the registry's server ({where}) is full; nothing was changed. "
                "Ask whoever runs the database server to free space") from error
    return explain


def registry_for(config: Config) -> Registry:
    """The workspace's registry."""
    return open_registry(config.registry_url, config.root,
                         wait_seconds=config.settings.registry.wait_seconds)


__all__ = ["DAILY_REPORT", "EMAIL", "SCAN", "BoxRecord", "KnownPage", "Registry",
           "RegistryError", "ReviewPack", "VersionRecord", "VersionTaken",
           "box_readings", "events", "households", "insert_ignoring_duplicates", "metadata",
           "now", "open_registry", "os_user", "page_layouts", "plan_versions", "registry_for",
           "review_packs", "safety_items", "scans", "steps", "upgrade", "version_signers",
           "version_steps", "weekly_reviews", "work_claims"]
