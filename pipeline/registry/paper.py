"""Paper records: where each printed page's boxes are, every scan read, what each box showed,
and the decisions people make about uncertain boxes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Connection, Engine

from ..errors import SupportplanError
from ..printed import DocumentLayout, PageLayout
from ..signoff import BoxKind, BoxState, PageResult, PageStatus
from .core import ISSUED, insert_ignoring_duplicates, now, os_user
from .schema import (
    box_readings,
    page_layouts,
    plan_versions,
    review_packs,
    scans,
    steps,
    version_signers,
)

log = logging.getLogger(__name__)

# The event written the first time a box of that kind counts as marked for a version.
FIRST_MARK_EVENT = {BoxKind.SIGNATURE: "signature_found", BoxKind.TICK: "step_ticked"}


class RegistryError(SupportplanError):
    """A registry request that cannot be done as asked (unknown id, wrong decision)."""


@dataclass(frozen=True)
class KnownPage:
    """A printed page found from the code on a scan."""

    version_id: int
    household: str
    version: int
    pdf_path: str | None
    pdf_sha256: str
    layout: PageLayout
    latest_version: int  # the household's newest version: newer than `version` = superseded
    review_id: int | None = None  # a page of this review pack (of version `version`)


@dataclass(frozen=True)
class BoxRecord:
    """One box on one scanned page, with what it means in words, for people to check."""

    id: int
    household: str
    version: int
    page: int
    kind: BoxKind
    key: str
    label: str  # the signer's name and role, or the step's text
    state: BoxState  # the machine's reading
    score: float
    reason: str
    crop_path: str | None
    scan_sha256: str
    recorded_at: datetime
    decided_state: BoxState | None
    decided_by: str | None
    decided_at: datetime | None

    @property
    def effective_state(self) -> BoxState:
        return self.decided_state or self.state


def _effective_state() -> Any:
    return func.coalesce(box_readings.c.decided_state, box_readings.c.state)


class PaperRecords:
    engine: Engine

    def record_layout(self, conn: Connection, version_id: int, layout: DocumentLayout,
                      review_id: int | None = None) -> None:
        """Called inside the transaction that records the version (or the review pack)."""
        conn.execute(page_layouts.insert(), [
            {"version_id": version_id, "review_id": review_id, "page": page.page,
             "token": layout.token, "pdf_sha256": layout.pdf_sha256,
             "layout": page.to_json()} for page in layout.pages])

    def version_layout(self, version_id: int) -> DocumentLayout | None:
        """The page codes and box positions recorded for a version's printed plan."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(page_layouts).where(
                page_layouts.c.version_id == version_id, page_layouts.c.review_id.is_(None))
                .order_by(page_layouts.c.page)).mappings().all()
        if not rows:
            return None
        return DocumentLayout(rows[0]["token"], rows[0]["pdf_sha256"],
                              [PageLayout.from_json(row["layout"]) for row in rows])

    def find_page(self, token: str, page: int) -> KnownPage | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(page_layouts, plan_versions.c.household, plan_versions.c.version,
                       plan_versions.c.pdf_path)
                .join(plan_versions, plan_versions.c.id == page_layouts.c.version_id)
                .where(page_layouts.c.token == token, page_layouts.c.page == page,
                       plan_versions.c.state == ISSUED)
            ).mappings().first()
            if row is None:
                return None
            latest = conn.execute(select(func.max(plan_versions.c.version))
                                  .where(plan_versions.c.household == row["household"])
                                  ).scalar_one()
            pdf = row["pdf_path"]
            if row["review_id"] is not None:  # the review pack's own PDF
                pdf = conn.execute(select(review_packs.c.pdf_path).where(
                    review_packs.c.id == row["review_id"])).scalar()
        return KnownPage(row["version_id"], row["household"], row["version"],
                         self.full_path(pdf),  # type: ignore[attr-defined]
                         row["pdf_sha256"], PageLayout.from_json(row["layout"]), int(latest),
                         row["review_id"])

    def version_for_token(self, token: str) -> tuple[str, int, str | None] | None:
        """(household, version, PDF path) of the version whose pages carry `token`."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(plan_versions.c.household, plan_versions.c.version,
                       plan_versions.c.pdf_path)
                .join(page_layouts, page_layouts.c.version_id == plan_versions.c.id)
                .where(page_layouts.c.token == token).limit(1)).first()
        if row is None:
            return None
        return row.household, row.version, self.full_path(row.pdf_path)  # type: ignore[attr-defined]

    def has_printed_pages(self) -> bool:
        """Whether any plan was ever stamped with page codes (made from the secret)."""
        with self.engine.connect() as conn:
            return conn.execute(select(page_layouts.c.token).limit(1)).first() is not None

    def scan_pages(self, sha256: str) -> list[dict[str, Any]] | None:
        """The stored per-page results of a scan file read before, or None."""
        with self.engine.connect() as conn:
            return conn.execute(select(scans.c.pages).where(scans.c.sha256 == sha256)).scalar()

    def record_scan(self, sha256: str, original_name: str, archived: str,
                    results: Sequence[PageResult]) -> None:
        """Record one scan file: its pages' boxes, marks and events, in one transaction.

        Each page is recorded inside its own savepoint: a page that cannot be recorded is
        quarantined with the reason and the file's other pages are still recorded. A file
        read again (its earlier reading had quarantined pages) replaces the stored results;
        boxes already recorded are kept as they were (same key)."""
        arrived = now()
        with self.engine.begin() as conn:
            for result in results:
                savepoint = conn.begin_nested()
                try:
                    self._record_page(conn, sha256, result, arrived)
                    savepoint.commit()
                except Exception as exc:  # a page must never stop the file or the batch
                    savepoint.rollback()
                    log.exception("recording page %d of a scan failed", result.page_index)
                    result.status = PageStatus.QUARANTINED
                    result.reason = f"the page was read but could not be recorded ({exc})"
                    for box in result.boxes:
                        box.reading_id = None
                    self.record_event(conn, "scan_page_quarantined",  # type: ignore[attr-defined]
                                      result.household, result.version, scan=sha256,
                                      page_index=result.page_index, reason=result.reason)
            pages = [result.to_json() for result in results]
            # insert-or-update in one statement each: no gap for another machine to fill
            insert_ignoring_duplicates(conn, scans, {
                "sha256": sha256, "original_name": original_name, "archived_path": archived,
                "received_at": arrived, "pages": pages})
            conn.execute(scans.update().where(scans.c.sha256 == sha256)
                         .values(pages=pages, received_at=arrived))

    def _record_page(self, conn: Connection, sha256: str, result: PageResult,
                     arrived: datetime) -> None:
        event = self.record_event  # type: ignore[attr-defined]
        household, version = result.household, result.version
        if not result.matched:
            event(conn, "scan_page_quarantined", household, version, scan=sha256,
                  page_index=result.page_index, reason=result.reason)
            return
        assert result.version_id is not None and result.page is not None
        for box in result.boxes:
            first = box.state == box.kind.marked and not self._marked_before(
                conn, result.version_id, box.kind, box.key, result.review_id)
            insert_ignoring_duplicates(conn, box_readings, {
                "version_id": result.version_id, "review_id": result.review_id,
                "kind": str(box.kind), "key": box.key,
                "scan_sha256": sha256, "page": result.page, "state": str(box.state),
                "score": box.score, "reason": box.reason, "crop_path": box.crop,
                "recorded_at": arrived})
            box.reading_id = conn.execute(select(box_readings.c.id).where(
                box_readings.c.version_id == result.version_id,
                box_readings.c.kind == str(box.kind), box_readings.c.key == box.key,
                box_readings.c.scan_sha256 == sha256,
                box_readings.c.page == result.page)).scalar_one()
            if first:
                detail = ({"signer": box.key, "role": box.role}
                          if box.kind is BoxKind.SIGNATURE else {"step_id": box.key})
                if result.review_id is not None:
                    detail["review_id"] = result.review_id
                event(conn, FIRST_MARK_EVENT[box.kind], household, version, scan=sha256,
                      score=box.score, scan_arrived=arrived, **detail)
            if box.state is BoxState.REVIEW:
                event(conn, "box_needs_review", household, version, box_kind=str(box.kind),
                      key=box.key, reading_id=box.reading_id, scan=sha256, score=box.score,
                      reason=box.reason)
        if result.changes:
            event(conn, "paper_changes", household, version, scan=sha256, page=result.page,
                  marks=[[m.kind, list(m.bbox)] for m in result.changes])
        if result.superseded_by is not None:
            event(conn, "scan_of_superseded_version", household, version, scan=sha256,
                  page=result.page, newest=result.superseded_by)
        event(conn, "scan_matched", household, version, scan=sha256, page=result.page,
              page_index=result.page_index, notes=result.notes, review_id=result.review_id)
        if result.review_id is not None:
            self.settle_review(conn, result.review_id)  # type: ignore[attr-defined]

    @staticmethod
    def _marked_before(conn: Connection, version_id: int, kind: BoxKind, key: str,
                       review_id: int | None = None) -> bool:
        on = (box_readings.c.review_id.is_(None) if review_id is None
              else box_readings.c.review_id == review_id)
        return conn.execute(select(box_readings.c.id).where(
            box_readings.c.version_id == version_id, on, box_readings.c.kind == str(kind),
            box_readings.c.key == key, _effective_state() == str(kind.marked)).limit(1)
        ).first() is not None

    # -- people's decisions ------------------------------------------------------------
    def boxes(self, *, waiting_only: bool = True, reading_id: int | None = None,
              household: str | None = None) -> list[BoxRecord]:
        """Box readings with what they mean in words. `waiting_only`: the uncertain ones
        no person has decided yet, leaving out boxes another scan of the same version
        already shows marked (nothing left to decide)."""
        query = (select(box_readings, plan_versions.c.household, plan_versions.c.version)
                 .join(plan_versions, plan_versions.c.id == box_readings.c.version_id)
                 .order_by(box_readings.c.id))
        if reading_id is not None:
            query = query.where(box_readings.c.id == reading_id)
        if household is not None:
            query = query.where(plan_versions.c.household == household)
        if waiting_only:
            other = box_readings.alias("other")
            settled = (select(other.c.id).where(
                other.c.version_id == box_readings.c.version_id,
                other.c.kind == box_readings.c.kind, other.c.key == box_readings.c.key,
                func.coalesce(other.c.decided_state, other.c.state).in_(
                    [str(BoxState.SIGNED), str(BoxState.TICKED)])).exists())
            query = query.where(box_readings.c.state == str(BoxState.REVIEW),
                                box_readings.c.decided_state.is_(None), ~settled)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            labels = self._labels(conn, rows)
        return [BoxRecord(
            row["id"], row["household"], row["version"], row["page"], BoxKind(row["kind"]),
            row["key"], labels.get((row["version_id"], row["kind"], row["key"]), row["key"]),
            BoxState(row["state"]), row["score"], row["reason"] or "",
            self.full_path(row["crop_path"]),  # type: ignore[attr-defined]
            row["scan_sha256"], row["recorded_at"],
            BoxState(row["decided_state"]) if row["decided_state"] else None,
            row["decided_by"], row["decided_at"]) for row in rows]

    def box_labels(self, version_id: int) -> dict[tuple[str, str], str]:
        """(kind, key) -> the signer's name and role, or the step's text, for a version's
        boxes: summaries name people and steps in words."""
        with self.engine.connect() as conn:
            keys = [{"version_id": version_id, "kind": str(BoxKind.SIGNATURE),
                     "key": row.signer_key} for row in conn.execute(
                         select(version_signers.c.signer_key)
                         .where(version_signers.c.version_id == version_id))]
            keys += [{"version_id": version_id, "kind": str(BoxKind.TICK), "key": step_id}
                     for step_id in self.version_step_ids(version_id)]  # type: ignore[attr-defined]
            labels = self._labels(conn, keys)
        return {(kind, key): text for (_v, kind, key), text in labels.items()}

    @staticmethod
    def _labels(conn: Connection, rows: Sequence[Any]) -> dict[tuple[int, str, str], str]:
        """(version id, kind, key) -> the signer's name and role, or the step's text."""
        version_ids = {row["version_id"] for row in rows}
        step_ids = {row["key"] for row in rows if row["kind"] == BoxKind.TICK}
        labels: dict[tuple[int, str, str], str] = {}
        if not version_ids:
            return labels
        for signer in conn.execute(select(version_signers).where(
                version_signers.c.version_id.in_(version_ids))).mappings():
            labels[(signer["version_id"], str(BoxKind.SIGNATURE), signer["signer_key"])] = (
                f"{signer['name']} ({signer['role']})")
        texts = {row.step_id: " / ".join(part for part in (
            f"We will: {row.we_will}" if row.we_will else "",
            f"You will: {row.you_will}" if row.you_will else "") if part)
            for row in conn.execute(select(steps.c.step_id, steps.c.we_will, steps.c.you_will)
                                    .where(steps.c.step_id.in_(step_ids)))}
        for row in rows:
            if row["kind"] == BoxKind.TICK and row["key"] in texts:
                labels[(row["version_id"], row["kind"], row["key"])] = texts[row["key"]]
        return labels

    def decide_box(self, reading_id: int, state: BoxState, *, by: str | None = None
                   ) -> BoxRecord:
        """Record a person's decision on a box; it then counts instead of the reading."""
        [record] = self.boxes(waiting_only=False, reading_id=reading_id) or [None]
        if record is None:
            raise RegistryError(f"there is no box with id {reading_id}; "
                                "`supportplan boxes --all` lists them")
        if state not in record.kind.decisions:
            choices = " or ".join(record.kind.decisions)
            raise RegistryError(f"a {record.kind} box can be decided {choices}, not {state}")
        who = by or os_user()
        event = self.record_event  # type: ignore[attr-defined]
        with self.engine.begin() as conn:
            version_id = conn.execute(select(box_readings.c.version_id)
                                      .where(box_readings.c.id == reading_id)).scalar_one()
            review_id = conn.execute(select(box_readings.c.review_id)
                                     .where(box_readings.c.id == reading_id)).scalar()
            first = state == record.kind.marked and not self._marked_before(
                conn, version_id, record.kind, record.key, review_id)
            conn.execute(update(box_readings).where(box_readings.c.id == reading_id).values(
                decided_state=str(state), decided_by=who, decided_at=now()))
            event(conn, "box_decided", record.household, record.version,
                  reading_id=reading_id, box_kind=str(record.kind), key=record.key,
                  machine_state=str(record.state), score=record.score, decided=str(state),
                  previous_decision=str(record.decided_state or ""), by=who)
            if first:
                event(conn, FIRST_MARK_EVENT[record.kind], record.household, record.version,
                      scan=record.scan_sha256, decided_by=who,
                      **({"signer": record.key} if record.kind is BoxKind.SIGNATURE
                         else {"step_id": record.key}))
            if review_id is not None:
                self.settle_review(conn, review_id)  # type: ignore[attr-defined]
        [decided] = self.boxes(waiting_only=False, reading_id=reading_id)
        return decided


def effective_marked(kind: BoxKind) -> Any:
    """SQL condition: a box reading that counts as marked (a person's decision first)."""
    return and_(box_readings.c.kind == str(kind),
                or_(box_readings.c.decided_state == str(kind.marked),
                    and_(box_readings.c.decided_state.is_(None),
                         box_readings.c.state == str(kind.marked))))


__all__ = ["BoxRecord", "KnownPage", "PaperRecords", "RegistryError", "effective_marked"]
