"""The support-planning cycle, end to end with real LibreOffice, real scans and the real
registry: three versions with the second signed on paper, a formal review pack compared
with it, the pack signed and read back as the review, history in words, a re-issued plan
that shows what is done, and the safety plan watched."""

from __future__ import annotations

import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PLAN_DATE, edited, resave, valid_household, write_household
from scanpen import marked_page, save_pdf
from sqlalchemy import select

from pipeline.build import BUILT, build_workbooks
from pipeline.cli import main
from pipeline.config import Config
from pipeline.files import publish
from pipeline.model import DONE, NO_LONGER_NEEDED
from pipeline.overdue import (
    HOUSEHOLD_STEP,
    REVIEW_OVERDUE,
    SAFETY_NOT_WORKING,
    SAFETY_REVIEW_OVERDUE,
    SERVICE_MANAGER,
    STEP_OVERDUE,
    evaluate,
)
from pipeline.printed import PageLayout
from pipeline.reconcile.run import reconcile_paths
from pipeline.registry import page_layouts, plan_versions, registry_for, review_packs
from pipeline.review import make_review

pytestmark = pytest.mark.slow

TODAY = date.today()


def _household():  # noqa: ANN202
    demo = edited(valid_household())
    demo.steps.append({"area": "Physical & Mental Health", "goal": "Sleep through the night",
                       "we_will": "Book a GP appointment", "you_will": "Keep a sleep diary",
                       "who": "Yusuf Hassan", "by_when": PLAN_DATE + timedelta(days=15)})
    return demo


def _layouts(config: Config, reference: str, *, version: int | None = None,
             review_id: int | None = None) -> list[PageLayout]:
    registry = registry_for(config)
    try:
        query = (select(page_layouts.c.layout)
                 .join(plan_versions, plan_versions.c.id == page_layouts.c.version_id)
                 .where(plan_versions.c.household == reference))
        if review_id is not None:
            query = query.where(page_layouts.c.review_id == review_id)
        else:
            query = query.where(page_layouts.c.review_id.is_(None),
                                plan_versions.c.version == version)
        with registry.engine.connect() as conn:
            rows = conn.execute(query.order_by(page_layouts.c.page)).all()
        return [PageLayout.from_json(row.layout) for row in rows]
    finally:
        registry.close()


def _sign_all(config: Config, pdf: Path, layouts: list[PageLayout], name: str) -> None:
    parties = {box.key: "signed" for layout in layouts for box in layout.boxes
               if box.kind == "signature"}
    save_pdf([marked_page(pdf, layout, parties) for layout in layouts], config.scans_dir / name)
    [outcome] = reconcile_paths(config, [config.scans_dir / name])
    assert all(page.matched for page in outcome.pages), [p.reason for p in outcome.pages]


def _document_xml(docx: Path) -> str:
    with zipfile.ZipFile(docx) as archive:
        return archive.read("word/document.xml").decode("utf-8")


def _runs_with(xml: str, text: str) -> list[str]:
    """The <w:r> elements whose text contains `text`."""
    runs = xml.split("<w:r>")[1:]
    return [r for r in runs if text in r]


