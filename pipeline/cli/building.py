"""Commands that read workbooks and make plans: validate and build."""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..intake.files import collect_workbooks
from ..outputs import converter_profiles
from ..processes import start_forkserver
from ..render.convert import ConvertSettings, close_unused, open_converter_soon
from .base import common_options, get_config, jobs_option, main

if TYPE_CHECKING:  # imported when a build starts (see `build`)
    from ..config import Config
    from ..outcome import BuildOutcome


def plural(number: int, thing: str) -> str:
    return f"{number} {thing}" + ("" if number == 1 else "s")


def saved_since_registry_changed(config: Config, workbooks: list[Path]) -> bool:
    """Whether any workbook was saved after the SQLite registry last changed (or there is
    none yet), which makes a new plan likely. Only a hint, read from the files' times
    without opening the database: False says nothing (a workbook copied with its old
    time, or a PostgreSQL registry)."""
    database = config.registry_file
    if database is None:
        return False
    changed = [path.stat().st_mtime for path in (database, Path(f"{database}-wal"))
               if path.exists()]
    if not changed:
        return True  # no registry yet: every workbook is new
    last_change = max(changed)
    for workbook in workbooks:
        with contextlib.suppress(OSError):  # unreadable: the build says so, not this
            if workbook.stat().st_mtime > last_change:
                return True
    return False


def _skipped(path: Path, reason: str) -> None:
    click.echo(f"skipped   {path}: {reason}", err=True)


@main.command()
@common_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...]) -> None:
    """Check workbooks and list every problem with its sheet, cell and fix (files or
    folders; default: the intake folder). Nothing is built or written."""
    from ..intake.isolate import IsolatedReader
    from ..intake.options import ReadOptions

    config = get_config(ctx, workspace=not paths)
    skipped: list[Path] = []

    def skip(path: Path, reason: str) -> None:  # asked to check it, and it cannot be read
        click.echo(f"{path}: skipped: {reason}", err=True)
        skipped.append(path)

    workbooks = collect_workbooks(list(paths) or [config.intake_dir], skipped=skip)
    failed = len(skipped)
    with IsolatedReader(ReadOptions.from_config(config)) as reader:
        results = reader.read_many(workbooks)
    for path, result in zip(workbooks, results, strict=True):
        for problem in result.problems:
            click.echo(f"{path}: {problem.severity}: {problem}")
        if result.ok:
            click.echo(f"{path}: OK" + (f" ({plural(len(result.warnings), 'warning')})"
                                        if result.warnings else ""))
        else:
            failed += 1
    if not workbooks:
        click.echo("No workbooks found.")
    if failed:
        click.echo(f"{failed} of {plural(len(workbooks) + len(skipped), 'workbook')} "
                   f"{'has' if failed == 1 else 'have'} errors.", err=True)
        sys.exit(1)


@main.command()
@common_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--no-pdf", is_flag=True, help="Make Word files only (no LibreOffice needed).")
@click.option("--same-household", multiple=True, metavar="REF",
              help="Issue REF's new version although it shares no member with the last "
                   "(the household really changed). Without it such a workbook is refused, "
                   "as a copy of another household's workbook would be.")
@click.option("--queue", "to_queue", is_flag=True,
              help="Put the workbooks in the work queue for `supportplan worker` processes "
                   "on any machine (PostgreSQL registry only) instead of building here.")
