"""Commands for the support-planning cycle: formal review packs and a household's history."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from .base import common_options, get_config, main, parse_date


@main.command()
@common_options
@click.argument("reference")
@click.option("--date", "made_on", callback=parse_date, metavar="DD/MM/YYYY",
              help="The date of the review (default: today).")
@click.option("--no-pdf", is_flag=True, help="Make the Word file only.")
@click.pass_context
def review(ctx: click.Context, reference: str, made_on: date | None, no_pdf: bool) -> None:
    """Make a formal review pack for REFERENCE: output/REF/review-REF-DATE.pdf (and .docx).

    It compares the current plan with the last version every party signed (the first
    version when none is signed yet): steps no longer needed struck through, new steps
    marked, moved dates shown old → new, steps done with their date, overdue steps; the
    weekly reviews since then; the review questions with room for answers and the
    household's views; the next review date; fresh signature blocks. Print it, go through
    it together, sign it and scan it into intake/scans/: once every party has signed, it
    counts as the review.
    """
    from ..review import make_review

    outcome = make_review(get_config(ctx), reference, made_on=made_on, pdf=not no_pdf)
    compared = (f"v{outcome.base_version} (signed {outcome.base_signed_on:%d/%m/%Y})"
                if outcome.base_signed_on else f"v{outcome.base_version} (none signed yet)")
    click.echo(f"review pack for {reference} v{outcome.version}, compared with {compared}: "
               + ", ".join(str(p) for p in (outcome.pdf, outcome.docx) if p))
    click.echo(f"{outcome.open_steps} open step(s) to go through; next review proposed for "
               f"{outcome.next_review:%d/%m/%Y}.")


@main.command()
@common_options
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="One JSON object, for scripts.")
@click.pass_context
def history(ctx: click.Context, reference: str, as_json: bool) -> None:
    """Every version of REFERENCE's plan: when and why it was issued, who signed it and
    when (from scans), what changed from the version before, its formal reviews, and the
    balance of what we do and what the household does."""
    from ..history import household_story
    from ..registry import registry_for

    registry = registry_for(get_config(ctx))
    story = household_story(registry, reference)
    if not story.versions:
        raise click.ClickException(f"{reference} has no plan in the registry")
    if as_json:
        click.echo(json.dumps(story.to_json(), ensure_ascii=False, indent=1))
        return
    for version in story.versions:
        supersedes = f", replacing v{version.supersedes}" if version.supersedes else ""
        click.echo(f"v{version.version}  issued {version.issued_on:%d/%m/%Y}{supersedes}: "
                   f"{version.reason}")
        for signer in version.signed:
            when = (f"signed {date.fromisoformat(signer['signed_on']):%d/%m/%Y}"
                    if signer["signed_on"] else "not signed")
            click.echo(f"    {signer['name']} ({signer['role']}): {when}")
        for change in version.changes:
            click.echo(f"    - {change}")
        click.echo(f"    independence: {version.balance.in_words()}")
        if version.pdf:
            click.echo(f"    {Path(version.pdf).name}")
    for pack in story.reviews:
        signed = (f"signed {date.fromisoformat(pack['signed_on']):%d/%m/%Y}"
                  if pack["signed_on"] else "not signed yet")
        click.echo(f"review {date.fromisoformat(pack['made_on']):%d/%m/%Y} of v{pack['version']} "
                   f"(compared with v{pack['compared_with']}): {signed}; next review by "
                   f"{date.fromisoformat(pack['next_review']):%d/%m/%Y}")
