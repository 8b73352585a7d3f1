"""Bring a registry's schema up to date with Alembic, safely from any number of processes.

Every command calls `upgrade` when it opens the registry (and `supportplan upgrade` does
it explicitly). Processes starting together are serialised: on SQLite by an advisory
lock on a file beside the database (`supportplan.sqlite.lock`), on PostgreSQL by an
advisory lock held by the migrating connection. A registry
made before migrations existed (tables, no `alembic_version`) is recognised as the first
revision and upgraded from there. On PostgreSQL the work queue's schema (procrastinate's
tables) is then made, or brought up to the installed procrastinate, under the same lock
(pipeline/registry/queue_schema.py).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from . import queue_schema

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"
_PG_LOCK_KEY = 0x5350_4C41  # "SPLA": any constant shared by every supportplan process


def _alembic_config(connection: Connection, workspace: Path | None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["workspace"] = workspace
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(_alembic_config(None, None))  # type: ignore[arg-type]
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None and inspect(connection).has_table("households"):
        return FIRST_REVISION  # made by the first release, before migrations existed
    return revision


@contextlib.contextmanager
def _migration_lock(engine: Engine, connection: Connection) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        # However long another process's migration takes (no lock_timeout here)
        connection.execute(text("SET lock_timeout = 0"))
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_LOCK_KEY})
            # back to [registry] wait_seconds for whoever uses this pooled connection next
            connection.execute(text("RESET lock_timeout"))
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    # A lock file beside the database, never the database itself: closing any handle on
    # the database file would drop the POSIX locks SQLite's own open connections in this
    # process hold on it, and another process could then take the registry apart.
    with open(f"{database}.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, workspace: Path | None = None, *,
            target: str | None = None) -> list[str]:
    """Apply pending migrations up to `target` (default: the newest, and then the work
    queue's schema too); returns the revisions applied (none when up to date)."""
    head = target or head_revision()
    with engine.connect() as probe:
        if current_revision(probe) == head and (target or queue_schema.up_to_date(probe)):
            return []
    with engine.connect() as connection:
        # Autocommit for the lock statements; Alembic opens its own transaction.
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        with _migration_lock(engine, connection), engine.connect() as migrating:
            start = current_revision(migrating)
            if start != head:  # else another process upgraded it while we waited
                config = _alembic_config(migrating, workspace)
                if MigrationContext.configure(migrating).get_current_revision() is None \
                        and start == FIRST_REVISION:
                    command.stamp(config, FIRST_REVISION)  # made before migrations existed
                command.upgrade(config, head)
                migrating.commit()
            if target is None:  # a registry held at an older revision (tests) has no queue
                queue_schema.bring_up_to_date(migrating)
            if start == head:
                return []
    applied = _revisions_between(start, head)
    log.info("registry upgraded: %s", ", ".join(applied))
    return applied


def _revisions_between(start: str | None, head: str) -> list[str]:
    script = ScriptDirectory.from_config(_alembic_config(None, None))  # type: ignore[arg-type]
    revisions = [r.revision for r in script.iterate_revisions(head, start or "base")]
    return list(reversed(revisions))
