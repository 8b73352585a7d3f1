"""Helpers that make hostile and broken workbooks from real ones, at the level of their
zip bytes: patched parts, lying sizes, flipped bytes. Used by the intake tests."""

from __future__ import annotations

import re
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

SHEET_PARTS = {"Household": "xl/worksheets/sheet2.xml", "Members": "xl/worksheets/sheet3.xml",
               "Plan": "xl/worksheets/sheet4.xml", "Safety plan": "xl/worksheets/sheet5.xml"}


def rewrite_parts(path: Path, change: Callable[[str, bytes], bytes | None],
                  compression: int = zipfile.ZIP_DEFLATED,
                  extra: dict[str, bytes] | None = None) -> Path:
    """Rewrite the zip at `path`: each part through `change(name, data)` (None drops it)."""
    with zipfile.ZipFile(path) as source:
        parts = [(info.filename, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", compression) as target:
        for name, data in parts:
            changed = change(name, data)
            if changed is not None:
                target.writestr(name, changed)
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return path


def patch_part(path: Path, part: str, pattern: str, replacement: str, count: int = 1) -> Path:
    """Regex-replace inside one part's XML (e.g. to give a cell a formula)."""
    def change(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        text, made = re.subn(pattern, replacement, data.decode("utf-8"), count=count)
        assert made, f"{pattern!r} not found in {part}"
        return text.encode("utf-8")

    return rewrite_parts(path, change)


def set_formula(path: Path, sheet: str, cell: str, formula: str,
                cached: str | None = None) -> Path:
    """Make `cell` a formula, as Excel (with a cached text value) or a script (without)."""
    workbook = load_workbook(path)
    workbook[sheet][cell] = "=" + formula
    workbook.save(path)
    if cached is None:
        return path
    part = SHEET_PARTS[sheet]
    return patch_part(path, part, rf'<c r="{cell}"([^>]*)><f>(.*?)</f><v\s*(/>|></v>)',
                      rf'<c r="{cell}"\1 t="str"><f>\2</f><v>{cached}</v>')


def lie_about_size(path: Path, part: str, declared: int) -> Path:
    """Patch the uncompressed size of `part` in its local header and the central directory,
    as a zip bomb does to slip past size checks."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    struct.pack_into("<I", data, info.header_offset + 22, declared)
    name = part.encode()
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        length = struct.unpack_from("<H", data, start + 28)[0]
        if bytes(data[start + 46: start + 46 + length]) == name:
            struct.pack_into("<I", data, start + 24, declared)
            break
        start += 4
    path.write_bytes(bytes(data))
    return path


def flip_stored_byte(path: Path, marker: bytes) -> Path:
    """Change one byte of a part stored uncompressed: its checksum no longer matches."""
    data = path.read_bytes()
    index = data.index(marker)
    path.write_bytes(data[:index] + bytes([data[index] ^ 0x20]) + data[index + 1:])
    return path
