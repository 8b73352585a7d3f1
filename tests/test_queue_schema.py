"""The work queue's schema follows the installed procrastinate (pipeline/registry/
queue_schema.py), on the tests' real PostgreSQL server.

An older procrastinate's schema is made from the installed one's own migration files: its
first file is procrastinate's initial schema, and every release's schema.sql is the files
up to that release (procrastinate's tests hold it to that; the first test here checks it
for the installed release). A queue cut at some file is what the release of that file made,
or what was left halfway through a zero-downtime upgrade (its `pre` files applied, not its
`post` ones)."""

from __future__ import annotations

import multiprocessing
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import with_registry
from pgserver import PostgresServer
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import Engine

from pipeline.cli import main
from pipeline.config import Config
from pipeline.errors import RegistryUnavailable
from pipeline.registry import open_registry
from pipeline.registry import queue_schema as qs
from pipeline.registry.migrate import head_revision, upgrade

FILES = qs.migration_files()
NAMES = [path.name for path in FILES]
# The last file of procrastinate 2.x, before 3.0's pre/post pairs; and halfway through
# 3.0's zero-downtime upgrade: its pre file applied, its post file not.
BEFORE_3 = NAMES.index("02.14.01_01_add_indexes_for_fetch_job.sql") + 1
HALFWAY_3 = NAMES.index("03.00.00_01_pre_cancel_notification.sql") + 1


def _older_queue(url: str, count: int, recorded_as: str | None = None) -> Engine:
    """A database whose queue has the first `count` migration files, each applied in its
    own transaction; recorded in queue_migrations as `recorded_as`, or not at all (a queue
    made before the record was kept). Registry tables at head, queue untouched."""
    engine = create_engine(url)
    upgrade(engine, target=head_revision())  # a target leaves the queue alone
    with engine.connect() as conn:
        for path in FILES[:count]:
            with conn.begin():
                qs._run_script(conn, path.read_text(encoding="utf-8"))
        if recorded_as is not None:
            with conn.begin():
                qs.queue_migrations.create(conn)
                qs._record(conn, NAMES[:count], recorded_as)
    return engine


def _fingerprint(engine: Engine) -> tuple[frozenset[tuple[object, ...]], ...]:
    with engine.connect() as conn, conn.begin() as transaction:
        found = qs.fingerprint(conn, "public")
        transaction.rollback()  # SET LOCAL search_path goes with it
    return found


def _recorded(engine: Engine) -> dict[str, tuple[str, object]]:
    with engine.connect() as conn:
        rows = conn.execute(select(qs.queue_migrations)).all()
    return {name: (how, at) for name, how, at in rows}


@pytest.fixture(scope="module")
def installed_schema(postgres: PostgresServer) -> tuple[frozenset[tuple[object, ...]], ...]:
    """What the installed procrastinate's schema.sql makes."""
    from procrastinate.schema import SchemaManager

    engine = create_engine(postgres.new_database("schema"))
    with engine.connect() as conn, conn.begin():
        qs._run_script(conn, SchemaManager.get_schema())
    found = _fingerprint(engine)
    engine.dispose()
    return found


def test_files_apply_by_release_then_serial() -> None:
    names = ["10.00.00_01_pre_a.sql", "03.00.00_50_post_b.sql", "03.00.00_01_pre_c.sql",
             "02.14.01_01_d.sql", "03.01.00_01_pre_e.sql", "00.00.00_01_initial.sql"]
    assert sorted(names, key=qs.file_order) == [
        "00.00.00_01_initial.sql", "02.14.01_01_d.sql", "03.00.00_01_pre_c.sql",
        "03.00.00_50_post_b.sql", "03.01.00_01_pre_e.sql", "10.00.00_01_pre_a.sql"]
    assert NAMES[0] == "00.00.00_01_initial.sql" and len(NAMES) == len(set(NAMES))
    with pytest.raises(RegistryUnavailable, match="not named"):
        qs.file_order("readme.sql")


def test_every_file_in_order_makes_what_schema_sql_makes(pg_url: str,
                                                         installed_schema: object) -> None:
    """Why a queue made from schema.sql records every file as had ("created")."""
    engine = _older_queue(pg_url, len(FILES))
    assert _fingerprint(engine) == installed_schema
    engine.dispose()


def test_a_new_queue_records_every_file_and_a_second_upgrade_changes_nothing(
        pg_url: str, installed_schema: object) -> None:
    engine = create_engine(pg_url)
    upgrade(engine)
    first = _recorded(engine)
    assert sorted(first) == sorted(NAMES)
    assert {how for how, _at in first.values()} == {"created"}
    assert _fingerprint(engine) == installed_schema
    with engine.connect() as conn:
        assert qs.up_to_date(conn)
        assert qs.bring_up_to_date(conn) == qs.QueueUpgrade()
    assert upgrade(engine) == []
    assert _recorded(engine) == first  # not even re-recorded
    engine.dispose()


@pytest.mark.parametrize("count", [BEFORE_3, HALFWAY_3, len(FILES)],
                         ids=["procrastinate-2", "halfway-3.0", "installed"])
