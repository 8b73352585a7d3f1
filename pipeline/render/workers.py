"""Making each plan's files in worker processes, so that a build uses every core.

A build's main process decides and records; filling in the template (twice: the DOCX for
the PDF and the editable Word copy) and measuring and stamping the converted PDF run in a
pool of processes beside the converters. In threads they took turns with the main thread
for one interpreter lock, and a build made 2.3 plans a second where its converters alone
made 7. What crosses to a worker is plain data (the household, the paths); what comes back
is the measured layout, or the exception.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..model import Household
from ..processes import CONTEXT, pool_worker_start
from ..wording.settings import LanguageSettings
from .context import Organisation, plan_context

if TYPE_CHECKING:
    from ..model import Signer
    from ..printed import DocumentLayout

# What the workers run imports docxtpl, OpenCV and pdfium when it first runs: the forkserver
# has them imported already (pipeline/processes.py), and the build's own process, which
# only sends the work, never loads them.
__all__ = ["PlanWorkers", "RenderJob", "render_plan", "stamp_plan"]

Result = TypeVar("Result")
# A worker is replaced after this many plans, so memory from odd plans never adds up.
_TASKS_PER_WORKER = 500


@dataclass(frozen=True)
class RenderJob:
    """One version of a household's plan to render into the staging folder."""

    template: Path
    household: Household
    version: int
    step_ids: tuple[str, ...]
    organisation: Organisation
    languages: LanguageSettings
    large_print: bool
    staged: Path  # the DOCX converted to the PDF
    word_copy: Path  # the editable Word copy people receive
    word_copy_code: str | None  # the page code its header carries, if plans are stamped


def render_plan(job: RenderJob) -> None:
    """Both DOCX files of a plan (in whichever process runs it)."""
    from .docx import render_docx
    from .finishing import Finishing
    from .stamp import qr_png

    words = job.languages.words_for(job.household.preferred_language)
    context = plan_context(job.household, job.version, job.step_ids, job.organisation, words)
    finishing = Finishing(words.language, context["t"]["plan_reference"], job.large_print)
    body = render_docx(job.template, context, job.staged, finishing=finishing)
    render_docx(job.template, context, job.word_copy, finishing=finishing, word_copy=True,
                word_copy_code=qr_png(job.word_copy_code) if job.word_copy_code else None,
                body=body)


def stamp_plan(pdf_path: Path, step_ids: Sequence[str], signers: Sequence[Signer],
               secret: bytes, token: str) -> DocumentLayout:
    """Measure and stamp a plan's PDF (render/stamp.py), in whichever process runs it."""
    from .stamp import stamp_plan as measure_and_stamp

    return measure_and_stamp(pdf_path, step_ids, signers, secret, token)


class PlanWorkers:
    """`size` worker processes, started at the first plan and replaced when one dies."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self._lock = threading.Lock()  # the stamping threads and the main thread share it
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.size, mp_context=CONTEXT,
                                                 initializer=pool_worker_start,
                                                 initargs=(os.getpid(),),
                                                 max_tasks_per_child=_TASKS_PER_WORKER)
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:
                self._pool = None
        broken.shutdown(wait=False, cancel_futures=True)

    def run(self, function: Callable[..., Result], *args: object) -> Result:
        """`function(*args)` in a worker. A worker that died (killed, out of memory) is
        replaced and the call made once more: the work is the same each time."""
        pool = self._executor()
        try:
            return pool.submit(function, *args).result()
        except BrokenProcessPool:
            self._replace(pool)
            return self._executor().submit(function, *args).result()

    def render(self, jobs: Sequence[RenderJob]) -> list[BaseException | None]:
        """Render `jobs` side by side; for each, None or what went wrong."""
        pool = self._executor()
        futures = [pool.submit(render_plan, job) for job in jobs]
        failures: list[BaseException | None] = []
        for job, future in zip(jobs, futures, strict=True):
            try:
                future.result()
                failures.append(None)
            except BrokenProcessPool:
                self._replace(pool)
                failures.append(self._retried(job))
            except Exception as exc:  # noqa: BLE001 (the caller decides, plan by plan)
                failures.append(exc)
        return failures

    def _retried(self, job: RenderJob) -> BaseException | None:
        try:
            self.run(render_plan, job)
            return None
        except Exception as exc:  # noqa: BLE001
            return exc

    def pids(self) -> list[int]:
        """The worker processes running now (for diagnostics and tests)."""
        with self._lock:
            pool = self._pool
        return list(_processes_of(pool))

    def abort(self) -> None:
        """Stop the workers at once (Ctrl-C): the plans they were making are abandoned."""
        self.close(grace=0)

    def close(self, grace: float = 10) -> None:
        """Let the workers finish what they are doing and exit; one still running after
        `grace` seconds is stopped. A Ctrl-C while work was being handed out can leave
        the pool waiting for a worker that will never be told to stop (seen: a build that
        never exited after Ctrl-C)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(_processes_of(pool).values())
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + grace
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)


def _processes_of(pool: ProcessPoolExecutor | None) -> dict[int, Any]:
    """A pool's worker processes by pid. concurrent.futures keeps them in a private
    mapping and offers no public accessor."""
    return dict(getattr(pool, "_processes", None) or {}) if pool is not None else {}
