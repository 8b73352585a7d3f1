"""`supportplan watch`: the hot folder. Schedules builds; the Builder does the work.

Start-up: refuse layouts that would loop or write outside the workspace, recover from a
killed run, warm up LibreOffice, catch up on anything added or changed while stopped
(content hashes against the registry), then follow file events. A periodic full rescan is
the safety net for events that never arrive (network shares, overflowing queues).
Ctrl-C / SIGTERM: the current build finishes or is abandoned (its conversion is killed and
nothing is published), LibreOffice is stopped, exit status 0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..build import FAILED, Builder, BuildOutcome
from ..config import Config
from ..errors import DiskFull, RegistryUnavailable
from ..files import sha256_file
from ..intake.files import SCAN, WORKBOOK, FileState, classify, file_state, refusal
from ..intake.problems import ERROR, Problem, ReadResult
from ..outputs import converter_profiles
from ..recover import recover_output
from ..registry import Registry, registry_for
from ..render.convert import Converter, ConvertSettings, WarmConverterPool, open_converter
from ..render.soffice import ConversionError
from .daily import DailyReport
from .eventlog import EventLog, counted
from .pending import Pending
from .scans import hand_over_scans
from .settings import WatchError, WatchSettings, check_layout

log = logging.getLogger(__name__)

_TICK = 0.05          # seconds between looks at the pending files
_BATCH = 8            # workbooks per build call: PDFs keep appearing during a bulk drop


class _Events(FileSystemEventHandler):
    """Observer thread: turn file events into `touch`es; nothing slow happens here."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                self.watcher.request_rescan()  # a folder moved in brings files with no events
            return
        if event.event_type in ("created", "modified", "closed"):
            self.watcher.notice(Path(os.fsdecode(event.src_path)))
        elif event.event_type == "moved":
            self.watcher.forget(Path(os.fsdecode(event.src_path)))
            self.watcher.notice(Path(os.fsdecode(event.dest_path)))
        elif event.event_type == "deleted":
            self.watcher.forget(Path(os.fsdecode(event.src_path)))


