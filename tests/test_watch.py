"""The hot folder watcher, end to end: a real `supportplan watch` process with a real
watchdog observer, real workbooks on disk and real LibreOffice.

Each test starts the watcher as a subprocess (so SIGTERM and SIGKILL are real), reads its
JSON event log line by line, and checks the files and the registry it leaves behind.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from openpyxl import load_workbook

from pipeline.config import load_config
from pipeline.demo import DemoHousehold, synthetic_household
from pipeline.intake.files import SCAN, WORKBOOK, classify, is_complete_workbook
from pipeline.intake.writer import build_workbook
from pipeline.registry import registry_for
from pipeline.workspace import init_workspace

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
DEBOUNCE = 0.4
CONFIG_EXTRA = f"""
[watch]
debounce_seconds = {DEBOUNCE}
incomplete_wait_seconds = 1.5
rescan_seconds = 600
polling_interval_seconds = 0.3
"""


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    init_workspace(root)
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    # Our test settings replace the [watch] section's defaults.
    start = text.index("[watch]")
    end = text.find("\n[", start + 1)
    text = text[:start] + CONFIG_EXTRA.strip() + "\n" + (text[end:] if end != -1 else "")
    config.write_text(text, encoding="utf-8")
    return root


def household(index: int = 1, **changes: Any) -> DemoHousehold:
    demo = synthetic_household(index, steps=6, seed=7)
    for key, value in changes.items():
        row, column = key.split("__")
        demo.steps[int(row)][column] = value
    return demo


def save_in_place(demo: DemoHousehold, path: Path) -> None:
    """How LibreOffice and openpyxl save: the file is rewritten where it is."""
    build_workbook(demo.household, demo.members, demo.steps).save(path)


def save_like_excel(demo: DemoHousehold, path: Path) -> None:
    """Excel's sequence: lock file, write a temp file, move the old file aside, rename the
    temp over the target, delete the old one, remove the lock."""
    lock = path.with_name("~$" + path.name)
    lock.write_bytes(b"\x00" * 165)
    temp = path.with_name("A1B2C3D4.tmp")
    build_workbook(demo.household, demo.members, demo.steps).save(temp)
    backup = path.with_name("E5F6A7B8.tmp")
    if path.exists():
        os.rename(path, backup)
    os.rename(temp, path)
    backup.unlink(missing_ok=True)
    time.sleep(0.1)
    lock.unlink()


class WatchProcess:
    def __init__(self, root: Path, *args: str) -> None:
        self.root = root
        self.process = subprocess.Popen(
            [SUPPORTPLAN, "--config", str(root / "config.toml"),
             "watch", "--json", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=root)
        self.events: list[dict[str, Any]] = []
        self._lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(json.loads(line))
        self._lines.put(None)

    def _drain(self, timeout: float) -> bool:
        """Take one event into self.events; False once the log has ended."""
        if self._ended:
            return False
        try:
            item = self._lines.get(timeout=timeout)
        except queue.Empty:
            return True
        if item is None:
            self._ended = True
            return False
        self.events.append(item)
        return True

    def wait_for(self, event: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e["event"].startswith(event)]
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._drain(min(remaining, 0.2)):
                stderr = "" if self.process.poll() is None else self.process.stderr.read()
                raise AssertionError(f"no {count}x {event!r} within {timeout}s; events: "
                                     f"{[e['event'] for e in self.events]} {stderr}")

    def settle(self, seconds: float) -> None:
        """Collect whatever happens in the next `seconds`."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if not self._drain(remaining):
                break

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"].startswith(event)]

    def converter_groups(self) -> list[int]:
        ready = self.wait_for("converter ready")[0]
        return [int(pid) for pid in ready["detail"].rsplit(" ", 1)[-1].split(", ")]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=timeout)
        self.settle(0.5)
        return code

    def __enter__(self) -> WatchProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def plan_files(root: Path) -> list[str]:
    output = root / "output"
    return sorted(str(p.relative_to(output)) for p in output.rglob("support-plan-*")
                  if not any(part.startswith(".") for part in p.relative_to(output).parts))


