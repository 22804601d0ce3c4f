"""The published query copy: the tables users query, as Parquet files readers can open at any time.

DuckDB lets no other process open ``feed.duckdb`` while a run writes it, so every table a
user queries is also published under ``$FEED_DATA_DIR/published/<table>/<day>.parquet`` (one
file per value of the table's day column) and ``$FEED_DATA_DIR/query.duckdb`` holds one view
per table over its files. Any number of processes may open ``query.duckdb`` read-only, during
runs too.

The copy is published from one place: ``publish_changes``, which the warehouse resource
calls right after each write commits. It is a reader of the change log like any derived
table: it rewrites exactly the days whose rows changed since it last published, with one
``COPY ... PARTITION_BY`` per table, so a long backfill's copy advances with each commit
and a day costs what that day holds. A crash before it runs leaves the changes pending for
the next write.

- A day's file is written beside its final name and renamed over it: a reader sees the
  whole old day or the whole new day, never half of one. A reader that already opened the
  old file keeps reading it (POSIX rename semantics), so no file vanishes mid-query.
- A day that becomes empty is published as an empty file, never deleted, for the same reason.
- ``query.duckdb`` itself is built beside its final name and renamed over it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from pathlib import Path

import duckdb

from feed_assets.warehouse.changes import pull
from feed_assets.warehouse.schema import TABLES
from feed_assets.warehouse.writes import transaction

PUBLISHED_TABLES: tuple[str, ...] = (
    "raw_dumps", "paper_appearances", "rejected_entries", "papers", "daily_feed_stats", "fetch_log",
    "trend_day_totals", "term_daily_counts", "trending_terms", "top_papers", "author_activity", "category_trends",
)
QUERY_DATABASE = "query.duckdb"
PUBLISHED_DIR = "published"
SCHEMA_FILE = "_schema.parquet"  # zero rows: keeps a table queryable before any day is published
READER = "query_copy"


def published_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / PUBLISHED_DIR


def sql_string(text: str | Path) -> str:
    """A SQL string literal of ``text`` (quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def glob_literal(path: Path) -> str:
    """``path`` with the glob characters ``* ? [`` escaped, for a DuckDB file pattern."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in str(path))


def publish_changes(con: duckdb.DuckDBPyConnection, data_dir: Path) -> int:
    """Rewrite the published files of every day changed since the last publication; returns the
    files written. Call it after a write has committed, outside any transaction."""
    root = published_dir(data_dir)
    written = 0
    with transaction(con):
        changes = pull(con, READER, PUBLISHED_TABLES)
        for table in PUBLISHED_TABLES:
            column = TABLES[table].day_column
            if table in changes.whole:  # every day it has, and every day published before
                days_sql = f"select distinct {column} as day from {table}"
                days = sorted({row[0] for row in con.execute(days_sql).fetchall()} | set(_published_days(root / table)))
            else:
                days = [row[0] for row in con.execute(
                    f"select distinct day from ({changes.days(table)}) order by 1").fetchall()]
            written += _publish_days(con, root / table, table, column, days) if days else 0
        changes.done(con)
    _ensure_query_database(con, Path(data_dir).resolve() / QUERY_DATABASE, root)
    return written


def _published_days(folder: Path) -> list[dt.date]:
    """The days that have a published file in ``folder``."""
    days = []
    for path in folder.glob("*.parquet"):
        try:
            days.append(dt.date.fromisoformat(path.stem))
        except ValueError:  # the schema file
            continue
    return days


def _publish_days(con: duckdb.DuckDBPyConnection, folder: Path, table: str, column: str, days: list) -> int:
    """Write the days' rows of ``table`` to a scratch folder in one partitioned COPY, then rename
    each day's file over its published name (an empty file for a day with no rows left)."""
    schema_file = _ensure_schema_file(con, folder, table)
    scratch = folder / f".publishing-{uuid.uuid4().hex}"
    try:
        con.execute(f"""
            copy (select * from {table} where {column} in (select unnest(?::date[])))
            to {sql_string(scratch)} (format parquet, partition_by ({column}), write_partition_columns true)
        """, [days])
        for day in days:
            target = folder / f"{day.isoformat()}.parquet"
            produced = sorted((scratch / f"{column}={day.isoformat()}").glob("*.parquet"))
            if len(produced) > 1:
                raise RuntimeError(f"publishing {table} {day}: DuckDB wrote {len(produced)} files, expected one")
            if produced:
                os.replace(produced[0], target)
            else:
                empty = scratch / f".{day.isoformat()}.empty"
                shutil.copyfile(schema_file, empty)
                os.replace(empty, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return len(days)


def _ensure_schema_file(con: duckdb.DuckDBPyConnection, folder: Path, table: str) -> Path:
    """The table's folder and its zero-row schema file, written if missing; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    schema_file = folder / SCHEMA_FILE
    if not schema_file.exists():
        _copy_atomically(con, f"select * from {table} limit 0", schema_file)
    return schema_file


def _copy_atomically(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        con.execute(f"copy ({query}) to {sql_string(temporary)} (format parquet)")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _ensure_query_database(con: duckdb.DuckDBPyConnection, path: Path, root: Path) -> None:
    """(Re)build ``query.duckdb`` when it is missing or lacks a table's view."""
    for table in PUBLISHED_TABLES:
        _ensure_schema_file(con, root / table, table)
    if path.exists():
        with duckdb.connect(str(path), read_only=True) as existing:
            views = {row[0] for row in existing.execute("select view_name from duckdb_views() where not internal")
                     .fetchall()}
        if views >= set(PUBLISHED_TABLES):
            return
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(temporary)) as query_db:
            for table in PUBLISHED_TABLES:
                files = sql_string(glob_literal(root / table) + "/*.parquet")
                query_db.execute(f"create view {table} as select * from read_parquet({files}, union_by_name = true)")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
