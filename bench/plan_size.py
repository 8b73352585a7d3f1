"""How big a plan can LibreOffice convert in reasonable time? Measures `supportplan build`
(the real command, cold LibreOffice, stamping included) on plans of growing size.

    .venv/bin/python bench/plan_size.py                      # the default grid
    .venv/bin/python bench/plan_size.py --steps 100 400 --chars 200 2000

For each number of steps and characters per "We will"/"You will" cell, a fresh workspace
gets one workbook; the plan-size limits in its config.toml are lifted (so plans larger
than the limit can be measured), and the time of `supportplan build` is printed with the
plan's total text and page count. The defaults of [plan] max_steps and max_plan_characters
(pipeline/config.py) were chosen from this table.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.workspace import init_workspace  # noqa: E402

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
WORDS = ["housing", "benefit", "referral", "appointment", "interpreter", "council",
         "landlord", "payslips", "college", "volunteering", "doctor", "budget", "tenancy",
         "letter", "phone"]


def text_of(length: int, seed: int) -> str:
    words, total, index = [], 0, seed
    while total < length:
        word = WORDS[index % len(WORDS)]
        words.append(word)
        total += len(word) + 1
        index += 7
    return " ".join(words)[:length]


def lift_limits(config: Path) -> None:
    """Raise the plan-size limits far beyond the grid, so every size is measured."""
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^max_steps = .*$", "max_steps = 100000", text)
    text = re.sub(r"(?m)^max_plan_characters = .*$", "max_plan_characters = 100000000", text)
    config.write_text(text, encoding="utf-8")


def measure(steps: int, chars: int, timeout: float,
            one_goal: bool) -> tuple[float, int, int, str]:
    with tempfile.TemporaryDirectory() as folder:
        config, _ = init_workspace(Path(folder) / "ws")
        demo = synthetic_household(1, steps=steps, seed=3)
        for index, step in enumerate(demo.steps):
            if one_goal and index:  # every step under the first goal: one long table
                step.update(area=None, goal=None, strengths=None)
            step["we_will"] = text_of(chars, index)
            step["you_will"] = text_of(chars, index + 1)
        demo.write(config.intake_dir / "HH-00001.xlsx")
        total = sum(len(s["we_will"]) + len(s["you_will"]) + len(s.get("goal") or "")
                    + len(s.get("strengths") or "") for s in demo.steps)
        started = time.perf_counter()
        lift_limits(config.source)
        # This checkout's package, also when the console script belongs to another one.
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        run = subprocess.run([SUPPORTPLAN, "--config", str(config.source), "build"],
                             capture_output=True, text=True, timeout=timeout, env=env)
        elapsed = time.perf_counter() - started
        pdfs = list(config.output_dir.rglob("support-plan-*.pdf"))
        pages = 0
        if pdfs:
            from pypdf import PdfReader

            pages = len(PdfReader(pdfs[0]).pages)
        status = "built" if run.returncode == 0 else run.stderr.strip().splitlines()[-1][:80]
        return elapsed, total, pages, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200, 400, 800])
    parser.add_argument("--chars", type=int, nargs="+", default=[200, 1000, 2000])
    parser.add_argument("--timeout", type=float, default=400)
    parser.add_argument("--one-goal", action="store_true",
                        help="put every step under one goal (one table across all pages)")
    args = parser.parse_args()
    print(f"{'steps':>6} {'chars/cell':>10} {'total text':>10} {'pages':>6} {'seconds':>8}  "
          "result", flush=True)
    for chars in args.chars:
        for steps in args.steps:
            try:
                elapsed, total, pages, status = measure(steps, chars, args.timeout, args.one_goal)
            except subprocess.TimeoutExpired:
                print(f"{steps:>6} {chars:>10} {'':>10} {'':>6} {'>' + str(args.timeout):>8}  "
                      "timed out", flush=True)
                break
            print(f"{steps:>6} {chars:>10} {total:>10} {pages:>6} {elapsed:>8.1f}  {status}",
                  flush=True)


if __name__ == "__main__":
    main()
