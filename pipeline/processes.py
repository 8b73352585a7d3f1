"""The one way this program starts worker processes: forked from a forkserver.

A forkserver is started once, imports what the workers need, and forks each worker from
itself: a worker starts in milliseconds, shares those modules' memory, and inherits none of
the threads a build or watcher has running (forking a process with threads can deadlock).
One list of modules to preload, because the forkserver is one per program.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import sys
import threading
from importlib.machinery import ModuleSpec
from multiprocessing import forkserver

CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(["pipeline.intake.reader", "pipeline.render.workers",
                                "pipeline.render.docx", "pipeline.render.stamp",
                                "pipeline.wording.preload"])


def _children_skip_the_main_script() -> None:
    """multiprocessing runs the program's main script again in every child it starts, so
    that functions defined there can be sent to it; for `supportplan` that script is the
    whole command line (1.4 s a child, most of what a small build's workers spent). What
    workers run here always lives in a module, never in a script, so the children are told
    the main module is a package's `__main__`, which they skip."""
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = ModuleSpec("pipeline.__main__", None)


_children_skip_the_main_script()


def start_forkserver() -> None:
    """Start the forkserver now rather than at the first worker, so that it imports what
    the workers need (over a second) while this process imports the rest of the program.
    Returns at once: the first worker to start waits for the imports to finish."""
    forkserver.ensure_running()


def ignore_interrupts() -> None:
    """For a worker: Ctrl-C reaches the whole process group, and the parent decides what
    stops, not the worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def pool_worker_start(parent: int) -> None:
    """For a worker of a process pool started by `parent`: ignore Ctrl-C, and exit when
    `parent` does. A pool's worker waits on a queue whose both ends it holds, so it never
    sees its parent go; a killed build would leave its workers (and their forkserver, and
    whatever pipes they hold) behind for good."""
    ignore_interrupts()
    try:
        watched = os.pidfd_open(parent)  # readable once `parent` has exited; no pid reuse
    except ProcessLookupError:
        os._exit(1)

    def exit_with_parent() -> None:
        select.select([watched], [], [])
        os._exit(1)

    threading.Thread(target=exit_with_parent, daemon=True, name="exit-with-parent").start()
