"""LibreOffice, wrapped: find it, check it, convert DOCX to PDF with a timeout.

One process converts a batch of files (start-up costs about a second). Each process gets a
private profile, so parallel conversions and a user's own LibreOffice never collide, and
runs in its own process group, so a hung conversion is killed with all its children. A
conversion that fails is tried once more on its own before it is reported.

Profiles go under a folder the caller names (the build's is `output/.converters/`), in a
folder named after the process that started them. A build killed outright (SIGKILL, power
cut) cannot stop its LibreOffice: the next build finds the folder of a process that is
gone, stops whatever still runs from it and removes it (`reap_abandoned`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExitCode, SupportplanError
from ..files import process_alive

INSTALL_HINT = ("Install it with `sudo apt-get install libreoffice-writer-nogui` (Debian/"
                "Ubuntu) or run scripts/setup.sh, or set [pdf] soffice in config.toml to its "
                "path. Use --no-pdf to make Word files only.")


log = logging.getLogger(__name__)


class ConversionError(SupportplanError):
    """LibreOffice is missing or could not convert a document."""

    exit_code = ExitCode.LIBREOFFICE


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
    with private_profile(None) as profile:
        result = _run([str(soffice), _profile_arg(profile), "--version"], timeout,
                      scratch_env(profile))
    return result.stdout.strip()


def _profile_arg(profile: Path) -> str:
    return f"-env:UserInstallation={profile.resolve().as_uri()}"


def scratch_env(profile: Path) -> dict[str, str]:
    """The environment for a LibreOffice using `profile`: its temporary files inside the
    profile, so they go with it. LibreOffice removes them only when it quits normally; a
    killed or crashed one left a folder in /tmp every time."""
    scratch = profile / "tmp"
    scratch.mkdir(exist_ok=True)
    return {**os.environ, "TMPDIR": str(scratch)}


@contextlib.contextmanager
def private_profile(profiles: Path | None) -> Iterator[Path]:
    """A fresh LibreOffice profile folder, removed afterwards; under `profiles` (named after
    this process, so `reap_abandoned` can tell when its owner is gone) or the temp folder."""
    if profiles is not None:
        profiles.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=profiles))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def reap_abandoned(profiles: Path) -> int:
    """Stop LibreOffice processes whose starting process is gone and remove their profiles.
    Returns how many processes were stopped."""
    if not profiles.is_dir():
        return 0
    stopped = 0
    for folder in profiles.iterdir():
        owner = folder.name.split("-", 1)[0]
        if not owner.isdigit() or process_alive(int(owner)):
            continue
        # Whole process groups (each converter runs in its own session): a bridge still
        # starting its LibreOffice would otherwise start it after this look, and it would
        # make the profile again.
        groups = set()
        for pid in _processes_using(folder):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                group = os.getpgid(pid)
                if group == os.getpgrp():  # never this program's own group: the one process
                    os.kill(pid, signal.SIGKILL)
                else:
                    os.killpg(group, signal.SIGKILL)
                    groups.add(group)
                stopped += 1
        for group in groups:
            wait_for_group(group, 10)
        shutil.rmtree(folder, ignore_errors=True)
    if stopped:
        log.warning("stopped %d LibreOffice process(es) left running by a build that was "
                    "killed", stopped)
    return stopped


def _processes_using(folder: Path) -> list[int]:
    """Processes whose command line names `folder`: LibreOffice's profile argument, or the
    warm converter's bridge, which is given the folder itself."""
    needles = (folder.resolve().as_uri().encode(), b"\0" + str(folder).encode() + b"\0",
               b"\0" + str(folder.resolve()).encode() + b"\0")
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if any(needle in cmdline for needle in needles):
                    found.append(int(entry.name))
    return found


