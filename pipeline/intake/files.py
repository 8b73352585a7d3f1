"""Which intake files are acted on (by `build` on a folder and by the watcher), and whether
a saved file is ready to read.

Excel and LibreOffice save through lock files (`~$Name.xlsx`, `.~lock.Name.xlsx#`), temp
files (`*.tmp`, `~*.tmp`) and renames; only the finished workbook is of interest. Files
that are hidden, symlinked or resolve outside the watched folder are never touched (and
`refusal` says why, for a log line).
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from stat import S_ISREG

log = logging.getLogger(__name__)

WORKBOOK = "workbook"
SCAN = "scan"
SCAN_SUFFIXES = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff")
# .xlsm is a workbook with macros: read like any other (values only; nothing is ever run).
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
# Spreadsheets saved in a format that is not read: taken in all the same, so that the
# person who saved one hears why no plan appears, and how to save it (container.py).
OTHER_SPREADSHEET_SUFFIXES = (".xls", ".xlsb", ".ods", ".csv", ".numbers")
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
    return WORKBOOK if name.endswith((*WORKBOOK_SUFFIXES, *OTHER_SPREADSHEET_SUFFIXES)) \
        else None


def refusal(path: Path, folder: Path | None = None) -> str | None:
    """Why a workbook or scan at `path` is not read, when it is not for an ordinary reason
    (lock and temp files are ignored silently): a symbolic link, or a path that resolves
    outside `folder`. Such a file could bring in another household's data, or any file on
    the machine, under an innocent name."""
    if not path.name.lower().endswith((*WORKBOOK_SUFFIXES, *OTHER_SPREADSHEET_SUFFIXES,
                                       *SCAN_SUFFIXES)):
        return None
    if path.is_symlink():
        return "it is a symbolic link; save or copy the workbook itself there instead"
    if folder is not None and not _resolves_inside(path, folder):
        return (f"it resolves to a place outside {folder.name}/; save or copy the workbook "
                "itself there instead")
    return None


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
    locked by another program (network shares), or is damaged. A spreadsheet in a format
    that is not read is "complete" at once: its error report need not wait."""
    if path.name.lower().endswith(OTHER_SPREADSHEET_SUFFIXES):
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except Exception:  # zipfile raises many types for damage (even NotImplementedError):
        return False   # whatever it is, the reader gives the message
    return all(part in names for part in _REQUIRED_PARTS)


def collect_workbooks(paths: Iterable[Path],
                      skipped: Callable[[Path, str], None] | None = None) -> list[Path]:
    """Files as given; from folders, the workbooks in them (the watcher's rules: no lock,
    temp or hidden files). Symbolic links, named or found, are never followed: `skipped`
    (default: a log line) hears of each, with the reason."""
    def skip(path: Path, reason: str) -> None:
        if skipped is None:
            log.warning("skipped %s: %s", path.name, reason)
        else:
            skipped(path, reason)

    found: list[Path] = []
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            for entry in sorted(path.iterdir()):
                reason = refusal(entry, path)
                if reason is not None:
                    skip(entry, reason)
                elif classify(entry, path) == WORKBOOK and entry.is_file():
                    found.append(entry)
        elif (reason := refusal(path)) is not None or path.is_symlink():
            skip(path, reason or "it is a symbolic link; name the folder or file itself")
        else:
            found.append(path)
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve() if path.exists() else path, None)
    return list(unique)
