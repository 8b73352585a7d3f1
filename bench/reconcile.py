"""Reconciler accuracy and speed on synthetic scans of a real built plan, by condition.

    .venv/bin/python bench/reconcile.py [--pages-per-condition 20] [--conditions office,faint]
        [--jobs N] [--seed 1] [--speed-pages 24] [--verbose] [--save DIR]

Builds one plan with LibreOffice in a temporary workspace, then for each named condition of
pipeline/reconcile/synth (office, faint, initials, scribbled, coffee, stamp, bitonal,
photocopy2, drum, fit94, staple, overrun, photo) makes N scans of its pages with their
truth and reads them with the reconciler, one process per core. Speed is measured on the
same 200 dpi office scans with one process and with --jobs processes (read time only;
OpenCV limited to one thread per process). `--save DIR` keeps every page that went wrong
(PNG + truth JSON). Exceptions from the reader are counted as crashes, never stop the run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.build import build_workbooks  # noqa: E402
from pipeline.config import load_config  # noqa: E402
from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.pagecodes import load_secret  # noqa: E402 - reconciler interface
from pipeline.reconcile.read import PageReader  # noqa: E402 - reconciler interface
from pipeline.reconcile.run import read_settings  # noqa: E402 - reconciler interface
from pipeline.reconcile.synth import (  # noqa: E402
    BLANK,
    CONDITIONS,
    CROSSED,
    MARKED,
    Originals,
    PageLayout,
    Truth,
    found,
    make_scan,
)
from pipeline.registry import page_layouts, registry_for  # noqa: E402 - reconciler interface
from pipeline.workspace import init_workspace  # noqa: E402

# --- the reconciler's interface: the only code that knows how to call it ------------------


@dataclass
class Context:
    reader: Any
    registry: Any


def open_context(config_path: str) -> Context:
    """One reader with its own registry connection (one per worker process)."""
    config = load_config(Path(config_path))
    registry = registry_for(config)
    reader = PageReader(load_secret(config.root), registry.find_page, read_settings(config))
    return Context(reader, registry)


def read(image: np.ndarray, context: Context):  # noqa: ANN201 - a PageResult
    """Read one page. Only `status`, `household`, `boxes` (kind, key, state, score) and
    `marks` (bbox, kind) of the result are used."""
    return context.reader.read(image, file="bench", page_index=0).result


def plan_layouts(config_path: str) -> list[PageLayout]:
    registry = registry_for(load_config(Path(config_path)))
    try:
        with registry.engine.connect() as conn:
            rows = conn.execute(select(page_layouts).order_by(page_layouts.c.page)).all()
        return [PageLayout.from_json(row.layout) for row in rows]
    finally:
        registry.close()

# -------------------------------------------------------------------------------------------


POSITIVE = {"signature": "signed", "tick": "ticked"}
_state: dict[str, Any] = {}  # per worker process: context, originals, layouts, speed images


def _init_worker(config_path: str, pdf: str, layouts: list[dict], speed_file: str | None,
                 barrier: Any) -> None:
    cv2.setNumThreads(1)  # one process per core, each single-threaded
    _state["context"] = open_context(config_path)
    _state["originals"] = Originals(pdf, keep=16)
    _state["layouts"] = [PageLayout.from_json(layout) for layout in layouts]
    if speed_file:
        _state["speed"] = list(np.load(speed_file))
        # warm up: the first read renders the original, loads the decoders...
        with contextlib.suppress(Exception):  # (failures are counted when timed)
            read(_state["speed"][0], _state["context"])
    if barrier is not None:
        barrier.wait()


def _speed_task(index: int) -> bool:
    try:
        read(_state["speed"][index], _state["context"])
        return True
    except Exception:  # noqa: BLE001
        return False


def _page_task(task: tuple[str, int, int, str | None]) -> dict[str, Any]:
    """Make one page, read it, compare with the truth."""
    condition, index, seed, save = task
    layouts = _state["layouts"]
    layout = layouts[index % len(layouts)]
    out: dict[str, Any] = {"condition": condition, "index": index, "seed": seed,
                           "page": layout.page, "crash": None, "generator_error": None}
    try:
        image, truth = make_scan(condition, _state["originals"], layout, seed)
    except Exception:  # noqa: BLE001 - a bug in the generator, not the reader
        out["generator_error"] = traceback.format_exc(limit=3)
        return out
    out["dpi"] = truth.dpi
    start = time.perf_counter()
    try:
        result = read(image, _state["context"])
    except Exception as exc:  # noqa: BLE001
        out["seconds"] = time.perf_counter() - start
        out["crash"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=6)
        _keep(save, out, image, truth)
        return out
    out["seconds"] = time.perf_counter() - start
    try:
        out.update(_compare(result, truth))
    except Exception as exc:  # noqa: BLE001 - e.g. a box the layout does not have
        out["crash"] = f"result not understood: {type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc(limit=6)
        _keep(save, out, image, truth)
        return out
    if out["problems"]:
        _keep(save, out, image, truth)
    return out


def _compare(result: Any, truth: Truth) -> dict[str, Any]:
    matched = str(result.status) == "matched"
    out: dict[str, Any] = {"identified": result.household is not None, "matched": matched,
                           "reason": getattr(result, "reason", ""), "boxes": [],
                           "real_marks": len(truth.marks), "found_marks": 0,
                           "false_marks": [], "problems": [], "notes": truth.notes}
    if not matched:
        out["problems"].append(f"not matched: {out['reason']}")
        return out
    for box in result.boxes:
        want = truth.boxes[box.key]
        kind, state = str(box.kind), str(box.state)
        out["boxes"].append((kind, box.key, want.category, want.ink_visible, state,
                             float(box.score)))
        positive = state == POSITIVE[kind]
        wrong = ((want.category != MARKED and positive)
                 or (want.category == MARKED and want.ink_visible and state == "blank")
                 or (want.category == BLANK and state == "review"))
        if wrong:
            kept = (f" (ink kept {want.ink_kept:.0%})" if want.category == MARKED
                    and want.ink_kept < 1 else "")
            out["problems"].append(f"{kind} {box.key}: truth {want.category}{kept} -> "
                                   f"{state} ({box.score:.2f})")
    marks = [tuple(m.bbox) for m in result.changes]
    for real in truth.marks:
        if any(found(real.bbox, m) for m in marks):
            out["found_marks"] += 1
        else:
            out["problems"].append(f"missed {real.kind} at {_mm(real.bbox)}")
    for mark in result.changes:
        if not any(found(real.bbox, mark.bbox) for real in truth.marks):
            cause = next((n.kind for n in truth.noise if found(n.bbox, mark.bbox)), "other")
            out["false_marks"].append(cause)
            out["problems"].append(f"false {mark.kind} at {_mm(mark.bbox)} ({cause})")
    return out


def _mm(bbox: Any) -> str:
    return "(" + ", ".join(f"{v:.0f}" for v in bbox) + ") mm"


def _keep(folder: str | None, out: dict[str, Any], image: np.ndarray, truth: Truth) -> None:
    if not folder:
        return
    name = Path(folder) / f"{out['condition']}-{out['index']:03d}"
    cv2.imwrite(f"{name}.png", image)
    with open(f"{name}.json", "w", encoding="utf-8") as handle:
        json.dump({"outcome": {k: v for k, v in out.items() if k != "boxes"},
                   "truth": asdict(truth)}, handle, indent=1, default=str)


def build_plan(folder: Path, seed: int) -> tuple[str, str, list[PageLayout]]:
    config, _ = init_workspace(folder / "ws")
    demo = synthetic_household(1, steps=12, seed=seed)
    workbook = demo.write(config.intake_dir / f"{demo.household['reference']}.xlsx")
    [outcome] = build_workbooks(config, [workbook])
    assert outcome.pdf is not None, outcome.message
    config_path = str(config.source or config.root / "config.toml")
    return config_path, str(outcome.pdf), plan_layouts(config_path)


def speed(ctx: Any, jobs: int, args: tuple, pages: int, timeout: float) -> float:
    """Pages per second reading the speed images with `jobs` warmed-up processes (0 when
    any page raised or the workers did not answer)."""
    barrier = ctx.Barrier(jobs + 1)
    ok = 0
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(*args, barrier)) as pool:
        try:
            barrier.wait(timeout=timeout)
            start = time.perf_counter()
            results = pool.imap_unordered(_speed_task, range(pages), chunksize=1)
            for _ in range(pages):
                ok += results.next(timeout=timeout)
            seconds = time.perf_counter() - start
        except (mp.TimeoutError, threading.BrokenBarrierError):
            pool.terminate()
    if ok < pages:  # a figure for pages that were not read would mean nothing
        print(f"  ({pages - ok} of {pages} speed pages with {jobs} process(es) raised an "
              "exception or got no answer: speed not measured)")
        return 0.0
    return pages / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages-per-condition", type=int, default=20)
    parser.add_argument("--conditions", default=",".join(CONDITIONS),
                        help=f"comma-separated, from: {', '.join(CONDITIONS)}")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed-pages", type=int, default=24)
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds to wait for any one page before giving up on the rest")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every error")
    parser.add_argument("--save", metavar="DIR", help="keep pages that went wrong here")
    args = parser.parse_args()
    conditions = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        parser.error(f"unknown condition(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(CONDITIONS)}")
    if args.save:
        Path(args.save).mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        config_path, pdf, layouts = build_plan(Path(folder), args.seed)
        layouts_json = [layout.to_json() for layout in layouts]
        print(f"plan built: {len(layouts)} pages, "
              f"{sum(len(layout.boxes) for layout in layouts)} boxes; "
              f"{args.pages_per_condition} pages per condition, {args.jobs} processes")
        tasks = [(c, i, args.seed * 1_000_003 + i, args.save) for c in conditions
                 for i in range(args.pages_per_condition)]
        outcomes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        with ctx.Pool(args.jobs, initializer=_init_worker,
                      initargs=(config_path, pdf, layouts_json, None, None)) as pool:
            results = pool.imap_unordered(_page_task, tasks, chunksize=1)
            for _ in tasks:
                try:
                    out = results.next(timeout=args.timeout)
                except mp.TimeoutError:  # a worker died or hangs: count what is missing
                    _lost(tasks, outcomes, args.timeout)
                    pool.terminate()
                    break
                outcomes[out["condition"]].append(out)
                _report_page(out, args.verbose)
        # speed: the same 200 dpi office scans, one process, then --jobs processes
        originals = Originals(pdf)
        images = np.stack(_pad([make_scan("office", originals, layouts[n % len(layouts)],
                                          10_000 + n, dpi=200)[0]
                                for n in range(args.speed_pages)]))
        speed_file = str(Path(folder) / "speed.npy")
        np.save(speed_file, images)
        common = (config_path, pdf, layouts_json, speed_file)
        one = speed(ctx, 1, common, args.speed_pages, args.timeout)
        many = speed(ctx, args.jobs, common, args.speed_pages, args.timeout)
    total = _print_table(conditions, outcomes)
    _print_aims(total, one, many, args.jobs)
    print(f"(bench ran {time.perf_counter() - started:.0f} s)")


def _lost(tasks: list[tuple], outcomes: dict[str, list[dict[str, Any]]],
          timeout: float) -> None:
    done = {(o["condition"], o["index"]) for outs in outcomes.values() for o in outs}
    for condition, index, seed, _save in tasks:
        if (condition, index) not in done:
            out = {"condition": condition, "index": index, "seed": seed, "page": "?",
                   "generator_error": None,
                   "crash": f"no result within {timeout:.0f} s (the worker died or hangs)"}
            outcomes[condition].append(out)
            _report_page(out, verbose=False)


def _pad(images: list[np.ndarray]) -> list[np.ndarray]:
    """Same-sized arrays to stack (skew makes sizes differ): pad with paper."""
    h = max(i.shape[0] for i in images)
    w = max(i.shape[1] for i in images)
    return [np.pad(i, ((0, h - i.shape[0]), (0, w - i.shape[1])), constant_values=int(
        np.median(i[:20]))) for i in images]


def _report_page(out: dict[str, Any], verbose: bool) -> None:
    where = f"{out['condition']} #{out['index']} (seed {out['seed']}, page {out['page']}"
    where += f", {out.get('dpi', '?')} dpi)"
    if out["generator_error"]:
        print(f"  GENERATOR ERROR {where}:\n{out['generator_error']}")
    elif out["crash"]:
        print(f"  CRASH {where}: {out['crash']}")
        if verbose:
            print(out.get("traceback", ""))
    elif verbose:
        for problem in out["problems"]:
            print(f"  {where}: {problem}")


def _count(outs: list[dict[str, Any]]) -> Counter:
    c: Counter = Counter()
    for out in outs:
        c["pages"] += 1
        c["generator_errors"] += bool(out["generator_error"])
        c["crashes"] += bool(out["crash"])
        if out["generator_error"] or out["crash"]:
            continue
        c["seconds"] += out["seconds"]
        c["read"] += 1
        c["identified"] += out["identified"]
        c["matched"] += out["matched"]
        c["real_marks"] += out["real_marks"]
        if not out["matched"]:
            continue
        c["found_marks"] += out["found_marks"]
        c["false_marks"] += len(out["false_marks"])
        for cause in out["false_marks"]:
            c[f"cause:{cause}"] += 1
        for kind, _key, category, visible, state, _score in out["boxes"]:
            positive = state == POSITIVE[kind]
            c["boxes"] += 1
            c["review"] += state == "review"
            c["non_marked"] += category != MARKED
            c["false_positive"] += category != MARKED and positive
            c["false_positive_blank"] += category == BLANK and positive
            if category == MARKED:
                c["marked_visible"] += visible
                c["false_blank"] += visible and state == "blank"
                c["erased"] += not visible
                c["erased_called_blank"] += (not visible) and state == "blank"
            if category == CROSSED:
                c["crossed"] += 1
                c["crossed_review"] += state == "review"
                c["crossed_positive"] += positive
            else:
                c["not_crossed"] += 1
                c["review_not_crossed"] += state == "review"
    return c


def _pct(a: float, b: float) -> str:
    return f"{100 * a / b:.1f}%" if b else "-"


def _print_table(conditions: list[str], outcomes: dict[str, list[dict[str, Any]]]) -> Counter:
    """One row per condition and a TOTAL row; returns the totals."""
    head = (f"{'condition':11} {'pages':>5} {'ident':>5} {'match':>5} {'crash':>5} "
            f"{'false+/non-marked':>17} {'f.blank/visible':>15} {'erased':>6} {'review':>7} "
            f"{'crossed rev/+/n':>15} {'marks':>7} {'false mk/pg':>11} {'s/page':>6}")
    print()
    print(head)
    print("-" * len(head))
    total: Counter = Counter()
    for condition in conditions + ["TOTAL"]:
        c = total if condition == "TOTAL" else _count(outcomes[condition])
        if condition == "TOTAL":
            print("-" * len(head))
        else:
            total.update(c)
        crossed = (f"{c['crossed_review']}/{c['crossed_positive']}/{c['crossed']}"
                   if c["crossed"] else "-")
        per_page = c["false_marks"] / c["matched"] if c["matched"] else 0.0
        print(f"{condition:11} {c['pages']:5} {c['identified']:5} {c['matched']:5} "
              f"{c['crashes']:5} {c['false_positive']:>8}/{c['non_marked']:<8} "
              f"{c['false_blank']:>7}/{c['marked_visible']:<7} {c['erased']:6} "
              f"{_pct(c['review'], c['boxes']):>7} {crossed:>15} "
              f"{c['found_marks']:>3}/{c['real_marks']:<3} {per_page:11.2f} "
              f"{c['seconds'] / max(c['read'], 1):6.2f}")
        causes = {k[6:]: v for k, v in c.items() if k.startswith("cause:") and v}
        reasons = Counter(o["reason"].split(";")[0][:70] for o in outcomes.get(condition, [])
                          if not o["generator_error"] and not o["crash"] and not o["matched"])
        if condition != "TOTAL" and (causes or reasons or c["generator_errors"]):
            extra = []
            if causes:
                extra.append("false marks on " + ", ".join(
                    f"{k} {v}" for k, v in sorted(causes.items(), key=lambda kv: -kv[1])))
            extra += [f"not matched x{n}: {r}" for r, n in reasons.items()]
            if c["generator_errors"]:
                extra.append(f"{c['generator_errors']} generator errors")
            for line in extra:
                print(f"{'':13}{line}")
    return total


def _print_aims(c: Counter, one: float, many: float, jobs: int) -> None:
    rows = [
        ("crashes", f"{c['crashes']}", "0", c["crashes"] == 0),
        ("false signed/ticked (blank or crossed)", f"{c['false_positive']}", "0",
         c["false_positive"] == 0),
        ("false blank, marked with visible ink", _pct(c["false_blank"], c["marked_visible"]),
         "<= 0.5%", c["false_blank"] <= 0.005 * c["marked_visible"]),
        ("review, boxes not crossed out", _pct(c["review_not_crossed"], c["not_crossed"]),
         "<= 3%", c["review_not_crossed"] <= 0.03 * c["not_crossed"]),
        ("pages identified", _pct(c["identified"], c["read"]), "", None),
        ("pages matched (aligned and read)", _pct(c["matched"], c["read"]), "", None),
        ("real marks found", _pct(c["found_marks"], c["real_marks"]), "", None),
        ("pages/s at 200 dpi, 1 process", f"{one:.1f}", "", None),
        (f"pages/s at 200 dpi, {jobs} processes", f"{many:.1f}", ">= 10", many >= 10),
    ]
    print()
    print("aims")
    for name, value, aim, ok in rows:
        verdict = "" if ok is None else ("ok" if ok else "FAIL")
        print(f"  {name:40} {value:>8}   {('aim ' + aim) if aim else '':12} {verdict}")
    if c["generator_errors"]:
        print(f"  ({c['generator_errors']} pages could not be generated: a synth bug)")


if __name__ == "__main__":
    main()
