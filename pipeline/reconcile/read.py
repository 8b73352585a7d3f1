"""Read one scanned page: identify it, line it up with the original, decide its boxes, find
other handwriting, and say what limits the reading. Pure apart from rendering originals."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium

from ..pagecodes import WORD_COPY_PAGE
from ..printed import PageLayout
from ..registry import KnownPage
from ..signoff import PageResult, PageStatus
from .align import AlignError, Alignment, align, identify, scan_dpi, warp, warp_region
from .boxes import BOX_DPI, BOX_PAPER_MM, Thresholds, decide, region_mm
from .ink import darkness, printed_ink
from .marks import faint_ink, find_frames, find_marks, find_streaks, page_ink, streak_mask

LOW_DPI = 140  # below this, thin or faint strokes may not survive the scan

BITONAL_NOTE = ("black-and-white (1-bit) scan: faint pen may have been lost in it, so a "
                "blank box may not be blank; scan in greyscale or colour next time")
WORD_COPY_REASON = ("this page was printed from the editable Word file of {plan}, which has no "
                    "page codes, so its signatures and ticks cannot be read; print the PDF "
                    "({pdf}), sign that and scan it")
NOT_ISSUED_REASON = ("this page is from a plan for {household} that was never issued (its "
                     "build stopped before it finished), so it is not a plan on record; print "
                     "the current plan PDF from output/{household}/, sign that and scan it")
UNKNOWN_CODE_REASON = ("the page code was made in this office, but no issued plan version "
                       "carries it: the page may be from a build that was stopped and set "
                       "aside, or the registry was replaced by an older copy; print the "
                       "household's current plan PDF, sign that and scan it")
LOW_DPI_NOTE = ("low-resolution scan (about {0:.0f} dpi): thin or faint pen may have been "
                "lost; scan at 200-300 dpi next time")


@dataclass(frozen=True)
class ReadSettings:
    work_dpi: int = 150  # the page as a whole (handwriting outside the boxes)
    box_dpi: int = BOX_DPI  # each box, fine enough to keep thin strokes
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass
class PageReading:
    """A page's result, with the scan and its alignment for the crops of its boxes."""

    result: PageResult
    gray: np.ndarray | None = None
    alignment: Alignment | None = None


@dataclass(frozen=True)
class OriginalPage:
    page: np.ndarray  # the whole page at the working resolution
    boxes: tuple[np.ndarray, ...]  # each box's region at the box resolution


def looks_bitonal(gray: np.ndarray) -> bool:
    """Only black and white (allowing JPEG ringing near the edges): a 1-bit scan."""
    sample = gray[::4, ::4]
    middle = np.count_nonzero((sample > 48) & (sample < 207))
    return middle < 0.002 * sample.size


def _render(document: pdfium.PdfDocument, page: int, dpi: int,
            region: tuple[float, float, float, float] | None = None) -> np.ndarray:
    pdf_page = document[page - 1]
    crop = (0.0, 0.0, 0.0, 0.0)
    if region is not None:
        width_pt, height_pt = pdf_page.get_size()
        x0, y0, x1, y1 = (v * 72 / 25.4 for v in region)
        crop = (max(0.0, x0), max(0.0, height_pt - y1), max(0.0, width_pt - x1), max(0.0, y0))
    gray = pdf_page.render(scale=dpi / 72, grayscale=True, crop=crop).to_numpy()
    return np.ascontiguousarray(gray[..., 0] if gray.ndim == 3 else gray)


@lru_cache(maxsize=16)
def _original(pdf_path: str, layout_json: str, work_dpi: int, box_dpi: int) -> OriginalPage:
    layout = PageLayout.from_json(json.loads(layout_json))
    document = pdfium.PdfDocument(pdf_path)
    try:
        return OriginalPage(_render(document, layout.page, work_dpi), tuple(
            _render(document, layout.page, box_dpi, region_mm(box, search=False))
            for box in layout.boxes))
    finally:
        document.close()


def original_page(pdf_path: str, layout: PageLayout, settings: ReadSettings) -> OriginalPage:
    """The original page and its boxes, rendered once per page (pages repeat in a batch)."""
    return _original(pdf_path, json.dumps(layout.to_json(), sort_keys=True), settings.work_dpi,
                     settings.box_dpi)


VersionLookup = Callable[[str], tuple[str, int, str | None] | None]


