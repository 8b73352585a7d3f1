"""Files of an issued version deleted while its workbook is unchanged: the next build
remakes exactly those files, as issued (same page codes, same boxes), or says to restore
them from backup when it cannot; it never issues a new version for it."""

from __future__ import annotations

import pytest
from conftest import edited, resave, valid_household, write_household
from pypdf import PdfReader
from sqlalchemy import select

from pipeline.build import FAILED, RESTORED, UNCHANGED, build_workbooks
from pipeline.config import Config
from pipeline.registry import events, page_layouts, registry_for

pytestmark = pytest.mark.slow


def test_missing_files_are_remade_as_issued_even_after_progress(workspace: Config) -> None:
    demo = edited(valid_household())
    path = write_household(workspace, demo)
    [first] = build_workbooks(workspace, [path])
    registry = registry_for(workspace)
    recorded = registry.version_layout(registry.latest_version("HH-0001").id)
    # Progress since: a step done (no new version), then both files lost.
    demo.steps[0].update(status="Done", done_on=demo.household["plan_date"])
    resave(path, demo)
    first.pdf.unlink()
    first.docx.unlink()

    [outcome] = build_workbooks(workspace, [path], registry=registry)

    assert (outcome.status, outcome.version) == (RESTORED, 1), outcome.message
    assert outcome.pdf == first.pdf and outcome.pdf.is_file() and first.docx.is_file()
    assert outcome.pdf.stat().st_mode & 0o777 == 0o600
    assert "remade the missing support-plan-HH-0001-v1.docx and" in outcome.message
    assert [v.version for v in registry.versions("HH-0001")] == [1]
    # as issued: the done step still has its box, and the same codes are printed
    assert registry.version_layout(registry.latest_version("HH-0001").id) == recorded
    remade_text = " ".join(page.extract_text() or "" for page in PdfReader(outcome.pdf).pages)
    assert "Refer to the housing register" in remade_text
    with registry.engine.connect() as conn:
        restored = conn.execute(select(events.c.detail).where(
            events.c.kind == "files_restored")).scalars().all()
    assert len(restored) == 1
    [again] = build_workbooks(workspace, [path], registry=registry)
    assert again.status == UNCHANGED


def test_a_version_that_cannot_be_remade_exactly_is_left_for_the_backup(
        workspace: Config) -> None:
    path = write_household(workspace, valid_household())
    [first] = build_workbooks(workspace, [path])
    registry = registry_for(workspace)
    with registry.engine.begin() as conn:  # as if the template had changed since
        row = conn.execute(select(page_layouts.c.token, page_layouts.c.layout)
                           .where(page_layouts.c.page == 1)).one()
        layout = dict(row.layout)
        layout["boxes"] = [{**box, "bbox": [v + 5 for v in box["bbox"]]}
                           for box in layout["boxes"]]
        conn.execute(page_layouts.update().where(page_layouts.c.token == row.token,
                                                 page_layouts.c.page == 1)
                     .values(layout=layout))
    first.pdf.unlink()
    [outcome] = build_workbooks(workspace, [path], registry=registry)
    assert outcome.status == FAILED
    assert "could not be remade exactly as issued; restore them from your backup" in (
        outcome.message)
    assert not first.pdf.exists() and first.docx.is_file()
