"""`supportplan purge`: households closed longer than the retention period leave no personal
data behind (files, registry rows, scans, reports, queued e-mail), one audit event says what
went, and everything else is untouched. Real workbooks, real builds, a real registry."""

from __future__ import annotations

import json
import socket
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import valid_household, write_household
from sqlalchemy import func, select

from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.purge import cutoff_for
from pipeline.registry import (
    box_readings,
    households,
    page_layouts,
    plan_versions,
    registry_for,
    safety_items,
    scans,
    steps,
    weekly_reviews,
)
from pipeline.registry.core import os_user

TODAY = date.today()
LONG_AGO = TODAY - timedelta(days=7 * 366)  # plan made seven years ago
CLOSED_LONG_AGO = TODAY - timedelta(days=6 * 366 + 30)  # closed over six years ago
CLOSED_RECENTLY = TODAY - timedelta(days=200)
NAMES = ("Hassan", "أمينة", "Yusuf", "Layla", "Jo Whitfield", "Sam Okafor")


def run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config.source), *args])
    return result.exit_code, result.output


def three_households(config: Config, *, pdf: bool = False) -> None:
    """HH-OLD closed over six years ago, HH-RECENT closed this year, HH-OPEN open."""
    write_household(config, valid_household("HH-OLD", plan_date=LONG_AGO,
                                            closed_on=CLOSED_LONG_AGO))
    write_household(config, valid_household("HH-RECENT", plan_date=LONG_AGO,
                                            closed_on=CLOSED_RECENTLY))
    write_household(config, valid_household("HH-OPEN"))
    outcomes = build_workbooks(config, [config.intake_dir], pdf=pdf)
    assert [o.status for o in outcomes] == ["built"] * 3, [o.message for o in outcomes]


def workspace_files(config: Config) -> set[Path]:
    return {path for path in config.root.rglob("*") if path.is_file()
            and ".build.lock" not in path.name}


def rows_about(config: Config, reference: str) -> dict[str, int]:
    registry = registry_for(config)
    try:
        with registry.engine.connect() as conn:
            ids = select(plan_versions.c.id).where(plan_versions.c.household == reference)
            counts = {table.name: conn.execute(select(func.count()).select_from(table).where(
                column == reference)).scalar_one()
                for table, column in ((households, households.c.reference),
                                      (plan_versions, plan_versions.c.household),
                                      (steps, steps.c.household),
                                      (safety_items, safety_items.c.household),
                                      (weekly_reviews, weekly_reviews.c.household))}
            counts["page_layouts"] = conn.execute(select(func.count()).select_from(
                page_layouts).where(page_layouts.c.version_id.in_(ids))).scalar_one()
            counts["box_readings"] = conn.execute(select(func.count()).select_from(
                box_readings).where(box_readings.c.version_id.in_(ids))).scalar_one()
        return counts
    finally:
        registry.close()


def events_about(config: Config, reference: str) -> list[dict]:
    registry = registry_for(config)
    try:
        return registry.events_for(reference)
    finally:
        registry.close()


def test_retention_periods_count_back_from_today() -> None:
    assert cutoff_for("6y", date(2026, 11, 23)) == date(2020, 11, 23)
    assert cutoff_for("18m", date(2026, 11, 23)) == date(2025, 5, 23)
    assert cutoff_for("90d", date(2026, 11, 23)) == date(2026, 8, 25)
    assert cutoff_for("1y", date(2028, 2, 29)) == date(2027, 2, 28)
    assert cutoff_for(" 6Y ", date(2026, 3, 31)) == date(2020, 3, 31)
    assert cutoff_for("1m", date(2026, 3, 31)) == date(2026, 2, 28)


def test_a_period_that_is_not_one_is_refused_with_how_to_write_it(workspace: Config) -> None:
    code, output = run(workspace, "purge", "--older-than", "six years")
    assert code == 3 and '"six years" is not a retention period' in output and "6y" in output
    code, output = run(workspace, "purge", "--older-than", "6y", "--closed-before",
                       "01/01/2020")
    assert code == 2 and "not both" in output


def test_nothing_to_purge_says_so_and_changes_nothing(workspace: Config) -> None:
    three_households(workspace)
    before = workspace_files(workspace)
    code, output = run(workspace, "purge", "--older-than", "10y")
    assert code == 0, output
    assert "nothing to remove" in output
    assert workspace_files(workspace) == before
    assert events_about(workspace, "HH-OLD")[-1]["kind"] != "household_purged"


