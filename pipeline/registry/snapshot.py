"""The one question a build asks about a household: what does the registry know about it?

Everything the build's decision (pipeline/decide.py) needs, read in one connection: the
latest issued version with its content, step ids and step states, every step the household
had (for stable ids and progress), the highest version number recorded and the latest
version's page-code token.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ..decide import HouseholdSnapshot
from ..plan import KnownStep
from .core import ISSUED, issued_steps
from .schema import page_layouts, plan_versions, steps

_STEP_NUMBER = re.compile(r"-S(\d+)$")  # plan.assign_step_ids: <reference>-S<number>


class SnapshotRecords:
    engine: Engine

    def snapshot(self, reference: str) -> HouseholdSnapshot:
        """What the registry knows about `reference` now, for deciding its next build."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                # One consistent view while other machines issue versions. SQLite needs no
                # such care: there, builds on the one machine take turns (the build lock).
                # Either way the version number is checked again under the household's
                # row lock when the version is recorded (reserve_version).
                conn.execution_options(isolation_level="REPEATABLE READ")
            row = conn.execute(
                select(plan_versions).where(plan_versions.c.household == reference,
                                            plan_versions.c.state == ISSUED)
                .order_by(plan_versions.c.version.desc()).limit(1)).mappings().first()
            latest = self._version(row) if row else None  # type: ignore[attr-defined]
            content = dict(row["content"]) if row else {}
            step_ids, states = issued_steps(conn, latest.id, content) if latest else ([], [])
            token = conn.execute(select(page_layouts.c.token).where(
                page_layouts.c.version_id == latest.id, page_layouts.c.review_id.is_(None))
                .limit(1)).scalar() if latest else None
            known = [KnownStep(r.step_id, r.content, r.status, r.done_on)
                     for r in conn.execute(
                         select(steps.c.step_id, steps.c.content, steps.c.status,
                                steps.c.done_on).where(steps.c.household == reference)
                         .order_by(steps.c.step_id))]
            highest = conn.execute(select(func.max(plan_versions.c.version))
                                   .where(plan_versions.c.household == reference)).scalar()
        # Numbers, not a count: step ids stay unique however steps come and go.
        numbers = [int(m[1]) for k in known if (m := _STEP_NUMBER.search(k.step_id))]
        return HouseholdSnapshot(
            reference, latest, content, tuple(states), tuple(step_ids), tuple(known),
            max(numbers, default=0) + 1, int(highest or 0), token)
