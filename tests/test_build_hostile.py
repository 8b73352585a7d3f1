"""Hostile and broken workbooks in a batch, through `build`, `validate` and the watcher:
nothing crashes the batch, every failure has its errors file, links are not followed."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import edited, resave, valid_household, write_household
from docx import Document
from workbook_bytes import (
    flip_stored_byte,
    lie_about_size,
    patch_part,
    rewrite_parts,
    set_formula,
)

from pipeline.build import BUILT, FAILED, build_workbooks
from pipeline.cli import main
from pipeline.config import Config
from pipeline.intake.isolate import IsolatedReader
from pipeline.intake.options import ReadOptions


def corrupt_member(path: Path) -> Path:
    rewrite_parts(path, lambda _name, data: data, compression=zipfile.ZIP_STORED)
    return flip_stored_byte(path, b"Explain how bidding works")


def lying_bomb(path: Path) -> Path:
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/image1.bin", b"\0" * (50 * 1024 * 1024))
    return lie_about_size(path, "xl/media/image1.bin", 100)


def encrypted(path: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = io.BytesIO(path.read_bytes())
    with open(path, "wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    return path


def bad_batch(config: Config) -> dict[str, str]:
    """Workbooks of every kind of wrong, plus one good one; name -> expected message."""
    intake = config.intake_dir
    write_household(config, valid_household("HH-0001"))
    corrupt_member(write_household(config, valid_household("HH-0002")))
    lying_bomb(write_household(config, valid_household("HH-0003")))
    encrypted(write_household(config, valid_household("HH-0004")))
    (intake / "HH-0005.xlsx").write_bytes(b"Area,Goal\nHousing,A home\n")
    set_formula(write_household(config, valid_household("HH-0006")), "Plan", "D2",
                'CONCAT("a","b")')
    good = write_household(config, valid_household("HH-0007"))
    (intake / "HH-0008.xlsx").write_bytes(good.read_bytes()[:3000])
    return {"HH-0002": 'is damaged: the sheet "Plan" cannot be unpacked',
            "HH-0003": "is damaged: the part xl/media/image1.bin cannot be unpacked",
            "HH-0004": "is password-protected", "HH-0005": "is a CSV (plain text) file",
            "HH-0006": "Plan!D2: holds a formula with no stored value",
            "HH-0008": "is incomplete or damaged"}


def test_a_batch_of_broken_workbooks_fails_each_with_its_errors_file(workspace: Config) -> None:
    expected = bad_batch(workspace)
    outcomes = {o.workbook.stem: o for o in build_workbooks(workspace, [workspace.intake_dir],
                                                            pdf=False)}
    assert {ref for ref, o in outcomes.items() if o.status == BUILT} == {"HH-0001", "HH-0007"}
    for reference, words in expected.items():
        outcome = outcomes[reference]
        assert outcome.status == FAILED, reference
        report = workspace.output_dir / reference / f"errors-{reference}.txt"
        assert outcome.error_report == report
        assert words in report.read_text(encoding="utf-8"), reference


def test_validate_never_prints_a_traceback(workspace: Config) -> None:
    expected = bad_batch(workspace)
    paths = sorted(str(p) for p in workspace.intake_dir.glob("*.xlsx"))
    result = CliRunner().invoke(main, ["validate", *paths])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for reference, words in expected.items():
        assert any(line.startswith(str(workspace.intake_dir / f"{reference}.xlsx"))
                   and words in line for line in result.output.splitlines()), reference
    assert f"{len(expected)} of {len(paths)} workbooks have errors." in result.output


def test_links_are_skipped_with_a_message_in_build_and_validate(workspace: Config,
                                                                  tmp_path: Path) -> None:
    elsewhere = valid_household("HH-0009").write(tmp_path / "elsewhere.xlsx")
    link = workspace.intake_dir / "HH-0009.xlsx"
    link.symlink_to(elsewhere)
    write_household(workspace, valid_household("HH-0001"))
    runner = CliRunner()
    config = ["--config", str(workspace.source)]
    folder = runner.invoke(main, [*config, "build", "--no-pdf"])
    assert folder.exit_code == 0, folder.output
    assert f"skipped   {link}: it is a symbolic link" in folder.output
    named = runner.invoke(main, [*config, "build", "--no-pdf", str(link)])
    assert f"skipped   {link}: it is a symbolic link" in named.output
    assert not (workspace.output_dir / "HH-0009").exists()
    checked = runner.invoke(main, ["validate", str(link)])
    assert checked.exit_code == 1 and f"{link}: skipped: it is a symbolic link" in \
        checked.output


def test_the_watcher_logs_links_it_does_not_follow(workspace: Config, tmp_path: Path) -> None:
    from pipeline.watch.eventlog import EventLog
    from pipeline.watch.watcher import Watcher, WatchSettings

    elsewhere = valid_household("HH-0009").write(tmp_path / "elsewhere.xlsx")
    link = workspace.intake_dir / "HH-0009.xlsx"
    link.symlink_to(elsewhere)
    log = io.StringIO()
    watcher = Watcher(workspace, WatchSettings.from_config(workspace),
                      EventLog(workspace.root, as_json=True, stream=log))
    watcher.notice(link)
    watcher.notice(link)  # once per file, not per event
    watcher._candidates()
    assert len(watcher.pending) == 0
    [line] = log.getvalue().splitlines()
    assert '"event": "ignored: it is a symbolic link' in line
    assert '"output": "intake/HH-0009.xlsx"' in line


def test_references_that_differ_only_in_case_are_refused_in_a_batch(workspace: Config) -> None:
    write_household(workspace, valid_household("HH-1"))
    write_household(workspace, valid_household("hh-1"))  # both files named after their reference
    outcomes = {o.workbook.name: o for o in build_workbooks(
        workspace, [workspace.intake_dir], pdf=False)}
    assert outcomes["HH-1.xlsx"].status == BUILT
    refused = outcomes["hh-1.xlsx"]
    assert refused.status == FAILED
    text = (workspace.output_dir / "hh-1" / "errors-hh-1.txt").read_text(encoding="utf-8")
    assert 'Household!B2: the reference "hh-1" is also used by HH-1.xlsx as "HH-1" ' \
           "(references that differ only in upper and lower case" in text


def test_xlsm_in_intake_is_built(workspace: Config) -> None:
    valid_household("HH-0001").write(workspace.intake_dir / "HH-0001.xlsm")
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert outcome.status == BUILT, outcome.message


def test_what_is_typed_appears_literally_in_every_field(workspace: Config) -> None:
    nasty = "{{ x }} {% if y %} <b>&amp;</b> & ]]> <w:t>"
    demo = edited(valid_household())
    for key in ("name", "caseworker", "team", "peer_reviewer", "preferred_language"):
        demo.household[key] = f"{key} {nasty}"
    demo.members[0].update(name=f"member {nasty}", role=f"role {nasty}")
    for step in demo.steps:
        step.update(who=None)
        for key in ("goal", "strengths", "we_will", "you_will"):
            if step.get(key):
                step[key] = f"{key} {nasty}"
    demo.safety_plan[0].update(worry=f"worry {nasty}", we_will=f"safe {nasty}")
    [outcome] = build_workbooks(workspace, [write_household(workspace, demo)], pdf=False)
    assert outcome.status == BUILT, outcome.message
    document = Document(str(outcome.docx))
    texts = [p.text for p in document.paragraphs]
    texts += [cell.text for table in document.tables for row in table.rows
              for cell in row.cells]
    text = "\n".join(texts)
    for label in ("name", "caseworker", "team", "peer_reviewer", "member", "role", "goal",
                  "strengths", "we_will", "you_will", "worry", "safe"):
        assert f"{label} {nasty}" in text, label


def test_isolated_reads_keep_order_and_survive_timeouts_and_memory(tmp_path: Path) -> None:
    paths = [valid_household(f"HH-{n}").write(tmp_path / f"HH-{n}.xlsx") for n in range(6)]
    broken = tmp_path / "HH-9.xlsx"
    broken.write_bytes(b"not a workbook")
    defaults = ReadOptions.defaults()
    with IsolatedReader(defaults, workers=2) as reader:
        results = reader.read_many([*paths[:3], broken, *paths[3:]])
        assert [r.path.name for r in results] == [p.name for p in [*paths[:3], broken,
                                                                   *paths[3:]]]
        assert [r.ok for r in results] == [True] * 3 + [False] + [True] * 3
    slow = ReadOptions(3, 300, 200_000, timeout_seconds=0.001, memory_mb=1024)
    with IsolatedReader(slow, workers=1) as reader:
        [result] = reader.read_many([paths[0]])
        assert str(result.errors[0]).startswith(
            "Workbook: HH-0.xlsx took longer than 0.001 s to read")
        assert "is really a household workbook" in str(result.errors[0])
    for path in paths[:2]:  # a cell of 20 million characters: more than 8 MB to read
        patch_part(path, "xl/worksheets/sheet4.xml", r"Refer to the housing register",
                   "x" * 20_000_000)
    tight = ReadOptions(3, 300, 200_000, timeout_seconds=30, memory_mb=8)
    with IsolatedReader(tight, workers=1) as reader:
        first, second, third = reader.read_many([*paths[:2], paths[2]])
        for result in (first, second):  # a new child after each failure
            assert "needed more than 8 MB of memory to read" in str(result.errors[0])
        assert third.ok


def test_reading_in_a_child_costs_little(tmp_path: Path) -> None:
    from pipeline.intake.reader import read_workbook

    paths = [valid_household(f"HH-{n}").write(tmp_path / f"HH-{n}.xlsx") for n in range(20)]
    started = time.perf_counter()
    for path in paths:
        read_workbook(path)
    direct = time.perf_counter() - started
    with IsolatedReader(ReadOptions.defaults(), workers=1) as reader:
        reader.read(paths[0])  # start-up, paid once per batch or watcher run
        started = time.perf_counter()
        assert all(r.ok for r in reader.read_many(paths))
        isolated = time.perf_counter() - started
    assert isolated < direct * 1.5 + 0.5, (isolated, direct)


@pytest.mark.slow
def test_emoji_right_to_left_and_combining_marks_build(workspace: Config) -> None:
    from pipeline.registry import registry_for
    from pipeline.render.stamp import measure_layout

    demo = edited(valid_household())
    demo.members[1]["name"] = "Yusuf 😀 Hassan"
    demo.members.append({"name": "Zoe\u0308 Ha\u0301ssan", "role": "Aunt", "adult": True})
    demo.household["caseworker"] = "Jo 🌟 Whitfield"
    demo.steps[0].update(who="Yusuf 😀 Hassan", goal="Home 🏠 👨‍👩‍👧 🇬🇧",
                         we_will="اتصل بالمجلس 📞 today")
    [outcome] = build_workbooks(workspace, [write_household(workspace, demo)])
    assert outcome.status == BUILT, outcome.message
    registry = registry_for(workspace)
    version = registry.latest_version("HH-0001")
    pages = measure_layout(outcome.pdf, registry.version_step_ids(version.id),
                           registry.version_signers(version.id))
    assert sum(box.kind == "signature" for page in pages for box in page.boxes) == 5


@pytest.mark.slow
def test_a_plan_at_the_size_limit_converts_in_seconds(workspace: Config) -> None:
    from pypdf import PdfReader

    demo = edited(valid_household())
    options = ReadOptions.from_config(workspace)
    per_step = options.max_plan_characters // options.max_steps // 2 - 20
    step = {**demo.steps[0], "who": None}
    demo.steps = [dict(step, we_will="word " * (per_step // 5), you_will="walk " *
                       (per_step // 5))]
    demo.steps += [dict(step, area=None, goal=None, strengths=None, we_will="word " *
                        (per_step // 5), you_will="walk " * (per_step // 5))
                   for _ in range(options.max_steps - 1)]
    started = time.perf_counter()
    [outcome] = build_workbooks(workspace, [write_household(workspace, demo)])
    elapsed = time.perf_counter() - started
    assert outcome.status == BUILT, outcome.message
    assert len(PdfReader(outcome.pdf).pages) < 200  # page codes go up to 255
    assert elapsed < 90  # the LibreOffice timeout is 180 s; measured: about 5 s here


def test_an_output_folder_that_is_a_link_is_never_written_through(workspace: Config,
                                                                   tmp_path: Path) -> None:
    demo = edited(valid_household("HH-0001"))
    linked = write_household(workspace, demo)
    build_workbooks(workspace, [linked], pdf=False)
    # Someone moves the household's folder elsewhere and leaves a link in its place.
    elsewhere = tmp_path / "elsewhere"
    (workspace.output_dir / "HH-0001").rename(elsewhere)
    (workspace.output_dir / "HH-0001").symlink_to(elsewhere, target_is_directory=True)
    before = sorted(elsewhere.iterdir())
    demo.steps[0]["we_will"] = "Something new"
    resave(linked, demo)
    other = write_household(workspace, valid_household("HH-0002"))
    refused, built = build_workbooks(workspace, [linked, other], pdf=False)
    assert (refused.status, built.status) == (FAILED, BUILT)
    assert refused.error_report == workspace.output_dir / "errors-HH-0001.txt"
    report = refused.error_report.read_text(encoding="utf-8")
    assert "is a link to" in report and "replace the link with a real folder" in report
    result = CliRunner().invoke(main, ["--config", str(workspace.source), "review",
                                       "HH-0001", "--no-pdf"])
    assert result.exit_code == 3 and "is a link to" in result.output
    assert sorted(elsewhere.iterdir()) == before