def test_three_versions_a_review_pack_and_history(workspace: Config) -> None:
    demo = _household()
    path = write_household(workspace, demo)
    assert build_workbooks(workspace, [path])[0].version == 1
    # v2: a date moves; then v2 is signed on paper by everyone
    demo.steps[1]["by_when"] = PLAN_DATE + timedelta(days=75)
    resave(path, demo)
    [v2] = build_workbooks(workspace, [path])
    assert v2.version == 2
    _sign_all(workspace, v2.pdf, _layouts(workspace, "HH-0001", version=2), "v2-signed.pdf")
    # v3: one step done, one no longer needed, one taken out, a date moved, a new step
    demo.steps[0].update(status=DONE, done_on=TODAY - timedelta(days=2))
    demo.steps[3].update(status=NO_LONGER_NEEDED)
    del demo.steps[2]
    demo.steps[1]["by_when"] = PLAN_DATE + timedelta(days=90)
    demo.steps.append({"area": "Benefits & Money", "goal": "Travel cheaply",
                       "we_will": "Help fill in the form", "you_will": "Apply for a bus pass",
                       "who": "Yusuf Hassan", "by_when": PLAN_DATE + timedelta(days=40)})
    resave(path, demo)
    [v3] = build_workbooks(workspace, [path])
    assert v3.status == BUILT and v3.version == 3, v3.message

    # the re-issued plan: the done step shows when, the no-longer-needed one is struck,
    # neither has an empty box
    v3_xml = _document_xml(v3.docx)
    assert any("<w:strike/>" in r for r in _runs_with(v3_xml, "Keep a sleep diary"))
    ticks = [box.key for layout in _layouts(workspace, "HH-0001", version=3)
             for box in layout.boxes if box.kind == "tick"]
    assert ticks == ["HH-0001-S002", "HH-0001-S005"]  # the open steps only
    assert f"Done {(TODAY - timedelta(days=2)).day} " in v3_xml

    # the review pack compares v3 with v2, the last signed version
    review = make_review(workspace, "HH-0001")
    assert (review.version, review.base_version) == (3, 2) and review.base_signed_on == TODAY
    xml = _document_xml(review.docx)
    assert any("<w:strike/>" in r for r in _runs_with(xml, "Keep a sleep diary"))  # NLN
    assert any("<w:strike/>" in r for r in _runs_with(xml, "Go to the ESOL assessment"))
    assert not any("<w:strike/>" in r for r in _runs_with(xml, "Bid every week"))
    new = xml[:xml.index("Apply for a bus pass")]
    assert new.rfind(">New<") > new.rfind("Bid every week")  # marked new
    moved = PLAN_DATE + timedelta(days=75), PLAN_DATE + timedelta(days=90)
    assert f"{moved[0].day} {moved[0]:%b %Y} → {moved[1].day} {moved[1]:%b %Y}" in xml
    assert "Taken out of the plan" in xml and "No longer needed" in xml
    for question in ("Should any part of the plan change?", "Do you still need our support?",
                     "Your views", "Signing this review"):
        assert question in xml

    # history: all three versions, who signed v2, the changes in words
    result = CliRunner().invoke(main, ["--config", str(workspace.source), "history",
                                       "HH-0001", "--json"])
    story = json.loads(result.output)
    assert [v["version"] for v in story["versions"]] == [1, 2, 3]
    assert story["versions"][1]["supersedes"] == 1
    assert "1 date(s) moved" in story["versions"][1]["reason"]
    signed = {s["name"]: s["signed_on"] for s in story["versions"][1]["signed"]}
    assert signed["Jo Whitfield"] == TODAY.isoformat()
    changes = story["versions"][2]["changes"]
    assert "new step 'Apply for a bus pass'" in changes
    assert "step 'Go to the ESOL assessment day' taken out of the plan" in changes
    assert "step 'Keep a sleep diary' no longer needed" in changes
    assert f"By when of 'Bid every week' moved {moved[0]:%d/%m/%Y} → {moved[1]:%d/%m/%Y}" \
        in changes
    text = CliRunner().invoke(main, ["--config", str(workspace.source), "history", "HH-0001"])
    assert "Jo Whitfield (Caseworker): signed" in text.output and "independence:" in text.output

    # the signed pack is the review: the overdue finding clears
    as_of = PLAN_DATE + timedelta(days=95)  # past v2's review date, before the next review
    registry = registry_for(workspace)
    before = {f.kind for f in evaluate(registry.load_facts(), as_of)}
    assert REVIEW_OVERDUE in before
    _sign_all(workspace, review.pdf, _layouts(workspace, "HH-0001", review_id=review.review_id),
              "review-signed.pdf")
    with registry.engine.connect() as conn:
        signed_on = conn.execute(select(review_packs.c.signed_on)).scalar()
    assert signed_on == TODAY
    assert "review_signed" in [e["kind"] for e in registry.events_for("HH-0001")]
    assert REVIEW_OVERDUE not in {f.kind for f in evaluate(registry.load_facts(), as_of)}
    registry.close()
    summary = max((workspace.output_dir / "HH-0001").glob("reconcile-*.txt"),
                  key=lambda p: p.stat().st_mtime_ns).read_text()
    assert "a formal review of plan version 3" in summary
    assert "signature of Jo Whitfield (Caseworker) (caseworker)" in summary