def test_dry_run_says_what_would_go_and_changes_nothing(workspace: Config) -> None:
    three_households(workspace)
    before = workspace_files(workspace)
    rows = rows_about(workspace, "HH-OLD")
    code, output = run(workspace, "purge", "--dry-run")  # [retention] closed_for = "6y"
    assert code == 0, output
    assert "HH-OLD" in output and "would remove" in output and "Dry run" in output
    assert "HH-RECENT" not in output and "HH-OPEN" not in output
    assert workspace_files(workspace) == before
    assert rows_about(workspace, "HH-OLD") == rows
    assert all(e["kind"] != "household_purged" for e in events_about(workspace, "HH-OLD"))


def test_purge_removes_the_closed_household_and_only_it(workspace: Config) -> None:
    three_households(workspace)
    kept = {path for path in workspace_files(workspace) if "HH-OLD" not in str(path)}
    assert rows_about(workspace, "HH-OLD")["plan_versions"] == 1
    recent_rows = rows_about(workspace, "HH-RECENT")
    code, output = run(workspace, "purge")
    assert code == 0, output
    assert "HH-OLD (closed" in output and "removed" in output
    # every file about it is gone (its workbook too: it would build the plan again) ...
    assert workspace_files(workspace) <= kept | {workspace.root / "supportplan.sqlite-wal",
                                                 workspace.root / "supportplan.sqlite-shm"}
    assert not (workspace.output_dir / "HH-OLD").exists()
    assert not (workspace.intake_dir / "HH-OLD.xlsx").exists()
    # ... and every row, but one event that says what went, with no personal data
    assert set(rows_about(workspace, "HH-OLD").values()) == {0}
    [event] = events_about(workspace, "HH-OLD")
    assert event["kind"] == "household_purged" and event["actor"] == os_user()
    assert event["detail"]["removed"]["plan versions"] == 1
    assert event["detail"]["removed"]["steps"] == 3
    text = json.dumps(event, default=str, ensure_ascii=False)
    assert not any(name in text for name in NAMES), text
    # a closed household within the period and an open one are untouched
    assert rows_about(workspace, "HH-RECENT") == recent_rows
    assert rows_about(workspace, "HH-OPEN")["plan_versions"] == 1
    assert (workspace.intake_dir / "HH-RECENT.xlsx").is_file()
    assert sorted(p.name for p in (workspace.output_dir / "HH-OPEN").iterdir()) == [
        "support-plan-HH-OPEN-v1.docx"]
    # purging again finds nothing
    code, output = run(workspace, "purge")
    assert code == 0 and "nothing to remove" in output


def test_closed_before_a_date_purges_a_recent_closure_on_request(workspace: Config) -> None:
    three_households(workspace)
    code, output = run(workspace, "purge", "--closed-before", f"{TODAY:%d/%m/%Y}")
    assert code == 0, output
    assert "HH-OLD" in output and "HH-RECENT" in output and "HH-OPEN" not in output
    assert not (workspace.output_dir / "HH-RECENT").exists()
    assert rows_about(workspace, "HH-OPEN")["plan_versions"] == 1


def test_the_same_reference_builds_afresh_after_a_purge(workspace: Config) -> None:
    three_households(workspace)
    assert run(workspace, "purge")[0] == 0
    write_household(workspace, valid_household("HH-OLD"))  # the family comes back, years on
    [outcome] = build_workbooks(workspace, [workspace.intake_dir / "HH-OLD.xlsx"], pdf=False)
    assert (outcome.status, outcome.version) == ("built", 1), outcome.message
    assert [e["kind"] for e in events_about(workspace, "HH-OLD")] == [
        "household_purged", "version_issued"]


