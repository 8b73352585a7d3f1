"""The synthetic scan generator's named conditions, on a real plan built by LibreOffice:
plausible images, truth that matches the layout, every category of box, 1-bit scans."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from conftest import PLAN_DATE, edited, valid_household, write_household
from sqlalchemy import select

from pipeline.build import build_workbooks
from pipeline.printed import PageLayout
from pipeline.reconcile.synth import (
    BLANK,
    CONDITIONS,
    CROSSED,
    MARKED,
    Originals,
    make_scan,
)
from pipeline.reconcile.synth.conditions import VISIBLE_SHARE
from pipeline.registry import page_layouts, registry_for
from pipeline.workspace import init_workspace

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Originals, list[PageLayout]]:
    config, _ = init_workspace(tmp_path_factory.mktemp("synth") / "ws")
    demo = edited(valid_household("HH-0001"))
    for n in range(5):  # onto a second page: tick boxes on one, signatures on the last
        demo.steps.append({"we_will": f"Check in about task {n}", "you_will": f"Do task {n}",
                           "who": "Yusuf Hassan", "by_when": PLAN_DATE + timedelta(days=n)})
    [outcome] = build_workbooks(config, [write_household(config, demo)])
    assert outcome.pdf is not None, outcome.message
    registry = registry_for(config)
    with registry.engine.connect() as conn:
        rows = conn.execute(select(page_layouts).order_by(page_layouts.c.page)).all()
    registry.close()
    return Originals(str(Path(outcome.pdf)), keep=16), [PageLayout.from_json(r.layout)
                                                         for r in rows]


def _inside(bbox: tuple[float, ...], layout: PageLayout) -> bool:
    x0, y0, x1, y1 = bbox
    return -1 <= x0 < x1 <= layout.width_mm + 1 and -1 <= y0 < y1 <= layout.height_mm + 1


def test_every_condition_makes_a_plausible_scan_with_truth(plan) -> None:  # noqa: ANN001
    originals, layouts = plan
    for n, condition in enumerate(CONDITIONS):
        layout = layouts[n % len(layouts)]
        image, truth = make_scan(condition, originals, layout, seed=n)
        assert image.dtype == np.uint8 and image.ndim == 2, condition
        short, long_ = sorted(image.shape)
        px = truth.dpi / 25.4
        assert truth.dpi in CONDITIONS[condition].dpis
        # a photo holds the table round the page too
        assert 0.95 * 210 * px <= short <= 1.5 * 210 * px, (condition, image.shape)
        assert 1.15 < long_ / short < 1.6, (condition, image.shape)
        assert 20 < float(image.mean()) < 250 and image.std() > 10, condition
        assert set(truth.boxes) == {box.key for box in layout.boxes}, condition
        for box in layout.boxes:
            want = truth.boxes[box.key]
            assert want.kind == box.kind and want.category in (MARKED, BLANK, CROSSED)
            marked = want.category == MARKED
            assert (truth.signatures if box.kind == "signature" else truth.ticks)[box.key] \
                == marked
            if not marked:
                assert want.category == CROSSED or not want.ink_visible
        for item in truth.marks + truth.noise:
            assert _inside(item.bbox, layout), (condition, item)
        assert {m.kind for m in truth.marks} <= {"strike-through", "note"}
        again, _ = make_scan(condition, originals, layout, seed=n)
        assert np.array_equal(image, again), f"{condition} is not deterministic"


def test_noise_is_recorded_where_the_condition_puts_it(plan) -> None:  # noqa: ANN001
    originals, layouts = plan
    signatures = next(layout for layout in layouts
                      if any(box.kind == "signature" for box in layout.boxes))
    expected = {"coffee": "ring", "stamp": "stamp", "staple": "staple", "overrun": "overrun",
                "drum": "streak"}
    for condition, kind in expected.items():
        kinds = Counter(item.kind for seed in range(3)
                        for item in make_scan(condition, originals, signatures, seed)[1].noise)
        assert kinds[kind] >= 1, (condition, kinds)


def test_boxes_are_marked_blank_and_crossed_across_seeds(plan) -> None:  # noqa: ANN001
    originals, layouts = plan
    seen: Counter = Counter()
    marks: Counter = Counter()
    for seed in range(4):
        for layout in layouts:
            _image, truth = make_scan("scribbled", originals, layout, seed)
            seen.update((b.kind, b.category) for b in truth.boxes.values())
    for kind in ("signature", "tick"):
        for category in (MARKED, BLANK, CROSSED):
            assert seen[kind, category] >= 1, seen
    for seed in range(8):  # real changes to the plan: some pages have them, some not
        _image, truth = make_scan("office", originals, layouts[0], seed)
        marks.update(m.kind for m in truth.marks)
        marks["pages without"] += not truth.marks
    assert marks["note"] >= 1 and marks["strike-through"] >= 1, marks
    assert marks["pages without"] >= 1, marks


def test_bitonal_scans_are_black_and_white_and_say_which_ink_survived(plan) -> None:  # noqa: ANN001
    originals, layouts = plan
    visible: Counter = Counter()
    for seed in range(3):
        for layout in layouts:
            image, truth = make_scan("bitonal", originals, layout, seed)
            assert set(np.unique(image).tolist()) <= {0, 255}
            assert truth.dpi in (150, 200, 300)
            for box in truth.boxes.values():
                if box.category == MARKED:
                    visible[box.ink_visible] += 1
                    assert 0.0 <= box.ink_kept <= 1.0
                    assert not box.ink_visible or box.ink_kept >= VISIBLE_SHARE
    assert visible[True] >= 1, visible
