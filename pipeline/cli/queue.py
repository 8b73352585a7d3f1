"""Work shared across machines (PostgreSQL registry): `supportplan worker`."""

from __future__ import annotations

import socket

import click

from .base import common_options, get_config, main


@main.command()
@common_options
@click.option("--until-empty", is_flag=True,
              help="Stop once the queue is empty instead of waiting for more work.")
@click.pass_context
def worker(ctx: click.Context, until_empty: bool) -> None:
    """Run queued work: plans to build, scans to read, the daily report.

    For organisations whose registry is on PostgreSQL ([registry] url): `supportplan watch`
    (or `supportplan build --queue`) on any machine puts work in the queue, and any number
    of workers on any machines that see the shared intake and output folders do it. Stops
    cleanly on Ctrl-C or SIGTERM after the job under way.
    """
    from ..queue import run_worker
    from ..registry import registry_for

    config = get_config(ctx)
    registry_for(config).close()  # the registry (and the queue's tables) up to date first
    click.echo("Worker started; waiting for work (Ctrl-C stops it).", err=True)
    run_worker(config, wait=not until_empty, name=f"{socket.gethostname()}")
