"""The work queue's schema (procrastinate's tables in a PostgreSQL registry), made and kept
up to date with the installed procrastinate.

procrastinate ships its schema twice: `schema.sql`, the whole schema of the installed
release, and `sql/migrations/`, one SQL file per change since its first release, named
`{xx.yy.zz}_{serial}_{pre|post}_{what}.sql`. It keeps no record of which files a database
has had ("it's your responsibility", its migration guide says), so we keep one:
`queue_migrations`, one row per file, saying how the schema came to have it:

- `created`: the queue was made here from `schema.sql`, which is every shipped file at once
  (procrastinate's own tests hold it to that; tests/test_queue_schema.py checks it too);
- `found`: the queue was made before this record existed (supportplan before it kept one,
  with whatever procrastinate was installed then), and these files were found in it by
  comparing its tables, types and functions with what each prefix of the files makes;
- `applied`: the file was run here, by an upgrade;
- anything else (`by hand`, say): whoever applied the file by hand after a failure.

Pre and post files: for deployments without downtime procrastinate splits a release's
changes into `pre` files (safe while the previous release's code still runs) and `post`
files (once none does). We run both, in file order: procrastinate's "with service
interruption" way. Every upgrade runs under the registry's migration lock
(pipeline/registry/migrate.py), before this process uses the queue, and workers of the
previous version on other machines must be stopped before a new version starts (README,
"Several offices"): a `post` file may drop what their code still calls.

Each file runs in one transaction together with its row, so a file is either applied and
recorded or neither, whenever the process stops. (procrastinate's guide pipes files into
psql, one transaction per statement; a whole file in one transaction is stricter and works
for every shipped file on the PostgreSQL versions that can add an enum value inside a
transaction, 12 and later.)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from ..errors import RegistryUnavailable

log = logging.getLogger(__name__)

QUEUE_TABLE = "procrastinate_jobs"
# Not in the registry's metadata (schema.py): it describes procrastinate's schema, exists
# only beside the queue (PostgreSQL) and is kept here, with the queue.
queue_migrations = Table(
    "queue_migrations", MetaData(),
    Column("name", String(200), primary_key=True),  # the file's name, e.g. 03.01.00_01_…sql
    Column("how", String(20), nullable=False),  # created, found, applied (or by hand)
    Column("recorded_at", DateTime(timezone=True), nullable=False,
           server_default=func.now()),
)
# Where the schema each prefix of the files makes is built to be compared, then dropped.
_PROBE_SCHEMA = "supportplan_queue_probe"
_NAME = re.compile(r"^(\d+)\.(\d+)\.(\d+)_(\d+)_.*\.sql$")


@dataclass(frozen=True)
class QueueUpgrade:
    """What an upgrade did to the queue's schema (nothing, on SQLite)."""

    created: bool = False
    found: tuple[str, ...] = ()
    applied: tuple[str, ...] = ()


def procrastinate_version() -> str:
    return version("procrastinate")


def migrations_folder() -> Path:
    """The migration files of the installed procrastinate (`procrastinate schema
    --migrations-path`)."""
    from procrastinate.schema import SchemaManager

    return Path(SchemaManager.get_migrations_path())


def file_order(name: str) -> tuple[int, int, int, int, str]:
    """The order files are applied in: by the release in their name, then their serial
    number (a release's `pre` files are numbered before its `post` ones)."""
    match = _NAME.match(name)
    if match is None:
        raise RegistryUnavailable(
            f"the installed procrastinate's migration file {name} ({migrations_folder()}) "
            "is not named {release}_{serial}_….sql as supportplan expects: the work queue "
            "cannot be upgraded with it. Install the procrastinate version supportplan's "
            "pyproject.toml names, or tell whoever looks after supportplan")
    major, minor, patch, serial = (int(part) for part in match.groups())
    return major, minor, patch, serial, name


def migration_files(folder: Path | None = None) -> list[Path]:
    """The installed procrastinate's migration files, in the order they apply."""
    paths = (folder or migrations_folder()).glob("*.sql")
    return sorted(paths, key=lambda path: file_order(path.name))


def _recorded(connection: Connection) -> set[str]:
    return set(connection.execute(select(queue_migrations.c.name)).scalars())


def up_to_date(connection: Connection) -> bool:
    """Whether the queue's schema needs nothing (the quick look every process takes before
    waiting for the migration lock); always true without a queue (SQLite)."""
    if connection.dialect.name != "postgresql":
        return True
    inspector = inspect(connection)
    if not (inspector.has_table(QUEUE_TABLE) and inspector.has_table(queue_migrations.name)):
        return False
    recorded = _recorded(connection)
    return all(path.name in recorded for path in migration_files())


def recorded_files(connection: Connection) -> dict[str, str]:
    """Each recorded file and how the schema came to have it; empty before the record."""
    if connection.dialect.name != "postgresql" \
            or not inspect(connection).has_table(queue_migrations.name):
        return {}
    rows = connection.execute(select(queue_migrations.c.name, queue_migrations.c.how))
    return {name: how for name, how in rows}


