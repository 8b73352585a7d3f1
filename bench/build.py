"""Benchmark plan building on the same synthetic households, every way, in one run.

    .venv/bin/python bench/build.py --households 40 [--naive 10] [--memory-households 1000]
        [--unoserver-python PATH]

Plans per second for:
  (a) the naive baseline: per household a docxtpl render, then one `soffice --convert-to
      pdf` process per file (on the first --naive households: it is slow);
  (b) one raw `soffice --convert-to pdf` call over the same plans' DOCX files;
  (c) `supportplan build --jobs 1`;
  (d) `supportplan build` with the default jobs (one per core);
then, on the same DOCX files, the warm converters side by side: the project's bridge
(render/warm.py) and unoserver (servers started with --stop-after, driven over XML-RPC as
its client does), each with one converter per core. Also the time each stage of the build
takes (read, decide, render and stamp in worker processes, publish and record), and the
peak memory of the build with its worker processes (and of its LibreOffice processes) at
--memory-households.
Machines here are noisy: read the ratios within one run, not the absolute times.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Queue
from typing import Any

from docxtpl import DocxTemplate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.build import Builder  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.intake.files import collect_workbooks  # noqa: E402
from pipeline.intake.reader import read_workbook  # noqa: E402
from pipeline.model import Household  # noqa: E402
from pipeline.plan import assign_step_ids  # noqa: E402
from pipeline.render.context import Organisation, plan_context  # noqa: E402
from pipeline.render.convert import default_jobs  # noqa: E402
from pipeline.render.docx import render_docx  # noqa: E402
from pipeline.render.soffice import TAGGED_PDF, find_soffice  # noqa: E402
from pipeline.render.warm import WarmConverterPool, find_uno_python  # noqa: E402
from pipeline.wording.settings import LanguageSettings  # noqa: E402
from pipeline.workspace import init_workspace  # noqa: E402

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
ROOT = Path(__file__).resolve().parent.parent


def seconds(function: Callable[[], Any]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def workspace_with(folder: Path, workbooks: list[Path]) -> Config:
    config, _ = init_workspace(folder)
    for workbook in workbooks:
        shutil.copy2(workbook, config.intake_dir / workbook.name)
    return config


def render_plans(config: Config, households: list[Household], folder: Path) -> list[Path]:
    """Each household's plan DOCX, as the build renders it for conversion."""
    folder.mkdir(parents=True)
    organisation = Organisation.from_config(config)
    languages = LanguageSettings.from_config(config)
    paths = []
    for household in households:
        ids = assign_step_ids(household.reference, [], household.steps, 1)
        target = folder / f"{household.reference}.docx"
        render_docx(config.template_path, plan_context(
            household, 1, ids, organisation, languages.words_for(household.preferred_language)),
            target)
        paths.append(target)
    return paths


