"""The first generator: random pen marks on a rendered page, then `degrade` (what scanners
and phones do to paper: rotation by quarter turns, skew, blur, noise, uneven lighting,
bitonal thresholding, JPEG and, for photos, perspective on a table). Also the ground truth
shared with the named conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import pypdfium2 as pdfium

from .geometry import Bbox, PageLayout

MARKED, BLANK, CROSSED = "marked", "blank", "crossed"


@dataclass
class BoxTruth:
    kind: str  # "signature" or "tick"
    category: str  # MARKED, BLANK or CROSSED (marked, then scribbled out or filled in)
    # a marked box's ink is still plainly on the image; a 1-bit scan may erase pale ink
    # (conditions.VISIBLE_SHARE: at least a fifth of its ink pixels stayed black)
    ink_visible: bool = False
    ink_kept: float = 0.0  # share of the mark's ink pixels still dark on the image


@dataclass
class Item:
    """Something drawn outside the boxes, in mm on the original page."""

    kind: str  # real marks: "strike-through", "note"; noise: "ring", "stamp", "staple", ...
    bbox: Bbox


@dataclass
class Truth:
    signatures: dict[str, bool] = field(default_factory=dict)  # signer key -> signed
    ticks: dict[str, bool] = field(default_factory=dict)  # step id -> ticked
    strike: Bbox | None = None
    # the named conditions (conditions.py) fill these too
    boxes: dict[str, BoxTruth] = field(default_factory=dict)  # box key -> what is in it
    marks: list[Item] = field(default_factory=list)  # handwriting that changes the plan
    noise: list[Item] = field(default_factory=list)  # what must not be reported as a change
    condition: str = ""
    dpi: int = 0
    notes: list[str] = field(default_factory=list)  # how the page was made, for reports


@dataclass
class Degrade:
    dpi: int = 200
    quarter_turns: int = 0
    skew_deg: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    jpeg_quality: int = 0  # 0 = no JPEG
    bitonal: bool = False
    lighting: float = 0.0  # 0 = even; 0.4 = one side 40 % darker
    photo: bool = False  # perspective + table background


def render_page(pdf_path: str, page_index: int, dpi: int) -> np.ndarray:
    document = pdfium.PdfDocument(pdf_path)
    try:
        bitmap = document[page_index].render(scale=dpi / 72, grayscale=True)
        gray = bitmap.to_numpy()
        return np.ascontiguousarray(gray[..., 0] if gray.ndim == 3 else gray)
    finally:
        document.close()


def _curve(rng: np.random.Generator, x0: float, y0: float, w: float, h: float) -> np.ndarray:
    """A signature-like scribble: a fast sine sweep left to right with loops."""
    n = 200
    t = np.linspace(0, 1, n)
    loops = rng.uniform(3, 9)
    x = x0 + w * t + 0.08 * w * np.sin(2 * np.pi * loops * t + rng.uniform(0, 6))
    y = (y0 + h / 2 + h / 2 * np.sin(2 * np.pi * loops * 0.5 * t + rng.uniform(0, 6))
         * rng.uniform(0.5, 1.0) + h * 0.15 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t))
    return np.stack([x, y], axis=1)


def _stroke(img: np.ndarray, points: np.ndarray, px: float, width_mm: float,
            darkness: int) -> None:
    shift = 4
    pts = np.round(points * (1 << shift)).astype(np.int32).reshape(-1, 1, 2)
    thickness = max(1, round(width_mm * px))
    layer = np.zeros_like(img)
    cv2.polylines(layer, [pts], False, 255, thickness, cv2.LINE_AA, shift)
    ink = layer.astype(np.float32) / 255.0
    np.copyto(img, (img * (1 - ink) + darkness * ink).astype(np.uint8))


def draw_signature(img: np.ndarray, box: Bbox, px: float, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    bw, bh = x1 - x0, y1 - y0
    small = rng.random() < 0.2
    w = rng.uniform(8, 14) if small else rng.uniform(0.3, 0.85) * bw
    h = rng.uniform(3, 5) if small else rng.uniform(0.25, 0.6) * bh
    sx = x0 + rng.uniform(2, max(2.5, bw - w - 2))
    sy = y0 + rng.uniform(3, max(3.5, bh - h - 2))
    if rng.random() < 0.15:  # running over the bottom border by 1-10 mm, towards the
        sy = y1 - h + rng.uniform(1, 10)  # next signer's box (12 mm below)
    faint = rng.random() < 0.15
    darkness = int(rng.uniform(110, 150) if faint else rng.uniform(0, 90))
    width = rng.uniform(0.25, 0.35) if faint else rng.uniform(0.3, 0.8)
    points = _curve(rng, sx, sy, w, h) * px
    _stroke(img, points, px, width, darkness)
    if rng.random() < 0.5:  # an underline or second word
        ux = sx + rng.uniform(0, w * 0.3)
        _stroke(img, np.array([[ux, sy + h + 1], [ux + w * 0.6, sy + h + rng.uniform(0, 2)]])
                * px, px, width, darkness)


def draw_tick(img: np.ndarray, box: Bbox, px: float, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2 + rng.uniform(-0.8, 0.8), (y0 + y1) / 2 + rng.uniform(-0.8, 0.8)
    size = rng.uniform(2.5, 6.0)
    width = rng.uniform(0.3, 0.7)
    darkness = int(rng.uniform(0, 100))
    if rng.random() < 0.3:  # a cross
        d = size / 2
        _stroke(img, np.array([[cx - d, cy - d], [cx + d, cy + d]]) * px, px, width, darkness)
        _stroke(img, np.array([[cx - d, cy + d], [cx + d, cy - d]]) * px, px, width, darkness)
    else:
        _stroke(img, np.array([[cx - size * 0.45, cy], [cx - size * 0.1, cy + size * 0.4],
                               [cx + size * 0.55, cy - size * 0.6]]) * px, px, width, darkness)



def _words_to_strike(original: np.ndarray, px: float, rng: np.random.Generator
                     ) -> tuple[float, float, float] | None:
    """(x, y, length) in mm of a line through printed words in the page's upper part: it
    starts and ends on ink of one line of text, 20-60 mm long."""
    top, left = int(60 * px), int(20 * px)
    ink = original[top: int(250 * px), left: int(190 * px)] < 128
    ordered = np.nonzero(ink.any(axis=1))[0].tolist()
    rows = set(ordered)
    for _ in range(50):
        if not ordered:
            return None
        row = ordered[rng.integers(len(ordered))]
        # through the middle of that line of text, not along its top or its baseline
        top_row, bottom_row = row, row
        while top_row - 1 in rows:
            top_row -= 1
        while bottom_row + 1 in rows:
            bottom_row += 1
        row = (top_row + bottom_row) // 2
        cols = np.nonzero(ink[row])[0] / px
        if not len(cols) or cols[-1] - cols[0] < 20:
            continue
        start = cols[rng.integers(len(cols))]
        ends = cols[(cols >= start + 20) & (cols <= start + 60)]
        if len(ends):
            end = ends[rng.integers(len(ends))]
            return start + 20, row / px + 60, end - start
    return None

def draw_page(original: np.ndarray, layout: PageLayout, dpi: int, rng: np.random.Generator,
              *, p_signed: float = 0.5, p_ticked: float = 0.5,
              p_strike: float = 0.3) -> tuple[np.ndarray, Truth]:
    img = original.copy()
    px = dpi / 25.4
    truth = Truth()
    for box in layout.boxes:
        if box.kind == "signature":
            marked = truth.signatures[box.key] = bool(rng.random() < p_signed)
            if marked:
                draw_signature(img, box.bbox, px, rng)
        else:
            marked = truth.ticks[box.key] = bool(rng.random() < p_ticked)
            if marked:
                draw_tick(img, box.bbox, px, rng)
        truth.boxes[box.key] = BoxTruth(str(box.kind), MARKED if marked else BLANK, marked,
                                        float(marked))
    if rng.random() < p_strike:  # a line struck through printed words, as people do
        strike = _words_to_strike(original, px, rng)
        if strike is not None:
            x, y, length = strike
            _stroke(img, np.array([[x, y], [x + length, y + rng.uniform(-1, 1)]]) * px, px,
                    rng.uniform(0.4, 0.7), 20)
            truth.strike = (x, y - 1, x + length, y + 1)
            truth.marks.append(Item("strike-through", truth.strike))
    return img, truth


def degrade(img: np.ndarray, d: Degrade, rng: np.random.Generator) -> np.ndarray:
    out = img
    if d.skew_deg:
        h, w = out.shape
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), d.skew_deg, 1.0)
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
        matrix[0, 2] += nw / 2 - w / 2
        matrix[1, 2] += nh / 2 - h / 2
        out = cv2.warpAffine(out, matrix, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=250)
    if d.photo:
        h, w = out.shape
        pad = int(0.08 * max(h, w))
        table = np.full((h + 2 * pad, w + 2 * pad), 90, np.uint8)
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        jitter = rng.uniform(-0.05, 0.05, (4, 2)) * [w, h]
        dst = (src + pad + jitter).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        out = cv2.warpPerspective(out, matrix, (table.shape[1], table.shape[0]),
                                  dst=table, borderMode=cv2.BORDER_TRANSPARENT)
    if d.lighting:
        h, w = out.shape
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
        out = (out.astype(np.float32) * (1 - d.lighting * ramp)).astype(np.uint8)
    if d.blur:
        out = cv2.GaussianBlur(out, (0, 0), d.blur)
    if d.noise:
        out = np.clip(out + rng.normal(0, d.noise, out.shape), 0, 255).astype(np.uint8)
    if d.bitonal:
        out = np.where(out < rng.uniform(120, 170), 0, 255).astype(np.uint8)
    if d.quarter_turns:
        out = np.ascontiguousarray(np.rot90(out, d.quarter_turns))
    if d.jpeg_quality:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, d.jpeg_quality])
        out = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return out


def random_degrade(rng: np.random.Generator, *, photo: bool = False) -> Degrade:
    bitonal = bool(rng.random() < 0.2) and not photo
    return Degrade(
        dpi=int(rng.choice([150, 200, 300, 400, 600], p=[0.25, 0.35, 0.25, 0.1, 0.05])),
        quarter_turns=int(rng.integers(4)), skew_deg=float(rng.uniform(-10, 10)),
        blur=float(rng.choice([0, 0.6, 1.0])), noise=float(rng.uniform(0, 8)),
        jpeg_quality=int(rng.choice([0, 40, 60, 85])), bitonal=bitonal,
        # a bitonal scanner thresholds under its own even light: strong shading only
        # reaches photos and grey scans
        lighting=float(rng.uniform(0, 0.1 if bitonal else 0.4)), photo=photo)
