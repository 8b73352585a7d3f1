"""Registry maintenance: bring its schema up to date."""

from __future__ import annotations

import click

from ..registry import open_registry
from ..registry.migrate import current_revision, head_revision
from .base import common_options, get_config, main


@main.command()
@common_options
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Bring the registry's tables up to date with this version of supportplan.

    Every command does this by itself when it starts (safely, also when several start at
    once); run it on its own after installing a new version, or to see where it stands.
    Make a backup of the registry first.
    """
    from sqlalchemy import create_engine

    config = get_config(ctx)
    engine = create_engine(config.registry_url)
    with engine.connect() as conn:
        before = current_revision(conn)
    engine.dispose()
    registry = open_registry(config.registry_url, config.root)
    registry.close()
    head = head_revision()
    if before == head:
        click.echo(f"The registry is up to date (revision {head}).")
    else:
        click.echo(f"The registry was upgraded from revision {before or 'none (new)'} to "
                   f"{head}.")
