"""The warehouse's one write pattern: replace a day's rows in a single transaction.

Every function here runs inside one transaction and either commits all of its changes or
none (DuckDB rolls back on error), so a failed run leaves each table as it was before.
Work is queued between steps in ``refresh_queue`` inside the same transactions, so a run
that stops between ``paper_appearances`` and ``papers`` is completed by the next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pandas as pd

from feed_assets.identity.sql import RESOLVE_STATEMENTS
from feed_assets.warehouse import queue
from feed_assets.warehouse.queue import claim_days, queue_days, release_days

# How much a format is trusted for a paper's title, abstract and authors (lower is better).
FORMAT_AUTHORITY: dict[str, int] = {
    "arxiv_atom": 0,
    "arxiv_listing": 0,
    "hf_daily_papers": 1,
    "papers_page_metadata": 2,
    "papers_page": 2,
    "abstract_list": 3,
}

RAW_DUMP_COLUMNS = ("feed_date", "channel", "origin", "source", "format", "sha256", "size_bytes",
                    "raw_path", "stored_at")
APPEARANCE_COLUMNS = (
    "appearance_id", "feed_date", "source", "format", "dump_sha256", "position", "paper_id", "match_rule",
    "arxiv_id", "title", "abstract", "authors", "author_count", "organization", "published_date",
    "upvotes", "comments", "categories", "keywords", "page_date", "title_key", "abstract_key",
)
FETCH_LOG_COLUMNS = ("feed_date", "source", "url", "status", "attempts", "outcome", "problem", "sha256",
                     "size_bytes", "headers", "fetched_at")
REJECTION_COLUMNS = ("feed_date", "source", "format", "dump_sha256", "origin", "position", "location",
                     "reason", "excerpt")


@dataclass(frozen=True)
class DayWrite:
    """What replacing one day's entries did."""

    feed_date: dt.date
    entries: int
    rejected: int
    reresolved: int
    papers_queued: int
    changed_days: list[dt.date]  # the day itself, and days whose entries changed paper


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Commit on success, roll back on any error (and re-raise it)."""
    con.begin()
    try:
        yield con
    except BaseException:
        con.rollback()
        raise
    con.commit()


def _empty_frame(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype="object") for name in columns})


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Insert a DataFrame's rows by column name (DuckDB casts to the table's types)."""
    if frame.empty:
        return
    # a view registered on the connection; on error the transaction is rolled back and the
    # next registration replaces it
    con.register("incoming_rows", frame[list(columns)])
    con.execute(f"insert into {table} ({', '.join(columns)}) select {', '.join(columns)} from incoming_rows")
    con.unregister("incoming_rows")


def replace_raw_dumps(con: duckdb.DuckDBPyConnection, feed_date: dt.date, channel: str,
                      dumps: pd.DataFrame, source: str | None = None) -> None:
    """Make ``dumps`` the day's dumps for one channel (and one source, if given), in one transaction.

    A dump whose bytes were seen before keeps its first ``stored_at``, so re-loading the same
    files changes nothing.
    """
    with transaction(con):
        if not dumps.empty:
            con.register("incoming_dumps", dumps[list(RAW_DUMP_COLUMNS)])
            con.execute("""
                create or replace temp table day_dumps as
                select i.* replace (coalesce(
                    (select min(stored_at) from raw_dumps r where r.sha256 = i.sha256),
                    i.stored_at::timestamp) as stored_at)
                from incoming_dumps i
            """)
            con.unregister("incoming_dumps")
        con.execute("delete from raw_dumps where feed_date = ? and channel = ? and source = coalesce(?, source)",
                    [feed_date, channel, source])
        if not dumps.empty:
            con.execute(f"insert into raw_dumps ({', '.join(RAW_DUMP_COLUMNS)}) "
                        f"select {', '.join(RAW_DUMP_COLUMNS)} from day_dumps")
            con.execute("drop table day_dumps")