def registry_versions(root: Path, reference: str) -> list[int]:
    registry = registry_for(load_config(root / "config.toml"))
    try:
        return [v.version for v in registry.versions(reference)]
    finally:
        registry.close()


def leftovers(root: Path) -> list[Path]:
    output = root / "output"
    staging = output / ".staging"
    # a build's staging folders are .staging/<machine>/<process>-<id>
    return [*output.rglob("*.part"), *(staging.glob("*/*") if staging.is_dir() else [])]


def processes_in_sessions(sessions: list[int]) -> list[str]:
    listing = subprocess.run(["ps", "-eo", "pid=,sid=,comm="], capture_output=True, text=True)
    return [line for line in listing.stdout.splitlines()
            if int(line.split()[1]) in sessions]


# -- fast checks of what the watcher ignores --------------------------------------------

def test_classify_ignores_office_noise_and_links(tmp_path: Path) -> None:
    intake = tmp_path / "intake"
    (intake / "scans").mkdir(parents=True)
    outside = tmp_path / "elsewhere.xlsx"
    outside.write_bytes(b"x")
    (intake / "link.xlsx").symlink_to(outside)
    assert classify(intake / "HH-1.xlsx", intake) == WORKBOOK
    assert classify(intake / "team" / "HH-1.xlsx", intake) == WORKBOOK
    assert classify(intake / "scans" / "HH-1.pdf", intake) == SCAN
    # spreadsheets in other formats are taken in, to be told how to save them
    for other in ("HH-1.xls", "HH-1.ods", "HH-1.csv", "HH-1.numbers"):
        assert classify(intake / other, intake) == WORKBOOK, other
    for ignored in ("~$HH-1.xlsx", ".~lock.HH-1.xlsx#", "A1B2C3D4.tmp", "~WRL0001.tmp",
                    ".hidden.xlsx", "notes.docx", "link.xlsx", "scans/readme.txt",
                    ".git/x.xlsx", "~$HH-1.ods"):
        assert classify(intake / ignored, intake) is None, ignored
    assert classify(outside, intake) is None


def test_half_written_workbook_is_not_complete(tmp_path: Path) -> None:
    whole = tmp_path / "whole.xlsx"
    save_in_place(household(), whole)
    half = tmp_path / "half.xlsx"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert is_complete_workbook(whole)
    assert not is_complete_workbook(half)


