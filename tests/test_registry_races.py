"""Races between machines sharing one registry and one output folder, with the build's file
lock out of the way (machines on a network share cannot count on it): the registry alone
must keep version numbers, step ids, scans, e-mails and the daily report single. Run on
SQLite (processes on one machine) and PostgreSQL."""

from __future__ import annotations

import json
import multiprocessing
from datetime import timedelta
from pathlib import Path

from conftest import PLAN_DATE, edited, valid_household, write_household
from sharedws import shared_workspaces, without_file_lock
from sqlalchemy import func, select

from pipeline.build import build_workbooks
from pipeline.config import load_config
from pipeline.registry import open_registry, plan_versions, steps

HOUSEHOLDS = 20


def _build_in(config_path: str, answer: str) -> None:
    """One machine's build of everything in its intake (in a child process); its outcomes
    go to the file `answer`. Sharing a PostgreSQL registry, the build's file lock is out of
    the way (on SQLite all builds are on one machine, where it holds)."""
    config = load_config(Path(config_path))
    if not config.registry_url.startswith("sqlite"):
        without_file_lock()
    outcomes = build_workbooks(config, [config.intake_dir], pdf=False)
    Path(answer).write_text(json.dumps(
        [(o.workbook.name, o.status, o.version, o.message) for o in outcomes]))


def _run_together(config_paths: list[str]) -> list[list[tuple[str, str, int | None, str]]]:
    """Each build in its own process (not a pool: a build starts child processes)."""
    context = multiprocessing.get_context("spawn")
    answers = [f"{path}.outcomes.json" for path in config_paths]
    machines = [context.Process(target=_build_in, args=(path, answer))
                for path, answer in zip(config_paths, answers, strict=True)]
    for machine in machines:
        machine.start()
    for machine in machines:
        machine.join(timeout=600)
        assert machine.exitcode == 0
    return [json.loads(Path(answer).read_text()) for answer in answers]


def _versions(url: str) -> list[tuple[str, int, str]]:
    registry = open_registry(url)
    try:
        with registry.engine.connect() as conn:
            return sorted(conn.execute(select(plan_versions.c.household, plan_versions.c.version,
                                              plan_versions.c.state)).all())
    finally:
        registry.close()


def test_two_machines_building_the_same_workbooks_issue_each_version_once(
        tmp_path: Path, registry_url: str) -> None:
    first, second = shared_workspaces(tmp_path, registry_url)
    for number in range(1, HOUSEHOLDS + 1):
        write_household(first, valid_household(f"HH-{number:04d}"))
    results = _run_together([str(first.source), str(second.source)])
    assert _versions(registry_url) == [(f"HH-{n:04d}", 1, "issued")
                                       for n in range(1, HOUSEHOLDS + 1)]
    for outcomes in results:
        assert [status for _name, status, _v, _m in outcomes if status == "failed"] == [], \
            outcomes
    built = sorted(name for outcomes in results for name, status, _v, _m in outcomes
                   if status == "built")
    assert built == sorted(f"HH-{n:04d}.xlsx" for n in range(1, HOUSEHOLDS + 1))
    files = sorted(p.name for p in first.output_dir.glob("HH-*/support-plan-*"))
    assert files == sorted(f"support-plan-HH-{n:04d}-v1.docx" for n in range(1, HOUSEHOLDS + 1))


def test_two_machines_with_different_content_for_one_household_number_it_in_turn(
        tmp_path: Path, registry_url: str) -> None:
    """Each machine's intake has its own edit of the same households: one of them is v1, the
    other v2 (decided again from v1), with step ids that never collide."""
    first, second = shared_workspaces(tmp_path, registry_url, share_intake=False)
    for number in range(1, HOUSEHOLDS + 1):
        reference = f"HH-{number:04d}"
        write_household(first, valid_household(reference))
        other = edited(valid_household(reference))
        other.steps.append({"area": "Education & Training", "goal": "", "we_will": "A new step",
                            "you_will": f"Something else for {number}", "who": "Yusuf Hassan",
                            "by_when": PLAN_DATE + timedelta(days=40)})
        write_household(second, other)
    results = _run_together([str(first.source), str(second.source)])
    for outcomes in results:
        assert [o for o in outcomes if o[1] == "failed"] == [], outcomes
    assert _versions(registry_url) == sorted(
        (f"HH-{n:04d}", version, "issued") for n in range(1, HOUSEHOLDS + 1)
        for version in (1, 2))
    registry = open_registry(registry_url)
    with registry.engine.connect() as conn:
        per_household = dict(conn.execute(select(steps.c.household, func.count())
                                          .group_by(steps.c.household)).all())
    registry.close()
    # three steps in common, one more in the second machine's edit: four, each its own id
    assert per_household == {f"HH-{n:04d}": 4 for n in range(1, HOUSEHOLDS + 1)}
