"""LibreOffice, wrapped: find it, check it, convert DOCX to PDF with a timeout.

One process converts a batch of files (start-up costs about a second). Each process gets a
private profile, so parallel conversions and a user's own LibreOffice never collide, and
runs in its own process group, so a hung conversion is killed with all its children.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = ("Install it with `sudo apt-get install libreoffice-writer-nogui` (Debian/"
                "Ubuntu) or run scripts/setup.sh, or set [pdf] soffice in config.toml to its "
                "path. Use --no-pdf to make Word files only.")


class ConversionError(Exception):
    """LibreOffice is missing or could not convert a document."""


class LibreOfficeNotFound(ConversionError):
    pass


def find_soffice(configured: str = "") -> Path:
    """The soffice program: the configured path, else the first on PATH."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise LibreOfficeNotFound(f"LibreOffice was not found at {path} ([pdf] soffice in "
                                  f"config.toml). {INSTALL_HINT}")
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise LibreOfficeNotFound(f"LibreOffice (soffice) is not installed or not on the PATH. "
                              f"{INSTALL_HINT}")


def soffice_version(soffice: Path, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="supportplan-lo-") as profile:
        result = _run([str(soffice), _profile_arg(Path(profile)), "--version"], timeout)
    return result.stdout.strip()


def _profile_arg(profile: Path) -> str:
    return f"-env:UserInstallation={profile.resolve().as_uri()}"


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, stdin=subprocess.DEVNULL)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ConversionError(f"LibreOffice did not finish within {timeout:.0f} seconds and "
                              "was stopped. Try again; if it keeps happening, raise [pdf] "
                              "timeout_seconds in config.toml.") from None
    except BaseException:
        _kill_group(process)  # Ctrl-C or SIGTERM: never leave LibreOffice behind
        raise
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@dataclass(frozen=True)
class Conversion:
    source: Path
    pdf: Path | None
    error: str | None = None


def convert_batch(sources: Sequence[Path], *, soffice: Path, timeout: float) -> list[Conversion]:
    """Convert DOCX files to PDF beside them, in one LibreOffice process."""
    if not sources:
        return []
    outdir = sources[0].parent
    if any(source.parent != outdir for source in sources):
        raise ValueError("convert_batch needs files from one folder")
    with tempfile.TemporaryDirectory(prefix="supportplan-lo-") as profile:
        args = [str(soffice), _profile_arg(Path(profile)), "--headless", "--invisible",
                "--norestore", "--nolockcheck", "--nodefault", "--nologo",
                "--convert-to", "pdf:writer_pdf_Export", "--outdir", str(outdir),
                *(str(source) for source in sources)]
        try:
            result = _run(args, timeout)
        except ConversionError as exc:
            return [Conversion(source, None, str(exc)) for source in sources
                    if not _pdf_for(source).exists()] + [
                Conversion(source, _pdf_for(source)) for source in sources
                if _pdf_for(source).exists()]
    conversions = []
    for source in sources:
        pdf = _pdf_for(source)
        if pdf.is_file() and pdf.stat().st_size > 0:
            conversions.append(Conversion(source, pdf))
        else:
            detail = (result.stderr or result.stdout).strip().splitlines()
            conversions.append(Conversion(source, None, "LibreOffice could not convert "
                                          f"{source.name} to PDF (exit {result.returncode}"
                                          f"{': ' + detail[-1] if detail else ''})."))
    return conversions


def _pdf_for(source: Path) -> Path:
    return source.with_suffix(".pdf")


def convert_many(sources: Sequence[Path], *, soffice: Path, timeout: float, workers: int,
                 batch_size: int) -> list[Conversion]:
    """Convert in batches, `workers` LibreOffice processes side by side. A failed batch is
    retried file by file, so one bad document cannot fail its neighbours."""
    by_folder: dict[Path, list[Path]] = {}
    for source in sources:
        by_folder.setdefault(source.parent, []).append(source)
    batches: list[list[Path]] = []
    for folder_sources in by_folder.values():
        size = max(1, min(batch_size, -(-len(folder_sources) // max(1, workers))))
        batches += [folder_sources[i:i + size] for i in range(0, len(folder_sources), size)]

    def run(batch: list[Path]) -> list[Conversion]:
        done = convert_batch(batch, soffice=soffice, timeout=timeout)
        if len(batch) > 1 and any(c.pdf is None for c in done):
            return [c if c.pdf else convert_batch([c.source], soffice=soffice,
                                                  timeout=timeout)[0] for c in done]
        return done

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = [c for batch_result in pool.map(run, batches) for c in batch_result]
    order = {source: index for index, source in enumerate(sources)}
    return sorted(results, key=lambda c: order[c.source])
