"""The published query copy: the tables users query, as Parquet files readers can open at any time.

DuckDB lets no other process open ``feed.duckdb`` while a run writes it, so every table a
user queries is also published under ``$FEED_DATA_DIR/published/<table>/<day>.parquet`` (one
file per day of the table's day column) and ``$FEED_DATA_DIR/query.duckdb`` holds one view
per table over its files. Any number of processes may open ``query.duckdb`` read-only, during
runs too.

- A day's file is written beside its final name and renamed over it: a reader sees the
  whole old day or the whole new day, never half of one. A reader that already opened the
  old file keeps reading it (POSIX rename semantics), so no file vanishes mid-query.
- A day that becomes empty is published as an empty file, never deleted, for the same reason.
- Assets publish the days they change as soon as each is committed, so a long backfill
  publishes as it goes and each day costs what the day holds, whatever the history.
- ``query.duckdb`` itself is rebuilt beside its final name and renamed over it.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import duckdb

# table -> the date column that splits it into files
PUBLISHED_TABLES: dict[str, str] = {
    "raw_dumps": "feed_date",
    "paper_appearances": "feed_date",
    "rejected_entries": "feed_date",
    "papers": "first_seen_date",
    "daily_feed_stats": "feed_date",
    "fetch_log": "feed_date",
    "trend_day_totals": "feed_date",
    "term_daily_counts": "feed_date",
    "trending_terms": "feed_date",
    "top_papers": "period_start",
    "author_activity": "feed_date",
    "category_trends": "feed_date",
}
QUERY_DATABASE = "query.duckdb"
PUBLISHED_DIR = "published"
SCHEMA_FILE = "_schema.parquet"  # zero rows: keeps a table queryable before any day is published


def published_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / PUBLISHED_DIR


def publish_days(con: duckdb.DuckDBPyConnection, data_dir: Path, table: str, days: Iterable[dt.date]) -> int:
    """Publish the committed rows of ``table`` for each of ``days``; returns the files written."""
    column = PUBLISHED_TABLES[table]
    folder = published_dir(data_dir) / table
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for day in sorted(set(days)):
        _copy_atomically(con, f"select * from {table} where {column} = date '{day.isoformat()}'",
                         folder / f"{day.isoformat()}.parquet")
        written += 1
    return written


def publish_schemas(con: duckdb.DuckDBPyConnection, data_dir: Path) -> None:
    """Write every table's zero-row schema file and (re)build ``query.duckdb``'s views."""
    root = published_dir(data_dir)
    for table in PUBLISHED_TABLES:
        (root / table).mkdir(parents=True, exist_ok=True)
        _copy_atomically(con, f"select * from {table} limit 0", root / table / SCHEMA_FILE)
    _write_query_database(Path(data_dir).resolve() / QUERY_DATABASE, root)


def _copy_atomically(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        con.execute(f"copy ({query}) to '{temporary}' (format parquet)")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _write_query_database(path: Path, root: Path) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(temporary)) as con:
            for table in PUBLISHED_TABLES:
                con.execute(f"""
                    create view {table} as
                    select * from read_parquet('{root / table}/*.parquet', union_by_name = true)
                """)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def publish(con: duckdb.DuckDBPyConnection, data_dir: Path, days_by_table: dict[str, Iterable[dt.date]]) -> int:
    """Publish the given days of each table, then refresh the schema files and ``query.duckdb``."""
    written = sum(publish_days(con, data_dir, table, days) for table, days in days_by_table.items())
    publish_schemas(con, data_dir)
    return written
