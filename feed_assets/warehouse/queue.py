"""The refresh queue: work one step leaves for the next, written in the same transaction.

A day's write changes which papers exist and when each was first seen; the tables built
from them (papers, stats, trends) must follow, including for days outside the run (loading
an older day turns another day's new papers into repeats). Each writer queues the keys it
affected for each consumer by name; each consumer takes its keys, rebuilds them and clears
them in one transaction. A crash between steps leaves the queue full, so the next run
finishes the work: tables never depend on the order days were loaded in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import duckdb

PAPERS = "papers"
# consumers of the days on which a refreshed paper appears
APPEARANCE_DAY_CONSUMERS = ("daily_feed_stats", "top_papers")
# consumers of the days on which a refreshed paper was, or now is, first seen
FIRST_SEEN_DAY_CONSUMERS = ("term_daily_counts", "author_activity", "category_trends")


def queue_days(con: duckdb.DuckDBPyConnection, consumers: Iterable[str], days_sql: str,
               params: Sequence[object] = ()) -> None:
    """Queue, for each consumer, the distinct days returned by ``days_sql`` (one date column)."""
    for consumer in consumers:
        con.execute(f"""
            insert into refresh_queue
            select distinct '{consumer}', strftime(day, '%Y-%m-%d') from ({days_sql}) as queued(day)
            where day is not null
        """, list(params))


def claim_days(con: duckdb.DuckDBPyConnection, consumer: str, days: Sequence[dt.date],
               table: str = "claimed_days") -> list[dt.date]:
    """Make temp table ``table(feed_date)`` hold ``days`` and the consumer's queued days; return them."""
    con.execute(f"create or replace temp table {table} (feed_date date)")
    if days:
        con.executemany(f"insert into {table} values (?)", [[day] for day in days])
    con.execute(f"insert into {table} select key::date from refresh_queue where target = ?", [consumer])
    con.execute(f"create or replace temp table {table} as select distinct feed_date from {table}")
    return [row[0] for row in con.execute(f"select feed_date from {table} order by 1").fetchall()]


def release_days(con: duckdb.DuckDBPyConnection, consumer: str, table: str = "claimed_days") -> None:
    """Clear the consumer's queued days that ``table`` holds, and drop the table."""
    con.execute(f"delete from refresh_queue where target = ? and key::date in (select feed_date from {table})",
                [consumer])
    con.execute(f"drop table {table}")
