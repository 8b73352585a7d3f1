"""Decide each box from the new ink in it: signed / ticked / blank, or left for a person.

Each box is read on its own region of the scan, resampled at a resolution fine enough to
keep thin strokes (`BOX_DPI`) and lined up once more against the printed box itself, so a
slightly curled or photocopied page still leaves no printed border behind as "ink".

A box is only called signed or ticked on plain evidence: enough dark ink of the right
shape. Faint ink, a small mark, or a mark that was crossed out, scribbled over or filled
in goes to a person ("review") with the reason in words; it is never a confident blank and
never a confident mark.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..printed import TICK_MARGIN_MM, Box
from ..signoff import BoxKind, BoxResult, BoxState
from .ink import (
    STRONG_INK,
    drop_dots,
    drop_printing_residue,
    drop_specks,
    drop_stains,
    grow,
    pen_ink,
    printed_ink,
    without_printing,
)
from .shapes import (
    Strokes,
    crossed_out,
    measure,
    only_a_line,
    scribbled_over,
    signature_score,
    tick_score,
)

BOX_DPI = 300
# Within a box's region the paper is judged over this width: a box filled in solid is ink,
# not grey paper.
BOX_PAPER_MM = 12.0
SEARCH_MM = 1.2  # how far the printed box is looked for around where the page puts it
SIGNATURE_MARGIN_MM = 1.0  # read inside the border, clear of it
# Around a signature box: where a signer who misses the box writes instead (beside or
# below it; above it is where the signer above runs over their own box).
BESIDE_MM = 5.0
# Around a tick box: room for a scribble over it, which reaches well past the box.
REGION_MARGIN_MM = {BoxKind.SIGNATURE: BESIDE_MM, BoxKind.TICK: TICK_MARGIN_MM + 1.5}

FAINT = "faint marks: please check whether it was {0}"
SMALL = "a small or unclear mark: please check whether it was {0}"
CROSSED = "marked, then crossed out or scribbled over: please check what the person meant"
FILLED = "the box is filled in or scribbled over: please check what the person meant"
LINE = "only a straight line: please check whether it was signed"
BESIDE = "writing beside the box rather than in it: please check whether it was signed"


@dataclass(frozen=True)
class Thresholds:
    signature_blank_below: float = 0.25
    signature_marked_above: float = 0.75
    tick_blank_below: float = 0.25
    tick_marked_above: float = 0.75

    def for_kind(self, kind: BoxKind) -> tuple[float, float]:
        if kind is BoxKind.SIGNATURE:
            return self.signature_blank_below, self.signature_marked_above
        return self.tick_blank_below, self.tick_marked_above


def region_mm(box: Box, search: bool) -> tuple[float, float, float, float]:
    """The part of the page read for `box` (with room to search for it when `search`)."""
    m = REGION_MARGIN_MM[box.kind] + (SEARCH_MM if search else 0.0)
    x0, y0, x1, y1 = box.bbox
    return (x0 - m, y0 - m, x1 + m, y1 + m)


def line_up(scan_dark: np.ndarray, original: np.ndarray, px: float) -> tuple[int, int]:
    """Where in `scan_dark` (the searched region) the printed `original` region matches
    best: a local correction of the page alignment by up to SEARCH_MM, as (x, y) pixels."""
    printed = 1.0 - original.astype(np.float32) / 255.0
    if float(printed.std()) < 1e-3:
        offset = round(SEARCH_MM * px)
        return offset, offset
    # Squared differences: pen ink is there at every shift, so the printed lines decide.
    scores = cv2.matchTemplate(scan_dark, printed, cv2.TM_SQDIFF)
    _, _, (x, y), _ = cv2.minMaxLoc(scores)
    return x, y


def new_ink_in_box(scan_dark: np.ndarray, original: np.ndarray, kind: BoxKind, px: float,
                   ignore: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(new ink, of which plainly dark) in the box region, both boolean masks. `ignore`
    (same shape as `scan_dark`): marks known not to be pen, such as copier streaks."""
    x, y = line_up(scan_dark, original, px)
    window = (slice(y, y + original.shape[0]), slice(x, x + original.shape[1]))
    dark = scan_dark[window]
    printed = printed_ink(original)
    added = without_printing(dark, original, px)
    covered = grow(printed, px, 0.2)
    ink = pen_ink(added, px, grow(printed, px, 0.6)) & ~covered
    if ignore is not None:
        ink &= ~ignore[window]
    ink = drop_stains(drop_dots(drop_specks(ink, px, 0.35), px), added, px)
    # slivers hugging the printing (a thickened copy, a slight misalignment); a tick box is
    # small, so only what hugs its border closely
    near = grow(printed, px, 0.8 if kind is BoxKind.SIGNATURE else 0.4)
    ink = drop_printing_residue(ink, near)
    return ink, ink & (added > STRONG_INK)


