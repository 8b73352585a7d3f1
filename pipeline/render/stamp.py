"""The build's stamping stage: measure where a converted plan's signature and tick boxes
really are, then print QR page codes and ArUco corner markers on every page.

Runs on the staged (not yet published) PDF and returns the measured layout, which the build
records with the version. What is printed where is defined in pipeline/printed.py.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import segno
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ..files import sha256_file, temporary_sibling
from ..model import Signer
from ..pagecodes import PageId, encode
from ..printed import (
    ARUCO_DICTIONARY,
    SIGNATURE_LABEL_MAX_PT,
    SIGNATURE_MARK,
    TICK_GLYPH,
    Bbox,
    Box,
    DocumentLayout,
    PageLayout,
    marker_positions,
    qr_positions,
)
from ..signoff import BoxKind

PT_TO_MM = 25.4 / 72
MEASURE_DPI = 200


class LayoutError(Exception):
    """The converted PDF does not have the boxes the plan needs."""


def _aruco_bits(marker_id: int) -> np.ndarray:
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, ARUCO_DICTIONARY))
    return cv2.aruco.generateImageMarker(dictionary, marker_id, 6) < 128  # True = black


def _fill_cells(pdf: canvas.Canvas, cells: np.ndarray, x0: float, y0: float, size: float,
                height: float) -> None:
    """Draw a boolean cell matrix (row 0 at the top) into bbox x0,y0 (mm, top-left)."""
    rows, cols = cells.shape
    cell = size / cols
    for r in range(rows):
        c = 0
        while c < cols:  # one rectangle per horizontal run keeps the PDF small
            if not cells[r, c]:
                c += 1
                continue
            start = c
            while c < cols and cells[r, c]:
                c += 1
            pdf.rect((x0 + start * cell) * mm, (height - y0 - (r + 1) * cell) * mm,
                     (c - start) * cell * mm, cell * mm, stroke=0, fill=1)


def _overlay(pages: Sequence[tuple[float, float]], payloads: Sequence[str]) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for (width, height), payload in zip(pages, payloads, strict=True):
        pdf.setPageSize((width * mm, height * mm))
        pdf.setFillColorRGB(0, 0, 0)
        for marker_id, (x0, y0, x1, _y1) in marker_positions(width, height).items():
            _fill_cells(pdf, _aruco_bits(marker_id), x0, y0, x1 - x0, height)
        qr = segno.make_qr(payload, error="q", version=1, mode="alphanumeric",
                           boost_error=False)
        cells = np.array([list(row) for row in qr.matrix], dtype=bool)
        for x0, y0, x1, _y1 in qr_positions(width, height):
            _fill_cells(pdf, cells, x0, y0, x1 - x0, height)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def qr_png(payload: str, module_px: int = 12) -> bytes:
    """A page code as a PNG (for the editable Word copy, which is not stamped)."""
    buffer = io.BytesIO()
    segno.make_qr(payload, error="q", version=1, mode="alphanumeric",
                  boost_error=False).save(buffer, kind="png", scale=module_px, border=0)
    return buffer.getvalue()


def _add_codes(document: pikepdf.Pdf, page: pikepdf.Page, marks: pikepdf.Page) -> None:
    """Draw `marks` (a page of the overlay, the same size) over `page` as an artifact: the
    codes and corner marks are not part of the plan, and in a tagged PDF everything drawn
    is either tagged content or an artifact, so a screen reader skips them and the tags
    stay whole. Added as a form XObject, without re-parsing the page's content stream
    (about 4x faster than pypdf's merge_page, which a save waits for)."""
    codes = document.copy_foreign(marks.as_form_xobject())
    name = page.add_resource(codes, pikepdf.Name.XObject, prefix="Codes")
    page.contents_add(pikepdf.Stream(document, b"q\n"), prepend=True)
    page.contents_add(pikepdf.Stream(
        document, b"Q\n/Artifact BMC\nq\n" + bytes(name.unparse()) + b" Do\nQ\nEMC\n"))


def stamp_pdf(source: Path, target: Path, token: str, secret: bytes) -> None:
    # The document's structure (tags), language, metadata and PDF/A identification are
    # kept as LibreOffice wrote them.
    with pikepdf.open(source) as document:
        sizes = [(float(p.mediabox[2] - p.mediabox[0]) * PT_TO_MM,
                  float(p.mediabox[3] - p.mediabox[1]) * PT_TO_MM) for p in document.pages]
        payloads = [encode(PageId(token, n), secret) for n in range(1, len(sizes) + 1)]
        with pikepdf.open(io.BytesIO(_overlay(sizes, payloads))) as overlay:
            for page, marks in zip(document.pages, overlay.pages, strict=True):
                _add_codes(document, page, marks)
        document.save(target)


# -- measuring boxes ------------------------------------------------------------------------
def _char_bbox(textpage: pdfium.PdfTextPage, index: int, height_pt: float) -> Bbox:
    left, bottom, right, top = textpage.get_charbox(index)
    return (left * PT_TO_MM, (height_pt - top) * PT_TO_MM, right * PT_TO_MM,
            (height_pt - bottom) * PT_TO_MM)


def _run_length(values: np.ndarray) -> int:
    """Length of the dark run at the start of `values`, bridging gaps of 2 pixels."""
    gap, end = 0, 0
    for i, dark in enumerate(values):
        if dark:
            end, gap = i, 0
        else:
            gap += 1
            if gap > 2:
                break
    return end


def _border_around(ink: np.ndarray, x: int, y: int) -> tuple[int, int, int, int] | None:
    """The rectangle whose top edge is just above pixel (x, y): walk up to the border,
    then along it both ways to the corners, then down the left edge. The mark is at the
    top of its box, at the left in a left-to-right plan and at the right in a right-to-left
    one, so the walk starts upwards, where only the border is."""
    h, w = ink.shape
    y0 = next((j for j in range(y, -1, -1) if ink[j, x]), None)
    if y0 is None:
        return None
    # follow a band 3 px thick so a border drawn at a fractional position is not lost
    top_band = ink[max(0, y0 - 1): y0 + 2, :].any(axis=0)
    x0 = x - _run_length(top_band[x::-1])
    x1 = x + _run_length(top_band[x:])
    left_band = ink[y0:, max(0, x0 - 1): x0 + 2].any(axis=1)
    y1 = y0 + _run_length(left_band)
    if x1 - x0 < 20 or y1 - y0 < 20 or x1 >= w or y1 >= h:
        return None
    return x0, y0, x1, y1


def _char(raw: object, index: int) -> str:
    code = pdfium_c.FPDFText_GetUnicode(raw, index)
    return "\ufffd" if code == 0 or 0xD800 <= code <= 0xDFFF else chr(code)


def measure_layout(pdf_path: Path, step_ids: Sequence[str],
                   signers: Sequence[Signer]) -> list[PageLayout]:
    """Tick boxes (one glyph per step, in step order) and signature boxes (one per signer,
    in signer order) as measured on the PDF itself."""
    document = pdfium.PdfDocument(str(pdf_path))
    pages: list[PageLayout] = []
    ticks: list[tuple[int, Bbox]] = []
    signature_boxes: list[tuple[int, Bbox]] = []
    try:
        for number, page in enumerate(document, start=1):
            width_pt, height_pt = page.get_size()
            pages.append(PageLayout(number, width_pt * PT_TO_MM, height_pt * PT_TO_MM))
            textpage = page.get_textpage()
            # One string position per pdfium char index (never get_text_range, which may
            # insert characters): a character beyond 16 bits (emoji) takes two indices, each
            # half of it shown as U+FFFD. One call per character, no text buffers: this was
            # most of the time a plan takes to measure.
            chars = "".join(_char(textpage.raw, i) for i in range(textpage.count_chars()))
            for index, char in enumerate(chars):
                if char == TICK_GLYPH:
                    ticks.append((number, _char_bbox(textpage, index, height_pt)))
            found = [index for index, char in enumerate(chars) if char == SIGNATURE_MARK
                     and pdfium_c.FPDFText_GetFontSize(textpage.raw, index)
                     <= SIGNATURE_LABEL_MAX_PT]
            if not found:
                continue
            scale = MEASURE_DPI / 72
            gray = np.asarray(page.render(scale=scale, grayscale=True).to_numpy())
            if gray.ndim == 3:
                gray = gray[..., 0]
            ink = gray < 160
            px = MEASURE_DPI / 25.4
            for index in found:
                mark = _char_bbox(textpage, index, height_pt)
                x, y = int((mark[0] + mark[2]) / 2 * px), int((mark[1] - 0.2) * px)
                rect = _border_around(ink, x, y)
                if rect is None:
                    raise LayoutError(f"page {number}: no border found around a signature "
                                      "box's mark; check the template's signing section")
                signature_boxes.append((number, tuple(v / px for v in rect)))
    finally:
        document.close()
    if len(ticks) != len(step_ids):
        raise LayoutError(f"the PDF has {len(ticks)} 'Done' boxes but the plan has "
                          f"{len(step_ids)} open steps, so LibreOffice left steps out; an "
                          "older template lets it (its goal rows may not split across "
                          "pages): take the new one (move templates/support_plan.docx "
                          "aside, run `supportplan init`, then make your changes again), "
                          "or check the template's goals table")
    if len(signature_boxes) != len(signers):
        raise LayoutError(f"the PDF has {len(signature_boxes)} signature boxes but the plan "
                          f"has {len(signers)} signers; check the template's signature block")
    for (number, bbox), step_id in zip(ticks, step_ids, strict=True):
        pages[number - 1].boxes.append(Box(BoxKind.TICK, step_id, _rounded(bbox)))
    for (number, bbox), signer in zip(signature_boxes, signers, strict=True):
        pages[number - 1].boxes.append(Box(BoxKind.SIGNATURE, signer.key, _rounded(bbox),
                                           signer.role))
    return pages


def _rounded(bbox: Bbox) -> Bbox:
    x0, y0, x1, y1 = bbox
    return (round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2))


def stamp_plan(pdf_path: Path, step_ids: Sequence[str], signers: Sequence[Signer],
               secret: bytes, token: str) -> DocumentLayout:
    """Measure, then stamp `pdf_path` in place (through a temp file) with codes carrying
    `token`. The staged PDF is not published yet, so replacing it is safe."""
    pages = measure_layout(pdf_path, step_ids, signers)
    with temporary_sibling(pdf_path) as temp:
        stamp_pdf(pdf_path, temp, token, secret)
        os.replace(temp, pdf_path)
    return DocumentLayout(token, sha256_file(pdf_path), pages)
