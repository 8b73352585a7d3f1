"""Records for `supportplan registry rebuild`: whether the registry is empty, and versions
recovered from plan files already issued (pipeline/rebuild.py decides what they hold)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from .core import ISSUED, now
from .schema import households, plan_versions, scans

RECOVERED_EVENT = "version_recovered"


class RebuiltRecords:
    engine: Engine

    def record_counts(self) -> dict[str, int]:
        """Households, versions (in any state) and scans held: all zero in an empty one."""
        with self.engine.connect() as conn:
            return {table.name: int(conn.execute(select(func.count()).select_from(table))
                                    .scalar_one())
                    for table in (households, plan_versions, scans)}

    def insert_unknown_version(self, conn: Connection, reference: str, *, version: int,
                               docx_path: str, pdf_path: str | None, issued_at: datetime,
                               plan_date: date, review_date: date) -> int:
        """A version whose files exist but whose content cannot be recovered (the workbook
        has changed since). It keeps its number, so nothing is issued again under it; no
        build will ever find its content unchanged, so the next version follows it."""
        content: dict[str, Any] = {"reference": reference, "recovered_from_files": True}
        return int(conn.execute(plan_versions.insert().values(
            household=reference, version=version, content_hash=f"unrecovered-v{version}",
            content=content, plan_date=plan_date, review_date=review_date,
            docx_path=self.stored_path(docx_path),  # type: ignore[attr-defined]
            pdf_path=self.stored_path(pdf_path) if pdf_path else None,  # type: ignore[attr-defined]
            issued_at=issued_at, supersedes=version - 1 if version > 1 else None,
            reason="recovered from its files by `registry rebuild`", state=ISSUED)
        ).inserted_primary_key[0])

    def set_issued_at(self, conn: Connection, version_id: int, issued_at: datetime) -> None:
        conn.execute(plan_versions.update().where(plan_versions.c.id == version_id)
                     .values(issued_at=issued_at, state=ISSUED,
                             reason="recovered from its files by `registry rebuild`"))

    def claim_unknown_household(self, conn: Connection, reference: str) -> None:
        """A household whose workbook could not be read: a row, so its versions have one."""
        conn.execute(households.insert().values(reference=reference, caseworker="",
                                                updated_at=now()))