def _beside(mask: np.ndarray, box: Box, px: float) -> np.ndarray:
    """Ink to the left, right and below a signature box, outside its border."""
    beside = mask.copy()
    margin = REGION_MARGIN_MM[box.kind]
    x0, y0, x1, y1 = box.bbox
    beside[: int((margin + (y1 - y0)) * px), int((margin - 0.5) * px):
           int((margin + (x1 - x0) + 0.5) * px)] = False  # the box itself and above it
    beside[: int(margin * px)] = False
    return beside


def _inner(mask: np.ndarray, box: Box, px: float) -> np.ndarray:
    """The box's inside, clear of its border (signatures) or the box and the margin a tick
    overshoots into (ticks), in region pixels."""
    margin = REGION_MARGIN_MM[box.kind]
    inset = SIGNATURE_MARGIN_MM if box.kind is BoxKind.SIGNATURE else -TICK_MARGIN_MM
    x0, y0, x1, y1 = box.bbox
    a, b = int((margin + inset) * px), int((x1 - x0 + margin - inset) * px)
    c, d = int((margin + inset) * px), int((y1 - y0 + margin - inset) * px)
    return mask[max(0, c): d, max(0, a): b]


def _inside_and_around(mask: np.ndarray, box: Box, px: float) -> tuple[float, float]:
    """The share of ink inside the printed box (clear of its border) and in a band just
    outside it."""
    margin = REGION_MARGIN_MM[box.kind]
    x0, y0, x1, y1 = box.bbox

    def window(grow_mm: float) -> tuple[slice, slice]:
        return (slice(max(0, int((margin - grow_mm) * px)),
                      int((y1 - y0 + margin + grow_mm) * px)),
                slice(max(0, int((margin - grow_mm) * px)),
                      int((x1 - x0 + margin + grow_mm) * px)))

    inside = mask[window(-0.6)]
    outer, border = np.zeros(mask.shape, bool), np.zeros(mask.shape, bool)
    outer[window(1.5)] = True
    border[window(0.3)] = True
    band = outer & ~border
    return (float(inside.mean()) if inside.size else 0.0,
            float(mask[band].mean()) if band.any() else 0.0)


def _faint_but_clear(strokes: Strokes, kind: BoxKind) -> bool:
    """Pale ink that is still plainly pen writing: fine strokes, enough of them."""
    return strokes.pen <= 1.0 and strokes.length >= (12.0 if kind is BoxKind.SIGNATURE
                                                     else 4.0)


def decide(box: Box, scan_dark: np.ndarray, original: np.ndarray, px: float,
           thresholds: Thresholds, ignore: np.ndarray | None = None) -> BoxResult:
    """The box's state and score from its region of the scan (`scan_dark`: darkness of the
    searched region) and of the original page (`original`: grey, the unsearched region);
    `ignore`: what is known not to be pen in the searched region."""
    ink, strong = new_ink_in_box(scan_dark, original, box.kind, px, ignore)
    strokes, cropped, centre = measure(_inner(ink, box, px), px)
    dark_strokes, _, _ = measure(_inner(strong, box, px), px)
    low, high = thresholds.for_kind(box.kind)
    signature = box.kind is BoxKind.SIGNATURE
    score_of = signature_score if signature else tick_score
    score_all, score = score_of(strokes), score_of(dark_strokes)

    def result(state: BoxState, reason: str = "", value: float = score_all) -> BoxResult:
        return BoxResult(box.kind, box.key, box.role, state, value, box.bbox, reason)

    what = "signed" if signature else "ticked"
    if signature and score_all >= low and crossed_out(strokes, cropped, px):
        return result(BoxState.REVIEW, CROSSED)
    if signature and score_all >= low and only_a_line(strokes, centre, px):
        return result(BoxState.REVIEW, LINE)
    if signature and score_all < low and signature_score(
            measure(_beside(ink, box, px), px)[0]) > high:
        return result(BoxState.REVIEW, BESIDE)
    if not signature and score_all >= low and scribbled_over(
            measure(ink, px)[0], *_inside_and_around(ink, box, px)):
        return result(BoxState.REVIEW, FILLED)
    if score > high:
        return result(box.kind.marked, value=score)
    if score_all > high:
        if _faint_but_clear(strokes, box.kind):
            return result(box.kind.marked)
        return result(BoxState.REVIEW, FAINT.format(what))
    if score_all >= low:
        return result(BoxState.REVIEW, SMALL.format(what))
    return result(BoxState.BLANK)
