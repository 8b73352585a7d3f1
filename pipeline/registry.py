"""The registry: plan versions, steps, signers and an audit trail, through SQLAlchemy Core.

SQLite by default; the same code runs on PostgreSQL by changing the URL in config.toml.
Every change that matters is also written to the `events` table.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection, Engine

from .model import Household, Signer, Step
from .plan import KnownStep, step_content

metadata = MetaData()

households = Table(
    "households", metadata,
    Column("reference", String(40), primary_key=True),
    Column("caseworker", Text, nullable=False),
    Column("caseworker_email", Text, nullable=False, default=""),
    Column("team", Text, nullable=False, default=""),
    Column("peer_reviewer", Text, nullable=False, default=""),
    Column("plan_date", Date),
    Column("review_date", Date),
    Column("closed_on", Date),
    Column("last_weekly_review", Date),
    Column("workbook_path", Text),
    Column("workbook_sha256", String(64)),
    Column("content_hash", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

plan_versions = Table(
    "plan_versions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("household", String(40), ForeignKey("households.reference"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("content", JSON, nullable=False),
    Column("plan_date", Date, nullable=False),
    Column("review_date", Date, nullable=False),
    Column("docx_path", Text, nullable=False),
    Column("pdf_path", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("household", "version"),
)

steps = Table(
    "steps", metadata,
    Column("step_id", String(64), primary_key=True),
    Column("household", String(40), ForeignKey("households.reference"), nullable=False,
           index=True),
    Column("area", Text, nullable=False),
    Column("goal", Text, nullable=False),
    Column("we_will", Text, nullable=False),
    Column("you_will", Text, nullable=False),
    Column("who", Text, nullable=False),
    Column("by_when", Date),
    Column("status", String(32), nullable=False),
    Column("done_on", Date),
    Column("active", Boolean, nullable=False),
    Column("content", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

version_steps = Table(
    "version_steps", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("step_id", String(64), ForeignKey("steps.step_id"), primary_key=True),
    Column("position", Integer, nullable=False),
)

version_signers = Table(
    "version_signers", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("signer_key", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("position", Integer, nullable=False),
)

# Sign-off facts read from scans (filled by the reconciler). One row per box per scanned
# page: the same page scanned twice hits the same key and changes nothing. States:
# signed / blank / review for signatures, ticked / blank / review for ticks.
signatures = Table(
    "signatures", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("signer_key", String(40), primary_key=True),
    Column("scan_sha256", String(64), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

step_ticks = Table(
    "step_ticks", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("step_id", String(64), ForeignKey("steps.step_id"), primary_key=True),
    Column("scan_sha256", String(64), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("household", String(40), index=True),
    Column("version", Integer),
    Column("kind", String(40), nullable=False),
    Column("detail", JSON, nullable=False),
)

# Trackable PDFs (pipeline/reconcile): where each page's boxes are, keyed by the opaque
# token printed in the page's QR code; and every scan file seen, by content hash.
page_layouts = Table(
    "page_layouts", metadata,
    Column("version_id", Integer, ForeignKey("plan_versions.id"), primary_key=True),
    Column("page", Integer, primary_key=True),
    Column("token", String(16), nullable=False, index=True),
    Column("pdf_sha256", String(64), nullable=False),
    Column("layout", JSON, nullable=False),
)

scans = Table(
    "scans", metadata,
    Column("sha256", String(64), primary_key=True),
    Column("original_name", Text, nullable=False),
    Column("archived_path", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("pages", JSON, nullable=False),  # the per-page results, as printed by --json
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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the builder
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_registry(url: str) -> Registry:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return Registry(engine)


class Registry:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    # -- reads ---------------------------------------------------------------------
    def latest_version(self, reference: str) -> VersionRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(plan_versions).where(plan_versions.c.household == reference)
                .order_by(plan_versions.c.version.desc()).limit(1)).mappings().first()
        return _version(row) if row else None

    def versions(self, reference: str) -> list[VersionRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(plan_versions).where(plan_versions.c.household == reference)
                .order_by(plan_versions.c.version)).mappings().all()
        return [_version(row) for row in rows]

    def known_steps(self, reference: str, conn: Connection | None = None) -> list[KnownStep]:
        query = (select(steps.c.step_id, steps.c.content).where(steps.c.household == reference)
                 .order_by(steps.c.step_id))
        if conn is None:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        else:
            rows = conn.execute(query).all()
        return [KnownStep(row.step_id, row.content) for row in rows]

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
        return {row.workbook_path: row.workbook_sha256 for row in rows}

    def events_for(self, reference: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(
                select(events).where(events.c.household == reference).order_by(events.c.id))
                .mappings()]

    def next_step_number(self, reference: str, conn: Connection) -> int:
        count = conn.execute(select(func.count()).select_from(steps)
                             .where(steps.c.household == reference)).scalar_one()
        return int(count) + 1

    # -- writes --------------------------------------------------------------------
    def record_event(self, conn: Connection, kind: str, household: str | None,
                     version: int | None = None, **detail: Any) -> None:
        conn.execute(events.insert().values(
            at=now(), household=household, version=version, kind=kind,
            detail=json.loads(json.dumps(detail, default=str))))

    def upsert_household(self, conn: Connection, household: Household, *,
                         workbook_path: str, workbook_sha256: str, content_hash: str) -> None:
        values = {
            "caseworker": household.caseworker, "caseworker_email": household.caseworker_email,
            "team": household.team, "peer_reviewer": household.peer_reviewer,
            "plan_date": household.plan_date, "review_date": household.review_date,
            "closed_on": household.closed_on,
            "last_weekly_review": max((r.week_of for r in household.weekly_reviews),
                                      default=None),
            "workbook_path": workbook_path, "workbook_sha256": workbook_sha256,
            "content_hash": content_hash, "updated_at": now(),
        }
        exists = conn.execute(select(households.c.reference)
                              .where(households.c.reference == household.reference)).first()
        if exists:
            conn.execute(households.update()
                         .where(households.c.reference == household.reference).values(**values))
        else:
            conn.execute(households.insert().values(reference=household.reference, **values))

    def update_steps(self, conn: Connection, reference: str, step_ids: Sequence[str],
                     household_steps: Sequence[Step]) -> list[tuple[str, str, str]]:
        """Store the latest text and progress of each step; mark others inactive.
        Returns (step_id, old status, new status) for steps whose status changed."""
        existing = {row.step_id: row for row in conn.execute(
            select(steps.c.step_id, steps.c.status, steps.c.done_on)
            .where(steps.c.household == reference))}
        changes: list[tuple[str, str, str]] = []
        stamp = now()
        conn.execute(steps.update().where(steps.c.household == reference).values(active=False))
        for step_id, step in zip(step_ids, household_steps, strict=True):
            values = {"area": step.area, "goal": step.goal, "we_will": step.we_will,
                      "you_will": step.you_will, "who": step.who, "by_when": step.by_when,
                      "status": step.status, "done_on": step.done_on, "active": True,
                      "content": step_content(step), "updated_at": stamp}
            old = existing.get(step_id)
            if old is None:
                conn.execute(steps.insert().values(step_id=step_id, household=reference,
                                                   **values))
                continue
            if (old.status, old.done_on) != (step.status, step.done_on):
                changes.append((step_id, old.status, step.status))
            conn.execute(steps.update().where(steps.c.step_id == step_id).values(**values))
        return changes

    def insert_version(self, conn: Connection, household: Household, *, version: int,
                       content_hash: str, content: dict[str, Any], step_ids: Sequence[str],
                       docx_path: str, pdf_path: str | None) -> int:
        version_id = conn.execute(plan_versions.insert().values(
            household=household.reference, version=version, content_hash=content_hash,
            content=content, plan_date=household.plan_date,
            review_date=household.review_date, docx_path=docx_path, pdf_path=pdf_path,
            issued_at=now())).inserted_primary_key[0]
        if step_ids:
            conn.execute(version_steps.insert(), [
                {"version_id": version_id, "step_id": step_id, "position": position}
                for position, step_id in enumerate(step_ids)])
        conn.execute(version_signers.insert(), [
            {"version_id": version_id, "signer_key": signer.key, "name": signer.name,
             "role": signer.role, "position": position}
            for position, signer in enumerate(household.signers)])
        return int(version_id)


def _version(row: Any) -> VersionRecord:
    return VersionRecord(id=row["id"], household=row["household"], version=row["version"],
                         content_hash=row["content_hash"], plan_date=row["plan_date"],
                         review_date=row["review_date"], docx_path=row["docx_path"],
                         pdf_path=row["pdf_path"], issued_at=row["issued_at"])
