"""The command line, through click's CliRunner: each command calls the library for real."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edited, valid_household

from pipeline.cli import main
from pipeline.config import DEFAULT_CONFIG_TOML, load_config
from pipeline.errors import ExitCode


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_init_creates_a_complete_workspace_and_changes_nothing_twice(runner: CliRunner,
                                                                    tmp_path: Path) -> None:
    result = runner.invoke(main, ["init", str(tmp_path / "office")])
    assert result.exit_code == 0, result.output
    for part in ("config.toml", "intake", "intake/scans", "output",
                 "templates/support_plan.docx"):
        assert (tmp_path / "office" / part).exists(), part
    assert (tmp_path / "office" / "config.toml").read_text() == DEFAULT_CONFIG_TOML
    again = runner.invoke(main, ["init", str(tmp_path / "office")])
    assert "nothing changed" in again.output


def test_repository_config_is_the_documented_default() -> None:
    root = Path(__file__).resolve().parent.parent
    assert (root / "config.toml").read_text() == DEFAULT_CONFIG_TOML, (
        "regenerate with: .venv/bin/python -c \"from pipeline.config import "
        "DEFAULT_CONFIG_TOML as d; open('config.toml','w').write(d)\"")


def test_new_validate_build_round_trip(runner: CliRunner, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    runner.invoke(main, ["init", str(tmp_path)])
    monkeypatch.chdir(tmp_path / "intake")  # config.toml is found in a parent folder
    result = runner.invoke(main, ["new", "HH-0042", "--name", "Hassan family",
                                  "--caseworker", "Jo Whitfield", "--plan-date", "01/11/2026"])
    assert result.exit_code == 0, result.output
    workbook = tmp_path / "intake" / "HH-0042.xlsx"
    assert workbook.is_file()

    refused = runner.invoke(main, ["new", "HH-0042", "--name", "x", "--caseworker", "y"])
    assert refused.exit_code != 0 and "already exists" in refused.output

    blank = runner.invoke(main, ["validate", str(workbook)])
    assert blank.exit_code == 1
    assert "Members!A2: no household members are listed" in blank.output

    filled = edited(valid_household("HH-0042"))
    filled.household["name"] = "Hassan family"
    workbook.unlink()
    filled.write(workbook)
    ok = runner.invoke(main, ["validate", str(workbook)])
    assert ok.exit_code == 0, ok.output
    assert "OK" in ok.output

    built = runner.invoke(main, ["build", "--no-pdf", "--log-level", "debug"])
    assert built.exit_code == 0, built.output
    assert "Summary: 1 built, 0 unchanged, 0 progress updated, 0 failed." in built.output
    assert (tmp_path / "output" / "HH-0042" / "support-plan-HH-0042-v1.docx").is_file()


def test_build_exit_status_and_summary_name_the_failure(runner: CliRunner,
                                                       tmp_path: Path) -> None:
    runner.invoke(main, ["init", str(tmp_path)])
    bad = edited(valid_household("HH-0007"))
    bad.steps[0]["area"] = "Hosuing"
    bad.write(tmp_path / "intake" / "HH-0007.xlsx")
    result = runner.invoke(main, ["--config", str(tmp_path / "config.toml"), "build",
                                  "--no-pdf"])
    assert result.exit_code == 1
    assert "FAILED    HH-0007.xlsx" in result.output
    assert "errors-HH-0007.txt" in result.output
    assert "0 built" in result.output and "1 failed" in result.output


def test_new_rejects_unsafe_reference(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(main, ["init", str(tmp_path)])
    result = runner.invoke(main, ["--config", str(tmp_path / "config.toml"), "new",
                                  "../evil", "--name", "x", "--caseworker", "y"])
    assert result.exit_code == 2 and "cannot be a household reference" in result.output
    assert not list((tmp_path).rglob("evil*"))


def test_bad_config_is_named(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[pdf]\nworkers = 'two'\n")
    result = runner.invoke(main, ["validate", "--config", str(config), str(config)])
    assert result.exit_code == ExitCode.SETTINGS
    assert "Error: " in result.output and "[pdf] workers must be a int" in result.output
    config.write_text("[colour]\nx = 1\n")
    assert "unknown section [colour]" in runner.invoke(
        main, ["build", "--config", str(config)]).output
    config.unlink()
    assert load_config(None, cwd=tmp_path).source is None  # no file anywhere: defaults


def test_every_command_has_help_and_global_options(runner: CliRunner) -> None:
    for command in main.commands:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0
        assert "--config" in result.output and "--log-level" in result.output


def test_commands_outside_a_workspace_refuse_and_write_nothing(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["build"], ["reconcile"], ["report", "--no-email"],
                 ["new", "HH-1", "--name", "x", "--caseworker", "y"]):
        result = runner.invoke(main, args)
        assert result.exit_code == ExitCode.SETTINGS, (args, result.output)
        assert "not in a supportplan workspace" in result.output
        assert "supportplan init" in result.output
    assert list(tmp_path.iterdir()) == []


def test_libreoffice_starts_only_for_new_or_changed_workbooks(runner: CliRunner,
                                                             tmp_path: Path) -> None:
    """`build` starts LibreOffice at once when a workbook is new or changed (the build then
    uses that converter, not another), never for a batch of unchanged workbooks, and no
    more of them than workbooks."""
    from pipeline.render.soffice import find_soffice

    runner.invoke(main, ["init", str(tmp_path)])
    starts = tmp_path / "soffice-starts.log"
    wrapper = tmp_path / "soffice"
    wrapper.write_text(f"#!/bin/sh\necho started >> '{starts}'\nexec '{find_soffice()}' \"$@\"\n")
    wrapper.chmod(0o755)
    config = tmp_path / "config.toml"
    config.write_text(config.read_text().replace('soffice = ""', f'soffice = "{wrapper}"'))
    workbook = valid_household().write(tmp_path / "intake" / "HH-0001.xlsx")

    def build(jobs: str = "1") -> tuple[str, int]:
        result = runner.invoke(main, ["--config", str(config), "build", "--jobs", jobs])
        assert result.exit_code == 0, result.output
        count = len(starts.read_text().splitlines()) if starts.exists() else 0
        return result.output, count

    output, started = build(jobs="3")
    assert "1 built" in output and started == 1  # one workbook: one converter of 3
    output, started = build()
    assert "1 unchanged" in output and started == 1  # none this time
    # new, but copied with a time older than the registry's: the registry says it is new
    old = valid_household("HH-0002").write(tmp_path / "intake" / "HH-0002.xlsx")
    os.utime(old, (1_600_000_000, 1_600_000_000))
    output, started = build()
    assert "1 built" in output and "1 unchanged" in output and started == 2
    old.unlink()
    demo = edited(valid_household())
    demo.steps[0]["you_will"] = "Gather payslips and bank statements"
    demo.write(workbook.with_name("edited.xlsx")).replace(workbook)
    output, started = build()
    assert "1 built" in output and started == 3

    # Refused after LibreOffice started (the secret the printed plans need is gone): the
    # converter is closed, not left running.
    (tmp_path / ".secret").rename(tmp_path / "secret-aside")
    demo.steps[0]["you_will"] = "Gather payslips"
    demo.write(workbook.with_name("edited.xlsx")).replace(workbook)
    result = runner.invoke(main, ["--config", str(config), "build", "--jobs", "1"])
    assert result.exit_code == ExitCode.SECRET, result.output
    assert len(starts.read_text().splitlines()) == 4
    assert not [pid for pid in os.listdir("/proc") if pid.isdigit()
                and str(tmp_path) in _cmdline(pid)], "LibreOffice left running"


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:  # gone meanwhile
        return ""


def test_a_workbook_saved_since_the_registry_changed_is_taken_as_new(tmp_path: Path) -> None:
    """The hint that starts LibreOffice before the registry is opened: file times only."""
    from pipeline.build import build_workbooks
    from pipeline.cli.building import saved_since_registry_changed
    from pipeline.config import load_config
    from pipeline.workspace import init_workspace

    config, _created = init_workspace(tmp_path)
    first = valid_household().write(config.intake_dir / "HH-0001.xlsx")
    assert config.registry_file is not None and not config.registry_file.exists()
    assert saved_since_registry_changed(config, [first])  # no registry yet
    build_workbooks(config, [first], pdf=False)
    assert not saved_since_registry_changed(config, [first])
    later = config.registry_file.stat().st_mtime + 5
    os.utime(first, (later, later))  # saved again (changed or not: the build decides)
    assert saved_since_registry_changed(config, [first])
    assert not saved_since_registry_changed(config, [config.intake_dir / "gone.xlsx"])
    (tmp_path / "config.toml").write_text((tmp_path / "config.toml").read_text().replace(
        'url = "sqlite:///supportplan.sqlite"', 'url = "postgresql:///elsewhere"'))
    assert load_config(tmp_path / "config.toml").registry_file is None
    assert not saved_since_registry_changed(load_config(tmp_path / "config.toml"), [first])


def test_registry_says_whether_any_workbook_changed(tmp_path: Path) -> None:
    from pipeline.build import build_workbooks
    from pipeline.registry import registry_for
    from pipeline.workspace import init_workspace

    config, _created = init_workspace(tmp_path)
    first = valid_household().write(config.intake_dir / "HH-0001.xlsx")
    registry = registry_for(config)
    assert registry.any_workbook_changed([first])  # never built
    build_workbooks(config, [first], pdf=False)
    assert not registry.any_workbook_changed([first])
    assert not registry.any_workbook_changed([config.intake_dir / "gone.xlsx"])  # unreadable
    copy = config.intake_dir / "HH-0002.xlsx"
    copy.write_bytes(first.read_bytes())
    assert registry.any_workbook_changed([first, copy])  # same bytes, another place
    demo = edited(valid_household())
    demo.steps[0]["you_will"] = "Gather payslips and bank statements"
    demo.write(config.intake_dir / "edited.xlsx").replace(first)
    assert registry.any_workbook_changed([first])
