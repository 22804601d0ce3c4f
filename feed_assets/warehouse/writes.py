"""The writes of the day-partitioned tables: replace a range of days, set-based, in one transaction.

Each write deletes the range's rows and inserts the new ones once (``insert ... by name``
from an Arrow table or a DataFrame), records the keys it changed (``warehouse.changes``),
and, for the entries, resolves identity once over everything the range touched. None of it
loops over days, and none of it relies on an index. Callers run these inside one
transaction (``transaction``), so a failed write leaves every table as it was.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial

import duckdb
import pandas as pd
import pyarrow as pa

from feed_assets.identity.sql import resolve_identities
from feed_assets.warehouse.changes import (
    drop_taken_in,
    file_changes,
    first_free_version,
    has_pending_writes,
    next_version,
    record_changes,
)
from feed_assets.warehouse.schema import TABLES


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection,
                commit_turn: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]] | None = None,
                ) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit on success, roll back on any error (and re-raise it).

    Just before the commit the block's writes, if any, get their versions (``changes.file_changes``),
    the next free one read outside this transaction (which may have begun before other commits)
    while holding the commit turn: ``commit_turn``, a context manager giving such a connection;
    where other processes commit too (a DuckLake) it holds the catalog's commit lock. By default,
    the turn of this process's writers (the DuckDB file has one writing process). After the
    commit, the changes the readers it moved have all taken in are dropped (``drop_taken_in``).
    """
    con.begin()
    try:
        yield con
        if has_pending_writes(con):
            with (commit_turn or partial(_process_turn, con))() as outside:
                file_changes(con, first_free_version(outside))
                con.commit()
        else:  # nothing to number (a reader with nothing new, the query copy's progress)
            con.commit()
    except BaseException:
        _roll_back(con)
        raise
    drop_taken_in(con)


_PROCESS_COMMITS = threading.Lock()


