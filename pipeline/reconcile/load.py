"""Pages from a scanned file as greyscale images, with a clear reason when that fails.

PDFs from office scanners usually hold one image per page: that image is taken as it is
(fast, and at the scanner's own resolution). Anything else is rendered with PDFium at the
image's resolution (or 200 dpi). CCITT and JBIG2 images are rendered too, not extracted:
their polarity and decoders are traps. Rotation and placement do not matter here because
alignment finds the page's own marks.

Whatever is in the file, `load_pages` never raises: a damaged, locked, cut-short or hostile
file becomes a page with the reason, so one file can never stop a batch. Sizes are checked
from headers before anything is decoded, so an image that declares 50,000 x 50,000 pixels
is refused without the memory it would take. Logs name only the kind of error: messages
from the libraries may hold the file's path, and its name may be a person's.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image
from pypdf import PdfReader

from .pdffile import (
    INCOMPLETE,
    LOCKED,
    active_content_note,
    is_complete,
    open_document,
    open_reader,
)

log = logging.getLogger(__name__)

SCAN_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
RENDER_DPI = 200
_EXTRACTABLE = ("/DCTDecode", "/FlateDecode", "/JPXDecode")
_IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")  # PNG, JPEG, TIFF

EMPTY = "the file is empty (0 bytes): the scan or copy did not finish; scan the page again"
NOT_SUPPORTED = "not a file we can read as a scan: use PDF, JPEG, PNG or TIFF"
IMAGE_DAMAGED = ("the image is damaged or incomplete (cut short), so it cannot be read; copy "
                 "the file again, or scan the page again")
FRAME_DAMAGED = ("this page of the file is damaged and cannot be read; scan it again (the "
                 "file's other pages are read)")
DIGITAL = ("this page is a digital document, not a scan (it has no scanned image); print it, "
           "sign it and scan the paper")
NOT_READ = "this page could not be read (the file may be damaged); scan it again"
DAMAGED_FILE = "the file is damaged and cannot be read; copy or scan it again"
# A batch of a hundred households' signed papers fits easily; more is a runaway file.
MAX_PAGES = 1000
TOO_MANY_PAGES = ("the file has more than {0} pages; the first {0} were read and the rest "
                  "were not: scan the rest into a file of its own")

# Pillow's own guard raises (or warns) from inside Image.open; every size is checked here
# first, against the workspace's limit, with a message that says what to do.
Image.MAX_IMAGE_PIXELS = None


@dataclass
class LoadedPage:
    index: int  # 0-based position in the file
    image: np.ndarray | None  # greyscale uint8
    error: str = ""
    bitonal: bool = False  # stored as 1-bit (black and white only)
    note: str = ""  # about the file, on its first page (JavaScript or attachments ignored)


def load_pages(path: Path, *, max_megapixels: float = 120.0) -> Iterator[LoadedPage]:
    """Every page of `path`. A file that cannot be read at all yields one page 0 with
    the reason; a page that cannot be read yields its index with the reason."""
    following = 0  # the index a failure is reported at: after the last page yielded
    try:
        for page in _load(path, max_megapixels):
            if page.index >= MAX_PAGES:  # a runaway file must not hold up every scan after it
                yield LoadedPage(page.index, None, TOO_MANY_PAGES.format(MAX_PAGES))
                return
            following = page.index + 1
            yield page
    except Exception as exc:  # a library failing in a way nobody foresaw: not the batch
        log.debug("a scan file could not be loaded (%s)", type(exc).__name__)
        yield LoadedPage(following, None, NOT_READ if following else DAMAGED_FILE)


def _load(path: Path, max_megapixels: float) -> Iterator[LoadedPage]:
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except OSError as exc:
        yield LoadedPage(0, None, f"cannot read the file ({exc.strerror})")
        return
    if size == 0:
        yield LoadedPage(0, None, EMPTY)
        return
    if b"%PDF-" in head:  # readers allow a little junk before the header
        yield from _pdf_pages(path, max_megapixels)
    else:
        yield from _image_pages(path, head, max_megapixels)


def _too_big(width: int, height: int, max_megapixels: float) -> str:
    if width * height > max_megapixels * 1e6:
        return (f"the image is {width}x{height} pixels ({width * height / 1e6:.0f} "
                f"megapixels), far more than a page scan; scan at 150-600 dpi")
    return ""


def _to_gray(image: Image.Image) -> np.ndarray:
    if image.mode in ("1", "L"):
        return np.asarray(image.convert("L"))
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return np.asarray(image.convert("L"))


def _image_pages(path: Path, head: bytes, max_megapixels: float) -> Iterator[LoadedPage]:
    try:
        image = Image.open(path)  # reads the header only
    except Exception:
        # a PNG, JPEG or TIFF Pillow cannot open was cut short or damaged, not a wrong kind
        yield LoadedPage(0, None, IMAGE_DAMAGED if head.startswith(_IMAGE_MAGIC)
                         else NOT_SUPPORTED)
        return
    with image:
        index = 0
        while True:
            try:
                image.seek(index)  # each frame (a TIFF's pages) on its own
            except EOFError:
                return
            except Exception:  # the list of frames itself is broken: no way to the rest
                yield LoadedPage(index, None, IMAGE_DAMAGED if index == 0 else FRAME_DAMAGED)
                return
            reason = _too_big(image.width, image.height, max_megapixels)
            if reason:
                yield LoadedPage(index, None, reason)
            else:
                try:
                    yield LoadedPage(index, _to_gray(image), bitonal=image.mode == "1")
                except Exception:  # decoding this frame failed: the next may be fine
                    yield LoadedPage(index, None, FRAME_DAMAGED if index else IMAGE_DAMAGED)
            index += 1


def _pdf_pages(path: Path, max_megapixels: float) -> Iterator[LoadedPage]:
    if not is_complete(path):
        yield LoadedPage(0, None, INCOMPLETE)
        return
    reader, locked = open_reader(path)
    if locked:
        yield LoadedPage(0, None, LOCKED)
        return
    document: pdfium.PdfDocument | None = None
    if reader is None:  # pypdf could not open it: PDFium alone, or the reason it cannot
        opened = open_document(path)
        if isinstance(opened, str):
            yield LoadedPage(0, None, opened)
            return
        document = opened
    note = active_content_note(reader, document)
    try:
        count = len(reader.pages) if reader is not None else len(document)  # type: ignore[arg-type]
        if not count:  # no page found is still an answer, never silence
            yield LoadedPage(0, None, DAMAGED_FILE, note=note)
        for index in range(count):
            try:
                if reader is not None:
                    page, document = _pypdf_page(path, reader, index, document,
                                                 max_megapixels)
                else:  # pypdf could not read it, so a page without an image is damage
                    page = _rendered_page(document, index, max_megapixels,  # type: ignore[arg-type]
                                          no_image=NOT_READ)
            except Exception as exc:  # this page only: the file's other pages are read
                log.debug("a scan page could not be loaded (%s)", type(exc).__name__)
                page = LoadedPage(index, None, NOT_READ)
            page.note = note if index == 0 else ""
            yield page
    finally:
        if document is not None:
            document.close()


def _pypdf_page(path: Path, reader: PdfReader, index: int,
                document: pdfium.PdfDocument | None, max_megapixels: float
                ) -> tuple[LoadedPage, pdfium.PdfDocument | None]:
    """Page `index`, taken from its scanned image or else rendered by PDFium (opened on
    first need and handed back, so a file is opened once)."""
    try:
        page = reader.pages[index]
        images = _page_images(page)
    except Exception:  # a damaged resource: let PDFium try
        images = None
    if images == []:
        return LoadedPage(index, None, DIGITAL), document
    bitonal = bool(images) and all(_one_bit(i) for i in images or ())
    for image in images or ():  # before anything is decoded
        reason = _too_big(*_declared_size(image), max_megapixels)
        if reason:
            return LoadedPage(index, None, reason), document
    gray = _extract(page, images) if images else None
    if gray is None:
        if document is None:
            opened = open_document(path)
            if isinstance(opened, str):
                return LoadedPage(index, None, opened), None
            document = opened
        return _rendered_page(document, index, max_megapixels, bitonal=bitonal), document
    reason = _too_big(gray.shape[1], gray.shape[0], max_megapixels)
    return LoadedPage(index, None if reason else gray, reason, bitonal=bitonal), document


def _declared_size(image: object) -> tuple[int, int]:
    """The image's size as the PDF declares it, or as its own JPEG header does when that
    claims more (PDFium and Pillow would decode the header's size)."""
    width, height = (int(image[key]) if key in image else 0  # type: ignore[index,operator]
                     for key in ("/Width", "/Height"))  # [] resolves indirect numbers
    if _filters(image)[-1] in ("/DCTDecode", "/JPXDecode"):
        data = image.get_data()  # type: ignore[attr-defined]  # passed through, not decoded
        try:
            with Image.open(io.BytesIO(data)) as header:  # reads the header only
                if header.width * header.height > width * height:
                    return header.width, header.height
        except Exception:  # a header Pillow cannot parse: PDFium may still draw the page
            pass
    return width, height


def _page_images(page: object) -> list[object] | None:
    """Image XObjects drawn on the page ([] = none at all, also inside forms such as our
    own stamp), or None when they sit inside forms (then render rather than guess)."""
    images, nested = _images_in(page, depth=0)
    return images if not nested else (None if images else [])


def _images_in(holder: object, depth: int) -> tuple[list[object], bool]:
    resources = holder.get("/Resources") or {}  # type: ignore[attr-defined]
    xobjects = resources.get("/XObject") if hasattr(resources, "get") else None
    found: list[object] = []
    nested = False
    for name in xobjects or ():
        obj = xobjects[name].get_object()
        if obj.get("/Subtype") == "/Image":
            found.append(obj)
        elif obj.get("/Subtype") == "/Form" and depth < 8:
            inner, _ = _images_in(obj, depth + 1)
            found += inner
            nested = True
    return found, nested


def _filters(image: object) -> list[str]:
    filters = image.get("/Filter")  # type: ignore[attr-defined]
    return [str(f) for f in filters] if isinstance(filters, list) else [str(filters)]


def _one_bit(image: object) -> bool:
    """A black-and-white image: 1 bit per pixel, or a fax or JBIG2 encoding (always 1-bit)."""
    return (image.get("/BitsPerComponent") == 1  # type: ignore[attr-defined]
            or bool(image.get("/ImageMask"))  # type: ignore[attr-defined]
            or any(n in ("/CCITTFaxDecode", "/JBIG2Decode") for n in _filters(image)))


def _extract(page: object, images: list[object]) -> np.ndarray | None:
    """The page's single scanned image, when that is safe to take as it is."""
    if len(images) != 1:
        return None
    obj = images[0]
    names = _filters(obj)
    if not all(n in _EXTRACTABLE for n in names if n != "None"):
        return None  # CCITT, JBIG2 and friends: render
    if obj.get("/SMask") is not None or obj.get("/ImageMask"):  # type: ignore[attr-defined]
        return None
    try:
        for image in page.images:  # type: ignore[attr-defined]
            return _to_gray(Image.open(io.BytesIO(image.data)) if image.image is None
                            else image.image)
    except Exception:
        return None
    return None


def _rendered_page(document: pdfium.PdfDocument, index: int, max_megapixels: float, *,
                   bitonal: bool = False, no_image: str = DIGITAL) -> LoadedPage:
    try:
        pdf_page = document[index]
        sizes = [obj.get_px_size() for obj in pdf_page.get_objects(
            filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE])]
        if not sizes:
            return LoadedPage(index, None, no_image)
        for width, height in sizes:  # PDFium would decode each in full to draw it
            if reason := _too_big(width, height, max_megapixels):
                return LoadedPage(index, None, reason)
        width_pt, height_pt = pdf_page.get_size()
        scale = RENDER_DPI / 72
        if width_pt * height_pt * scale * scale > max_megapixels * 1e6:
            return LoadedPage(index, None, "the page is far larger than A4 paper; scan it "
                                           "again at A4")
        gray = pdf_page.render(scale=scale, grayscale=True).to_numpy()
    except Exception as exc:
        log.debug("PDFium could not render a scan page (%s)", type(exc).__name__)
        return LoadedPage(index, None, NOT_READ)
    return LoadedPage(index, np.ascontiguousarray(gray[..., 0] if gray.ndim == 3 else gray),
                      bitonal=bitonal)
