"""Pictures of each box as scanned, so a person can judge an uncertain box and anyone can
check a decision afterwards: a signature with room around it, a tick box with its step's
text beside it (the whole row, as printed and marked)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import cv2

from ..files import write_new
from ..printed import BODY_SIDE_MM, Box
from ..signoff import BoxKind, BoxResult
from .align import warp_region
from .read import PageReading

CROP_DPI = 200
SIGNATURE_MARGIN_MM = 4.0
TICK_ROW_MM = 8.0  # above and below the tick box: the step's row


def crop_region(box: Box | BoxResult) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = box.bbox
    if box.kind is BoxKind.SIGNATURE:
        m = SIGNATURE_MARGIN_MM
        return (x0 - m, y0 - m, x1 + m, y1 + m)
    return (BODY_SIDE_MM - 2, y0 - TICK_ROW_MM, x1 + 4, y1 + TICK_ROW_MM)


def write_crops(reading: PageReading, folder: Path, scan_short: str) -> dict[int, Path]:
    """Write a crop of every box of a matched page into `folder`; returns box index ->
    crop path. A crop already there (the same scan read again) is kept as it is."""
    result = reading.result
    if reading.gray is None or reading.alignment is None:
        return {}
    written: dict[int, Path] = {}
    for index, box in enumerate(result.boxes):
        image = warp_region(reading.gray, reading.alignment, crop_region(box), CROP_DPI)
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 6])
        if not ok:
            continue
        target = folder / f"{scan_short}-p{result.page}-{box.kind}-{box.key}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            write_new(target, lambda temp, data=data: temp.write_bytes(data.tobytes()))
        written[index] = target
    return written