@jobs_option
@click.pass_context
def build(ctx: click.Context, paths: tuple[Path, ...], no_pdf: bool,
          same_household: tuple[str, ...], to_queue: bool, jobs: int | None = None) -> None:
    """Make support plans from workbooks (files or folders; default: the intake folder).

    Each valid workbook gives output/REF/support-plan-REF-vN.pdf (to print and sign) and
    .docx (an editable copy). A new version is made only when the plan's content changed.
    Invalid workbooks get an errors-REF.txt report where the plan would be, and things
    worth checking go in warnings-REF.txt; the batch carries on.
    """
    config = get_config(ctx)
    targets = list(paths) or [config.intake_dir]
    if to_queue:
        from ..queue import enqueue_workbooks

        queued = enqueue_workbooks(config, targets)
        click.echo(f"Queued {plural(len(queued), 'workbook')} for the workers.")
        return
    pdf = config.settings.pdf.enabled and not no_pdf
    outcomes: list[BuildOutcome] = []
    workbooks = collect_workbooks(targets, skipped=_skipped)
    # What takes over a second to start starts first, side by side with this process
    # importing the builder: the forkserver of the workbook readers and plan workers, and,
    # when a workbook is new or changed, LibreOffice (a batch of unchanged workbooks
    # starts none). A workbook saved since the registry last changed is taken as new
    # without opening the registry (a second of imports); otherwise the registry's content
    # hashes decide.
    opening = None
    settings = ConvertSettings.from_config(config, jobs=jobs)
    if workbooks:
        start_forkserver()
        # no more converters and workers than workbooks: each LibreOffice costs about two
        # seconds of a core to start, for nothing when it would have no document to convert
        settings = replace(settings, jobs=min(settings.jobs, len(workbooks)))
        jobs = settings.jobs
        if pdf and saved_since_registry_changed(config, workbooks):
            opening = open_converter_soon(settings, converter_profiles(config))
    from ..registry import registry_for

    registry = registry_for(config)
    if pdf and opening is None and registry.any_workbook_changed(workbooks):
        opening = open_converter_soon(settings, converter_profiles(config))
    from ..build import FAILED, STEPS_PER_WORKBOOK, Builder

    try:
        builder = Builder(config, registry=registry, pdf=pdf, jobs=jobs,
                          same_household=same_household, opening=opening)
    except BaseException:  # e.g. the secret is missing: no LibreOffice left running
        close_unused(opening)
        raise
    try:
        for notice in builder.notices():
            click.echo(f"note: {notice}", err=True)
        with click.progressbar(length=len(workbooks) * STEPS_PER_WORKBOOK,
                               label="Building plans", file=sys.stderr) as bar:
            def report(outcome: BuildOutcome) -> None:
                outcomes.append(outcome)
                if sys.stderr.isatty():
                    sys.stderr.write("\r\033[K")  # the result line above the bar
                _print_outcome(outcome)

            builder.build(workbooks, report, bar.update)
    finally:
        builder.close()
    _print_summary(outcomes)
    if any(outcome.status == FAILED for outcome in outcomes):
        sys.exit(1)


def _print_outcome(outcome: BuildOutcome) -> None:
    from ..outcome import BUILT, FAILED

    if outcome.status == FAILED:
        where = f" (details: {outcome.error_report})" if outcome.error_report else ""
        click.echo(f"FAILED    {outcome.workbook.name}: {outcome.message}{where}", err=True)
        return
    if outcome.status == BUILT:
        files = ", ".join(str(p) for p in (outcome.pdf, outcome.docx) if p)
        click.echo(f"built     {outcome.reference} v{outcome.version}: {files}")
    else:
        click.echo(f"{outcome.status:<9} {outcome.reference} v{outcome.version}: "
                   f"{outcome.message}")
    for warning in outcome.warnings:
        click.echo(f"          warning: {warning}")


def _print_summary(outcomes: list[BuildOutcome]) -> None:
    from ..outcome import BUILT, FAILED, PROGRESS, RESTORED, UNCHANGED

    counts = {status: sum(o.status == status for o in outcomes)
              for status in (BUILT, UNCHANGED, PROGRESS, RESTORED, FAILED)}
    warnings = sum(len(o.warnings) for o in outcomes if o.status != FAILED)
    if not outcomes:
        click.echo("No workbooks found.")
    click.echo(f"Summary: {counts[BUILT]} built, {counts[UNCHANGED]} unchanged, "
               f"{counts[PROGRESS]} progress updated, "
               + (f"{counts[RESTORED]} with missing files remade, " if counts[RESTORED] else "")
               + f"{counts[FAILED]} failed"
               + (f"; {plural(warnings, 'warning')} (also in each household's "
                  "warnings-REF.txt)" if warnings else "") + ".")
