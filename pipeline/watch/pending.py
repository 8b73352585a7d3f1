"""The debouncer: files that changed, waiting until they are quiet and complete.

Every file event only `touch`es a path. A path becomes ready once no event has arrived
for `debounce` seconds and its size and modification time have not moved since the last
event; a workbook must also open as a complete .xlsx. A file that stays quiet but never
becomes complete (damaged, or an upload that stalled) is released after
`incomplete_wait` seconds so that its error report appears. Thread-safe: the observer
thread touches, the watcher's loop collects.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..intake.files import WORKBOOK, FileState, file_state, is_complete_workbook

_INCOMPLETE_RECHECK = 0.25  # seconds between attempts to open a not-yet-complete file
# watchdog holds some inotify events back (up to half a second, to pair up renames); the
# quiet period is counted from the file's own change time, trusted back this far at most.
_EVENT_DELAY = 0.6


@dataclass
class _Entry:
    kind: str
    last_event: float
    state: FileState | None
    incomplete_since: float | None = None
    next_check: float = 0.0


class Pending:
    def __init__(self, debounce: float, incomplete_wait: float) -> None:
        self.debounce = debounce
        self.incomplete_wait = incomplete_wait
        self._entries: dict[Path, _Entry] = {}
        self._lock = threading.Lock()

    def touch(self, path: Path, kind: str, now: float, *, immediate: bool = False,
              not_before: float = 0.0) -> None:
        """Record an event for `path`; `immediate` skips the debounce (catch-up, rescan);
        `not_before` holds it back until then (a retry after the disk or registry failed)."""
        state = file_state(path)
        changed = now - self.debounce if immediate else _changed_at(state, now)
        with self._lock:
            self._entries[path] = _Entry(kind, changed, state, next_check=not_before)

    def forget(self, path: Path) -> None:
        with self._lock:
            self._entries.pop(path, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def collect(self, now: float) -> list[tuple[Path, str]]:
        """Paths ready to process now, smallest first (a huge file never holds up others)."""
        with self._lock:
            candidates = [(path, entry) for path, entry in self._entries.items()
                          if now - entry.last_event >= self.debounce and now >= entry.next_check]
        ready: list[tuple[Path, str, int]] = []
        for path, entry in candidates:
            state = file_state(path)
            verdict = self._judge(path, entry, state, now)
            with self._lock:
                if self._entries.get(path) is not entry:
                    continue  # a new event arrived meanwhile: its debounce starts again
                if verdict == "gone":
                    del self._entries[path]
                elif verdict == "ready":
                    del self._entries[path]
                    ready.append((path, entry.kind, state[0] if state else 0))
        return [(path, kind) for path, kind, _size in sorted(ready, key=lambda r: r[2])]

    def _judge(self, path: Path, entry: _Entry, state: FileState | None,
               now: float) -> str:
        if state is None:
            return "gone"  # deleted or renamed away (Excel's save moves the old file off)
        if state != entry.state:
            entry.state, entry.last_event = state, now  # still being written
            entry.incomplete_since = None
            return "wait"
        if entry.kind != WORKBOOK or is_complete_workbook(path):
            return "ready"
        if entry.incomplete_since is None:
            entry.incomplete_since = now
        if now - entry.incomplete_since >= self.incomplete_wait:
            return "ready"  # quiet but never whole: build it so the error report is written
        entry.next_check = now + _INCOMPLETE_RECHECK
        return "wait"


def _changed_at(state: FileState | None, now: float) -> float:
    """When the file last changed, on the monotonic clock: its ctime, but never later than
    now nor earlier than the longest event delivery delay (a share's clock may be off)."""
    if state is None:
        return now
    age = time.time() - state[2] / 1e9
    return now - min(max(age, 0.0), _EVENT_DELAY)