@pytest.mark.parametrize("recorded_as", ["created", None], ids=["recorded", "unrecorded"])
def test_an_older_queue_gets_exactly_the_missing_files_in_order(
        pg_url: str, installed_schema: object, count: int, recorded_as: str | None) -> None:
    engine = _older_queue(pg_url, count, recorded_as)
    with engine.connect() as conn:
        assert not qs.up_to_date(conn) or (recorded_as and count == len(FILES))
        done = qs.bring_up_to_date(conn)
    assert done.applied == tuple(NAMES[count:])  # in file order
    assert done.found == (() if recorded_as else tuple(NAMES[:count]))
    assert not done.created
    recorded = _recorded(engine)
    assert sorted(recorded) == sorted(NAMES)
    assert {n for n, (how, _) in recorded.items() if how == "applied"} == set(NAMES[count:])
    assert _fingerprint(engine) == installed_schema
    with engine.connect() as conn:  # the probe's schema was rolled back with its transaction
        assert "supportplan_queue_probe" not in inspect(conn).get_schema_names()
        assert qs.up_to_date(conn)
    upgrade(engine)  # again: nothing to do
    assert _recorded(engine) == recorded
    engine.dispose()


def _open(url: str) -> str:
    open_registry(url).close()
    return "ok"


def test_processes_upgrading_an_older_queue_together_apply_each_file_once(
        postgres: PostgresServer, installed_schema: object) -> None:
    url = postgres.new_database()
    engine = _older_queue(url, BEFORE_3)  # unrecorded: each process would have to probe
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        assert pool.map(_open, [url] * 4) == ["ok"] * 4
    recorded = _recorded(engine)
    assert sorted(recorded) == sorted(NAMES)  # the primary key: each name once
    assert [n for n in NAMES if recorded[n][0] == "found"] == NAMES[:BEFORE_3]
    assert [n for n in NAMES if recorded[n][0] == "applied"] == NAMES[BEFORE_3:]
    assert _fingerprint(engine) == installed_schema
    engine.dispose()


def test_a_queue_no_release_made_is_refused_with_what_to_do(pg_url: str) -> None:
    engine = _older_queue(pg_url, len(FILES))
    with engine.begin() as conn:  # changed by hand
        conn.execute(text("ALTER TABLE procrastinate_jobs ADD COLUMN note text"))
    with pytest.raises(RegistryUnavailable) as caught:
        upgrade(engine)
    message = str(caught.value)
    assert "cannot tell which" in message and "INSERT INTO queue_migrations" in message
    assert str(qs.migrations_folder()) in message
    assert _recorded(engine) == {}
    with engine.connect() as conn:
        assert "supportplan_queue_probe" not in inspect(conn).get_schema_names()
    engine.dispose()


def test_a_failing_migration_stops_kindly_and_the_next_upgrade_carries_on(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = create_engine(pg_url)
    upgrade(engine)  # the installed release's queue
    folder = tmp_path / "migrations"
    shutil.copytree(qs.migrations_folder(), folder)
    (folder / "98.00.00_01_pre_fine.sql").write_text(
        "CREATE TABLE procrastinate_fine (id integer);\n", encoding="utf-8")
    broken = folder / "99.00.00_01_pre_broken.sql"
    broken.write_text("CREATE TABLE procrastinate_half (id integer);\n"
                      "SELECT procrastinate_no_such_function();\n", encoding="utf-8")
    (folder / "99.00.00_50_post_after.sql").write_text(
        "CREATE TABLE procrastinate_after (id integer);\n", encoding="utf-8")
    monkeypatch.setattr(qs, "migrations_folder", lambda: folder)
    with pytest.raises(RegistryUnavailable) as caught:
        upgrade(engine)
    message = str(caught.value)
    assert "99.00.00_01_pre_broken.sql failed" in message
    assert "procrastinate_no_such_function" in message
    assert "1 file(s) before it were applied" in message
    assert f"-f {broken}" in message and "supportplan upgrade" in message
    recorded = _recorded(engine)
    assert recorded["98.00.00_01_pre_fine.sql"][0] == "applied"
    assert not {"99.00.00_01_pre_broken.sql", "99.00.00_50_post_after.sql"} & set(recorded)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    assert "procrastinate_fine" in tables
    assert not {"procrastinate_half", "procrastinate_after"} & tables  # nothing half-done
    broken.write_text("CREATE TABLE procrastinate_half (id integer);\n", encoding="utf-8")
    upgrade(engine)
    recorded = _recorded(engine)
    assert recorded["99.00.00_01_pre_broken.sql"][0] == "applied"
    assert recorded["99.00.00_50_post_after.sql"][0] == "applied"
    engine.dispose()


def test_upgrade_command_says_what_it_did_to_the_queue(workspace: Config, pg_url: str) -> None:
    engine = _older_queue(pg_url, HALFWAY_3)
    engine.dispose()
    workspace = with_registry(workspace, pg_url)
    assert workspace.source is not None
    workspace.source.write_text(workspace.source.read_text(encoding="utf-8").replace(
        'url = "sqlite:///supportplan.sqlite"', f'url = "{pg_url}"'), encoding="utf-8")
    config = ["--config", str(workspace.source)]
    first = CliRunner().invoke(main, [*config, "upgrade"])
    assert first.exit_code == 0, first.output
    assert (f"its tables already had {HALFWAY_3} of procrastinate's migration files (up to "
            f"{NAMES[HALFWAY_3 - 1]})") in first.output
    assert f"applied {len(NAMES) - HALFWAY_3} migration file(s): {NAMES[HALFWAY_3]}, " \
        in first.output
    again = CliRunner().invoke(main, [*config, "upgrade"])
    assert again.exit_code == 0
    assert "The work queue's schema is up to date (procrastinate " in again.output
