"""One way to ask for PDFs: the `Converter` interface, and the pool that `build` and `watch`
get from `open_converter`.

A converter takes DOCX files and hands back a future per file, so the build reads and
renders the next households while LibreOffice works on these. Two implementations:

- `WarmConverterPool` (render/warm.py): `jobs` LibreOffice processes kept running, one per
  job, each with its own profile and process group, driven over UNO; recycled after
  `recycle_after` documents or when one dies, a failed document tried once more on a fresh
  one. The default: no start-up per batch, every core busy.
- `ColdConverter` (here): `soffice --convert-to` in batches (render/soffice.py), for a
  machine without LibreOffice's Python bindings (python3-uno) or when `[convert] warm` is
  off. Same retry, same plain-word errors, a second or so of start-up per batch.

Why not unoserver (the well-kept package for warm LibreOffice)? Measured side by side on
the same DOCX files in bench/build.py (2 cores, 40 plans, one converter per core): the
bridge here 2.9 plans/s, unoserver 3.6 driven over XML-RPC 2.7 plans/s, so it buys no
speed, and it lacks what this pool needs: it listens on two TCP ports that any local user
can reach (its README: "no security on either ports used"; plans are sensitive, the bridge
talks over a pipe only its parent holds); it must run under the Python that has `uno`,
installed apart from the project's virtual environment; it sleeps 5 seconds before
serving at every start and restart; after `--stop-after`, a crash or a timeout it exits
and leaves restarting to "service management software"; and it does not run LibreOffice
in a process group of its own (one stopped by SIGTERM during these measurements left its
LibreOffice running).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..config import Config, default_values
from .soffice import (
    TAGGED_PDF,
    Conversion,
    ConversionError,
    PdfOptions,
    convert_many,
    find_soffice,
    stop_running,
)
from .warm import WarmConverterPool, find_uno_python

log = logging.getLogger(__name__)


class Converter(Protocol):
    """Converts DOCX files to PDFs beside them."""

    jobs: int  # documents converted at the same time

    def submit(self, sources: Sequence[Path]) -> list[Future[Conversion]]:
        """Start converting `sources`; one future per source, in order. A future never
        raises: a failure is a Conversion with an error in plain words."""
        ...

    def abort(self) -> None:
        """Stop every conversion now (safe from a signal handler); in-flight ones fail."""
        ...

    def close(self) -> None:
        """Stop every LibreOffice process this converter started, and wait until they are
        gone."""
        ...


def convert(converter: Converter, sources: Sequence[Path]) -> list[Conversion]:
    """Convert and wait: the results in the order of `sources`."""
    return [future.result() for future in converter.submit(sources)]


def default_jobs() -> int:
    """One converter per CPU core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ConvertSettings:
    """[convert] and [pdf] settings that decide how PDFs are made."""

    soffice: str
    jobs: int
    warm: bool
    recycle_after: int
    uno_python: str
    timeout: float
    batch_size: int
    options: PdfOptions

    @classmethod
    def from_config(cls, config: Config, *, jobs: int | None = None) -> ConvertSettings:
        """`jobs` (from --jobs) wins over the settings; 0 means one per CPU core."""
        def get(key: str, old_key: str) -> Any:
            return _setting(config, key, old_key)

        configured = int(get("jobs", "converters")) if jobs is None else jobs
        return cls(soffice=config.settings.pdf.soffice,
                   jobs=configured if configured > 0 else default_jobs(),
                   warm=bool(get("warm", "warm_converter")),
                   recycle_after=max(1, int(get("recycle_after", "converter_max_documents"))),
                   uno_python=str(get("uno_python", "uno_python")),
                   timeout=config.settings.pdf.timeout_seconds,
                   batch_size=max(1, config.settings.pdf.batch_size),
                   options=PdfOptions(archival=config.settings.pdf.archival))


