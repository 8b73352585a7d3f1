"""Page geometry in millimetres from the page's top-left corner.

Fixed marks (the same on every page, placed in the margins the template keeps free) and
the measured boxes of one plan page. Box positions are measured on the real converted PDF,
never guessed from the template.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

Bbox = tuple[float, float, float, float]  # x0, y0, x1, y1 in mm from the top-left corner

MARKER_MM = 8.0  # ArUco 4x4 markers: 8-10 mm were found on every trial scan, 4 mm were not
EDGE_MM = 10.0  # markers keep 10 mm from the paper edge (scanner and photo cropping)
MODULE_MM = 0.8  # QR module size: >= 0.8 mm survives phone photos
QR_MODULES = 21  # version 1
QR_MM = MODULE_MM * QR_MODULES


def marker_positions(width: float, height: float) -> dict[int, Bbox]:
    """ArUco id -> bbox, one marker in each corner (id 0 top-left, clockwise)."""
    m, e = MARKER_MM, EDGE_MM
    return {0: (e, e, e + m, e + m), 1: (width - e - m, e, width - e, e + m),
            2: (width - e - m, height - e - m, width - e, height - e),
            3: (e, height - e - m, e + m, height - e)}


def qr_positions(width: float, height: float) -> list[Bbox]:
    """Two codes in opposite corners (top right, bottom left), beside the markers and in
    the margins the template keeps free: a staple, a hole punch or a torn edge leaves the
    other one readable."""
    right = width - EDGE_MM - MARKER_MM - 6.0
    left = EDGE_MM + MARKER_MM + 5.0
    bottom = height - EDGE_MM + 2.0  # level with the footer, well below the body
    return [(right - QR_MM, EDGE_MM, right, EDGE_MM + QR_MM),
            (left, bottom - QR_MM, left + QR_MM, bottom)]


def marker_corners(width: float, height: float) -> dict[int, np.ndarray]:
    """ArUco id -> its 4 corners (TL, TR, BR, BL) in mm, the order OpenCV reports them."""
    out = {}
    for marker_id, (x0, y0, x1, y1) in marker_positions(width, height).items():
        out[marker_id] = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    return out


@dataclass(frozen=True)
class Box:
    kind: str  # "signature" or "tick"
    key: str  # signer key or step id
    bbox: Bbox
    role: str = ""  # for signatures: the signer's role


@dataclass
class PageLayout:
    page: int  # 1-based
    width_mm: float
    height_mm: float
    boxes: list[Box] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "width_mm": self.width_mm, "height_mm": self.height_mm,
                "boxes": [asdict(box) for box in self.boxes]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PageLayout:
        return cls(int(data["page"]), float(data["width_mm"]), float(data["height_mm"]),
                   [Box(b["kind"], b["key"], tuple(b["bbox"]), b.get("role", ""))
                    for b in data["boxes"]])


@dataclass
class DocumentLayout:
    """What the registry keeps per plan version to read its scans back."""

    token: str
    pdf_sha256: str
    pages: list[PageLayout]
