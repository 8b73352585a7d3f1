"""Where a build's files go, and the files that tell people about a workbook.

`output/<ref>/` holds a household's plans (`support-plan-<ref>-v<N>.docx|pdf`), its error
report when a workbook cannot become a plan, and its warnings when it can but something is
worth checking. A report about a file goes where the person looking for that file will
look: under its reference when the file is named after it, otherwise under the file's own
name, so a copy never makes another household's folder look broken.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from .config import Config
from .errors import SettingsError
from .files import process_alive, remove_stale_temporaries, replace_text
from .intake.problems import Problem, ReadResult
from .intake.references import case_key

log = logging.getLogger(__name__)

STAGING = ".staging"
ORPHANS = ".interrupted"
CONVERTERS = ".converters"  # LibreOffice profiles, one folder per converter
ERROR_REPORT = "errors-{ref}.txt"
WARNING_REPORT = "warnings-{ref}.txt"
PLAN_FILE = re.compile(r"^support-plan-(?P<ref>.+)-v(?P<n>\d+)\.(docx|pdf)$")


class UnsafeFolder(SettingsError):
    """A household's output folder is a link, or leads outside the output folder."""

    def __init__(self, folder: Path, target: Path, output: Path) -> None:
        self.problem = f"{folder} is a link to {target}; supportplan writes only inside {output}"
        self.fix = "replace the link with a real folder (move what it holds into it)"
        super().__init__(f"{self.problem}. To fix: {self.fix}, then run the command again")


def plan_folder(config: Config, reference: str) -> Path:
    """`output/<reference>/`, refused if it is a link or leads outside output (files written
    there would land wherever it points, outside the workspace's protection)."""
    folder = config.output_dir / reference
    resolved = folder.resolve()
    if folder.is_symlink() or config.output_dir.resolve() not in resolved.parents:
        raise UnsafeFolder(folder, resolved, config.output_dir)
    return folder


def _report_folder(config: Config, name: str) -> Path:
    """Where news about `name` goes: its folder, or the output folder itself when that
    folder cannot be used (so the report is still seen)."""
    try:
        return plan_folder(config, name)
    except UnsafeFolder:
        return config.output_dir


def shared_by_machines(config: Config) -> bool:
    """Whether builds on other machines may be using this output folder at the same time: a
    registry on a database server, not a SQLite file in the workspace."""
    return not config.registry_url.startswith("sqlite")


def converter_profiles(config: Config) -> Path:
    """LibreOffice profiles, one folder per converter named after its process; per machine
    when the folder is shared (a process number means nothing on another machine)."""
    if shared_by_machines(config):
        return config.output_dir / CONVERTERS / socket.gethostname()
    return config.output_dir / CONVERTERS


def staging_folder(config: Config) -> Path:
    """A new folder for one chunk of a build's files before they are published, named
    after this machine and process so clean-up can tell whether its build is still alive."""
    folder = (config.output_dir / STAGING / socket.gethostname()
              / f"{os.getpid()}-{uuid.uuid4().hex}")
    folder.mkdir(parents=True)
    return folder


def plan_file(config: Config, reference: str, version: int, suffix: str) -> Path:
    return plan_folder(config, reference) / f"support-plan-{reference}-v{version}.{suffix}"


def safe_stem(path: Path) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:40] or "workbook"


def report_name(workbook: Path, reference: str | None) -> str:
    """The folder (and report file) name for news about `workbook`."""
    if reference and case_key(workbook.stem) == case_key(reference):
        return reference
    return safe_stem(workbook)


def _line(problem: Problem) -> str:
    return f"- {problem}"


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


def write_error_report(config: Config, result: ReadResult, reference: str | None) -> Path:
    """No plan: say what to fix, where the plan would be."""
    name = report_name(result.path, reference)
    folder = _report_folder(config, name)
    target = folder / ERROR_REPORT.format(ref=name)
    errors = result.errors
    lines = [f"{result.path.name}: no plan was made because of "
             f"{_count(len(errors), 'problem')}.",
             "Fix each one in the workbook and save it again; the plan is then made "
             "automatically.", ""]
    lines += [_line(p) for p in errors]
    if result.warnings:
        lines += ["", "Also worth checking (these do not stop the plan):"]
        lines += [_line(p) for p in result.warnings]
    target.parent.mkdir(parents=True, exist_ok=True)
    (folder / WARNING_REPORT.format(ref=name)).unlink(missing_ok=True)
    return replace_text(target, "\n".join(lines) + "\n")


def write_warning_report(config: Config, workbook: Path, reference: str,
                         warnings: Sequence[Problem]) -> Path | None:
    """A plan was made (or is unchanged) but something is worth checking: say what, beside
    the plan; remove an old warnings file once there is nothing to say."""
    target = _report_folder(config, reference) / WARNING_REPORT.format(ref=reference)
    if not warnings:
        target.unlink(missing_ok=True)
        return None
    lines = [f"{workbook.name}: the plan was made, but "
             f"{_count(len(warnings), 'thing')} in the workbook "
             f"{'is' if len(warnings) == 1 else 'are'} worth checking:", ""]
    lines += [_line(p) for p in warnings]
    target.parent.mkdir(parents=True, exist_ok=True)
    return replace_text(target, "\n".join(lines) + "\n")


def clear_error_reports(config: Config, reference: str, workbook: Path) -> None:
    for name in {reference, safe_stem(workbook)}:
        (_report_folder(config, name) / ERROR_REPORT.format(ref=name)).unlink(missing_ok=True)


@contextlib.contextmanager
def build_lock(output_dir: Path) -> Iterator[None]:
    """One build at a time per output folder (the watcher and a manual `build` may overlap):
    version numbers and orphan clean-up rely on it. Released by the OS if the process dies."""
    output_dir.mkdir(parents=True, exist_ok=True)
    with open(output_dir / ".build.lock", "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# A `.part` file this old in a folder shared by machines belongs to no running write.
STALE_PART_SECONDS = 3600


def remove_interrupted_leftovers(output_dir: Path, *, shared: bool = False) -> None:
    """Staging folders and `.part` files a killed build left: the staging folders of this
    machine's builds that are no longer running, and `.part` files (call with the build lock
    held: they may belong to a build still running). In a folder shared by machines, whose
    builds the lock does not stop, only `.part` files older than an hour, and other
    machines' staging folders are theirs to clear."""
    staging = output_dir / STAGING
    here = socket.gethostname()
    for folder in staging.iterdir() if staging.is_dir() else ():
        if folder.name != here:
            if not shared:  # a build from before folders were named after machines
                shutil.rmtree(folder, ignore_errors=True)
            continue
        for build in folder.iterdir():
            owner = build.name.split("-", 1)[0]
            if not owner.isdigit() or not process_alive(int(owner)):
                shutil.rmtree(build, ignore_errors=True)
    remove_stale_temporaries(output_dir, older_than=STALE_PART_SECONDS if shared else 0)


