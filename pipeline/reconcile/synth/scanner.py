"""Putting the paper through a scanner: office flatbed (greyscale or 1-bit), "fit to page"
printing. Optionally carries along the map of which box each ink pixel belongs to, so a
1-bit scan can tell which boxes' ink it erased."""

from __future__ import annotations

import cv2
import numpy as np


def fit_to_page(img: np.ndarray, scale: float = 0.94) -> np.ndarray:
    """The page printed with "fit to page": shrunk about its centre, white margins."""
    h, w = img.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, scale)
    return cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_AREA, borderValue=255)


def flatbed(img: np.ndarray, px: float, rng: np.random.Generator, *, skew: float = 1.5,
            noise: tuple[float, float] = (1.5, 4.0),
            owner: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """A greyscale flatbed: paper a little grey and unevenly lit, slightly skewed on the
    glass, the optics' blur and the sensor's noise."""
    h, w = img.shape
    out = img.astype(np.float32) * rng.uniform(0.93, 0.99)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    out *= 1 - rng.uniform(0, 0.06) * ramp
    degrees = rng.uniform(-skew, skew)
    if abs(degrees) > 0.05:
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
        nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
        matrix[0, 2] += nw / 2 - w / 2
        matrix[1, 2] += nh / 2 - h / 2
        out = cv2.warpAffine(out, matrix, (nw, nh), flags=cv2.INTER_LINEAR,
                             borderValue=float(rng.uniform(235, 252)))
        if owner is not None:
            owner = cv2.warpAffine(owner, matrix, (nw, nh), flags=cv2.INTER_NEAREST)
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 0.7) * px / 8)
    out += rng.normal(0, rng.uniform(*noise), out.shape).astype(np.float32)
    return out.clip(0, 255).astype(np.uint8), owner


def threshold(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A 1-bit scanner's fixed threshold, 110-170."""
    t = float(rng.uniform(110, 170))
    return np.where(img < t, 0, 255).astype(np.uint8), t


def ink_kept(bitonal: np.ndarray, owner: np.ndarray, label: int) -> tuple[float, int]:
    """Share and count of box `label`'s ink pixels still black."""
    mine = owner == label
    total = int(mine.sum())
    if not total:
        return 0.0, 0
    kept = int((bitonal[mine] == 0).sum())
    return kept / total, kept


def finish(img: np.ndarray, rng: np.random.Generator, *, jpeg: float = 0.4) -> np.ndarray:
    """Page orientation as fed (mostly upright) and, sometimes, JPEG compression."""
    turns = int(rng.choice(4, p=[0.6, 0.1, 0.2, 0.1]))
    if turns:
        img = np.ascontiguousarray(np.rot90(img, turns))
    if rng.random() < jpeg:
        ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY,
                                              int(rng.integers(70, 93))])
        img = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return img