def wait_for_group(group: int, timeout: float) -> None:
    """Wait (up to `timeout` seconds) until no process of process group `group` is left.
    SIGKILL is asynchronous, and a killed process stays listed until it is reaped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)


# LibreOffice processes converting now, so that Ctrl-C can stop those started from other
# threads (render/convert.py runs batches in the background).
_RUNNING: set[subprocess.Popen[str]] = set()
_STOPPING = threading.Event()


def stop_running() -> None:
    """Kill every LibreOffice this process is running (its whole process group) and start
    no more: for a process that is stopping (Ctrl-C, SIGTERM)."""
    _STOPPING.set()
    for process in list(_RUNNING):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def _run(args: list[str], timeout: float, env: dict[str, str]
         ) -> subprocess.CompletedProcess[str]:
    if _STOPPING.is_set():
        raise ConversionError("conversion abandoned: the converters are stopping")
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, stdin=subprocess.DEVNULL, env=env)
    _RUNNING.add(process)
    # Say so when LibreOffice is slow, rather than going quiet until the timeout.
    slow = threading.Timer(min(30.0, timeout / 3), log.warning, args=(
        "LibreOffice has been converting for %.0f seconds (plans usually take a few); it "
        "is stopped at %.0f seconds ([pdf] timeout_seconds)", min(30.0, timeout / 3),
        timeout))
    slow.daemon = True
    slow.start()
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ConversionError(f"LibreOffice did not finish within {timeout:.0f} seconds and "
                              "was stopped; if it keeps happening, raise [pdf] "
                              "timeout_seconds in config.toml") from None
    except BaseException:
        _kill_group(process)  # Ctrl-C or SIGTERM: never leave LibreOffice behind
        raise
    finally:
        slow.cancel()
        _RUNNING.discard(process)
    return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


@dataclass(frozen=True)
class PdfOptions:
    """How LibreOffice writes the PDF. Always tagged (headings, tables with header cells,
    reading order, the document's language; what a screen reader needs), its title shown
    in place of the file name; PDF/A-2 (ISO 19005-2) when `archival`."""

    archival: bool = False

    def filter_data(self) -> dict[str, bool | int]:
        data: dict[str, bool | int] = {"UseTaggedPDF": True, "ExportBookmarks": True,
                                       "DisplayPDFDocumentTitle": True}
        if self.archival:
            data["SelectPdfVersion"] = 2  # PDF/A-2b: the most PDF/A LibreOffice 7 writes
        return data

    def filter(self) -> str:
        """The --convert-to argument (LibreOffice 7.4 reads filter options as JSON)."""
        options = {name: {"type": "boolean", "value": str(value).lower()}
                   if isinstance(value, bool) else {"type": "long", "value": str(value)}
                   for name, value in self.filter_data().items()}
        return "pdf:writer_pdf_Export:" + json.dumps(options, separators=(",", ":"))


TAGGED_PDF = PdfOptions()


@dataclass(frozen=True)
class Conversion:
    source: Path
    pdf: Path | None
    error: str | None = None


def convert_batch(sources: Sequence[Path], *, soffice: Path, timeout: float,
                  profiles: Path | None = None,
                  options: PdfOptions = TAGGED_PDF) -> list[Conversion]:
    """Convert DOCX files to PDF beside them, in one LibreOffice process."""
    if not sources:
        return []
    outdir = sources[0].parent
    if any(source.parent != outdir for source in sources):
        raise ValueError("convert_batch needs files from one folder")
    with private_profile(profiles) as profile:
        args = [str(soffice), _profile_arg(profile), "--headless", "--invisible",
                "--norestore", "--nolockcheck", "--nodefault", "--nologo",
                "--convert-to", options.filter(), "--outdir", str(outdir),
                *(str(source) for source in sources)]
        try:
            result = _run(args, timeout, scratch_env(profile))
        except ConversionError as exc:
            return [Conversion(source, _pdf_for(source)) if _converted(source)
                    else Conversion(source, None, str(exc)) for source in sources]
    return [Conversion(source, _pdf_for(source)) if _converted(source)
            else Conversion(source, None, _failure(source, result)) for source in sources]


def _converted(source: Path) -> bool:
    pdf = _pdf_for(source)
    return pdf.is_file() and pdf.stat().st_size > 0


def _failure(source: Path, result: subprocess.CompletedProcess[str]) -> str:
    """What went wrong, in plain words first; LibreOffice's own last words only after."""
    if result.returncode < 0:
        return (f"LibreOffice stopped unexpectedly while converting {source.name} (it was "
                f"killed or crashed, signal {-result.returncode})")
    detail = (result.stderr or result.stdout).strip().splitlines()
    return (f"LibreOffice could not convert {source.name} to PDF (exit status "
            f"{result.returncode}{'; it said: ' + detail[-1] if detail else ''})")


def _pdf_for(source: Path) -> Path:
    return source.with_suffix(".pdf")


def convert_many(sources: Sequence[Path], *, soffice: Path, timeout: float, workers: int,
                 batch_size: int, profiles: Path | None = None,
                 options: PdfOptions = TAGGED_PDF) -> list[Conversion]:
    """Convert in batches, `workers` LibreOffice processes side by side. A document that
    fails is tried once more on its own (a crash or hang takes its whole batch down, and a
    fresh LibreOffice usually succeeds), so one bad document cannot fail its neighbours."""
    by_folder: dict[Path, list[Path]] = {}
    for source in sources:
        by_folder.setdefault(source.parent, []).append(source)
    batches: list[list[Path]] = []
    for folder_sources in by_folder.values():
        size = max(1, min(batch_size, -(-len(folder_sources) // max(1, workers))))
        batches += [folder_sources[i:i + size] for i in range(0, len(folder_sources), size)]

    def convert(batch: list[Path]) -> list[Conversion]:
        return convert_batch(batch, soffice=soffice, timeout=timeout, profiles=profiles,
                             options=options)

    def run(batch: list[Path]) -> list[Conversion]:
        return [done if done.pdf else _again(convert([done.source])[0], done)
                for done in convert(batch)]

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = [c for batch_result in pool.map(run, batches) for c in batch_result]
    order = {source: index for index, source in enumerate(sources)}
    return sorted(results, key=lambda c: order[c.source])


def _again(retried: Conversion, first: Conversion) -> Conversion:
    if retried.pdf is not None:
        log.warning("%s converted on the second try (first: %s)", first.source.name,
                    first.error)
        return retried
    return Conversion(first.source, None, f"tried twice: {retried.error}")