class Watcher:
    def __init__(self, config: Config, settings: WatchSettings, events: EventLog, *,
                 registry: Registry | None = None) -> None:
        check_layout(config)
        self.config, self.settings, self.events = config, settings, events
        self.intake = config.intake_dir
        self.registry = registry or registry_for(config)
        self.pending = Pending(settings.debounce, settings.incomplete_wait)
        self.pool: Converter | None = None
        self.builder: Builder | None = None
        self._done: dict[Path, tuple[FileState | None, str]] = {}  # path -> state, sha
        self._refused: set[Path] = set()
        self._stop = threading.Event()
        self._rescan_now = threading.Event()
        self._building = False
        self.observer: BaseObserver | None = None
        self.daily = DailyReport(config, events)
        from ..queue import uses_queue

        # With a PostgreSQL registry the work is queued for `supportplan worker` processes
        # on any machine (pipeline/queue.py); with SQLite it is done here.
        self.queued = uses_queue(config)

    # -- called from the observer thread -------------------------------------------
    def notice(self, path: Path) -> None:
        kind = classify(path, self.intake)
        if kind is None:
            self._note_refused(path)
        else:
            log.debug("%s event at %.3f", kind, time.monotonic())  # no file names: privacy
            self.pending.touch(path, kind, time.monotonic())

    def forget(self, path: Path) -> None:
        self.pending.forget(path)
        self._refused.discard(path)

    def _note_refused(self, path: Path) -> None:
        """One log line per link (or path leading outside intake/) that is not followed."""
        try:
            hidden = any(part.startswith((".", "~")) for part in path.relative_to(
                self.intake).parts)
        except ValueError:
            return
        if hidden or path in self._refused:
            return
        reason = refusal(path, self.intake)
        if reason is not None:
            self._refused.add(path)
            self.events.emit(f"ignored: {reason}", output=path)

    def request_rescan(self) -> None:
        self._rescan_now.set()

    # -- control -------------------------------------------------------------------
    def stop(self, *_args: object) -> None:
        """Stop soon. From a signal handler: kill an in-flight conversion so the build is
        abandoned at once (nothing half-made is published)."""
        self._stop.set()
        if self._building and self.pool is not None:
            self.pool.abort()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM,
                                                                   signal.SIGINT)}
        try:
            self.start()
            while not self.stopping:
                self.step()
                self._stop.wait(_TICK)
        finally:
            self.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.events.emit("stopped")
        return 0

    def start(self) -> None:
        moved = recover_output(self.config, self.registry)
        for path in moved:
            self.events.emit("set aside a file of a version whose build was stopped",
                             path.parent.name, output=path)
        pdf = self.config.settings.pdf.enabled
        self.builder = Builder(self.config, registry=self.registry, pdf=pdf,
                               converter=None if self.queued else self._start_converter())
        for notice in self.builder.notices():
            self.events.emit("note", detail=notice)
        self._start_observer()  # before catching up, so nothing saved meanwhile is missed
        self.catch_up()
        self.events.emit("watching", detail=("polling" if self.settings.polling else "events")
                         + f", debounce {self.settings.debounce:g}s")
        self._next_rescan = time.monotonic() + self.settings.rescan

    def _start_converter(self) -> Converter | None:
        """The converter pool, kept warm between builds (render/convert.py)."""
        if not self.config.settings.pdf.enabled:
            return None
        self.pool = open_converter(ConvertSettings.from_config(self.config,
                                                               jobs=self.settings.jobs),
                                   converter_profiles(self.config))
        if isinstance(self.pool, WarmConverterPool):
            self.events.emit("converter ready", detail="LibreOffice process group(s) "
                             + ", ".join(str(pid) for pid in self.pool.pids()))
        else:
            self.events.emit("warm converter unavailable, converting cold",
                             detail="install python3-uno (see the log)")
        return self.pool

    def _start_observer(self) -> None:
        observer: BaseObserver = (PollingObserver(timeout=self.settings.polling_interval)
                                  if self.settings.polling else Observer())
        observer.schedule(_Events(self), str(self.intake), recursive=True)
        observer.daemon = True
        observer.start()
        self.observer = observer

    def close(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            with contextlib.suppress(RuntimeError):
                self.observer.join(timeout=5)
        if self.pool is not None:
            self.pool.close()
        if self.builder is not None:
            self.builder.close()
        self.daily.join()

    # -- the loop ------------------------------------------------------------------
    def step(self) -> None:
        now = time.monotonic()
        if self.observer is not None and not self.observer.is_alive() and not self.stopping:
            self.events.emit("file events stopped; restarting the observer")
            self._start_observer()
            self._rescan_now.set()
        if self._rescan_now.is_set() or now >= self._next_rescan:
            self._rescan_now.clear()
            self.rescan()
            self._next_rescan = now + self.settings.rescan
        self.daily.maybe_start()
        ready = self.pending.collect(now)
        workbooks = [path for path, kind in ready if kind == WORKBOOK]
        scans = [path for path, kind in ready if kind == SCAN]
        for start in range(0, len(workbooks), _BATCH):
            if self.stopping:
                return
            self.build(workbooks[start:start + _BATCH])
        if scans:
            hand_over_scans(self.config, self.registry, self.events, scans,
                            queued=self.queued)
        if not ready and isinstance(self.pool, WarmConverterPool) and not self.stopping:
            try:
                self.pool.warm_up()  # replace a converter that died or is due a restart
            except ConversionError as exc:
                self.events.emit("warm converter failed to restart", detail=str(exc))

    def _candidates(self) -> list[tuple[Path, str]]:
        found = []
        for folder, dirs, files in os.walk(self.intake):
            dirs[:] = [d for d in dirs if not d.startswith((".", "~"))]
            for name in files:
                path = Path(folder) / name
                kind = classify(path, self.intake)
                if kind is not None:
                    found.append((path, kind))
                else:
                    self._note_refused(path)
        return found

    def catch_up(self) -> None:
        """Process whatever was added or changed while the watcher was not running."""
        known = self.registry.known_workbook_hashes()
        queued = 0
        for path, kind in self._candidates():
            if kind == WORKBOOK:
                state = file_state(path)
                try:
                    digest = sha256_file(path)
                except OSError:
                    continue
                if known.get(str(path.resolve())) == digest:
                    self._done[path] = (state, digest)
                    continue
            self.pending.touch(path, kind, time.monotonic(), immediate=True)
            queued += 1
        if queued:
            self.events.emit("catching up", detail=f"{queued} file(s) new or changed")

    def rescan(self) -> None:
        """Safety net: queue any workbook whose size or time changed without an event."""
        for path, kind in self._candidates():
            if kind != WORKBOOK:
                continue
            done = self._done.get(path)
            if done is None or done[0] != file_state(path):
                self.pending.touch(path, kind, time.monotonic())

    # -- building ------------------------------------------------------------------
    def build(self, paths: list[Path]) -> None:
        todo: list[tuple[Path, str, FileState | None]] = []
        for path in paths:
            state = file_state(path)
            try:
                digest = sha256_file(path)
            except OSError:
                self.pending.touch(path, WORKBOOK, time.monotonic())  # locked: try again
                continue
            done = self._done.get(path)
            if done is not None and done[1] == digest:
                self._done[path] = (state, digest)  # touched, not changed: nothing to do
                continue
            if state is not None and state[0] > self.settings.max_bytes:
                self._finish(path, state, digest, self._too_large(path, state[0]))
                continue
            todo.append((path, digest, state))
        if not todo:
            return
        if self.queued:
            self._enqueue(todo)
            return
        assert self.builder is not None
        self._building = True
        log.debug("building %d workbook(s) at %.3f", len(todo), time.monotonic())
        try:
            outcomes = self.builder.build([path.resolve() for path, _d, _s in todo])
        except (DiskFull, RegistryUnavailable) as exc:
            # Not the workbooks' fault: nothing is marked done, all are tried again later.
            self._pause([path for path, _d, _s in todo], exc)
            return
        except Exception:
            outcomes = self._build_one_by_one([path.resolve() for path, _d, _s in todo])
        finally:
            self._building = False
        for (path, digest, state), outcome in zip(todo, outcomes, strict=True):
            self._finish(path, state, digest, outcome)

    def _enqueue(self, todo: list[tuple[Path, str, FileState | None]]) -> None:
        from ..queue import enqueue_workbooks

        try:
            enqueue_workbooks(self.config, [path for path, _d, _s in todo])
        except RegistryUnavailable as exc:  # the database is away: try again later
            self._pause([path for path, _d, _s in todo], exc)
            return
        for path, digest, state in todo:
            self._done[path] = (state, digest)
        self.events.emit(f"queued {counted(len(todo), 'workbook')} for the workers")

    def _pause(self, paths: list[Path], cause: Exception) -> None:
        """Say why, and look at `paths` again after the configured wait."""
        wait = self.settings.retry_after
        self.events.emit(f"paused: {cause}", detail=f"trying again in {wait:.0f} s")
        for path in paths:
            self.pending.touch(path, WORKBOOK, time.monotonic(), immediate=True,
                               not_before=time.monotonic() + wait)

    def _build_one_by_one(self, paths: list[Path]) -> list[BuildOutcome]:
        """The batch itself failed: build one by one, so a single bad file cannot take its
        neighbours down."""
        assert self.builder is not None
        outcomes = []
        for path in paths:
            if self.stopping:
                outcomes.append(BuildOutcome(path, FAILED, message="abandoned: stopping"))
                continue
            try:
                [outcome] = self.builder.build([path])
            except Exception:
                log.exception("build failed")
                outcome = BuildOutcome(path, FAILED, message="unexpected error while "
                                       "building; details in the debug log")
            outcomes.append(outcome)
        return outcomes

    def _too_large(self, path: Path, size: int) -> BuildOutcome:
        assert self.builder is not None
        limit = self.settings.max_bytes // (1024 * 1024)
        problem = Problem(ERROR, "", "", f"{path.name} is {size / 1024 / 1024:.0f} MB, larger "
                          f"than the {limit} MB limit for a household workbook",
                          "remove pictures or pasted data and save it again, or raise "
                          "[watch] max_workbook_mb in config.toml")
        return self.builder.report_invalid(ReadResult(path.resolve(), None, [problem]))

    def _finish(self, path: Path, state: FileState | None, digest: str,
                outcome: BuildOutcome) -> None:
        abandoned = outcome.status == FAILED and outcome.error_report is None
        if abandoned and self.stopping:
            self.events.emit("build abandoned (stopping); it is redone on the next start",
                             outcome.reference)
            return
        if not abandoned:
            # Remember this content: the same bytes never build twice. A failure with no
            # error report (LibreOffice crashed) is not remembered, so a rescan retries it.
            self._done[path] = (state, digest)
        if outcome.status == FAILED:
            errors = sum(p.severity == ERROR for p in outcome.problems)
            self.events.emit("failed: " + (f"{counted(errors, 'problem')} in the workbook, "
                             "see the error report" if outcome.error_report
                             else _safe_detail(outcome.message)),
                             outcome.reference, output=outcome.error_report or path,
                             detail=_where(p for p in outcome.problems if p.severity == ERROR))
            return
        if outcome.status == "built":
            self.events.emit(f"built v{outcome.version}", outcome.reference,
                             output=outcome.pdf or outcome.docx)
        else:
            self.events.emit(f"{outcome.status} (v{outcome.version})", outcome.reference)
        if outcome.warnings:
            # Cells only: a warning's words may quote what was typed (names, details).
            self.events.emit(f"{counted(len(outcome.warnings), 'warning')}, see the warnings "
                             "file", outcome.reference, output=outcome.warning_report,
                             detail=_where(outcome.warnings))


def _where(problems: Iterable[Problem]) -> str:
    """The cells a list of problems points at (never their words: they quote entries)."""
    cells = [p.location for p in problems if p.location]
    return ", ".join(cells[:8]) + (", ..." if len(cells) > 8 else "")


def _safe_detail(message: str) -> str:
    # Builder messages for conversion/publish failures name files by reference only.
    return message.splitlines()[0][:200] if message else "unknown error"


def run_watch(config: Config, *, polling: bool | None = None, as_json: bool = False,
              jobs: int | None = None) -> int:
    settings = WatchSettings.from_config(config, polling=polling, jobs=jobs)
    events = EventLog(config.root.resolve(), as_json=as_json)
    return Watcher(config, settings, events).run()


__all__ = ["WatchError", "WatchSettings", "Watcher", "check_layout", "run_watch"]