def bring_up_to_date(connection: Connection) -> QueueUpgrade:
    """Make the queue's tables, or apply the migration files they lack, in order. The
    caller holds the migration lock, so one process at a time gets here; `connection` must
    not be in autocommit mode."""
    if connection.dialect.name != "postgresql":
        return QueueUpgrade()
    files = migration_files()
    connection.rollback()  # end whatever the caller's reads began: each step commits alone
    with connection.begin():
        queue_migrations.create(connection, checkfirst=True)
        queue_exists = inspect(connection).has_table(QUEUE_TABLE)
        recorded = _recorded(connection)
    if not queue_exists:
        from procrastinate.schema import SchemaManager

        try:
            with connection.begin():
                _run_script(connection, SchemaManager.get_schema())
                _record(connection, [path.name for path in files], "created")
        except connection.dialect.loaded_dbapi.Error as error:
            raise RegistryUnavailable(
                f"the work queue's tables could not be made from procrastinate "
                f"{procrastinate_version()}'s schema ({_first_line(error)}); nothing of it "
                "was kept. Check that the PostgreSQL server is a version this procrastinate "
                "supports and that the registry's user may create tables, then run "
                "`supportplan upgrade` again") from error
        log.info("registry: the work queue's tables were made (procrastinate %s)",
                 procrastinate_version())
        return QueueUpgrade(created=True)
    found: list[str] = []
    if not recorded:  # a queue made before the record was kept: find what it has
        found = _files_found(connection, files)
        with connection.begin():
            _record(connection, found, "found")
        recorded = set(found)
    applied: list[str] = []
    for path in files:
        if path.name in recorded:
            continue
        try:
            with connection.begin():
                _run_script(connection, path.read_text(encoding="utf-8"))
                _record(connection, [path.name], "applied")
        except connection.dialect.loaded_dbapi.Error as error:
            raise RegistryUnavailable(_failed(path, applied, error)) from error
        applied.append(path.name)
        log.info("registry: the work queue's procrastinate migration %s was applied",
                 path.name)
    unknown = sorted(recorded - {path.name for path in files})
    if unknown:
        # procrastinate was downgraded: its code may not work with the newer schema, and
        # nothing here undoes a migration.
        log.warning("the work queue's schema has procrastinate migrations the installed "
                    "procrastinate %s does not know (%s): it was made by a newer one; "
                    "install that again", procrastinate_version(), ", ".join(unknown))
    return QueueUpgrade(found=tuple(found), applied=tuple(applied))


