"""People's pens on the page, with the truth of what they did: boxes signed, ticked, left
blank or crossed out; dates on the "Date:" lines; strike-throughs and notes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import pen as P
from .basic import BLANK, CROSSED, MARKED, BoxTruth, Item, Truth
from .geometry import Bbox, PageLayout
from .places import date_lines, free_spot, grow, text_lines


@dataclass
class Sheet:
    """One page being made: the paper, its layout, the truth so far and the dice."""

    canvas: P.Canvas
    layout: PageLayout
    truth: Truth
    rng: np.random.Generator
    dpi: int

    @property
    def px(self) -> float:
        return self.canvas.px

    def used(self) -> list[Bbox]:
        return [item.bbox for item in self.truth.marks + self.truth.noise]


def pick_pen(rng: np.random.Generator, style: str) -> P.Pen:
    if style == "faint":
        return P.faint_pen(rng)
    if style == "mixed" and rng.random() < 0.45:  # pale ink a bitonal scanner may drop
        return P.Pen(float(rng.uniform(0.2, 0.45)), float(rng.uniform(0.45, 0.85)))
    return P.normal_pen(rng)


def write_boxes(sheet: Sheet, *, style: str = "normal", p_marked: float = 0.5,
                p_crossed: float = 0.0, p_date: float = 0.5) -> None:
    """Decide and draw every box. Styles: normal, faint, initials, overrun, mixed."""
    rng, truth = sheet.rng, sheet.truth
    dates = date_lines(sheet.canvas.printed, sheet.px, sheet.layout)
    for index, box in enumerate(sheet.layout.boxes):
        r = rng.random()
        category = CROSSED if r < p_crossed else MARKED if r < p_crossed + p_marked else BLANK
        kind = str(box.kind)
        truth.boxes[box.key] = BoxTruth(kind, category, category != BLANK,
                                        float(category != BLANK))
        if category == BLANK:
            continue
        pen = pick_pen(rng, style)
        if kind == "signature":
            _signature(sheet, index, pen, style, category == CROSSED)
            line = dates.get(box.key)
            if category == MARKED and line and rng.random() < p_date:
                _date(sheet, line, pen)
        else:
            _tick(sheet, index, pen, category == CROSSED)


def _signature(sheet: Sheet, index: int, pen: P.Pen, style: str, crossed: bool) -> None:
    rng, box = sheet.rng, sheet.layout.boxes[index]
    x0, y0, x1, y1 = box.bbox
    bw, bh = x1 - x0, y1 - y0
    if style == "initials":
        text, target = P.initials(rng), rng.uniform(5, 12)
        _strokes, unit = P.lettering(rng, text, 0.0, 0.0, 1.0)
        h = float(np.clip(target / unit * rng.uniform(0.9, 1.2), 3, 6))
        strokes, width = P.lettering(rng, text, 0.0, 0.0, h)
        sx, sy = rng.uniform(x0 + 1.5, x1 - 1.5 - target), rng.uniform(y0 + 1.5, y1 - 1.5 - h)
        strokes = [s * [target / width, 1] + [sx, sy] for s in strokes]
    else:
        small = style != "overrun" and rng.random() < 0.15
        w = rng.uniform(8, 14) if small else rng.uniform(0.3, 0.85) * bw
        h = rng.uniform(3, 5) if small else rng.uniform(0.3, 0.6) * bh
        sx = rng.uniform(x0 + 2, max(x0 + 2.5, x1 - w - 2))
        sy = rng.uniform(y0 + 2, max(y0 + 2.5, y1 - h - 1.5))
        drop = None
        if style == "overrun":
            sx, sy, w, h, drop = _overrun(sheet, box.bbox, w, h)
        strokes = P.signature(rng, sx, sy, w, h)
        if drop is not None:
            strokes = _drift_down(strokes, drop)
    bbox = P.ink(sheet.canvas, strokes, pen, rng, owner=index + 1)
    if bbox is None:
        return
    if style == "overrun":
        sheet.truth.noise.append(Item("overrun", bbox))
    if crossed:
        P.ink(sheet.canvas, P.cross_out(rng, bbox), P.normal_pen(rng) if rng.random() < 0.5
              else pen, rng, owner=index + 1)


def _overrun(sheet: Sheet, bbox: Bbox, w: float,
             h: float) -> tuple[float, float, float, float, float | None]:
    """Start inside the box and run 5-15 mm past its right edge, or drift down past its
    bottom (not into the next signer's box, which may be only 12 mm below): x, y, w, h
    and, when drifting down, the y (mm) the lowest ink should reach."""
    rng = sheet.rng
    x0, y0, x1, y1 = bbox
    right_room = sheet.layout.width_mm - 6 - x1
    below = [b.bbox[1] - y1 for b in sheet.layout.boxes
             if b.bbox[1] > y1 and b.bbox[0] < x1 and x0 < b.bbox[2]]
    down_room = min(below, default=40.0) - 2.0
    if rng.random() < 0.5 and right_room >= 5:
        over = rng.uniform(5, min(15, right_room))
        w = max(w, over + 15)
        return x1 + over - w, rng.uniform(y0 + 2, max(y0 + 2.5, y1 - h - 1.5)), w, h, None
    over = rng.uniform(5, max(5.0, min(15, down_room)))
    w = max(w, 30.0)
    return (rng.uniform(x0 + 2, max(x0 + 2.5, x1 - w - 2)), y1 - h - rng.uniform(0.5, 3), w, h,
            y1 + over)


def _drift_down(strokes: list[np.ndarray], bottom: float) -> list[np.ndarray]:
    """Turn the signature about its start until its end sinks to `bottom` (mm)."""
    pivot = min(strokes, key=lambda s: s[0, 0])[0]
    for degrees in np.arange(1.0, 40.0, 1.0):
        a = np.radians(degrees)
        turn = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
        turned = [(s - pivot) @ turn + pivot for s in strokes]
        if max(t[:, 1].max() for t in turned) >= bottom:
            break
    return turned


def _tick(sheet: Sheet, index: int, pen: P.Pen, crossed: bool) -> None:
    rng, box = sheet.rng, sheet.layout.boxes[index]
    x0, y0, x1, y1 = box.bbox
    cx, cy = (x0 + x1) / 2 + rng.uniform(-0.8, 0.8), (y0 + y1) / 2 + rng.uniform(-0.8, 0.8)
    if not crossed:
        P.ink(sheet.canvas, P.tick(rng, cx, cy, rng.uniform(2.5, 6.0)), pen, rng,
              owner=index + 1)
        return
    how = rng.choice(["scribbled", "hatched", "filled"])
    area = grow(box.bbox, rng.uniform(0.0, 1.0))
    if how == "filled":  # a clean solid blob: ambiguous, a person must look
        P.ink(sheet.canvas, [], P.felt_tip(rng), rng, owner=index + 1,
              fills=[P.blob(rng, area)])
    elif how == "hatched":  # scribbled in until nearly solid
        P.ink(sheet.canvas, P.hatch_fill(rng, area, rng.uniform(0.3, 0.6)), P.felt_tip(rng),
              rng, owner=index + 1)
    else:  # ticked, then scribbled over
        P.ink(sheet.canvas, P.tick(rng, cx, cy, rng.uniform(2.5, 5.0)), pen, rng,
              owner=index + 1)
        P.ink(sheet.canvas, [P.zigzag(rng, grow(box.bbox, rng.uniform(0.5, 1.5)),
                                      rng.uniform(0.4, 0.9))], pen, rng, owner=index + 1)
    sheet.truth.notes.append(f"{box.key}: {how}")


def _date(sheet: Sheet, line: Bbox, pen: P.Pen) -> None:
    rng = sheet.rng
    day, month, year = rng.integers(1, 29), rng.integers(1, 13), rng.integers(25, 28)
    text = str(rng.choice([f"{day}/{month}/{year}", f"{day}.{month}.20{year}",
                           f"{day:02d}/{month:02d}/{year}"]))
    h = rng.uniform(2.8, 4.5)
    strokes, _w = P.lettering(rng, text, line[0] + rng.uniform(0, 3),
                              line[1] - h - rng.uniform(0.3, 1.2), h)
    bbox = P.ink(sheet.canvas, strokes, pen, sheet.rng)
    if bbox:
        sheet.truth.noise.append(Item("date", bbox))


def write_changes(sheet: Sheet, *, p_strike: float = 0.3, p_note: float = 0.35) -> None:
    """Handwriting that changes the plan: strike-throughs over printed lines and notes."""
    rng = sheet.rng
    if rng.random() < p_strike:
        for _ in range(1 if rng.random() < 0.8 else 2):
            strike_through(sheet)
    if rng.random() < p_note:
        for _ in range(1 if rng.random() < 0.7 else 2):
            note(sheet)


def strike_through(sheet: Sheet) -> None:
    rng = sheet.rng
    used = [grow(b, 3) for b in sheet.used()]
    lines = [b for b in text_lines(sheet.canvas.printed, sheet.px, sheet.layout)
             if not any(b[0] < u[2] and u[0] < b[2] and b[1] < u[3] and u[1] < b[3]
                        for u in used)]
    if not lines:
        return
    x0, y0, x1, y1 = lines[int(rng.integers(len(lines)))]
    if x1 - x0 > 25 and rng.random() < 0.5:  # part of the line
        a = rng.uniform(x0, x1 - 12)
        x0, x1 = a, rng.uniform(a + 12, x1)
    y = y0 + 0.45 * (y1 - y0) + rng.uniform(-0.3, 0.3)  # through the middle of the letters
    pen = P.normal_pen(rng)
    strokes = [P.hand_line(rng, (x0 - rng.uniform(0, 2), y), (x1 + rng.uniform(0, 2),
                                                         y + rng.uniform(-0.6, 0.6)))]
    if rng.random() < 0.15:  # struck twice
        strokes.append(P.hand_line(rng, (x0, y + 0.8), (x1, y + rng.uniform(0.2, 1.4))))
    bbox = P.ink(sheet.canvas, strokes, pen, rng)
    if bbox:
        sheet.truth.marks.append(Item("strike-through", bbox))
        sheet.truth.strike = sheet.truth.strike or bbox


def note(sheet: Sheet) -> None:
    """One to four cursive words, 15-70 mm long and 3-6 mm high, on blank paper."""
    rng = sheet.rng
    h = rng.uniform(3, 6)
    length = rng.uniform(15, 70)
    spot = None
    avoid = [grow(b, 3) for b in sheet.used()]
    while spot is None and length >= 15:
        spot = free_spot(rng, sheet.canvas.printed, sheet.px, sheet.layout, length, h * 1.3,
                         avoid=avoid)
        length *= 0.75
    if spot is None:
        return
    x0, top, x1, _bottom = spot
    words = int(rng.integers(1, 5))
    gaps = rng.uniform(1.5, 3.0, words - 1)
    widths = rng.dirichlet(np.ones(words) * 3) * (x1 - x0 - gaps.sum())
    if widths.min() < 3:
        words, widths, gaps = 1, np.array([x1 - x0]), np.array([])
    baseline, x = top + h, x0
    strokes = []
    for i in range(words):
        strokes.append(P.cursive_word(rng, x, baseline, widths[i], h,
                                      capital=i == 0 and rng.random() < 0.5))
        x += widths[i] + (gaps[i] if i < len(gaps) else 0)
    bbox = P.ink(sheet.canvas, strokes, P.normal_pen(rng), rng)
    if bbox:
        sheet.truth.marks.append(Item("note", bbox))
