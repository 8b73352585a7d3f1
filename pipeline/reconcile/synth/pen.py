"""Handwriting: pens, cursive words, signatures, initials, dates, ticks and scribbles.

Everything is drawn in millimetres on the page image. A stroke is rendered supersampled
in a small patch and laid on the paper as ink that lets part of the light through
(multiplied in), so it darkens printed text and grey paper as real ink does. The pen's
pressure varies along a stroke and a failing ballpoint skips.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Bbox

SUPERSAMPLE = 3


@dataclass(frozen=True)
class Pen:
    width_mm: float
    transmit: float  # share of the light the ink lets through: 0.1 dark, 0.85 faint
    skip: float = 0.0  # share of a stroke's length lost to a skipping ballpoint


def ballpoint(rng: np.random.Generator) -> Pen:
    return Pen(float(rng.uniform(0.25, 0.5)), float(rng.uniform(0.08, 0.35)),
               0.05 if rng.random() < 0.1 else 0.0)


def felt_tip(rng: np.random.Generator) -> Pen:
    return Pen(float(rng.uniform(0.5, 0.9)), float(rng.uniform(0.02, 0.2)))


def normal_pen(rng: np.random.Generator) -> Pen:
    return felt_tip(rng) if rng.random() < 0.3 else ballpoint(rng)


def faint_pen(rng: np.random.Generator) -> Pen:
    """A ballpoint running dry: 10-20 % darker than the paper, thin, sometimes skipping."""
    return Pen(float(rng.uniform(0.15, 0.3)), float(1 - rng.uniform(0.10, 0.20)),
               float(rng.uniform(0.1, 0.35)) if rng.random() < 0.6 else 0.0)


@dataclass
class Canvas:
    """The page being written on: the image, what was printed, and which box's mark each
    pixel's ink belongs to (for telling later whether a box's ink survived)."""

    img: np.ndarray  # uint8, changed in place
    printed: np.ndarray  # the original rendering, same size
    px: float  # pixels per mm
    owner: np.ndarray  # uint8: 0 no mark, n = the mark of box n - 1


def ink(canvas: Canvas, strokes: list[np.ndarray], pen: Pen, rng: np.random.Generator, *,
        owner: int = 0, fills: list[np.ndarray] | None = None) -> Bbox | None:
    """Draw polylines (and filled polygons), points in mm; the inked bbox in mm."""
    strokes = [s for s in strokes if len(s) >= 2]
    shapes = strokes + (fills or [])
    if not shapes:
        return None
    px, ss = canvas.px, SUPERSAMPLE
    h, w = canvas.img.shape
    pts = np.concatenate(shapes)
    pad = pen.width_mm + 0.5
    x0 = max(0, int((pts[:, 0].min() - pad) * px))
    y0 = max(0, int((pts[:, 1].min() - pad) * px))
    x1 = min(w, int(np.ceil((pts[:, 0].max() + pad) * px)))
    y1 = min(h, int(np.ceil((pts[:, 1].max() + pad) * px)))
    if x1 <= x0 or y1 <= y0:
        return None
    patch = np.zeros(((y1 - y0) * ss, (x1 - x0) * ss), np.uint8)
    scale, shift = px * ss * 16, np.array([x0, y0]) / px
    thickness = max(1, round(pen.width_mm * px * ss))
    for stroke in strokes:
        for piece, pressure in _pieces(stroke, pen, rng):
            p = np.round((piece - shift) * scale).astype(np.int32).reshape(-1, 1, 2)
            cv2.polylines(patch, [p], False, int(255 * pressure), thickness, cv2.LINE_AA, 4)
    for polygon in fills or []:
        p = np.round((polygon - shift) * scale).astype(np.int32).reshape(-1, 1, 2)
        cv2.fillPoly(patch, [p], int(255 * rng.uniform(0.85, 1.0)), cv2.LINE_AA, 4)
    cover = cv2.resize(patch, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    cover = cover.astype(np.float32) / 255.0
    region = canvas.img[y0:y1, x0:x1]
    region[:] = np.clip(region * (1.0 - cover * (1.0 - pen.transmit)), 0, 255).astype(np.uint8)
    if owner:  # only where the paper was blank: ink over print tells nothing
        mine = (cover > 0.35) & (canvas.printed[y0:y1, x0:x1] > 200)
        canvas.owner[y0:y1, x0:x1][mine] = owner
    ys, xs = np.nonzero(cover > 0.1)
    if not len(xs):
        return None
    return ((x0 + xs.min()) / px, (y0 + ys.min()) / px, (x0 + xs.max() + 1) / px,
            (y0 + ys.max() + 1) / px)


def _pieces(stroke: np.ndarray, pen: Pen, rng: np.random.Generator):  # noqa: ANN202
    """The stroke cut into ~3 mm pieces of varying pressure, some lost when the pen skips."""
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    total = float(along[-1])
    if total < 1e-6:
        return
    step = min(0.25, max(total / 4, 1e-3))
    t = np.arange(0.0, total + step, step).clip(max=total)
    dense = np.stack([np.interp(t, along, stroke[:, 0]), np.interp(t, along, stroke[:, 1])], 1)
    start = 0
    light = 0.85 if pen.transmit > 0.5 else 0.75  # faint ink stays 10-20 % darker
    while start < len(dense) - 1:
        n = max(2, int(rng.uniform(2.0, 4.0) / step))
        end = min(len(dense), start + n)
        if not (pen.skip and rng.random() < pen.skip):
            yield dense[max(0, start - 1):end], float(rng.uniform(light, 1.0))
        start = end


def smooth(points: np.ndarray, sigma: float) -> np.ndarray:
    if len(points) < 4 or sigma <= 0:
        return points
    radius = int(3 * sigma) + 1
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(points, ((radius, radius), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in (0, 1)], 1)


def _chaikin(points: np.ndarray, rounds: int = 2) -> np.ndarray:
    for _ in range(rounds):
        if len(points) < 3:
            return points
        q = 0.75 * points[:-1] + 0.25 * points[1:]
        r = 0.25 * points[:-1] + 0.75 * points[1:]
        points = np.concatenate([points[:1], np.stack([q, r], 1).reshape(-1, 2), points[-1:]])
    return points


def cursive_word(rng: np.random.Generator, x0: float, baseline: float, width: float,
                 height: float, *, capital: bool = False) -> np.ndarray:
    """One joined-up word: humps and loops along a wavy baseline, `height` mm tall."""
    xh = height * rng.uniform(0.42, 0.6)  # x-height; ascenders reach `height`
    n = max(2, int(round(width / (xh * rng.uniform(0.7, 1.2)))))
    lw = width / n
    u = np.linspace(0, 1, 18, endpoint=False)
    xs, ys = [], []
    for i in range(n):
        kind = rng.choice(4, p=[0.6, 0.22, 0.08, 0.1])
        if capital and i == 0:
            kind = 1
        top = {0: xh, 1: height, 2: -0.5 * xh, 3: xh * 0.6}[int(kind)]
        loop = lw * (rng.uniform(0.12, 0.3) if kind in (1, 2) else rng.uniform(0.0, 0.12))
        xs.append(x0 + lw * (i + u) + loop * np.sin(2 * np.pi * u))
        ys.append(-top * (1 - np.cos(2 * np.pi * u)) / 2)
    x, y = np.concatenate(xs + [[x0 + width]]), np.concatenate(ys + [[0.0]])
    slope = rng.uniform(-0.06, 0.06)
    wave = 0.12 * xh * np.sin(2 * np.pi * (x - x0) / max(width, 1) * rng.uniform(0.5, 1.5)
                             + rng.uniform(0, 6))
    slant = np.tan(np.radians(rng.uniform(-5, 25)))
    y = baseline + y + slope * (x - x0) + wave
    x = x - (y - baseline) * slant
    points = smooth(np.stack([x, y], 1), 1.8)
    return points + rng.normal(0, 0.03 * height, points.shape)


def signature(rng: np.random.Generator, x0: float, y0: float, w: float,
              h: float) -> list[np.ndarray]:
    """A signature inside (x0, y0, w, h) mm: one or two cursive words, maybe a flourish."""
    words = 2 if rng.random() < 0.6 else 1
    gap = rng.uniform(1.5, 4.0) if words == 2 else 0.0
    share = rng.uniform(0.35, 0.6) if words == 2 else 1.0
    baseline = y0 + h * rng.uniform(0.75, 0.95)
    strokes = [cursive_word(rng, x0, baseline, (w - gap) * share, h * rng.uniform(0.8, 1.0),
                            capital=True)]
    if words == 2:
        strokes.append(cursive_word(rng, x0 + (w - gap) * share + gap, baseline,
                                    (w - gap) * (1 - share), h * rng.uniform(0.7, 1.0),
                                    capital=rng.random() < 0.7))
    if rng.random() < 0.4:  # an underline swept back from the end
        t = np.linspace(0, 1, 30)
        yb = min(y0 + h, baseline + rng.uniform(0.5, 2.0))
        xs = x0 + w * (1 - t) * rng.uniform(0.7, 1.0) + rng.uniform(-1, 1)
        strokes.append(np.stack([xs, yb + 0.8 * np.sin(np.pi * t) * rng.uniform(-1, 1)], 1))
    return strokes


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float) -> list:
    a = np.radians(np.linspace(a0, a1, 12))
    return list(zip(cx + rx * np.cos(a), cy - ry * np.sin(a), strict=True))


# Capitals and digits as strokes in a unit box (x right, y down; 1 = baseline).
GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.22, 0.6), (0.78, 0.6)]],
    "B": [[(0, 1), (0, 0), (0.6, 0), (0.85, 0.12), (0.85, 0.35), (0.6, 0.47), (0, 0.47)],
          [(0.6, 0.47), (0.95, 0.6), (0.95, 0.85), (0.65, 1), (0, 1)]],
    "C": [_arc(0.55, 0.5, 0.5, 0.5, 50, 310)],
    "D": [[(0, 0), (0, 1)], [(0, 0), *_arc(0.1, 0.5, 0.85, 0.5, 90, -90), (0, 1)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.7, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "G": [_arc(0.55, 0.5, 0.5, 0.5, 50, 330) + [(1, 0.55), (0.6, 0.55)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "J": [[(0.3, 0), (1, 0)], [(0.8, 0), (0.8, 0.7), *_arc(0.45, 0.7, 0.35, 0.3, 0, -180)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.55), (1, 1)]],
    "L": [[(0, 0), (0, 1), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.65), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "O": [_arc(0.5, 0.5, 0.5, 0.5, 90, 450)],
    "P": [[(0, 1), (0, 0), (0.7, 0), (0.95, 0.2), (0.9, 0.42), (0.6, 0.5), (0, 0.5)]],
    "R": [[(0, 1), (0, 0), (0.7, 0), (0.95, 0.2), (0.9, 0.42), (0.6, 0.5), (0, 0.5)],
          [(0.45, 0.5), (1, 1)]],
    "S": [[(0.9, 0.12), (0.6, 0), (0.2, 0.05), (0.05, 0.25), (0.3, 0.45), (0.7, 0.55),
           (0.95, 0.75), (0.8, 0.95), (0.4, 1), (0.05, 0.88)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "Z": [[(0, 0), (1, 0), (0, 1), (1, 1)]],
    "0": [_arc(0.5, 0.5, 0.45, 0.5, 90, 450)],
    "1": [[(0.2, 0.25), (0.6, 0), (0.6, 1)]],
    "2": [[(0.05, 0.25), (0.3, 0.02), (0.7, 0.02), (0.9, 0.25), (0.6, 0.6), (0, 1), (1, 1)]],
    "3": [[(0.05, 0.1), (0.5, 0), (0.9, 0.15), (0.85, 0.4), (0.4, 0.5), (0.95, 0.65),
           (0.9, 0.9), (0.5, 1), (0.05, 0.9)]],
    "4": [[(0.7, 1), (0.7, 0), (0, 0.7), (1, 0.7)]],
    "5": [[(0.9, 0), (0.15, 0), (0.1, 0.45), (0.6, 0.4), (0.95, 0.65), (0.8, 0.95), (0.4, 1),
           (0.05, 0.88)]],
    "6": [[(0.85, 0.05), (0.4, 0.05), (0.1, 0.45), (0.1, 0.8), (0.4, 1), (0.8, 0.95),
           (0.9, 0.7), (0.6, 0.5), (0.2, 0.6)]],
    "7": [[(0, 0), (1, 0), (0.4, 1)]],
    "8": [[(0.5, 0.5), (0.15, 0.3), (0.3, 0.02), (0.7, 0.02), (0.85, 0.3), (0.5, 0.5),
           (0.1, 0.75), (0.3, 1), (0.7, 1), (0.9, 0.75), (0.5, 0.5)]],
    "9": [[(0.85, 0.35), (0.5, 0.5), (0.15, 0.35), (0.25, 0.05), (0.7, 0.02), (0.88, 0.3),
           (0.8, 1)]],
    "/": [[(0.9, 0), (0.1, 1)]],
    ".": [[(0.4, 0.92), (0.5, 1)]],
}
INITIALS = "ABCDEFGHJKLMNPRSTVWYZ"


def lettering(rng: np.random.Generator, text: str, x0: float, top: float,
              height: float) -> tuple[list[np.ndarray], float]:
    """Hand-printed capitals and digits; the strokes and the width used (mm)."""
    strokes, x = [], x0
    slant = np.tan(np.radians(rng.uniform(-8, 15)))
    for char in text:
        if char == " ":
            x += height * 0.5
            continue
        aspect = 0.25 if char in "./1" else rng.uniform(0.55, 0.85)
        cw, ch = height * aspect, height * rng.uniform(0.9, 1.05)
        for part in GLYPHS[char]:
            p = np.array(part, dtype=np.float64) * [cw, ch]
            p = p + rng.normal(0, 0.04 * height, p.shape)
            p[:, 0] += x - (p[:, 1] - ch) * slant
            p[:, 1] += top + height - ch
            strokes.append(_chaikin(p) if len(p) > 2 else p)
        x += cw + height * rng.uniform(0.15, 0.35)
    return strokes, x - x0


def initials(rng: np.random.Generator) -> str:
    letters = "".join(rng.choice(list(INITIALS), int(rng.integers(2, 4))))
    return ".".join(letters) + "." if rng.random() < 0.3 else letters


def tick(rng: np.random.Generator, cx: float, cy: float, size: float) -> list[np.ndarray]:
    if rng.random() < 0.25:  # a cross
        d = size / 2
        return [np.array([[cx - d, cy - d], [cx + d, cy + d]]),
                np.array([[cx - d, cy + d], [cx + d, cy - d]])]
    p = np.array([[cx - size * 0.45, cy - size * 0.05], [cx - size * 0.1, cy + size * 0.4],
                  [cx + size * 0.55, cy - size * 0.6]])
    return [_chaikin(p + rng.normal(0, 0.05 * size, p.shape), 1)]


def cross_out(rng: np.random.Generator, bbox: Bbox) -> list[np.ndarray]:
    """Cancel what is in `bbox`: a big X, several lines through it or a dense zig-zag."""
    x0, y0, x1, y1 = bbox
    style = rng.choice(["x", "lines", "zigzag"])
    if style == "x":
        m = rng.uniform(1, 3)
        return [hand_line(rng, (x0 - m, y0 - m), (x1 + m, y1 + m)),
                hand_line(rng, (x0 - m, y1 + m), (x1 + m, y0 - m))]
    if style == "lines":
        n = int(rng.integers(2, 6))
        ys = np.linspace(y0 + 0.2 * (y1 - y0), y1 - 0.2 * (y1 - y0), n)
        return [hand_line(rng, (x0 - rng.uniform(1, 3), y + rng.uniform(-1, 1)),
                     (x1 + rng.uniform(1, 3), y + rng.uniform(-1, 1))) for y in ys]
    return [zigzag(rng, bbox, rng.uniform(1.0, 2.5))]


def zigzag(rng: np.random.Generator, bbox: Bbox, pitch: float) -> np.ndarray:
    """Back-and-forth vertical sweeps across bbox, `pitch` mm apart."""
    x0, y0, x1, y1 = bbox
    n = max(3, int((x1 - x0) / pitch))
    xs = np.linspace(x0, x1, n) + rng.normal(0, 0.15 * pitch, n)
    ys = np.where(np.arange(n) % 2 == 0, y0, y1) + rng.normal(0, 0.1 * (y1 - y0) + 0.2, n)
    return np.stack([xs, ys], 1)


def hand_line(rng: np.random.Generator, a: tuple[float, float],
              b: tuple[float, float]) -> np.ndarray:
    """A hand-drawn straight line: slightly bowed, with tremor."""
    t = np.linspace(0, 1, 24)[:, None]
    a_, b_ = np.array(a), np.array(b)
    normal = np.array([a_[1] - b_[1], b_[0] - a_[0]]) / max(np.linalg.norm(b_ - a_), 1e-6)
    bow = float(np.clip(rng.uniform(-0.015, 0.015) * np.linalg.norm(b_ - a_), -1.0, 1.0))
    points = a_ + (b_ - a_) * t + normal * bow * np.sin(np.pi * t)
    return points + rng.normal(0, 0.08, points.shape)


def hatch_fill(rng: np.random.Generator, bbox: Bbox, pitch: float) -> list[np.ndarray]:
    """A box scribbled solid: zig-zags one way, then the other."""
    x0, y0, x1, y1 = bbox
    first = zigzag(rng, bbox, pitch)
    second = zigzag(rng, (y0, x0, y1, x1), pitch)[:, ::-1]
    return [first, second] if rng.random() < 0.7 else [first]


def blob(rng: np.random.Generator, bbox: Bbox) -> np.ndarray:
    """A filled-in box as a polygon: the box, a little irregular at the edges."""
    x0, y0, x1, y1 = bbox
    a = np.linspace(0, 2 * np.pi, 32, endpoint=False)
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    # a superellipse: nearly square with rounded corners
    c, s = np.cos(a), np.sin(a)
    k = 0.3
    r = 1 + rng.normal(0, 0.04, a.shape)
    xs = cx + rx * r * np.sign(c) * np.abs(c) ** k
    ys = cy + ry * r * np.sign(s) * np.abs(s) ** k
    return np.stack([xs, ys], 1)
