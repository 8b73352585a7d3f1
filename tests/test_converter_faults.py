"""LibreOffice failing in every way it does: killed or crashing mid-conversion, hanging,
slow, and left running by a build that was itself killed. Each is retried once, reported in
plain words, and never left behind."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import valid_household, write_household
from docx import Document

from pipeline.build import BUILT, build_workbooks
from pipeline.config import Config
from pipeline.outputs import converter_profiles
from pipeline.render.soffice import (
    _processes_using,
    convert_many,
    find_soffice,
    reap_abandoned,
)

SUPPORTPLAN = str(Path(sys.executable).with_name("supportplan"))


def a_docx(folder: Path, name: str = "plan.docx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = Document()
    document.add_paragraph("A short plan")
    document.save(folder / name)
    return folder / name


def fake_soffice(tmp_path: Path, script: str) -> Path:
    """A stand-in for soffice: `script` runs with $CALLS counting its calls; it gets the
    same arguments as LibreOffice (the files to convert come last)."""
    fake = tmp_path / "soffice"
    counter = tmp_path / "calls"
    fake.write_text(f"#!/bin/sh\necho x >> {counter}\nCALLS=$(wc -l < {counter})\n{script}\n")
    fake.chmod(0o755)
    return fake


CONVERT = 'for last; do :; done\nprintf "%%PDF-1.4 fake" > "${last%.docx}.pdf"'


@pytest.mark.slow
def test_libreoffice_killed_mid_conversion_is_retried_and_the_document_converted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    profiles = tmp_path / "profiles"
    source = a_docx(tmp_path / "staging")
    killed: list[int] = []

    def kill_the_first_libreoffice() -> None:
        deadline = time.monotonic() + 60
        while not killed and time.monotonic() < deadline:
            for folder in profiles.glob("*") if profiles.is_dir() else []:
                for pid in _processes_using(folder):
                    if "soffice.bin" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(
                            errors="replace"):
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_first_libreoffice)
    killer.start()
    with caplog.at_level(logging.WARNING):
        [result] = convert_many([source], soffice=find_soffice(), timeout=120, workers=1,
                                batch_size=1, profiles=profiles)
    killer.join()
    assert killed, "LibreOffice was never seen running"
    assert result.pdf is not None and result.pdf.read_bytes().startswith(b"%PDF")
    assert "converted on the second try" in caplog.text
    assert list(profiles.iterdir()) == []  # both profiles removed


def test_a_converter_that_always_dies_is_reported_in_plain_words(tmp_path: Path) -> None:
    fake = fake_soffice(tmp_path, "kill -9 $$")
    sources = [a_docx(tmp_path / "staging", f"{name}.docx") for name in ("a", "b")]
    results = convert_many(sources, soffice=fake, timeout=10, workers=1, batch_size=2)
    for source, result in zip(sources, results, strict=True):
        assert result.pdf is None
        assert result.error == (f"tried twice: LibreOffice stopped unexpectedly while "
                                f"converting {source.name} (it was killed or crashed, "
                                "signal 9)")
    assert (tmp_path / "calls").read_text().count("x") == 3  # the batch, then each alone


def test_a_conversion_that_hangs_once_is_retried(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    fake = fake_soffice(tmp_path, f'if [ "$CALLS" = 1 ]; then exec sleep 60; fi\n{CONVERT}')
    source = a_docx(tmp_path / "staging")
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        [result] = convert_many([source], soffice=fake, timeout=3, workers=1,
                                batch_size=1)
    assert result.pdf is not None, result.error
    assert time.monotonic() - started < 10
    assert "LibreOffice has been converting for 1 seconds" in caplog.text  # the slow notice
    assert "did not finish within 3 seconds" in caplog.text  # the first try, in the log


def test_a_document_libreoffice_refuses_says_so_with_its_words_after_ours(
        tmp_path: Path) -> None:
    fake = fake_soffice(tmp_path, 'echo "Error: source file could not be loaded" >&2\nexit 1')
    [result] = convert_many([a_docx(tmp_path / "staging")], soffice=fake, timeout=10,
                            workers=1, batch_size=1)
    assert result.error == ("tried twice: LibreOffice could not convert plan.docx to PDF "
                            "(exit status 1; it said: Error: source file could not be "
                            "loaded)")


def sleeping_with(profile: Path) -> subprocess.Popen[bytes]:
    """A process whose command line names `profile`, as LibreOffice's does."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                f"-env:UserInstallation={profile.as_uri()}"])
    deadline = time.monotonic() + 10
    while process.pid not in _processes_using(profile) and time.monotonic() < deadline:
        time.sleep(0.01)  # until it has replaced the forked copy of this process
    return process


def test_reaping_spares_converters_of_living_processes(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    mine = profiles / f"{os.getpid()}-abc"
    mine.mkdir(parents=True)
    sleeper = sleeping_with(mine)
    try:
        assert reap_abandoned(profiles) == 0 and mine.is_dir() and sleeper.poll() is None
        # The same folder named after a process that is gone is reaped.
        orphan = profiles / "999999999-abc"
        mine.rename(orphan)
        sleeper.kill()
        sleeper.wait()
        sleeper = sleeping_with(orphan)
        assert reap_abandoned(profiles) == 1
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
        assert not orphan.exists()
    finally:
        sleeper.kill()


@pytest.mark.slow
def test_libreoffice_left_running_by_a_killed_build_is_stopped_by_the_next(
        workspace: Config) -> None:
    """SIGKILL of the build process alone (not its LibreOffice, which runs in its own
    session): the next build stops the orphan and removes its profile."""
    path = write_household(workspace, valid_household())
    profiles = converter_profiles(workspace)
    build = subprocess.Popen([SUPPORTPLAN, "build"], cwd=workspace.root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    orphans: list[int] = []
    deadline = time.monotonic() + 120
    while not orphans and time.monotonic() < deadline and build.poll() is None:
        for folder in profiles.glob("*") if profiles.is_dir() else []:
            orphans = _processes_using(folder)
        time.sleep(0.02)
    assert orphans, "the build never started LibreOffice"
    build.send_signal(signal.SIGKILL)
    build.wait()
    [outcome] = build_workbooks(workspace, [path])
    assert outcome.status == BUILT and outcome.pdf is not None
    for pid in orphans:
        assert not Path(f"/proc/{pid}").exists() or b"Z" in Path(
            f"/proc/{pid}/stat").read_bytes().split(b")")[1][:3]
    assert list(profiles.iterdir()) == []
