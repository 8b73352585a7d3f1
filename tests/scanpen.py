"""Pen on paper for tests: real rendered plan pages with marks drawn where a person would
put them, in every state a box can end up in (signed, faint, crossed out, beside the box,
ticked, filled in, a straight line), then saved as real scan files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pipeline.printed import Bbox, PageLayout
from pipeline.reconcile.synth import render_page

DPI = 200
PX = DPI / 25.4


def stroke(img: np.ndarray, points_mm: np.ndarray, width_mm: float, darkness: int) -> None:
    """Anti-aliased pen stroke through `points_mm` (x, y in mm), ink of grey `darkness`."""
    shift = 4
    points = np.round(np.asarray(points_mm) * PX * (1 << shift)).astype(np.int32)
    layer = np.zeros_like(img)
    cv2.polylines(layer, [points.reshape(-1, 1, 2)], False, 255, max(1, round(width_mm * PX)),
                  cv2.LINE_AA, shift)
    ink = layer.astype(np.float32) / 255.0
    np.copyto(img, (img * (1 - ink) + darkness * ink).astype(np.uint8))


def signature_points(x0: float, y0: float, width: float, height: float) -> np.ndarray:
    t = np.linspace(0, 1, 240)
    x = x0 + width * t + 0.06 * width * np.sin(2 * np.pi * 6 * t)
    y = y0 + height / 2 + height / 2 * np.sin(2 * np.pi * 3.3 * t) * (0.6 + 0.4 * t)
    return np.stack([x, y], axis=1)


def sign(img: np.ndarray, box: Bbox, *, darkness: int = 25, width_mm: float = 0.5) -> None:
    x0, y0, x1, y1 = box
    stroke(img, signature_points(x0 + 12, y0 + 6, 0.5 * (x1 - x0), 0.45 * (y1 - y0)),
           width_mm, darkness)


def cross_out(img: np.ndarray, box: Bbox) -> None:
    sign(img, box)
    x0, y0, x1, y1 = box
    stroke(img, np.array([[x0 + 8, y0 + 3], [x1 - 20, y1 - 3]]), 0.6, 15)
    stroke(img, np.array([[x0 + 8, y1 - 3], [x1 - 20, y0 + 3]]), 0.6, 15)


def sign_below(img: np.ndarray, box: Bbox) -> None:
    x0, _y0, x1, y1 = box
    stroke(img, signature_points(x0 + 10, y1 + 1.0, 0.4 * (x1 - x0), 3.5), 0.5, 25)


def tick(img: np.ndarray, box: Bbox) -> None:
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    stroke(img, np.array([[cx - 2, cy], [cx - 0.5, cy + 1.8], [cx + 2.5, cy - 2.8]]), 0.5, 20)


def fill(img: np.ndarray, box: Bbox) -> None:
    x0, y0, x1, y1 = box
    for y in np.arange(y0 - 0.5, y1 + 0.5, 0.35):  # back and forth until the box is black
        stroke(img, np.array([[x0 - 0.5, y], [x1 + 0.5, y + 0.2]]), 0.6, 15)


def small_mark(img: np.ndarray, box: Bbox) -> None:
    x0, y0, _x1, _y1 = box
    stroke(img, np.array([[x0 + 30, y0 + 10], [x0 + 32, y0 + 11]]), 0.5, 25)


def line_through(img: np.ndarray, box: Bbox) -> None:
    x0, _y0, x1, y1 = box
    stroke(img, np.array([[x0 - 40, y1 - 3], [x0 + 0.3 * (x1 - x0), y1 - 3]]), 0.5, 20)


MARKS = {"signed": sign, "faint": lambda img, box: sign(img, box, darkness=205, width_mm=0.3),
         "crossed": cross_out, "below": sign_below, "ticked": tick, "filled": fill,
         "line": line_through, "small": small_mark}


def marked_page(pdf: Path, layout: PageLayout, marks: dict[str, str]) -> np.ndarray:
    """The page as printed, with `marks` (box key -> one of MARKS) drawn in."""
    img = render_page(str(pdf), layout.page - 1, DPI).copy()
    for box in layout.boxes:
        if box.key in marks:
            MARKS[marks[box.key]](img, box.bbox)
    return img


def save_pdf(pages: list[np.ndarray], target: Path, *, bitonal: bool = False) -> Path:
    """Pages as an office scanner saves them: one image per page in a PDF."""
    frames = [Image.fromarray(page) for page in pages]
    if bitonal:
        frames = [frame.point(lambda v: 255 if v > 140 else 0).convert("1") for frame in frames]
    frames[0].save(target, save_all=True, append_images=frames[1:], resolution=DPI)
    return target