def test_the_safety_plan_is_watched_and_comes_first(workspace: Config) -> None:
    demo = edited(valid_household())
    demo.safety_plan[0]["review_by"] = TODAY - timedelta(days=3)
    demo.weekly_reviews = [
        {"week_of": TODAY - timedelta(days=14), "safety_plan_working": "Yes",
         "recorded_by": "Jo"},
        {"week_of": TODAY - timedelta(days=2), "safety_plan_working": "No",
         "what_changed": "Threats from an ex-partner again", "recorded_by": "Jo"}]
    build_workbooks(workspace, [write_household(workspace, demo)], pdf=False)
    registry = registry_for(workspace)
    findings = evaluate(registry.load_facts(), TODAY)
    registry.close()
    kinds = [f.kind for f in findings]
    assert kinds[:2] == [SAFETY_NOT_WORKING, SAFETY_REVIEW_OVERDUE]
    not_working = findings[0]
    assert "Threats from an ex-partner again" in not_working.detail
    assert not_working.escalation == SERVICE_MANAGER  # at once, though only 2 days old
    assert STEP_OVERDUE in kinds or kinds.index(SAFETY_REVIEW_OVERDUE) < len(kinds)


def test_the_seam_between_workbook_registry_and_rules(workspace: Config) -> None:
    demo = edited(valid_household())
    demo.steps[2]["by_when"] = TODAY - timedelta(days=5)  # overdue, the household's own
    path = write_household(workspace, demo)
    build_workbooks(workspace, [path], pdf=False)
    registry = registry_for(workspace)
    overdue = [f for f in evaluate(registry.load_facts(), TODAY) if f.kind == HOUSEHOLD_STEP]
    assert len(overdue) == 1 and overdue[0].holder == "household"
    # the step is deleted from the workbook: it is no longer overdue
    removed = edited(demo)
    del removed.steps[2]
    resave(path, removed)
    build_workbooks(workspace, [path], pdf=False)
    assert not [f for f in evaluate(registry.load_facts(), TODAY)
                if f.kind in (STEP_OVERDUE, HOUSEHOLD_STEP)]
    assert [s["active"] for s in registry.steps_for("HH-0001", active_only=False)].count(
        False) == 1
    # weekly reviews added: the latest counts, not the earliest
    removed.weekly_reviews.append({"week_of": TODAY - timedelta(days=1),
                                   "safety_plan_working": "Yes", "recorded_by": "Jo"})
    resave(path, removed)
    build_workbooks(workspace, [path], pdf=False)
    [facts] = registry.load_facts()
    assert facts.last_weekly_review == TODAY - timedelta(days=1)
    assert facts.latest_weekly[0] == TODAY - timedelta(days=1)
    # the household is closed: stored, and it leaves the report
    removed.household["closed_on"] = TODAY - timedelta(days=1)
    resave(path, removed)
    build_workbooks(workspace, [path], pdf=False)
    [facts] = registry.load_facts()
    assert facts.closed_on == TODAY - timedelta(days=1)
    assert evaluate(registry.load_facts(), TODAY) == []
    registry.close()


def test_a_published_file_is_never_overwritten(tmp_path: Path) -> None:
    target, temp = tmp_path / "plan.pdf", tmp_path / ".plan.pdf.part"
    target.write_bytes(b"signed original")
    temp.write_bytes(b"something else")
    with pytest.raises(FileExistsError):
        publish(temp, target)
    assert target.read_bytes() == b"signed original"
