"""Handwriting outside the boxes (strike-throughs, notes): the plan may have been changed on
paper. What marks paper without being writing is left out: coffee rings, office stamps,
staples, photocopier specks and streaks, printing thickened by copying, and signatures or
ticks running over their boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..printed import Bbox, PageLayout, marker_positions, qr_positions
from ..signoff import SIGNING_DATE, BoxKind, Mark
from .ink import STRONG_INK, drop_printing_residue, drop_specks, grow, pen_ink

EDGE_MM = 4.0  # the scan's own edge (shadows, cropped paper) is not handwriting
MIN_MARK_MM = 5.0  # shorter than this: specks, not writing
MIN_STROKE_MM = 2.5  # writing has at least one stroke this long before strokes are joined
STREAK_MM = 80.0  # straight lines longer than this along the page come from the copier
DATE_LINE_MM = 10.0  # the date line and the writing above it, at the foot of a signer's row
FRAME_INK = 0.15  # darkness: a pale stamp's ink, well above paper noise
Segment = tuple[float, float, float, float]  # x0, y0, x1, y1 in mm
NOTE = "note"
STRIKE = "strike-through"


def _blank_out(mask: np.ndarray, boxes: list[Bbox], px: float) -> None:
    for x0, y0, x1, y1 in boxes:
        mask[max(0, int(y0 * px)): max(0, int(y1 * px)),
             max(0, int(x0 * px)): max(0, int(x1 * px))] = False


def _touching_boxes(mask: np.ndarray, layout: PageLayout, px: float) -> np.ndarray:
    """Ink connected to a signature or tick box (an overrunning signature, a big tick),
    right beside a signature box (a signer who missed it) or in its row to the left (the
    date written on the signer's date line): part of signing, not a change to the plan."""
    seeds = np.zeros_like(mask)
    for box in layout.boxes:
        grow_mm = 6.0 if box.kind is BoxKind.SIGNATURE else 2.5
        x0, y0, x1, y1 = box.bbox
        seeds[max(0, int((y0 - grow_mm) * px)): int((y1 + grow_mm) * px),
              max(0, int((x0 - grow_mm) * px)): int((x1 + grow_mm) * px)] = True
        if box.kind is BoxKind.SIGNATURE:
            seeds[_signer_row(box.bbox, px)] = True
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    touched = np.unique(labels[seeds & mask])
    return np.isin(labels, touched[touched > 0])


def _signer_row(bbox: Bbox, px: float) -> tuple[slice, slice]:
    """Left of a signature box, level with its lower part: the "Date: ____" line under the
    signer's printed name and role, where they write the date."""
    x0, y0, _x1, y1 = bbox
    top = max(y0, y1 - DATE_LINE_MM)
    return slice(max(0, int(top * px)), int(y1 * px)), slice(int(EDGE_MM * px), int(x0 * px))


def _signing_dates(ink: np.ndarray, layout: PageLayout, px: float) -> list[Mark]:
    """Writing on each signer's date line: expected, so reported as the signing date's
    place, never as a change to the plan."""
    dates = []
    for box in layout.boxes:
        if box.kind is not BoxKind.SIGNATURE:
            continue
        rows, cols = _signer_row(box.bbox, px)
        ys, xs = np.nonzero(ink[rows, cols])
        if len(xs) and max(xs.max() - xs.min(), ys.max() - ys.min()) >= MIN_MARK_MM * px:
            dates.append(Mark((round((cols.start + xs.min()) / px, 1),
                               round((rows.start + ys.min()) / px, 1),
                               round((cols.start + xs.max() + 1) / px, 1),
                               round((rows.start + ys.max() + 1) / px, 1)), SIGNING_DATE))
    return dates


def _is_writing(stroke_stats: np.ndarray, px: float) -> bool:
    extents = np.maximum(stroke_stats[:, cv2.CC_STAT_WIDTH], stroke_stats[:, cv2.CC_STAT_HEIGHT])
    return bool((extents >= MIN_STROKE_MM * px).any())


def _ring_or_stamp(component: np.ndarray, px: float) -> bool:
    """A large closed or nearly closed outline (a coffee ring, a stamp's frame, round or
    square) with little inside it compared with its size."""
    h, w = component.shape
    if min(h, w) < 12 * px:
        return False
    contours, _ = cv2.findContours(component.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    points = np.concatenate(contours).reshape(-1, 2)
    if len(points) < 20:
        return False
    # ink lying along the outline of its own convex hull: a frame or a ring
    hull = cv2.convexHull(points)
    outline = np.zeros(component.shape, np.uint8)
    cv2.polylines(outline, [hull], True, 1, max(1, int(1.5 * px)))
    along = float((component & (outline > 0)).sum()) / max(float(outline.sum()), 1.0)
    return along > 0.35


@dataclass(frozen=True)
class Frames:
    """Stamps and coffee rings on a page, at the page's working resolution: `inside`, the
    area each covers; `outline`, a band along each one's frame or ring."""

    inside: np.ndarray
    outline: np.ndarray

    def outline_in(self, area_mm: Bbox, shape: tuple[int, int], px: float) -> np.ndarray:
        """The outline band within `area_mm` of the page, resampled to `shape`."""
        x0, y0, x1, y1 = (round(v * px) for v in area_mm)
        h, w = self.outline.shape
        window = np.zeros((max(1, y1 - y0), max(1, x1 - x0)), np.uint8)
        sy, sx = slice(max(0, y0), min(h, y1)), slice(max(0, x0), min(w, x1))
        window[sy.start - y0: sy.stop - y0, sx.start - x0: sx.stop - x0] = self.outline[sy, sx]
        return cv2.resize(window, (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0


def find_frames(dark: np.ndarray, faint: np.ndarray, printed: np.ndarray, px: float,
                streaks: list[Segment] | None = None) -> Frames:
    """Stamps and coffee rings: every large outline (a frame, round or square) that the ink
    follows most of the way round. Everything inside belongs to the stamp or the ring (the
    stamp's own lettering included); handwriting has no such outline. Ink within 8 mm is
    taken together, so a faded ring in pieces, or one broken where it crosses printed
    text, still counts. `faint`: the page's `faint_ink`; `printed`: its `printed_ink`."""
    clear = ~grow(printed, px, 0.4)
    if streaks:  # a copier's streak beside a note is no frame around it
        clear &= ~streak_mask(streaks, clear.shape, (0.0, 0.0), px)
    inside, outline = np.zeros(dark.shape, np.uint8), np.zeros(dark.shape, np.uint8)
    # Looked for twice: in the pale ink of a stamp (which fades unevenly), and in any ink
    # plainly above the paper's own noise (a dried coffee ring is paler still, but that
    # ink also runs a stamp's letters into its frame).
    for ink in ((dark > FRAME_INK) & clear, faint & clear):
        _outlines_followed(drop_specks(ink, px, 0.4), px, inside, outline)
    grown = np.ones((max(1, round(1.5 * px)),) * 2, np.uint8)
    return Frames(cv2.dilate(inside, grown) > 0, outline > 0)


def _outlines_followed(ink: np.ndarray, px: float, inside: np.ndarray,
                       outline: np.ndarray) -> None:
    """Fill into `inside` each large outline the `ink` follows, and draw a band along it
    into `outline`."""
    bridge = max(1, round(8.0 * px))
    closed = cv2.morphologyEx(ink.astype(np.uint8), cv2.MORPH_CLOSE,
                              np.ones((bridge, bridge), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, 8)
    band = max(1, round(1.5 * px))
    for i in range(1, count):
        x, y, w, h = (int(v) for v in stats[i, :4])
        if min(w, h) < 15 * px or max(w, h) > 120 * px:
            continue
        component = labels[y: y + h, x: x + w] == i
        hull = cv2.convexHull(cv2.findNonZero(component.astype(np.uint8)))
        along_hull = np.zeros(component.shape, np.uint8)
        cv2.polylines(along_hull, [hull], True, 1, band)
        # the ink itself (not the bridged ink) along the outline
        near = cv2.dilate(ink[y: y + h, x: x + w].astype(np.uint8), np.ones((band, band),
                                                                             np.uint8))
        along = float((near & along_hull).sum()) / max(float(along_hull.sum()), 1.0)
        # a ring or a stamp, however turned, fills most of the rectangle around it (a
        # circle 79 %); writing strung along a line with a mark off to one side makes a
        # thin triangle
        (_, _), (side_a, side_b), _ = cv2.minAreaRect(hull)
        full = cv2.contourArea(hull) / max(side_a * side_b, 1.0)
        if along > 0.55 and full > 0.6:
            placed = hull + np.array([x, y], np.int32)
            cv2.fillPoly(inside, [placed], 1)
            cv2.polylines(outline, [placed], True, 1, 2 * band)


def _staple_or_streak(stats_row: np.ndarray, component: np.ndarray, px: float,
                      page: tuple[float, float], over_text: bool) -> bool:
    """A straight bar: a staple near an edge, or a copier streak running down the page."""
    points = np.column_stack(np.nonzero(component)[::-1]).astype(np.float32)
    (_, _), (a, b), _angle = cv2.minAreaRect(points)
    length, width = max(a, b) / px, min(a, b) / px
    if width > 2.5 or length < 3 * max(width, 0.3):
        return False  # not a straight bar
    x, y, w, h = (int(v) for v in stats_row[:4])
    cx, cy = (x + w / 2) / px, (y + h / 2) / px
    width_mm, height_mm = page
    near_edge = min(cx, cy, width_mm - cx, height_mm - cy) < 25.0
    if length <= 20 and near_edge and not over_text:
        return True  # a staple
    vertical = h > 2.5 * w
    return length > 100 or (vertical and not over_text)  # a streak from the copier drum




def faint_ink(dark: np.ndarray, printed: np.ndarray, px: float) -> np.ndarray:
    """Ink however faint (plainly above the paper's own noise) clear of the printing: what
    copier streaks, pale stamps and dried coffee rings are looked for in."""
    return pen_ink(dark, px, grow(printed, px, 0.6)) & ~grow(printed, px, 0.3)


def find_streaks(faint: np.ndarray, px: float) -> list[Segment]:
    """Streaks a dirty copier drum or scanner glass leaves: thin straight lines running
    along or across much of the page (in its `faint_ink`). Nobody writes those; they
    cross boxes and text."""
    length = int(STREAK_MM * px)
    lines = cv2.HoughLinesP(faint.astype(np.uint8) * 255, 1, np.pi / 360, int(0.5 * length),
                            minLineLength=length, maxLineGap=int(3 * px))
    streaks = []
    for x0, y0, x1, y1 in (lines.reshape(-1, 4) if lines is not None else ()):
        angle = abs(np.degrees(np.arctan2(y1 - y0, x1 - x0))) % 90
        if min(angle, 90 - angle) <= 3:  # along the paper's feed or across it
            streaks.append((x0 / px, y0 / px, x1 / px, y1 / px))
    return streaks


def streak_mask(streaks: list[Segment], shape: tuple[int, int], origin_mm: tuple[float, float],
                px: float, width_mm: float = 1.2) -> np.ndarray:
    """The streaks drawn into a region starting at `origin_mm`, `width_mm` thick."""
    mask = np.zeros(shape, np.uint8)
    ox, oy = origin_mm
    for x0, y0, x1, y1 in streaks:
        cv2.line(mask, (round((x0 - ox) * px), round((y0 - oy) * px)),
                 (round((x1 - ox) * px), round((y1 - oy) * px)), 1,
                 max(1, round(width_mm * px)))
    return mask > 0


def page_ink(dark: np.ndarray, printed: np.ndarray, px: float,
             streaks: list[Segment] | None = None) -> np.ndarray:
    """Plainly dark ink on the page that was not printed there (nor a copier's streak),
    from `dark` (the aligned scan's darkness) and `printed` (the original page's
    `printed_ink` at the same resolution)."""
    ink = (dark > STRONG_INK) & ~grow(printed, px, 0.4)
    ink = drop_specks(ink, px, 0.4)
    ink = drop_printing_residue(ink, grow(printed, px, 1.0))
    if streaks:
        ink &= ~streak_mask(streaks, ink.shape, (0.0, 0.0), px)
    return ink


def find_marks(ink: np.ndarray, printed: np.ndarray, layout: PageLayout, px: float,
               frames: Frames) -> list[Mark]:
    """Handwritten changes on the page, from its `page_ink` and `printed_ink`, and the
    dates written beside signatures."""
    ink = ink & ~frames.inside
    marks = _signing_dates(ink, layout, px)
    ink &= ~_touching_boxes(ink, layout, px)
    skip = list(marker_positions(layout.width_mm, layout.height_mm).values())
    skip += qr_positions(layout.width_mm, layout.height_mm)
    _blank_out(ink, [(x0 - 2, y0 - 2, x1 + 2, y1 + 2) for x0, y0, x1, y1 in skip], px)
    edge = int(EDGE_MM * px)
    ink[:edge], ink[-edge:], ink[:, :edge], ink[:, -edge:] = False, False, False, False
    r = max(1, round(1.5 * px))
    joined = cv2.dilate(ink.astype(np.uint8), np.ones((r, 2 * r + 1), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, 8)
    for i in range(1, count):
        x, y, bw, bh, _area = stats[i]
        if max(bw, bh) < MIN_MARK_MM * px:
            continue
        component = ink[y: y + bh, x: x + bw] & (labels[y: y + bh, x: x + bw] == i)
        _n, _l, strokes, _c = cv2.connectedComponentsWithStats(component.astype(np.uint8), 8)
        if not _is_writing(strokes[1:], px) or _ring_or_stamp(component, px):
            continue
        under = printed[y: y + bh, x: x + bw]
        over_text = bool(under.any(axis=1).mean() > 0.3)
        if _staple_or_streak(stats[i], component, px, (layout.width_mm, layout.height_mm),
                             over_text):
            continue
        bbox = (round(x / px, 1), round(y / px, 1), round((x + bw) / px, 1),
                round((y + bh) / px, 1))
        kind = STRIKE if bw > 3 * bh and over_text else NOTE
        marks.append(Mark(bbox, kind))
    return marks
