"""Building plans end to end with real LibreOffice: versions, atomicity, the PDF itself."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import edited, resave, valid_household, write_household
from pypdf import PdfReader

from pipeline.build import BUILT, FAILED, PROGRESS, UNCHANGED, build_workbooks
from pipeline.config import Config
from pipeline.registry import registry_for
from pipeline.render.soffice import LibreOfficeNotFound, find_soffice

A4 = (595, 842)

pytestmark = pytest.mark.slow


def pdf_text(path: Path) -> str:
    """The PDF's words, with table-cell line wrapping folded into single spaces."""
    text = " ".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return " ".join(text.split())


def test_plan_pdf_shows_household_steps_and_one_block_per_signer(workspace: Config) -> None:
    demo = edited(valid_household())
    demo.steps[0]["we_will"] = "Write {{ x }} and {% if a %} with <b>bold</b> & more"
    path = write_household(workspace, demo)
    [outcome] = build_workbooks(workspace, [path])
    assert outcome.status == BUILT, outcome.message
    assert outcome.pdf == workspace.output_dir / "HH-0001" / "support-plan-HH-0001-v1.pdf"
    reader = PdfReader(outcome.pdf)
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4
    text = pdf_text(outcome.pdf)
    assert "Hassan family" in text
    assert "Write {{ x }} and {% if a %} with <b>bold</b> & more" in text
    for step in demo.steps[1:]:
        for part in ("we_will", "you_will"):
            if step.get(part):
                assert step[part] in text
    signers = ["Jo Whitfield", "Yusuf Hassan", "Sam Okafor"]
    assert text.count("Signature") - text.count("Signatures") == 4  # one box per signer
    for name in signers:
        assert name in text
    assert "Layla Hassan" in text  # the child is listed as a member...
    signature_page = text[text.index("By signing"):]
    assert "Layla Hassan" not in signature_page  # ...but does not sign


def test_rebuild_unchanged_progress_and_new_version(workspace: Config) -> None:
    demo = edited(valid_household())
    path = write_household(workspace, demo)
    [first] = build_workbooks(workspace, [path])
    assert first.status == BUILT and first.version == 1
    v1_files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (first.docx, first.pdf)}

    [again] = build_workbooks(workspace, [path])
    assert (again.status, again.version) == (UNCHANGED, 1)

    demo.steps[0].update(status="Done", done_on=demo.household["plan_date"])
    resave(path, demo)
    [progress] = build_workbooks(workspace, [path])
    assert (progress.status, progress.version) == (PROGRESS, 1)
    registry = registry_for(workspace)
    statuses = {row["status"] for row in registry.steps_for("HH-0001")}
    assert "Done" in statuses
    assert len(registry.versions("HH-0001")) == 1

    demo.steps[1]["you_will"] = "Bid every week, and ask a friend to help"
    resave(path, demo)
    [second] = build_workbooks(workspace, [path])
    assert (second.status, second.version) == (BUILT, 2)
    assert second.pdf is not None and second.pdf.name == "support-plan-HH-0001-v2.pdf"
    for p, (data, mtime) in v1_files.items():
        assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime
    v1_steps = registry.version_step_ids(registry.versions("HH-0001")[0].id)
    v2_steps = registry.version_step_ids(registry.versions("HH-0001")[1].id)
    assert v1_steps == v2_steps  # the lightly edited step keeps its id
    kinds = [e["kind"] for e in registry.events_for("HH-0001")]
    assert kinds == ["version_issued", "step_status", "version_issued"]
    assert not list(workspace.output_dir.rglob("*.part"))


def test_batch_continues_past_bad_workbooks_and_reports_them(workspace: Config) -> None:
    good = write_household(workspace, valid_household("HH-0001"))
    broken = workspace.intake_dir / "HH-0002.xlsx"
    broken.write_bytes(b"this is not a workbook")
    invalid = edited(valid_household("HH-0003"))
    invalid.steps[0]["by_when"] = "31/02/2027"
    invalid_path = write_household(workspace, invalid)
    original = invalid_path.read_bytes()
    outcomes = {o.workbook.name: o for o in build_workbooks(workspace, [workspace.intake_dir])}
    assert outcomes[good.name].status == BUILT
    assert outcomes["HH-0002.xlsx"].status == FAILED
    assert outcomes["HH-0003.xlsx"].status == FAILED
    report = workspace.output_dir / "HH-0003" / "errors-HH-0003.txt"
    assert outcomes["HH-0003.xlsx"].error_report == report
    assert 'Plan!G2: "31/02/2027": February 2027 has 28 days; use a day that exists' in \
        report.read_text()
    assert not list((workspace.output_dir / "HH-0003").glob("support-plan-*"))
    assert (workspace.output_dir / "HH-0002" / "errors-HH-0002.txt").is_file()
    assert invalid_path.read_bytes() == original  # originals are never changed

    invalid.steps[0]["by_when"] = invalid.household["plan_date"]
    resave(invalid_path, invalid)
    [fixed] = build_workbooks(workspace, [invalid_path])
    assert fixed.status == BUILT and not report.exists()


