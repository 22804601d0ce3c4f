"""The tables built from the entries: distinct papers and per-day statistics.

Each brings itself up to date by pulling the changes of the tables it reads
(``warehouse.changes``) and rebuilding, set-based, only the papers or days they touch; a
first run rebuilds everything. Call each inside one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from feed_assets.warehouse.changes import next_version, pull, record_changes, record_everything, recorded_days
from feed_assets.warehouse.schema import sql_string
from feed_assets.warehouse.unique_ids import fingerprint, record_write

# How much a format is trusted for a paper's title, abstract and authors (lower is better).
FORMAT_AUTHORITY: dict[str, int] = {
    "arxiv_atom": 0,
    "arxiv_listing": 0,
    "hf_daily_papers": 1,
    "papers_page_metadata": 2,
    "papers_page": 2,
    "abstract_list": 3,
}


# a rebuild of many papers is done in parts of about this many appearances, so that each part's
# aggregation and joins fit the memory limit: papers split into ranges of their ids
# (``_id_ranges``). Measured on ten synthetic years at 768 MB: parts of 400,000 ran out of
# memory (a range's size is known to DuckDB, which then builds its joins on the texts), 300,000
# took 29.9 s with a peak of 1,407 MiB, 200,000 took 28.7 s and 1,366 MiB
APPEARANCES_PER_PART = 200_000
# widths of a format's authority and of a feed date's day number (days since 0001-01-01)
_RANK_DIGITS = 3
_DAY_DIGITS = 7


@dataclass(frozen=True)
class Refresh:
    """What a derived table's refresh did: how many keys it rebuilt, and the days they span."""

    rebuilt: int
    days: list[dt.date]
    full: bool


def _authority_case(column: str = "format") -> str:
    cases = " ".join(f"when '{name}' then {rank}" for name, rank in FORMAT_AUTHORITY.items())
    return f"(case {column} {cases} else {max(FORMAT_AUTHORITY.values()) + 1} end)"


