"""Issuing a version number under the database's own locks, so builds on several machines
sharing one registry never issue one number twice.

A build decides from what the registry knew when it read the workbook ("v3 is next"),
renders, converts and only then records the version. In between another machine may have
recorded that number. `reserve_version` locks the household's row (SELECT … FOR UPDATE;
SQLite takes its one write lock) and checks again before the version is inserted; the
unique constraint (household, version) is the last line behind it.

While its files are put in place a version is "publishing". On PostgreSQL the connection
recording it holds an advisory lock on the version's id until it is issued: another
machine's recovery (pipeline/recover.py) leaves such a version alone, and takes over only
versions whose build died (the lock goes with its connection). On SQLite every build on
the one machine holds the build lock, which does the same.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from ..model import Household
from .core import PUBLISHING
from .schema import households, plan_versions

# The first key of the two-key advisory locks on versions being published ("SP").
_PUBLISHING_LOCKS = 0x5350


class VersionTaken(Exception):
    """Another build recorded this version number first."""

    def __init__(self, version: int, same_content: bool) -> None:
        super().__init__(f"version {version} was recorded by another build")
        self.version = version
        self.same_content = same_content


class IssueRecords:
    """Version numbers issued under the database's locks."""

    engine: Engine

    def highest_recorded_version(self, reference: str) -> int:
        """The newest version number recorded for `reference`, issued or still publishing
        (0 when none): files up to it may be in output/<ref>/ legitimately."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(plan_versions.c.version))
                                    .where(plan_versions.c.household == reference))
                       .scalar() or 0)

    def reserve_version(self, conn: Connection, household: Household, version: int,
                        content_hash: str) -> None:
        """Lock the household's row and check that `version` is still the next number;
        raise VersionTaken when another build recorded it (or a later one) first. Call inside
        the transaction that inserts the version."""
        self.claim_household(conn, household)  # type: ignore[attr-defined]
        conn.execute(select(households.c.reference)
                     .where(households.c.reference == household.reference)
                     .with_for_update()).first()
        newest = conn.execute(
            select(plan_versions.c.version, plan_versions.c.content_hash)
            .where(plan_versions.c.household == household.reference)
            .order_by(plan_versions.c.version.desc()).limit(1)).first()
        if newest is not None and newest.version >= version:
            raise VersionTaken(newest.version, newest.content_hash == content_hash)

    @contextlib.contextmanager
    def publishing(self) -> Iterator[Connection]:
        """The connection that records a version, holds it (`hold_version`) while its files
        are published, and marks it issued. Locks it held end with it."""
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                if conn.dialect.name == "postgresql" and not conn.closed:
                    if conn.in_transaction():
                        conn.rollback()
                    conn.execute(select(func.pg_advisory_unlock_all()))
                    conn.commit()

    @staticmethod
    def hold_version(conn: Connection, version_id: int) -> None:
        """Tell other machines this version is being published (PostgreSQL; a session lock
        taken inside the recording transaction, so it is held before anyone can see it)."""
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_lock(_PUBLISHING_LOCKS, version_id)))

    @contextlib.contextmanager
    def abandoned(self, version_id: int) -> Iterator[bool]:
        """Whether the "publishing" version `version_id` was left by a build that died (and
        is still publishing), holding it for the caller's clean-up meanwhile."""
        with self.engine.connect() as conn:
            held = True
            if conn.dialect.name == "postgresql":
                held = bool(conn.execute(select(func.pg_try_advisory_lock(
                    _PUBLISHING_LOCKS, version_id))).scalar())
                conn.commit()
            try:
                still = held and conn.execute(
                    select(plan_versions.c.id).where(plan_versions.c.id == version_id,
                                                     plan_versions.c.state == PUBLISHING)
                ).first() is not None
                conn.commit()
                yield still
            finally:
                if held and conn.dialect.name == "postgresql":
                    conn.execute(select(func.pg_advisory_unlock(_PUBLISHING_LOCKS,
                                                                version_id)))
                    conn.commit()