def test_many_steps_and_no_goals_both_build(workspace: Config) -> None:
    from pipeline.demo import synthetic_household

    big = synthetic_household(7, steps=40)
    empty = edited(valid_household("HH-0002"))
    empty.steps.clear()
    empty.safety_plan.clear()
    paths = [write_household(workspace, big), write_household(workspace, empty)]
    outcomes = build_workbooks(workspace, paths)
    assert [o.status for o in outcomes] == [BUILT, BUILT]
    big_text = pdf_text(outcomes[0].pdf)
    assert len(PdfReader(outcomes[0].pdf).pages) >= 3
    assert all(step["you_will"] in big_text for step in big.steps if step.get("you_will")
               and len(step["you_will"]) < 40)


def test_missing_libreoffice_gives_a_clear_error(workspace: Config, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LibreOfficeNotFound, match="apt-get install libreoffice-writer-nogui"):
        find_soffice()
    configured = replace(workspace, values={**workspace.values, "pdf": {
        **workspace.values["pdf"], "soffice": "/opt/nowhere/soffice"}})
    path = write_household(workspace, valid_household())
    with pytest.raises(LibreOfficeNotFound, match="/opt/nowhere/soffice"):
        build_workbooks(configured, [path])
    [docx_only] = build_workbooks(configured, [path], pdf=False)
    assert docx_only.status == BUILT and docx_only.pdf is None and docx_only.docx.is_file()


def test_a_conversion_that_hangs_is_killed(tmp_path: Path) -> None:
    from pipeline.render.soffice import convert_batch

    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\nsleep 4242 &\nsleep 4243\n")  # a child that would linger
    fake.chmod(0o755)
    source = tmp_path / "a.docx"
    source.write_bytes(b"x")
    [result] = convert_batch([source], soffice=fake, timeout=1)
    assert result.pdf is None and "did not finish within 1 seconds" in (result.error or "")
    for pattern in (str(fake), "sleep 4242", "sleep 4243"):
        found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
        assert found.stdout == "", pattern


def test_names_in_arabic_tigrinya_and_ukrainian_render_with_real_glyphs(
        workspace: Config) -> None:

    demo = edited(valid_household())
    demo.members = [{"name": "أمينة حسن", "role": "Parent", "adult": True},
                    {"name": "ሃብተ ተስፋይ", "role": "Uncle", "adult": True},
                    {"name": "Олена Коваленко", "role": "Friend", "adult": True}]
    for step in demo.steps:
        step["who"] = "أمينة حسن" if step.get("you_will") else None
    [outcome] = build_workbooks(workspace, [write_household(workspace, demo)])
    assert outcome.status == BUILT, outcome.message
    # pdftotext gives logical order; strip the bidi embedding marks it adds around RTL runs.
    text = subprocess.run(["pdftotext", str(outcome.pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    text = text.translate({ord(c): None for c in "\u202a\u202b\u202c\u200e\u200f"})
    for name in ("أمينة حسن", "ሃብተ ተስፋይ", "Олена Коваленко"):
        assert text.count(name) >= 2, name  # members table and signature block
    fonts = set()
    for page in PdfReader(outcome.pdf).pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    # Fonts that have Arabic glyphs (LibreOffice falls back to one of them per run).
    assert fonts & {"NotoSansArabic-Regular", "NotoNaskhArabic-Regular", "DejaVuSans"}, fonts
    assert any(f.startswith("NotoSansEthiopic") for f in fonts), fonts


def test_typed_box_glyphs_and_the_word_signature_do_not_confuse_the_layout(
        workspace: Config) -> None:
    from pipeline.render.stamp import measure_layout

    demo = edited(valid_household())
    demo.steps[0]["we_will"] = "Get the GP's Signature on the form ☐ and post it"
    demo.members[1]["name"] = "Signature Hassan"
    demo.steps[0]["who"] = "Signature Hassan"
    [outcome] = build_workbooks(workspace, [write_household(workspace, demo)])
    assert outcome.status == BUILT, outcome.message
    assert "GP's Signature on the form [ ] and post it" in pdf_text(outcome.pdf)
    registry = registry_for(workspace)
    version = registry.latest_version("HH-0001")
    pages = measure_layout(outcome.pdf, registry.version_step_ids(version.id),
                           registry.version_signers(version.id))
    boxes = [box for page in pages for box in page.boxes]
    assert sum(box.kind == "tick" for box in boxes) == 3
    assert sum(box.kind == "signature" for box in boxes) == 4
