"""Plans rendered and stamped in worker processes, from the template without what no plan
uses: what reaches the family is the same, and a worker that dies loses nothing."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from conftest import outputs_agree_with_registry, valid_household, write_household
from docx import Document

from pipeline.build import BUILT, Builder
from pipeline.config import Config
from pipeline.demo import demo_households, synthetic_household
from pipeline.intake.reader import read_workbook
from pipeline.model import Household
from pipeline.plan import assign_step_ids
from pipeline.processes import CONTEXT
from pipeline.registry import registry_for
from pipeline.render import docx as docx_module
from pipeline.render.context import Organisation, TemplateError, plan_context
from pipeline.render.docx import render_docx
from pipeline.render.finishing import Finishing
from pipeline.render.slim import slim_template
from pipeline.render.soffice import convert_batch, find_soffice
from pipeline.render.stamp import qr_png
from pipeline.render.workers import PlanWorkers, RenderJob, render_plan
from pipeline.wording.settings import LanguageSettings

STYLE_NAMED = re.compile(rb'<w:(?:pStyle|rStyle|tblStyle|numStyle) w:val="([^"]*)"')


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _job(config: Config, household: Household, folder: Path, **changes: object) -> RenderJob:
    step_ids = tuple(assign_step_ids(household.reference, [], household.steps, 1))
    job = RenderJob(config.template_path, household, 1, step_ids,
                    Organisation.from_config(config), LanguageSettings.from_config(config),
                    False, folder / f"{household.reference}.docx",
                    folder / f"{household.reference}-word.docx", "HELLO123")
    return replace(job, **changes)  # type: ignore[arg-type]


def _demo(config: Config) -> list[Household]:
    households = []
    for demo in demo_households():
        result = read_workbook(write_household(config, demo))
        assert result.household is not None, result.problems
        households.append(result.household)
    return households


def test_the_slim_template_has_every_style_a_plan_names(workspace: Config,
                                                        tmp_path: Path) -> None:
    full = workspace.template_path.read_bytes()
    slim = _parts(slim_template(full))
    assert len(slim["word/styles.xml"]) < len(_parts(full)["word/styles.xml"]) / 4
    assert "word/stylesWithEffects.xml" not in slim and "docProps/thumbnail.jpeg" not in slim
    for name in ("[Content_Types].xml", "_rels/.rels", "word/_rels/document.xml.rels"):
        assert b"stylesWithEffects" not in slim[name] and b"thumbnail" not in slim[name]
    # Every demo household (Arabic, Dari, Ukrainian... right to left and not), in large
    # print too, both files: each style the plan names is defined in it.
    for household in _demo(workspace):
        for large_print in (False, True):
            job = _job(workspace, household, tmp_path, large_print=large_print)
            render_plan(job)
            for path in (job.staged, job.word_copy):
                parts = _parts(path.read_bytes())
                defined = set(re.findall(rb'w:styleId="([^"]+)"', parts["word/styles.xml"]))
                named = {name for part, data in parts.items() if part.startswith("word/")
                         and part != "word/styles.xml" for name in STYLE_NAMED.findall(data)}
                assert named and named <= defined, (path.name, named - defined)
                Document(str(path))  # and Word's reader (python-docx) opens it


def test_a_template_that_names_styles_by_jinja_is_kept_whole(workspace: Config) -> None:
    full = _parts(workspace.template_path.read_bytes())
    full["word/document.xml"] = full["word/document.xml"].replace(
        b'<w:pStyle w:val="Title"/>', b'<w:pStyle w:val="{{ title_style }}"/>', 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in full.items():
            archive.writestr(name, data)
    kept = _parts(slim_template(buffer.getvalue()))
    assert kept["word/styles.xml"] == full["word/styles.xml"]
    assert slim_template(b"not a zip") == b"not a zip"  # rendering says what is wrong


def test_the_word_copy_shares_the_rendered_body_only_when_it_may(workspace: Config,
                                                                 tmp_path: Path) -> None:
    """Both files of a plan get the body rendered once, exactly as rendering it for each
    would give it; a template whose body says `word_copy` gets it rendered for each."""
    household = _demo(workspace)[0]  # in Arabic
    job = _job(workspace, household, tmp_path)
    render_plan(job)
    words = job.languages.words_for(household.preferred_language)
    context = plan_context(household, 1, list(job.step_ids), job.organisation, words)
    finishing = Finishing(words.language, context["t"]["plan_reference"], False)
    assert render_docx(job.template, context, tmp_path / "pdf.docx") is not None  # shared
    alone = tmp_path / "alone.docx"
    render_docx(job.template, context, alone, finishing=finishing, word_copy=True,
                word_copy_code=qr_png("HELLO123"))
    shared = _parts(job.word_copy.read_bytes())["word/document.xml"]
    assert shared == _parts(alone.read_bytes())["word/document.xml"]
    assert b"w:bidi" in shared  # finished for its reader: Arabic, right to left
    assert _parts(job.staged.read_bytes())["word/document.xml"] == shared
    assert (_parts(job.staged.read_bytes())["word/header1.xml"]
            != _parts(job.word_copy.read_bytes())["word/header1.xml"])

    edited_template = tmp_path / "edited.docx"
    parts = _parts(workspace.template_path.read_bytes())
    title = b'<w:p><w:pPr><w:pStyle w:val="Title"/>'
    assert title in parts["word/document.xml"]
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        title, b"<w:p><w:r><w:t>{% if word_copy %}EDITABLE{% else %}TO SIGN{% endif %}"
        b"</w:t></w:r></w:p>" + title, 1)
    with zipfile.ZipFile(edited_template, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    pdf_docx, word_docx = tmp_path / "edited-pdf.docx", tmp_path / "edited-word.docx"
    body = render_docx(edited_template, context, pdf_docx)
    assert body is None
    render_docx(edited_template, context, word_docx, word_copy=True, body=body)
    assert b"TO SIGN" in _parts(pdf_docx.read_bytes())["word/document.xml"]
    assert b"EDITABLE" in _parts(word_docx.read_bytes())["word/document.xml"]


@pytest.mark.slow
def test_a_plan_prints_the_same_from_the_slim_template(workspace: Config, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    household = _demo(workspace)[0]
    folders = {"slim": tmp_path / "slim", "full": tmp_path / "full"}
    for kind, folder in folders.items():
        folder.mkdir()
        if kind == "full":
            monkeypatch.setattr(docx_module, "slim_template", lambda data: data)
            docx_module._template_bytes.cache_clear()
        render_plan(_job(workspace, household, folder))
    docx_module._template_bytes.cache_clear()
    pages = {}
    for kind, folder in folders.items():
        [conversion] = convert_batch([folder / f"{household.reference}.docx"],
                                     soffice=find_soffice(), timeout=180)
        assert conversion.pdf is not None, conversion.error
        document = pdfium.PdfDocument(str(conversion.pdf))
        pages[kind] = [np.asarray(page.render(scale=72 / 72, grayscale=True).to_numpy())
                       for page in document]
        document.close()
    assert len(pages["slim"]) == len(pages["full"]) >= 2
    for slim, full in zip(pages["slim"], pages["full"], strict=True):
        assert slim.shape == full.shape
        assert np.count_nonzero(np.abs(slim.astype(int) - full.astype(int)) > 32) == 0


def _die_once(marker: str) -> int:
    """Kills its worker the first time it runs; returns the worker's pid after that."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return os.getpid()


