"""Benchmark work shared across machines: N workers on one PostgreSQL registry drain a queue
of synthetic workbooks.

    .venv/bin/python bench/workers.py --households 200 --workers 2

Starts a throwaway PostgreSQL server (Debian's binaries, a unix socket in a temporary
folder), makes one workspace folder per worker sharing one intake and output folder, queues
every workbook with `supportplan build --queue`, starts the workers and times until every
plan is issued. Prints plans per second, and any duplicate (a version other than v1, a plan
file twice, a failed job). Machines here are noisy: read the ratio, not absolute times.

Measured 2026-11-23, 2 cores shared with other test runs, PDFs on, cold LibreOffice per
job: 2 workers, 200 workbooks: 200 plans in 849.8 s = 0.24 plans/s; 200 versions, all v1,
400 plan files, 0 failed jobs, 0 duplicates.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pgserver import start_postgres  # noqa: E402
from sharedws import shared_workspaces  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from pipeline.demo import synthetic_household  # noqa: E402

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8, help="steps per household")
    parser.add_argument("--no-pdf", action="store_true", help="Word files only")
    args = parser.parse_args()
    server = start_postgres()
    try:
        url = server.new_database("bench")
        with tempfile.TemporaryDirectory(prefix="supportplan-queue-") as folder:
            run(Path(folder), url, args)
    finally:
        server.stop()


def run(root: Path, url: str, args: argparse.Namespace) -> None:
    machines = shared_workspaces(root, url, args.workers)
    if args.no_pdf:
        for config in machines:
            assert config.source is not None
            with config.source.open("a", encoding="utf-8") as handle:
                handle.write("[pdf]\nenabled = false\n")
    for number in range(args.households):
        synthetic_household(number, steps=args.steps).write(
            machines[0].intake_dir / f"HH-{number:05d}.xlsx")
    subprocess.run([SUPPORTPLAN, "--config", str(machines[0].source), "build", "--queue"],
                   check=True, capture_output=True)
    engine = create_engine(url)
    start = time.perf_counter()
    workers = [subprocess.Popen([SUPPORTPLAN, "--config", str(config.source), "worker"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True) for config in machines]
    try:
        while True:
            with engine.connect() as conn:
                issued = conn.execute(text("SELECT count(*) FROM plan_versions "
                                           "WHERE state = 'issued'")).scalar_one()
                waiting = conn.execute(text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                    "'supportplan.build' AND status IN ('todo', 'doing')")).scalar_one()
            if issued >= args.households or not waiting:
                break
            if any(worker.poll() is not None for worker in workers):
                raise SystemExit("a worker stopped")
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait()
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT count(*), max(version) FROM plan_versions")).one()
        failed = conn.execute(text("SELECT count(*) FROM procrastinate_jobs "
                                   "WHERE status = 'failed'")).scalar_one()
    engine.dispose()
    files = list((root / "shared" / "output").glob("HH-*/support-plan-*"))
    per_plan = 1 if args.no_pdf else 2
    print(f"{args.workers} workers, {args.households} workbooks"
          f"{' (Word only)' if args.no_pdf else ''}: {issued} plans in {elapsed:.1f} s = "
          f"{issued / elapsed:.2f} plans/s")
    print(f"versions recorded: {versions[0]}, highest v{versions[1]}; plan files: "
          f"{len(files)} (expected {args.households * per_plan}); failed jobs: {failed}")
    duplicates = versions[0] - args.households + max(0, len(files) - args.households * per_plan)
    print(f"duplicates: {duplicates}")


if __name__ == "__main__":
    main()