def copies(sources: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    return [Path(shutil.copy2(source, folder / source.name)) for source in sources]


def soffice_args(soffice: Path, profile: Path, outdir: Path, filter_: str) -> list[str]:
    return [str(soffice), f"-env:UserInstallation={profile.as_uri()}", "--headless",
            "--norestore", "--convert-to", filter_, "--outdir", str(outdir)]


def naive(config: Config, households: list[Household], soffice: Path, folder: Path) -> None:
    """(a) docxtpl, then a fresh LibreOffice for every file."""
    folder.mkdir()
    organisation = Organisation.from_config(config)
    languages = LanguageSettings.from_config(config)
    for household in households:
        ids = assign_step_ids(household.reference, [], household.steps, 1)
        document = DocxTemplate(str(config.template_path))
        document.render(plan_context(household, 1, ids, organisation, languages.words_for(
            household.preferred_language)), autoescape=True)
        target = folder / f"{household.reference}.docx"
        document.save(target)
        with tempfile.TemporaryDirectory(prefix="naive-lo-") as profile:
            subprocess.run([*soffice_args(soffice, Path(profile), folder, "pdf"), str(target)],
                           check=True, capture_output=True, timeout=600)


def raw_soffice(sources: list[Path], soffice: Path) -> None:
    """(b) one LibreOffice process converting every file."""
    with tempfile.TemporaryDirectory(prefix="raw-lo-") as profile:
        subprocess.run([*soffice_args(soffice, Path(profile), sources[0].parent,
                                      TAGGED_PDF.filter()), *map(str, sources)],
                       check=True, capture_output=True, timeout=3600)
    assert all(source.with_suffix(".pdf").is_file() for source in sources)


class Peak:
    """Peak memory of a process with its worker processes and, separately, of the
    LibreOffice processes whose command line names `folder` (sampled every 50 ms). Counted
    as proportional set size: pages the workers share with their forkserver count once."""

    def __init__(self, pid: int, folder: Path) -> None:
        self.pid, self.needle = pid, str(folder).encode()
        self.own = self.converters = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _pss(pid: str) -> int:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
        return 0

    def _sample(self) -> None:
        while not self._stop.is_set():
            parents: dict[str, str] = {}
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        parents[entry.name] = (entry / "stat").read_text().rsplit(")", 1)[
                            1].split()[1]
            family, found = {str(self.pid)}, True
            while found:
                found = False
                for pid, parent in parents.items():
                    if parent in family and pid not in family:
                        family.add(pid)
                        found = True
            own = converters = 0
            for pid in family:
                with contextlib.suppress(OSError, ValueError):
                    if self.needle in Path(f"/proc/{pid}/cmdline").read_bytes():
                        converters += self._pss(pid)
                    else:
                        own += self._pss(pid)
            self.own, self.converters = max(self.own, own), max(self.converters, converters)
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def cli_build(config: Config, jobs: int | None) -> tuple[float, Peak]:
    """`supportplan build [--jobs N]` in the workspace: seconds and peak memory."""
    args = [SUPPORTPLAN, "build"] + (["--jobs", str(jobs)] if jobs else [])
    start = time.perf_counter()
    process = subprocess.Popen(args, cwd=config.root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    peak = Peak(process.pid, config.output_dir)
    _, stderr = process.communicate()
    elapsed = time.perf_counter() - start
    peak.stop()
    failed = [line for line in stderr.splitlines() if line.startswith("FAILED")]
    if process.returncode != 0 and not failed:
        raise SystemExit(f"build failed:\n{stderr[-2000:]}")
    for line in failed:  # a plan that failed is reported, and counted in the rate
        print(f"  {line[:200]}", flush=True)
    return elapsed, peak


def stage_times(config: Config) -> tuple[float, dict[str, float]]:
    """An in-process build with its stages timed (default jobs): the main thread's, and
    stamping, which has a thread of its own."""
    spent: dict[str, float] = {}
    builder = Builder(config)

    def timing(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - start
        return timed

    for name, attribute in (("read (child processes)", "read"),
                            ("decide (registry)", "_prepare"),
                            ("render DOCX (workers, waited)", "_render_all"),
                            ("stamp, measure (threads, summed)", "_stamp"),
                            ("publish and record", "_publish"),
                            ("finish chunks (incl. waits)", "_finish_chunk")):
        setattr(builder, attribute, timing(name, getattr(builder, attribute)))
    try:
        total = seconds(lambda: builder.build(collect_workbooks([config.intake_dir])))
    finally:
        builder.close()
    finishing = spent.pop("finish chunks (incl. waits)", 0.0)
    spent["waiting for PDFs"] = finishing - spent.get("publish and record", 0.0)
    return total, spent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def unoservers(python: Path, soffice: Path, count: int, stop_after: int,
               folder: Path) -> Iterator[tuple[list[xmlrpc.client.ServerProxy], float]]:
    """`count` unoserver instances, each with its own profile and ports; yields their
    clients and the seconds they took to answer."""
    processes, proxies = [], []
    start = time.perf_counter()
    try:
        for index in range(count):
            port = free_port()
            profile = folder / f"unoserver-{index}"
            processes.append(subprocess.Popen(
                [str(python), "-m", "unoserver.server", "--port", str(port),
                 "--uno-port", str(free_port()), "--executable", str(soffice),
                 "--user-installation", str(profile), "--stop-after", str(stop_after)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
            proxies.append(xmlrpc.client.ServerProxy(f"http://127.0.0.1:{port}",
                                                     allow_none=True))
        for process, proxy in zip(processes, proxies, strict=True):
            deadline = time.monotonic() + 120
            while True:
                try:
                    proxy.info()
                    break
                except (OSError, xmlrpc.client.Fault):
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        yield proxies, time.perf_counter() - start
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()


def unoserver_convert(proxies: list[xmlrpc.client.ServerProxy], sources: list[Path]) -> None:
    """As unoserver's client calls it (inpath/outpath on this machine), the tagged-PDF
    options as its `--filter-option`s, each server converting one document at a time."""
    options = [f"{name}={str(value).lower() if isinstance(value, bool) else value}"
               for name, value in TAGGED_PDF.filter_data().items()]
    idle: Queue[xmlrpc.client.ServerProxy] = Queue()
    for proxy in proxies:
        idle.put(proxy)

    def one(source: Path) -> None:
        proxy = idle.get()
        try:
            proxy.convert(str(source), None, str(source.with_suffix(".pdf")), None,
                          "writer_pdf_Export", options, False, None, None)
        finally:
            idle.put(proxy)

    with ThreadPoolExecutor(max_workers=len(proxies)) as pool:
        list(pool.map(one, sources))
    assert all(source.with_suffix(".pdf").is_file() for source in sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=40)
    parser.add_argument("--steps", type=int, default=15, help="steps per household")
    parser.add_argument("--naive", type=int, default=10,
                        help="households for (a), the naive baseline (slow)")
    parser.add_argument("--memory-households", type=int, default=0,
                        help="also build this many households and report peak memory")
    parser.add_argument("--unoserver-python", type=Path,
                        default=ROOT / ".unoserver-venv" / "bin" / "python",
                        help="a Python with unoserver and LibreOffice's uno module "
                             "(python3 -m venv --system-site-packages DIR; DIR/bin/pip "
                             "install unoserver)")
    parser.add_argument("--keep", type=Path, help="keep the files in this folder")
    args = parser.parse_args()
    n, jobs = args.households, default_jobs()
    soffice = find_soffice()
    rates: dict[str, float] = {}
    notes: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="supportplan-bench-", dir=args.keep))
    try:
        base, _ = init_workspace(folder / "base")
        workbooks = [synthetic_household(i, steps=args.steps).write(
            base.intake_dir / f"HH-{i:05d}.xlsx") for i in range(n)]
        households = [read_workbook(w).household for w in workbooks]
        docx = render_plans(base, households, folder / "docx")

        print(f"{n} households, {args.steps} steps each, {jobs} cores", flush=True)
        count = min(args.naive, n)
        took = seconds(lambda: naive(base, households[:count], soffice, folder / "a"))
        rates[f"(a) naive: docxtpl + one soffice per file ({count})"] = count / took
        took = seconds(lambda: raw_soffice(copies(docx, folder / "b"), soffice))
        rates["(b) one raw soffice --convert-to call"] = n / took
        for label, run_jobs in (("(c) supportplan build --jobs 1", 1),
                                (f"(d) supportplan build (default: {jobs} jobs)", None)):
            config = workspace_with(folder / label[1], workbooks)
            took, peak = cli_build(config, run_jobs)
            rates[label] = n / took
            notes.append(f"{label}: peak memory {peak.own / 2**20:.0f} MiB (build, workers), "
                         f"{peak.converters / 2**20:.0f} MiB (LibreOffice)")

        uno_python = find_uno_python()
        warm_docx = copies(docx, folder / "warm")
        assert uno_python is not None, "python3-uno is needed for the warm converters"
        pool = WarmConverterPool(soffice, uno_python, size=jobs, profiles=folder / "profiles")
        try:
            started = seconds(pool.warm_up)
            took = seconds(lambda: pool.convert(warm_docx))
        finally:
            pool.close()
        rates[f"warm bridge (render/warm.py), {jobs} converters"] = n / took
        notes.append(f"warm bridge: {started:.1f} s to start {jobs} converters")
        if args.unoserver_python.is_file():
            with unoservers(args.unoserver_python, soffice, jobs, 200, folder) as (proxies,
                                                                                 ready):
                took = seconds(lambda: unoserver_convert(proxies,
                                                         copies(docx, folder / "uno")))
            rates[f"unoserver (--stop-after 200), {jobs} servers"] = n / took
            notes.append(f"unoserver: {ready:.1f} s to start {jobs} servers")
        else:
            notes.append(f"unoserver not measured: no {args.unoserver_python}")

        config = workspace_with(folder / "stages", workbooks)
        total, spent = stage_times(config)
        notes.append(f"in-process build, {jobs} jobs: {total:.1f} s; time spent in:")
        notes += [f"    {name:<28}{value:6.1f} s ({value / n * 1000:.0f} ms/plan)"
                  for name, value in spent.items()]

        if args.memory_households:
            many = args.memory_households
            config, _ = init_workspace(folder / "memory")
            for i in range(many):
                if i < n:
                    shutil.copy2(workbooks[i], config.intake_dir / workbooks[i].name)
                else:
                    synthetic_household(i, steps=args.steps).write(
                        config.intake_dir / f"HH-{i:05d}.xlsx")
            took, peak = cli_build(config, None)
            notes.append(f"{many} households, build (default jobs): {many / took:.2f} "
                         f"plans/s, peak memory {peak.own / 2**20:.0f} MiB (build, workers), "
                         f"{peak.converters / 2**20:.0f} MiB (LibreOffice)")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"{'':<58}{'plans/s':>8}")
    for label, rate in rates.items():
        print(f"{label:<58}{rate:>8.2f}")
    for note in notes:
        print(note)
    a, b, c, d = (rates[key] for key in list(rates)[:4])
    print(f"aims: (d)/(b) = {d / b:.2f} (>= 1.6), (d)/(a) = {d / a:.1f} (>= 8), "
          f"(c)/(b) = {c / b:.2f} (>= 0.85)")


if __name__ == "__main__":
    main()

