"""Make a converted plan PDF trackable: QR codes + ArUco corner markers on every page, and
measure where its signature and tick boxes really are.

Runs as the build's PDF post-processor, on the staged (not yet published) PDF.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import segno
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ..config import Config
from ..files import sha256_file, temporary_sibling
from ..model import Signer
from .codes import PageId, encode, load_secret, new_token
from .layout import Bbox, Box, DocumentLayout, PageLayout, marker_positions, qr_positions

if TYPE_CHECKING:
    from ..build import PlannedVersion

PT_TO_MM = 25.4 / 72
TICK_GLYPH = "\u2610"  # the template's "Done" box, one per step row
SIGNATURE_WORD = "Signature"  # printed once at the top-left inside each signature box
# The box label is set in 7 pt; all text a household or caseworker typed is 8 pt or larger,
# so a step that mentions a "Signature" is never taken for a box.
SIGNATURE_LABEL_MAX_PT = 7.5
ARUCO_DICT = cv2.aruco.DICT_4X4_50
MEASURE_DPI = 200


class LayoutError(Exception):
    """The converted PDF does not have the boxes the plan needs."""


def _aruco_bits(marker_id: int) -> np.ndarray:
    dictionary = cv2.aruco.getPredefinedDictionary(ARUCO_DICT)
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


def stamp_pdf(source: Path, target: Path, token: str, secret: bytes) -> None:
    # pikepdf (qpdf) adds each overlay as a form XObject without re-parsing the page's
    # content stream: about 4x faster than pypdf's merge_page, which a save waits for.
    with pikepdf.open(source) as document:
        sizes = [(float(p.mediabox[2] - p.mediabox[0]) * PT_TO_MM,
                  float(p.mediabox[3] - p.mediabox[1]) * PT_TO_MM) for p in document.pages]
        payloads = [encode(PageId(token, n), secret) for n in range(1, len(sizes) + 1)]
        with pikepdf.open(io.BytesIO(_overlay(sizes, payloads))) as overlay:
            for page, marks in zip(document.pages, overlay.pages, strict=True):
                page.add_overlay(marks)
        document.save(target)


# -- measuring boxes ------------------------------------------------------------------------
def _char_bbox(textpage: pdfium.PdfTextPage, index: int, height_pt: float) -> Bbox:
    left, bottom, right, top = textpage.get_charbox(index)
    return (left * PT_TO_MM, (height_pt - top) * PT_TO_MM, right * PT_TO_MM,
            (height_pt - bottom) * PT_TO_MM)


def _word_positions(text: str, word: str) -> list[int]:
    out, start = [], 0
    while (index := text.find(word, start)) >= 0:
        after = text[index + len(word): index + len(word) + 1]
        before = text[index - 1: index] if index else ""
        if not (after.isalpha() or before.isalpha()):
            out.append(index)
        start = index + 1
    return out


def _border_around(ink: np.ndarray, x: int, y: int) -> tuple[int, int, int, int] | None:
    """The rectangle whose top-left area contains pixel (x, y): walk left and up to the
    borders, then along them to the other corners."""
    h, w = ink.shape
    x0 = next((i for i in range(x, -1, -1) if ink[y, i]), None)
    y0 = next((j for j in range(y, -1, -1) if ink[j, x]), None)
    if x0 is None or y0 is None:
        return None

    def run(values: np.ndarray) -> int:  # length of the dark run, bridging 2-pixel gaps
        gap, end = 0, 0
        for i, dark in enumerate(values):
            if dark:
                end, gap = i, 0
            else:
                gap += 1
                if gap > 2:
                    break
        return end

    # follow a band 3 px thick so a border drawn at a fractional position is not lost
    top_band = ink[max(0, y0 - 1): y0 + 2, x0:].any(axis=0)
    left_band = ink[y0:, max(0, x0 - 1): x0 + 2].any(axis=1)
    x1, y1 = x0 + run(top_band), y0 + run(left_band)
    if x1 - x0 < 20 or y1 - y0 < 20 or x1 >= w or y1 >= h:
        return None
    return x0, y0, x1, y1


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
            text = textpage.get_text_range()
            # get_text_range may insert characters, so map through char indices instead
            chars = "".join(textpage.get_text_range(i, 1) for i in range(textpage.count_chars()))
            del text
            for index, char in enumerate(chars):
                if char == TICK_GLYPH:
                    ticks.append((number, _char_bbox(textpage, index, height_pt)))
            found = [index for index in _word_positions(chars, SIGNATURE_WORD)
                     if pdfium_c.FPDFText_GetFontSize(textpage.raw, index)
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
                word = _char_bbox(textpage, index, height_pt)
                x, y = int((word[0] - 0.3) * px), int((word[1] + word[3]) / 2 * px)
                rect = _border_around(ink, x, y)
                if rect is None:
                    raise LayoutError(f"page {number}: no border found around the word "
                                      f"'{SIGNATURE_WORD}'")
                signature_boxes.append((number, tuple(v / px for v in rect)))
    finally:
        document.close()
    if len(ticks) != len(step_ids):
        raise LayoutError(f"the PDF has {len(ticks)} 'Done' boxes but the plan has "
                          f"{len(step_ids)} steps; check the template's goals table")
    if len(signature_boxes) != len(signers):
        raise LayoutError(f"the PDF has {len(signature_boxes)} signature boxes but the plan "
                          f"has {len(signers)} signers; check the template's signature block")
    for (number, bbox), step_id in zip(ticks, step_ids, strict=True):
        pages[number - 1].boxes.append(Box("tick", step_id, _rounded(bbox)))
    for (number, bbox), signer in zip(signature_boxes, signers, strict=True):
        pages[number - 1].boxes.append(Box("signature", signer.key, _rounded(bbox),
                                           signer.role))
    return pages


def _rounded(bbox: Bbox) -> Bbox:
    x0, y0, x1, y1 = bbox
    return (round(x0, 2), round(y0, 2), round(x1, 2), round(y1, 2))


def make_trackable(pdf_path: Path, step_ids: Sequence[str], signers: Sequence[Signer],
                   secret: bytes) -> DocumentLayout:
    """Measure, then stamp `pdf_path` in place (through a temp file). The staged PDF is
    not published yet, so replacing it is safe."""
    pages = measure_layout(pdf_path, step_ids, signers)
    token = new_token()
    with temporary_sibling(pdf_path) as temp:
        stamp_pdf(pdf_path, temp, token, secret)
        os.replace(temp, pdf_path)
    return DocumentLayout(token, sha256_file(pdf_path), pages)


def make_post_processor(config: Config) -> Callable[[PlannedVersion, Path], None]:
    """The build hook: stamp each converted PDF and keep its layout on the plan, to be
    recorded with the version in the same registry transaction."""
    secret = load_secret(config.root)

    def post_process(plan: PlannedVersion, pdf_path: Path) -> None:
        plan.layout = make_trackable(pdf_path, plan.step_ids, plan.household.signers, secret)

    return post_process
