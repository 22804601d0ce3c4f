"""Keeping a DuckLake small and fast: its own maintenance functions, in the order DuckLake's
documentation gives them.

Every commit of a lake writes new Parquet files (or, for a few rows, keeps them inlined in
the catalog) and a new snapshot; old snapshots keep the files they need for time travel. So
now and then: flush the inlined rows into Parquet, rewrite files that are mostly deleted
rows, merge small adjacent files, expire the snapshots older than the retention, then delete
the files that no snapshot needs any more. On the DuckDB file a checkpoint is all there is.

Runs may write their days' dumps meanwhile (they take no writer lock), and a rewrite or a
merge of a file another commit deleted rows from is refused by DuckLake as a conflict: each
function is called again then (each is safe to repeat), up to ``CONFLICT_ATTEMPTS`` times.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from feed_assets.warehouse.catalog import LAKE_ALIAS
from feed_assets.warehouse.connection import conflict_retries

REWRITE_DELETED_SHARE = 0.25  # a data file with this share of its rows deleted is rewritten


@dataclass(frozen=True)
class Maintained:
    """What a maintenance pass did, for the run's metadata (the files counted once the
    inlined rows are in files too)."""

    files_before: int
    files_after: int
    snapshots_expired: int
    files_deleted: int


def data_files(con: duckdb.DuckDBPyConnection) -> int:
    """The lake's data files that the current snapshot reads."""
    return con.execute(f"select coalesce(sum(file_count), 0) from ducklake_table_info('{LAKE_ALIAS}')").fetchone()[0]


def maintain_lake(con: duckdb.DuckDBPyConnection, keep_days: int) -> Maintained:
    """One maintenance pass over the lake attached as ``lake``: snapshots older than
    ``keep_days`` days are expired (time travel reaches that far back)."""
    older = f"older_than => now() - interval {int(keep_days)} day"
    # small inserts are kept in the catalog itself ("inlined"): into Parquet with the rest
    _call(con, f"call ducklake_flush_inlined_data('{LAKE_ALIAS}')")
    before = data_files(con)
    # a file with deleted rows is not merged: rewrite those with a quarter or more deleted first
    _call(con, f"call ducklake_rewrite_data_files('{LAKE_ALIAS}', delete_threshold => {REWRITE_DELETED_SHARE})")
    _call(con, f"call ducklake_merge_adjacent_files('{LAKE_ALIAS}')")
    expired = len(_call(con, f"call ducklake_expire_snapshots('{LAKE_ALIAS}', {older})"))
    # the files expired snapshots needed are deleted once they have been unneeded for as long
    # (a reader that began on an older snapshot finishes its query)
    deleted = len(_call(con, f"call ducklake_cleanup_old_files('{LAKE_ALIAS}', {older})"))
    return Maintained(before, data_files(con), expired, deleted)


def _call(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    """Run one maintenance function, again if another process's commit conflicts with it."""
    for attempt in conflict_retries():
        with attempt:
            return con.execute(sql).fetchall()
    raise AssertionError("unreachable")  # pragma: no cover