def test_a_worker_that_dies_is_replaced_and_the_work_done_again(tmp_path: Path) -> None:
    workers = PlanWorkers(1)
    try:
        first = workers.run(os.getpid)
        second = workers.run(_die_once, str(tmp_path / "died"))
        assert (tmp_path / "died").exists() and second != first
        assert workers.pids() == [second]
    finally:
        workers.close()
    assert workers.pids() == []


def test_each_render_says_how_it_went(workspace: Config, tmp_path: Path) -> None:
    household = _demo(workspace)[0]
    good = _job(workspace, household, tmp_path)
    broken = _job(workspace, household, tmp_path, template=tmp_path / "missing.docx",
                  staged=tmp_path / "other.docx", word_copy=tmp_path / "other-word.docx")
    workers = PlanWorkers(2)
    try:
        failures = workers.render([good, broken])
    finally:
        workers.close()
    assert failures[0] is None and good.staged.is_file() and good.word_copy.is_file()
    assert isinstance(failures[1], TemplateError) and "missing.docx" in str(failures[1])


@pytest.mark.slow
def test_a_build_whose_workers_are_killed_issues_every_plan_once(workspace: Config) -> None:
    paths = [write_household(workspace, valid_household())] + [
        synthetic_household(index, steps=6).write(workspace.intake_dir / f"HH-{index:05d}.xlsx")
        for index in range(2, 8)]
    builder = Builder(workspace, jobs=2)
    killed: list[int] = []

    def kill_workers(_outcome: object) -> None:
        if not killed:  # after the first plan, while the rest are rendered and stamped
            killed.extend(builder.workers.pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    try:
        outcomes = builder.build(paths, kill_workers)
    finally:
        builder.close()
    assert killed
    assert [(o.status, o.version) for o in outcomes] == [(BUILT, 1)] * len(paths), [
        o.message for o in outcomes]
    latest = outputs_agree_with_registry(workspace, registry_for(workspace))
    assert sorted(latest.values()) == [1] * len(paths)


def test_workers_of_a_killed_build_do_not_outlive_it(tmp_path: Path) -> None:
    script = ("import os, sys, time\n"
              "from pipeline.render.workers import PlanWorkers\n"
              "workers = PlanWorkers(2)\n"
              "workers.render([])\n"
              "workers.run(os.getpid)\n"
              "print(*workers.pids(), flush=True)\n"
              "time.sleep(600)\n")
    build = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).parent.parent)
    assert build.stdout is not None
    pids = [int(pid) for pid in build.stdout.readline().split()]
    assert pids and all(_alive(pid) for pid in pids)
    build.kill()
    build.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's reaping is left


