"""The overdue report command."""

from __future__ import annotations

import sys
from datetime import date

import click

from ..errors import ExitCode
from .base import common_options, get_config, main, parse_date


@main.command()
@common_options
@click.option("--as-of", callback=parse_date, metavar="DD/MM/YYYY",
              help="Evaluate as of this date (default: today).")
@click.option("--dry-run", is_flag=True,
              help="Write the report files and show who would get which e-mail; send nothing.")
@click.option("--no-email", is_flag=True, help="Write the report files only.")
@click.pass_context
def report(ctx: click.Context, as_of: date | None, dry_run: bool, no_email: bool) -> None:
    """Overdue report for managers: output/reports/overdue-DATE.xlsx and .pdf; each
    recipient ([report.teams] and [smtp] in config.toml) is e-mailed only what is theirs.

    A message that cannot be sent stays in output/reports/outbox/ and is sent on the next
    run.
    """
    from ..report import run_report

    result = run_report(get_config(ctx), as_of, dry_run=dry_run, email=not no_email,
                        echo=click.echo)
    counts: dict[str, int] = {}
    for finding in result.findings:
        counts[finding.kind] = counts.get(finding.kind, 0) + 1
    click.echo(f"As of {result.as_of:%d/%m/%Y}: {len(result.findings)} finding(s)"
               + "".join(f"; {kind} {n}" for kind, n in counts.items()))
    for delivery in result.deliveries:
        verb = "would e-mail" if dry_run else "e-mail for"
        click.echo(f"{verb} {', '.join(delivery.recipients)} ({delivery.team}): "
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
        sys.exit(ExitCode.EMAIL_NOT_SENT)


