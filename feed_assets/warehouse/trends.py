"""Writes of the trend tables: each pulls the changes of the tables it reads, works out the days
they touch, and rebuilds those days set-based, in the caller's transaction.

A paper counts once, on the day it was first seen. Terms are extracted and counted in SQL
(``trends.term_sql``); the statistics of rising terms are pure code passed in
(``trends.significance``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb
import pandas as pd
import pyarrow as pa

from feed_assets.trends.term_sql import count_terms
from feed_assets.trends.windows import windowed_counts
from feed_assets.warehouse.changes import Pull, next_version, pull, record_changes
from feed_assets.warehouse.derived import Refresh
from feed_assets.warehouse.schema import TABLES
from feed_assets.warehouse.writes import insert_rows

RisingTerms = Callable[[pd.DataFrame], pd.DataFrame]
TOP_PAPERS_PER_PERIOD = 10
# papers whose terms are counted per statement (about a month of arXiv): see term_sql.py
TERM_CHUNK_PAPERS = 20_000
# trend days computed per statement: bounds the memory of the windowed counts
TREND_DAYS_PER_BATCH = 31

# the papers first seen on the days of temp table ``trend_days`` (and between two bound dates,
# for FIRST_SEEN_PAPERS_BETWEEN), with the keywords and categories of all their listings
_FIRST_SEEN_PAPERS = """
    with day_papers as (
        select paper_id, first_seen_date, title, abstract, authors from papers
        where first_seen_date in (select feed_date from trend_days) {between}
    ), tags as (
        select paper_id, list_sort(list_distinct(flatten(list(keywords)))) as keywords,
               list_sort(list_distinct(flatten(list(categories)))) as categories
        from paper_appearances where paper_id in (select paper_id from day_papers)
        group by paper_id
    )
    select d.paper_id, d.first_seen_date, d.title, d.abstract, d.authors,
           coalesce(t.keywords, []) as keywords, coalesce(t.categories, []) as categories
    from day_papers d left join tags t using (paper_id)
"""
FIRST_SEEN_PAPERS = _FIRST_SEEN_PAPERS.format(between="")
FIRST_SEEN_PAPERS_BETWEEN = _FIRST_SEEN_PAPERS.format(between="and first_seen_date between ? and ?")


def _first_seen_days(con: duckdb.DuckDBPyConnection, changes: Pull, table: str) -> None:
    """Fill temp table ``trend_days`` with the days the changes touch: the first-seen days of the
    changed papers, and the changed days of any other table pulled (on a first run: every
    first-seen day, every day of those tables and every day ``table`` has)."""
    others = [name for name in changes.tables if name != "papers"]
    if changes.full:
        scope = " union ".join(["select first_seen_date as day from papers", f"select feed_date from {table}",
                                *(f"select feed_date from {name}" for name in others)])
    else:
        scope = changes.days(*changes.tables)
    con.execute(f"create or replace temp table trend_days as select distinct day as feed_date from ({scope})")


def _replace_days(con: duckdb.DuckDBPyConnection, table: str, version: int, day_column: str = "feed_date") -> None:
    """Delete ``table``'s rows on the days of ``trend_days`` and record those days as changed."""
    con.execute(f"delete from {table} where {day_column} in (select feed_date from trend_days)")
    record_changes(con, version, table, "select feed_date as day, null as paper_id from trend_days")


