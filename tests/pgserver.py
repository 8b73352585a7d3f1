"""A real, throwaway PostgreSQL server for the tests: Debian's binaries, a data folder and a
unix socket in a temporary folder, no TCP port (`listen_addresses=''`), trust
authentication (only this machine's users can reach the socket, and the folder is private
to the test run).

initdb and postgres refuse to run as root; as root the server runs as the `postgres` user
(made by Debian's package), in a folder handed over to it.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian keeps it off PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                   else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@dataclass
class PostgresServer:
    root: Path
    bin: Path
    run_as: str | None  # the user the server runs as, when we are root
    _numbers = itertools.count(1)

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as, "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def url(self, database: str = SUPERUSER) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.socket_dir}"

    def psql(self, sql: str, database: str = SUPERUSER) -> str:
        return self._run("psql", "-h", str(self.socket_dir), "-U", SUPERUSER, "-d", database,
                         "-v", "ON_ERROR_STOP=1", "-Atc", sql).stdout

    def new_database(self, prefix: str = "test") -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{os.getpid()}_{next(self._numbers)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """Start a server; raise RuntimeError saying what is missing when it cannot."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh (it installs "
                           "Debian's postgresql package)")
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SUPERUSER)
        except KeyError as exc:
            raise RuntimeError("running as root needs the postgres user (Debian's "
                               "postgresql package makes it)") from exc
        run_as = SUPERUSER
    # Short path: a unix socket's path must fit in 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="sp-pg-"))
    server = PostgresServer(root, bin_dir, run_as)
    server.socket_dir.mkdir(mode=0o700)
    if run_as is not None:
        account = pwd.getpwnam(run_as)
        for path in (root, server.socket_dir):
            os.chown(path, account.pw_uid, account.pw_gid)
    try:
        server._run("initdb", "-D", str(server.data_dir), "-U", SUPERUSER, "--auth=trust",
                    "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync")
        server._run("pg_ctl", "-D", str(server.data_dir), "-l", str(root / "server.log"),
                    "-w", "-t", "60", "-o",
                    f"-c listen_addresses='' -k {server.socket_dir} -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off "
                    "-c max_connections=200", "start")
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr}\n{detail}") from exc
    return server
