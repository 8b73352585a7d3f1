"""Work shared across machines: two `supportplan worker` processes, each in its own
workspace folder, sharing one intake and output folder and one PostgreSQL registry, drain
the same queue of workbooks: every plan once, as v1, nothing failed; also when one worker
is killed in the middle of the batch and started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import valid_household, write_household
from sharedws import shared_workspaces
from sqlalchemy import create_engine, select, text
from test_watch import WatchProcess

from pipeline.cli import main
from pipeline.config import Config, load_config
from pipeline.registry import open_registry, plan_versions

HOUSEHOLDS = 20
SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))


def _machines(tmp_path: Path, url: str) -> list[Config]:
    machines = shared_workspaces(tmp_path, url)
    for config in machines:  # dead workers noticed within seconds, not half a minute
        assert config.source is not None
        with config.source.open("a", encoding="utf-8") as handle:
            handle.write("[queue]\nheartbeat_seconds = 1\nstalled_after_seconds = 4\n")
    machines = [load_config(config.source) for config in machines]
    for number in range(1, HOUSEHOLDS + 1):
        write_household(machines[0], valid_household(f"HH-{number:04d}"))
    queued = CliRunner().invoke(main, ["--config", str(machines[0].source), "build",
                                       "--queue"])
    assert queued.exit_code == 0, queued.output
    assert f"Queued {HOUSEHOLDS} workbooks" in queued.output
    return machines


def _start_worker(config: Config, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as handle:
        return subprocess.Popen([SUPPORTPLAN, "--config", str(config.source), "--log-level",
                                 "info", "worker"], stdout=handle, stderr=handle,
                                start_new_session=True)


def _issued(url: str) -> list[tuple[str, int, str]]:
    registry = open_registry(url)
    try:
        with registry.engine.connect() as conn:
            return sorted(conn.execute(select(plan_versions.c.household,
                                              plan_versions.c.version,
                                              plan_versions.c.state)).all())
    finally:
        registry.close()


def _wait_for(url: str, count: int, workers: list[subprocess.Popen[bytes]],
              timeout: float = 420) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum(state == "issued" for _r, _v, state in _issued(url)) >= count:
            return
        assert all(worker.poll() is None for worker in workers), "a worker stopped"
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} plans after {timeout} s: {_issued(url)}")


def _stop(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _check_all_once(url: str, machines: list[Config]) -> None:
    assert _issued(url) == [(f"HH-{n:04d}", 1, "issued") for n in range(1, HOUSEHOLDS + 1)]
    plans = sorted(p.name for p in machines[0].output_dir.glob("HH-*/support-plan-*"))
    assert plans == sorted(f"support-plan-HH-{n:04d}-v1.{suffix}"
                           for n in range(1, HOUSEHOLDS + 1) for suffix in ("docx", "pdf"))
    assert list(machines[0].output_dir.glob("HH-*/errors-*")) == []
    engine = create_engine(url)
    with engine.connect() as conn:  # finished jobs are deleted; none failed or waits
        left = conn.execute(text("SELECT task_name, status FROM procrastinate_jobs "
                                 "WHERE task_name = 'supportplan.build'")).all()
    engine.dispose()
    assert left == []


@pytest.mark.slow
def test_two_workers_drain_one_queue_each_plan_once(tmp_path: Path, pg_url: str) -> None:
    machines = _machines(tmp_path, pg_url)
    workers = [_start_worker(config, tmp_path / f"worker-{n}.log")
               for n, config in enumerate(machines)]
    try:
        _wait_for(pg_url, HOUSEHOLDS, workers)
    finally:
        _stop(workers)
    _check_all_once(pg_url, machines)
    logs = [(tmp_path / f"worker-{n}.log").read_text() for n in range(len(machines))]
    assert all("supportplan.build" in log for log in logs), "both workers did some"


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_each_plan_once(tmp_path: Path, pg_url: str) -> None:
    machines = _machines(tmp_path, pg_url)
    logs = [tmp_path / f"worker-{n}.log" for n in range(len(machines))]
    workers = [_start_worker(config, log) for config, log in zip(machines, logs, strict=True)]
    try:
        _wait_for(pg_url, 4, workers)
        # Killed outright (with its LibreOffice) while a build is under way.
        deadline = time.monotonic() + 60
        while "Starting job supportplan.build" not in logs[0].read_text().rsplit(
                "ended with status", 1)[-1] and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(workers[0].pid, signal.SIGKILL)
        workers[0].wait()
        time.sleep(1)
        workers[0] = _start_worker(machines[0], logs[0])
        _wait_for(pg_url, HOUSEHOLDS, workers)
        time.sleep(2)  # a duplicate, if any, would be recorded by now
    finally:
        _stop(workers)
    _check_all_once(pg_url, machines)
    # the killed worker's job was found stalled and run again
    assert any("stopped answering are queued again" in log.read_text() for log in logs)


@pytest.mark.slow
def test_the_watcher_queues_work_and_a_worker_does_it(tmp_path: Path, pg_url: str) -> None:
    machines = shared_workspaces(tmp_path, pg_url)
    with WatchProcess(machines[0].root, "--polling") as watcher:
        watcher.wait_for("watching")
        write_household(machines[0], valid_household("HH-0001"))
        (machines[0].scans_dir / "scan-001.pdf").write_bytes(b"%PDF-1.4\n%%EOF\n")
        watcher.wait_for("queued 1 workbook", timeout=120)
        watcher.wait_for("queued 1 scan", timeout=120)
        assert not watcher.named("built")  # the work is the workers'
        assert watcher.stop() == 0
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        jobs = sorted(conn.execute(text("SELECT task_name, args::text FROM procrastinate_jobs "
                                        "WHERE task_name LIKE 'supportplan.%' AND "
                                        "task_name <> 'supportplan.retry_stalled'")).all())
    engine.dispose()
    assert [name for name, _args in jobs] == ["supportplan.build", "supportplan.reconcile"]
    assert "HH-0001.xlsx" in jobs[0][1] and "scan-001.pdf" in jobs[1][1]
    done = subprocess.run([SUPPORTPLAN, "--config", str(machines[1].source), "worker",
                           "--until-empty"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert _issued(pg_url) == [("HH-0001", 1, "issued")]
