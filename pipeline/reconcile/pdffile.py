"""Opening a scanned PDF safely: is it whole, is it locked, what active content it carries.

Scanners and the tools people pass scans through often encrypt PDFs only to "restrict
editing" (an owner password, no password to open): those open with the empty password and
are read like any other scan. Only a PDF that needs a password to open is refused. pypdf is
tried first (it lets the loader take a scanner's own image as it is); when pypdf cannot open
a file at all, PDFium, which reads more damaged files and decrypts on its own, renders it.

JavaScript, automatic actions and attached files are never run or extracted: neither
library runs scripts (PDFium only would with a form environment, which is never set up)
and nothing here asks for an attachment's contents. They are only named in a note, so a
person knows the file carried them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf import PasswordType, PdfReader

log = logging.getLogger(__name__)

LOCKED = ("the PDF is locked with a password; scan again without one or save it unlocked "
          "(a PDF that only restricts editing is fine)")
INCOMPLETE = ("not a readable PDF: it stops before its end, so the scan or copy did not "
              "finish; copy or scan it again")
DAMAGED = ("not a readable PDF: it is damaged; scan the pages again (or save them again as "
           "PDF from the scanner's software)")
ACTIVE_NOTE = ("the PDF carries {what}, left alone (never run or opened): only the page "
               "images were read")

_TAIL = 2048  # the end-of-file marker must be this near the end (readers allow 1024)


def is_complete(path: Path) -> bool:
    """Whether the file ends with a PDF end-of-file marker. A PDF cut short (a copy or a
    scan to a network folder that did not finish) has none; its last page would be read
    half-empty, so it is refused whole and read again once it is complete (its bytes, and
    so its hash, change then)."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        handle.seek(max(0, handle.tell() - _TAIL))
        return b"%%EOF" in handle.read()


def open_reader(path: Path) -> tuple[PdfReader | None, bool]:
    """(reader, locked). The reader is None, and not locked, when pypdf cannot open the
    file; PDFium is tried then."""
    try:
        reader = PdfReader(path)  # tries the empty password itself
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            return None, True
        if not len(reader.pages):  # the page tree, so a damaged one shows now
            # pypdf drops pages it cannot parse; PDFium often rebuilds them
            log.debug("pypdf found no pages in a scan PDF; trying PDFium")
            return None, False
        return reader, False
    except Exception as exc:  # any of pypdf's many errors, incl. a missing AES library
        log.debug("pypdf could not open a scan PDF (%s); trying PDFium", type(exc).__name__)
        return None, False


def open_document(path: Path) -> pdfium.PdfDocument | str:
    """The PDF opened by PDFium with the empty password, or the reason it cannot be."""
    try:
        return pdfium.PdfDocument(str(path), password="")
    except pdfium.PdfiumError as exc:
        log.debug("PDFium could not open a scan PDF (error code %s)", exc.err_code)
        return LOCKED if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD else DAMAGED
    except Exception as exc:
        log.debug("PDFium could not open a scan PDF (%s)", type(exc).__name__)
        return DAMAGED


def active_content_note(reader: PdfReader | None,
                        document: pdfium.PdfDocument | None = None) -> str:
    """A note naming any JavaScript, automatic actions or attached files, or ""."""
    try:
        found = (_in_reader(reader) if reader is not None
                 else _in_document(document) if document is not None else [])
    except Exception as exc:  # looking is a courtesy: a damaged dictionary is no reason
        log.debug("active content check failed (%s)", type(exc).__name__)
        return ""
    if not found:
        return ""
    kinds = list(dict.fromkeys(found))
    what = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    return ACTIVE_NOTE.format(what=what)


_SCRIPT_ACTIONS = ("/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/Rendition")


def _action(value: Any) -> str:
    value = value.get_object() if hasattr(value, "get_object") else value
    if not hasattr(value, "get"):
        return ""  # a plain destination ("open at page 1") is no action
    kind = value.get("/S")
    if kind in _SCRIPT_ACTIONS:
        return "JavaScript" if kind == "/JavaScript" else "actions that run on opening"
    return "actions that run on opening" if kind else ""


def _in_reader(reader: PdfReader) -> list[str]:
    found: list[str] = []
    root = reader.trailer["/Root"].get_object()
    names = root.get("/Names")
    names = names.get_object() if names is not None else {}
    if "/JavaScript" in names:
        found.append("JavaScript")
    if "/EmbeddedFiles" in names:
        found.append("attached files")
    if "/OpenAction" in root and (action := _action(root["/OpenAction"])):
        found.append(action)
    if "/AA" in root:
        found.append("actions that run on opening")
    form = root.get("/AcroForm")
    if form is not None and "/XFA" in form.get_object():
        found.append("an XFA form")
    for page in reader.pages:
        if "/AA" in page:
            found.append("actions that run on opening")
        for annot in page.get("/Annots") or ():
            annot = annot.get_object()
            if annot.get("/Subtype") == "/FileAttachment":
                found.append("attached files")
            if "/A" in annot and _action(annot["/A"]) == "JavaScript":
                found.append("JavaScript")
    return found


def _in_document(document: pdfium.PdfDocument) -> list[str]:
    found = []
    if pdfium_c.FPDFDoc_GetJavaScriptActionCount(document) > 0:
        found.append("JavaScript")
    if document.count_attachments() > 0:
        found.append("attached files")
    return found
