"""The registry busy, damaged or on a full disk: commands wait, then stop with words a
person can act on; nothing is half-done and the next run carries on."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import (
    edited,
    outputs_agree_with_registry,
    resave,
    valid_household,
    write_household,
)

from pipeline.build import BUILT, build_workbooks
from pipeline.config import Config, load_config
from pipeline.errors import ExitCode, RegistryUnavailable
from pipeline.registry import open_registry, registry_for
from pipeline.workspace import init_workspace

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))


def database(config: Config) -> Path:
    return config.root / "supportplan.sqlite"


def hold_write_lock(path: Path, seconds: float,
                    release: threading.Event | None = None) -> threading.Thread:
    """Another command writing for `seconds`, or until `release` is set (a separate
    connection holding the lock)."""
    started = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        started.set()
        if release is not None:
            release.wait(seconds)
        else:
            time.sleep(seconds)
        connection.execute("COMMIT")
        connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait(10)
    return thread


def set_wait(config: Config, seconds: float) -> Config:
    text = config.source.read_text(encoding="utf-8").replace(
        "wait_seconds = 30", f"wait_seconds = {seconds}")
    config.source.write_text(text, encoding="utf-8")
    return load_config(config.source)


def test_a_build_waits_for_another_command_to_finish_writing(workspace: Config) -> None:
    path = write_household(workspace, valid_household())
    registry = registry_for(workspace)
    holder = hold_write_lock(database(workspace), 2)
    started = time.monotonic()
    [outcome] = build_workbooks(workspace, [path], pdf=False, registry=registry)
    holder.join()
    assert outcome.status == BUILT
    assert time.monotonic() - started >= 1.5  # it waited rather than failing


def test_a_registry_busy_for_too_long_stops_the_build_cleanly(workspace: Config) -> None:
    config = set_wait(workspace, 1)
    demo = edited(valid_household())
    path = write_household(config, demo)
    build_workbooks(config, [path], pdf=False)
    demo.steps[0]["we_will"] = "Something new"
    resave(path, demo)
    release = threading.Event()
    holder = hold_write_lock(database(config), 300, release)
    result = subprocess.run([SUPPORTPLAN, "build", "--no-pdf"], cwd=config.root,
                            capture_output=True, text=True)
    release.set()
    holder.join()
    assert result.returncode == ExitCode.REGISTRY, result.stderr
    assert "stayed busy with another command for 1 seconds" in result.stderr
    assert "Traceback" not in result.stderr
    registry = registry_for(config)
    assert registry.pending_versions() == []
    outputs_agree_with_registry(config, registry)
    [again] = build_workbooks(config, [path], pdf=False, registry=registry)
    assert (again.status, again.version) == (BUILT, 2)


@pytest.mark.parametrize("damage", [b"this is not a database at all" * 100, "truncate"])
def test_a_damaged_registry_is_named_with_how_to_restore_it(workspace: Config,
                                                            damage: bytes | str) -> None:
    path = write_household(workspace, valid_household())
    build_workbooks(workspace, [path], pdf=False)
    target = database(workspace)
    connection = sqlite3.connect(target)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything into the main file
    connection.close()
    if damage == "truncate":
        with open(target, "r+b") as handle:
            handle.seek(4096)
            handle.write(b"\xff" * 4096)  # a page of the tables overwritten
    else:
        target.write_bytes(damage)
    result = subprocess.run([SUPPORTPLAN, "build", "--no-pdf"], cwd=workspace.root,
                            capture_output=True, text=True)
    assert result.returncode == ExitCode.REGISTRY, result.stderr
    assert "is damaged" in result.stderr and "Backups" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(RegistryUnavailable, match=str(target)):
        open_registry(workspace.registry_url)


@pytest.fixture
def small_disk(tmp_path: Path):  # noqa: ANN201 - a generator fixture
    """A real 8 MB filesystem (tmpfs), so the disk really fills up."""
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}); CI runs "
                    "as root and can")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
@pytest.mark.parametrize("free_kb", [0, 40, 300, 1500])
def test_disk_full_while_building_keeps_nothing_half_written_and_the_next_run_recovers(
        small_disk: Path, free_kb: int) -> None:
    """Real builds with real LibreOffice on a nearly full disk, free space chosen so the
    disk runs out at different stages (registry, Word files, LibreOffice, PDFs)."""
    config, _ = init_workspace(small_disk / "ws")
    households = [edited(valid_household(f"HH-{n:04d}")) for n in range(1, 4)]
    paths = [write_household(config, demo) for demo in households]
    first = subprocess.run([SUPPORTPLAN, "build"], cwd=config.root, capture_output=True,
                           text=True)
    assert first.returncode == 0, first.stderr
    for demo, path in zip(households, paths, strict=True):
        demo.steps[0]["we_will"] = "Refer to the housing register this week"
        resave(path, demo)
    filler = small_disk / "filler"
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, shutil.disk_usage(small_disk).free - free_kb * 1024))

    full = subprocess.run([SUPPORTPLAN, "build"], cwd=config.root, capture_output=True,
                          text=True)

    assert "Traceback" not in full.stderr
    if full.returncode != 0:
        assert full.returncode == ExitCode.DISK, full.stderr
        assert "is full" in full.stderr and "free some space" in full.stderr
    assert list(config.output_dir.rglob("*.part")) == []
    filler.unlink()
    again = subprocess.run([SUPPORTPLAN, "build"], cwd=config.root, capture_output=True,
                           text=True)
    assert again.returncode == 0, again.stderr
    registry = registry_for(config)
    latest = outputs_agree_with_registry(config, registry)
    assert latest == {demo.household["reference"]: 2 for demo in households}


@pytest.mark.slow
def test_two_builds_started_together_on_a_fresh_workspace_both_succeed(tmp_path: Path) -> None:
    """First use: the registry, its tables and the page-code secret are all created by
    whichever build gets there first; the other waits, then finds the plans made."""
    config, _ = init_workspace(tmp_path / "ws")
    for n in range(1, 4):
        write_household(config, valid_household(f"HH-{n:04d}"))
    runs = [subprocess.Popen([SUPPORTPLAN, "build"], cwd=config.root, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    for code, _out, err in results:
        assert code == 0, err
    summaries = sorted(out.strip().splitlines()[-1] for _code, out, _err in results)
    assert summaries == ["Summary: 0 built, 3 unchanged, 0 progress updated, 0 failed.",
                         "Summary: 3 built, 0 unchanged, 0 progress updated, 0 failed."]
    assert len((config.root / ".secret").read_bytes()) == 32
    outputs_agree_with_registry(config, registry_for(config))


def test_a_registry_created_by_one_process_is_never_taken_apart_by_another(
        workspace: Config) -> None:
    """A process creates the registry (migrating it under a lock) and keeps it open while
    other commands come and go. Locking the database file itself for the migration used to
    drop SQLite's own locks in the first process on closing the lock, and another process
    then removed the write-ahead log under its feet ("file is not a database")."""
    demo, theirs = edited(valid_household()), edited(valid_household("HH-0002"))
    path = write_household(workspace, demo)
    their_path = write_household(workspace, theirs)
    for made_by_init in workspace.root.glob("supportplan.sqlite*"):
        made_by_init.unlink()
    registry = registry_for(workspace)  # creates it: the migration runs here
    for round_number in range(4):
        for household, workbook in ((demo, path), (theirs, their_path)):
            household.steps[0]["we_will"] = f"Refer to the register (round {round_number})"
            resave(workbook, household)
        [outcome] = build_workbooks(workspace, [path], pdf=False, registry=registry)
        assert outcome.status == BUILT, outcome.message
        other = subprocess.run([SUPPORTPLAN, "build", "--no-pdf", str(their_path)],
                               cwd=workspace.root, capture_output=True, text=True)
        assert other.returncode == 0, other.stderr
    registry.close()
    connection = sqlite3.connect(database(workspace))
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    connection.close()
    again = registry_for(workspace)
    for reference in ("HH-0001", "HH-0002"):
        assert [v.version for v in again.versions(reference)] == [1, 2, 3, 4]
