"""Retention records: which households closed long ago, and removing one completely.

A purged household leaves exactly one row behind: a `household_purged` event holding its
reference, how many records were removed and who ran the purge (the OS user), nothing
that names or describes anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, func, or_, select
from sqlalchemy.engine import Connection, Engine

from .schema import (
    box_readings,
    events,
    households,
    page_layouts,
    plan_versions,
    review_packs,
    safety_items,
    scans,
    steps,
    version_signers,
    version_steps,
    weekly_reviews,
)

PURGED_EVENT = "household_purged"


@dataclass(frozen=True)
class ClosedHousehold:
    reference: str
    closed_on: date
    workbook_path: str | None  # as stored (relative to the workspace when inside it)
    workbook_sha256: str | None  # of the workbook as last built


@dataclass
class HouseholdRecords:
    """What the registry holds about one household: the counts say what a purge removes,
    the paths which files go with it."""

    reference: str
    counts: dict[str, int] = field(default_factory=dict)
    plan_files: list[str] = field(default_factory=list)  # stored paths
    review_files: list[str] = field(default_factory=list)
    box_crops: list[str] = field(default_factory=list)
    scans: list[str] = field(default_factory=list)  # sha256 of scans holding only this household
    shared_scans: list[str] = field(default_factory=list)  # scans with pages of others too
    scan_files: list[str] = field(default_factory=list)  # archived paths of `scans`


def _scan_households(pages: list[dict[str, Any]]) -> set[str]:
    return {page["household"] for page in pages if page.get("household")}


class RetentionRecords:
    engine: Engine

    def closed_before(self, cutoff: date) -> list[ClosedHousehold]:
        """Households whose support closed before `cutoff`, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(households.c.reference, households.c.closed_on,
                                       households.c.workbook_path,
                                       households.c.workbook_sha256)
                                .where(households.c.closed_on.is_not(None),
                                       households.c.closed_on < cutoff)
                                .order_by(households.c.closed_on, households.c.reference))
            return [ClosedHousehold(row.reference, row.closed_on, row.workbook_path,
                                    row.workbook_sha256) for row in rows]

    def household_records(self, reference: str, purging: set[str]) -> HouseholdRecords:
        """Everything recorded about `reference`; a scan counts as its own only when every
        household on it is being purged (`purging`)."""
        found = HouseholdRecords(reference)
        with self.engine.connect() as conn:
            version_ids = list(conn.execute(select(plan_versions.c.id).where(
                plan_versions.c.household == reference)).scalars())
            found.plan_files = [path for row in conn.execute(
                select(plan_versions.c.docx_path, plan_versions.c.pdf_path).where(
                    plan_versions.c.household == reference)) for path in row if path]
            found.review_files = [path for row in conn.execute(
                select(review_packs.c.docx_path, review_packs.c.pdf_path).where(
                    review_packs.c.household == reference)) for path in row if path]
            found.box_crops = [path for path in conn.execute(
                select(box_readings.c.crop_path).where(
                    box_readings.c.version_id.in_(version_ids))).scalars() if path]
            for row in conn.execute(select(scans.c.sha256, scans.c.archived_path, scans.c.pages)):
                on_scan = _scan_households(row.pages or [])
                if reference not in on_scan:
                    continue
                if on_scan <= purging:
                    found.scans.append(row.sha256)
                    found.scan_files.append(row.archived_path)
                else:
                    found.shared_scans.append(row.sha256)
            found.counts = {
                "plan versions": len(version_ids),
                "review packs": self._count(conn, review_packs, review_packs.c.household
                                            == reference),
                "steps": self._count(conn, steps, steps.c.household == reference),
                "box readings": self._count(conn, box_readings,
                                            box_readings.c.version_id.in_(version_ids)),
                "scans": len(found.scans),
                "weekly reviews": self._count(conn, weekly_reviews,
                                              weekly_reviews.c.household == reference),
                "safety items": self._count(conn, safety_items,
                                            safety_items.c.household == reference),
                "events": self._count(conn, events, events.c.household == reference),
            }
        return found

    @staticmethod
    def _count(conn: Connection, table: Table, condition: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(table).where(condition))
                   .scalar_one())

    def delete_household(self, conn: Connection, found: HouseholdRecords) -> None:
        """Remove every row about the household, then record that it was purged (counts
        only). Children before parents, so foreign keys hold throughout."""
        reference = found.reference
        version_ids = select(plan_versions.c.id).where(plan_versions.c.household == reference)
        review_ids = select(review_packs.c.id).where(review_packs.c.household == reference)
        conn.execute(box_readings.delete().where(or_(box_readings.c.version_id.in_(version_ids),
                                                     box_readings.c.review_id.in_(review_ids))))
        conn.execute(page_layouts.delete().where(or_(page_layouts.c.version_id.in_(version_ids),
                                                     page_layouts.c.review_id.in_(review_ids))))
        for table in (version_signers, version_steps):
            conn.execute(table.delete().where(table.c.version_id.in_(version_ids)))
        conn.execute(review_packs.delete().where(review_packs.c.household == reference))
        conn.execute(plan_versions.delete().where(plan_versions.c.household == reference))
        for table in (steps, weekly_reviews, safety_items, events):
            conn.execute(table.delete().where(table.c.household == reference))
        if found.scans:
            conn.execute(scans.delete().where(scans.c.sha256.in_(found.scans)))
        # A scan that also holds other households' pages stays; what it said about this one
        # goes (the archived file itself is a picture of paper: see pipeline/purge.py).
        for sha256 in found.shared_scans:
            pages = conn.execute(select(scans.c.pages).where(scans.c.sha256 == sha256)
                                 ).scalar_one()
            kept = [page if page.get("household") != reference else
                    {"page_index": page.get("page_index"), "status": "purged",
                     "household": None} for page in pages]
            conn.execute(scans.update().where(scans.c.sha256 == sha256).values(pages=kept))
        conn.execute(households.delete().where(households.c.reference == reference))
        self.record_event(conn, PURGED_EVENT, reference,  # type: ignore[attr-defined]
                          removed=found.counts)

    def archived_paths(self, sha256s: list[str]) -> list[str]:
        """Where the scans with these hashes were archived (as stored)."""
        if not sha256s:
            return []
        with self.engine.connect() as conn:
            return list(conn.execute(select(scans.c.archived_path)
                                     .where(scans.c.sha256.in_(sha256s))).scalars())