def test_refuses_output_inside_intake(workspace: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'output = "output"', 'output = "intake/plans"'), encoding="utf-8")
    result = subprocess.run([SUPPORTPLAN, "--config", str(config),
                             "watch"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "inside the intake folder" in result.stderr


def test_refuses_output_outside_workspace(workspace: Path, tmp_path: Path) -> None:
    config = workspace / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'output = "output"', f'output = "{tmp_path / "elsewhere"}"'), encoding="utf-8")
    result = subprocess.run([SUPPORTPLAN, "--config", str(config),
                             "watch"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "outside the workspace" in result.stderr


def test_excel_save_sequence_builds_each_save_once(workspace: Path) -> None:
    intake = workspace / "intake"
    target = intake / "HH-00001.xlsx"
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("watching")
        save_like_excel(household(), target)
        built = watcher.wait_for("built", timeout=60)
        assert built[0]["reference"] == "HH-00001"
        assert built[0]["output"] == "output/HH-00001/support-plan-HH-00001-v1.pdf"
        # Second Excel save with a changed plan: the workbook arrives by rename only.
        save_like_excel(household(**{"0__we_will": "Phone the housing officer"}), target)
        watcher.wait_for("built", count=2, timeout=60)
        watcher.settle(DEBOUNCE * 4)
        assert [e["event"] for e in watcher.named("built")] == ["built v1", "built v2"]
        assert not watcher.named("failed")
        assert watcher.stop() == 0
    assert plan_files(workspace) == [
        f"HH-00001/support-plan-HH-00001-v{n}.{s}" for n in (1, 2) for s in ("docx", "pdf")]
    assert registry_versions(workspace, "HH-00001") == [1, 2]
    # Nothing personal in the log: references only.
    assert "Household 1" not in json.dumps(watcher.events)
    assert "Adult 1-1" not in json.dumps(watcher.events)


@pytest.mark.slow
def test_two_saves_within_debounce_build_once_with_the_last_content(workspace: Path) -> None:
    target = workspace / "intake" / "HH-00002.xlsx"
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("watching")
        save_in_place(household(2), target)
        time.sleep(DEBOUNCE / 3)
        save_in_place(household(2, **{"0__we_will": "Second save wins"}), target)
        watcher.wait_for("built")
        watcher.settle(DEBOUNCE * 4)
        assert len(watcher.named("built")) == 1
        assert watcher.stop() == 0
    registry = registry_for(load_config(workspace / "config.toml"))
    try:
        assert len(registry.versions("HH-00002")) == 1
        assert "Second save wins" in json.dumps(registry.steps_for("HH-00002"), default=str)
    finally:
        registry.close()


@pytest.mark.slow
def test_corrupt_file_reports_then_builds_when_fixed_polling(workspace: Path) -> None:
    target = workspace / "intake" / "HH-00003.xlsx"
    with WatchProcess(workspace, "--polling") as watcher:
        watcher.wait_for("watching")
        assert "polling" in watcher.named("watching")[0]["detail"]
        target.write_bytes(b"PK\x03\x04 this is not really a workbook")
        failed = watcher.wait_for("failed", timeout=30)[0]
        report = workspace / failed["output"]
        text = report.read_text(encoding="utf-8")
        assert "HH-00003.xlsx" in text and "Save As" in text
        # A good workbook dropped alongside is not held up by the bad one.
        save_in_place(household(4), workspace / "intake" / "HH-00004.xlsx")
        watcher.wait_for("built", timeout=60)
        save_in_place(household(3), target)
        watcher.wait_for("built", count=2, timeout=60)
        assert not report.exists(), "the error report is cleared once the workbook builds"
        assert watcher.stop() == 0
    assert registry_versions(workspace, "HH-00003") == [1]


@pytest.mark.slow
def test_a_registry_busy_too_long_pauses_building_and_loses_nothing(workspace: Path) -> None:
    import sqlite3

    config = workspace / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "wait_seconds = 30", "wait_seconds = 1").replace(
        "[watch]\n", "[watch]\nretry_after_seconds = 1\n"), encoding="utf-8")
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("watching")
        holder = sqlite3.connect(workspace / "supportplan.sqlite", isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # another command writing for a long time
        save_in_place(household(7), workspace / "intake" / "HH-00007.xlsx")
        paused = watcher.wait_for("paused", timeout=60)[0]
        assert "stayed busy with another command" in paused["event"]
        holder.execute("COMMIT")
        holder.close()
        watcher.wait_for("built v1", timeout=60)
        assert watcher.stop() == 0
    assert registry_versions(workspace, "HH-00007") == [1]


@pytest.mark.slow
def test_catch_up_on_start_builds_only_what_changed(workspace: Path) -> None:
    intake = workspace / "intake"
    save_in_place(household(5), intake / "HH-00005.xlsx")
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("built")
        assert watcher.stop() == 0
    # While the watcher is down: one new workbook, one untouched.
    save_in_place(household(6), intake / "HH-00006.xlsx")
    with WatchProcess(workspace) as watcher:
        built = watcher.wait_for("built")
        watcher.settle(DEBOUNCE * 4)
        assert [e["reference"] for e in watcher.named("built")] == ["HH-00006"]
        assert built[0]["event"] == "built v1"
        assert watcher.named("catching up")[0]["detail"].startswith("1 file")
        assert watcher.stop() == 0
    assert registry_versions(workspace, "HH-00005") == [1]


@pytest.mark.slow
def test_status_only_edit_keeps_the_version_plan_edit_issues_the_next(workspace: Path) -> None:
    target = workspace / "intake" / "HH-00007.xlsx"
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("watching")
        save_in_place(household(7, **{"1__status": "Not started"}), target)
        watcher.wait_for("built")
        save_in_place(household(7, **{"1__status": "In progress"}), target)
        progress = watcher.wait_for("progress updated")[0]
        assert progress["reference"] == "HH-00007" and progress["event"].endswith("(v1)")
        save_in_place(household(7, **{"1__status": "In progress",
                                      "1__you_will": "Bring the tenancy agreement"}), target)
        watcher.wait_for("built", count=2)
        watcher.settle(DEBOUNCE * 3)
        assert [e["event"] for e in watcher.named("built")] == ["built v1", "built v2"]
        assert watcher.stop() == 0
    assert registry_versions(workspace, "HH-00007") == [1, 2]


@pytest.mark.slow
def test_sigterm_during_build_leaves_no_partial_output(workspace: Path) -> None:
    intake = workspace / "intake"
    with WatchProcess(workspace) as watcher:
        sessions = watcher.converter_groups()
        assert processes_in_sessions(sessions), "the warm converter is running"
        for index in range(10, 22):
            save_in_place(household(index), intake / f"HH-{index:05d}.xlsx")
        watcher.wait_for("built")  # mid-batch: more are being built
        assert watcher.stop(signal.SIGTERM) == 0
        assert watcher.named("stopped")
    assert leftovers(workspace) == []
    assert processes_in_sessions(sessions) == []
    for index in range(10, 22):
        reference = f"HH-{index:05d}"
        files = [f for f in plan_files(workspace) if f.startswith(reference + "/")]
        versions = registry_versions(workspace, reference)
        # Every published file is recorded, and every recorded version has both files.
        assert files == ([f"{reference}/support-plan-{reference}-v1.{s}" for s in
                          ("docx", "pdf")] if versions else []), reference
        assert versions in ([], [1])


@pytest.mark.slow
def test_restart_after_sigkill_recovers_and_builds_each_once(workspace: Path) -> None:
    intake = workspace / "intake"
    references = [f"HH-{index:05d}" for index in range(30, 40)]
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("watching")
        for reference in references:
            save_in_place(household(int(reference[3:])), intake / f"{reference}.xlsx")
        watcher.wait_for("built")
        watcher.stop(signal.SIGKILL)
    with WatchProcess(workspace) as watcher:
        watcher.wait_for("watching")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
                registry_versions(workspace, r) for r in references):
            watcher.settle(0.5)
        watcher.settle(DEBOUNCE * 3)
        assert watcher.stop() == 0
    assert leftovers(workspace) == []
    for reference in references:
        assert registry_versions(workspace, reference) == [1], reference
        assert [f for f in plan_files(workspace) if f.startswith(reference + "/")] == [
            f"{reference}/support-plan-{reference}-v1.{s}" for s in ("docx", "pdf")]


