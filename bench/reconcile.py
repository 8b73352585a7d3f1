"""Reconciler accuracy and speed on synthetic scans of a real built plan.

    .venv/bin/python bench/reconcile.py [--pages 200] [--photos 0.2] [--seed 1]

Builds one plan with LibreOffice in a temporary workspace, then reads synthetic scans of
its pages (random rotation, skew +-10 deg, 150-600 dpi, blur, noise, JPEG, bitonal,
uneven lighting; a share photographed in perspective) and prints the issue's figures.
Speed is measured separately on clean-ish 200 dpi scans (read time only, one process).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.build import build_workbooks  # noqa: E402
from pipeline.demo import synthetic_household  # noqa: E402
from pipeline.reconcile.codes import load_secret  # noqa: E402
from pipeline.reconcile.layout import PageLayout  # noqa: E402
from pipeline.reconcile.read import read_page  # noqa: E402
from pipeline.reconcile.run import thresholds_from  # noqa: E402
from pipeline.reconcile.store import find_page  # noqa: E402
from pipeline.reconcile.synth import Degrade, degrade, draw_page, random_degrade, render_page  # noqa: E402
from pipeline.registry import open_registry, page_layouts  # noqa: E402
from pipeline.workspace import init_workspace  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--photos", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config, _ = init_workspace(Path(folder) / "ws")
        demo = synthetic_household(1, steps=12, seed=args.seed)
        workbook = demo.write(config.intake_dir / f"{demo.household['reference']}.xlsx")
        [outcome] = build_workbooks(config, [workbook])
        assert outcome.pdf is not None, outcome.message
        registry = open_registry(config.registry_url)
        with registry.engine.connect() as conn:
            layouts = [PageLayout.from_json(r.layout) for r in conn.execute(
                select(page_layouts).order_by(page_layouts.c.page))]
        secret, thresholds = load_secret(config.root), thresholds_from(config)
        cache: dict[tuple[int, int], np.ndarray] = {}

        def lookup(token: str, page: int):  # noqa: ANN202
            return find_page(registry.engine, token, page)

        def scan(layout: PageLayout, d: Degrade, rng: np.random.Generator):  # noqa: ANN202
            key = (layout.page, d.dpi)
            if key not in cache:
                cache[key] = render_page(str(outcome.pdf), layout.page - 1, d.dpi)
            img, truth = draw_page(cache[key], layout, d.dpi, rng)
            return degrade(img, d, rng), truth

        rng = np.random.default_rng(args.seed)
        c = dict(pages=0, identified=0, aligned=0, sig=0, sig_ok=0, tick=0, tick_ok=0, review=0,
                 blank_boxes=0, false_marked=0, marked_boxes=0, false_blank=0)
        for n in range(args.pages):
            layout = layouts[n % len(layouts)]
            d = random_degrade(rng, photo=rng.random() < args.photos)
            image, truth = scan(layout, d, rng)
            result = read_page(image, file="bench", page_index=n, secret=secret, lookup=lookup,
                               dpi=150, thresholds=thresholds)
            c["pages"] += 1
            c["identified"] += result.household is not None  # the QR code was read
            if result.status != "matched":
                print(f"  quarantined: {d} - {result.reason}")
                continue
            c["aligned"] += 1
            for box in result.boxes:
                sig = box.kind == "signature"
                want = (truth.signatures if sig else truth.ticks)[box.key]
                positive = "signed" if sig else "ticked"
                ok = box.state != "review" and (box.state == positive) == want
                c["sig" if sig else "tick"] += 1
                c["sig_ok" if sig else "tick_ok"] += ok
                c["review"] += box.state == "review"
                c["blank_boxes"] += not want
                c["marked_boxes"] += want
                c["false_marked"] += box.state == positive and not want
                c["false_blank"] += box.state == "blank" and want
                if not ok:
                    print(f"  {box.kind} truth={'marked' if want else 'blank'} -> {box.state} "
                          f"({box.score}) dpi={d.dpi} photo={d.photo} bitonal={d.bitonal}")
        # speed: 200 dpi office scans, time spent reading only
        timing_rng = np.random.default_rng(99)
        images = [scan(layouts[n % len(layouts)], Degrade(
            dpi=200, quarter_turns=n % 4, skew_deg=float(timing_rng.uniform(-3, 3)), noise=3,
            jpeg_quality=85), timing_rng)[0] for n in range(20)]
        start = time.perf_counter()
        for image in images:
            read_page(image, file="bench", page_index=0, secret=secret, lookup=lookup, dpi=150,
                      thresholds=thresholds)
        speed = len(images) / (time.perf_counter() - start)
        registry.close()
    boxes = c["sig"] + c["tick"]
    pct = lambda a, b: f"{100 * a / max(b, 1):.2f} %"  # noqa: E731
    print(f"pages {c['pages']} ({args.photos:.0%} phone photos), boxes {boxes}")
    print(f"{'page identification rate':34} {pct(c['identified'], c['pages']):>9}   aim 100 %")
    print(f"{'pages aligned and read':34} {pct(c['aligned'], c['pages']):>9}")
    print(f"{'signature accuracy':34} {pct(c['sig_ok'], c['sig']):>9}   aim 99.5 %")
    print(f"{'tick accuracy':34} {pct(c['tick_ok'], c['tick']):>9}   aim 99.5 %")
    print(f"{'left for review':34} {pct(c['review'], boxes):>9}   aim <= 2 %")
    print(f"{'false signed/ticked on blank boxes':34} "
          f"{pct(c['false_marked'], c['blank_boxes']):>9}   aim < 0.2 %")
    print(f"{'false blank on marked boxes':34} {pct(c['false_blank'], c['marked_boxes']):>9}")
    print(f"{'pages per second (200 dpi)':34} {speed:9.1f}   aim >= 5")


if __name__ == "__main__":
    main()
