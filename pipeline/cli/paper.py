"""Commands for signed paper: reconcile scans, and decide the boxes left for a person."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..signoff import BoxState
from .base import common_options, get_config, main

if TYPE_CHECKING:  # the registry's modules are imported by the commands that use them
    from ..registry import BoxRecord


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
    output/REF/reconcile-REF-*.txt, with a picture of every box under output/REF/boxes/.
    Boxes the reader is unsure of wait for a person: see `supportplan boxes`. Pages that
    cannot be read (a damaged, cut-short or password-locked file, a page from another
    office or of a plan never issued) are quarantined with the reason, and the other files
    are still read; the exit status is then 1. Pages of no known plan are summed up under
    output/quarantine/.
    The same scan read twice changes nothing, unless some of its pages could not be read:
    then it is read again.
    """
    from ..reconcile.run import reconcile_paths

    config = get_config(ctx)
    targets = list(paths) or [config.scans_dir]
    quarantined = waiting = 0
    for outcome in reconcile_paths(config, targets):
        quarantined += outcome.quarantined
        for page in outcome.pages:
            waiting += page.count(BoxState.REVIEW)
            if as_json:
                click.echo(json.dumps(page.to_json(), ensure_ascii=False))
                continue
            where = f"{outcome.file.name} page {page.page_index + 1}"
            if not page.matched:
                click.echo(f"QUARANTINED {where}: {page.reason}", err=True)
                continue
            again = (" (seen before; nothing changed)" if outcome.already_seen
                     else " (read again)" if outcome.read_again else "")
            click.echo(f"matched   {where}: {page.summary()}{again}")
            if page.superseded_by is not None:
                click.echo(f"          NOTE: {page.superseded_note()}", err=True)
    if waiting and not as_json:
        click.echo(f"{waiting} box(es) wait for a person: run `supportplan boxes`.")
    if quarantined:
        sys.exit(1)


def _describe(record: BoxRecord) -> str:
    decided = (f"; decided {record.decided_state} by {record.decided_by} on "
               f"{record.decided_at:%d/%m/%Y %H:%M}" if record.decided_state else "")
    what = "signature of" if record.kind == "signature" else "'Done' box of step"
    return (f"[{record.id}] {record.household} v{record.version} page {record.page}: "
            f"{what} {record.label} ({record.key})\n"
            f"      read as {record.state} (score {record.score:.2f})"
            + (f": {record.reason}" if record.reason else "") + decided
            + (f"\n      picture: {record.crop_path}" if record.crop_path else ""))


def _as_json(record: BoxRecord) -> dict[str, object]:
    return {"id": record.id, "household": record.household, "version": record.version,
            "page": record.page, "kind": str(record.kind), "key": record.key,
            "label": record.label, "state": str(record.state), "score": record.score,
            "reason": record.reason, "crop": record.crop_path,
            "decided_state": str(record.decided_state) if record.decided_state else None,
            "decided_by": record.decided_by,
            "decided_at": record.decided_at.isoformat() if record.decided_at else None}


@main.group(invoke_without_command=True)
@common_options
@click.option("--all", "show_all", is_flag=True,
              help="Every box read from scans, with its decision, not only those waiting.")
@click.option("--household", metavar="REF", help="Only this household's boxes.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per box.")
@click.pass_context
def boxes(ctx: click.Context, show_all: bool, household: str | None, as_json: bool) -> None:
    """Boxes on signed scans that wait for a person, and people's decisions.

    Without a subcommand, lists the boxes the reader was unsure of (faint or small marks,
    boxes crossed out or scribbled over) with the signer's name or the step's text and a
    picture of the box. Record what the paper shows with `supportplan boxes decide ID
    signed|ticked|blank`; the overdue rules then use the decision.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ..registry import registry_for

    registry = registry_for(get_config(ctx))
    records = registry.boxes(waiting_only=not show_all, household=household)
    for record in records:
        click.echo(json.dumps(_as_json(record), ensure_ascii=False) if as_json
                   else _describe(record))
    if not records and not as_json:
        click.echo("No boxes wait for a person." if not show_all
                   else "No boxes have been read from scans yet.")


@boxes.command()
@common_options
@click.argument("reading_id", metavar="ID", type=int)
@click.argument("state", type=click.Choice([s.value for s in (
    BoxState.SIGNED, BoxState.TICKED, BoxState.BLANK)]))
@click.option("--by", metavar="NAME",
              help="Who decided (default: your login name), kept in the audit trail.")
@click.pass_context
def decide(ctx: click.Context, reading_id: int, state: str, by: str | None) -> None:
    """Record what box ID really shows (signed or blank for a signature, ticked or blank
    for a step's 'Done' box). A later decision replaces an earlier one; both stay in the
    audit trail."""
    from ..registry import registry_for

    registry = registry_for(get_config(ctx))
    record = registry.decide_box(reading_id, BoxState(state), by=by)
    click.echo(_describe(record))


@boxes.command()
@common_options
@click.argument("reading_id", metavar="ID", type=int)
@click.pass_context
def show(ctx: click.Context, reading_id: int) -> None:
    """Everything about box ID: the reading, the picture, and every decision about it."""
    from ..registry import registry_for

    registry = registry_for(get_config(ctx))
    found = registry.boxes(waiting_only=False, reading_id=reading_id)
    if not found:
        raise click.ClickException(f"there is no box with id {reading_id}; "
                                   "`supportplan boxes --all` lists them")
    record = found[0]
    click.echo(_describe(record))
    for event in registry.events_for(record.household):
        if event["kind"] == "box_decided" and event["detail"].get("reading_id") == reading_id:
            detail = event["detail"]
            click.echo(f"      {event['at']:%d/%m/%Y %H:%M}: decided {detail['decided']} by "
                       f"{detail['by']}")
