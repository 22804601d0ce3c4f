"""Writes of the trend tables: each rebuilds its days (the run's and the queued ones) in one
transaction per day set, reading only the papers and window of days it needs.

The term extraction and the statistics are pure functions passed in (``feed_assets.trends``);
this module only moves rows in and out of DuckDB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

import duckdb
import pandas as pd

from feed_assets.warehouse.queue import claim_days, queue_days, release_days
from feed_assets.warehouse.writes import insert_frame, transaction

TermExtractor = Callable[[str | None, str | None, Iterable[str], Iterable[str]], list[tuple[str, str]]]
RisingTerms = Callable[[pd.DataFrame, int, int], pd.DataFrame]
TRENDING_COLUMNS = ("feed_date", "kind", "term", "rank", "score", "p_value", "q_value", "window_count",
                    "baseline_count", "window_share", "baseline_share", "window_papers", "baseline_papers")
TOP_PAPERS_PER_PERIOD = 10

# the papers first seen on the claimed days, with the keywords and categories of all their listings
FIRST_SEEN_PAPERS = """
    with day_papers as (
        select paper_id, first_seen_date, title, abstract, authors from papers
        where first_seen_date in (select feed_date from claimed_days)
    ), tags as (
        select paper_id, list_sort(list_distinct(flatten(list(keywords)))) as keywords,
               list_sort(list_distinct(flatten(list(categories)))) as categories
        from paper_appearances where paper_id in (select paper_id from day_papers)
        group by paper_id
    )
    select d.paper_id, d.first_seen_date, d.title, d.abstract, d.authors,
           coalesce(t.keywords, []) as keywords, coalesce(t.categories, []) as categories
    from day_papers d left join tags t using (paper_id)
    order by d.first_seen_date, d.paper_id
"""


def refresh_term_daily_counts(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date],
                              extract: TermExtractor, window_span: int) -> list[dt.date]:
    """Count, for the run's and the queued days, the papers first seen that day using each term.

    Also writes the day's number of new papers (``trend_day_totals``), and queues for
    ``trending_terms`` every day whose window (``window_span`` days) includes a recounted day.
    Returns the days recounted.
    """
    with transaction(con):
        claimed = claim_days(con, "term_daily_counts", days)
        papers = con.execute(FIRST_SEEN_PAPERS).fetchall()
        rows = [(first_seen, kind, term)
                for _, first_seen, title, abstract, _, keywords, categories in papers
                for kind, term in extract(title, abstract, keywords, categories)]
        terms = pd.DataFrame(rows, columns=["feed_date", "kind", "term"])
        counts = terms.groupby(["feed_date", "kind", "term"]).size().rename("papers").reset_index()
        totals = pd.DataFrame([(day, sum(1 for p in papers if p[1] == day)) for day in claimed],
                              columns=["feed_date", "new_papers"])
        con.execute("delete from term_daily_counts where feed_date in (select feed_date from claimed_days)")
        con.execute("delete from trend_day_totals where feed_date in (select feed_date from claimed_days)")
        insert_frame(con, "term_daily_counts", counts.astype(object), ["feed_date", "kind", "term", "papers"])
        insert_frame(con, "trend_day_totals", totals.astype(object), ["feed_date", "new_papers"])
        queue_days(con, ["trending_terms"], f"""
            select distinct c.feed_date + offset_days::integer
            from claimed_days c, range(0, {window_span}) as offsets(offset_days)
            where c.feed_date + offset_days::integer <= (select max(feed_date) from trend_day_totals)
        """)
        release_days(con, "term_daily_counts")
    return claimed


def refresh_trending_terms(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date], window_days: int,
                           baseline_days: int, rising: RisingTerms) -> dict[dt.date, int]:
    """Rebuild ``trending_terms`` for the run's and the queued days, one transaction per day.

    For day T the window is the ``window_days`` ending on T and the baseline the
    ``baseline_days`` before it; only those days' counts are read. Returns rows per day.
    """
    with transaction(con):
        claimed = claim_days(con, "trending_terms", days, table="trending_claim")
        con.execute("drop table trending_claim")
    written = {}
    for day in claimed:
        window_start = day - dt.timedelta(days=window_days - 1)
        baseline_start = window_start - dt.timedelta(days=baseline_days)
        with transaction(con):
            window_papers, baseline_papers = con.execute("""
                select coalesce(sum(new_papers) filter (where feed_date >= ?), 0),
                       coalesce(sum(new_papers) filter (where feed_date < ?), 0)
                from trend_day_totals where feed_date between ? and ?
            """, [window_start, window_start, baseline_start, day]).fetchone()
            counts = con.execute("""
                select kind, term,
                       coalesce(sum(papers) filter (where feed_date >= ?), 0)::integer as window_count,
                       coalesce(sum(papers) filter (where feed_date < ?), 0)::integer as baseline_count
                from term_daily_counts where feed_date between ? and ?
                group by kind, term
            """, [window_start, window_start, baseline_start, day]).df()
            rising_rows = rising(counts, int(window_papers), int(baseline_papers))
            rising_rows.insert(0, "feed_date", day)
            rising_rows["window_papers"] = int(window_papers)
            rising_rows["baseline_papers"] = int(baseline_papers)
            con.execute("delete from trending_terms where feed_date = ?", [day])
            insert_frame(con, "trending_terms", rising_rows.astype(object), TRENDING_COLUMNS)
            con.execute("delete from refresh_queue where target = 'trending_terms' and key = ?", [day.isoformat()])
        written[day] = len(rising_rows)
    return written


def refresh_author_activity(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> list[dt.date]:
    """Papers first seen per day and author, for the run's and the queued days."""
    with transaction(con):
        claimed = claim_days(con, "author_activity", days)
        con.execute("delete from author_activity where feed_date in (select feed_date from claimed_days)")
        con.execute("""
            insert into author_activity
            select first_seen_date, author, count(distinct paper_id)
            from (select first_seen_date, paper_id, unnest(authors) as author from papers
                  where first_seen_date in (select feed_date from claimed_days))
            where author is not null and author <> ''
            group by all
        """)
        release_days(con, "author_activity")
    return claimed


