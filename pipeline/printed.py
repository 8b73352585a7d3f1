"""The printed page: facts shared by the template, the stamper and the reader of scans.

The Word template leaves room for the page codes and corner markers and prints the glyphs
the stamper measures; the stamper draws the codes and markers and records where the boxes
are; the reader finds the same codes and markers on a scan and reads the same boxes. Each
fact is defined here once, and none of the three imports the others.

All geometry is in millimetres from the page's top-left corner.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .signoff import BoxKind

if TYPE_CHECKING:
    import numpy as np

Bbox = tuple[float, float, float, float]  # x0, y0, x1, y1 in mm from the top-left corner

PAGE_WIDTH_MM, PAGE_HEIGHT_MM = 210.0, 297.0  # A4

# ArUco 4x4 markers, one in each corner: 8-10 mm were found on every trial scan, 4 mm were
# not. Named, not imported from OpenCV, so the template builder needs no OpenCV.
ARUCO_DICTIONARY = "DICT_4X4_50"
MARKER_MM = 8.0
EDGE_MM = 10.0  # markers keep 10 mm from the paper edge (scanner and photo cropping)
MODULE_MM = 0.8  # QR module size: >= 0.8 mm survives phone photos
QR_MODULES = 21  # version 1
QR_MM = MODULE_MM * QR_MODULES

# Margins the template keeps free for the codes and markers: the body starts this far from
# the top edge (a QR code top right) and ends this far above the bottom edge (a QR code
# bottom left, beside the footer); side margins clear the corner markers.
BODY_TOP_MM = 30.0
BODY_BOTTOM_MM = 31.0
BODY_SIDE_MM = 18.0

# The "Done" box of a step: this glyph, once per step row and nowhere else on the page.
TICK_GLYPH = "\u2610"  # ☐
TICK_FONT = "DejaVu Sans"
TICK_PT = 14
# Ticks overshoot the printed box: the reader looks this far around it.
TICK_MARGIN_MM = 1.5

# Each signature box carries this mark once, top-left inside its border, before the word
# "Signature" in the plan's language; set smaller than any text from the workbook (and
# never printed from it), so nothing else is taken for a box. A glyph, not a word, so a
# translated or reworded template is measured the same way.
SIGNATURE_MARK = "\u270d"  # ✍
# Named on the mark's run: left to fallback, LibreOffice draws it with an emoji font where
# one is installed (Noto Color Emoji), as a picture the stamper cannot find.
SIGNATURE_MARK_FONT = TICK_FONT
SIGNATURE_LABEL_PT = 7
SIGNATURE_LABEL_MAX_PT = 7.5  # what the stamper accepts as the mark when measuring
SMALLEST_WORKBOOK_TEXT_PT = 8


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
    import numpy as np  # for the scan reader; the rest of this module is needed everywhere

    out = {}
    for marker_id, (x0, y0, x1, y1) in marker_positions(width, height).items():
        out[marker_id] = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)
    return out


@dataclass(frozen=True)
class Box:
    kind: BoxKind
    key: str  # signer key or step id
    bbox: Bbox
    role: str = ""  # for signatures: the signer's role


@dataclass
class PageLayout:
    """Where one printed page's boxes are, measured on the real PDF at build time."""

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
                   [Box(BoxKind(b["kind"]), b["key"], tuple(b["bbox"]), b.get("role", ""))
                    for b in data["boxes"]])


@dataclass
class DocumentLayout:
    """What the registry keeps per plan version to read its scans back."""

    token: str
    pdf_sha256: str
    pages: list[PageLayout]
