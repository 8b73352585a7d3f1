"""Read one scanned page: identify, align, decide. Pure apart from rendering originals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pypdfium2 as pdfium

from .align import AlignError, align, identify, warp
from .detect import BoxResult, Mark, Thresholds, decide_boxes, find_marks, new_ink, original_ink
from .store import KnownPage

MATCHED, QUARANTINED = "matched", "quarantined"


@dataclass
class PageResult:
    """One page of one scan; `to_json` is the contract printed by `reconcile --json`."""

    file: str
    page_index: int
    status: str
    reason: str = ""
    household: str | None = None
    version: int | None = None
    page: int | None = None
    version_id: int | None = None
    boxes: list[BoxResult] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    fit_mm: float | None = None
    aligned: np.ndarray | None = None  # the scan on the original page, for review crops

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file, "page_index": self.page_index, "status": self.status,
            "reason": self.reason, "household": self.household, "version": self.version,
            "page": self.page,
            "signatures": [{"signer": b.key, "role": b.role, "state": b.state,
                            "score": b.score, "bbox": list(b.bbox)}
                           for b in self.boxes if b.kind == "signature"],
            "ticks": [{"step_id": b.key, "state": b.state, "score": b.score,
                       "bbox": list(b.bbox)} for b in self.boxes if b.kind == "tick"],
            "marks": [{"bbox": list(m.bbox), "kind": m.kind} for m in self.marks],
        }


@lru_cache(maxsize=16)
def _original(pdf_path: str, page: int, dpi: int) -> tuple[np.ndarray, np.ndarray]:
    """The original page rendered at the working resolution, and its grown ink mask."""
    document = pdfium.PdfDocument(pdf_path)
    try:
        gray = document[page - 1].render(scale=dpi / 72, grayscale=True).to_numpy()
    finally:
        document.close()
    gray = np.ascontiguousarray(gray[..., 0] if gray.ndim == 3 else gray)
    return gray, original_ink(gray, dpi)


def read_page(gray: np.ndarray, *, file: str, page_index: int, secret: bytes,
              lookup: Callable[[str, int], KnownPage | None], dpi: int,
              thresholds: Thresholds, keep_aligned: bool = False) -> PageResult:
    result = PageResult(file, page_index, QUARANTINED)
    found = identify(gray, secret)
    if found.page_id is None:
        result.reason = found.reason
        return result
    known = lookup(found.page_id.token, found.page_id.page)
    if known is None:
        result.reason = ("the page code is authentic but no plan version with it is in the "
                         "registry (was the registry replaced?)")
        return result
    result.household, result.version, result.page = known.household, known.version, \
        known.layout.page
    result.version_id = known.version_id
    if not known.pdf_path:
        result.reason = "the original plan PDF is not recorded, so the scan cannot be compared"
        return result
    layout = known.layout
    try:
        alignment = align(gray, layout.width_mm, layout.height_mm)
        original, grown = _original(known.pdf_path, layout.page, dpi)
    except AlignError as exc:
        result.reason = str(exc)
        return result
    except (pdfium.PdfiumError, OSError) as exc:
        result.reason = (f"the original plan PDF {known.pdf_path} cannot be opened ({exc}); "
                         "it is needed to compare the scan")
        return result
    aligned = warp(gray, alignment, (original.shape[1], original.shape[0]), dpi)
    fresh = new_ink(aligned, grown, dpi)
    result.status = MATCHED
    result.fit_mm = round(alignment.fit_mm, 3)
    result.boxes = decide_boxes(fresh, layout, dpi, thresholds)
    result.marks = find_marks(fresh, original, layout, dpi)
    if keep_aligned:
        result.aligned = aligned
    return result