def has_dumps(con: duckdb.DuckDBPyConnection, feed_date: dt.date, channel: str, source: str) -> bool:
    """Whether the day already has dumps from this channel and source (a fetched day, say)."""
    return con.execute("select count(*) from raw_dumps where feed_date = ? and channel = ? and source = ?",
                       [feed_date, channel, source]).fetchone()[0] > 0


def append_fetch_log(con: duckdb.DuckDBPyConnection, entries: pd.DataFrame) -> None:
    """Record HTTP responses (and failed requests) in the append-only ``fetch_log``."""
    with transaction(con):
        insert_frame(con, "fetch_log", entries, FETCH_LOG_COLUMNS)


def replace_day_entries(con: duckdb.DuckDBPyConnection, feed_date: dt.date,
                        appearances: pd.DataFrame, rejections: pd.DataFrame) -> DayWrite:
    """Replace one day's appearances and rejections, re-resolve the identity they affect,
    and queue the papers and days to refresh, all in one transaction.

    ``appearances`` has APPEARANCE_COLUMNS (``paper_id`` and ``match_rule`` may be empty:
    identity decides them here), ``rejections`` has REJECTION_COLUMNS.
    """
    with transaction(con):
        con.execute("create or replace temp table touched_days as select ?::date as feed_date", [feed_date])
        con.execute("""
            create or replace temp table touched_keys as
            select arxiv_id, title_key, abstract_key, paper_id from paper_appearances
            where feed_date = ?
        """, [feed_date])
        con.execute("delete from paper_appearances where feed_date = ?", [feed_date])
        con.execute("delete from rejected_entries where feed_date = ?", [feed_date])
        insert_frame(con, "paper_appearances", appearances, APPEARANCE_COLUMNS)
        insert_frame(con, "rejected_entries", rejections, REJECTION_COLUMNS)
        con.execute("""
            insert into touched_keys
            select arxiv_id, title_key, abstract_key, null from paper_appearances where feed_date = ?
        """, [feed_date])
        for statement in RESOLVE_STATEMENTS:
            con.execute(statement)
        reresolved = con.execute("select count(*) from to_resolve").fetchone()[0]
        changed_days = [row[0] for row in con.execute("""
            with resolved as (
                select appearance_id, paper_id from paper_appearances
                where appearance_id in (select appearance_id from to_resolve)
            )
            select feed_date from touched_days
            union select r.feed_date from to_resolve r join resolved using (appearance_id)
                  where r.old_paper_id is distinct from resolved.paper_id
        """).fetchall()]
        con.execute("""
            create or replace temp table queued_papers as
            select paper_id from touched_keys where paper_id is not null
            union select old_paper_id from to_resolve where old_paper_id is not null
            union select paper_id from paper_appearances
                  where appearance_id in (select appearance_id from to_resolve)
        """)
        papers_queued = con.execute("select count(*) from queued_papers").fetchone()[0]
        con.execute(f"insert into refresh_queue select '{queue.PAPERS}', paper_id from queued_papers")
        queue_days(con, queue.APPEARANCE_DAY_CONSUMERS,
                   "select feed_date from to_resolve union select feed_date from touched_days")
        for temp in ("touched_days", "touched_keys", "to_resolve", "queued_papers"):
            con.execute(f"drop table {temp}")
    return DayWrite(feed_date, len(appearances), len(rejections), reresolved, papers_queued, changed_days)


def _authority_case(column: str = "format") -> str:
    cases = " ".join(f"when '{name}' then {rank}" for name, rank in FORMAT_AUTHORITY.items())
    return f"(case {column} {cases} else {max(FORMAT_AUTHORITY.values()) + 1} end)"