def _days(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return [row[0] for row in con.execute("select feed_date from trend_days order by 1").fetchall()]


def refresh_term_daily_counts(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Recount, for every first-seen day the papers' changes touch, the papers using each term,
    and the day's number of new papers (``trend_day_totals``, also 0 for a loaded day that
    brought no new paper, so that every feed day is a day of the trend windows).

    Terms are extracted and counted in SQL (``trends.term_sql``), one statement per chunk of
    days holding about ``TERM_CHUNK_PAPERS`` papers: a statement has a fixed cost, and a
    chunk's groups are held in memory.
    """
    changes = pull(con, "term_daily_counts", ["papers", "raw_dumps"])
    _first_seen_days(con, changes, "term_daily_counts")
    for table in ("term_daily_counts", "trend_day_totals"):
        _replace_days(con, table, next_version(con, table))
    con.execute("""
        insert into trend_day_totals
        select d.feed_date, count(p.paper_id) from trend_days d
        left join papers p on p.first_seen_date = d.feed_date group by all
    """)
    totals = con.execute("select feed_date, new_papers from trend_day_totals "
                         "where feed_date in (select feed_date from trend_days) order by 1").fetchall()
    for first, last in _chunks(totals, TERM_CHUNK_PAPERS):
        count_terms(con, f"select paper_id, first_seen_date as feed_date, title, abstract, keywords, categories "
                         f"from ({FIRST_SEEN_PAPERS_BETWEEN})", "term_daily_counts", [first, last])
    days = [day for day, _ in totals]
    changes.done(con)
    return Refresh(len(days), days, changes.full)


def _chunks(day_counts: list[tuple[dt.date, int]], most: int) -> list[tuple[dt.date, dt.date]]:
    """Consecutive runs of days (first, last) holding at most ``most`` papers each (a day with
    more is a run of its own)."""
    runs: list[list[dt.date]] = []
    held = 0
    for day, papers in day_counts:
        if not runs or held + papers > most:
            runs.append([])
            held = 0
        runs[-1].append(day)
        held += papers
    return [(run[0], run[-1]) for run in runs]


def refresh_trending_terms(con: duckdb.DuckDBPyConnection, window_days: int, baseline_days: int,
                           min_total: int, rising: RisingTerms) -> Refresh:
    """Rebuild ``trending_terms`` for every day whose window or baseline includes a recounted day.

    For day T the window is the ``window_days`` ending on T and the baseline the
    ``baseline_days`` before it. Days are computed in batches of ``TREND_DAYS_PER_BATCH``; a
    run of consecutive days reads the counts of its spans once and sums them with cumulative
    sums (``trends.windows``), rather than joining every day with each day of its span.
    """
    span = window_days + baseline_days
    changes = pull(con, "trending_terms", ["term_daily_counts", "trend_day_totals"])
    last_day = "(select max(feed_date) from trend_day_totals)"
    if changes.full:
        scope = f"select unnest(range((select min(feed_date) from trend_day_totals), {last_day} + 1, interval 1 day))"
    else:
        scope = f"""select changed.day + offset_days::integer from ({changes.days('term_daily_counts',
                    'trend_day_totals')}) changed, range(0, {span}) as offsets(offset_days)"""
    con.execute(f"""
        create or replace temp table trend_days as
        select distinct day::date as feed_date from ({scope}) as targets(day) where day::date <= {last_day}
    """)
    version = next_version(con, "trending_terms")
    _replace_days(con, "trending_terms", version)
    days = _days(con)
    for start in range(0, len(days), TREND_DAYS_PER_BATCH):
        batch = days[start:start + TREND_DAYS_PER_BATCH]
        counts = _windowed_counts(con, batch, window_days, baseline_days, min_total)
        insert_rows(con, "trending_terms", rising(counts)[TABLES["trending_terms"].column_names])
    changes.done(con)
    return Refresh(len(days), days, changes.full)


def _windowed_counts(con: duckdb.DuckDBPyConnection, batch: list[dt.date], window_days: int, baseline_days: int,
                     min_total: int) -> pd.DataFrame:
    """Each day of ``batch`` (sorted) with its papers in the window and baseline, and every term
    that reaches ``min_total`` papers in the day's span with its counts in both: the input of
    ``RisingTerms``."""
    span = window_days + baseline_days
    totals = con.execute(f"""
        select t.day,
               coalesce(sum(d.new_papers) filter (where d.feed_date > t.day - {window_days}), 0) as window_papers,
               coalesce(sum(d.new_papers) filter (where d.feed_date <= t.day - {window_days}), 0) as baseline_papers
        from (select unnest(?::date[]) as day) t
        join trend_day_totals d on d.feed_date between t.day - {span - 1} and t.day
        group by t.day
    """, [batch]).fetchall()
    totals_of = {day: (int(window), int(baseline)) for day, window, baseline in totals}
    windowed = []
    for run in _consecutive_runs(batch):
        # the run's terms that reach min_total papers over its spans, numbered from 0
        in_spans = f"feed_date between ?::date - {span - 1} and ?::date"
        con.execute(f"""
            create or replace temp table window_terms as
            select kind, term, (row_number() over () - 1)::bigint as term_index
            from term_daily_counts where {in_spans} group by kind, term having sum(papers) >= {min_total}
        """, [run[0], run[-1]])
        counts_of_run = con.sql(f"""
            select c.feed_date, t.term_index, c.papers from term_daily_counts c join window_terms t using (kind, term)
            where c.{in_spans}
        """, params=[run[0], run[-1]]).to_arrow_table()
        terms = con.sql("select kind, term from window_terms order by term_index").to_arrow_table()
        windowed.append(windowed_counts(counts_of_run, terms, run, totals_of, window_days, baseline_days,
                                        min_total))
    con.execute("drop table if exists window_terms")
    return con.from_arrow(pa.concat_tables(windowed)).df()


def _consecutive_runs(days: list[dt.date]) -> list[list[dt.date]]:
    """Sorted days cut into runs of consecutive days: a run's windows share their days' counts."""
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and day == runs[-1][-1] + dt.timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _refresh_first_seen_tally(con: duckdb.DuckDBPyConnection, table: str, insert_sql: str) -> Refresh:
    """Rebuild a per-day tally of papers by first-seen day: delete the days the papers' changes
    touch (temp table ``trend_days``) and run ``insert_sql`` for them."""
    changes = pull(con, table, ["papers"])
    _first_seen_days(con, changes, table)
    _replace_days(con, table, next_version(con, table))
    con.execute(insert_sql)
    days = _days(con)
    changes.done(con)
    return Refresh(len(days), days, changes.full)


def refresh_author_activity(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Papers first seen per day and author, for the first-seen days the papers' changes touch."""
    return _refresh_first_seen_tally(con, "author_activity", """
        insert into author_activity
        select first_seen_date, author, count(distinct paper_id)
        from (select first_seen_date, paper_id, unnest(authors) as author from papers
              where first_seen_date in (select feed_date from trend_days))
        where author is not null and author <> ''
        group by all
    """)


def refresh_category_trends(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Papers first seen per day and arXiv category, with their share of the day's new papers."""
    return _refresh_first_seen_tally(con, "category_trends", f"""
        insert into category_trends
        with papers_of_days as ({FIRST_SEEN_PAPERS}),
        totals as (select first_seen_date, count(*) as new_papers from papers_of_days group by all)
        select p.first_seen_date, category, count(*) as papers, count(*) / any_value(t.new_papers) as share
        from (select first_seen_date, paper_id, unnest(categories) as category from papers_of_days) p
        join totals t using (first_seen_date)
        group by all
    """)


def refresh_top_papers(con: duckdb.DuckDBPyConnection, per_period: int = TOP_PAPERS_PER_PERIOD) -> Refresh:
    """The most upvoted papers (upvotes as last seen) of each day and ISO week that lists a
    changed entry or a changed paper. A paper's history lists every fetch that saw an upvote
    count, so growth across re-fetches is visible."""
    changes = pull(con, "top_papers", ["paper_appearances", "papers"])
    scope = ("select feed_date as day from paper_appearances union select period_start from top_papers"
             if changes.full else
             changes.days("paper_appearances") + " union select feed_date from paper_appearances where paper_id in ("
             + changes.papers("papers") + ")")
    con.execute(f"""
        create or replace temp table top_periods as
        with days as (select distinct day from ({scope}) where day is not null)
        select 'day' as period, day as period_start, day as first_day, day as last_day from days
        union
        select 'week', date_trunc('week', day)::date, date_trunc('week', day)::date,
               date_trunc('week', day)::date + 6
        from days
    """)
    version = next_version(con, "top_papers")
    con.execute("delete from top_papers where (period, period_start) in (select (period, period_start) from top_periods)")
    record_changes(con, version, "top_papers", "select distinct period_start as day, null as paper_id from top_periods")
    con.execute(f"""
        insert into top_papers
        with listed as (
            select distinct t.period, t.period_start, a.paper_id
            from top_periods t join paper_appearances a
              on a.feed_date between t.first_day and t.last_day
            where a.upvotes is not null
        ), history as (
            select paper_id,
                   arg_max(upvotes, (feed_date, appearance_id)) as upvotes,
                   list({{'feed_date': feed_date, 'upvotes': upvotes}} order by feed_date, appearance_id)
                       as upvote_history
            from paper_appearances
            where upvotes is not null and paper_id in (select paper_id from listed)
            group by paper_id
        ), ranked as (
            select l.period, l.period_start, l.paper_id, h.upvotes, h.upvote_history,
                   row_number() over (partition by l.period, l.period_start
                                      order by h.upvotes desc, l.paper_id) as rank
            from listed l join history h using (paper_id)
        )
        select r.period, r.period_start, r.rank, r.paper_id, p.title,
               case when p.arxiv_id is not null then 'https://arxiv.org/abs/' || p.arxiv_id end,
               r.upvotes, r.upvote_history
        from ranked r join papers p using (paper_id)
        where r.rank <= {per_period}
    """)
    days = [row[0] for row in con.execute(
        "select distinct period_start from top_periods where period = 'day' order by 1").fetchall()]
    con.execute("drop table top_periods")
    changes.done(con)
    return Refresh(len(days), days, changes.full)
