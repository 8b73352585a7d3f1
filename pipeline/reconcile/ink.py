"""New ink: what is on the scan but not on the original page, measured against the page's
own local paper, so faint pen on grey or shaded paper still counts and a coffee-stained
background does not.

Darkness is 1 - scan / local paper brightness: 0 on clean paper, about 0.1-0.2 for a faint
ballpoint, 0.6-0.9 for a normal pen. The original page's ink is grown a little before it
is taken away, so printed borders and text never count, even slightly misaligned.
"""

from __future__ import annotations

import cv2
import numpy as np

# Darkness a pen stroke reaches at least; below this, nothing is called ink however clean
# the scan (on noisier scans the noise sets a higher bar).
FAINTEST_INK = 0.05
# Darkness of ink that is plainly ink (the old fixed threshold of 0.8 x paper, and a bit).
STRONG_INK = 0.3
# Stains: marks at least this wide and on average paler than this are not pen ink.
STAIN_WIDTH_MM = 0.5
STAIN_DARKNESS = 0.13
# Noise multiples: a pixel is ink when darker than the paper by this many noise sigmas.
NOISE_SIGMAS = 4.0


def paper_brightness(gray: np.ndarray, px: float, stroke_mm: float = 3.0) -> np.ndarray:
    """The local paper brightness under every pixel: a closing wider than any pen stroke
    removes the strokes and keeps the paper (shading, stains, grey stock), worked on a
    quarter-size copy for speed."""
    small = cv2.resize(gray, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    k = max(3, int(stroke_mm * px / 4) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, kernel)
    paper = cv2.GaussianBlur(paper, (0, 0), max(1.0, k / 3))
    return cv2.resize(paper, (gray.shape[1], gray.shape[0]),
                      interpolation=cv2.INTER_LINEAR).astype(np.float32)


def darkness(gray: np.ndarray, px: float, stroke_mm: float = 3.0) -> np.ndarray:
    """1 - scan / local paper; `stroke_mm`: the widest mark that is still ink, not paper
    (wide enough for a box blacked in when reading a box)."""
    paper = np.maximum(paper_brightness(gray, px, stroke_mm), 40.0)
    return np.clip(1.0 - gray.astype(np.float32) / paper, 0.0, 1.0)


def paper_noise(dark: np.ndarray, ignore: np.ndarray | None = None) -> tuple[float, float]:
    """The typical darkness of plain paper and its robust spread (median, and median
    absolute deviation as a sigma). The paper estimate follows the brightest grain, so
    plain paper reads slightly dark, never exactly 0."""
    values = dark[~ignore] if ignore is not None else dark.ravel()
    values = values[values < 0.5]  # ink is not paper
    if values.size < 50:
        return 0.0, 0.0
    median = float(np.median(values))
    return median, 1.4826 * float(np.median(np.abs(values - median)))


def pen_ink(dark: np.ndarray, px: float, ignore: np.ndarray | None = None) -> np.ndarray:
    """Pen ink however faint: pixels plainly darker than the paper (NOISE_SIGMAS above its
    noise), grown along the stroke into pixels that are only somewhat darker (hysteresis),
    so a pale, skipping ballpoint line stays one line instead of a few specks. Lightly
    smoothed first: paper grain and JPEG noise average out, a pen stroke does not."""
    smooth = cv2.GaussianBlur(dark, (0, 0), max(0.5, 0.08 * px))
    paper, sigma = paper_noise(smooth, ignore)
    strong = smooth > max(FAINTEST_INK, paper + NOISE_SIGMAS * sigma)
    weak = smooth > max(0.6 * FAINTEST_INK, paper + 2.5 * sigma)  # along a found stroke
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    seeded = np.zeros(count, bool)
    seeded[np.unique(labels[strong])] = True
    seeded[0] = False
    return seeded[labels]


def grow(mask: np.ndarray, px: float, mm: float) -> np.ndarray:
    r = max(1, round(mm * px))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def printed_ink(original: np.ndarray) -> np.ndarray:
    """The original page's own ink (text, borders, glyphs), as rendered from the PDF."""
    return original < 215


def drop_specks(mask: np.ndarray, px: float, min_extent_mm: float) -> np.ndarray:
    """Remove components smaller than `min_extent_mm` across: noise, JPEG and dust. Unlike
    an opening this keeps thin pen strokes, which are long though narrow."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    if count <= 1:
        return mask.astype(bool)
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    keep = extent >= max(2, min_extent_mm * px)
    keep[0] = False
    return keep[labels]


def drop_printing_residue(mask: np.ndarray, near_print: np.ndarray) -> np.ndarray:
    """Remove components lying almost wholly along printed ink: the printing thickened by
    a photocopier, or left over from a slightly imperfect alignment. Writing that crosses
    printed text reaches well away from it and stays."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    if count <= 1:
        return mask.astype(bool)
    inside = np.bincount(labels[near_print & mask], minlength=count)
    area = stats[:, cv2.CC_STAT_AREA]
    keep = inside < 0.85 * area
    keep[0] = False
    return keep[labels]


def thin(mask: np.ndarray) -> np.ndarray:
    """The centre lines of the strokes, one pixel wide (Zhang-Suen thinning), so the length
    and straightness of what was written do not depend on the pen's width."""
    image = np.pad(mask.astype(np.uint8), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = image
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:],  # P2..P9, clockwise
                 p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            centre = p[1:-1, 1:-1]
            neighbours = sum(x.astype(np.int32) for x in n)
            transitions = sum(((n[i] == 0) & (n[(i + 1) % 8] == 1)).astype(np.int32)
                              for i in range(8))
            if step == 0:
                rule = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                rule = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            remove = (centre == 1) & (neighbours >= 2) & (neighbours <= 6) & (
                transitions == 1) & rule
            if remove.any():
                centre[remove] = 0
                changed = True
        if not changed:
            return image[1:-1, 1:-1].astype(bool)


def drop_stains(mask: np.ndarray, dark: np.ndarray, px: float) -> np.ndarray:
    """Remove broad, pale marks: the edge of a coffee ring or a water stain is a band a
    millimetre or more wide and barely darker than the paper, where even a faint ballpoint
    line is a fraction of a millimetre wide, and a felt pen that wide is dark. Widths are
    measured on each mark's core (darker than half its peak), so the soft fringe a faint
    line gains from smoothing does not make it look broad."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(bool)
    peak = np.zeros(count, np.float32)
    np.maximum.at(peak, labels[mask], dark[mask])
    core = mask & (dark > 0.5 * peak[labels])
    dist = cv2.distanceTransform(core.astype(np.uint8), cv2.DIST_L2, 3)
    index = labels[core]
    pixels = np.maximum(np.bincount(index, minlength=count), 1).astype(np.float64)
    width_px = 4.0 * np.bincount(index, dist[core], count) / pixels - 2.0
    inside = labels[mask]
    darkness_mean = np.bincount(inside, dark[mask].astype(np.float64), count) / np.maximum(
        np.bincount(inside, minlength=count), 1)
    stain = (width_px >= STAIN_WIDTH_MM * px) & (darkness_mean < STAIN_DARKNESS)
    stain[0] = True
    return ~stain[labels]


def drop_dots(mask: np.ndarray, px: float, max_mm: float = 1.2) -> np.ndarray:
    """Remove round specks up to `max_mm` across (toner, a copier's dirty drum, dust): a
    pen stroke that short is still elongated, a dot is not."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), 8)
    if count <= 1:
        return mask.astype(bool)
    rows, cols = np.nonzero(labels)
    index = labels[rows, cols]
    n = np.bincount(index, minlength=count).astype(np.float64)
    n[0] = 1
    mean_x, mean_y = (np.bincount(index, v, count) / n for v in (cols, rows))
    dx, dy = cols - mean_x[index], rows - mean_y[index]
    sxx, syy, sxy = (np.bincount(index, v, count) / n for v in (dx * dx, dy * dy, dx * dy))
    spread = np.sqrt(((sxx - syy) / 2) ** 2 + sxy**2)
    major, minor = (sxx + syy) / 2 + spread, (sxx + syy) / 2 - spread
    elongation = np.sqrt(major / np.maximum(minor, 0.25))
    extent = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    dot = (extent <= max_mm * px) & (elongation < 2.0)
    dot[0] = True
    return ~dot[labels]


# How blurred and how thickened the printing may look on a scan, in mm: none (a crisp
# flatbed scan) to a soft phone photo, or a copy of a copy.
PRINT_BLURS_MM = (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.55)
PRINT_THICKENING_MM = (0.1, 0.2, 0.3, 0.45)


def without_printing(dark: np.ndarray, original: np.ndarray, px: float) -> np.ndarray:
    """The scan's darkness with the printing taken away as the scan shows it: the original
    page thickened, blurred and darkened to match the scan (a phone photo blurs it, a
    photocopy thickens it, a pale print lightens it), fitted near the printed lines, then
    subtracted. What is left is what was added to the paper. Fitted with medians, so pen
    crossing the printed lines (even a scribble over a whole box) does not pull the fit."""
    printed = 1.0 - original.astype(np.float32) / 255.0
    near = grow(printed_ink(original), px, 1.0)
    if not near.any():
        return dark
    target = dark[near]

    def fit(model: np.ndarray) -> tuple[float, np.ndarray]:
        values = model[near]
        core = values > 0.5 * float(values.max())
        gain = float(np.median(target[core] / values[core])) if core.any() else 1.0
        return float(np.median(np.abs(target - gain * values))), gain * model

    def blurred(model: np.ndarray, blur_mm: float) -> np.ndarray:
        return cv2.GaussianBlur(model, (0, 0), blur_mm * px) if blur_mm else model

    # the blur first, then how much thicker the printing looks at that blur
    fits = [(*fit(blurred(printed, b)), b) for b in PRINT_BLURS_MM]
    error, best, blur_mm = min(fits, key=lambda item: item[0])
    for thickening in PRINT_THICKENING_MM:
        r = max(1, round(thickening * px))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        candidate = fit(blurred(cv2.dilate(printed, kernel), blur_mm))
        if candidate[0] < error:
            error, best = candidate
    return np.clip(dark - best, 0.0, 1.0)
