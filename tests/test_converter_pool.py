"""The converter pool behind `build` and `watch` (pipeline/render/convert.py): warm
LibreOffice processes, one per job, recycled after N documents, replaced when one is killed
mid-batch, and all gone when the build exits; --jobs 1 and 2 record the same plans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import outputs_agree_with_registry, valid_household, write_household
from docx import Document
from sqlalchemy import select

from pipeline.build import BUILT, build_workbooks
from pipeline.config import Config, load_config
from pipeline.demo import synthetic_household
from pipeline.registry import plan_versions, registry_for, steps, version_steps
from pipeline.render.convert import (
    ColdConverter,
    ConvertSettings,
    WarmConverterPool,
    convert,
    default_jobs,
    open_converter,
)
from pipeline.render.soffice import find_soffice
from pipeline.render.warm import find_uno_python

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))
UNO_PYTHON = find_uno_python()
needs_uno = pytest.mark.skipif(UNO_PYTHON is None, reason="python3-uno is not installed")


def documents(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        document = Document()
        document.add_paragraph(f"Plan number {index}")
        document.save(folder / f"plan-{index}.docx")
        paths.append(folder / f"plan-{index}.docx")
    return paths


def is_pdf(path: Path | None) -> bool:
    return path is not None and path.read_bytes().startswith(b"%PDF")


def libreoffice_using(folder: Path) -> list[int]:
    """Running processes (not zombies) whose command line names `folder`."""
    needle = str(folder).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes() and b") Z" not in (
                    entry / "stat").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def a_pool(tmp_path: Path, **options: object) -> WarmConverterPool:
    assert UNO_PYTHON is not None
    return WarmConverterPool(find_soffice(), UNO_PYTHON, profiles=tmp_path / "profiles",
                             **options)  # type: ignore[arg-type]


@needs_uno
def test_the_bridge_reaps_what_libreoffice_starts_detached(tmp_path: Path) -> None:
    """LibreOffice starts helpers detached (gpgconf, gpg, gpgsm, at its first document):
    the bridge adopts them, so they are reaped as they end, not by an init that may reap
    late or never, and closing the converter does not wait for that."""
    orphan_file = tmp_path / "orphan.pid"
    wrapper = tmp_path / "soffice"
    # a helper started detached, as LibreOffice's are: its parent shell exits at once
    wrapper.write_text(f"#!/bin/sh\n(sleep 3 & echo $! > '{orphan_file}')\n"
                       f"exec '{find_soffice()}' \"$@\"\n")
    wrapper.chmod(0o755)
    assert UNO_PYTHON is not None
    pool = WarmConverterPool(wrapper, UNO_PYTHON, profiles=tmp_path / "profiles")
    try:
        [source] = documents(tmp_path / "in", 1)
        [conversion] = pool.convert([source])
        assert is_pdf(conversion.pdf)
        orphan = int(orphan_file.read_text())
        [bridge] = pool.pids()
        parent = Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[1]
        assert int(parent) == bridge  # adopted by the bridge, not by init
        while Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.05)  # it has ended: a zombie until its parent reaps it
    finally:
        pool.close()
    assert not Path(f"/proc/{orphan}").exists()  # reaped by the bridge as it stopped


@needs_uno
@pytest.mark.slow
def test_each_converter_is_recycled_after_its_documents(tmp_path: Path) -> None:
    pool = a_pool(tmp_path, size=1, max_documents=2)
    try:
        pool.warm_up()
        first = pool.pids()
        results = convert(pool, documents(tmp_path / "staging", 5))
        assert all(is_pdf(result.pdf) for result in results), results
        assert pool.restarts == 2  # documents 1-2, 3-4, 5: three converters, two restarts
        assert pool.pids() != first
    finally:
        pool.close()
    assert libreoffice_using(tmp_path / "profiles") == []
    assert list((tmp_path / "profiles").iterdir()) == []


@needs_uno
@pytest.mark.slow
def test_a_converter_killed_mid_batch_is_replaced_and_the_batch_completes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pool = a_pool(tmp_path, size=2)
    sources = documents(tmp_path / "staging", 8)
    killed: list[int] = []
    scratch_before = set(Path(tempfile.gettempdir()).glob("lu*.tmp"))

    def kill_one_converter_once_it_has_converted() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if any(source.with_suffix(".pdf").exists() for source in sources):
                group = pool.pids()[0]
                os.killpg(group, signal.SIGKILL)  # its bridge and its LibreOffice
                killed.append(group)
                return
            time.sleep(0.005)

    try:
        pool.warm_up()
        futures = pool.submit(sources)
        killer = threading.Thread(target=kill_one_converter_once_it_has_converted)
        killer.start()
        results = [future.result() for future in futures]
        killer.join()
    finally:
        pool.close()
    assert killed, "no converter was killed"
    assert all(is_pdf(result.pdf) for result in results), [r.error for r in results]
    assert pool.restarts >= 1
    assert libreoffice_using(tmp_path / "profiles") == []
    # the killed LibreOffice's temporary files went with its profile, not left in /tmp
    assert set(Path(tempfile.gettempdir()).glob("lu*.tmp")) <= scratch_before


@needs_uno
def test_a_converter_that_cannot_start_falls_back_to_cold_batches(
        workspace: Config, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "python-without-uno"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    settings = ConvertSettings.from_config(workspace)
    converter = open_converter(replace(settings, uno_python=str(broken)), None)
    try:
        assert isinstance(converter, ColdConverter)
        assert "install python3-uno" in caplog.text
    finally:
        converter.close()


def test_jobs_default_to_one_per_core_and_older_settings_still_count(tmp_path: Path) -> None:
    config_file = tmp_path / "config.toml"
    config_file.write_text("[convert]\njobs = 3\n")
    assert ConvertSettings.from_config(load_config(config_file)).jobs == 3
    assert ConvertSettings.from_config(load_config(config_file), jobs=1).jobs == 1  # --jobs
    config_file.write_text("[watch]\nconverters = 4\nconverter_max_documents = 9\n")
    old = ConvertSettings.from_config(load_config(config_file))
    assert (old.jobs, old.recycle_after) == (4, 9)
    config_file.write_text("")
    assert ConvertSettings.from_config(load_config(config_file)).jobs == default_jobs()


def registry_facts(config: Config) -> list[tuple[object, ...]]:
    """What a build recorded, without ids, times and paths that differ between workspaces."""
    registry = registry_for(config)
    with registry.engine.connect() as conn:
        versions = conn.execute(select(
            plan_versions.c.household, plan_versions.c.version, plan_versions.c.content_hash,
            plan_versions.c.state, plan_versions.c.reason,
            plan_versions.c.pdf_path.is_not(None)).order_by(
            plan_versions.c.household, plan_versions.c.version)).all()
        step_rows = conn.execute(select(steps.c.step_id, steps.c.status, steps.c.content)
                                 .order_by(steps.c.step_id)).all()
        positions = conn.execute(select(plan_versions.c.household, version_steps.c.step_id,
                                        version_steps.c.position).join(
            plan_versions, plan_versions.c.id == version_steps.c.version_id).order_by(
            plan_versions.c.household, version_steps.c.position)).all()
    registry.engine.dispose()
    return [tuple(row) for row in (*versions, *step_rows, *positions)]


@pytest.mark.slow
def test_one_job_and_two_jobs_record_the_same_plans(tmp_path: Path) -> None:
    from pipeline.workspace import init_workspace

    facts = []
    for jobs in (1, 2):
        config, _ = init_workspace(tmp_path / f"jobs-{jobs}")
        for index in range(6):
            synthetic_household(index, steps=6, seed=7).write(
                config.intake_dir / f"HH-{index:05d}.xlsx")
        # small chunks, so several are in flight at once
        config.values["pdf"]["batch_size"] = 2
        outcomes = build_workbooks(config, [config.intake_dir], jobs=jobs)
        assert [o.status for o in outcomes] == [BUILT] * 6, [o.message for o in outcomes]
        assert all(is_pdf(o.pdf) for o in outcomes)
        facts.append(registry_facts(config))
    assert facts[0] == facts[1]
    assert len(facts[0]) > 6


@pytest.mark.slow
def test_no_libreoffice_is_left_running_after_a_build(workspace: Config) -> None:
    for reference in ("HH-0001", "HH-0002", "HH-0003"):
        write_household(workspace, valid_household(reference))
    seen: list[int] = []
    build = subprocess.Popen([SUPPORTPLAN, "build", "--jobs", "2"], cwd=workspace.root,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while build.poll() is None:
        seen = sorted(set(seen) | set(libreoffice_using(workspace.output_dir)))
        time.sleep(0.02)
    _, stderr = build.communicate()
    assert build.returncode == 0, stderr
    assert seen, "the build never started LibreOffice"
    assert libreoffice_using(workspace.output_dir) == []
    assert not any((workspace.output_dir / ".converters").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_ctrl_c_stops_libreoffice_at_once_and_publishes_nothing_half_made(
        workspace: Config, warm: bool) -> None:
    (workspace.root / "config.toml").write_text(
        f"[convert]\nwarm = {'true' if warm else 'false'}\n[pdf]\nbatch_size = 3\n")
    for index in range(8):
        synthetic_household(index, steps=6).write(workspace.intake_dir / f"HH-{index:05d}.xlsx")
    build = subprocess.Popen([SUPPORTPLAN, "build", "--jobs", "2"], cwd=workspace.root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not libreoffice_using(workspace.output_dir / ".converters"):
        assert build.poll() is None and time.monotonic() < deadline, "no LibreOffice started"
        time.sleep(0.02)
    time.sleep(1.0)  # converting now
    build.send_signal(signal.SIGINT)
    started = time.monotonic()
    build.communicate(timeout=60)
    assert time.monotonic() - started < 20  # not after the batch
    assert build.returncode != 0
    assert libreoffice_using(workspace.output_dir) == []
    registry = registry_for(load_config(workspace.root / "config.toml"))
    assert registry.pending_versions() == []
    outputs_agree_with_registry(workspace, registry)

