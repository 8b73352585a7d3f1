"""Benchmark plan building on synthetic households, against a naive baseline, in one run.

    .venv/bin/python bench/build.py --households 20

Prints seconds per plan for each stage of the pipeline (read workbook, render DOCX, convert
to PDF in batches, end to end through `build_workbooks`) and, side by side, the naive way:
per household a docxtpl render then one `soffice --convert-to pdf` process per file.
Machines here are noisy: read the ratio, not the absolute times.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from docxtpl import DocxTemplate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.build import build_workbooks  # noqa: E402
from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.intake.reader import read_workbook  # noqa: E402
from pipeline.plan import assign_step_ids  # noqa: E402
from pipeline.render.docx import Organisation, plan_context, render_docx  # noqa: E402
from pipeline.render.soffice import convert_many, find_soffice  # noqa: E402
from pipeline.workspace import init_workspace  # noqa: E402


def timed(label: str, results: dict[str, float], function, *args, **kwargs):
    start = time.perf_counter()
    value = function(*args, **kwargs)
    results[label] = time.perf_counter() - start
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=20)
    parser.add_argument("--steps", type=int, default=15, help="steps per household")
    args = parser.parse_args()
    n = args.households
    soffice = find_soffice()
    with tempfile.TemporaryDirectory(prefix="supportplan-bench-") as folder:
        root = Path(folder)
        config, _ = init_workspace(root / "ws")
        workbooks = [synthetic_household(i, steps=args.steps).write(
            config.intake_dir / f"HH-{i:05d}.xlsx") for i in range(n)]
        organisation = Organisation(config.organisation_name)
        stages: dict[str, float] = {}

        households = timed("read", stages, lambda: [read_workbook(w).household
                                                   for w in workbooks])
        staging = root / "staging"
        staging.mkdir()

        def render_all() -> list[Path]:
            paths = []
            for household in households:
                ids = assign_step_ids(household.reference, [], household.steps, 1)
                target = staging / f"{household.reference}.docx"
                render_docx(config.template_path,
                            plan_context(household, 1, ids, organisation), target)
                paths.append(target)
            return paths

        docx_files = timed("render DOCX", stages, render_all)
        workers = int(config.get("pdf", "workers"))
        timed("convert PDF (batched)", stages, convert_many, docx_files, soffice=soffice,
              timeout=600, workers=workers, batch_size=int(config.get("pdf", "batch_size")))
        outcomes = timed("end to end (build_workbooks)", stages, build_workbooks, config,
                         [config.intake_dir])
        assert all(o.status == "built" for o in outcomes), [o.message for o in outcomes]

        naive_dir = root / "naive"
        naive_dir.mkdir()

        def naive() -> None:
            for household in households:
                ids = assign_step_ids(household.reference, [], household.steps, 1)
                document = DocxTemplate(str(config.template_path))
                document.render(plan_context(household, 1, ids, organisation), autoescape=True)
                target = naive_dir / f"{household.reference}.docx"
                document.save(target)
                profile = Path(tempfile.mkdtemp(prefix="naive-lo-"))
                subprocess.run([str(soffice), f"-env:UserInstallation={profile.as_uri()}",
                                "--headless", "--convert-to", "pdf", "--outdir",
                                str(naive_dir), str(target)], check=True,
                               capture_output=True, timeout=600)
                shutil.rmtree(profile, ignore_errors=True)

        naive_stages: dict[str, float] = {}
        timed("naive end to end", naive_stages, naive)

    print(f"{n} households, {args.steps} steps each, {workers} LibreOffice workers")
    print(f"{'stage':<32}{'s total':>10}{'s / plan':>10}")
    for label, seconds in {**stages, **naive_stages}.items():
        print(f"{label:<32}{seconds:>10.2f}{seconds / n:>10.3f}")
    ratio = naive_stages["naive end to end"] / stages["end to end (build_workbooks)"]
    print(f"naive / pipeline end to end: {ratio:.1f}x")


if __name__ == "__main__":
    main()
