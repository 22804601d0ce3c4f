"""Which catalog holds the warehouse's tables: the DuckDB file, or a DuckLake.

``FEED_WAREHOUSE`` selects it:

- unset (or empty): the DuckDB file ``$FEED_DATA_DIR/feed.duckdb``, as always;
- ``ducklake:postgres:<libpq connection string>``: a DuckLake whose catalog (the tables'
  metadata, snapshots and transactions) is in that PostgreSQL database, and whose data
  files (Parquet) go to ``FEED_LAKE_DATA_PATH``, a local folder or ``s3://bucket/prefix/``.

On DuckLake each process has one in-memory DuckDB per lake, with the ``ducklake``,
``postgres`` and ``httpfs`` extensions loaded (``warehouse/extensions.py``: from PyPI
packages, signatures checked, never downloaded), an S3 secret made from the standard
``AWS_*`` variables when the data path is on S3, and the lake attached as ``lake``; each
connection is a new connection to that DuckDB, with ``lake`` as its default database
(``USE lake``). Every statement of the warehouse runs unchanged: the SQL uses no index or
constraint, and DuckLake takes the same DDL, transactions and ``insert ... by name`` (not
``insert ... returning``, which the warehouse no longer uses).

Any number of processes may read a DuckLake at once, at any time, so the published Parquet
query copy of the file warehouse is not needed there. Runs write their days' dumps at the
same time, and take turns on the tables that are not per day (``warehouse/lake_lock.py``).
A password is best kept out of ``FEED_WAREHOUSE`` (it is resource configuration, shown in
the UI): libpq also reads ``PGPASSWORD`` and ``~/.pgpass``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import duckdb

from feed_assets.warehouse.extensions import load_extensions
from feed_assets.warehouse.schema import sql_string

SETTING = "FEED_WAREHOUSE"
LAKE_PREFIX = "ducklake:"
CATALOG_BACKENDS = ("postgres",)  # DuckLake's catalog databases this project supports
LAKE_ALIAS = "lake"
S3_SECRET = "feed_lake_s3"


@dataclass(frozen=True)
class LakeCatalog:
    """A DuckLake: ``metadata`` is its catalog database (``postgres:<libpq string>``),
    ``data_path`` where its data files go (a folder or ``s3://bucket/prefix/``)."""

    metadata: str
    data_path: str

    @property
    def libpq(self) -> str:
        """The libpq connection string of the catalog's PostgreSQL database."""
        return self.metadata.split(":", 1)[1]

    @property
    def on_s3(self) -> bool:
        return self.data_path.lower().startswith("s3://")

    def attach_sql(self) -> str:
        """``ATTACH`` of the lake as ``lake``, its data files under ``data_path``."""
        return (f"attach {sql_string(LAKE_PREFIX + self.metadata)} as {LAKE_ALIAS} "
                f"(data_path {sql_string(self.data_path)})")


def parse_warehouse(value: str | None, data_path: str) -> LakeCatalog | None:
    """The catalog ``FEED_WAREHOUSE=value`` names: None for the DuckDB file (unset or empty),
    else the DuckLake, its files under ``data_path``. A value of another form is refused."""
    value = (value or "").strip()
    if not value:
        return None
    backend = value[len(LAKE_PREFIX):].split(":", 1)[0] if value.startswith(LAKE_PREFIX) else ""
    if backend not in CATALOG_BACKENDS or value.count(":") < 2:
        raise ValueError(f"{SETTING}={value!r}: expected nothing (the DuckDB file) or "
                         "'ducklake:postgres:<libpq connection string>', e.g. "
                         "'ducklake:postgres:host=127.0.0.1 port=5432 dbname=feed user=feed'")
    return LakeCatalog(metadata=value[len(LAKE_PREFIX):], data_path=data_path)


def s3_secret_sql(environ: Mapping[str, str] | None = None) -> str:
    """``CREATE SECRET`` of type S3 from the standard ``AWS_*`` variables: ``AWS_ACCESS_KEY_ID``,
    ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` (or ``AWS_DEFAULT_REGION``)
    and ``AWS_ENDPOINT_URL`` for an S3-compatible store (then path-style URLs, and no TLS for
    an ``http://`` endpoint). Without keys the bucket is read anonymously (DuckDB's credential
    chain would need the ``aws`` extension, which is not shipped here)."""
    env = os.environ if environ is None else environ
    options = {"type": "s3"}
    for option, names in (("key_id", ("AWS_ACCESS_KEY_ID",)), ("secret", ("AWS_SECRET_ACCESS_KEY",)),
                          ("session_token", ("AWS_SESSION_TOKEN",)),
                          ("region", ("AWS_REGION", "AWS_DEFAULT_REGION"))):
        found = next((env[name] for name in names if env.get(name)), None)
        if found:
            options[option] = found
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options["endpoint"] = parts.netloc + parts.path.rstrip("/")
        options["url_style"] = "path"
        options["use_ssl"] = "false" if parts.scheme == "http" else "true"
    body = ", ".join(f"{key} {value if key in ('type', 'use_ssl') else sql_string(value)}"
                     for key, value in options.items())
    return f"create or replace temporary secret {S3_SECRET} ({body})"


# one in-memory DuckDB per process and lake (and S3 secret), its extensions loaded and the lake
# attached once: each connection is a new connection to it (``cursor()``), with its own
# transactions and temporary tables, as a new ``duckdb.connect`` would have. Loading the three
# extensions and attaching cost about 0.5 s a connection, and a run opens one per step.
_LAKES: dict[tuple[LakeCatalog, str], duckdb.DuckDBPyConnection] = {}
_LAKES_LOCK = threading.Lock()


def connect_lake(catalog: LakeCatalog, environ: Mapping[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """A new connection with the lake attached and in use (``USE lake``); close it after use."""
    secret = s3_secret_sql(environ) if catalog.on_s3 else ""
    with _LAKES_LOCK:
        database = _LAKES.get((catalog, secret))
        if database is None:
            database = _LAKES[(catalog, secret)] = _open_lake(catalog, secret)
    con = database.cursor()
    try:
        con.execute(f"use {LAKE_ALIAS}")
    except BaseException:
        con.close()
        raise
    return con


def _open_lake(catalog: LakeCatalog, secret_sql: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the extensions loaded, the S3 secret made and the lake attached."""
    con = duckdb.connect()
    try:
        load_extensions(con)
        if secret_sql:
            con.execute(secret_sql)
        con.execute(catalog.attach_sql())
    except BaseException:
        con.close()
        raise
    return con


def close_lakes() -> None:
    """Close the process's lake databases (the next ``connect_lake`` attaches afresh)."""
    with _LAKES_LOCK:
        for database in _LAKES.values():
            database.close()
        _LAKES.clear()
