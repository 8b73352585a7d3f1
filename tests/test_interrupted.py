"""A build stopped at any moment leaves nothing half-done: every state a kill can leave is
recovered, plan files the registry never saw are refused, and real SIGKILLs at random
moments of real builds always end, after one more build, in the same consistent state."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import Future
from pathlib import Path

import pytest
from conftest import (
    edited,
    outputs_agree_with_registry,
    resave,
    valid_household,
    write_household,
)
from sqlalchemy import select

from pipeline.build import BUILT, FAILED, build_workbooks
from pipeline.config import Config
from pipeline.errors import ExitCode, RegistryUnavailable
from pipeline.outputs import ORPHANS, plan_file
from pipeline.recover import recover_output
from pipeline.registry import Registry, events, plan_versions, registry_for

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))


def finished(result: None) -> Future[None]:
    future: Future[None] = Future()
    future.set_result(result)
    return future


def stop_before_issuing(registry: Registry, reference: str, version: int) -> None:
    """Put a built version back in the state a kill between publishing its files and
    marking it issued leaves: recorded as "publishing" (with a PDF, as a real build has),
    no "version_issued" event."""
    with registry.engine.begin() as conn:
        conn.execute(plan_versions.update().where(
            plan_versions.c.household == reference, plan_versions.c.version == version)
            .values(state="publishing",
                    pdf_path=f"output/{reference}/support-plan-{reference}-v{version}.pdf"))
        conn.execute(events.delete().where(events.c.household == reference,
                                           events.c.kind == "version_issued",
                                           events.c.version == version))


def two_versions(workspace: Config) -> tuple[Path, Registry]:
    demo = edited(valid_household())
    path = write_household(workspace, demo)
    build_workbooks(workspace, [path], pdf=False)
    demo.steps[0]["we_will"] = "Refer to the housing register this week"
    resave(path, demo)
    [second] = build_workbooks(workspace, [path], pdf=False)
    assert (second.status, second.version) == (BUILT, 2)
    return path, registry_for(workspace)


@pytest.mark.parametrize("files_left", [("docx",), (), ("docx", "pdf")])
def test_a_version_stopped_while_publishing_is_set_aside_and_issued_again(
        workspace: Config, files_left: tuple[str, ...]) -> None:
    path, registry = two_versions(workspace)
    v2 = {suffix: plan_file(workspace, "HH-0001", 2, suffix) for suffix in ("docx", "pdf")}
    v2["pdf"].write_bytes(b"%PDF- as if converted")  # --no-pdf made none; a kill may leave one
    v2["pdf"].chmod(0o600)
    for suffix, target in v2.items():
        if suffix not in files_left:
            target.unlink()
    kept = {suffix: v2[suffix].read_bytes() for suffix in files_left}
    stop_before_issuing(registry, "HH-0001", 2)
    # Nobody sees an unissued version: not the history, the latest, nor the paper reader.
    assert [v.version for v in registry.versions("HH-0001")] == [1]

    moved = recover_output(workspace, registry)

    assert sorted(p.name.split("-", 1)[1] for p in moved) == sorted(
        v2[suffix].name for suffix in files_left)
    for target in moved:
        assert ORPHANS in target.parts and target.stat().st_mode & 0o777 == 0o600
        assert target.read_bytes() == kept[target.suffix.lstrip(".")]
    assert not any(target.exists() for target in v2.values())
    with registry.engine.connect() as conn:
        assert conn.execute(select(plan_versions.c.version, plan_versions.c.state)
                            .where(plan_versions.c.household == "HH-0001")).all() == [
            (1, "issued")]
    [again] = build_workbooks(workspace, [path], pdf=False, registry=registry)
    assert (again.status, again.version) == (BUILT, 2)
    assert recover_output(workspace, registry) == []  # an issued version is never touched
    with registry.engine.connect() as conn:
        issued = conn.execute(select(events.c.version).where(
            events.c.household == "HH-0001", events.c.kind == "version_issued")).scalars()
        assert sorted(issued) == [1, 2]


def test_the_next_build_recovers_by_itself(workspace: Config) -> None:
    path, registry = two_versions(workspace)
    stop_before_issuing(registry, "HH-0001", 2)
    [again] = build_workbooks(workspace, [path], pdf=False, registry=registry)
    assert (again.status, again.version) == (BUILT, 2)
    assert len(list((workspace.output_dir / ORPHANS / "HH-0001").iterdir())) == 1


def test_plan_files_the_registry_never_recorded_are_refused_not_overwritten(
        workspace: Config) -> None:
    demo = edited(valid_household())
    path = write_household(workspace, demo)
    other = write_household(workspace, valid_household("HH-0002"))
    build_workbooks(workspace, [path], pdf=False)
    stray = plan_file(workspace, "HH-0001", 2, "pdf")
    stray.write_bytes(b"a v2 the registry lost (restored from an old backup)")
    demo.steps[0]["we_will"] = "Refer to the housing register this week"
    resave(path, demo)

    refused, built = build_workbooks(workspace, [path, other], pdf=False)

    assert refused.status == FAILED and built.status == BUILT  # the batch carries on
    assert refused.error_report is not None
    report = refused.error_report.read_text(encoding="utf-8")
    assert "support-plan-HH-0001-v2.pdf" in report and "backup" in report
    assert stray.read_bytes().startswith(b"a v2 the registry lost")
    assert not plan_file(workspace, "HH-0001", 2, "docx").exists()


def test_an_empty_registry_beside_issued_plans_stops_the_build(workspace: Config) -> None:
    path = write_household(workspace, valid_household())
    build_workbooks(workspace, [path], pdf=False)
    for database in workspace.root.glob("supportplan.sqlite*"):
        database.unlink()  # lost, or config.toml pointed somewhere new
    with pytest.raises(RegistryUnavailable, match="has no plans, but .* holds 1 plan file "):
        build_workbooks(workspace, [path], pdf=False)
    result = subprocess.run([SUPPORTPLAN, "build", "--no-pdf"], cwd=workspace.root,
                            capture_output=True, text=True)
    assert result.returncode == ExitCode.REGISTRY, result.stderr
    assert "Restore it from your backup" in result.stderr


def test_a_failure_while_publishing_undoes_its_own_files(
        workspace: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipeline.stages

    path, registry = two_versions(workspace)
    calls: list[Path] = []
    real_publish = pipeline.stages.publish

    def second_file_fails(temp: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_publish(temp, target)

    monkeypatch.setattr(pipeline.stages, "publish", second_file_fails)
    # pdf=False publishes one file; let the "PDF" be a copy of the Word file.
    monkeypatch.setattr(pipeline.stages.PlanStages, "_start_conversion", lambda self, planned: (
        [], [finished(setattr(plan, "staged_pdf", plan.staged_docx)) for plan in planned]))
    demo = edited(valid_household())
    demo.steps[0]["we_will"] = "Something new"
    resave(path, demo)
    with pytest.raises(OSError, match="No space"):
        build_workbooks(workspace, [path], pdf=True, registry=registry)
    assert not plan_file(workspace, "HH-0001", 3, "docx").exists()
    assert registry.pending_versions() == []
    monkeypatch.undo()
    [again] = build_workbooks(workspace, [path], pdf=False, registry=registry)
    assert (again.status, again.version) == (BUILT, 3)


KILLER = """
import os, signal
import pipeline.stages
from pipeline.registry import Registry

