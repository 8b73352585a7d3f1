"""Benchmark the hot folder: latency from a workbook landing in intake/ to its PDF in
output/, warm converter vs cold, and throughput when many workbooks are dropped at once.

    .venv/bin/python bench/watch.py [--saves 20] [--bulk 50] [--debounce 1.0]

Runs a real `supportplan watch` process per mode in a temporary workspace. A workbook
"lands" the way Excel saves it: written to a temp name, then renamed into place.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.workspace import init_workspace  # noqa: E402

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
STAMP = True  # QR codes + markers on every page ([reconcile] stamp); --no-stamp to compare


def make_workspace(folder: Path, *, warm: bool, debounce: float, converters: int) -> Path:
    init_workspace(folder)
    config = folder / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("debounce_seconds = 1.0", f"debounce_seconds = {debounce}")
    text = text.replace("warm_converter = true", f"warm_converter = {str(warm).lower()}")
    text = text.replace("converters = 1", f"converters = {converters}")
    if not STAMP:
        text = text.replace("stamp = true", "stamp = false")
    config.write_text(text, encoding="utf-8")
    return folder


def land(source: Path, intake: Path) -> float:
    """Copy to a temp name in intake, then rename into place (as Excel does)."""
    temp = intake / f"~{source.stem}.tmp"
    shutil.copyfile(source, temp)
    landed = time.monotonic()
    os.rename(temp, intake / source.name)
    return landed


def wait_for(path: Path, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout}s")
        time.sleep(0.005)
    return time.monotonic()


def pdf_for(root: Path, reference: str) -> Path:
    return root / "output" / reference / f"support-plan-{reference}-v1.pdf"


def start_watcher(root: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([SUPPORTPLAN, "--config", str(root / "config.toml"), "watch"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=root)
    assert process.stdout is not None
    for line in process.stdout:  # wait until it is ready (converter warm, caught up)
        if b"watching" in line:
            break
    return process


def stop_watcher(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=60)


def run_mode(base: Path, sources: list[Path], *, warm: bool, debounce: float,
             converters: int) -> tuple[list[float], float]:
    root = make_workspace(base / ("warm" if warm else "cold"), warm=warm, debounce=debounce,
                          converters=converters)
    intake = root / "intake"
    process = start_watcher(root)
    try:
        latencies = []
        for source in sources[:-1]:
            landed = land(source, intake)
            latencies.append(wait_for(pdf_for(root, source.stem)) - landed)
            time.sleep(0.2)
        return latencies, 0.0
    finally:
        stop_watcher(process)


def run_bulk(base: Path, sources: list[Path], *, warm: bool, debounce: float,
             converters: int) -> float:
    root = make_workspace(base / f"bulk-{'warm' if warm else 'cold'}-{converters}",
                          warm=warm, debounce=debounce, converters=converters)
    intake = root / "intake"
    process = start_watcher(root)
    try:
        started = time.monotonic()
        for source in sources:
            land(source, intake)
        for source in sources:
            wait_for(pdf_for(root, source.stem), timeout=600)
        return time.monotonic() - started
    finally:
        stop_watcher(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--bulk", type=int, default=50)
    parser.add_argument("--debounce", type=float, default=1.0)
    parser.add_argument("--converters", type=int, default=2,
                        help="warm converters for the bulk run (the latency runs use 1)")
    parser.add_argument("--no-stamp", action="store_true",
                        help="turn off QR stamping, to see what it adds to latency")
    args = parser.parse_args()
    global STAMP
    STAMP = not args.no_stamp
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as folder:
        base = Path(folder)
        pool = base / "workbooks"
        pool.mkdir()
        sources = [synthetic_household(i, steps=12).write(pool / f"HH-{i:05d}.xlsx")
                   for i in range(1, args.saves + 2)]
        bulk_sources = [synthetic_household(i, steps=12).write(pool / f"HH-{i:05d}.xlsx")
                        for i in range(1000, 1000 + args.bulk)]
        print(f"Latency, workbook landing -> PDF in output/ ({args.saves} saves, debounce "
              f"{args.debounce:g}s), one at a time:")
        print(f"{'mode':<6} {'median s':>9} {'worst s':>8} {'best s':>7}")
        for warm in (True, False):
            latencies, _ = run_mode(base, sources, warm=warm, debounce=args.debounce,
                                    converters=1)
            print(f"{'warm' if warm else 'cold':<6} {statistics.median(latencies):>9.2f} "
                  f"{max(latencies):>8.2f} {min(latencies):>7.2f}   "
                  + " ".join(f"{x:.2f}" for x in latencies), flush=True)
        print(f"\nThroughput, {args.bulk} workbooks dropped at once (until the last PDF):")
        print(f"{'mode':<16} {'total s':>8} {'plans/min':>10}")
        for warm, converters in ((True, 1), (True, args.converters), (False, 1)):
            if warm and converters == 1 and args.converters == 1 and (warm, converters) != (
                    True, 1):
                continue
            total = run_bulk(base, bulk_sources, warm=warm, debounce=args.debounce,
                             converters=converters)
            label = f"warm x{converters}" if warm else "cold"
            print(f"{label:<16} {total:>8.1f} {len(bulk_sources) / total * 60:>10.0f}",
                  flush=True)


if __name__ == "__main__":
    main()