@pytest.mark.slow
def test_scans_are_handed_to_the_reconciler(workspace: Path) -> None:
    scan = workspace / "intake" / "scans" / "scan-001.pdf"
    with WatchProcess(workspace, "--polling") as watcher:
        watcher.wait_for("watching")
        scan.write_bytes(b"%PDF-1.4\n%%EOF\n")
        # Not a plan page: the reconciler quarantines it, and the watcher logs that.
        [event] = watcher.wait_for("scan quarantined", timeout=60)
        assert event["reference"] is None
        assert not watcher.named("built")
        assert watcher.stop() == 0


@pytest.mark.slow
def test_a_scan_with_boxes_for_a_person_is_read_whole_by_the_watcher(workspace: Path) -> None:
    """The review path through the watcher: an uncertain box, a page that is not a plan
    page and the plan's own pages in one file; every page is logged, none dropped."""
    from scanpen import marked_page, save_pdf
    from sqlalchemy import select

    from pipeline.build import build_workbooks
    from pipeline.printed import PageLayout
    from pipeline.registry import page_layouts

    config = load_config(workspace / "config.toml")
    demo = household(1)
    demo.write(config.intake_dir / f"{demo.household['reference']}.xlsx")
    [outcome] = build_workbooks(config, [config.intake_dir])
    assert outcome.pdf is not None, outcome.message
    registry = registry_for(config)
    with registry.engine.connect() as conn:
        layouts = [PageLayout.from_json(row.layout) for row in conn.execute(
            select(page_layouts.c.layout).order_by(page_layouts.c.page))]
    registry.close()
    marks = {"caseworker": "small", "member-1": "crossed"}
    pages = [marked_page(outcome.pdf, layout, marks) for layout in layouts]
    pages.insert(0, np.full_like(pages[0], 250))  # a blank sheet scanned along with it
    with WatchProcess(workspace, "--polling") as watcher:
        watcher.wait_for("watching")
        save_pdf(pages, workspace / "intake" / "scans" / "signed.pdf")
        matched = watcher.wait_for("scan matched", count=len(layouts), timeout=90)
        [quarantined] = watcher.wait_for("scan quarantined")
        assert quarantined["reference"] is None and "no page code" in quarantined["detail"]
        assert all(event["reference"] == outcome.reference for event in matched), matched
        assert "2 to check" in matched[-1]["detail"], matched[-1]
        assert not watcher.named("scan failed")
        assert watcher.stop() == 0


