"""Plan records: households, versions, steps, signers and the audit trail.

The `Registry` class is put together in pipeline/registry/__init__.py from this and the
other record modules; each holds the SQL for its own part.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.engine import Connection, Engine

from ..compare import StepState
from ..files import sha256_file
from ..model import Household, Signer, Step
from ..plan import KnownStep, StatusChange, progress_changes, step_content
from .schema import (
    events,
    households,
    page_layouts,
    plan_versions,
    safety_items,
    steps,
    version_signers,
    version_steps,
    weekly_reviews,
)


def insert_ignoring_duplicates(conn: Connection, table: Table, values: dict[str, Any]) -> None:
    """Insert a row unless its primary key exists (re-reading the same scan changes
    nothing), on SQLite and PostgreSQL alike."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    conn.execute(insert(table).values(**values).on_conflict_do_nothing())


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class VersionRecord:
    id: int
    household: str
    version: int
    content_hash: str
    plan_date: date
    review_date: date
    docx_path: str
    pdf_path: str | None
    issued_at: datetime


PUBLISHING, ISSUED = "publishing", "issued"


@dataclass(frozen=True)
class PendingVersion:
    """A version recorded but whose files were not (all) in place when its build stopped."""

    id: int
    household: str
    version: int
    docx_path: str
    pdf_path: str | None


