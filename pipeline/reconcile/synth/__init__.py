"""Synthetic scans of real rendered plan pages, with ground truth (tests and bench).

basic       the first generator (`draw_page` + `degrade`) and the `Truth` both fill
conditions  named, seeded conditions (`make_scan`, `CONDITIONS`, `Originals`)
marks       people's pens: boxes signed, ticked, crossed out; dates; strike-throughs, notes
pen         strokes as ink: pens, cursive words, signatures, initials, ticks, scribbles
paper       coffee rings, stamps, staples, photocopying
places      where on the printed page: text lines, blank space, the "Date:" lines
scanner     flatbed greyscale and 1-bit scans, "fit to page" printing
"""

from .basic import (
    BLANK,
    CROSSED,
    MARKED,
    BoxTruth,
    Degrade,
    Item,
    Truth,
    degrade,
    draw_page,
    random_degrade,
    render_page,
)
from .conditions import CONDITIONS, Condition, Originals, found, make_scan
from .geometry import PageLayout

__all__ = ["BLANK", "CONDITIONS", "CROSSED", "MARKED", "BoxTruth", "Condition", "Degrade",
           "Item", "Originals", "PageLayout", "Truth", "degrade", "draw_page", "found", "make_scan",
           "random_degrade", "render_page"]
