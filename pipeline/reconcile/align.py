"""Identify a scanned page from its QR code and map it onto the original page.

The four ArUco corner markers give 16 point pairs; a RANSAC homography copes with any
90-degree rotation, skew, scale and the perspective of a phone photo. A page is aligned
only when at least three markers are found and they fit well (the residual is reported;
a poor fit is refused rather than guessed, as Auto Multiple Choice does).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp

from ..pagecodes import CodeError, PageId, decode
from ..printed import ARUCO_DICTIONARY, marker_corners

DETECT_LONG_SIDE = 2400  # markers are found on a copy at most this large (speed)
MAX_FIT_MM = 1.0


class AlignError(Exception):
    pass


@dataclass
class Identified:
    page_id: PageId | None
    reason: str = ""


def identify(gray: np.ndarray, secret: bytes) -> Identified:
    """The authentic page id on the page, or why there is none."""
    reason = ""
    for image in _qr_attempts(gray):
        try:
            found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        except Exception:  # zxing refuses odd shapes; treat as nothing found
            found = []
        for code in found:
            try:
                return Identified(decode(code.text, secret))
            except CodeError as exc:
                reason = str(exc)
    return Identified(None, reason or "no page code (QR) could be read on this page: it "
                      "may not be a supportplan page, or the corners with the codes (top right, "
                      "bottom left) are missing or damaged; scan the whole page again")


def _qr_attempts(gray: np.ndarray) -> list[np.ndarray]:
    """The page as it is, then a smaller copy (very high dpi or blur), then the top and
    bottom thirds enlarged (phone photos where the code is small)."""
    attempts = [gray]
    long_side = max(gray.shape)
    if long_side > 2600:
        scale = 2000 / long_side
        attempts.append(cv2.resize(gray, None, fx=scale, fy=scale,
                                   interpolation=cv2.INTER_AREA))
    else:
        attempts.append(cv2.GaussianBlur(gray, (3, 3), 0))
    return attempts


_detector: cv2.aruco.ArucoDetector | None = None


def _aruco() -> cv2.aruco.ArucoDetector:
    global _detector
    if _detector is None:
        params = cv2.aruco.DetectorParameters()
        params.cornerRefinementMethod = cv2.aruco.CORNER_REFINE_SUBPIX
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, ARUCO_DICTIONARY))
        _detector = cv2.aruco.ArucoDetector(dictionary, params)
    return _detector


def find_markers(gray: np.ndarray) -> dict[int, np.ndarray]:
    """ArUco id -> its four corners in the scan's pixels."""
    scale = min(1.0, DETECT_LONG_SIDE / max(gray.shape))
    small = gray if scale == 1.0 else cv2.resize(gray, None, fx=scale, fy=scale,
                                                 interpolation=cv2.INTER_AREA)
    found: dict[int, np.ndarray] = {}
    # Further tries when a corner is missing: a median-filtered copy (speckle from noisy
    # black-and-white scans breaks the markers' borders), then one with the black thinned
    # a little (a photocopy of a photocopy thickens the markers until their cells merge).
    tries = (lambda: small, lambda: cv2.medianBlur(small, 3),
             lambda: cv2.dilate(small, np.ones((3, 3), np.uint8)))
    for attempt in tries:
        if len(found) == 4:
            break
        corners, ids, _rejected = _aruco().detectMarkers(attempt())
        if ids is None:
            continue
        for quad, marker_id in zip(corners, ids.ravel(), strict=True):
            if int(marker_id) in (0, 1, 2, 3) and int(marker_id) not in found:
                found[int(marker_id)] = quad.reshape(4, 2) / scale
    return found


@dataclass
class Alignment:
    homography: np.ndarray  # scan pixels -> original page millimetres
    fit_mm: float  # RMS residual of the marker corners
    markers: int


def align(gray: np.ndarray, width_mm: float, height_mm: float) -> Alignment:
    markers = find_markers(gray)
    if len(markers) < 3:
        raise AlignError(f"only {len(markers)} of the 4 corner marks were found, so the page "
                         "cannot be lined up with the original; scan the whole page, flat, "
                         "with all four corners visible")
    expected = marker_corners(width_mm, height_mm)
    src = np.concatenate([markers[i] for i in sorted(markers)]).astype(np.float32)
    dst = np.concatenate([expected[i] for i in sorted(markers)]).astype(np.float32)
    homography, _mask = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
    if homography is None:
        raise AlignError("the corner marks do not fit the page shape; scan the page again")
    projected = cv2.perspectiveTransform(src.reshape(-1, 1, 2), homography).reshape(-1, 2)
    fit = float(np.sqrt(np.mean(np.sum((projected - dst) ** 2, axis=1))))
    if fit > MAX_FIT_MM:
        raise AlignError(f"the corner marks fit the original page poorly ({fit:.1f} mm off); "
                         "the paper may be folded or curled: flatten it and scan again")
    return Alignment(homography, fit, len(markers))


def warp(gray: np.ndarray, alignment: Alignment, size: tuple[int, int],
         dpi: float) -> np.ndarray:
    """The scan resampled onto the original page at `dpi`, `size` (width, height) pixels
    (white outside the scan).

    A high-resolution scan is first shrunk by area averaging, so thin pen strokes are
    averaged in rather than skipped by point sampling."""
    px = dpi / 25.4
    homography = alignment.homography
    factor = 1.2 * dpi / scan_dpi(alignment)
    if factor < 0.8:
        gray = cv2.resize(gray, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        homography = homography @ np.diag([1 / factor, 1 / factor, 1.0])
    to_px = np.diag([px, px, 1.0])
    return cv2.warpPerspective(gray, to_px @ homography, size, flags=cv2.INTER_LINEAR,
                               borderValue=255)


def scan_dpi(alignment: Alignment) -> float:
    """The scan's own resolution on the page, from how the markers map onto it."""
    h = alignment.homography
    mm_per_px = max(abs(np.linalg.det(h[:2, :2] / h[2, 2])), 1e-12) ** 0.5
    return 25.4 / mm_per_px


def warp_region(gray: np.ndarray, alignment: Alignment, region: tuple[float, float, float,
                float], dpi: float) -> np.ndarray:
    """One region of the original page (x0, y0, x1, y1 in mm) cut from the scan and
    resampled at `dpi` (white outside the scan)."""
    px = dpi / 25.4
    x0, y0, x1, y1 = region
    to_region = np.array([[px, 0, -x0 * px], [0, px, -y0 * px], [0, 0, 1]])
    size = (max(1, round((x1 - x0) * px)), max(1, round((y1 - y0) * px)))
    return cv2.warpPerspective(gray, to_region @ alignment.homography, size,
                               flags=cv2.INTER_LINEAR, borderValue=255)