@contextmanager
def _process_turn(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """This process's commit turn on ``con``'s database, with a connection of its own."""
    with _PROCESS_COMMITS:
        outside = con.cursor()
        try:
            yield outside
        finally:
            outside.close()


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction; a commit that failed has already ended it."""
    try:
        con.rollback()
    except duckdb.TransactionException:
        pass


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, rows: pa.Table | pd.DataFrame) -> Iterator[str]:
    """``rows`` visible to SQL as ``name`` for the block. On an error the name is left for the
    next registration to replace: an aborted transaction takes no further statement."""
    con.register(name, rows)
    yield name
    con.unregister(name)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table | pd.DataFrame) -> int:
    """Insert rows into ``table`` by column name (DuckDB casts to the table's types); returns the count."""
    if len(rows) == 0:
        return 0
    with registered(con, "incoming_rows", rows):
        con.execute(f"insert into {table} by name select * from incoming_rows")
    return len(rows)


def in_days(column: str = "feed_date") -> str:
    """A filter on a list of days bound as one parameter, with its bounds first so that DuckDB
    skips the row groups outside them (zone maps)."""
    return (f"{column} between list_min(?::date[]) and list_max(?::date[]) "
            f"and {column} in (select unnest(?::date[]))")


def days_params(days: Iterable[dt.date]) -> list:
    """The parameters of ``in_days`` for ``days``."""
    listed = sorted(set(days))
    return [listed, listed, listed]


def replace_raw_dumps(con: duckdb.DuckDBPyConnection, slots: pd.DataFrame, dumps: pd.DataFrame) -> None:
    """Make ``dumps`` the dumps of each slot: a slot is a (``feed_date``, ``channel``, ``source``)
    whose rows are replaced, ``source`` null meaning every source of the channel (a day's inbox).

    A dump whose bytes were seen before keeps its first ``stored_at``, so re-loading the
    same files changes nothing.
    """
    if slots.empty:
        return
    version = next_version(con, "raw_dumps")
    with registered(con, "dump_slots", slots[["feed_date", "channel", "source"]].astype(object)), \
            registered(con, "incoming_dumps", dumps[TABLES["raw_dumps"].column_names].astype(object)):
        con.execute("""
            create or replace temp table replaced_dumps as
            select r.* from raw_dumps r join dump_slots s
              on r.feed_date = s.feed_date::date and r.channel = s.channel
             and (s.source is null or r.source = s.source)
        """)
        con.execute("""
            create or replace temp table new_dumps as
            select i.* replace (coalesce(first.stored_at, i.stored_at::timestamp) as stored_at)
            from incoming_dumps i
            left join (select sha256, min(stored_at) as stored_at from raw_dumps
                       where sha256 in (select sha256 from incoming_dumps) group by all) first using (sha256)
        """)
    record_changes(con, version, "raw_dumps", """
        select feed_date as day, null as paper_id from replaced_dumps
        union select feed_date::date, null from new_dumps
    """)
    con.execute("""
        delete from raw_dumps where (feed_date, channel, origin) in (
            select (feed_date, channel, origin) from replaced_dumps)
    """)
    con.execute("insert into raw_dumps by name select * from new_dumps")
    con.execute("drop table replaced_dumps")
    con.execute("drop table new_dumps")


def append_fetch_log(con: duckdb.DuckDBPyConnection, entries: pd.DataFrame) -> None:
    """Record HTTP responses (and failed requests) in the append-only ``fetch_log``."""
    if entries.empty:
        return
    version = next_version(con, "fetch_log")
    insert_rows(con, "fetch_log", entries[TABLES["fetch_log"].column_names].astype(object))
    record_changes(con, version, "fetch_log", "select unnest(?::date[]) as day, null as paper_id",
                   [sorted(set(entries["feed_date"]))])


@dataclass(frozen=True)
class EntriesWrite:
    """What replacing a range of days' entries did."""

    days: int
    entries: int
    rejected: int
    reresolved: int  # entries of other days whose paper or rule changed
    identity_seconds: float  # of the write, resolving identity (resolve_identities)


def replace_entries(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date], appearances: pa.Table,
                    rejections: pa.Table) -> EntriesWrite:
    """Replace the appearances and rejections of ``days`` and re-resolve the identity they affect.

    ``appearances`` has the appearance columns but ``paper_id`` and ``match_rule`` (decided
    here), ``rejections`` the columns of ``rejected_entries``. Every row must fall on one of
    ``days``; a day with no rows is emptied.
    """
    listed_days = days_params(days)
    appearances_version = next_version(con, "paper_appearances")
    con.execute(f"""
        create or replace temp table removed_appearances as
        select feed_date, paper_id, title_key, abstract_key from paper_appearances where {in_days()}
    """, listed_days)
    con.execute(f"delete from paper_appearances where {in_days()}", listed_days)
    with registered(con, "incoming_appearances", appearances):
        began = time.perf_counter()
        resolve_identities(con, incoming="incoming_appearances", removed="removed_appearances")
        identity_seconds = time.perf_counter() - began
        con.execute("""
            insert into paper_appearances by name
            select i.*, r.paper_id, r.match_rule
            from incoming_appearances i join identity_resolved r using (appearance_id)
        """)
    # the rows removed, the rows inserted, and the history rows whose paper or rule changed
    changed = """(incoming or old_paper_id is distinct from paper_id or old_match_rule is distinct from match_rule)"""
    record_changes(con, appearances_version, "paper_appearances", f"""
        select feed_date as day, paper_id from removed_appearances
        union select feed_date, paper_id from identity_resolved where {changed}
        union select feed_date, old_paper_id from identity_resolved where {changed} and old_paper_id is not null
    """)
    reresolved = con.execute("""
        select count(*) from identity_resolved
        where not incoming and old_paper_id is distinct from paper_id
    """).fetchone()[0]
    con.execute("drop table removed_appearances")

    rejections_version = next_version(con, "rejected_entries")
    record_changes(con, rejections_version, "rejected_entries",
                   "select unnest(?::date[]) as day, null as paper_id", [listed_days[0]])
    con.execute(f"delete from rejected_entries where {in_days()}", listed_days)
    insert_rows(con, "rejected_entries", rejections)
    return EntriesWrite(len(listed_days[0]), len(appearances), len(rejections), reresolved, identity_seconds)
