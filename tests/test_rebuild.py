"""`supportplan registry rebuild`: a lost registry is refilled from the plans in output/,
issuing nothing, so the next build re-issues nothing and signed paper is still read.
Real workbooks, real LibreOffice, real scans of the real PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edited, valid_household, write_household
from sqlalchemy import select

from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config
from pipeline.model import DONE
from pipeline.printed import PageLayout
from pipeline.registry import page_layouts, plan_versions, registry_for
from pipeline.signoff import BoxKind, BoxState


def run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config.source), *args])
    return result.exit_code, result.output


def rewrite(config: Config, demo) -> None:  # noqa: ANN001
    (config.intake_dir / f"{demo.household['reference']}.xlsx").unlink()
    write_household(config, demo)


def lose_registry(config: Config) -> None:
    for suffix in ("", "-wal", "-shm"):
        (config.root / f"supportplan.sqlite{suffix}").unlink(missing_ok=True)


def output_files(config: Config) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in config.output_dir.rglob("support-plan-*")}


def layouts_of(config: Config, reference: str, version: int) -> list[PageLayout]:
    registry = registry_for(config)
    try:
        with registry.engine.connect() as conn:
            return [PageLayout.from_json(row.layout) for row in conn.execute(
                select(page_layouts.c.layout).join(
                    plan_versions, plan_versions.c.id == page_layouts.c.version_id)
                .where(plan_versions.c.household == reference,
                       plan_versions.c.version == version).order_by(page_layouts.c.page))]
    finally:
        registry.close()


@pytest.mark.slow
def test_a_lost_registry_is_rebuilt_from_the_plans_and_nothing_is_issued_again(
        workspace: Config, tmp_path: Path) -> None:
    from scanpen import marked_page, save_pdf

    from pipeline.reconcile.run import reconcile_paths

    one, two = valid_household("HH-0001"), valid_household("HH-0002")
    write_household(workspace, one)
    write_household(workspace, two)
    assert {o.status for o in build_workbooks(workspace, [workspace.intake_dir])} == {"built"}
    # HH-0001: a step done since v1 (no new version); HH-0002: edited, so v2
    done = edited(one)
    done.steps[0]["status"], done.steps[0]["done_on"] = DONE, one.household["plan_date"]
    rewrite(workspace, done)
    changed = edited(two)
    changed.steps[0]["you_will"] = "Gather payslips and bank statements"
    rewrite(workspace, changed)
    outcomes = build_workbooks(workspace, [workspace.intake_dir])
    assert [(o.status, o.version) for o in outcomes] == [("progress updated", 1), ("built", 2)]
    # the household signs v2 on paper; the scan comes back after the registry is lost
    layouts = layouts_of(workspace, "HH-0002", 2)
    pdf = workspace.output_dir / "HH-0002" / "support-plan-HH-0002-v2.pdf"
    signers = {box.key: "signed" for layout in layouts for box in layout.boxes
               if box.kind == BoxKind.SIGNATURE}
    scan = save_pdf([marked_page(pdf, layout, signers) for layout in layouts],
                    tmp_path / "signed-v2.pdf")
    files = output_files(workspace)

    lose_registry(workspace)
    code, output = run(workspace, "build")
    assert code == 6 and "registry rebuild" in output, output

    code, output = run(workspace, "registry", "rebuild")
    assert code == 0, output
    lines = output.splitlines()
    assert "HH-0001 v1: recovered content, steps and signers from the workbook; scans of " \
           "it are read" in lines, output
    assert any(line.startswith("HH-0002 v1: recovered its number only") for line in lines)
    assert "HH-0002 v2: recovered content, steps and signers from the workbook; scans of " \
           "it are read" in lines, output
    assert output_files(workspace) == files  # nothing written, nothing changed

    outcomes = build_workbooks(workspace, [workspace.intake_dir])
    assert [(o.status, o.version) for o in outcomes] == [("unchanged", 1), ("unchanged", 2)]
    assert output_files(workspace) == files

    [outcome] = reconcile_paths(workspace, [scan])
    assert [page.matched for page in outcome.pages] == [True] * len(layouts)
    assert {(page.household, page.version) for page in outcome.pages} == {("HH-0002", 2)}
    states = {box.key: box.state for page in outcome.pages
              for box in page.boxes_of(BoxKind.SIGNATURE)}
    assert set(states) == set(signers) and set(states.values()) == {BoxState.SIGNED}, states

    # a registry that knows anything is never rebuilt over
    code, output = run(workspace, "registry", "rebuild")
    assert code == 6 and "not empty" in output and "Backups" in output, output
    # and the history carries on from the recovered numbers
    further = edited(changed)
    further.steps[1]["you_will"] = "Bid twice a week"
    rewrite(workspace, further)
    outcomes = build_workbooks(workspace, [workspace.intake_dir / "HH-0002.xlsx"])
    assert [(o.status, o.version) for o in outcomes] == [("built", 3)]


def test_a_workbook_edited_since_gets_the_next_version_after_a_rebuild(
        workspace: Config) -> None:
    demo = valid_household("HH-0001")
    write_household(workspace, demo)
    build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    changed = edited(demo)
    changed.steps[0]["we_will"] = "Refer to the housing register and the housing charity"
    rewrite(workspace, changed)
    lose_registry(workspace)
    code, output = run(workspace, "registry", "rebuild")
    assert code == 0, output
    assert "HH-0001 v1: recovered its number only; scans of it cannot be read (the " \
           "workbook has changed since it was issued)" in output
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert (outcome.status, outcome.version) == ("built", 2), outcome.message


def test_an_unchanged_word_only_plan_is_recovered_whole(workspace: Config) -> None:
    write_household(workspace, valid_household("HH-0001"))
    build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    lose_registry(workspace)
    code, output = run(workspace, "registry", "rebuild")
    assert code == 0, output
    assert "HH-0001 v1: recovered content, steps and signers from the workbook; scans of " \
           "it cannot be read (it has no PDF" in output
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert (outcome.status, outcome.version) == ("unchanged", 1), outcome.message


def test_a_plan_without_its_workbook_keeps_its_number(workspace: Config) -> None:
    write_household(workspace, valid_household("HH-0001"))
    build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    (workspace.intake_dir / "HH-0001.xlsx").unlink()
    lose_registry(workspace)
    code, output = run(workspace, "registry", "rebuild")
    assert code == 0, output
    assert "HH-0001 v1: recovered its number only" in output
    assert "no workbook for it was found in intake/" in output
    write_household(workspace, valid_household("HH-0001"))
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert (outcome.status, outcome.version) == ("built", 2), outcome.message


def test_nothing_to_recover_in_an_empty_workspace(workspace: Config) -> None:
    code, output = run(workspace, "registry", "rebuild")
    assert code == 0 and "nothing to recover" in output, output
