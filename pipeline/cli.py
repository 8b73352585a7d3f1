"""The `supportplan` command: parses arguments and calls library functions, nothing more."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from .build import (
    BUILT,
    FAILED,
    PROGRESS,
    UNCHANGED,
    BuildOutcome,
    build_workbooks,
    collect_workbooks,
)
from .config import Config, ConfigError, load_config
from .intake.reader import REFERENCE_PATTERN, read_workbook
from .intake.writer import write_workbook
from .render.docx import TemplateError
from .render.soffice import ConversionError
from .workspace import init_workspace

F = TypeVar("F", bound=Callable[..., Any])
LOG_LEVELS = ("debug", "info", "warning", "error")


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None:
        ctx.ensure_object(dict)[param.name] = value
    return value


def common_options(command: F) -> F:
    """--config and --log-level, accepted before or after the command name."""
    command = click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        expose_value=False, callback=_remember, is_eager=True,
        help="Settings file (default: config.toml here or in the nearest parent folder).",
    )(command)
    return click.option(
        "--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), expose_value=False,
        callback=_remember, is_eager=True, help="How much to log (default: warning).",
    )(command)


def get_config(ctx: click.Context, *, workspace: bool = True) -> Config:
    """The settings; with `workspace`, refuse to run (and write files) outside one."""
    options = ctx.find_root().ensure_object(dict)
    options.update(ctx.ensure_object(dict))
    logging.basicConfig(level=options.get("log_level", "warning").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(options.get("config_path"))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if workspace and config.source is None:
        raise click.ClickException(
            f"{Path.cwd()} is not in a supportplan workspace (no config.toml here or in a "
            "parent folder). Run `supportplan init` to make one, or pass --config PATH.")
    return config


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.version_option(package_name="supportplan")
def main() -> None:
    """Support plans from household workbooks.

    Caseworkers fill one workbook per household (make one with `supportplan new`); `build`
    turns workbooks into a versioned support plan (Word and PDF) under output/.
    """


@main.command()
@common_options
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(folder: Path) -> None:
    """Create a workspace in FOLDER (default: here): config.toml, intake/, output/, template.

    Nothing that exists already is changed.
    """
    _config, created = init_workspace(folder)
    if not created:
        click.echo(f"{folder.resolve()} is already a complete workspace; nothing changed.")
    for path in created:
        click.echo(f"created {path}")


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value, pattern).date()
        except ValueError:
            continue
    raise click.BadParameter(f'"{value}" is not a date; use dd/mm/yyyy')


@main.command()
@common_options
@click.argument("reference")
@click.option("--name", required=True, help='Household name as shown on the plan, e.g. '
              '"Hassan family".')
@click.option("--caseworker", required=True, help="Caseworker's full name.")
@click.option("--email", default="", help="Caseworker's email.")
@click.option("--team", default="", help="Team (routes overdue reports).")
@click.option("--plan-date", callback=_parse_date, help="dd/mm/yyyy (default: today).")
@click.pass_context
def new(ctx: click.Context, reference: str, name: str, caseworker: str, email: str, team: str,
        plan_date: date | None) -> None:
    """Create intake/REFERENCE.xlsx, a blank household workbook to fill in."""
    config = get_config(ctx)
    target = config.intake_dir / f"{reference}.xlsx"
    if not REFERENCE_PATTERN.match(reference):
        raise click.BadParameter(f'"{reference}" cannot be a household reference; use up to '
                                 "40 letters, digits and dashes, e.g. HH-0042",
                                 param_hint="REFERENCE")
    try:
        write_workbook(target, {"reference": reference, "name": name, "caseworker": caseworker,
                                "caseworker_email": email, "team": team,
                                "plan_date": plan_date or date.today()})
    except FileExistsError:
        raise click.ClickException(f"{target} already exists; it was not changed. Open it to "
                                   "carry on, or pick another reference.") from None
    click.echo(f"created {target}")


@main.command()
@common_options
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Check workbooks and list every problem with its sheet, cell and fix."""
    config = get_config(ctx, workspace=False)
    months = int(config.get("plan", "review_interval_months"))
    failed = 0
    for path in files:
        result = read_workbook(path, review_interval_months=months)
        for problem in result.problems:
            click.echo(f"{path}: {problem.severity}: {problem}")
        if result.ok:
            click.echo(f"{path}: OK" + (f" ({len(result.warnings)} warning(s))"
                                        if result.warnings else ""))
        else:
            failed += 1
    if failed:
        click.echo(f"{failed} of {len(files)} workbook(s) have errors.", err=True)
        sys.exit(1)


