"""Decide each box from *new* ink: the aligned scan minus the original page's own ink.

The original's ink is dilated (~0.4 mm) before subtracting, so box borders, the word
"Signature" and printed text never count, even with a slightly imperfect alignment. The
scan is first divided by its local paper brightness, so uneven lighting and grey paper
do not look like ink.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .layout import Bbox, PageLayout, marker_positions, qr_positions


@dataclass(frozen=True)
class Thresholds:
    signature_blank_below: float = 0.25
    signature_marked_above: float = 0.75
    tick_blank_below: float = 0.25
    tick_marked_above: float = 0.75


@dataclass
class BoxResult:
    kind: str
    key: str
    role: str
    state: str
    score: float
    bbox: Bbox


@dataclass
class Mark:
    bbox: Bbox
    kind: str  # "strike-through" or "note"


def ink_mask(gray: np.ndarray, dpi: float) -> np.ndarray:
    """Ink as a boolean mask, relative to the local paper brightness."""
    px = dpi / 25.4
    k = int(6 * px) | 1  # wider than any pen stroke: the closing removes the strokes
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k // 4 | 1, k // 4 | 1))
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    paper = cv2.resize(paper, (gray.shape[1], gray.shape[0]), interpolation=cv2.INTER_LINEAR)
    ratio = gray.astype(np.float32) / np.maximum(paper.astype(np.float32), 40.0)
    return ratio < 0.8


def original_ink(original: np.ndarray, dpi: float, grow_mm: float = 0.4) -> np.ndarray:
    px = dpi / 25.4
    ink = (original < 215).astype(np.uint8)
    r = max(1, round(grow_mm * px))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(ink, kernel) > 0


def new_ink(scan: np.ndarray, original_grown: np.ndarray, dpi: float) -> np.ndarray:
    ink = ink_mask(scan, dpi) & ~original_grown
    # speckles from noise, JPEG and dust are smaller than any pen stroke
    opened = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    return opened > 0


def _crop(mask: np.ndarray, bbox: Bbox, px: float, inset_mm: float) -> np.ndarray:
    x0, y0, x1, y1 = bbox
    h, w = mask.shape
    a, b = max(0, int((x0 + inset_mm) * px)), min(w, int((x1 - inset_mm) * px))
    c, d = max(0, int((y0 + inset_mm) * px)), min(h, int((y1 - inset_mm) * px))
    return mask[c:d, a:b]


def _state(score: float, low: float, high: float, marked: str) -> str:
    if score < low:
        return "blank"
    return marked if score > high else "review"


def signature_score(region: np.ndarray, px: float) -> float:
    """~1 for a signature. Needs both ink area and horizontal extent: SDAPS counts a field
    as written when ink spans more than ~5 mm; dust has area but no extent."""
    if not region.any():
        return 0.0
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), 8)
    keep = stats[1:, cv2.CC_STAT_AREA] >= max(3, (0.25 * px) ** 2)  # drop dust
    if not keep.any():
        return 0.0
    stats = stats[1:][keep]
    area_mm2 = float(stats[:, cv2.CC_STAT_AREA].sum()) / px**2
    left = stats[:, cv2.CC_STAT_LEFT].min()
    right = (stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH]).max()
    top = stats[:, cv2.CC_STAT_TOP].min()
    bottom = (stats[:, cv2.CC_STAT_TOP] + stats[:, cv2.CC_STAT_HEIGHT]).max()
    span_mm = max(right - left, bottom - top) / px
    return round(min(1.0, area_mm2 / 3.0) * min(1.0, span_mm / 6.0), 3)


def tick_score(region: np.ndarray, px: float) -> float:
    """~1 for a tick or cross: new ink area in the box and a margin around it."""
    area_mm2 = float(region.sum()) / px**2
    return round(min(1.0, area_mm2 / 1.2), 3)


TICK_MARGIN_MM = 1.5  # ticks overshoot the printed box


def decide_boxes(fresh: np.ndarray, layout: PageLayout, dpi: float,
                 thresholds: Thresholds) -> list[BoxResult]:
    px = dpi / 25.4
    results = []
    for box in layout.boxes:
        if box.kind == "signature":
            score = signature_score(_crop(fresh, box.bbox, px, 0.4), px)
            state = _state(score, thresholds.signature_blank_below,
                           thresholds.signature_marked_above, "signed")
        else:
            score = tick_score(_crop(fresh, box.bbox, px, -TICK_MARGIN_MM), px)
            state = _state(score, thresholds.tick_blank_below, thresholds.tick_marked_above,
                           "ticked")
        results.append(BoxResult(box.kind, box.key, box.role, state, score, box.bbox))
    return results


def find_marks(fresh: np.ndarray, original: np.ndarray, layout: PageLayout,
               dpi: float) -> list[Mark]:
    """Handwriting outside the boxes (notes, strike-throughs): the plan changed on paper."""
    px = dpi / 25.4
    mask = fresh.copy()
    h, w = mask.shape
    # signatures run over their box's border and ticks overshoot: not changes to the plan
    grow = {"signature": 5.0, "tick": TICK_MARGIN_MM + 1.0}
    skip = [(b.bbox[0] - grow[b.kind], b.bbox[1] - grow[b.kind], b.bbox[2] + grow[b.kind],
             b.bbox[3] + grow[b.kind]) for b in layout.boxes]
    skip += list(marker_positions(layout.width_mm, layout.height_mm).values())
    skip += qr_positions(layout.width_mm, layout.height_mm)
    for x0, y0, x1, y1 in skip:
        mask[max(0, int((y0 - 1) * px)): int((y1 + 1) * px),
             max(0, int((x0 - 1) * px)): int((x1 + 1) * px)] = False
    edge = int(4 * px)  # the scan's own edge (shadows, cropped paper) is not handwriting
    mask[:edge], mask[-edge:], mask[:, :edge], mask[:, -edge:] = False, False, False, False
    r = max(1, round(1.5 * px))
    joined = cv2.dilate(mask.astype(np.uint8), np.ones((r, 2 * r + 1), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, 8)
    marks = []
    for i in range(1, count):
        x, y, bw, bh, _area = stats[i]
        if max(bw, bh) < 5 * px:  # shorter than 5 mm: specks, not writing
            continue
        bbox = (round(x / px, 1), round(y / px, 1), round((x + bw) / px, 1),
                round((y + bh) / px, 1))
        under = original[y: y + bh, x: x + bw] < 128
        kind = "strike-through" if bw > 3 * bh and under.any(axis=1).mean() > 0.3 else "note"
        marks.append(Mark(bbox, kind))
    return marks
