"""One household's record never becomes another's; what a build says about each workbook,
and where; workbooks from before a schema change; files that only look like workbooks;
the command line people use around a build (validate, demo, init, new)."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edited, resave, valid_household, write_household
from openpyxl import load_workbook

from pipeline.build import BUILT, FAILED, STEPS_PER_WORKBOOK, Builder, build_workbooks
from pipeline.cli import main
from pipeline.config import Config
from pipeline.intake.reader import read_workbook
from pipeline.registry import registry_for
from pipeline.watch.eventlog import EventLog
from pipeline.watch.watcher import Watcher, WatchSettings


def _run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config.source), *args])
    return result.exit_code, result.output


def _versions(config: Config, reference: str) -> list[int]:
    registry = registry_for(config)
    try:
        return [v.version for v in registry.versions(reference)]
    finally:
        registry.close()


# -- records never merge ----------------------------------------------------------------------
def test_a_copied_workbook_under_another_name_is_refused_and_reported_under_its_own(
        workspace: Config) -> None:
    original = write_household(workspace, valid_household("HH-0101"))
    [first] = build_workbooks(workspace, [original], pdf=False)
    assert first.status == BUILT
    copy = workspace.intake_dir / "HH-0102.xlsx"
    copy.write_bytes(original.read_bytes())  # a new household started from a copy
    original.rename(workspace.root / "HH-0101-archived.xlsx")  # the original has left intake
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert outcome.status == FAILED
    report = workspace.output_dir / "HH-0102" / "errors-HH-0102.txt"
    assert outcome.error_report == report
    text = report.read_text()
    assert "HH-0102.xlsx" in text and "HH-0101" in text and "own reference" in text
    assert "Hassan" not in outcome.message  # households by reference only
    assert not (workspace.output_dir / "HH-0101" / "errors-HH-0101.txt").exists()
    assert _versions(workspace, "HH-0101") == [1]


def test_a_new_version_sharing_no_member_is_refused_until_confirmed(workspace: Config) -> None:
    path = write_household(workspace, valid_household("HH-0101"))
    assert build_workbooks(workspace, [path], pdf=False)[0].status == BUILT
    other = edited(valid_household("HH-0101"))
    other.members = [{"name": "Rose Adeyemi", "role": "Tenant", "adult": True}]
    for step in other.steps:
        step["who"] = None if step.get("who") else step.get("who")
    resave(path, other)
    [outcome] = build_workbooks(workspace, [path], pdf=False)
    assert outcome.status == FAILED
    assert any("none of the members listed here is in HH-0101 version 1" in str(p)
               for p in outcome.problems), outcome.problems
    assert "--same-household HH-0101" in outcome.error_report.read_text()
    assert _versions(workspace, "HH-0101") == [1]
    code, output = _run(workspace, "build", "--no-pdf", "--same-household", "HH-0101")
    assert code == 0 and "built     HH-0101 v2" in output, output
    # one member in common is the same household: no confirmation needed
    again = edited(other)
    again.members.append({"name": "New Baby", "role": "Child", "adult": False})
    again.steps[0]["we_will"] = "Changed wording"
    resave(path, again)
    assert build_workbooks(workspace, [path], pdf=False)[0].version == 3


def test_duplicate_reference_is_reported_under_the_copy_not_the_household(
        workspace: Config) -> None:
    write_household(workspace, valid_household("HH-0100"))
    write_household(workspace, valid_household("HH-0100"), name="HH-0100 (copy).xlsx")
    outcomes = {o.workbook.name: o for o in build_workbooks(workspace, [workspace.intake_dir],
                                                            pdf=False)}
    assert outcomes["HH-0100.xlsx"].status == BUILT
    copy = outcomes["HH-0100 (copy).xlsx"]
    assert copy.status == FAILED and copy.error_report is not None
    assert copy.error_report.parent.name == "HH-0100_copy_"
    assert not (workspace.output_dir / "HH-0100" / "errors-HH-0100.txt").exists()


# -- warnings are shown, and kept beside the plan ---------------------------------------------
def test_warnings_reach_build_output_the_watch_log_and_a_file(workspace: Config) -> None:
    demo = edited(valid_household())
    demo.members[2]["signs_plan"] = True  # a child set to sign: worth checking
    path = write_household(workspace, demo)
    code, output = _run(workspace, "build", "--no-pdf")
    assert code == 0
    assert "warning: Members!D4: a child is set to sign the plan" in output, output
    assert "1 warning" in output
    warnings = workspace.output_dir / "HH-0001" / "warnings-HH-0001.txt"
    assert "a child is set to sign the plan" in warnings.read_text()
    # the watcher says so too, by cell only (the words may quote what was typed)
    log = io.StringIO()
    watcher = Watcher(workspace, WatchSettings.from_config(workspace),
                      EventLog(workspace.root, stream=log))
    watcher.builder = Builder(workspace, registry=watcher.registry, pdf=False)
    demo.steps[0]["you_will"] = "Gather payslips and the tenancy agreement"
    resave(path, demo)
    watcher.build([path])
    lines = log.getvalue()
    assert "1 warning, see the warnings file" in lines and "Members!D4" in lines
    assert "child" not in lines
    # fixed: the file goes
    demo.members[2]["signs_plan"] = False
    resave(path, demo)
    build_workbooks(workspace, [path], pdf=False)
    assert not warnings.exists()


# -- old workbooks keep working ---------------------------------------------------------------
def test_a_workbook_from_before_each_schema_change_still_reads(workspace: Config) -> None:
    path = write_household(workspace, valid_household())
    workbook = load_workbook(path)
    household = workbook["Household"]
    for row in range(household.max_row, 1, -1):  # rows added 2026-11 (Closed on, interpreter)
        if str(household.cell(row, 1).value).startswith(("Closed on", "Interpreter name",
                                                          "Interpreter language",
                                                          "Interpreter agency")):
            household.delete_rows(row)
    plan = workbook["Plan"]
    for column in range(plan.max_column, 0, -1):  # columns added 2026-11
        if plan.cell(1, column).value in ("Our lead", "Obstacles", "How strengths help"):
            plan.delete_cols(column)
    workbook.save(path)
    result = read_workbook(path)
    assert result.ok, result.problems
    assert result.household.closed_on is None and result.household.interpreter is None
    assert result.household.steps[0].obstacles == "" and result.household.steps[0].our_lead == ""
    assert build_workbooks(workspace, [path], pdf=False)[0].status == BUILT


def test_new_fields_are_read_and_leave_old_plans_unchanged(workspace: Config) -> None:
    demo = edited(valid_household(interpreter_used="Yes"))
    path = write_household(workspace, demo)
    [first] = build_workbooks(workspace, [path], pdf=False)
    assert first.status == BUILT
    assert any("interpreter is not named" in str(w) for w in first.warnings)
    again = build_workbooks(workspace, [path], pdf=False)[0]
    assert again.status == "unchanged"  # the new optional fields, blank, change nothing
    demo.household.update(interpreter_name="Rania Khalil", interpreter_language="Arabic",
                          interpreter_agency="Language Line")
    demo.steps[0].update(our_lead="Housing officer", obstacles="A long waiting list",
                         strengths_help="A good reference")
    resave(path, demo)
    result = read_workbook(path)
    assert result.household.interpreter.name == "Rania Khalil"
    assert [s.key for s in result.household.signers][-2:] == ["interpreter", "peer-reviewer"]
    step = result.household.steps[0]
    assert (step.our_lead, step.obstacles, step.strengths_help) == (
        "Housing officer", "A long waiting list", "A good reference")
    assert step.obstacles == result.household.steps[1].obstacles  # per goal
    assert build_workbooks(workspace, [path], pdf=False)[0].version == 2


# -- files that only look like workbooks ------------------------------------------------------
@pytest.mark.parametrize("name", ["HH-0201.ods", "HH-0202.xls", "HH-0203.csv",
                                  "HH-0204.numbers"])
def test_spreadsheets_in_other_formats_are_reported_with_the_fix(workspace: Config,
                                                                 name: str) -> None:
    (workspace.intake_dir / name).write_bytes(b"Name,Role\nA,B\n")
    code, output = _run(workspace, "build", "--no-pdf")
    assert code == 1 and f"FAILED    {name}" in output, output
    report = workspace.output_dir / Path(name).stem / f"errors-{Path(name).stem}.txt"
    assert "File > Save As > Excel Workbook (.xlsx)" in report.read_text()


# -- progress people can follow ---------------------------------------------------------------
def test_each_household_is_reported_as_it_is_done(workspace: Config) -> None:
    config_path = workspace.source
    text = config_path.read_text().replace("batch_size = 25", "batch_size = 1")
    config_path.write_text(text)
    from pipeline.config import load_config

    config = load_config(config_path)
    for n in range(1, 4):
        write_household(config, valid_household(f"HH-000{n}"))
    events: list[str] = []
    builder = Builder(config, pdf=False)
    builder.build(sorted(config.intake_dir.glob("*.xlsx")),
                  lambda outcome: events.append(f"done {outcome.reference}"),
                  lambda n: events.append(f"tick {n}"))
    builder.close()
    assert sum(int(e.split()[1]) for e in events if e.startswith("tick")) == \
        3 * STEPS_PER_WORKBOOK
    done = [i for i, e in enumerate(events) if e.startswith("done")]
    assert len(done) == 3 and done[0] < len(events) - 2 * STEPS_PER_WORKBOOK  # not all at the end


# -- the command line around a build ----------------------------------------------------------
def test_validate_takes_folders_defaults_to_intake_and_skips_lock_files(
        workspace: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    write_household(workspace, valid_household())
    (workspace.intake_dir / "~$HH-0001.xlsx").write_bytes(b"\0" * 165)  # Excel's lock file
    bad = edited(valid_household("HH-0002"))
    bad.steps[0]["by_when"] = "31/11/2026"
    bad.steps[0]["area"] = "Physical and mental health!"
    write_household(workspace, bad)
    monkeypatch.chdir(workspace.root)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 1
    assert "~$" not in result.output
    assert "HH-0001.xlsx: OK" in result.output
    assert '"31/11/2026": November 2026 has 30 days' in result.output
    assert 'did you mean "Physical & Mental Health"?' in result.output
    assert "1 of 2 workbooks has errors." in result.output
    folder = CliRunner().invoke(main, ["validate", str(workspace.intake_dir)])
    assert folder.output == result.output


def test_choices_with_commas_stay_readable_and_early_dates_are_warned(workspace: Config) -> None:
    demo = edited(valid_household())
    demo.steps[0]["area"] = "Somewhere else"
    demo.steps[2]["by_when"] = demo.household["plan_date"].replace(year=2025)
    result = read_workbook(write_household(workspace, demo))
    area = next(str(p) for p in result.errors if "life area" in str(p))
    assert "; Family, Friends & Contacts; " in area
    assert any("is before the plan date" in str(w) for w in result.warnings)


def test_demo_refuses_a_folder_with_household_workbooks(workspace: Config) -> None:
    write_household(workspace, valid_household())
    result = CliRunner().invoke(main, ["demo", str(workspace.root), "--no-pdf"])
    assert result.exit_code == 1 and "already holds 1 household workbook" in result.output
    assert not (workspace.intake_dir / "HH-0042.xlsx").exists()
    forced = CliRunner().invoke(main, ["demo", str(workspace.root), "--no-pdf", "--force"])
    assert forced.exit_code == 0 and (workspace.intake_dir / "HH-0042.xlsx").exists()


def test_init_and_new_end_with_the_next_step(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    created = CliRunner().invoke(main, ["init", "ws"])
    assert created.output.splitlines()[-1].startswith("Next: cd ws && supportplan new ")
    monkeypatch.chdir(tmp_path / "ws")
    made = CliRunner().invoke(main, ["new", "HH-0001", "--name", "A", "--caseworker", "B"])
    assert made.output.splitlines()[-1].startswith("Next: open HH-0001.xlsx, fill it in")


def test_the_registry_keeps_no_member_names_outside_plan_content(workspace: Config) -> None:
    """The member check reads the last version's content; nothing else stores names."""
    path = write_household(workspace, valid_household())
    build_workbooks(workspace, [path], pdf=False)
    with sqlite3.connect(workspace.root / "supportplan.sqlite") as conn:
        events = " ".join(row[0] for row in conn.execute("select detail from events"))
    assert "Yusuf" not in events


