"""The `supportplan` command group, its shared options and how commands find the workspace.

The commands live beside this module, one module per part of the work (plans, paper,
reports, the registry); each parses arguments and calls library functions, nothing more.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from ..config import Config, ConfigError, load_config
from ..errors import ExitCode, SettingsError, SupportplanError, disk_full

log = logging.getLogger(__name__)

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


def jobs_option(command: F) -> F:
    """--jobs N: plans made side by side (build and watch)."""
    return click.option(
        "--jobs", type=click.IntRange(min=1), default=None, metavar="N",
        help="Make N plans at once: N LibreOffice converters, and N processes filling in "
             "and stamping plans (default: [convert] jobs in config.toml, one per CPU "
             "core).")(command)


def get_config(ctx: click.Context, *, workspace: bool = True) -> Config:
    """The settings; with `workspace`, refuse to run (and write files) outside one."""
    options = ctx.find_root().ensure_object(dict)
    options.update(ctx.ensure_object(dict))
    logging.basicConfig(level=options.get("log_level", "warning").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(options.get("config_path"))
    except ConfigError as exc:
        raise SettingsError(str(exc)) from exc
    if workspace and config.source is None:
        raise SettingsError(
            f"{Path.cwd()} is not in a supportplan workspace (no config.toml here or in a "
            "parent folder). Run `supportplan init` to make one, or pass --config PATH.")
    # Everything this command writes (plans, reports, the registry, scans) holds personal
    # data: readable by its owner only, or also by the group when the workspace says so.
    os.umask(0o027 if config.settings.paths.share_with_group else 0o077)
    if config.source is not None:
        for path in (config.source, config.template_path):
            try:
                mode = path.stat().st_mode
            except OSError:
                continue
            if mode & stat.S_IWOTH:
                raise SettingsError(
                    f"{path} can be changed by anyone on this machine, so anyone could change "
                    f"what plans say or where reports go; run `chmod o-w {path}` and try "
                    "again")
    return config


class SupportplanGroup(click.Group):
    """Catches every error in one place: a message in the user's words and an exit status
    scripts can trust (README: exit statuses), never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit,
                click.exceptions.Abort, SystemExit):
            raise
        except SupportplanError as exc:
            code, message = exc.exit_code, str(exc)
        except Exception as exc:  # noqa: BLE001 - the last line of defence
            code, message = _classify(exc)
        click.echo(f"Error: {message}", err=True)
        ctx.exit(int(code))


def _classify(exc: Exception) -> tuple[ExitCode, str]:
    name = type(exc).__name__
    if disk_full(exc):
        return ExitCode.DISK, ("the disk is full: nothing half-written was kept; free some "
                               "space and run the command again")
    if name in ("OperationalError", "DatabaseError"):
        return ExitCode.REGISTRY, ("the registry could not be used "
                                   f"({str(exc).splitlines()[0][:120]}); if it is locked by "
                                   "another command, wait and try again; if it is damaged, "
                                   "restore supportplan.sqlite from your backup")
    log.debug("unexpected error", exc_info=True)
    return ExitCode.BUG, (f"an unexpected error ({name}) stopped the command; this is a bug: "
                          "run it again with --log-level debug and send the output to "
                          "whoever looks after supportplan")


@click.group(cls=SupportplanGroup, context_settings={"help_option_names": ["-h", "--help"]})
@common_options
@click.version_option(package_name="supportplan")
def main() -> None:
    """Support plans from household workbooks.

    Caseworkers fill one workbook per household (make one with `supportplan new`); `build`
    turns workbooks into a versioned support plan (Word and PDF) under output/.
    """




def parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """Dates on the command line as people write them (dd/mm/yyyy); ISO also accepted."""
    if value is None:
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(value.strip(), pattern).date()
        except ValueError:
            continue
    raise click.BadParameter(f'"{value}" is not a date; use dd/mm/yyyy, e.g. 31/01/2027')