class PageReader:
    def __init__(self, secret: bytes, lookup: Callable[[str, int], KnownPage | None],
                 settings: ReadSettings | None = None,
                 version_lookup: VersionLookup | None = None) -> None:
        self.secret = secret
        self.lookup = lookup
        self.version_lookup = version_lookup
        self.settings = settings or ReadSettings()

    def read(self, gray: np.ndarray, *, file: str, page_index: int,
             bitonal: bool | None = None) -> PageReading:
        result = PageResult(file, page_index, PageStatus.QUARANTINED)
        reading = PageReading(result)
        found = identify(gray, self.secret)
        if found.page_id is None:
            result.reason = found.reason
            return reading
        if found.page_id.page == WORD_COPY_PAGE:
            return self._word_copy(found.page_id.token, reading)
        known = self.lookup(found.page_id.token, found.page_id.page)
        if known is None:
            result.reason = self._not_issued(found.page_id.token)
            return reading
        result.household, result.version = known.household, known.version
        result.page, result.version_id = known.layout.page, known.version_id
        result.review_id = known.review_id
        if known.latest_version > known.version and known.review_id is None:
            result.superseded_by = known.latest_version
        if not known.pdf_path:
            result.reason = "the original plan PDF is not recorded, so the scan cannot be compared"
            return reading
        layout = known.layout
        try:
            alignment = align(gray, layout.width_mm, layout.height_mm)
            original = original_page(known.pdf_path, layout, self.settings)
        except AlignError as exc:
            result.reason = str(exc)
            return reading
        except (pdfium.PdfiumError, OSError) as exc:
            result.reason = (f"the original plan PDF {known.pdf_path} cannot be opened ({exc}); "
                             "it is needed to compare the scan")
            return reading
        self._decide(gray, alignment, layout, original, result)
        if looks_bitonal(gray) if bitonal is None else bitonal:
            result.notes.append(BITONAL_NOTE)
        if (dpi := scan_dpi(alignment)) < LOW_DPI:
            result.notes.append(LOW_DPI_NOTE.format(dpi))
        reading.gray, reading.alignment = gray, alignment
        return reading

    def _not_issued(self, token: str) -> str:
        """Why an authentic code matches no issued version: its version is still being
        published or its build was stopped (recovery keeps it out of the record), or the
        registry does not know the code at all."""
        known = self.version_lookup(token) if self.version_lookup else None
        if known is not None:
            return NOT_ISSUED_REASON.format(household=known[0])
        return UNKNOWN_CODE_REASON

    def _word_copy(self, token: str, reading: PageReading) -> PageReading:
        """A page printed from the editable Word file: it carries no page codes for its
        boxes, so nothing on it can be read; say which plan it is and what to print."""
        result = reading.result
        known = self.version_lookup(token) if self.version_lookup else None
        if known is None:
            result.reason = WORD_COPY_REASON.format(plan="a plan", pdf="the plan's PDF")
            return reading
        result.household, result.version = known[0], known[1]
        pdf = Path(known[2]).name if known[2] else f"the PDF of {known[0]} v{known[1]}"
        result.reason = WORD_COPY_REASON.format(plan=f"{known[0]} v{known[1]}", pdf=pdf)
        return reading

    def _decide(self, gray: np.ndarray, alignment: Alignment, layout: PageLayout,
                original: OriginalPage, result: PageResult) -> None:
        settings = self.settings
        work_px, box_px = settings.work_dpi / 25.4, settings.box_dpi / 25.4
        aligned = warp(gray, alignment, (original.page.shape[1], original.page.shape[0]),
                       settings.work_dpi)
        page_dark = darkness(aligned, work_px)
        # the page's printing and its faintest ink, found once for all that follows
        page_printed = printed_ink(original.page)
        faint = faint_ink(page_dark, page_printed, work_px)
        streaks = find_streaks(faint, work_px)
        ink = page_ink(page_dark, page_printed, work_px, streaks)
        frames = find_frames(page_dark, faint, page_printed, work_px, streaks)
        for box, box_original in zip(layout.boxes, original.boxes, strict=True):
            area = region_mm(box, search=True)
            region = warp_region(gray, alignment, area, settings.box_dpi)
            # a copier's streak or a coffee ring's edge crossing the box is not a mark
            ignore = frames.outline_in(area, region.shape, work_px)
            if streaks:
                ignore |= streak_mask(streaks, region.shape, area[:2], box_px)
            result.boxes.append(decide(box, darkness(region, box_px, BOX_PAPER_MM), box_original,
                                       box_px, settings.thresholds, ignore))
        result.marks = find_marks(ink, page_printed, layout, work_px, frames)
        result.status = PageStatus.MATCHED
        result.fit_mm = round(alignment.fit_mm, 3)
