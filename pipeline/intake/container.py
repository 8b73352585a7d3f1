"""Is this file really an Excel workbook, whole, and safe to hand to openpyxl?

Checked on the bytes before any XML is parsed, so that each kind of wrong file gets its own
message and fix: an empty or cut-off file, an old .xls, a password-protected workbook
(which Office stores as an encrypted compound file, not a zip), a LibreOffice .ods or a
CSV renamed to .xlsx, a damaged part (bad checksum), and zip bombs, whether their sizes
are honest (refused from the zip directory) or lie (every part is decompressed here with
its declared size as the cap, and a part that holds more fails its checksum).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from .problems import ERROR, WARNING, Problem
from .schema import MAX_UNPACKED_MB, MAX_ZIP_PARTS

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_CHUNK = 1 << 20
# Excel never writes a DTD; one in a workbook can only be there to expand entities (a
# "billion laughs" bomb) or to reach files on this machine, so it is refused outright.
_DTD_MARKERS = tuple(marker.encode(encoding) for marker in ("<!DOCTYPE", "<!ENTITY")
                     for encoding in ("ascii", "utf-16-le", "utf-16-be"))
_SAVE_AS = "open it in Excel and use File > Save As > Excel Workbook (.xlsx)"
_NS_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_NS_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"


@dataclass
class Container:
    """What the container checks found: errors stop reading; warnings travel on."""

    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)


def _error(path: Path, message: str, fix: str) -> Container:
    return Container([Problem(ERROR, "", "", f"{path.name} {message}", fix)])


# Spreadsheets in formats that are not read, by file name (the content is checked too).
_OTHER_FORMATS = {
    ".xls": "an old Excel 97-2003 workbook (.xls)",
    ".xlsb": "an Excel binary workbook (.xlsb)",
    ".ods": "a LibreOffice / OpenDocument spreadsheet (.ods)",
    ".csv": "a CSV text file (.csv)",
    ".numbers": "an Apple Numbers spreadsheet (.numbers)",
}


def check_container(path: Path) -> Container:
    """Check `path` is a whole, plausible .xlsx/.xlsm without parsing its XML."""
    kind = _OTHER_FORMATS.get(path.suffix.lower())
    if kind is not None:
        return _error(path, f"is {kind}; supportplan reads Excel workbooks (.xlsx) only",
                      f"{_SAVE_AS} under the same name, then delete {path.name} (or start "
                      "from `supportplan new`)"
                      + ("; in Numbers use File > Export To > Excel" if kind.endswith(
                          "(.numbers)") else ""))
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        return _error(path, f"could not be opened ({exc.strerror or exc})",
                      "close it in Excel if it is open elsewhere, check the file exists, "
                      "and save again")
    if size == 0:
        return _error(path, "is empty (0 bytes): it was probably still being saved, or the "
                      "save failed", "save the workbook again from Excel")
    limit = MAX_UNPACKED_MB * 1024 * 1024
    if size > limit:
        return _error(path, f"is {size / 1024 / 1024:.0f} MB, more than the "
                      f"{MAX_UNPACKED_MB} MB a household workbook can be",
                      "remove pasted-in data or pictures, or start again from "
                      "`supportplan new`")
    if head.startswith(_OLE2):
        return _compound_file(path)
    if not head.startswith(_ZIP):
        return _not_a_zip(path)
    return _check_zip(path, limit)


def _compound_file(path: Path) -> Container:
    # Both an encrypted .xlsx and an old .xls are OLE2 compound files; the encrypted one
    # has streams named EncryptionInfo and EncryptedPackage (names are stored UTF-16).
    data = path.read_bytes()
    if "EncryptedPackage".encode("utf-16-le") in data:
        return _error(path, "is password-protected (encrypted), so it cannot be read",
                      "open it in Excel, remove the password (File > Info > Protect "
                      "Workbook > Encrypt with Password, clear it) and save it again")
    return _error(path, "is in the old Excel 97-2003 format (.xls), which is not read",
                  _SAVE_AS)


def _not_a_zip(path: Path) -> Container:
    with open(path, "rb") as handle:
        sample = handle.read(4096)
    lowered = sample.lower()
    if b"\0" not in sample:
        if b"<html" in lowered or b"<table" in lowered:
            kind = "a web page (HTML) saved with an .xlsx name"
        elif b"urn:schemas-microsoft-com:office:spreadsheet" in lowered:
            kind = "an Excel 2003 XML spreadsheet, not an .xlsx workbook"
        elif re.search(rb"[,;\t]", sample):
            kind = "a CSV (plain text) file, not an Excel workbook"
        else:
            kind = "a plain text file, not an Excel workbook"
        return _error(path, f"is {kind}", f"{_SAVE_AS}, or start from `supportplan new`")
    return _error(path, "is not an Excel workbook (it does not start like an .xlsx file)",
                  f"check it is the right file; {_SAVE_AS}")


def _check_zip(path: Path, limit: int) -> Container:
    try:
        archive = zipfile.ZipFile(path)
    except Exception:  # BadZipFile, EOFError, also NotImplementedError for a damaged
        # "version needed" field (found by bench/fuzz_reader.py)
        return _error(path, "is incomplete or damaged: the end of the file is missing (it "
                      "was probably cut off while saving or copying)",
                      "save it again from Excel (File > Save As > Excel Workbook), or copy "
                      "it again from where it came from")
    with archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        kind = _other_zip_kind(archive, names)
        if kind:
            return _error(path, f"is {kind}", f"{_SAVE_AS}, or start from `supportplan new`")
        if len(infos) > MAX_ZIP_PARTS:
            return _error(path, f"has {len(infos)} parts inside, which no household workbook "
                          "has: it is damaged or was not saved by Excel",
                          "open it in Excel and save it again, or start from `supportplan new`")
        if len(names) != len(infos):  # which copy would be read is up to the reader
            return _error(path, "has two parts with the same name inside: it is damaged or "
                          "was not saved by Excel",
                          "open it in Excel and save it again, or start from `supportplan new`")
        declared = sum(info.file_size for info in infos)
        if declared > limit:
            return _error(path, f"unpacks to {declared / 1024 / 1024:.0f} MB, more than the "
                          f"{MAX_UNPACKED_MB} MB a household workbook can be",
                          "remove pasted-in data or pictures, or start again from "
                          "`supportplan new`")
        sheets = _sheet_parts(archive)
        for info in infos:
            problem = _check_part(path, archive, info, sheets)
            if problem is not None:
                return Container([problem])
        warnings = []
        links = sorted(n for n in names if n.startswith("xl/externalLinks/")
                       and n.endswith(".xml"))
        if links:
            warnings.append(Problem(
                WARNING, "", "", f"{path.name} links to {len(links)} other workbook(s); the "
                "values last saved in this workbook are used, not the other workbook's",
                "check the linked values are current, or in Excel use Data > Edit Links > "
                "Break Link so the workbook stands on its own"))
        return Container(warnings)


def _other_zip_kind(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    if "mimetype" in names:
        try:
            mimetype = archive.read("mimetype")[:100].decode("ascii", "replace")
        except Exception:  # a damaged mimetype is reported as damage below
            mimetype = ""
        if "opendocument.spreadsheet" in mimetype:
            return "a LibreOffice/OpenDocument spreadsheet (.ods) saved with an .xlsx name"
        return "an OpenDocument file, not an Excel workbook"
    if any(n.startswith("word/") for n in names):
        return "a Word document, not an Excel workbook"
    if any(n.startswith("ppt/") for n in names):
        return "a PowerPoint file, not an Excel workbook"
    if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
        return "a zip file, not an Excel workbook"
    return None


def _check_part(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                sheets: dict[str, str]) -> Problem | None:
    """Decompress one part to the end (checksum verified), looking for a DTD on the way."""
    where = f'the sheet "{sheets[info.filename]}"' if info.filename in sheets else \
        f"the part {info.filename[:80]}"
    if info.flag_bits & 0x1:
        return Problem(ERROR, "", "", f"{path.name} has encrypted parts ({where})",
                       "open it in Excel, remove any password and save it again")
    xml = info.filename.endswith((".xml", ".rels", ".vml"))
    carry = b""
    try:
        with archive.open(info) as part:
            while chunk := part.read(_CHUNK):
                if xml:
                    window = carry + chunk
                    if any(marker in window for marker in _DTD_MARKERS):
                        return Problem(ERROR, "", "", f"{path.name} contains a document type "
                                       f"declaration in {where}, which Excel never writes",
                                       "this file was not saved by Excel; start from "
                                       "`supportplan new` and type the entries in again")
                    carry = window[-20:]
    except NotImplementedError:
        return Problem(ERROR, "", "", f"{path.name} is compressed in a way Excel does not "
                       f"use ({where})", "open it in Excel and save it again")
    except Exception:  # zlib, CRC, EOF, struct errors: all mean a damaged part
        return Problem(ERROR, "", "", f"{path.name} is damaged: {where} cannot be unpacked "
                       "(its checksum or compressed data is wrong)",
                       "open it in Excel, which may offer to repair it, and save it again; "
                       "or use the last good copy")
    return None


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Part name -> sheet name, best effort, for messages only ({} when unreadable)."""
    try:
        workbook = ElementTree.fromstring(_small_part(archive, "xl/workbook.xml"))
        rels = ElementTree.fromstring(_small_part(archive, "xl/_rels/workbook.xml.rels"))
        targets = {rel.get("Id"): rel.get("Target", "") for rel in rels.iter(
            f"{_NS_PKG_REL}Relationship")}
        parts = {}
        for sheet in workbook.iter(f"{_NS_MAIN}sheet"):
            target = targets.get(sheet.get(f"{_NS_REL}id"), "")
            name = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
                posixpath.join("xl", target))
            parts[name] = str(sheet.get("name", ""))[:40]
        return parts
    except Exception:  # damage here is reported by the checks that follow
        return {}


def _small_part(archive: zipfile.ZipFile, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > 2 * 1024 * 1024:
        raise ValueError(name)
    data = archive.read(info)
    if any(marker in data for marker in _DTD_MARKERS):
        raise ValueError(name)
    return data