where, count = os.environ["KILL_AT"].split(":")
calls = []

def killing(real):
    def call(*args, **kwargs):
        calls.append(1)
        if len(calls) == int(count):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call

if where == "publish":
    pipeline.stages.publish = killing(pipeline.stages.publish)
else:
    Registry.mark_issued = killing(Registry.mark_issued)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["publish:1", "publish:2", "mark_issued:1"])
def test_sigkill_at_each_moment_of_publishing_is_recovered_by_the_next_build(
        workspace: Config, tmp_path: Path, kill_at: str) -> None:
    """The process really dies (SIGKILL from inside, at the exact moment): after recording
    the version, between its two files, and with both files in place but not yet issued."""
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(KILLER, encoding="utf-8")
    path = write_household(workspace, valid_household())
    killed = subprocess.run([SUPPORTPLAN, "build"], cwd=workspace.root, capture_output=True,
                            env={**os.environ, "PYTHONPATH": str(tmp_path / "hook"),
                                 "KILL_AT": kill_at})
    assert killed.returncode == -signal.SIGKILL
    registry = registry_for(workspace)
    assert len(registry.pending_versions()) == 1
    assert registry.versions("HH-0001") == []
    [outcome] = build_workbooks(workspace, [path], registry=registry)
    assert (outcome.status, outcome.version) == (BUILT, 1)
    outputs_agree_with_registry(workspace, registry)
    set_aside = sorted(p.suffix for p in (workspace.output_dir / ORPHANS).rglob("*.*"))
    assert set_aside == {"publish:1": [], "publish:2": [".docx"],
                         "mark_issued:1": [".docx", ".pdf"]}[kill_at]


@pytest.mark.slow
def test_sigkill_at_random_moments_of_real_builds_never_leaves_a_half_done_version(
        workspace: Config) -> None:
    """Real builds (real LibreOffice) killed with SIGKILL at random moments, each followed
    by an edit of every workbook; one last build must leave every household at its next
    version, with files, records and events agreeing."""
    households = [edited(valid_household(f"HH-{n:04d}")) for n in range(1, 5)]
    paths = [write_household(workspace, demo) for demo in households]

    def run_build(kill_after: float | None) -> None:
        process = subprocess.Popen([SUPPORTPLAN, "build"], cwd=workspace.root,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True)
        if kill_after is None:
            assert process.wait(timeout=300) in (0, 1), process.stderr.read()
            return
        time.sleep(kill_after)
        os.killpg(process.pid, signal.SIGKILL)  # LibreOffice too, as a power cut would
        process.wait(timeout=60)

    started = time.monotonic()
    run_build(None)
    full = time.monotonic() - started
    rng = random.Random(20261123)
    for round_number in range(6):
        for demo, path in zip(households, paths, strict=True):
            demo.steps[0]["we_will"] = f"Refer to the housing register (round {round_number})"
            resave(path, demo)
        run_build(rng.uniform(0.2, full))
    run_build(None)
    registry = registry_for(workspace)
    latest = outputs_agree_with_registry(workspace, registry)
    assert set(latest) == {demo.household["reference"] for demo in households}
    # the last build made each household's current workbook its newest version
    [again] = build_workbooks(workspace, paths[:1], pdf=False, registry=registry)
    assert again.status != BUILT
