"""`supportplan template check` on the shipped templates and on ones an edit in Word broke:
a tag split across runs, a typo in a name, a value the workbook cannot supply, a Jinja
syntax error, a block never closed, a tag broken across paragraphs, a missing translation;
and `build` refusing a broken template once, with the same message."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import valid_household, write_household

from pipeline.build import build_workbooks
from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import ExitCode
from pipeline.render.context import TemplateError
from pipeline.render.template_check import PLAN, REVIEW, check_template
from pipeline.wording.catalogue import Catalogues

SHIPPED = Path(__file__).resolve().parents[1] / "templates"
RUN = '<w:r><w:t xml:space="preserve">{}</w:t></w:r>'
BOLD_RUN = '<w:r><w:rPr><w:b/></w:rPr><w:t xml:space="preserve">{}</w:t></w:r>'


def edited(source: Path, target: Path, *edits: tuple[str, str]) -> Path:
    """`source` with document.xml edited as Word would leave it."""
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    xml = files["word/document.xml"].decode()
    for old, new in edits:
        assert old in xml, old
        xml = xml.replace(old, new, 1)
    files["word/document.xml"] = xml.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    target.write_bytes(buffer.getvalue())
    return target


def split(tag: str, at: int) -> tuple[str, str]:
    """A tag cut in two runs, the second made bold (as after a formatting change)."""
    return RUN.format(tag), RUN.format(tag[:at]) + BOLD_RUN.format(tag[at:])


def check(workspace: Config, *paths: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--config", str(workspace.source), "template", "check",
                                       *map(str, paths)])
    return result.exit_code, result.output


def test_the_shipped_templates_pass(workspace: Config) -> None:
    code, output = check(workspace)
    assert code == 0, output
    assert output.count(": OK") == 2
    assert "ar (Arabic): 104 machine-assisted, awaiting a translator's review" in output
    for shipped, kind in ((SHIPPED / "support_plan.docx", PLAN),
                          (SHIPPED / "review_pack.docx", REVIEW)):
        assert check_template(shipped, kind).ok


def test_a_split_tag_is_named_where_it_is_and_fixed(workspace: Config, tmp_path: Path) -> None:
    broken = edited(SHIPPED / "support_plan.docx", tmp_path / "support_plan.docx",
                    split("{{ t.goals_heading }}", 9))
    code, output = check(workspace, broken)
    assert code == 1
    assert re.search(r"paragraph \d+ \(“\{\{ t\.goals_heading \}\}”\): the tag "
                     r"\{\{ t\.goals_heading \}\} is split into 2 pieces", output), output
    result = CliRunner().invoke(main, ["--config", str(workspace.source), "template", "check",
                                       "--fix", str(broken)])
    assert "joined 1 split tag(s)" in result.output and result.exit_code == 0, result.output
    assert (tmp_path / "support_plan.before-fix.docx").is_file()
    assert check_template(broken).ok


def test_unknown_names_and_values_the_workbook_cannot_supply(workspace: Config,
                                                             tmp_path: Path) -> None:
    broken = edited(SHIPPED / "support_plan.docx", tmp_path / "typos.docx",
                    ("{{ household.name }}", "{{ houshold_name }}"),
                    ("{{ household.team }}", "{{ household.date_of_birth }}"),
                    ("{{ t.safety_heading }}", "{{ t.safety_headng }}"),
                    ("{{ m.role }}", "{{ m.rol }}"))
    problems = [str(p) for p in check_template(broken).errors]
    text = "\n".join(problems)
    assert len(problems) == 4, text
    assert re.search(r"^table 1, row 1, cell 2 \(“\{\{ houshold_name \}\}”\): houshold_name is "
                     r"not a value the plan gets \(a typo\?\); did you mean household\.name\?",
                     text, re.M), text
    assert "household.date_of_birth is not something the workbook or the settings supply" \
        in text
    assert "t.safety_headng is not in the catalogue of fixed wording; did you mean " \
        "t.safety_heading?" in text
    assert "m.rol is not something the workbook or the settings supply; did you mean m.role?" \
        in text


def test_syntax_errors_and_blocks_never_closed(tmp_path: Path) -> None:
    syntax = edited(SHIPPED / "support_plan.docx", tmp_path / "syntax.docx",
                    ("{{ household.team }}", "{{ household.team | }}"))
    [problem] = check_template(syntax).errors
    assert "{{ household.team | }} is not a valid tag" in str(problem)
    assert str(problem).startswith("table 1, row 2, cell 4")
    unclosed = edited(SHIPPED / "support_plan.docx", tmp_path / "unclosed.docx",
                      ("{%p endif %}", ""))
    [problem] = check_template(unclosed).errors
    assert "{%p if org.contact %} is never closed" in str(problem)
    across = edited(SHIPPED / "support_plan.docx", tmp_path / "across.docx",
                    ("{{ t.intro }}", "{{ t.intro"))
    assert any("a tag is not complete in this paragraph" in str(p)
               for p in check_template(across).errors)


def test_missing_translations_are_reported_per_language(workspace: Config) -> None:
    """An organisation starts a Somali catalogue from the template and translates two
    strings: the rest are reported and shown in English."""
    folder = workspace.path("translations")
    pot = (folder / "supportplan.pot").read_text(encoding="utf-8")
    somali = pot.replace('msgctxt "title"\nmsgid "Support plan"\nmsgstr ""',
                         'msgctxt "title"\nmsgid "Support plan"\nmsgstr "Qorshaha taageerada"')
    somali = somali.replace('msgctxt "goal"\nmsgid "Goal"\nmsgstr ""',
                            'msgctxt "goal"\nmsgid "Goal"\nmsgstr "Hadaf"')
    (folder / "so.po").write_text(somali, encoding="utf-8")
    code, output = check(workspace)
    assert code == 1
    assert re.search(r"so\.po: 102 string\(s\) not translated, shown in English: household, "
                     r"reference, ", output), output
    catalogues = Catalogues(folder)
    assert catalogues.lookup("so", "title").text == "Qorshaha taageerada"
    assert catalogues.lookup("so", "goals_heading").text == "Your goals"
    assert "so" in catalogues.languages()


def test_build_refuses_a_broken_template_once_with_the_check_s_message(
        workspace: Config) -> None:
    edited(SHIPPED / "support_plan.docx", workspace.template_path,
           ("{{ household.name }}", "{{ houshold_name }}"))
    write_household(workspace, valid_household("HH-0001"))
    write_household(workspace, valid_household("HH-0002"))
    with pytest.raises(TemplateError, match=r"houshold_name is not a value the plan gets"):
        build_workbooks(workspace, [workspace.intake_dir], pdf=False)
    result = CliRunner().invoke(main, ["--config", str(workspace.source), "build", "--no-pdf"])
    assert result.exit_code == ExitCode.TEMPLATE
    assert result.output.count("houshold_name is not a value") == 1, result.output
    assert "did you mean household.name?" in result.output