# -- the blank workbook, as a spreadsheet program shows it ---------------------------------
@pytest.mark.slow
def test_the_workbook_reads_well_in_calc(tmp_path: Path) -> None:
    import csv
    import subprocess
    from datetime import date

    from pipeline.intake.schema import TABLE_SHEETS
    from pipeline.intake.writer import write_workbook

    path = write_workbook(tmp_path / "HH-0042.xlsx", {
        "reference": "HH-0042", "name": "Hassan family", "caseworker": "Jo",
        "plan_date": date(2026, 11, 1)},
        members=[{"name": "Amina Hassan", "adult": True}, {},  # a blank row between
                 {"name": "Hassan, Yusuf", "adult": True}])
    workbook = load_workbook(path)
    for sheet in TABLE_SHEETS:  # every header has its hint
        assert all(cell.comment is not None for cell in workbook[sheet.name][1]), sheet.name
    instructions = workbook["Instructions"]
    for row in range(3, instructions.max_row + 1):
        text = instructions.cell(row, 1).value
        if text:  # tall enough for its wrapped lines
            assert instructions.row_dimensions[row].height >= 15 * (len(text) // 100 + 1)
    # LibreOffice Calc works out the formulas behind the "Who" dropdown
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,"
                    "false,false,false,-1", "--outdir", str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=120)
    with open(tmp_path / "HH-0042-Lists.csv", encoding="utf-8") as handle:
        who = [row[3] for row in list(csv.reader(handle))[1:]]
    assert who[:3] == ["Whole household", "Amina Hassan", "Hassan, Yusuf"]
    assert not any(who[3:]), "no run of blank choices"