def _setting(config: Config, key: str, old_key: str) -> Any:
    """[convert] `key`, or its older name in [watch] when only that was changed (a
    config.toml written before [convert] existed)."""
    defaults = default_values()
    value, old = config.get("convert", key), config.get("watch", old_key)
    if value == defaults["convert"][key] and old != defaults["watch"][old_key]:
        return old
    return value


# Starts converters in the background (one at a time; the thread ends when idle).
_STARTING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="converter-start")


def open_converter_soon(settings: ConvertSettings, profiles: Path | None
                        ) -> Future[Converter]:
    """`open_converter` in the background: LibreOffice starts (over a second) while the
    caller goes on."""
    return _STARTING.submit(open_converter, settings, profiles)


def close_unused(opening: Future[Converter] | None) -> None:
    """Close a converter from `open_converter_soon` that will not be used, once started
    (a failed start has nothing to close)."""
    if opening is not None:
        with contextlib.suppress(Exception):
            opening.result().close()


def open_converter(settings: ConvertSettings, profiles: Path | None) -> Converter:
    """The warm pool, started; the cold converter when the warm one cannot run here (no
    python3-uno, or it fails to start), with a log line saying so."""
    soffice = find_soffice(settings.soffice)
    if settings.warm:
        python = find_uno_python(settings.uno_python)
        if python is None:
            log.warning("converting with a fresh LibreOffice per batch: its Python bindings "
                        "are missing (install python3-uno for faster builds)")
        else:
            pool = WarmConverterPool(soffice, python, size=settings.jobs,
                                     timeout=settings.timeout,
                                     max_documents=settings.recycle_after,
                                     profiles=profiles, options=settings.options)
            try:
                pool.warm_up()
            except ConversionError as exc:
                pool.close()
                log.warning("converting with a fresh LibreOffice per batch: the warm "
                            "converter did not start (%s)", exc)
            else:
                return pool
    return ColdConverter(soffice, jobs=settings.jobs, timeout=settings.timeout,
                         batch_size=settings.batch_size, profiles=profiles,
                         options=settings.options)


class ColdConverter:
    """`soffice --convert-to` in batches, `jobs` processes side by side (render/soffice.py)."""

    def __init__(self, soffice: Path, *, jobs: int, timeout: float, batch_size: int,
                 profiles: Path | None = None, options: PdfOptions = TAGGED_PDF) -> None:
        self.soffice, self.jobs, self.timeout = soffice, max(1, jobs), timeout
        self.batch_size, self.profiles, self.options = batch_size, profiles, options
        # One batch at a time in the background; convert_many runs `jobs` LibreOffice
        # processes for it.
        self._background = ThreadPoolExecutor(max_workers=1,
                                              thread_name_prefix="cold-converter")
        self._lock = threading.Lock()
        self._stopping = False

    def submit(self, sources: Sequence[Path]) -> list[Future[Conversion]]:
        futures: list[Future[Conversion]] = [Future() for _ in sources]
        if not sources:
            return futures
        for future in futures:
            future.set_running_or_notify_cancel()

        def run() -> None:
            if self._stopping:
                for future, source in zip(futures, sources, strict=True):
                    future.set_result(Conversion(source, None, "conversion abandoned: the "
                                                 "converters are stopping"))
                return
            try:
                results = convert_many(sources, soffice=self.soffice, timeout=self.timeout,
                                       workers=self.jobs, batch_size=self.batch_size,
                                       profiles=self.profiles, options=self.options)
            except Exception as exc:  # never leave a caller waiting on a future
                results = [Conversion(source, None, f"PDF conversion failed ({exc})")
                           for source in sources]
            for future, result in zip(futures, results, strict=True):
                future.set_result(result)

        with self._lock:
            self._background.submit(run)
        return futures

    def abort(self) -> None:
        stop_running()  # the batch's conversions fail at once; none is started again
        self._stopping = True

    def close(self) -> None:
        self._background.shutdown(wait=True)


__all__ = ["ColdConverter", "ConvertSettings", "Converter", "WarmConverterPool",
           "convert", "default_jobs", "open_converter"]
