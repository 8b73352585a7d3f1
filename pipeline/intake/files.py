"""Which intake files are acted on (by `build` on a folder and by the watcher), and whether
a saved file is ready to read.

Excel and LibreOffice save through lock files (`~$Name.xlsx`, `.~lock.Name.xlsx#`), temp
files (`*.tmp`, `~*.tmp`) and renames; only the finished workbook is of interest. Files
that are hidden, symlinked or resolve outside the watched folder are never touched.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from stat import S_ISREG

WORKBOOK = "workbook"
SCAN = "scan"
SCAN_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
# Parts every .xlsx has; a file missing them (or its zip directory) is not fully written.
_REQUIRED_PARTS = ("[Content_Types].xml", "xl/workbook.xml")


def classify(path: Path, intake: Path) -> str | None:
    """WORKBOOK, SCAN or None (ignore) for a path reported under `intake`."""
    try:
        relative = path.relative_to(intake)
    except ValueError:
        return None
    if not relative.parts or any(part.startswith((".", "~")) for part in relative.parts):
        return None  # hidden files and folders, lock files, Office temp files
    name = path.name.lower()
    if name.endswith(".tmp") or name.startswith("~$"):
        return None
    if path.is_symlink() or not _resolves_inside(path, intake):
        return None
    in_scans = relative.parts[0].lower() == "scans" and len(relative.parts) > 1
    if in_scans:
        return SCAN if name.endswith(SCAN_SUFFIXES) else None
    return WORKBOOK if name.endswith(".xlsx") else None


def _resolves_inside(path: Path, intake: Path) -> bool:
    try:
        path.resolve().relative_to(intake.resolve())
    except (ValueError, OSError, RuntimeError):
        return False
    return True


FileState = tuple[int, int, int]


def file_state(path: Path) -> FileState | None:
    """(size, mtime, ctime) of a regular file, or None when it is gone or not a plain file.
    ctime moves on every write and on rename, so a save-by-rename counts as a change."""
    try:
        stat = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):
        return None
    return stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def is_complete_workbook(path: Path) -> bool:
    """True when the file opens as a whole .xlsx: its zip directory (written last) is
    present and names the workbook parts. False while it is still being written, is
    locked by another program (network shares), or is damaged."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False
    return all(part in names for part in _REQUIRED_PARTS)
