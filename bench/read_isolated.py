"""What reading each workbook in a child process costs (pipeline/intake/isolate.py).

    .venv/bin/python bench/read_isolated.py --households 60

Prints, per workbook, the in-process read time and the time through IsolatedReader with one
and two children, and the one-off start-up (forkserver + first child) a batch or a watcher
run pays once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.intake.isolate import IsolatedReader  # noqa: E402
from pipeline.intake.options import ReadOptions  # noqa: E402
from pipeline.intake.reader import read_workbook  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=60)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        paths = [synthetic_household(n, steps=args.steps).write(
            Path(folder) / f"HH-{n:05d}.xlsx") for n in range(args.households)]
        direct = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            assert all(read_workbook(p).ok for p in paths)
            direct.append((time.perf_counter() - started) / len(paths))
        print(f"in-process:          {statistics.median(direct) * 1000:6.1f} ms per workbook")
        for workers in (1, 2):
            started = time.perf_counter()
            reader = IsolatedReader(ReadOptions.defaults(), workers=workers)
            reader.read_many(paths[:workers])
            startup = time.perf_counter() - started
            times = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                assert all(r.ok for r in reader.read_many(paths))
                times.append((time.perf_counter() - started) / len(paths))
            reader.close()
            per = statistics.median(times)
            print(f"isolated, {workers} child(ren): {per * 1000:6.1f} ms per workbook "
                  f"({(per - statistics.median(direct)) * 1000:+.1f} ms), start-up "
                  f"{startup * 1000:.0f} ms once")


if __name__ == "__main__":
    main()