@main.command()
@common_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--no-pdf", is_flag=True, help="Make Word files only (no LibreOffice needed).")
@click.pass_context
def build(ctx: click.Context, paths: tuple[Path, ...], no_pdf: bool) -> None:
    """Make support plans from workbooks (files or folders; default: the intake folder).

    Each valid workbook gives output/REF/support-plan-REF-vN.docx and .pdf. A new version
    is made only when the plan's content changed. Invalid workbooks get an
    errors-REF.txt report where the plan would be; the batch carries on.
    """
    config = get_config(ctx)
    targets = list(paths) or [config.intake_dir]
    pdf = bool(config.get("pdf", "enabled")) and not no_pdf
    outcomes: list[BuildOutcome] = []
    try:
        count = len(collect_workbooks(targets))
        with click.progressbar(length=count, label="Building plans", file=sys.stderr) as bar:
            def advance(outcome: BuildOutcome) -> None:
                outcomes.append(outcome)
                bar.update(1)

            build_workbooks(config, targets, pdf=pdf, progress=advance)
    except (ConversionError, TemplateError) as exc:
        raise click.ClickException(str(exc)) from exc
    _print_summary(outcomes)
    if any(outcome.status == FAILED for outcome in outcomes):
        sys.exit(1)


def _print_summary(outcomes: list[BuildOutcome]) -> None:
    counts = {status: sum(o.status == status for o in outcomes)
              for status in (BUILT, UNCHANGED, PROGRESS, FAILED)}
    for outcome in outcomes:
        if outcome.status == BUILT:
            files = ", ".join(str(p) for p in (outcome.docx, outcome.pdf) if p)
            click.echo(f"built     {outcome.reference} v{outcome.version}: {files}")
        elif outcome.status in (UNCHANGED, PROGRESS):
            click.echo(f"{outcome.status:<9} {outcome.reference} v{outcome.version}: "
                       f"{outcome.message}")
    for outcome in outcomes:
        if outcome.status == FAILED:
            where = f" (details: {outcome.error_report})" if outcome.error_report else ""
            click.echo(f"FAILED    {outcome.workbook.name}: {outcome.message}{where}", err=True)
    if not outcomes:
        click.echo("No workbooks found.")
    click.echo(f"Summary: {counts[BUILT]} built, {counts[UNCHANGED]} unchanged, "
               f"{counts[PROGRESS]} progress updated, {counts[FAILED]} failed.")


@main.command()
@common_options
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--no-pdf", is_flag=True, help="Make Word files only.")
@click.pass_context
def demo(ctx: click.Context, folder: Path, no_pdf: bool) -> None:
    """Set up FOLDER as a workspace with invented demo households, and build their plans."""
    from .demo import write_demo_intake

    config, _created = init_workspace(folder)
    for path in write_demo_intake(config.intake_dir):
        click.echo(f"demo workbook {path}")
    ctx.ensure_object(dict)["config_path"] = config.source
    ctx.invoke(build, paths=(config.intake_dir,), no_pdf=no_pdf)


@main.command()
@common_options
@click.option("--polling", is_flag=True, default=None,
              help="Poll the folder instead of using file events (for network shares where "
                   "events do not arrive; also [watch] polling in config.toml).")
