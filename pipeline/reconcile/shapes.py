"""What the new ink in a box looks like: how much was written and how far it reaches, and
whether it is a signature, a tick, a straight line, or writing that was crossed out,
scribbled over or filled in. Measured on the strokes' centre lines, so a thick felt pen
and a fine ballpoint count alike."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .ink import thin

DIAGONAL_STEP = 1.1  # centre-line pixels run along diagonals too: about 1.1 px of length each


@dataclass(frozen=True)
class Strokes:
    """Measurements of the ink in one box, in millimetres."""

    area: float  # mm² of ink
    length: float  # mm of pen path (centre lines)
    width: float  # extent across
    height: float  # extent down
    pen: float  # typical stroke width

    @property
    def span(self) -> float:
        return max(self.width, self.height)

    @property
    def diagonal(self) -> float:
        return float(np.hypot(self.width, self.height))


EMPTY = Strokes(0.0, 0.0, 0.0, 0.0, 0.0)


def _dust_free(mask: np.ndarray, px: float) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    keep = stats[:, cv2.CC_STAT_AREA] >= max(3, (0.25 * px) ** 2)
    keep[0] = False
    return keep[labels]


def measure(mask: np.ndarray, px: float) -> tuple[Strokes, np.ndarray, np.ndarray]:
    """(measurements, the ink without dust, its centre lines), cropped to the ink."""
    ink = _dust_free(mask, px)
    if not ink.any():
        return EMPTY, ink, ink
    rows, cols = np.nonzero(ink)
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    ink = ink[top:bottom, left:right]
    centre = thin(ink)
    length = float(centre.sum()) * DIAGONAL_STEP / px
    area = float(ink.sum()) / px**2
    pen = area / max(length, 1e-6)
    return Strokes(area, length, (right - left) / px, (bottom - top) / px, pen), ink, centre


def signature_score(strokes: Strokes) -> float:
    """~1 for a signature or initials: enough pen path (or, for a blot, enough ink area)
    reaching far enough (SDAPS counts a field as written when ink spans more than ~5 mm;
    dust has area but no extent)."""
    amount = max(strokes.length / 8.0, strokes.area / 4.0)
    return round(min(1.0, amount) * min(1.0, strokes.span / 5.0), 3)


def tick_score(strokes: Strokes) -> float:
    """~1 for a tick or a cross (or a box blacked in: its centre line is a mere dot, so its
    area counts too)."""
    amount = max(strokes.length / 4.0, strokes.area / 1.5)
    return round(min(1.0, amount) * min(1.0, strokes.span / 2.5), 3)


def _segments(mask: np.ndarray, px: float, min_mm: float, *, rho_mm: float = 0.0,
              gap_mm: float = 0.5) -> np.ndarray:
    """Straight runs of ink at least `min_mm` long, as (x0, y0, x1, y1) rows. `rho_mm`: how
    far a hand-drawn straight line may wobble."""
    length = max(3, int(min_mm * px))
    lines = cv2.HoughLinesP(mask.astype(np.uint8) * 255, max(1.0, rho_mm * px), np.pi / 180,
                            max(3, int(0.6 * length)), minLineLength=length,
                            maxLineGap=max(1, int(gap_mm * px)))
    return lines.reshape(-1, 4) if lines is not None else np.zeros((0, 4), int)


def only_a_line(strokes: Strokes, centre: np.ndarray, px: float) -> bool:
    """All the ink is one straight stroke (a line struck through nearby text, a ruler line):
    not a signature, whatever its size."""
    if strokes.span < 3:
        return False
    for x0, y0, x1, y1 in _segments(centre, px, 0.8 * strokes.span, rho_mm=0.25):
        if np.hypot(x1 - x0, y1 - y0) / px >= 0.85 * strokes.span:
            return strokes.length <= 1.3 * strokes.span
    return False


def crossed_out(strokes: Strokes, ink: np.ndarray, px: float) -> bool:
    """A signature crossed out: scribbled or zig-zagged over (far more pen path than a
    signature of that size has: on synthetic and real signatures the path is at most about
    2.6 times the width plus the height), or a long straight stroke across it (a slash, an
    X, a line through its middle)."""
    if strokes.width < 3:
        return False
    if strokes.length > 2.8 * (strokes.width + strokes.height):
        return True
    for x0, y0, x1, y1 in _segments(ink, px, max(12.0, 0.55 * strokes.width), gap_mm=0.3):
        span = np.hypot(x1 - x0, y1 - y0) / px
        angle = abs(np.degrees(np.arctan2(y1 - y0, x1 - x0))) % 180
        angle = min(angle, 180 - angle)
        middle = (y0 + y1) / 2 / px / max(strokes.height, 1e-6)
        if angle >= 8 and span >= 0.75 * strokes.diagonal:
            return True  # a slash or an X from corner to corner
        if angle < 8 and 0.25 <= middle <= 0.75 and span >= 0.8 * strokes.width \
                and strokes.width >= 15:
            return True  # a line through its middle (an underline sits below it)
    return False


def scribbled_over(strokes: Strokes, inside: float, around: float) -> bool:
    """A tick box filled in, hatched or scribbled over, rather than ticked or crossed: its
    inside nearly all ink, or mostly ink and the ink carried on all round it (a thick
    pen's cross covers much of a small box too, but crosses its border at four points
    only); or far more pen path than a tick or a cross has. `inside` and `around`: the
    share of ink inside the box and in a band just outside its border."""
    if inside > 0.92 or (inside > 0.7 and around > 0.35):
        return True
    return strokes.length > 30 or (strokes.length > 14 and strokes.length
                                   > 3.0 * max(strokes.diagonal, 1e-6))
