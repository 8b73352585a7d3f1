"""Registry maintenance: bring its schema up to date, rebuild a lost one, purge households
closed longer than the retention period."""

from __future__ import annotations

from datetime import date

import click

from .base import common_options, get_config, main, parse_date


@main.command()
@common_options
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Bring the registry's tables up to date with this version of supportplan.

    Every command does this by itself when it starts (safely, also when several start at
    once); run it on its own after installing a new version, or to see where it stands.
    Make a backup of the registry first. With a PostgreSQL registry it also brings the work
    queue's tables up to the installed procrastinate: stop `supportplan worker` and `watch`
    on every machine first.
    """
    from sqlalchemy import create_engine, inspect

    from ..registry import open_registry
    from ..registry.migrate import current_revision, head_revision
    from ..registry.queue_schema import QUEUE_TABLE, recorded_files

    config = get_config(ctx)
    engine = create_engine(config.registry_url)
    with engine.connect() as conn:
        before = current_revision(conn)
        queue_before = recorded_files(conn)
        had_queue = inspect(conn).has_table(QUEUE_TABLE)
    engine.dispose()
    registry = open_registry(config.registry_url, config.root)
    try:
        with registry.engine.connect() as conn:
            queue_after = recorded_files(conn)
    finally:
        registry.close()
    head = head_revision()
    if before == head:
        click.echo(f"The registry is up to date (revision {head}).")
    else:
        click.echo(f"The registry was upgraded from revision {before or 'none (new)'} to "
                   f"{head}.")
    if engine.dialect.name == "postgresql":
        click.echo(_queue_message(had_queue, queue_before, queue_after))


def _queue_message(had_queue: bool, before: dict[str, str], after: dict[str, str]) -> str:
    """What happened to the work queue's schema, from its record before and after."""
    from ..registry.queue_schema import file_order, procrastinate_version

    release = f"procrastinate {procrastinate_version()}"
    if not had_queue:
        return f"The work queue's tables were made ({release})."
    new = sorted((name for name in after if name not in before), key=file_order)
    found = [name for name in new if after[name] == "found"]
    applied = [name for name in new if after[name] != "found"]
    said = []
    if found:
        said.append(f"its tables already had {len(found)} of procrastinate's migration "
                    f"files (up to {found[-1]}), recorded now")
    if applied:
        said.append(f"applied {len(applied)} migration file(s): {', '.join(applied)}")
    if not said:
        return f"The work queue's schema is up to date ({release})."
    return f"The work queue's schema was brought up to {release}: {'; '.join(said)}."


@main.command()
@common_options
@click.option("--closed-before", type=str, callback=parse_date, default=None,
              metavar="DD/MM/YYYY", help="Purge households closed before this date.")
@click.option("--older-than", "period", default=None, metavar="PERIOD",
              help='Purge households closed longer ago than this, e.g. "6y", "18m", "90d" '
                   "(default: [retention] closed_for in config.toml).")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.pass_context
def purge(ctx: click.Context, closed_before: date | None, period: str | None,
          dry_run: bool) -> None:
    """Remove households whose support closed longer ago than the retention period.

    Removes each one's workbook, plans, review packs, scans, registry rows, and the overdue
    reports and queued e-mails that mention it; keeps one audit event with its reference,
    the counts and who ran the purge. Households without a "Closed on" date are never
    touched. Try --dry-run first, and make a backup (README, "Backups").
    """
    from ..purge import cutoff_for, default_period
    from ..purge import purge as run_purge
    from ..registry import registry_for

    if closed_before is not None and period is not None:
        raise click.UsageError("give --closed-before or --older-than, not both")
    config = get_config(ctx)
    cutoff = closed_before or cutoff_for(period or default_period(config), date.today())
    registry = registry_for(config)
    try:
        result = run_purge(config, registry, cutoff, dry_run=dry_run)
    finally:
        registry.close()
    when = cutoff.strftime("%d/%m/%Y")
    for reference, why in result.skipped:
        click.echo(f"{reference}: not purged: {why}", err=True)
    if not result.households:
        click.echo(f"No household was closed before {when}: nothing to remove.")
        return
    verb = "would remove" if dry_run else "removed"
    for household in result.households:
        counts = ", ".join(f"{n} {kind}" for kind, n in household.removed.items() if n)
        click.echo(f"{household.reference} (closed {household.closed_on:%d/%m/%Y}): {verb} "
                   f"{len(household.files)} file(s) or folder(s); registry: {counts or 'none'}")
        for scan in household.shared_scans:
            click.echo(f"  kept {scan}: it also holds other households' pages; remove this "
                       "household's pages from it by hand")
    for path in result.shared_files:
        click.echo(f"{verb} {path} (it mentions a purged household)")
    total = len(result.households)
    click.echo(f"{'Dry run: ' if dry_run else ''}{total} household(s) closed before {when} "
               f"{'would be' if dry_run else 'were'} purged; {result.file_count} file(s) or "
               "folder(s)" + ("." if dry_run else ", each recorded as a purge event "
                              "without personal data."))


@main.group("registry")
@common_options
def registry_group() -> None:
    """Registry maintenance: `registry rebuild` refills a lost registry from output/."""


@registry_group.command()
@common_options
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    """Refill an empty registry (lost, or replaced by a new one) from the plans in output/.

    Records every plan file as the version it is, issuing nothing and writing nothing in
    output/: the latest version of each household whose workbook in intake/ still says what
    it printed gets its content, steps and page codes back, so `build` finds it unchanged
    and signed scans of it are read. Refuses a registry that holds anything: restore that
    from backup instead (README, "Backups").
    """
    from ..rebuild import rebuild_registry
    from ..registry import registry_for

    config = get_config(ctx)
    registry = registry_for(config)
    try:
        result = rebuild_registry(config, registry)
    finally:
        registry.close()
    if not result.households:
        click.echo(f"No plan files were found in {config.output_dir}: nothing to recover.")
        return
    partial = 0
    for household in result.households:
        for version in household.versions:
            what = ("content, steps and signers from the workbook" if version.content_known
                    else "its number only")
            scans = ("scans of it are read" if version.scans_readable
                     else "scans of it cannot be read")
            line = f"{household.reference} v{version.version}: recovered {what}; {scans}"
            click.echo(line + (f" ({version.note})" if version.note else ""))
            partial += not version.scans_readable
    count = sum(len(h.versions) for h in result.households)
    click.echo(f"Recovered {count} version(s) of {len(result.households)} household(s); "
               "nothing was issued. Run `supportplan build`: unchanged households stay as "
               "they are" + (f". {partial} version(s) could only be recovered in part: "
                             "restoring the registry from a backup recovers them whole."
                             if partial else "."))