@click.option("--json", "as_json", is_flag=True, help="Log one JSON object per line.")
@click.pass_context
def watch(ctx: click.Context, polling: bool | None, as_json: bool) -> None:
    """Watch the intake folder and turn every saved workbook into a plan.

    Catches up on anything saved while it was not running, then builds each workbook a
    moment after it is saved (once the file is complete). Logs one line per event. Stop
    with Ctrl-C.
    """
    from .watch import WatchError, run_watch

    config = get_config(ctx)
    try:
        sys.exit(run_watch(config, polling=polling or None, as_json=as_json))
    except (WatchError, ConversionError, TemplateError) as exc:
        raise click.ClickException(str(exc)) from exc


def _parse_iso_date(_ctx: click.Context, _param: click.Parameter,
                    value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f'"{value}" is not a date; use YYYY-MM-DD') from None


@main.command()
@common_options
@click.option("--as-of", callback=_parse_iso_date, metavar="YYYY-MM-DD",
              help="Evaluate as of this date (default: today).")
@click.option("--dry-run", is_flag=True,
              help="Write the report files and show who would get which e-mail; send nothing.")
@click.option("--no-email", is_flag=True, help="Write the report files only.")
@click.pass_context
def report(ctx: click.Context, as_of: date | None, dry_run: bool, no_email: bool) -> None:
    """Overdue report for managers: output/reports/overdue-DATE.xlsx and .pdf, e-mailed
    to each team's managers ([report.teams] and [smtp] in config.toml).

    A message that cannot be sent stays in output/reports/outbox/ and is sent on the next
    run.
    """
    from .report import ReportError, run_report

    config = get_config(ctx)
    try:
        result = run_report(config, as_of, dry_run=dry_run, email=not no_email,
                            echo=click.echo)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from exc
    counts: dict[str, int] = {}
    for finding in result.findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    click.echo(f"As of {result.as_of:%d/%m/%Y}: {len(result.findings)} finding(s)"
               + "".join(f"; {kind} {n}" for kind, n in counts.items()))
    for delivery in result.deliveries:
        verb = "would e-mail" if dry_run else "e-mail for"
        click.echo(f"{verb} team {delivery.team} -> {', '.join(delivery.recipients)}: "
                   f"{delivery.subject!r} with {', '.join(p.name for p in delivery.attachments)}")
    for sent in result.sent:
        if sent.error is None:
            click.echo(f"sent      {sent.eml.name} to {', '.join(sent.recipients)}")
        else:
            click.echo(f"NOT SENT  {sent.eml.name} ({sent.error}); it stays queued and is "
                       "retried on the next run", err=True)
    for note in result.notes:
        click.echo(f"note: {note}")
    if result.failed:
        sys.exit(2)


@main.command()
@common_options
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object per page (the contract other tools read).")
@click.pass_context
def reconcile(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Read signed scans back (files or folders; default: intake/scans/).

    Each page is identified by its QR code, lined up with the original plan page and its
    signature and 'Done' boxes are read. Results go to the registry and to
    output/REF/reconcile-REF-*.txt; unreadable pages are quarantined with the reason.
    The same scan read twice changes nothing.
    """
    import json

    from .reconcile.run import reconcile_paths

    config = get_config(ctx)
    targets = list(paths) or [config.scans_dir]
    quarantined = 0
    for outcome in reconcile_paths(config, targets):
        for page in outcome.pages:
            quarantined += page["status"] != "matched"
            if as_json:
                click.echo(json.dumps(page, ensure_ascii=False))
                continue
            where = f"{outcome.file.name} page {page['page_index'] + 1}"
            if page["status"] != "matched":
                click.echo(f"QUARANTINED {where}: {page['reason']}", err=True)
                continue
            boxes = page["signatures"] + page["ticks"]
            review = sum(box["state"] == "review" for box in boxes)
            again = " (seen before; nothing changed)" if outcome.already_seen else ""
            click.echo(f"matched   {where}: {page['household']} v{page['version']} page "
                       f"{page['page']}: {sum(b['state'] == 'signed' for b in boxes)} signed, "
                       f"{sum(b['state'] == 'ticked' for b in boxes)} ticked, {review} to "
                       f"review, {len(page['marks'])} handwritten change(s){again}")
    if quarantined:
        sys.exit(1)
