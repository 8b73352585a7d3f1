"""Read workbooks in child processes with a time and a memory limit.

A damaged or crafted file can make a parser loop or swell; in a child process it can only
hurt that child. Each child sets RLIMIT_AS on itself and serves read requests over a pipe;
the parent waits at most `timeout_seconds` for each answer and kills the child when it does
not come. Children are forked from a forkserver that has already imported the reader, so a
new one starts in milliseconds and none inherits the watcher's threads. They are kept
between reads (a batch pays the start-up once; the watcher once per run); a child that
failed is replaced.

What crosses the pipe is the ReadResult itself (plain dataclasses).
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import signal
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ..processes import CONTEXT, ignore_interrupts
from .options import ReadOptions
from .problems import ReadResult, workbook_error

log = logging.getLogger(__name__)

# A child is replaced after this many reads, so fragmentation from odd files never adds up.
_READS_PER_CHILD = 500
_IS_IT_A_WORKBOOK = ("check it is really a household workbook; if it is, open it in Excel, "
                     "save it again, and remove pasted-in data or pictures")


def _virtual_memory_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _serve(conn: Connection, memory_mb: int) -> None:
    """The child: read workbooks until the parent closes the pipe."""
    # imported here, and before the memory limit: the forkserver has it imported already
    # (pipeline/processes.py), and the parent, which reads nothing itself, never loads it
    from .reader import read_workbook

    ignore_interrupts()
    # The limit counts on top of what the child already has mapped (the interpreter and
    # the libraries it shares with the forkserver).
    limit = _virtual_memory_bytes() + memory_mb * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for _ in range(_READS_PER_CHILD):
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        path, options = request
        try:
            result = read_workbook(path, options=options)
        except MemoryError:
            result = None
        except BaseException as exc:  # never leave the parent waiting for an answer
            result = workbook_error(path, f"could not be read ({type(exc).__name__})",
                                    _IS_IT_A_WORKBOOK)
        try:
            conn.send(result)
        except MemoryError:
            conn.send(None)
        if result is None:
            return  # a child that ran out of memory is not trusted with the next file


class _Child:
    def __init__(self, memory_mb: int) -> None:
        self.conn, child_end = CONTEXT.Pipe()
        self.process = CONTEXT.Process(target=_serve, args=(child_end, memory_mb),
                                        daemon=True, name="workbook-reader")
        self.process.start()
        child_end.close()
        self.reads = 0
        self.job: tuple[int, Path, float] | None = None  # index, path, deadline

    def usable(self) -> bool:
        return self.process.is_alive() and self.reads < _READS_PER_CHILD

    def submit(self, index: int, path: Path, options: ReadOptions) -> None:
        self.conn.send((path, options))
        self.reads += 1
        self.job = (index, path, time.monotonic() + options.timeout_seconds)

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class IsolatedReader:
    """`read_many(paths)` -> ReadResults, in order, each read in a limited child process."""

    def __init__(self, options: ReadOptions, *, workers: int | None = None) -> None:
        self.options = options
        self.workers = max(1, workers or min(4, os.cpu_count() or 1))
        self._children: list[_Child] = []

    def read(self, path: Path) -> ReadResult:
        return self.read_many([path])[0]

    def read_many(self, paths: Sequence[Path]) -> list[ReadResult]:
        results: list[ReadResult | None] = [None] * len(paths)
        todo = list(enumerate(Path(p) for p in paths))[::-1]
        busy: list[_Child] = []
        failed_starts = 0
        idle = [c for c in self._children if c.usable()]
        for child in self._children:
            if child not in idle:
                child.kill()
        self._children = list(idle)
        while todo or busy:
            while todo and len(busy) < self.workers:
                child = idle.pop() if idle else self._start()
                index, path = todo.pop()
                try:
                    child.submit(index, path, self.options)
                except (OSError, ValueError):  # the child died while idle: use a new one
                    self._retire(child)
                    failed_starts += 1
                    if failed_starts > 3:
                        results[index] = workbook_error(
                            path, "could not be read: the reading process did not start",
                            "try again; if it keeps happening, restart the computer")
                    else:
                        todo.append((index, path))
                    continue
                busy.append(child)
            if not busy:
                continue
            now = time.monotonic()
            deadline = min(child.job[2] for child in busy if child.job)
            ready = wait([child.conn for child in busy], timeout=max(0.0, deadline - now))
            for child in list(busy):
                assert child.job is not None
                index, path, due = child.job
                if child.conn in ready:
                    results[index] = self._answer(child, path)
                elif time.monotonic() >= due:
                    log.warning("workbook read stopped after %.0f s", self.options.timeout_seconds)
                    results[index] = self._timed_out(path)
                    self._retire(child)
                else:
                    continue
                busy.remove(child)
                if child in self._children and child.usable():
                    child.job = None
                    idle.append(child)
                elif child in self._children:
                    self._retire(child)
        return [result for result in results if result is not None]

    def _start(self) -> _Child:
        child = _Child(self.options.memory_mb)
        self._children.append(child)
        return child

    def _retire(self, child: _Child) -> None:
        child.kill()
        if child in self._children:
            self._children.remove(child)

    def _answer(self, child: _Child, path: Path) -> ReadResult:
        died = False
        try:
            result: Any = child.conn.recv()
        except (EOFError, OSError):
            result, died = None, True
        except MemoryError:
            result = None
        if isinstance(result, ReadResult):
            return result
        if died:
            child.process.join(timeout=5)
        code = child.process.exitcode
        self._retire(child)  # it ran out of memory, or died on the way
        # Killed (by the kernel's out-of-memory killer, most likely) counts as memory;
        # any other death is not the workbook's size, and is not reported as such.
        if died and code not in (-signal.SIGKILL, None):
            log.warning("the workbook reader stopped (exit status %s)", code)
            return workbook_error(path, "could not be read: the reading process stopped "
                                  f"unexpectedly (exit status {code})",
                                  "save it again to retry; if it keeps happening, tell "
                                  "whoever looks after supportplan")
        log.warning("workbook read needed more than %d MB", self.options.memory_mb)
        return workbook_error(path, f"needed more than {self.options.memory_mb} MB of memory "
                              "to read, far more than a household workbook needs",
                              _IS_IT_A_WORKBOOK)

    def _timed_out(self, path: Path) -> ReadResult:
        return workbook_error(path, f"took longer than {self.options.timeout_seconds:g} s to "
                              "read, far longer than a household workbook takes",
                              _IS_IT_A_WORKBOOK)

    def close(self) -> None:
        for child in self._children:
            child.kill()
        self._children = []

    def __enter__(self) -> IsolatedReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
