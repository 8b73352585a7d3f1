"""Where things go on a printed page: lines of text to strike, blank space for notes and
stamps, the "Date:" lines beside the signature boxes. Found on the original rendering,
in millimetres."""

from __future__ import annotations

import cv2
import numpy as np

from .geometry import Bbox, PageLayout, marker_positions, qr_positions

GRID = 2.0  # cells per mm for the searches


def grow(bbox: Bbox, d: float) -> Bbox:
    return (bbox[0] - d, bbox[1] - d, bbox[2] + d, bbox[3] + d)


def overlaps(a: Bbox, b: Bbox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def keep_out(layout: PageLayout, *, boxes: float, codes: float) -> list[Bbox]:
    """The boxes and the codes and markers, grown: what notes and stamps stay clear of."""
    w, h = layout.width_mm, layout.height_mm
    out = [grow(b.bbox, boxes + (5.0 if b.kind == "signature" else 2.5))
           for b in layout.boxes]
    codes_ = list(marker_positions(w, h).values()) + qr_positions(w, h)
    return out + [grow(c, codes) for c in codes_]


def _small_ink(printed: np.ndarray, px: float) -> np.ndarray:
    small = cv2.resize(printed, None, fx=GRID / px, fy=GRID / px, interpolation=cv2.INTER_AREA)
    return small < 225


def free_spot(rng: np.random.Generator, printed: np.ndarray, px: float, layout: PageLayout,
              w: float, h: float, *, margin: float = 1.0, avoid: list[Bbox] = (),
              edge: float = 8.0, tries: int = 300) -> Bbox | None:
    """A w x h mm rectangle with no print within `margin` mm, clear of boxes and codes."""
    ink = _small_ink(printed, px).astype(np.int32)
    for x0, y0, x1, y1 in keep_out(layout, boxes=1.0, codes=2.0) + list(avoid):
        ink[max(0, int(y0 * GRID)): max(0, int(np.ceil(y1 * GRID))),
            max(0, int(x0 * GRID)): max(0, int(np.ceil(x1 * GRID)))] = 1
    integral = cv2.integral(ink.astype(np.uint8))
    gw, gh = int(np.ceil((w + 2 * margin) * GRID)), int(np.ceil((h + 2 * margin) * GRID))
    lo_x, lo_y = int(edge * GRID), int(edge * GRID)
    hi_x, hi_y = ink.shape[1] - int(edge * GRID) - gw, ink.shape[0] - int(edge * GRID) - gh
    if hi_x <= lo_x or hi_y <= lo_y:
        return None
    for _ in range(tries):
        x, y = int(rng.integers(lo_x, hi_x)), int(rng.integers(lo_y, hi_y))
        total = (integral[y + gh, x + gw] - integral[y, x + gw] - integral[y + gh, x]
                 + integral[y, x])
        if total == 0:
            return (x / GRID + margin, y / GRID + margin, x / GRID + margin + w,
                    y / GRID + margin + h)
    return None


def text_lines(printed: np.ndarray, px: float, layout: PageLayout) -> list[Bbox]:
    """Runs of printed words on one line (table rules removed), at least 12 mm long,
    clear of the boxes: what a strike-through goes through."""
    ink = _small_ink(printed, px).astype(np.uint8)
    long_ = int(8 * GRID)
    rules = (cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, long_), np.uint8))
             | cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((long_, 1), np.uint8)))
    text = ink & ~rules
    joined = cv2.dilate(text, np.ones((1, int(2.5 * GRID)), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, 8)
    blocked = keep_out(layout, boxes=3.0, codes=3.0)
    lines = []
    for x, y, bw, bh, _area in stats[1:count]:
        bbox = ((x + 1) / GRID, y / GRID, (x + bw - 1) / GRID, (y + bh) / GRID)
        tall = bbox[3] - bbox[1]
        if (1.8 <= tall <= 5.0 and bbox[2] - bbox[0] >= 12 and bbox[1] > 25
                and bbox[3] < layout.height_mm - 25
                and not any(overlaps(bbox, b) for b in blocked)):
            lines.append(bbox)
    return lines


def date_lines(printed: np.ndarray, px: float, layout: PageLayout) -> dict[str, Bbox]:
    """Signer key -> the printed "Date: ____" underline left of its signature box."""
    ink = _small_ink(printed, px).astype(np.uint8)
    underline = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, int(10 * GRID)), np.uint8))
    found = {}
    for box in layout.boxes:
        if box.kind != "signature":
            continue
        x0, y0, x1, y1 = box.bbox
        r0, r1 = int(y0 * GRID), int((y1 + 2) * GRID)
        c1 = int((x0 - 5) * GRID)
        region = underline[r0:r1, :c1]
        ys, xs = np.nonzero(region)
        if not len(ys):
            continue
        row = ys.max()  # the lowest underline beside the box
        cols = xs[ys == row]
        found[box.key] = (cols.min() / GRID, (r0 + row) / GRID, (cols.max() + 1) / GRID,
                          (r0 + row + 1) / GRID)
    return found
