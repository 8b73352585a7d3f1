"""Registry reads and writes for trackable pages and scans (tables in pipeline/registry)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from ..registry import (
    page_layouts,
    plan_versions,
    scans,
    signatures,
    step_ticks,
)
from .layout import DocumentLayout, PageLayout


def record_layout(conn: Connection, version_id: int, layout: DocumentLayout) -> None:
    """Called by the build inside the transaction that records the version."""
    conn.execute(page_layouts.insert(), [
        {"version_id": version_id, "page": page.page, "token": layout.token,
         "pdf_sha256": layout.pdf_sha256, "layout": page.to_json()}
        for page in layout.pages])


@dataclass(frozen=True)
class KnownPage:
    version_id: int
    household: str
    version: int
    pdf_path: str | None
    pdf_sha256: str
    layout: PageLayout


def find_page(engine: Engine, token: str, page: int) -> KnownPage | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(page_layouts, plan_versions.c.household, plan_versions.c.version,
                   plan_versions.c.pdf_path)
            .join(plan_versions, plan_versions.c.id == page_layouts.c.version_id)
            .where(page_layouts.c.token == token, page_layouts.c.page == page)
        ).mappings().first()
    if row is None:
        return None
    return KnownPage(row["version_id"], row["household"], row["version"], row["pdf_path"],
                     row["pdf_sha256"], PageLayout.from_json(row["layout"]))


def scan_results(engine: Engine, sha256: str) -> list[dict[str, Any]] | None:
    with engine.connect() as conn:
        pages = conn.execute(select(scans.c.pages).where(scans.c.sha256 == sha256)).scalar()
    return pages


def signed_before(conn: Connection, version_id: int, signer_key: str) -> bool:
    return conn.execute(select(signatures.c.version_id).where(
        signatures.c.version_id == version_id, signatures.c.signer_key == signer_key,
        signatures.c.state == "signed").limit(1)).first() is not None


def ticked_before(conn: Connection, version_id: int, step_id: str) -> bool:
    return conn.execute(select(step_ticks.c.version_id).where(
        step_ticks.c.version_id == version_id, step_ticks.c.step_id == step_id,
        step_ticks.c.state == "ticked").limit(1)).first() is not None