def refresh_papers(con: duckdb.DuckDBPyConnection) -> tuple[int, list[dt.date]]:
    """Rebuild the ``papers`` rows queued by day writes, in one transaction.

    Returns how many papers were rebuilt, and the first-seen days they left or joined.

    A paper's fields are chosen deterministically, so the result does not depend on the
    order days were loaded in: the title, abstract and authors come from the most trusted
    format that has them (arXiv, then the HF API, then pages), earliest day first.
    Also queues every day the refreshed papers appear on (their new/repeat counts may move)
    and every day they were or are first seen on (their trends may move).
    """
    best = f"({_authority_case()}, feed_date, appearance_id)"
    with transaction(con):
        con.execute("""
            create or replace temp table pending_papers as
            select distinct key as paper_id from refresh_queue where target = 'papers'
        """)
        refreshed = con.execute("select count(*) from pending_papers").fetchone()[0]
        queue_days(con, queue.APPEARANCE_DAY_CONSUMERS,
                   "select feed_date from paper_appearances where paper_id in (select paper_id from pending_papers)")
        first_seen = "select first_seen_date from papers where paper_id in (select paper_id from pending_papers)"
        queue_days(con, queue.FIRST_SEEN_DAY_CONSUMERS, first_seen)
        days = {row[0] for row in con.execute(first_seen).fetchall()}
        con.execute("delete from papers where paper_id in (select paper_id from pending_papers)")
        con.execute(f"""
            insert into papers
            select paper_id,
                   min(arxiv_id) as arxiv_id,
                   arg_min(title, {best}) filter (where title is not null) as title,
                   arg_min(abstract, {best}) filter (where abstract is not null) as abstract,
                   arg_min(authors, {best}) filter (where len(authors) > 0) as authors,
                   min(feed_date) as first_seen_date,
                   max(feed_date) as last_seen_date,
                   count(*) as n_appearances,
                   count(distinct feed_date) as n_days,
                   list_sort(list_distinct(list(source))) as sources,
                   list_sort(list_distinct(list(format))) as formats,
                   list_sort(list_distinct(list(match_rule))) as match_rules,
                   max(upvotes) as max_upvotes
            from paper_appearances
            where paper_id in (select paper_id from pending_papers)
            group by paper_id
        """)
        queue_days(con, queue.FIRST_SEEN_DAY_CONSUMERS, first_seen)
        days |= {row[0] for row in con.execute(first_seen).fetchall()}
        con.execute(f"""
            delete from refresh_queue
            where target = '{queue.PAPERS}' and key in (select paper_id from pending_papers)
        """)
        con.execute("drop table pending_papers")
    return refreshed, sorted(days)


def refresh_daily_feed_stats(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> list[dt.date]:
    """Recompute ``daily_feed_stats`` for ``days`` and for every queued day, in one transaction.

    Returns the days recomputed.
    """
    with transaction(con):
        recomputed = claim_days(con, "daily_feed_stats", days, table="stat_days")
        con.execute("delete from daily_feed_stats where feed_date in (select feed_date from stat_days)")
        con.execute("""
            insert into daily_feed_stats
            with dumps as (
                select feed_date, source, count(*) as dumps from raw_dumps
                where feed_date in (select feed_date from stat_days) group by all
            ), entries as (
                select a.feed_date, a.source, count(*) as entries,
                       count(distinct case when p.first_seen_date = a.feed_date then a.paper_id end) as new_papers,
                       count(distinct case when p.first_seen_date < a.feed_date then a.paper_id end) as repeat_papers
                from paper_appearances a join papers p on p.paper_id = a.paper_id
                where a.feed_date in (select feed_date from stat_days) group by all
            ), rejected as (
                select feed_date, source, count(*) as rejected from rejected_entries
                where feed_date in (select feed_date from stat_days) group by all
            )
            select feed_date, source,
                   coalesce(dumps.dumps, 0), coalesce(entries.entries, 0),
                   coalesce(entries.new_papers, 0), coalesce(entries.repeat_papers, 0),
                   coalesce(rejected.rejected, 0)
            from dumps
            full outer join entries using (feed_date, source)
            full outer join rejected using (feed_date, source)
        """)
        release_days(con, "daily_feed_stats", table="stat_days")
    return recomputed
