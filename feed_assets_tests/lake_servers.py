"""Real servers for the DuckLake tests, on 127.0.0.1: PostgreSQL (the lake's catalog) and an
S3-compatible store (moto's server, the lake's data files).

PostgreSQL is the machine's own (``initdb``, ``pg_ctl``, ``postgres``; ``.ci/run`` installs
Debian's ``postgresql`` where they are missing), started into a temporary folder on a free
port, its socket in that folder too. PostgreSQL refuses to run as root: as root, it runs as
``nobody``. A test that needs a server that cannot be started is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTGRES_BINARIES = ("initdb", "pg_ctl", "postgres")
DEBIAN_POSTGRES = "/usr/lib/postgresql"  # Debian's postgresql package: <version>/bin, not on the PATH
POSTGRES_USER = "postgres"  # the database superuser initdb creates (trust authentication, local only)
UNPRIVILEGED_USER = "nobody"
BUCKET = "feed-lake"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: on the PATH, else Debian's."""
    found = shutil.which("initdb")
    debian = sorted(Path(DEBIAN_POSTGRES).glob("*/bin"), key=lambda path: _version(path.parent.name), reverse=True)
    folders = ([str(Path(found).parent)] if found else []) + ["/usr/local/bin"] + [str(path) for path in debian]
    for folder in folders:
        if all(os.access(Path(folder) / name, os.X_OK) for name in POSTGRES_BINARIES):
            return Path(folder)
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL: ``dsn(dbname)`` is a libpq connection string to one of its databases."""

    host: str
    port: int
    restart_command: tuple[str, ...] = ()

    def restart(self) -> None:
        """Stop the server (its sessions end) and start it again on the same port."""
        _run(list(self.restart_command), "pg_ctl restart")

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={POSTGRES_USER} dbname={dbname}"

    def create_database(self) -> str:
        """A new empty database (a fresh DuckLake catalog per test); returns its name."""
        import duckdb

        from feed_assets.warehouse.extensions import load_extensions

        name = f"lake_{uuid.uuid4().hex[:12]}"
        with duckdb.connect() as con:
            load_extensions(con)
            con.execute(f"attach '{self.dsn()}' as pg (type postgres)")
            con.execute(f"call postgres_execute('pg', 'create database {name}', use_transaction := false)")
        return name


def _as_unprivileged(command: list[str]) -> list[str]:
    """``command`` run as ``nobody`` when we are root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", UNPRIVILEGED_USER, "--", *command]


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of its own, stopped and removed afterwards; skips when none can run."""
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL's initdb, pg_ctl and postgres are not installed (Debian: apt-get install "
                    "postgresql; .ci/run does it): the DuckLake catalog tests need a real server")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
    # a folder of its own directly under the temporary root: pytest's are private to root
    folder = Path(tempfile.mkdtemp(prefix="feed-lake-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=UNPRIVILEGED_USER)
    data, log, port = folder / "data", folder / "server.log", free_port()
    try:
        _run(_as_unprivileged([str(binaries / "initdb"), "-D", str(data), "-U", POSTGRES_USER, "-A", "trust",
                               "-E", "UTF8", "--no-sync"]), "initdb")
        _run(_as_unprivileged([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                               "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                               "start"]), "pg_ctl start", log)
        try:
            restart = _as_unprivileged([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                        "-m", "fast", "restart"])
            yield PostgresServer("127.0.0.1", port, tuple(restart))
        finally:
            subprocess.run(_as_unprivileged([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                             "-w", "stop"]), capture_output=True, check=False)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str], what: str, log: Path | None = None) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-800:]
        if log is not None and log.exists():
            detail += "\n" + log.read_text(errors="replace")[-800:]
        pytest.skip(f"PostgreSQL could not be started ({what} exited {done.returncode}): {detail}")


@dataclass(frozen=True)
class S3Server:
    """A running S3-compatible server with ``bucket`` created; ``environ`` are the AWS_* variables
    that point a client at it."""

    endpoint_url: str
    bucket: str

    @property
    def environ(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": "feed-test-key", "AWS_SECRET_ACCESS_KEY": "feed-test-secret",
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": self.endpoint_url}

    def client(self):
        import boto3

        env = self.environ
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=env["AWS_REGION"],
                            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])

    def keys(self, prefix: str = "") -> list[str]:
        """The objects' keys under ``prefix``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


@contextlib.contextmanager
def running_s3() -> Iterator[S3Server]:
    """moto's S3 server on a free port with one bucket; skips when it cannot start."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:
        pytest.skip(f"moto[server] is not installed ({error}): the DuckLake S3 tests need it (the dev extra)")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except Exception as error:  # noqa: BLE001 - any failure to start is a reason to skip
        pytest.skip(f"moto's S3 server could not be started on 127.0.0.1:{port}: {error}")
    try:
        s3 = S3Server(f"http://127.0.0.1:{port}", BUCKET)
        s3.client().create_bucket(Bucket=BUCKET)
        yield s3
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL on 127.0.0.1 for the session (each test makes its own database)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto) on 127.0.0.1 for the session, with a bucket."""
    with running_s3() as server:
        yield server


def lake_environment(postgres: PostgresServer, s3: S3Server, prefix: str | None = None) -> dict[str, str]:
    """``FEED_WAREHOUSE`` and ``FEED_LAKE_DATA_PATH`` (and the AWS_* variables) of a new, empty
    DuckLake on these servers: a PostgreSQL database of its own, its files under ``prefix`` of
    the bucket (default: the database's name)."""
    name = postgres.create_database()
    return {**s3.environ,
            "FEED_WAREHOUSE": f"ducklake:postgres:{postgres.dsn(name)}",
            "FEED_LAKE_DATA_PATH": f"s3://{s3.bucket}/{prefix or name}/"}


@pytest.fixture
def lake_environ(postgres_server: PostgresServer, s3_server: S3Server,
                 monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``lake_environment`` over the session's servers, set in the environment for the test,
    and returned."""
    environ = lake_environment(postgres_server, s3_server)
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return environ
