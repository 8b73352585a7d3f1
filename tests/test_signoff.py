"""Signed paper read back, through the CLI, in every state a box can reach: signed, blank,
ticked, and each kind of uncertain box (faint, crossed out, beside the box, filled in, a
straight line) left for a person, who records a decision the overdue rules then use.
Real plans from LibreOffice, real scan files, a real registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import resave, valid_household, write_household
from scanpen import marked_page, save_pdf
from sqlalchemy import select

from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.printed import PageLayout
from pipeline.registry import box_readings, page_layouts, registry_for
from pipeline.signoff import BoxState
from pipeline.workspace import init_workspace

pytestmark = pytest.mark.slow

# A faint but plainly written signature is signed; a small mark, one crossed out and one
# written below the box wait for a person.
SIGNATURES = {"caseworker": "faint", "member-1": "small", "member-2": "crossed",
              "peer-reviewer": "below"}
EXPECTED = {"caseworker": "signed", "member-1": "review", "member-2": "review",
            "peer-reviewer": "review"}


def _layouts(config: Config, version: int = 1) -> list[PageLayout]:
    registry = registry_for(config)
    try:
        record = next(v for v in registry.versions("HH-0001") if v.version == version)
        with registry.engine.connect() as conn:
            rows = conn.execute(select(page_layouts.c.layout).where(
                page_layouts.c.version_id == record.id).order_by(page_layouts.c.page)).all()
        return [PageLayout.from_json(row.layout) for row in rows]
    finally:
        registry.close()


@pytest.fixture
def plan(tmp_path: Path) -> tuple[Config, Path]:
    config, _ = init_workspace(tmp_path / "ws")
    [outcome] = build_workbooks(config, [write_household(config, valid_household())])
    assert outcome.pdf is not None, outcome.message
    return config, outcome.pdf


def _run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config.source), *args])
    return result.exit_code, result.output


def _tick_marks(layouts: list[PageLayout]) -> dict[str, str]:
    steps = [box.key for layout in layouts for box in layout.boxes if box.kind == "tick"]
    return {steps[0]: "ticked", steps[1]: "filled"}  # the third stays blank


def test_every_box_state_through_the_cli_and_a_persons_decision(plan) -> None:  # noqa: ANN001
    config, pdf = plan
    layouts = _layouts(config)
    marks = {**SIGNATURES, **_tick_marks(layouts)}
    scan = save_pdf([marked_page(pdf, layout, marks) for layout in layouts],
                    config.scans_dir / "signed.pdf")
    code, output = _run(config, "reconcile", "--json")
    assert code == 0, output
    pages = [json.loads(line) for line in output.splitlines()]
    assert [p["status"] for p in pages] == ["matched"] * len(layouts)
    got = {b["signer"]: b for p in pages for b in p["signatures"]}
    assert {k: b["state"] for k, b in got.items()} == EXPECTED
    ticks = [b for p in pages for b in p["ticks"]]
    assert [t["state"] for t in ticks] == ["ticked", "review", "blank"]
    for box in [*got.values(), *ticks]:
        assert box["id"] is not None and (config.root / box["crop"]).is_file()
        if box["state"] == "review":
            assert box["reason"], box
    assert "crossed out" in got["member-2"]["reason"]
    assert "beside the box" in got["peer-reviewer"]["reason"]

    # what waits for a person, in words: the signer's name, the step's text, the picture
    code, listing = _run(config, "boxes")
    assert code == 0 and listing.count("read as review") == 4, listing
    assert "Yusuf Hassan" in listing and "We will: Explain how bidding works" in listing

    faint = got["member-1"]["id"]
    code, output = _run(config, "boxes", "decide", str(faint), "ticked")
    assert code == 1 and "signed or blank" in output
    code, output = _run(config, "boxes", "decide", str(faint), "signed", "--by", "Jo W")
    assert code == 0 and "decided signed by Jo W" in output, output
    code, output = _run(config, "boxes", "decide", "999999", "blank")
    assert code == 1 and "no box with id 999999" in output
    filled = ticks[1]["id"]
    assert _run(config, "boxes", "decide", str(filled), "ticked")[0] == 0
    code, listing = _run(config, "boxes")
    assert listing.count("read as review") == 2
    code, shown = _run(config, "boxes", "show", str(faint))
    assert code == 0 and "decided signed by Jo W" in shown

    # the rules use the decisions: member-1 signed; the filled box's step is done
    registry = registry_for(config)
    [facts] = registry.load_facts()
    assert set(facts.versions[0].signed) == {"caseworker", "member-1"}
    filled_step = next(s for s in facts.steps if s.step_id == ticks[1]["step_id"])
    assert filled_step.ticks
    kinds = [e["kind"] for e in registry.events_for("HH-0001")]
    assert kinds.count("box_needs_review") == 4 and kinds.count("box_decided") == 2
    decided = [e for e in registry.events_for("HH-0001") if e["kind"] == "box_decided"]
    assert decided[0]["detail"]["by"] == "Jo W" and decided[0]["actor"]
    registry.close()

    # the same scan again changes nothing, and says so
    code, output = _run(config, "reconcile", str(scan))
    assert code == 0 and "seen before; nothing changed" in output


def test_a_superseded_version_is_read_and_says_which_to_sign(plan) -> None:  # noqa: ANN001
    config, pdf = plan
    old_layouts = _layouts(config)
    old = marked_page(pdf, old_layouts[-1], {"caseworker": "signed"})
    demo = valid_household()
    demo.steps[0]["you_will"] = "Gather payslips and bank statements"
    resave(config.intake_dir / "HH-0001.xlsx", demo)
    [rebuilt] = build_workbooks(config, [config.intake_dir / "HH-0001.xlsx"])
    assert rebuilt.version == 2
    save_pdf([old], config.scans_dir / "old.pdf")
    code, output = _run(config, "reconcile")
    assert code == 0 and "v2 exists and is the one to sign" in output, output
    code, output = _run(config, "reconcile", "--json")
    [page] = [json.loads(line) for line in output.splitlines()]
    assert page["version"] == 1 and page["superseded_by"] == 2
    summary = next((config.output_dir / "HH-0001").glob("reconcile-HH-0001-*.txt")).read_text()
    assert "v2 exists and is the one to sign" in summary
    registry = registry_for(config)
    assert "scan_of_superseded_version" in [e["kind"] for e in registry.events_for("HH-0001")]
    registry.close()


def test_a_scan_quarantined_for_a_cause_since_fixed_is_read_again(plan) -> None:  # noqa: ANN001
    config, pdf = plan
    layouts = _layouts(config)
    save_pdf([marked_page(pdf, layouts[-1], {"caseworker": "signed"})],
             config.scans_dir / "signed.pdf")
    aside = pdf.with_name("moved-away.pdf")
    pdf.rename(aside)
    code, output = _run(config, "reconcile")
    assert code == 1 and "cannot be opened" in output
    aside.rename(pdf)
    code, output = _run(config, "reconcile")
    assert code == 0 and "(read again)" in output and "1/4 signed" in output, output
    registry = registry_for(config)
    [facts] = registry.load_facts()
    assert "caseworker" in facts.versions[0].signed
    registry.close()


def test_a_moved_workspace_still_reads_its_scans(plan, tmp_path: Path) -> None:  # noqa: ANN001
    config, pdf = plan
    layouts = _layouts(config)
    page = marked_page(pdf, layouts[-1], {"caseworker": "signed"})
    moved_root = tmp_path / "moved"
    shutil.move(str(config.root), moved_root)
    moved = load_config(moved_root / "config.toml")
    save_pdf([page], moved.scans_dir / "signed.pdf")
    code, output = _run(moved, "reconcile")
    assert code == 0 and "1/4 signed" in output, output
    registry = registry_for(moved)
    with registry.engine.connect() as conn:
        crops = conn.execute(select(box_readings.c.crop_path)).scalars().all()
    assert crops and all(not Path(c).is_absolute() for c in crops)
    assert all(not Path(v.pdf_path or "").is_relative_to(config.root)
               for v in registry.versions("HH-0001"))
    registry.close()


def test_a_black_and_white_scan_is_said_to_limit_the_reading(plan) -> None:  # noqa: ANN001
    config, pdf = plan
    layouts = _layouts(config)
    save_pdf([marked_page(pdf, layouts[-1], {"caseworker": "signed"})],
             config.scans_dir / "bw.pdf", bitonal=True)
    code, output = _run(config, "reconcile", "--json")
    [page] = [json.loads(line) for line in output.splitlines()]
    assert page["status"] == "matched" and any("black-and-white" in n for n in page["notes"])
    code, output = _run(config, "reconcile")
    assert "black-and-white" in output


def test_a_page_that_cannot_be_recorded_is_quarantined_and_the_rest_kept(
        plan, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from pipeline.registry.paper import PaperRecords

    config, pdf = plan
    layouts = _layouts(config)
    pages = [marked_page(pdf, layout, {"caseworker": "signed"}) for layout in layouts]
    save_pdf(pages, config.scans_dir / "two.pdf")
    original = PaperRecords._record_page

    def fail_on_first_page(self, conn, sha256, result, arrived):  # noqa: ANN001, ANN202
        if result.page_index == 0:
            raise RuntimeError("disk on fire")
        return original(self, conn, sha256, result, arrived)

    monkeypatch.setattr(PaperRecords, "_record_page", fail_on_first_page)
    code, output = _run(config, "reconcile", "--json")
    assert code == 1
    first, *rest = [json.loads(line) for line in output.splitlines()]
    assert first["status"] == "quarantined" and "could not be recorded" in first["reason"]
    assert [p["status"] for p in rest] == ["matched"] * (len(layouts) - 1)
    registry = registry_for(config)
    [facts] = registry.load_facts()
    assert "caseworker" in facts.versions[0].signed  # the last page was recorded
    registry.close()


def test_states_are_named_once() -> None:
    assert {s.value for s in BoxState} == {"signed", "ticked", "blank", "review"}