def refresh_category_trends(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date]) -> list[dt.date]:
    """Papers first seen per day and arXiv category, with their share of the day's new papers."""
    with transaction(con):
        claimed = claim_days(con, "category_trends", days)
        con.execute("delete from category_trends where feed_date in (select feed_date from claimed_days)")
        con.execute(f"""
            insert into category_trends
            with papers_of_days as ({FIRST_SEEN_PAPERS}),
            totals as (select first_seen_date, count(*) as new_papers from papers_of_days group by all)
            select p.first_seen_date, category, count(*) as papers, count(*) / any_value(t.new_papers) as share
            from (select first_seen_date, paper_id, unnest(categories) as category from papers_of_days) p
            join totals t using (first_seen_date)
            group by all
        """)
        release_days(con, "category_trends")
    return claimed


def refresh_top_papers(con: duckdb.DuckDBPyConnection, days: Sequence[dt.date],
                       per_period: int = TOP_PAPERS_PER_PERIOD) -> list[dt.date]:
    """The most upvoted papers (upvotes as last seen) of each claimed day and of its ISO week.

    A paper's history lists every fetch that saw an upvote count, so growth across
    re-fetches is visible.
    """
    with transaction(con):
        claimed = claim_days(con, "top_papers", days)
        con.execute("""
            create or replace temp table top_periods as
            select 'day' as period, feed_date as period_start, feed_date as first_day, feed_date as last_day
            from claimed_days
            union
            select 'week', date_trunc('week', feed_date)::date, date_trunc('week', feed_date)::date,
                   date_trunc('week', feed_date)::date + 6
            from claimed_days
        """)
        con.execute("""
            delete from top_papers
            where (period, period_start) in (select (period, period_start) from top_periods)
        """)
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
        con.execute("drop table top_periods")
        release_days(con, "top_papers")
    return claimed
