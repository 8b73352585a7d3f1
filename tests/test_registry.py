"""Registry migrations: a registry made by the first release is upgraded in place (its scan
readings kept, its paths made relative), a new one is built by the migrations to exactly
the tables the code describes, and processes starting together upgrade it once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, select

from pipeline.cli import main
from pipeline.config import Config
from pipeline.registry import (
    box_readings,
    events,
    metadata,
    open_registry,
    page_layouts,
    plan_versions,
    registry_for,
    scans,
)
from pipeline.registry.migrate import head_revision
from pipeline.workspace import init_workspace

FIRST_RELEASE = Path(__file__).parent / "data" / "registry-before-migrations.sql"


def _first_release_registry(config: Config) -> Path:
    """The registry the first release left after building the demo and reading one scan
    (a dump of its SQLite file, paths pointing into the workspace it was made in)."""
    database = config.root / "supportplan.sqlite"
    dump = FIRST_RELEASE.read_text(encoding="utf-8").replace("/WORKSPACE/", f"{config.root}/")
    with sqlite3.connect(database) as conn:
        conn.executescript(dump)
    return database


def test_a_first_release_registry_is_upgraded_in_place(workspace: Config) -> None:
    _first_release_registry(workspace)
    registry = registry_for(workspace)
    with registry.engine.connect() as conn:
        readings = conn.execute(select(box_readings)).mappings().all()
        paths = conn.execute(select(plan_versions.c.pdf_path)).scalars().all()
        archived = conn.execute(select(scans.c.archived_path)).scalars().all()
        tables = set(inspect(conn).get_table_names())
        revision = MigrationContext.configure(conn).get_current_revision()
    assert revision == head_revision()
    assert {"signatures", "step_ticks"}.isdisjoint(tables)
    assert {r["kind"] for r in readings} == {"signature", "tick"}
    assert sum(r["state"] == "signed" for r in readings) == 4  # as the first release read them
    assert paths and all(p.startswith("output/") for p in paths)
    assert archived and all(p.startswith("output/scans/") for p in archived)
    # what the rules need still reads, with full paths under this workspace
    facts = {f.reference: f for f in registry.load_facts()}
    assert len(facts) == 5 and len(facts["HH-0042"].versions[0].signed) == 4
    assert facts["HH-0042"].versions[0].pdf_path.startswith(str(workspace.root))
    with registry.engine.connect() as conn:  # the printed pages are still found from scans
        token, page = conn.execute(select(page_layouts.c.token, page_layouts.c.page)).first()
    known = registry.find_page(token, page)
    assert known is not None and known.household and known.layout.boxes is not None
    with registry.engine.begin() as conn:
        registry.record_event(conn, "test", "HH-0042")
    with registry.engine.connect() as conn:
        actor = conn.execute(select(events.c.actor).order_by(events.c.id.desc())).scalar()
    assert actor
    registry.close()


def test_upgrade_command_says_where_the_registry_stands(workspace: Config) -> None:
    _first_release_registry(workspace)
    config = ["--config", str(workspace.source)]
    first = CliRunner().invoke(main, [*config, "upgrade"])
    assert first.exit_code == 0 and f"from revision 0001 to {head_revision()}" in first.output
    again = CliRunner().invoke(main, [*config, "upgrade"])
    assert again.exit_code == 0 and "up to date" in again.output


def test_migrations_make_exactly_the_tables_the_code_describes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    open_registry(url).close()
    engine = create_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def _open(url: str) -> str:
    registry = open_registry(url)
    with registry.engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
    registry.close()
    return str(revision)


def test_processes_starting_together_upgrade_once(tmp_path: Path) -> None:
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    config, _ = init_workspace(tmp_path / "old")
    _first_release_registry(config)
    old = config.registry_url
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        revisions = pool.map(_open, [fresh, fresh, old, old, fresh, old])
    assert revisions == [head_revision()] * 6