def _run_script(connection: Connection, sql: str) -> None:
    """Run a script of several statements in the connection's transaction. Through the
    driver's own cursor: psycopg runs a parameterless query as a script, as it stands
    (SQLAlchemy would pass parameters, and every `%` in the SQL would need doubling)."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0][:300] if lines else type(error).__name__


def _record(connection: Connection, names: Sequence[str], how: str) -> None:
    if names:
        connection.execute(insert(queue_migrations), [{"name": n, "how": how} for n in names])


def _failed(path: Path, applied: Sequence[str], error: Any) -> str:
    state = getattr(error, "sqlstate", None) or ""
    cause = ("another process kept the queue's tables busy (a worker of the previous "
             "version still running?)" if state == "55P03"
             else _first_line(error))
    before = (f"the {len(applied)} file(s) before it were applied and recorded"
              if applied else "it was the first file this schema lacked")
    return (
        f"the work queue's schema could not be upgraded to procrastinate "
        f"{procrastinate_version()}: its migration {path.name} failed ({cause}). Nothing of "
        f"that file was kept (it runs in one transaction); {before}. Stop `supportplan "
        "worker` and `watch` on every machine, make a backup of the registry, then run "
        "`supportplan upgrade` again: it carries on from that file. If it fails again, "
        "apply the file by hand (psql -v ON_ERROR_STOP=1 -f "
        f"{path}) and record it (INSERT INTO {queue_migrations.name} (name, how) VALUES "
        f"('{path.name}', 'by hand')), or ask whoever looks after the database server")


# What a schema's procrastinate objects are, for `_files_found`: tables' columns, enum
# types, functions and procedures (bodies with white space folded), indexes, constraints
# and triggers. Column order is left out: a column added by a migration comes last, where
# schema.sql lists it among the others. Read with search_path set to the schema alone, so
# names inside it print unqualified whichever schema it is; pg_get_indexdef and
# pg_get_triggerdef always qualify the table, so that prefix is removed.
_FINGERPRINT = [
    """SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
              pg_get_expr(d.adbin, d.adrelid)
       FROM pg_class c
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
       WHERE c.relnamespace = to_regnamespace(:schema) AND c.relkind IN ('r', 'v', 'p')
         AND c.relname LIKE 'procrastinate%'""",
    """SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
       WHERE t.typnamespace = to_regnamespace(:schema) AND t.typname LIKE 'procrastinate%'
       GROUP BY t.typname""",
    """SELECT p.proname, p.prokind, pg_get_function_identity_arguments(p.oid),
              pg_get_function_result(p.oid),
              md5(btrim(regexp_replace(p.prosrc, '\\s+', ' ', 'g')))
       FROM pg_proc p
       WHERE p.pronamespace = to_regnamespace(:schema) AND p.proname LIKE 'procrastinate%'""",
    """SELECT i.relname, replace(pg_get_indexdef(i.oid), :prefix, ' ')
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
       JOIN pg_class t ON t.oid = x.indrelid
       WHERE t.relnamespace = to_regnamespace(:schema) AND t.relname LIKE 'procrastinate%'""",
    """SELECT t.relname, c.conname, pg_get_constraintdef(c.oid)
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
       WHERE t.relnamespace = to_regnamespace(:schema) AND t.relname LIKE 'procrastinate%'""",
    """SELECT t.relname, g.tgname, replace(pg_get_triggerdef(g.oid), :prefix, ' ')
       FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid
       WHERE t.relnamespace = to_regnamespace(:schema) AND t.relname LIKE 'procrastinate%'
         AND NOT g.tgisinternal""",
]


def fingerprint(connection: Connection, schema: str) -> tuple[frozenset[tuple[Any, ...]], ...]:
    """The procrastinate objects in `schema`, comparable between schemas and databases.
    Sets search_path for the rest of the caller's transaction."""
    connection.execute(text(f'SET LOCAL search_path TO "{schema}"'))
    found = []
    for query in _FINGERPRINT:
        rows = connection.execute(text(query), {"schema": schema, "prefix": f" {schema}."})
        found.append(frozenset(tuple(_hashable(value) for value in row) for row in rows))
    return tuple(found)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _files_found(connection: Connection, files: Sequence[Path]) -> list[str]:
    """The files the queue's tables already have: the longest prefix of `files` whose
    schema is the same as theirs. It is built file by file in a schema of its own, each
    file committed as when applied for real (a file that adds an enum value and a later one
    using it cannot share a transaction, so one rolled-back transaction cannot hold them
    all), and dropped afterwards; one left by a process killed meanwhile is dropped by the
    next. The migration lock keeps other processes out meanwhile."""
    with connection.begin() as transaction:
        live = connection.execute(text(
            "SELECT relnamespace::regnamespace::text FROM pg_class "
            "WHERE oid = to_regclass(:t)"), {"t": QUEUE_TABLE}).scalar_one().strip('"')
        target = fingerprint(connection, live)
        transaction.rollback()  # and its SET LOCAL search_path
    matched: int | None = None
    try:
        with connection.begin():
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{_PROBE_SCHEMA}" CASCADE'))
            connection.execute(text(f'CREATE SCHEMA "{_PROBE_SCHEMA}"'))
        for count, path in enumerate(files, 1):
            with connection.begin():
                connection.execute(text(f'SET LOCAL search_path TO "{_PROBE_SCHEMA}"'))
                _run_script(connection, path.read_text(encoding="utf-8"))
                same = fingerprint(connection, _PROBE_SCHEMA) == target
            if same:
                # Files that change nothing seen here (data only) count as had: running
                # them again could not make the schema any more right.
                matched = count
            elif matched is not None:
                break
    except connection.dialect.loaded_dbapi.Error as error:
        raise RegistryUnavailable(
            "could not work out which of procrastinate's migrations the work queue's "
            f"tables already have ({_first_line(error)}): the "
            "registry's user needs to be allowed to create a schema in its database "
            f"(supportplan makes {_PROBE_SCHEMA} for a moment, and drops it)") from error
    finally:
        if connection.in_transaction():
            connection.rollback()
        with connection.begin():
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{_PROBE_SCHEMA}" CASCADE'))
    if matched is None:
        raise RegistryUnavailable(_unrecognised(files))
    return [path.name for path in files[:matched]]


def _unrecognised(files: Iterable[Path]) -> str:
    last = [path.name for path in files][-1:]
    return (
        "the work queue's tables (procrastinate_*) in the registry are not what any release "
        f"of procrastinate up to the installed {procrastinate_version()} made (changed by "
        "hand, or made by a newer procrastinate), so supportplan cannot tell which of its "
        "migration files they already have. If a newer procrastinate made them, install it "
        "again and run `supportplan upgrade`. Otherwise compare them with the files in "
        f"{migrations_folder()}, apply the missing ones in order with psql, record every "
        f"file they now have (INSERT INTO {queue_migrations.name} (name, how) VALUES "
        f"('{(last or ['…'])[0]}', 'by hand'), one row per file) and run `supportplan "
        "upgrade` again")
