"""Pages from a scanned file as greyscale images, with a clear reason when that fails.

PDFs from office scanners usually hold one image per page: that image is taken as it is
(fast, and at the scanner's own resolution). Anything else is rendered with PDFium at the
image's resolution (or 200 dpi). CCITT and JBIG2 images are rendered too, not extracted:
their polarity and decoders are traps. Rotation and placement do not matter here because
alignment finds the page's own marks.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageSequence
from pypdf import PdfReader
from pypdf.errors import PdfReadError

SCAN_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
RENDER_DPI = 200
_EXTRACTABLE = ("/DCTDecode", "/FlateDecode", "/JPXDecode")


@dataclass
class LoadedPage:
    index: int  # 0-based position in the file
    image: np.ndarray | None  # greyscale uint8
    error: str = ""


def load_pages(path: Path, *, max_megapixels: float = 120.0) -> Iterator[LoadedPage]:
    """Every page of `path`. A file that cannot be read at all yields one page 0 with
    the reason; a page that cannot be read yields its index with the reason."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        yield LoadedPage(0, None, f"cannot read the file ({exc.strerror})")
        return
    if size == 0:
        yield LoadedPage(0, None, "the file is empty (0 bytes): the scan or copy did not "
                                  "finish; scan the page again")
        return
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(b"%PDF"):
        yield from _pdf_pages(path, max_megapixels)
    else:
        yield from _image_pages(path, max_megapixels)


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


def _image_pages(path: Path, max_megapixels: float) -> Iterator[LoadedPage]:
    Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a kinder message
    try:
        image = Image.open(path)
    except Exception:
        yield LoadedPage(0, None, "not a file we can read as a scan: use PDF, JPEG, PNG or "
                                  "TIFF")
        return
    with image:
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            reason = _too_big(frame.width, frame.height, max_megapixels)
            if reason:
                yield LoadedPage(index, None, reason)
                continue
            try:
                yield LoadedPage(index, _to_gray(frame))
            except (OSError, ValueError) as exc:
                yield LoadedPage(index, None, f"the image data is damaged ({exc}); scan the "
                                              "page again")


def _pdf_pages(path: Path, max_megapixels: float) -> Iterator[LoadedPage]:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            yield LoadedPage(0, None, "the PDF is password-protected: save or scan it "
                                      "again without a password")
            return
        count = len(reader.pages)
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        yield LoadedPage(0, None, f"not a readable PDF ({exc}); scan the pages again")
        return
    document: pdfium.PdfDocument | None = None
    try:
        for index in range(count):
            page = reader.pages[index]
            try:
                images = _page_images(page)
            except Exception:  # a damaged resource: let PDFium try
                images = None
            if images == []:
                yield LoadedPage(index, None, "this page is a digital document, not a scan "
                                              "(it has no scanned image); print it, sign it "
                                              "and scan the paper")
                continue
            gray = _extract(page, images) if images else None
            if gray is None:
                if document is None:
                    document = pdfium.PdfDocument(str(path))
                gray = _render(document, index, page, max_megapixels)
                if isinstance(gray, str):
                    yield LoadedPage(index, None, gray)
                    continue
            reason = _too_big(gray.shape[1], gray.shape[0], max_megapixels)
            yield LoadedPage(index, None if reason else gray, reason)
    except Exception as exc:
        yield LoadedPage(0, None, f"not a readable PDF ({exc}); scan the pages again")
    finally:
        if document is not None:
            document.close()


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


def _extract(page: object, images: list[object]) -> np.ndarray | None:
    """The page's single scanned image, when that is safe to take as it is."""
    if len(images) != 1:
        return None
    obj = images[0]
    filters = obj.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, list) else [str(filters)]
    if not all(n in _EXTRACTABLE for n in names if n != "None"):
        return None  # CCITT, JBIG2 and friends: render
    if obj.get("/SMask") is not None or obj.get("/ImageMask"):
        return None
    try:
        for image in page.images:  # type: ignore[attr-defined]
            return _to_gray(Image.open(io.BytesIO(image.data)) if image.image is None
                            else image.image)
    except Exception:
        return None
    return None


def _render(document: pdfium.PdfDocument, index: int, page: object,
            max_megapixels: float) -> np.ndarray | str:
    width_pt, height_pt = document[index].get_size()
    scale = RENDER_DPI / 72
    if width_pt * height_pt * scale * scale > max_megapixels * 1e6:
        return "the page is far larger than A4 paper; scan it again at A4"
    bitmap = document[index].render(scale=scale, grayscale=True)
    gray = bitmap.to_numpy()
    return np.ascontiguousarray(gray[..., 0] if gray.ndim == 3 else gray)