def test_the_build_process_itself_loads_no_rendering_or_reading_libraries() -> None:
    """The build's own process only reads results and sends work: docxtpl, openpyxl, OpenCV
    and pdfium are loaded once in the forkserver (shared by every worker), not again here
    (0.7 s of every build's start, and memory)."""
    heavy = ("docxtpl", "docx", "openpyxl", "cv2", "pypdfium2", "pikepdf", "reportlab",
             "numpy", "segno")
    code = ("import sys, pipeline.cli, pipeline.build; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]", loaded


def test_the_build_process_builds_no_index_of_language_names(workspace: Config) -> None:
    """Recognising a typed language name needs Babel's names of every language (~0.4 s to
    index); the forkserver builds that index once for the workers, and the build's own
    process, which checks the template and the configured language, never needs it."""
    code = ("import sys; from pipeline.config import load_config; "
            "from pipeline.build import Builder; "
            "from pipeline.wording import languages; "
            f"builder = Builder(load_config({str(workspace.source)!r}), pdf=False); "
            "assert builder.notices() is not None; builder.close(); "
            "print(languages._index.cache_info().currsize)")
    built = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert built == "0"


def test_closing_stops_a_worker_the_pool_lost_track_of() -> None:
    """A Ctrl-C while work is handed out can leave a worker that is never told to stop, and
    the pool waiting for it forever (a build hung so after Ctrl-C): close() stops it."""
    workers = PlanWorkers(1)
    assert workers.run(os.getpid) != os.getpid()  # the pool is running
    stray = CONTEXT.Process(target=time.sleep, args=(600,))
    stray.start()
    workers._pool._processes[stray.pid] = stray  # type: ignore[union-attr]  # as the pool would
    started = time.monotonic()
    workers.close(grace=1)
    assert not stray.is_alive()
    assert time.monotonic() - started < 30