def test_workbook_written_by_helpers_is_readable(tmp_path: Path) -> None:
    # Guards the helpers above: a save really changes the plan cell it claims to.
    target = tmp_path / "x.xlsx"
    save_in_place(household(1, **{"0__we_will": "Marker text"}), target)
    values = [c.value for row in load_workbook(target)["Plan"].iter_rows() for c in row]
    assert "Marker text" in values


def test_daily_report_catches_up_once_when_started_after_its_time(workspace: Path) -> None:
    import io

    from pipeline.watch.eventlog import EventLog
    from pipeline.watch.watcher import DailyReport

    config_path = workspace / "config.toml"
    config_path.write_text(config_path.read_text(encoding="utf-8").replace(
        'daily_at = "07:00"', 'daily_at = "00:00"'), encoding="utf-8")
    config = load_config(config_path)
    log = io.StringIO()
    first = DailyReport(config, EventLog(workspace, stream=log))
    first.maybe_start()  # past today's time and no report yet: make it now
    first.join()
    assert "daily report made" in log.getvalue()
    reports = sorted(p.name for p in (workspace / "output" / "reports").glob("overdue-*"))
    assert len(reports) == 2  # .xlsx and .pdf
    second = DailyReport(config, EventLog(workspace, stream=log))
    second.maybe_start()  # today's report exists: wait for tomorrow
    second.join()
    assert log.getvalue().count("daily report made") == 1


@pytest.mark.slow
def test_a_missing_secret_gives_one_clear_line_per_scan_not_a_traceback(
        workspace: Path) -> None:
    from pipeline.build import build_workbooks

    config = load_config(workspace / "config.toml")
    demo = household(1)
    demo.write(config.intake_dir / f"{demo.household['reference']}.xlsx")
    [outcome] = build_workbooks(config, [config.intake_dir])
    assert outcome.pdf is not None, outcome.message
    with WatchProcess(workspace, "--polling") as watcher:
        watcher.wait_for("watching")
        (workspace / ".secret").unlink()  # lost after plans were printed
        for name in ("a.pdf", "b.pdf"):
            (workspace / "intake" / "scans" / name).write_bytes(outcome.pdf.read_bytes())
        events = watcher.wait_for("scan not read", count=2, timeout=60)
        assert watcher.stop() == 0
        stderr = watcher.process.stderr.read()
    assert all(".secret is missing" in e["detail"] and "backup" in e["detail"]
               for e in events), events
    assert not watcher.named("scan failed")
    assert "Traceback" not in stderr, stderr  # the details are in the debug log only
