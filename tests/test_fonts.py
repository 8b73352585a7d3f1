"""Names in any script print: the workspace's fonts cover Chinese, Japanese, Korean and emoji
(scripts/setup.sh installs them), and a character no installed font has is a warning that
names the cell, in `validate` and `build`, before a plan prints it as an empty box."""

from __future__ import annotations

import pikepdf
import pytest
from click.testing import CliRunner
from conftest import valid_household, write_household

from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config
from pipeline.intake.printable import describe, installed_coverage, parse_charsets

NAMES = {"HH-0001": ["김민준", "山田 花子", "王秀英 😀"]}
NO_FONT_HAS = "\U000F0001"  # supplementary private use: no font on any system has it


def run(config: Config, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(config.source), *args])
    return result.exit_code, result.output


def test_coverage_merges_every_fonts_ranges() -> None:
    coverage = parse_charsets("20-7e a0-ff\n100-17f 4e00-9fff\n180-24f 1f600\nnot-hex\n")
    assert coverage.starts == (0x20, 0xA0, 0x4E00, 0x1F600)
    assert coverage.ends == (0x7E, 0x24F, 0x9FFF, 0x1F600)
    assert coverage.missing("Ana 王 😀 가 가 🧯") == ["가", "🧯"]
    # spaces, joiners and variation selectors are not drawn as glyphs of their own
    assert coverage.missing("😀\u200d\ufe0f\u00a0") == []
    assert describe(["가", "🧯"]) == "U+AC00 가, U+1F9EF 🧯"
    assert describe(list("가나다라마바")).endswith("and 1 more")


def test_the_workspace_fonts_print_cjk_korean_and_emoji() -> None:
    coverage = installed_coverage()
    assert coverage is not None, "fontconfig (fc-list) is missing"
    missing = coverage.missing("김민준 山田 花子 王秀英 ሰላም أمينة Олена 😀🏠🔥✅")
    assert missing == [], f"install the fonts in scripts/setup.sh; missing {describe(missing)}"


def test_a_character_no_font_has_is_a_warning_naming_the_cell(workspace: Config) -> None:
    demo = valid_household("HH-0001")
    demo.members[1]["name"] = f"Yusuf {NO_FONT_HAS}Hassan"
    demo.safety_plan[0]["worry"] = f"Smoke alarm broken {NO_FONT_HAS}"
    for step in demo.steps:
        if step.get("who") == "Yusuf Hassan":
            step["who"] = demo.members[1]["name"]
    write_household(workspace, demo)
    code, output = run(workspace, "validate")
    assert code == 0, output
    lines = [line for line in output.splitlines() if "no font on this computer" in line]
    assert len(lines) >= 2, output
    assert any("Members!A3: has 1 character that no font on this computer can print "
               "(U+F0001" in line for line in lines), lines
    assert any("Safety plan!A2" in line for line in lines), lines
    assert all("Yusuf" not in line for line in lines)  # the character, not the name
    [outcome] = build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    assert any("no font on this computer" in p.message and p.location == "Members!A3"
               for p in outcome.warnings)
    warnings = workspace.output_dir / "HH-0001" / "warnings-HH-0001.txt"
    assert "Members!A3" in warnings.read_text(encoding="utf-8")


@pytest.mark.slow
def test_names_in_cjk_and_emoji_print_with_real_glyphs(workspace: Config) -> None:
    demo = valid_household("HH-0001", caseworker="王秀英", name="김민준 가족 🏠")
    demo.members[0]["name"] = "山田 花子 😀"
    for step in demo.steps:
        step["who"] = "山田 花子 😀"
    demo.safety_plan[0]["worry"] = "Smoke alarm 🔥 broken"
    write_household(workspace, demo)
    code, output = run(workspace, "validate")
    assert code == 0 and "no font" not in output, output
    [outcome] = build_workbooks(workspace, [workspace.intake_dir])
    assert outcome.pdf is not None, outcome.message
    fonts = set()
    with pikepdf.open(outcome.pdf) as pdf:
        for page in pdf.pages:
            for font in page.Resources.get("/Font", {}).values():
                fonts.add(str(font.get("/BaseFont", "")))
    # LibreOffice fell back to real fonts for each script, not to empty boxes
    assert any("CJK" in name for name in fonts), fonts
    assert any("Symbola" in name for name in fonts), fonts
