"""Facts for the overdue rules (pipeline/overdue.py), read from the registry in bulk."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from ..model import Signer
from ..overdue import HouseholdFacts, StepFacts, VersionFacts
from ..signoff import BoxKind
from . import schema as r
from .paper import effective_marked


class FactRecords:
    engine: Engine

    def load_facts(self) -> list[HouseholdFacts]:
        """Everything the overdue rules need, in a handful of bulk queries."""
        with self.engine.connect() as conn:
            return _load(conn, self.full_path)  # type: ignore[attr-defined]


def _load(conn: Connection, full_path: Callable[[str | None], str | None]
          ) -> list[HouseholdFacts]:
    version_rows = conn.execute(select(
        r.plan_versions.c.id, r.plan_versions.c.household, r.plan_versions.c.version,
        r.plan_versions.c.issued_at, r.plan_versions.c.review_date,
        r.plan_versions.c.pdf_path).where(r.plan_versions.c.state == "issued")
        .order_by(r.plan_versions.c.household, r.plan_versions.c.version)).all()
    signer_rows = conn.execute(select(
        r.version_signers.c.version_id, r.version_signers.c.signer_key,
        r.version_signers.c.name, r.version_signers.c.role)
        .order_by(r.version_signers.c.version_id, r.version_signers.c.position)).all()
    signed_rows = conn.execute(select(
        r.box_readings.c.version_id, r.box_readings.c.key,
        func.min(r.box_readings.c.recorded_at))
        .where(effective_marked(BoxKind.SIGNATURE), r.box_readings.c.review_id.is_(None))
        .group_by(r.box_readings.c.version_id, r.box_readings.c.key)).all()
    current_rows = conn.execute(select(
        r.version_steps.c.step_id, func.max(r.plan_versions.c.version))
        .join(r.plan_versions, r.plan_versions.c.id == r.version_steps.c.version_id)
        .group_by(r.version_steps.c.step_id)).all()
    tick_rows = conn.execute(select(
        r.box_readings.c.key, r.plan_versions.c.version, r.box_readings.c.recorded_at)
        .join(r.plan_versions, r.plan_versions.c.id == r.box_readings.c.version_id)
        .where(effective_marked(BoxKind.TICK))).all()
    step_rows = conn.execute(select(
        r.steps.c.step_id, r.steps.c.household, r.steps.c.area, r.steps.c.goal,
        r.steps.c.we_will, r.steps.c.you_will, r.steps.c.who, r.steps.c.by_when,
        r.steps.c.status, r.steps.c.done_on).where(r.steps.c.active.is_(True))
        .order_by(r.steps.c.household, r.steps.c.step_id)).all()
    safety_rows = conn.execute(select(
        r.safety_items.c.household, r.safety_items.c.worry, r.safety_items.c.review_by)
        .order_by(r.safety_items.c.household, r.safety_items.c.position)).all()
    weekly_rows = conn.execute(select(
        r.weekly_reviews.c.household, r.weekly_reviews.c.week_of,
        r.weekly_reviews.c.safety_plan_working, r.weekly_reviews.c.what_changed)
        .order_by(r.weekly_reviews.c.household, r.weekly_reviews.c.week_of)).all()
    review_rows = conn.execute(select(
        r.review_packs.c.household, r.review_packs.c.signed_on, r.review_packs.c.next_review)
        .where(r.review_packs.c.signed_on.is_not(None))
        .order_by(r.review_packs.c.household, r.review_packs.c.signed_on)).all()
    household_rows = conn.execute(select(
        r.households.c.reference, r.households.c.caseworker, r.households.c.team,
        r.households.c.peer_reviewer, r.households.c.plan_date, r.households.c.closed_on,
        r.households.c.last_weekly_review, r.households.c.caseworker_email)
        .order_by(r.households.c.reference)).all()

    signers: dict[int, list[Signer]] = defaultdict(list)
    for row in signer_rows:
        signers[row.version_id].append(Signer(row.signer_key, row.name, row.role))
    signed: dict[int, dict[str, date]] = defaultdict(dict)
    for version_id, key, first in signed_rows:
        signed[version_id][key] = _day(first)
    versions: dict[str, list[VersionFacts]] = defaultdict(list)
    for row in version_rows:
        versions[row.household].append(VersionFacts(
            row.version, _day(row.issued_at), row.review_date, full_path(row.pdf_path),
            tuple(signers.get(row.id, ())), signed.get(row.id, {})))
    current = dict(current_rows)
    ticks: dict[str, list[tuple[int, date]]] = defaultdict(list)
    for step_id, version, recorded in tick_rows:
        ticks[step_id].append((version, _day(recorded)))
    household_steps: dict[str, list[StepFacts]] = defaultdict(list)
    for row in step_rows:
        household_steps[row.household].append(StepFacts(
            row.step_id, row.area, row.goal, row.we_will, row.you_will, row.who, row.by_when,
            row.status, row.done_on, current.get(row.step_id, 0),
            tuple(ticks.get(row.step_id, ()))))
    safety: dict[str, list[tuple[str, date | None]]] = defaultdict(list)
    for household, worry, review_by in safety_rows:
        safety[household].append((worry, review_by))
    latest_weekly = {household: (week_of, working, changed)  # rows come oldest first
                     for household, week_of, working, changed in weekly_rows}
    reviews: dict[str, list[tuple[date, date]]] = defaultdict(list)
    for household, signed_on, next_review in review_rows:
        reviews[household].append((signed_on, next_review))
    return [HouseholdFacts(row.reference, row.caseworker, row.team, row.peer_reviewer,
                           row.plan_date, row.closed_on, row.last_weekly_review,
                           tuple(versions.get(row.reference, ())),
                           tuple(household_steps.get(row.reference, ())),
                           tuple(safety.get(row.reference, ())),
                           latest_weekly.get(row.reference),
                           tuple(reviews.get(row.reference, ())),
                           row.caseworker_email or "")
            for row in household_rows]


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value
