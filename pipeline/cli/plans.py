"""Commands that make workspaces and workbooks, and keep plans coming: init, new, demo, watch."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from ..intake.files import WORKBOOK, classify
from ..intake.references import REFERENCE_PATTERN
from ..workspace import init_workspace
from .base import common_options, get_config, jobs_option, main, parse_date


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
    where = "" if folder.resolve() == Path.cwd() else f"cd {folder} && "
    click.echo(f"Next: {where}supportplan new HH-0001 --name \"...\" --caseworker \"...\" "
               "to start a household's workbook.")


@main.command()
@common_options
@click.argument("reference")
@click.option("--name", required=True, help='Household name as shown on the plan, e.g. '
              '"Hassan family".')
@click.option("--caseworker", required=True, help="Caseworker's full name.")
@click.option("--email", default="", help="Caseworker's email.")
@click.option("--team", default="", help="Team (routes overdue reports).")
@click.option("--plan-date", callback=parse_date, help="dd/mm/yyyy (default: today).")
@click.pass_context
def new(ctx: click.Context, reference: str, name: str, caseworker: str, email: str, team: str,
        plan_date: date | None) -> None:
    """Create intake/REFERENCE.xlsx, a blank household workbook to fill in."""
    from ..intake.writer import write_workbook

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
    click.echo(f"Next: open {target.name}, fill it in with the household and save it; then "
               "run `supportplan build` (or keep `supportplan watch` running) to make the "
               "plan.")


@main.command()
@common_options
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--no-pdf", is_flag=True, help="Make Word files only.")
@click.option("--force", is_flag=True,
              help="Add the demo households even though the folder holds real ones.")
@click.pass_context
def demo(ctx: click.Context, folder: Path, no_pdf: bool, force: bool) -> None:
    """Set up FOLDER as a workspace with invented demo households, and build their plans.

    Refuses a folder whose intake already holds household workbooks: invented families
    must never reach a manager's overdue report or e-mail.
    """
    from ..demo import DEMO_REFERENCES, show_demo_contacts, write_demo_intake
    from .building import build

    intake = init_workspace(folder)[0].intake_dir if (folder / "config.toml").exists() \
        else None
    if intake is not None and intake.is_dir() and not force:
        real = [p.name for p in sorted(intake.iterdir())
                if classify(p, intake) == WORKBOOK and p.stem not in DEMO_REFERENCES]
        if real:
            raise click.ClickException(
                f"{intake} already holds {len(real)} household workbook(s) "
                f"({', '.join(real[:3])}{', ...' if len(real) > 3 else ''}); the demo's "
                "invented families would be built beside them and reach the overdue reports. "
                "Run the demo in an empty folder (supportplan demo DEMO-FOLDER), or add "
                "--force if that is really wanted.")
    config, created = init_workspace(folder)
    if config.source in {path.resolve() for path in created}:
        show_demo_contacts(config.source)
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
@jobs_option
@click.pass_context
def watch(ctx: click.Context, polling: bool | None, as_json: bool, jobs: int | None) -> None:
    """Watch the intake folder and turn every saved workbook into a plan.

    Catches up on anything saved while it was not running, then builds each workbook a
    moment after it is saved (once the file is complete). Logs one line per event. Stop
    with Ctrl-C.
    """
    from ..watch import run_watch

    sys.exit(run_watch(get_config(ctx), polling=polling or None, as_json=as_json, jobs=jobs))


