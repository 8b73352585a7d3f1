"""Registry migrations, on SQLite and on PostgreSQL: a registry made by the first release is
upgraded in place (its scan readings kept, its paths made relative), a new one is built by
the migrations to exactly the tables the code describes, and processes starting together
upgrade it once."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from conftest import with_registry
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text

from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import RegistryUnavailable
from pipeline.model import Household
from pipeline.registry import (
    box_readings,
    events,
    households,
    metadata,
    open_registry,
    page_layouts,
    plan_versions,
    registry_for,
    scans,
)
from pipeline.registry.migrate import FIRST_REVISION, head_revision, upgrade
from pipeline.registry.queue_schema import queue_migrations
from pipeline.workspace import init_workspace

FIRST_RELEASE = Path(__file__).parent / "data" / "registry-before-migrations.sql"
# The first release's tables, parents before children (foreign keys)
FIRST_TABLES = ("households", "plan_versions", "steps", "version_steps", "version_signers",
                "signatures", "step_ticks", "events", "page_layouts", "scans")


def _first_release_registry(config: Config, url: str | None = None) -> Config:
    """The registry the first release left after building the demo and reading one scan (a
    dump of its SQLite file, paths pointing into the workspace it was made in). With a
    PostgreSQL `url`: the first schema made there by migration 0001, holding the same rows.
    Returns `config` pointing at it."""
    database = config.root / "supportplan.sqlite"
    dump = FIRST_RELEASE.read_text(encoding="utf-8").replace("/WORKSPACE/", f"{config.root}/")
    with sqlite3.connect(database) as conn:
        conn.executescript(dump)
    if url is None or url.startswith("sqlite"):
        return config
    source, target = create_engine(f"sqlite:///{database}"), create_engine(url)
    upgrade(target, config.root, target=FIRST_REVISION)
    with source.connect() as old, target.begin() as new:
        for name in FIRST_TABLES:
            # The PostgreSQL table's types read the SQLite values (JSON, dates, booleans).
            table = Table(name, MetaData(), autoload_with=new)
            rows = old.execute(select(table.to_metadata(MetaData()))).mappings()
            rows = [dict(row) for row in rows]
            if rows:
                new.execute(table.insert(), rows)
        for name in ("plan_versions", "events"):  # rows came with their ids
            new.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                             f"(SELECT max(id) FROM {name}))"))
    source.dispose()
    target.dispose()
    database.unlink()
    return with_registry(config, url)


def test_a_first_release_registry_is_upgraded_in_place(workspace: Config,
                                                       registry_url: str) -> None:
    workspace = _first_release_registry(workspace, registry_url)
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


def test_upgrade_command_says_where_the_registry_stands(workspace: Config,
                                                        registry_url: str) -> None:
    workspace = _first_release_registry(workspace, registry_url)
    assert workspace.source is not None
    workspace.source.write_text(workspace.source.read_text(encoding="utf-8").replace(
        'url = "sqlite:///supportplan.sqlite"', f'url = "{workspace.registry_url}"'),
        encoding="utf-8")
    config = ["--config", str(workspace.source)]
    first = CliRunner().invoke(main, [*config, "upgrade"])
    assert first.exit_code == 0 and f"from revision 0001 to {head_revision()}" in first.output
    again = CliRunner().invoke(main, [*config, "upgrade"])
    assert again.exit_code == 0 and "up to date" in again.output


def test_migrations_make_exactly_the_tables_the_code_describes(registry_url: str) -> None:
    url = registry_url
    open_registry(url).close()
    engine = create_engine(url)
    with engine.connect() as conn:
        # the work queue's tables are procrastinate's, made from its own SQL, and its
        # record of them is kept with them (pipeline/registry/queue_schema.py)
        context = MigrationContext.configure(conn, opts={"include_name": lambda name, kind, _p: (
            kind != "table" or not (name.startswith("procrastinate_")
                                    or name == queue_migrations.name))})
        differences = compare_metadata(context, metadata)
        queue = inspect(conn).has_table("procrastinate_jobs")
    engine.dispose()
    assert differences == []
    assert queue == url.startswith("postgresql")


def _open(url: str) -> str:
    registry = open_registry(url)
    with registry.engine.connect() as conn:
        revision = MigrationContext.configure(conn).get_current_revision()
    registry.close()
    return str(revision)


def test_processes_starting_together_upgrade_once(tmp_path: Path, registry_url: str,
                                                  request: pytest.FixtureRequest) -> None:
    fresh = registry_url
    config, _ = init_workspace(tmp_path / "old")
    other = (None if fresh.startswith("sqlite")
             else request.getfixturevalue("postgres").new_database())
    old = _first_release_registry(config, other).registry_url
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        revisions = pool.map(_open, [fresh, fresh, old, old, fresh, old])
    assert revisions == [head_revision()] * 6


def test_an_unreachable_postgresql_server_is_named_with_what_to_do(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://supportplan:secret@/plans?host={tmp_path / 'no-server'}"
    with pytest.raises(RegistryUnavailable) as caught:
        open_registry(url)
    message = str(caught.value)
    assert "cannot be reached" in message and "PostgreSQL server is running" in message
    assert "secret" not in message  # the password is never shown


def test_a_household_locked_too_long_by_another_machine_stops_kindly(pg_url: str) -> None:
    waiting = open_registry(pg_url, wait_seconds=1)
    household = Household(reference="HH-0001", name="Hassan family",
                          caseworker="Jo Whitfield", caseworker_email="", team="",
                          peer_reviewer="", plan_date=date(2026, 11, 1),
                          review_date=date(2027, 2, 1), preferred_language="",
                          interpreter_used="", members=(), steps=(), safety_plan=())
    with waiting.engine.begin() as conn:
        waiting.claim_household(conn, household)
    holder = create_engine(pg_url)
    try:
        with holder.begin() as conn:  # another machine mid-way through issuing a version
            conn.execute(select(households).where(households.c.reference == "HH-0001")
                         .with_for_update()).first()
            with pytest.raises(RegistryUnavailable) as caught, waiting.engine.begin() as mine:
                waiting.reserve_version(mine, household, 1, "0" * 64)
        assert "stayed busy with another command for 1 seconds" in str(caught.value)
    finally:
        holder.dispose()
        waiting.close()
