"""Review records: the last signed version, formal review packs and whether they were
signed, and the weekly reviews since a date.

"Signed" means every party to the plan (the caseworker and each member who signs) has a
box read as signed, or decided signed by a person; the interpreter and the peer reviewer
sign too but are not parties (pipeline/model.NOT_PARTIES).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ..model import NOT_PARTIES, Signer
from ..signoff import BoxKind
from .core import now
from .paper import effective_marked
from .schema import (
    box_readings,
    plan_versions,
    review_packs,
    version_signers,
    weekly_reviews,
)


@dataclass(frozen=True)
class ReviewPack:
    id: int
    household: str
    version: int  # the version reviewed
    base_version: int  # what it was compared with
    made_on: date
    next_review: date
    docx_path: str
    pdf_path: str | None
    signers: tuple[Signer, ...]
    signed_on: date | None


class ReviewRecords:
    engine: Engine

    def _signed_keys(self, conn: Connection, version_id: int, review_id: int | None
                     ) -> dict[str, date]:
        """Signer key -> first day a signature counted, on the plan itself (`review_id`
        None) or on one review pack."""
        condition = (box_readings.c.review_id.is_(None) if review_id is None
                     else box_readings.c.review_id == review_id)
        rows = conn.execute(select(box_readings.c.key, box_readings.c.recorded_at)
                            .where(box_readings.c.version_id == version_id, condition,
                                   effective_marked(BoxKind.SIGNATURE))).all()
        signed: dict[str, date] = {}
        for key, recorded in rows:
            day = recorded.date()
            signed[key] = min(signed.get(key, day), day)
        return signed

    def version_signatures(self, version_id: int) -> list[dict[str, Any]]:
        """Each signer of a version, with the day their signature was read (or None)."""
        with self.engine.connect() as conn:
            signed = self._signed_keys(conn, version_id, None)
            rows = conn.execute(select(version_signers).where(
                version_signers.c.version_id == version_id)
                .order_by(version_signers.c.position)).mappings().all()
        return [{"key": row["signer_key"], "name": row["name"], "role": row["role"],
                 "signed_on": signed[row["signer_key"]].isoformat()
                 if row["signer_key"] in signed else None} for row in rows]

    def last_signed_version(self, reference: str) -> tuple[int, int, date] | None:
        """(version id, version number, day the last party signed) of the newest version
        every party signed on paper, or None."""
        with self.engine.connect() as conn:
            versions = conn.execute(select(plan_versions.c.id, plan_versions.c.version)
                                    .where(plan_versions.c.household == reference)
                                    .order_by(plan_versions.c.version.desc())).all()
            for version_id, number in versions:
                parties = [row.signer_key for row in conn.execute(
                    select(version_signers.c.signer_key)
                    .where(version_signers.c.version_id == version_id))
                    if row.signer_key not in NOT_PARTIES]
                signed = self._signed_keys(conn, version_id, None)
                if parties and all(key in signed for key in parties):
                    return version_id, number, max(signed[key] for key in parties)
        return None

    def ticked_steps(self, reference: str) -> dict[str, date]:
        """Step id -> the first day a scan (of the plan or a review pack) showed it ticked
        (or a person decided it was)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(box_readings.c.key, box_readings.c.recorded_at)
                .join(plan_versions, plan_versions.c.id == box_readings.c.version_id)
                .where(plan_versions.c.household == reference,
                       effective_marked(BoxKind.TICK))).all()
        ticked: dict[str, date] = {}
        for key, recorded in rows:
            ticked[key] = min(ticked.get(key, recorded.date()), recorded.date())
        return ticked

    def weekly_reviews_since(self, reference: str, since: date) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(
                select(weekly_reviews).where(weekly_reviews.c.household == reference,
                                             weekly_reviews.c.week_of >= since)
                .order_by(weekly_reviews.c.week_of)).mappings()]

    def insert_review_pack(self, conn: Connection, *, reference: str, version_id: int,
                           base_version: int, made_on: date, next_review: date,
                           docx_path: str, pdf_path: str | None,
                           signers: Sequence[Signer]) -> int:
        return int(conn.execute(review_packs.insert().values(
            household=reference, version_id=version_id, base_version=base_version,
            made_on=made_on, next_review=next_review,
            docx_path=self.stored_path(docx_path),  # type: ignore[attr-defined]
            pdf_path=self.stored_path(pdf_path) if pdf_path else None,  # type: ignore[attr-defined]
            signers=[{"key": s.key, "name": s.name, "role": s.role} for s in signers],
            made_at=now())).inserted_primary_key[0])

    def review_packs(self, reference: str) -> list[ReviewPack]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(review_packs, plan_versions.c.version)
                .join(plan_versions, plan_versions.c.id == review_packs.c.version_id)
                .where(review_packs.c.household == reference)
                .order_by(review_packs.c.id)).mappings().all()
        full = self.full_path  # type: ignore[attr-defined]
        return [ReviewPack(row["id"], row["household"], row["version"], row["base_version"],
                           row["made_on"], row["next_review"], full(row["docx_path"]),
                           full(row["pdf_path"]),
                           tuple(Signer(s["key"], s["name"], s["role"])
                                 for s in row["signers"]), row["signed_on"])
                for row in rows]

    def settle_review(self, conn: Connection, review_id: int) -> date | None:
        """Mark a review pack signed once every party has signed it; returns the day it
        counts from (None while a party is missing). Called after a scan is recorded."""
        row = conn.execute(select(review_packs).where(review_packs.c.id == review_id)
                           ).mappings().first()
        if row is None or row["signed_on"] is not None:
            return row["signed_on"] if row else None
        parties = [s["key"] for s in row["signers"] if s["key"] not in NOT_PARTIES]
        signed = self._signed_keys(conn, row["version_id"], review_id)
        if not parties or not all(key in signed for key in parties):
            return None
        day = max(signed[key] for key in parties)
        conn.execute(review_packs.update().where(review_packs.c.id == review_id)
                     .values(signed_on=day))
        self.record_event(conn, "review_signed", row["household"], None,  # type: ignore[attr-defined]
                          review_id=review_id, signed_on=day, signers=sorted(signed))
        return day
