"""Claiming work that must be done once however many machines share the registry.

A claim is a row (kind, key); a machine takes it with one conditional UPDATE (… WHERE
nobody holds it, or the holder's claim is stale … RETURNING), which the database runs for
one machine at a time, so exactly one of several machines racing for it gets it. A claim
is released when the work failed (someone may try again), or marked done for good.
A machine that dies holding a claim loses it after `stale_after`.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from functools import cache

from sqlalchemy import or_
from sqlalchemy.engine import Engine

from .core import insert_ignoring_duplicates, now
from .schema import work_claims

SCAN, DAILY_REPORT, EMAIL = "scan", "daily-report", "email"


@cache
def _me() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ClaimRecords:
    engine: Engine

    def claim(self, kind: str, key: str, *, stale_after: timedelta = timedelta(minutes=30)
              ) -> bool:
        """Take the work (kind, key) for this process; False when another process holds it
        or it is done."""
        stamp = now()
        with self.engine.begin() as conn:
            insert_ignoring_duplicates(conn, work_claims, {"kind": kind, "key": key})
            taken = conn.execute(
                work_claims.update()
                .where(work_claims.c.kind == kind, work_claims.c.key == key,
                       work_claims.c.done_at.is_(None),
                       or_(work_claims.c.claimed_by.is_(None),
                           work_claims.c.claimed_at < stamp - stale_after))
                .values(claimed_by=_me(), claimed_at=stamp)
                .returning(work_claims.c.key)).first()
        return taken is not None

    def release(self, kind: str, key: str, *, done: bool) -> None:
        """Give up a claim: done for good, or free for another attempt."""
        values = {"done_at": now()} if done else {"claimed_by": None, "claimed_at": None}
        with self.engine.begin() as conn:
            conn.execute(work_claims.update()
                         .where(work_claims.c.kind == kind, work_claims.c.key == key,
                                work_claims.c.claimed_by == _me())
                         .values(**values))
