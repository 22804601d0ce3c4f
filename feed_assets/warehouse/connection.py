"""How every connection to the warehouse is set up before it is used, what a step leaves on it,
and how a write DuckLake refuses for a conflict is tried again."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import stamina

from feed_assets.warehouse.schema import ensure_schema

# Readers order what they read, so inserts need not keep the order of their input: DuckDB
# then streams large inserts with less memory. DuckDB's own memory is capped (it spills to
# disk beyond it) so that a run of years stays within 2 GiB with Python's share: the process's
# imports take about 0.4 GiB, and the trend step's numpy work up to about 0.6 GiB beside a full
# buffer (768 MB, measured on a year of synthetic arXiv: peak 1,534 MiB, 1,785-1,889 at 1 GB).
# The write-ahead log is checkpointed into the file when it passes 1 GB or when the
# connection closes (at the end of the run, whose steps share it), not at DuckDB's default
# of 16 MB: with the default, a backfill checkpointed after nearly every batch, about 10 s of
# commits a year of arXiv (1.7 s with this; the rest moves to the close, 2.6 s). A crash
# replays the log at the next open. No progress bars: a long statement of a run drew them on
# the step's stdout (its captured log in the UI, or the terminal of ``make run``).
SESSION_SETTINGS: dict[str, str] = {
    "preserve_insertion_order": "false",
    "memory_limit": "'768MB'",
    "checkpoint_threshold": "'1GB'",
    "enable_progress_bar": "false",
}


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Apply the session settings and create any missing table; returns the connection."""
    for name, value in SESSION_SETTINGS.items():
        con.execute(f"set {name} = {value}")
    ensure_schema(con)
    return con


def drop_temporary_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the connection's temporary tables: what a step leaves behind on a shared connection."""
    for (name,) in con.execute("select table_name from duckdb_tables() where temporary").fetchall():
        con.execute(f'drop table if exists temp."{name}"')


def has_temporary_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the connection has the temporary table ``name``."""
    return bool(con.execute("select count(*) from duckdb_tables() where temporary and table_name = ?",
                            [name]).fetchone()[0])


# tries of a write that DuckLake finds in conflict with another process's commit
CONFLICT_ATTEMPTS = 5


def is_write_conflict(error: Exception) -> bool:
    """DuckLake refused a commit: another process's commit changed what this one changed."""
    return isinstance(error, duckdb.TransactionException) and "conflict" in str(error).lower()


def conflict_retries() -> Iterable[stamina.Attempt]:
    """Attempts (``for attempt in conflict_retries(): with attempt: ...``) of a block that is
    run again, after a short wait, when DuckLake refuses it as in conflict with another
    process's commit, up to ``CONFLICT_ATTEMPTS`` times."""
    return stamina.retry_context(on=is_write_conflict, attempts=CONFLICT_ATTEMPTS, wait_initial=0.2, wait_max=5.0)
