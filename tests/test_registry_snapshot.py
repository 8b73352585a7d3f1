"""`Registry.snapshot`, the one question a build asks about a household, answers what the
separate reads answer, on SQLite and PostgreSQL; and `record_progress`, the answer for an
unchanged plan, records progress with its events."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from pipeline.decide import NewVersion, Progress, Unchanged, decide
from pipeline.model import DONE, NOT_STARTED, Household, Member, Step
from pipeline.plan import content_hash, plan_content
from pipeline.printed import DocumentLayout, PageLayout
from pipeline.registry import Registry, open_registry

PLAN_DATE = date(2026, 3, 2)


def _household(reference: str, *you_will: str) -> Household:
    steps = tuple(Step("Housing", "A bigger home", "", "", text, "Amina Hassan",
                       PLAN_DATE + timedelta(days=30), NOT_STARTED, None, row=2)
                  for text in you_will)
    return Household(reference, "Hassan family", "Jo Whitfield", "jo@example.org", "North",
                     "", PLAN_DATE, PLAN_DATE + timedelta(days=90), "English", "No",
                     (Member("Amina Hassan", "Parent", True, True),), steps, ())


def _record(registry: Registry, household: Household, version: int, step_ids: list[str], *,
            issued: bool = True, token: str | None = None) -> None:
    """Record `version` as a build does (issued, or still being published)."""
    digest = content_hash(household)
    with registry.engine.begin() as conn:
        registry.reserve_version(conn, household, version, digest)
        registry.update_steps(conn, household.reference, step_ids, household.steps)
        version_id = registry.insert_version(
            conn, household, version=version, content_hash=digest,
            content=plan_content(household), step_ids=step_ids,
            docx_path=f"/out/{household.reference}-v{version}.docx", pdf_path=None)
        if token is not None:
            registry.record_layout(conn, version_id, DocumentLayout(
                token, "0" * 64, [PageLayout(1, 210.0, 297.0)]))
        if issued:
            registry.mark_issued(conn, version_id)
            registry.upsert_household(conn, household, workbook_path="/in/x.xlsx",
                                      workbook_sha256="1" * 64, content_hash=digest)


def test_a_snapshot_holds_what_the_separate_reads_say(registry_url: str) -> None:
    registry = open_registry(registry_url)
    try:
        empty = registry.snapshot("HH-0042")
        assert (empty.latest, empty.content, empty.states, empty.step_ids, empty.known_steps,
                empty.next_step_number, empty.highest_recorded, empty.token) == (
            None, {}, (), (), (), 1, 0, None)

        first = _household("HH-0042", "Gather payslips", "Bid every week")
        _record(registry, first, 1, ["HH-0042-S001", "HH-0042-S002"], token="abcd1234")
        second = _household("HH-0042", "Gather payslips", "Go to the ESOL class")
        _record(registry, second, 2, ["HH-0042-S001", "HH-0042-S003"], issued=False)
        _record(registry, _household("HH-0043", "Something else"), 1, ["HH-0043-S001"])

        snapshot = registry.snapshot("HH-0042")
        latest = registry.latest_version("HH-0042")
        assert latest is not None and latest.version == 1  # v2 is still being published
        assert snapshot.latest == latest
        assert snapshot.content == registry.version_content(latest.id)
        assert list(snapshot.states) == registry.version_states(latest.id)
        assert list(snapshot.step_ids) == registry.version_step_ids(latest.id)
        assert snapshot.token == "abcd1234"
        assert snapshot.highest_recorded == registry.highest_recorded_version("HH-0042") == 2
        # every step the household had (not another household's), as last recorded
        assert [k.step_id for k in snapshot.known_steps] == [
            "HH-0042-S001", "HH-0042-S002", "HH-0042-S003"]
        assert snapshot.next_step_number == 4
    finally:
        registry.close()


def test_the_snapshot_and_record_progress_carry_a_build_of_an_unchanged_plan(
        registry_url: str) -> None:
    registry = open_registry(registry_url)
    try:
        first = _household("HH-0042", "Gather payslips", "Bid every week")
        ids = ["HH-0042-S001", "HH-0042-S002"]
        _record(registry, first, 1, ids)
        done = replace(first, steps=(replace(first.steps[0], status=DONE,
                                             done_on=PLAN_DATE + timedelta(days=2)),
                                     first.steps[1]))
        decision = decide(done, registry.snapshot("HH-0042"))
        assert isinstance(decision, Progress)
        assert decision.changes == (("HH-0042-S001", NOT_STARTED, DONE),)
        changes = registry.record_progress(done, 1, decision.step_ids,
                                           workbook_path="/in/HH-0042.xlsx",
                                           workbook_sha256="2" * 64,
                                           content_hash=content_hash(first))
        assert changes == list(decision.changes)
        assert [(e["kind"], e["version"], e["detail"]["step_id"])
                for e in registry.events_for("HH-0042") if e["kind"] == "step_status"] == [
            ("step_status", 1, "HH-0042-S001")]
        again = decide(done, registry.snapshot("HH-0042"))
        assert isinstance(again, Unchanged) and again.changes == ()
        assert registry.workbook_sha256("HH-0042") == "2" * 64
        assert isinstance(decide(_household("HH-0042", "Gather payslips"),
                                 registry.snapshot("HH-0042")), NewVersion)
    finally:
        registry.close()
