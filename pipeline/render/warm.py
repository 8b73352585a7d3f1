"""Warm LibreOffice converters: a document becomes a PDF without a cold start.

`soffice --convert-to` pays about a second of start-up per call, which dominates the time
from a save to its PDF. Here each converter is a long-lived LibreOffice listener driven
over UNO by `uno_bridge.py`, run with the system Python that has LibreOffice's `uno`
module (Debian: python3-uno). The pool keeps one or more of them alive, restarts one that
died or hung, and recycles each after a set number of documents (LibreOffice grows over
time). It is one of the converters behind render/convert.py's interface.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import Queue

from .soffice import (
    TAGGED_PDF,
    Conversion,
    ConversionError,
    PdfOptions,
    scratch_env,
    wait_for_group,
)

BRIDGE_SCRIPT = Path(__file__).with_name("uno_bridge.py")
_UNO_PYTHON_CANDIDATES = ("/usr/bin/python3", "python3")

log = logging.getLogger(__name__)


def find_uno_python(configured: str = "") -> Path | None:
    """A Python that can `import uno` (LibreOffice's bindings), or None."""
    candidates = [configured] if configured else list(_UNO_PYTHON_CANDIDATES)
    for candidate in candidates:
        found = shutil.which(candidate) if "/" not in candidate else candidate
        if not found or not os.access(found, os.X_OK):
            continue
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            check = subprocess.run([found, "-c", "import uno"], capture_output=True,
                                   timeout=30, stdin=subprocess.DEVNULL)
            if check.returncode == 0:
                return Path(found)
    return None


def _lock_file(document: Path) -> Path:
    return document.with_name(f".~lock.{document.name}#")


class _Bridge:
    """One soffice listener plus its bridge process, in their own process group."""

    def __init__(self, soffice: Path, python: Path, start_timeout: float,
                 profiles: Path | None) -> None:
        # named after this process, so a later build can stop it if the watcher is killed
        # (soffice.reap_abandoned)
        if profiles is not None:
            profiles.mkdir(parents=True, exist_ok=True)
        self.profile = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-warm-", dir=profiles))
        pipe = f"supportplan-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.process = subprocess.Popen(
            [str(python), str(BRIDGE_SCRIPT), str(soffice), str(self.profile), pipe,
             str(start_timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            start_new_session=True, env=scratch_env(self.profile))
        self.documents = 0
        self.broken = False
        self._buffer = b""
        try:
            ready = self._read_reply(start_timeout + 5)
        except ConversionError:
            self.kill()
            raise
        if not ready.get("ready"):
            self.kill()
            raise ConversionError("the warm LibreOffice converter did not start")

    @property
    def alive(self) -> bool:
        # `broken`: killed after a failure, and perhaps not gone yet (a killed process
        # takes a moment to exit, and must never be handed the next document meanwhile).
        return not self.broken and self.process.poll() is None

    def _read_reply(self, timeout: float) -> dict[str, object]:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConversionError(f"LibreOffice did not answer within {timeout:.0f} "
                                      "seconds and was stopped")
            readable, _, _ = select.select([fd], [], [], remaining)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise ConversionError("the LibreOffice converter stopped unexpectedly")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return json.loads(line)

    def convert(self, source: Path, timeout: float, options: PdfOptions) -> Conversion:
        target = source.with_suffix(".pdf")
        assert self.process.stdin is not None
        # What a converter killed mid-document leaves: half a PDF, and the lock file that
        # makes LibreOffice refuse to write that PDF again ("Abort Code 27").
        for leftover in (target, _lock_file(target), _lock_file(source)):
            leftover.unlink(missing_ok=True)
        try:
            self.process.stdin.write((json.dumps({
                "source": str(source), "target": str(target),
                "filter_data": options.filter_data()}) + "\n").encode())
            self.process.stdin.flush()
            reply = self._read_reply(timeout)
        except (OSError, ConversionError, ValueError) as exc:
            self.broken = True
            self.kill()  # hung or dead: never reuse a converter in an unknown state
            message = str(exc) if isinstance(exc, ConversionError) else \
                "the LibreOffice converter stopped unexpectedly"
            return Conversion(source, None, f"{message} while converting {source.name}")
        self.documents += 1
        if reply.get("ok") and target.is_file() and target.stat().st_size > 0:
            return Conversion(source, target)
        return Conversion(source, None, f"LibreOffice could not convert {source.name} to PDF "
                          f"({reply.get('error', 'no PDF written')}).")

    def kill(self) -> None:
        """Stop at once (safe to call from a signal handler): the whole process group."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def close(self, timeout: float = 10) -> None:
        """Ask LibreOffice to quit; kill it if it does not."""
        if self.alive:
            with contextlib.suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        self.kill()  # also catches a soffice left behind by a bridge that exited
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        # SIGKILL is asynchronous: wait until the whole group is gone, so that when the
        # watcher exits no LibreOffice process is left behind.
        wait_for_group(self.process.pid, 10)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class WarmConverterPool:
    """`size` warm converters, one per job; `submit(sources)` spreads the documents across
    them as each becomes free. A document that fails is tried once more on a fresh
    converter (a crash or hang kills the converter it was on), as the cold converter does."""

    def __init__(self, soffice: Path, python: Path, *, size: int = 1, timeout: float = 180,
                 max_documents: int = 200, start_timeout: float = 60,
                 profiles: Path | None = None, options: PdfOptions = TAGGED_PDF) -> None:
        self.soffice, self.python, self.profiles = soffice, python, profiles
        self.options = options
        self.size = max(1, size)
        self.timeout, self.max_documents = timeout, max(1, max_documents)
        self.start_timeout = start_timeout
        self._idle: Queue[_Bridge | None] = Queue()
        self._all: list[_Bridge] = []
        self._lock = threading.Lock()
        self.restarts = 0
        self._stopping = False
        # One thread per converter: each waits on its LibreOffice, so the GIL is free.
        self._workers = ThreadPoolExecutor(max_workers=self.size,
                                           thread_name_prefix="warm-converter")
        for _ in range(self.size):
            self._idle.put(None)  # a slot; started on first use or by warm_up()

    @property
    def jobs(self) -> int:
        return self.size

    def warm_up(self) -> None:
        """Start every slot that is empty, dead or due for recycling, side by side (call
        when idle)."""
        slots = [self._idle.get() for _ in range(self.size)]
        with ThreadPoolExecutor(max_workers=self.size) as starting:
            attempts = [starting.submit(self._ready, bridge) for bridge in slots]
        ready: list[_Bridge | None] = []
        failure: ConversionError | None = None
        for attempt in attempts:
            try:
                ready.append(attempt.result())
            except ConversionError as exc:
                ready.append(None)
                failure = exc
        for bridge in ready:
            self._idle.put(bridge)
        if failure is not None:
            raise failure

    def _ready(self, bridge: _Bridge | None) -> _Bridge:
        if self._stopping:
            raise ConversionError("conversion abandoned: the converters are stopping")
        if bridge is not None and bridge.alive and bridge.documents < self.max_documents:
            return bridge
        if bridge is not None:
            bridge.close()
            with self._lock:
                self._all.remove(bridge)
                self.restarts += 1
        fresh = _Bridge(self.soffice, self.python, self.start_timeout, self.profiles)
        with self._lock:
            self._all.append(fresh)
        if self._stopping:  # abort() ran while this one was starting
            fresh.kill()
        return fresh

    def _attempt(self, source: Path) -> Conversion:
        bridge = self._idle.get()
        try:
            try:
                bridge = self._ready(bridge)
            except ConversionError as exc:
                bridge = None
                return Conversion(source, None, str(exc))
            return bridge.convert(source, self.timeout, self.options)
        finally:
            self._idle.put(bridge)

    def _convert_one(self, source: Path) -> Conversion:
        first = self._attempt(source)
        if first.pdf is not None or self._stopping:
            return first
        again = self._attempt(source)
        if again.pdf is not None:
            log.warning("%s converted on the second try (first: %s)", source.name, first.error)
            return again
        return Conversion(source, None, f"tried twice: {again.error}")

    def submit(self, sources: Sequence[Path]) -> list[Future[Conversion]]:
        return [self._workers.submit(self._convert_one, source) for source in sources]

    def convert(self, sources: Sequence[Path]) -> list[Conversion]:
        return [future.result() for future in self.submit(sources)]

    def pids(self) -> list[int]:
        """The process group of each running converter (its bridge leads the group)."""
        with self._lock:
            return [bridge.process.pid for bridge in self._all if bridge.alive]

    def abort(self) -> None:
        """Kill every converter now and start no more: an in-flight conversion fails at
        once. Safe to call from a signal handler."""
        self._stopping = True
        for bridge in list(self._all):
            bridge.kill()

    def close(self) -> None:
        self._stopping = True
        self._workers.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            bridges, self._all = list(self._all), []
        for bridge in bridges:
            bridge.close()
        self._workers.shutdown(wait=True)


__all__ = ["WarmConverterPool", "find_uno_python"]