@cache
def os_user() -> str:
    """Who is running this command, for the audit trail."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return str(os.getuid())


class PlanRecords:
    """Households, plan versions, steps and events."""

    engine: Engine
    root: Path | None  # the workspace: paths inside it are stored relative to it

    def close(self) -> None:
        self.engine.dispose()

    def stored_path(self, path: Path | str) -> str:
        """How a path is kept: relative to the workspace when inside it, so a moved
        workspace keeps working."""
        path = Path(path)
        if self.root is not None and path.is_absolute():
            try:
                return path.relative_to(self.root).as_posix()
            except ValueError:
                pass
        return str(path)

    def full_path(self, stored: str | None) -> str | None:
        if stored is None or self.root is None or Path(stored).is_absolute():
            return stored
        return str(self.root / stored)

    # -- reads ---------------------------------------------------------------------
    def latest_version(self, reference: str) -> VersionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(plan_versions).where(plan_versions.c.household == reference,
                                            plan_versions.c.state == ISSUED)
                .order_by(plan_versions.c.version.desc()).limit(1)).mappings().first()
        return self._version(row) if row else None

    def version_states(self, version_id: int) -> list[StepState]:
        """Each step of a version as it was issued: its text, date and progress then."""
        content = self.version_content(version_id)
        with self.engine.connect() as conn:
            return issued_steps(conn, version_id, content)[1]

    def mark_issued(self, conn: Connection, version_id: int) -> None:
        """The version's files are in place: it exists for everyone from now on."""
        conn.execute(plan_versions.update().where(plan_versions.c.id == version_id)
                     .values(state=ISSUED))

    def pending_versions(self) -> list[PendingVersion]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(plan_versions).where(
                plan_versions.c.state == PUBLISHING)).mappings().all()
        return [PendingVersion(row["id"], row["household"], row["version"],
                               self.full_path(row["docx_path"]) or "",
                               self.full_path(row["pdf_path"]))
                for row in rows]

    def claim_household(self, conn: Connection, household: Household) -> None:
        """The row a version needs before it is recorded; filled in by `upsert_household`
        once the version is issued (until then the workbook counts as not yet built)."""
        insert_ignoring_duplicates(conn, households, {
            "reference": household.reference, "caseworker": household.caseworker,
            "updated_at": now()})

    def discard_version(self, conn: Connection, version_id: int) -> None:
        """Forget a version whose files never all appeared (its build was stopped)."""
        reference = conn.execute(select(plan_versions.c.household)
                                 .where(plan_versions.c.id == version_id)).scalar_one()
        for table in (page_layouts, version_signers, version_steps):
            conn.execute(table.delete().where(table.c.version_id == version_id))
        conn.execute(plan_versions.delete().where(plan_versions.c.id == version_id))
        # a household first claimed by this version goes with it, and its steps
        first_claimed = conn.execute(select(households.c.reference).where(
            households.c.reference == reference, households.c.workbook_sha256.is_(None),
            ~select(plan_versions.c.id).where(plan_versions.c.household == reference).exists()
        )).first()
        if first_claimed:
            conn.execute(steps.delete().where(steps.c.household == reference))
            conn.execute(households.delete().where(households.c.reference == reference))

    def issued_plan_count(self) -> int:
        """Versions recorded, issued or being published (by another machine, perhaps)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(plan_versions))
                       .scalar_one())

    def version_reason(self, version_id: int) -> str:
        with self.engine.connect() as conn:
            return conn.execute(select(plan_versions.c.reason)
                                .where(plan_versions.c.id == version_id)).scalar() or ""

    def version_content(self, version_id: int) -> dict[str, Any]:
        """What version `version_id` showed (plan.plan_content)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(plan_versions.c.content)
                                     .where(plan_versions.c.id == version_id)).scalar_one())

    def versions(self, reference: str) -> list[VersionRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(plan_versions).where(plan_versions.c.household == reference,
                                            plan_versions.c.state == ISSUED)
                .order_by(plan_versions.c.version)).mappings().all()
        return [self._version(row) for row in rows]

    def version_step_ids(self, version_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(version_steps.c.step_id).where(version_steps.c.version_id == version_id)
                .order_by(version_steps.c.position)).scalars())

    def version_signers(self, version_id: int) -> list[Signer]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(version_signers).where(version_signers.c.version_id == version_id)
                .order_by(version_signers.c.position)).mappings().all()
        return [Signer(row["signer_key"], row["name"], row["role"]) for row in rows]

    def steps_for(self, reference: str, *, active_only: bool = True) -> list[dict[str, Any]]:
        query = select(steps).where(steps.c.household == reference)
        if active_only:
            query = query.where(steps.c.active.is_(True))
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query.order_by(steps.c.step_id)).mappings()]

    def workbook_sha256(self, reference: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(households.c.workbook_sha256)
                                .where(households.c.reference == reference)).scalar()

    def known_workbook_hashes(self) -> dict[str, str]:
        """workbook path -> sha256 of the file last processed from there."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(households.c.workbook_path, households.c.workbook_sha256)
                                .where(households.c.workbook_path.is_not(None))).all()
        return {self.full_path(row.workbook_path): row.workbook_sha256 for row in rows}

    def any_workbook_changed(self, workbooks: Sequence[Path]) -> bool:
        """Whether any of `workbooks` is new, or differs from the file last processed from
        its place (so a plan will probably be made)."""
        known = self.known_workbook_hashes()
        for workbook in workbooks:
            with contextlib.suppress(OSError):  # unreadable: the build says so, not this
                if known.get(str(workbook.resolve())) != sha256_file(workbook):
                    return True
        return False

    def events_for(self, reference: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(
                select(events).where(events.c.household == reference).order_by(events.c.id))
                .mappings()]

    # -- writes --------------------------------------------------------------------
    def record_event(self, conn: Connection, kind: str, household: str | None,
                     version: int | None = None, **detail: Any) -> None:
        conn.execute(events.insert().values(
            at=now(), household=household, version=version, kind=kind,
            detail=json.loads(json.dumps(detail, default=str)), actor=os_user()))

    def upsert_household(self, conn: Connection, household: Household, *,
                         workbook_path: str, workbook_sha256: str, content_hash: str) -> None:
        values = {
            "caseworker": household.caseworker, "caseworker_email": household.caseworker_email,
            "team": household.team, "peer_reviewer": household.peer_reviewer,
            "plan_date": household.plan_date, "review_date": household.review_date,
            "closed_on": household.closed_on,
            "last_weekly_review": max((r.week_of for r in household.weekly_reviews),
                                      default=None),
            "workbook_path": self.stored_path(workbook_path), "workbook_sha256": workbook_sha256,
            "content_hash": content_hash, "updated_at": now(),
        }
        exists = conn.execute(select(households.c.reference)
                              .where(households.c.reference == household.reference)).first()
        if exists:
            conn.execute(households.update()
                         .where(households.c.reference == household.reference).values(**values))
        else:
            conn.execute(households.insert().values(reference=household.reference, **values))
        self._replace_cycle(conn, household)

    @staticmethod
    def _replace_cycle(conn: Connection, household: Household) -> None:
        """The weekly reviews and safety plan, as the workbook now has them."""
        reference = household.reference
        conn.execute(weekly_reviews.delete().where(weekly_reviews.c.household == reference))
        conn.execute(safety_items.delete().where(safety_items.c.household == reference))
        latest = {review.week_of: review for review in household.weekly_reviews}  # last wins
        if latest:
            conn.execute(weekly_reviews.insert(), [
                {"household": reference, "week_of": r.week_of, "did_we_do_it": r.did_we_do_it,
                 "what_changed": r.what_changed, "needs_and_blockers": r.needs_and_blockers,
                 "this_week": r.this_week, "safety_plan_working": r.safety_plan_working,
                 "recorded_by": r.recorded_by} for r in latest.values()])
        if household.safety_plan:
            conn.execute(safety_items.insert(), [
                {"household": reference, "position": position, "worry": item.worry,
                 "we_will": item.we_will, "you_will": item.you_will,
                 "review_by": item.review_by}
                for position, item in enumerate(household.safety_plan)])

    def record_progress(self, household: Household, version: int, step_ids: Sequence[str], *,
                        workbook_path: str, workbook_sha256: str,
                        content_hash: str) -> list[StatusChange]:
        """A workbook whose plan content is still `version`'s: its steps' progress, weekly
        reviews and safety plan, in one transaction with an event per status change.
        Returns the changes as recorded (another build may have recorded some already)."""
        reference = household.reference
        with self.engine.begin() as conn:
            changes = self.update_steps(conn, reference, step_ids, household.steps)
            self.upsert_household(conn, household, workbook_path=workbook_path,
                                  workbook_sha256=workbook_sha256, content_hash=content_hash)
            for step_id, old, new in changes:
                self.record_event(conn, "step_status", reference, version,
                                  step_id=step_id, old=old, new=new)
        return changes

    def update_steps(self, conn: Connection, reference: str, step_ids: Sequence[str],
                     household_steps: Sequence[Step]) -> list[StatusChange]:
        """Store the latest text and progress of each step; mark others inactive.
        Returns (step_id, old status, new status) for steps whose status changed."""
        existing = [KnownStep(row.step_id, {}, row.status, row.done_on)
                    for row in conn.execute(select(steps.c.step_id, steps.c.status,
                                                   steps.c.done_on)
                                            .where(steps.c.household == reference))]
        changes = progress_changes(existing, step_ids, household_steps)
        recorded = {known.step_id for known in existing}
        stamp = now()
        conn.execute(steps.update().where(steps.c.household == reference).values(active=False))
        new, known = [], []
        for step_id, step in zip(step_ids, household_steps, strict=True):
            values = {"area": step.area, "goal": step.goal, "we_will": step.we_will,
                      "you_will": step.you_will, "who": step.who, "by_when": step.by_when,
                      "status": step.status, "done_on": step.done_on, "active": True,
                      "content": step_content(step), "updated_at": stamp}
            if step_id in recorded:
                known.append({"target": step_id, **values})
            else:
                new.append({"step_id": step_id, "household": reference, **values})
        # One statement for all the new steps and one for all the known (a statement per
        # step was most of the time an unchanged workbook took to record).
        if new:
            conn.execute(steps.insert(), new)
        if known:
            conn.execute(steps.update().where(steps.c.step_id == bindparam("target")), known)
        return changes

    def insert_version(self, conn: Connection, household: Household, *, version: int,
                       content_hash: str, content: dict[str, Any], step_ids: Sequence[str],
                       docx_path: str, pdf_path: str | None, reason: str = "") -> int:
        version_id = conn.execute(plan_versions.insert().values(
            household=household.reference, version=version, content_hash=content_hash,
            content=content, plan_date=household.plan_date,
            review_date=household.review_date, docx_path=self.stored_path(docx_path),
            pdf_path=self.stored_path(pdf_path) if pdf_path else None,
            issued_at=now(), supersedes=version - 1 if version > 1 else None,
            reason=reason, state=PUBLISHING)).inserted_primary_key[0]
        if step_ids:
            conn.execute(version_steps.insert(), [
                {"version_id": version_id, "step_id": step_id, "position": position,
                 "status": step.status, "done_on": step.done_on}
                for position, (step_id, step) in enumerate(zip(step_ids, household.steps,
                                                               strict=True))])
        conn.execute(version_signers.insert(), [
            {"version_id": version_id, "signer_key": signer.key, "name": signer.name,
             "role": signer.role, "position": position}
            for position, signer in enumerate(household.signers)])
        return int(version_id)

    def _version(self, row: Any) -> VersionRecord:
        return VersionRecord(id=row["id"], household=row["household"], version=row["version"],
                             content_hash=row["content_hash"], plan_date=row["plan_date"],
                             review_date=row["review_date"],
                             docx_path=self.full_path(row["docx_path"]) or "",
                             pdf_path=self.full_path(row["pdf_path"]),
                             issued_at=row["issued_at"])


def issued_steps(conn: Connection, version_id: int, content: Mapping[str, Any]
                 ) -> tuple[list[str], list[StepState]]:
    """The step ids of version `version_id` (whose content is `content`), in plan order, and
    each step as it was issued."""
    rows = conn.execute(select(version_steps).where(version_steps.c.version_id == version_id)
                        .order_by(version_steps.c.position)).mappings().all()
    return [row["step_id"] for row in rows], [
        StepState.from_content(row["step_id"], step, row["status"] or "", row["done_on"])
        for row, step in zip(rows, content.get("steps", []), strict=False)]