def refresh_papers(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Rebuild the papers whose entries changed since the last refresh (all of them the first time).

    A paper's fields are chosen deterministically, so the result does not depend on the
    order days were loaded in: the title, abstract and authors come from the most trusted
    format that has them (arXiv, then the HF API, then pages), earliest day first.
    """
    changes = pull(con, "papers", ["paper_appearances"])
    version = next_version(con, "papers")
    ids_before = fingerprint(con, "papers")
    if changes.full:
        # every paper: no scope to match, and one change row telling the readers to rebuild
        con.execute("delete from papers")
        in_scope = "true"
        record_everything(con, version, "papers")
    else:
        con.execute(f"create or replace temp table papers_scope as "
                    f"select distinct paper_id from ({changes.papers('paper_appearances')})")
        # matched through a hash join, for a day's papers as for a backfill's: DuckDB 1.5.5
        # checks list_contains(?::varchar[], paper_id) item by item (a day's 1,200 papers
        # against ten years of appearances: 3.7 s a scan against 0.03 s for the join)
        in_scope = "paper_id in (select paper_id from papers_scope)"
        record_changes(con, version, "papers", f"select first_seen_date as day, paper_id from papers where {in_scope}")
        con.execute(f"delete from papers where {in_scope}")
    # an entry's rank for a paper's fields, as one string that sorts like (authority, feed_date,
    # appearance_id): fixed-width digits, then the id. min() of it picks the same entry as
    # arg_min over that struct, without carrying titles and abstracts through the aggregation
    # (ten years of abstracts are gigabytes); the chosen entries' fields are joined in after.
    rank = (f"lpad({_authority_case()}::varchar, {_RANK_DIGITS}, '0') "
            f"|| lpad(date_diff('day', date '0001-01-01', feed_date)::varchar, {_DAY_DIGITS}, '0') || appearance_id")
    rebuilt = sum(_insert_papers(con, part, rank) for part in _id_ranges(con, in_scope))
    if changes.full:
        days_sql = "select distinct first_seen_date from papers order by 1"
    else:
        record_changes(con, version, "papers", f"select first_seen_date as day, paper_id from papers where {in_scope}")
        days_sql = f"{recorded_days(version)} order by 1"
        con.execute("drop table papers_scope")
    days = [row[0] for row in con.execute(days_sql).fetchall()]
    record_write(con, "papers", ids_before)
    changes.done(con)
    return Refresh(rebuilt, days, changes.full)


def _id_ranges(con: duckdb.DuckDBPyConnection, in_scope: str) -> list[str]:
    """``in_scope`` cut into parts of about ``APPEARANCES_PER_PART`` appearances, by ranges of
    ``paper_id`` (a paper's appearances all fall in one part).

    Ranges rather than a hash of the id: ids follow the feed's days closely (arXiv ids are
    numbered by month), so a part's appearances lie in a few of the table's row groups, and
    DuckDB skips the others by their min/max ids instead of reading every title and abstract
    once per part. Measured on ten synthetic years (2.7 million appearances) with the run's
    settings: the papers' rebuild (``_insert_papers``) 28.7 s in 14 ranges against 55.5 s in
    7 parts by hash (51.5 s in 14), the same rows."""
    count = con.execute(f"select count(*) from paper_appearances where {in_scope}").fetchone()[0]
    parts = -(-count // APPEARANCES_PER_PART)
    if parts <= 1:
        return [in_scope]
    bounds = sorted(set(con.execute(
        f"select quantile_disc(paper_id, {[part / parts for part in range(1, parts)]}) "
        f"from paper_appearances where {in_scope}").fetchone()[0]))
    ranges = []
    for low, high in zip([None, *bounds], [*bounds, None]):
        limits = [f"paper_id >= {sql_string(low)}" if low is not None else "",
                  f"paper_id < {sql_string(high)}" if high is not None else ""]
        ranges.append(" and ".join([f"({in_scope})", *filter(None, limits)]))
    return ranges


def _insert_papers(con: duckdb.DuckDBPyConnection, in_scope: str, rank: str) -> int:
    """Insert the papers whose appearances match ``in_scope``; returns how many. The chosen
    entries' fields are joined in from the same scope."""
    chosen = f"[{_RANK_DIGITS + _DAY_DIGITS + 1}:]"
    fields = f"(select appearance_id, title, abstract, authors from paper_appearances where {in_scope})"
    return con.execute(f"""
        insert into papers
        with chosen as (
            select paper_id,
                   min(arxiv_id) as arxiv_id,
                   min(rank) filter (where has_title){chosen} as title_from,
                   min(rank) filter (where has_abstract){chosen} as abstract_from,
                   min(rank) filter (where has_authors){chosen} as authors_from,
                   min(feed_date) as first_seen_date,
                   max(feed_date) as last_seen_date,
                   count(*) as n_appearances,
                   count(distinct feed_date) as n_days,
                   list_sort(list_distinct(list(source))) as sources,
                   list_sort(list_distinct(list(format))) as formats,
                   list_sort(list_distinct(list(match_rule))) as match_rules,
                   max(upvotes) as max_upvotes
            from (select paper_id, arxiv_id, feed_date, source, format, match_rule, upvotes,
                         title is not null as has_title, abstract is not null as has_abstract,
                         len(authors) > 0 as has_authors,
                         {rank} as rank
                  from paper_appearances where {in_scope})
            group by paper_id
        )
        select c.paper_id, c.arxiv_id, t.title, a.abstract, coalesce(u.authors, []) as authors,
               c.first_seen_date, c.last_seen_date, c.n_appearances, c.n_days, c.sources, c.formats,
               c.match_rules, c.max_upvotes
        from chosen c
        left join {fields} t on t.appearance_id = c.title_from
        left join {fields} a on a.appearance_id = c.abstract_from
        left join {fields} u on u.appearance_id = c.authors_from
        order by c.first_seen_date
    """).fetchone()[0]


def refresh_daily_feed_stats(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Recompute the stats of every day whose dumps, entries or rejections changed, and of every
    day listing a paper that changed (its first-seen day may have moved, turning the day's
    new papers into repeats or back)."""
    changes = pull(con, "daily_feed_stats", ["raw_dumps", "paper_appearances", "rejected_entries", "papers"])
    version = next_version(con, "daily_feed_stats")
    if changes.full:
        scope = """select feed_date as day from raw_dumps union select feed_date from paper_appearances
                   union select feed_date from rejected_entries union select feed_date from daily_feed_stats"""
    else:
        scope = (changes.days("raw_dumps", "paper_appearances", "rejected_entries")
                 + " union select feed_date from paper_appearances where paper_id in ("
                 + changes.papers("papers") + ")")
    con.execute(f"create or replace temp table stat_days as select distinct day as feed_date from ({scope})")
    in_scope = "feed_date in (select feed_date from stat_days)"
    con.execute(f"delete from daily_feed_stats where {in_scope}")
    con.execute(f"""
        insert into daily_feed_stats
        with dumps as (
            select feed_date, source, count(*) as dumps from raw_dumps where {in_scope} group by all
        ), entries as (
            select a.feed_date, a.source, count(*) as entries,
                   count(distinct case when p.first_seen_date = a.feed_date then a.paper_id end) as new_papers,
                   count(distinct case when p.first_seen_date < a.feed_date then a.paper_id end) as repeat_papers
            from paper_appearances a join papers p on p.paper_id = a.paper_id
            where a.{in_scope} group by all
        ), rejected as (
            select feed_date, source, count(*) as rejected from rejected_entries where {in_scope} group by all
        )
        select feed_date, source,
               coalesce(dumps.dumps, 0), coalesce(entries.entries, 0),
               coalesce(entries.new_papers, 0), coalesce(entries.repeat_papers, 0),
               coalesce(rejected.rejected, 0)
        from dumps
        full outer join entries using (feed_date, source)
        full outer join rejected using (feed_date, source)
    """)
    record_changes(con, version, "daily_feed_stats", "select feed_date as day, null as paper_id from stat_days")
    days = [row[0] for row in con.execute("select feed_date from stat_days order by 1").fetchall()]
    con.execute("drop table stat_days")
    changes.done(con)
    return Refresh(len(days), days, changes.full)
