"""Atomic, never-overwriting file writes.

Every output goes to a hidden temporary file in the destination folder and is then linked
into place; `os.link` fails if the target exists, so a file once written is never replaced
and no reader ever sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def temporary_sibling(target: Path) -> Iterator[Path]:
    """A temp path beside `target` (same filesystem), removed afterwards if still there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f"{target.suffix}.part",
                                dir=target.parent)
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def publish(temp: Path, target: Path) -> None:
    """Move a finished temp file into place, readable by its owner only (plans hold
    personal data, whatever made the file); FileExistsError if `target` already exists."""
    os.chmod(temp, 0o600)
    with open(temp, "rb") as handle:
        os.fsync(handle.fileno())
    os.link(temp, target)
    temp.unlink()
    _fsync_dir(target.parent)


def write_new(target: Path, write: Callable[[Path], None]) -> Path:
    """Create `target` with `write(temp_path)`; never overwrites an existing file."""
    if target.exists():
        raise FileExistsError(target)
    with temporary_sibling(target) as temp:
        write(temp)
        publish(temp, target)
    return target


def write_new_bytes(target: Path, data: bytes) -> Path:
    return write_new(target, lambda temp: temp.write_bytes(data))


def replace_text(target: Path, text: str) -> Path:
    """Atomically replace a status file (e.g. an error report); readers see old or new."""
    with temporary_sibling(target) as temp:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    _fsync_dir(target.parent)
    return target


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def remove_stale_temporaries(folder: Path, *, older_than: float = 0) -> int:
    """Delete `.part` files a killed process left behind (only those not touched for
    `older_than` seconds); returns how many."""
    count = 0
    if folder.is_dir():
        cutoff = time.time() - older_than
        for stale in folder.rglob(".*.part"):
            with contextlib.suppress(FileNotFoundError):
                if older_than and stale.stat().st_mtime > cutoff:
                    continue
                stale.unlink()
                count += 1
    return count


def process_alive(pid: int) -> bool:
    """Whether process `pid` is running (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
