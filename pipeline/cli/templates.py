"""`supportplan template check`: what an edit in Word broke in the templates, and how the
translations stand."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..render.kinds import PLAN, REVIEW
from ..render.template_tags import join_split_tags
from ..wording.catalogue import Catalogues
from ..wording.languages import Language
from ..workspace import REVIEW_TEMPLATE
from .base import common_options, get_config, main

if TYPE_CHECKING:  # the checker's modules are imported by the command that uses them
    from ..render.template_check import CheckResult


@main.group()
@common_options
def template() -> None:
    """Check the Word templates and the translations of the plan's wording."""


def _kind(path: Path, kind: str | None) -> str:
    if kind:
        return kind
    return REVIEW if path.name == REVIEW_TEMPLATE or "review" in path.stem.casefold() else PLAN


def _fix(path: Path) -> int:
    """Join split tags in `path`, keeping the file as it was beside it."""
    fixed = path.with_name(f".{path.name}.fixing")
    joined = join_split_tags(path, fixed)
    if joined:
        shutil.copy2(path, path.with_name(f"{path.stem}.before-fix{path.suffix}"))
        os.replace(fixed, path)
    else:
        fixed.unlink()
    return joined


def _show_languages(result: CheckResult, list_fuzzy: bool) -> None:
    click.echo("translations:")
    for language in result.languages:
        name = Language(language.code).english_name
        if language.code == "en":
            click.echo(f"  en ({name}): the wording itself")
            continue
        parts = [f"{len(language.fuzzy)} machine-assisted, awaiting a translator's review"
                 if language.fuzzy else "all reviewed"]
        if language.fallbacks:
            parts.append(f"{len(language.fallbacks)} shown in English")
        click.echo(f"  {language.code} ({name}): " + "; ".join(parts))
        if list_fuzzy and language.fuzzy:
            click.echo("    to review: " + ", ".join(language.fuzzy))


@template.command("check")
@common_options
@click.argument("templates", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice([PLAN, REVIEW]), default=None,
              help="What the template is for (default: from its name).")
@click.option("--fix", is_flag=True, help="Join tags Word split across runs, keeping the "
              "original as NAME.before-fix.docx.")
@click.option("--fuzzy", "list_fuzzy", is_flag=True,
              help="List the machine-assisted strings awaiting a translator's review.")
@click.pass_context
def check(ctx: click.Context, templates: tuple[Path, ...], kind: str | None, fix: bool,
          list_fuzzy: bool) -> None:
    """Check TEMPLATES (default: the workspace's plan and review pack templates).

    Names each problem with where it is: tags split across runs, tags left incomplete, Jinja
    syntax, unknown variables and values the workbook cannot supply, the marks the scan
    reader needs, and strings missing from a language's translations. Exit status 1 when
    anything is found.
    """
    from ..render.template_check import check_template

    config = get_config(ctx, workspace=False)
    paths = list(templates) or [config.template_path,
                                config.template_path.with_name(REVIEW_TEMPLATE)]
    catalogues = Catalogues(config.path("translations"))
    found = False
    result: CheckResult | None = None
    for path in paths:
        if not path.is_file():
            raise click.ClickException(f"{path}: no such template; run `supportplan init` "
                                       "for a fresh one")
        if fix:
            joined = _fix(path)
            if joined:
                click.echo(f"{path}: joined {joined} split tag(s); the file as it was is "
                           f"{path.stem}.before-fix{path.suffix}")
        result = check_template(path, _kind(path, kind), catalogues)
        mine = [p for p in result.problems if not p.where.endswith(".po")
                and p.where != "translations"]
        if mine:
            found = True
            click.echo(f"{path}: {len(mine)} problem(s)")
            for problem in mine:
                click.echo(f"  {'error' if problem.error else 'warning'}: {problem}")
        else:
            click.echo(f"{path}: OK")
    assert result is not None
    shared = [p for p in result.problems if p.where.endswith(".po") or p.where == "translations"]
    for problem in shared:
        found = True
        click.echo(f"{'error' if problem.error else 'warning'}: {problem}")
    _show_languages(result, list_fuzzy)
    ctx.exit(1 if found else 0)