def test_reports_and_queued_mail_that_mention_it_go_too(workspace: Config) -> None:
    # Reported while still open (every step long overdue), closed years ago afterwards.
    write_household(workspace, valid_household("HH-OLD", plan_date=LONG_AGO))
    write_household(workspace, valid_household("HH-OPEN", team="South"))
    assert {o.status for o in build_workbooks(workspace, [workspace.intake_dir],
                                              pdf=False)} == {"built"}
    with socket.socket() as probe:  # a port nothing listens on: the e-mail stays queued
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert workspace.source is not None
    workspace.source.write_text(workspace.source.read_text(encoding="utf-8").replace(
        '\nhost = ""\n', '\nhost = "127.0.0.1"\n')
        .replace("\nport = 587\n", f"\nport = {port}\n")
        .replace('[report.teams]\n', '[report.teams]\nNorth = ["north.manager@example.org"]\n')
        .replace('security = "starttls"', 'security = "none"')
        .replace("timeout_seconds = 30", "timeout_seconds = 2"), encoding="utf-8")
    config = load_config(workspace.source)
    code, output = run(config, "report")
    assert code == 7, output  # made, the e-mail queued
    reports = config.output_dir / "reports"
    mentioning = {p for p in reports.rglob("*") if p.is_file()}
    assert len([p for p in mentioning if p.suffix == ".eml"]) == 1
    (config.intake_dir / "HH-OLD.xlsx").unlink()
    write_household(config, valid_household("HH-OLD", plan_date=LONG_AGO,
                                             closed_on=CLOSED_LONG_AGO))
    build_workbooks(config, [config.intake_dir], pdf=False)
    later = TODAY + timedelta(days=1)
    assert run(config, "report", "--no-email", "--as-of", f"{later:%d/%m/%Y}")[0] == 0
    code, output = run(config, "purge")
    assert code == 0, output
    assert all(not path.exists() for path in mentioning), output
    assert "mentions a purged household" in output
    # the report made after it closed never listed it: kept
    assert (reports / f"overdue-{later.isoformat()}.xlsx").is_file()
    assert (reports / f"overdue-{later.isoformat()}.pdf").is_file()


@pytest.mark.slow
def test_scans_holding_only_its_pages_go_a_shared_scan_stays(workspace: Config) -> None:
    from scanpen import DPI, save_pdf

    from pipeline.reconcile.run import reconcile_paths
    from pipeline.reconcile.synth import render_page

    three_households(workspace, pdf=True)
    old_pdf = workspace.output_dir / "HH-OLD" / "support-plan-HH-OLD-v1.pdf"
    open_pdf = workspace.output_dir / "HH-OPEN" / "support-plan-HH-OPEN-v1.pdf"
    scans_dir = workspace.scans_dir
    def page(pdf: Path) -> object:
        return render_page(str(pdf), 0, DPI)

    save_pdf([page(old_pdf)], scans_dir / "only-old.pdf")
    save_pdf([page(old_pdf), page(open_pdf)], scans_dir / "both.pdf")
    outcomes = reconcile_paths(workspace, [scans_dir])
    assert all(page.matched for outcome in outcomes for page in outcome.pages)
    registry = registry_for(workspace)
    with registry.engine.connect() as conn:
        archived = {row.original_name: workspace.root / row.archived_path
                    for row in conn.execute(select(scans))}
    registry.close()
    assert all(path.is_file() for path in archived.values())
    code, output = run(workspace, "purge")
    assert code == 0, output
    assert not archived["only-old.pdf"].exists()
    assert archived["both.pdf"].is_file()
    assert "also holds other households' pages" in output
    registry = registry_for(workspace)
    with registry.engine.connect() as conn:
        rows = {row.original_name: row.pages for row in conn.execute(select(scans))}
    registry.close()
    assert set(rows) == {"both.pdf"}
    assert [page.get("household") for page in rows["both.pdf"]] == [None, "HH-OPEN"]
    assert "HH-OLD" not in json.dumps(rows["both.pdf"])
    assert rows_about(workspace, "HH-OPEN")["box_readings"] > 0
    assert rows_about(workspace, "HH-OLD")["box_readings"] == 0


def test_a_workbook_saved_since_its_last_build_is_not_purged(workspace: Config) -> None:
    three_households(workspace)
    # support reopened: the caseworker cleared the closing date but has not built since
    (workspace.intake_dir / "HH-OLD.xlsx").unlink()
    write_household(workspace, valid_household("HH-OLD", plan_date=LONG_AGO))
    before = workspace_files(workspace)
    code, output = run(workspace, "purge")
    assert code == 0, output
    assert "HH-OLD: not purged: HH-OLD.xlsx was saved after it was last built" in output
    assert "nothing to remove" in output
    assert workspace_files(workspace) == before
    # built, it is open again and stays
    build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    code, output = run(workspace, "purge")
    assert code == 0 and "nothing to remove" in output and "not purged" not in output
    assert rows_about(workspace, "HH-OLD")["plan_versions"] == 1
