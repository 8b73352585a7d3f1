"""Benchmark the overdue report: N households x 30 steps in a real SQLite registry.

    .venv/bin/python bench/report.py                 # 1,000 and 10,000 households, side by side
    .venv/bin/python bench/report.py --sizes 2000    # one size

For each size the registry is filled with SQLAlchemy bulk inserts (not timed), then a fresh
Python process loads the facts, evaluates the rules, writes the xlsx and the PDF digest,
and reports the seconds per stage and its peak memory (ru_maxrss: the whole process, the
figure that matters on a shared machine). Aim at 10,000 households: under 30 s, under 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))  # xlsxwriter_report, the writer compared

AS_OF = date(2025, 6, 1)
STEPS_PER_HOUSEHOLD = 30
STATUSES = ("Not started", "In progress", "Done", "No longer needed")
# The workbook writers compared on the same data (--writers picks some).
WRITERS = {"splice": "pipeline.report.xlsx", "xlsxwriter": "xlsxwriter_report"}


def fill_registry(url: str, households: int, seed: int = 5) -> None:
    from pipeline import registry as r

    rng = random.Random(seed)
    reg = r.open_registry(url)
    stamp = datetime(2025, 1, 1, tzinfo=UTC)
    teams = [f"Team {i}" for i in range(12)]
    caseworkers = [f"Caseworker {i}" for i in range(120)]
    version_id = 0
    with reg.engine.begin() as conn:
        for start in range(0, households, 1000):
            rows_h, rows_v, rows_s, rows_vs, rows_sig, rows_signed, rows_tick = ([] for _ in
                                                                                  range(7))
            for n in range(start, min(start + 1000, households)):
                ref = f"HH-{n:05d}"
                plan_date = date(2024, 12, 1) + timedelta(days=rng.randrange(150))
                rows_h.append({
                    "reference": ref, "caseworker": rng.choice(caseworkers),
                    "caseworker_email": "cw@example.org", "team": rng.choice(teams),
                    "peer_reviewer": "" if rng.random() < 0.05 else "Peer",
                    "plan_date": plan_date, "review_date": plan_date + timedelta(days=91),
                    "closed_on": date(2025, 5, 1) if rng.random() < 0.03 else None,
                    "last_weekly_review": AS_OF - timedelta(days=rng.randrange(20)),
                    "updated_at": stamp})
                versions = []
                for number in range(1, rng.choice((1, 2)) + 1):
                    version_id += 1
                    issued = plan_date + timedelta(days=30 * (number - 1))
                    versions.append(version_id)
                    rows_v.append({
                        "id": version_id, "household": ref, "version": number,
                        "content_hash": "0" * 64, "content": {}, "plan_date": plan_date,
                        "review_date": plan_date + timedelta(days=91 * number),
                        "docx_path": f"/out/{ref}/support-plan-{ref}-v{number}.docx",
                        "pdf_path": f"/out/{ref}/support-plan-{ref}-v{number}.pdf",
                        "issued_at": datetime.combine(issued, datetime.min.time(), UTC)})
                    for position, key in enumerate(("caseworker", "member-1", "member-2",
                                                    "peer-reviewer")):
                        rows_sig.append({"version_id": version_id, "signer_key": key,
                                         "name": f"Signer {position}", "role": "Parent",
                                         "position": position})
                        if rng.random() < 0.8:
                            rows_signed.append({
                                "version_id": version_id, "kind": "signature", "key": key,
                                "scan_sha256": "a" * 64, "page": 3, "state": "signed",
                                "score": 0.9, "reason": "", "recorded_at": stamp})
                for k in range(STEPS_PER_HOUSEHOLD):
                    step_id = f"{ref}-s{k + 1}"
                    status = rng.choice(STATUSES)
                    by_when = plan_date + timedelta(days=rng.randrange(10, 200))
                    rows_s.append({
                        "step_id": step_id, "household": ref, "area": "Housing",
                        "goal": "A home with room for the children",
                        "we_will": "Refer to the housing register" if k % 2 else "",
                        "you_will": "Bid every week on the housing portal",
                        "who": "Whole household", "by_when": by_when, "status": status,
                        "done_on": by_when if status == "Done" else None, "active": True,
                        "content": {}, "updated_at": stamp})
                    for position_version in versions:
                        rows_vs.append({"version_id": position_version, "step_id": step_id,
                                        "position": k})
                    if rng.random() < 0.1:
                        rows_tick.append({
                            "version_id": versions[-1], "kind": "tick", "key": step_id,
                            "scan_sha256": "a" * 64, "page": 1, "state": "ticked",
                            "score": 0.9, "reason": "", "recorded_at": stamp})
            for table, rows in ((r.households, rows_h), (r.plan_versions, rows_v),
                                (r.steps, rows_s), (r.version_steps, rows_vs),
                                (r.version_signers, rows_sig), (r.box_readings, rows_signed),
                                (r.box_readings, rows_tick)):
                if rows:
                    conn.execute(table.insert(), rows)
    reg.close()


def measure(url: str, folder: Path, writer: str) -> dict[str, float]:
    """Run in a fresh process so peak memory is the report's alone."""
    import importlib

    from pipeline.overdue import RuleSettings, evaluate
    from pipeline.registry import open_registry
    from pipeline.report.pdf import write_digest_pdf

    write_report_xlsx = importlib.import_module(WRITERS[writer]).write_report_xlsx

    figures: dict[str, float] = {}
    reg = open_registry(url)
    begin = time.perf_counter()
    facts = reg.load_facts()
    figures["load_s"] = time.perf_counter() - begin
    reg.close()
    begin = time.perf_counter()
    findings = evaluate(facts, AS_OF, RuleSettings())
    figures["rules_s"] = time.perf_counter() - begin
    begin = time.perf_counter()
    xlsx = write_report_xlsx(folder / f"overdue-{writer}.xlsx", findings, AS_OF,
                             RuleSettings())
    figures["xlsx_s"] = time.perf_counter() - begin
    begin = time.perf_counter()
    write_digest_pdf(folder / f"overdue-{writer}.pdf", findings, AS_OF, RuleSettings())
    figures["pdf_s"] = time.perf_counter() - begin
    figures["total_s"] = sum(figures.values())
    figures["findings"] = len(findings)
    figures["xlsx_mb"] = xlsx.stat().st_size / 2**20
    figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def compare_writers(url: str, folder: Path, writers: list[str], rounds: int
                    ) -> dict[str, list[float]]:
    """The workbook writers on the same findings in one process, taking turns, so a busy
    machine slows each alike: seconds per round, per writer."""
    import importlib

    from pipeline.overdue import RuleSettings, evaluate
    from pipeline.registry import open_registry

    reg = open_registry(url)
    findings = evaluate(reg.load_facts(), AS_OF, RuleSettings())
    reg.close()
    write = {w: importlib.import_module(WRITERS[w]).write_report_xlsx for w in writers}
    times: dict[str, list[float]] = {w: [] for w in writers}
    for round_number in range(rounds):
        for writer in writers:
            begin = time.perf_counter()
            write[writer](folder / f"compare-{writer}-{round_number}.xlsx", findings, AS_OF,
                          RuleSettings())
            times[writer].append(time.perf_counter() - begin)
    return times


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--writers", nargs="+", default=[w for w in WRITERS
                                                             if _importable(WRITERS[w])],
                        choices=list(WRITERS))
    parser.add_argument("--rounds", type=int, default=2,
                        help="turns each writer takes on the same findings (0: none)")
    parser.add_argument("--measure", nargs=3, metavar=("URL", "FOLDER", "WRITER"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--compare", nargs=2, metavar=("URL", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]), args.measure[2])))
        return
    if args.compare:
        print(json.dumps(compare_writers(args.compare[0], Path(args.compare[1]), args.writers,
                                         args.rounds)))
        return
    results = {}
    turns: dict[int, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            url = f"sqlite:///{folder / 'registry.sqlite'}"
            begin = time.perf_counter()
            fill_registry(url, size)
            print(f"{size:>6} households x {STEPS_PER_HOUSEHOLD} steps: registry filled in "
                  f"{time.perf_counter() - begin:.1f} s (not part of the figures)",
                  file=sys.stderr)
            for writer in args.writers:
                out = subprocess.run([sys.executable, __file__, "--measure", url, str(folder),
                                      writer], check=True, capture_output=True,
                                     text=True).stdout
                results[(size, writer)] = json.loads(out)
            if args.rounds and len(args.writers) > 1:
                out = subprocess.run([sys.executable, __file__, "--compare", url, str(folder),
                                      "--rounds", str(args.rounds), "--writers",
                                      *args.writers], check=True, capture_output=True,
                                     text=True).stdout
                turns[size] = json.loads(out)
    columns = ("findings", "load_s", "rules_s", "xlsx_s", "pdf_s", "total_s", "peak_mib",
               "xlsx_mb")
    print(f"{'households':>10} {'writer':>10} " + " ".join(f"{c:>9}" for c in columns))
    for (size, writer), figures in results.items():
        print(f"{size:>10} {writer:>10} " + " ".join(
            f"{figures[c]:>9.0f}" if c == "findings" else f"{figures[c]:>9.2f}"
            for c in columns))
    for size, times in turns.items():
        print(f"{size:>10} households, workbook writers taking turns on the same findings: "
              + "; ".join(f"{w} " + ", ".join(f"{t:.1f}" for t in ts) + " s"
                          for w, ts in times.items()))
    print(f"aim at 10,000 households: total under 30 s, peak under 1024 MiB (as of {AS_OF})")


if __name__ == "__main__":
    main()
