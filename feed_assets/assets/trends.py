"""Trends: what is rising in research, computed from the deduplicated papers (each paper counts
once, on the day it was first seen). Not partitioned: each table recomputes the days that the
changes it pulls touch, set-based."""

import base64
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from feed_assets.assets.ingestion import markdown_table
from feed_assets.assets.papers import derived_table, refresh_metadata
from feed_assets.reports.rising_terms_chart import render_rising_terms_chart
from feed_assets.resources import FeedStorage, TrendSettingsResource, Warehouse
from feed_assets.trends.significance import rising_terms_by_day
from feed_assets.warehouse.derived import Refresh
from feed_assets.warehouse.schema import column_schema_metadata
from feed_assets.warehouse.trends import (
    refresh_author_activity,
    refresh_category_trends,
    refresh_term_daily_counts,
    refresh_top_papers,
    refresh_trending_terms,
)

CHART_TERMS = 5
CHART_DAYS = 56

trend_asset = dict(group_name="trends", **derived_table)


@dg.asset(deps=["papers", "paper_appearances"], metadata=column_schema_metadata("term_daily_counts"), **trend_asset)
def term_daily_counts(warehouse: Warehouse) -> dg.MaterializeResult:
    """For each day, how many distinct papers first seen that day use each term.

    Text terms are normalized words and phrases of titles and abstracts (unigrams, bigrams
    and trigrams; stopwords and boilerplate removed, plurals folded, acronyms such as LLM,
    RLHF or DiT kept); HF ``ai_keywords`` and arXiv categories are counted apart, with
    their ``kind``. Also writes each day's number of new papers (``trend_day_totals``).
    Recounts the first-seen days of the papers that changed since the last run.
    """
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_term_daily_counts(con)
        top = con.execute("""
            select kind, term, papers from term_daily_counts where feed_date = ?
            order by papers desc, kind, term limit 15
        """, [refresh.days[-1] if refresh.days else None]).df()
        rows = con.execute("select count(*) from term_daily_counts").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        **refresh_metadata(refresh, "days"),
        "most_used_terms_last_day_touched": markdown_table(top, max_rows=15),
    })


@dg.asset(deps=["term_daily_counts"], metadata=column_schema_metadata("trending_terms"), **trend_asset)
def trending_terms(warehouse: Warehouse, storage: FeedStorage,
                   trend_settings: TrendSettingsResource) -> dg.MaterializeResult:
    """Terms used significantly more in the trailing window than in the baseline before it.

    For day T the window is the 7 days ending on T and the baseline the 28 days before
    (``TREND_WINDOW_DAYS``, ``TREND_BASELINE_DAYS``), both counted in papers first seen.
    Each term is tested with the exact conditional binomial test (is its share of papers
    higher in the window?) and the p-values are corrected with Benjamini-Hochberg across
    the day's terms of each kind; a term is a row when its q-value is at most the FDR level
    (0.05), it rose, and the window has at least ``min_support`` papers using it. ``score``
    is the effect size (smoothed log-odds ratio); ``rank`` 1 is the strongest. Recomputes
    every day whose window or baseline holds a recounted day. Renders the chart of the
    latest day's top rising terms to ``$FEED_DATA_DIR/reports/``.
    """
    config = trend_settings.settings()
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_trending_terms(con, config.window_days, config.baseline_days, config.min_total,
                                             lambda counts: rising_terms_by_day(counts, config))
        rows = con.execute("select count(*) from trending_terms").fetchone()[0]
        chart = rising_terms_report(con, storage, refresh)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        **refresh_metadata(refresh, "days"),
        **chart,
    })


def rising_terms_report(con: duckdb.DuckDBPyConnection, storage: FeedStorage, refresh: Refresh) -> dict:
    """The last recomputed day's top rising text terms, and a chart of their daily share."""
    if not refresh.days:
        return {}
    day = refresh.days[-1]
    top = con.execute("""
        select rank, term, round(score, 2) as score, window_count, baseline_count,
               round(100 * window_share, 2) as window_pct, round(100 * baseline_share, 2) as baseline_pct,
               q_value
        from trending_terms where feed_date = ? and kind = 'text' order by rank limit 10
    """, [day]).df()
    shares = con.execute("""
        select t.feed_date, terms.term, coalesce(c.papers, 0) / t.new_papers as share
        from trend_day_totals t
        cross join (select unnest(?::varchar[]) as term) terms
        left join term_daily_counts c on c.feed_date = t.feed_date and c.kind = 'text' and c.term = terms.term
        where t.feed_date between ? and ? and t.new_papers > 0
        order by t.feed_date
    """, [list(top["term"][:CHART_TERMS]), day - dt.timedelta(days=CHART_DAYS), day]).df()
    shares["term"] = pd.Categorical(shares["term"], categories=list(top["term"][:CHART_TERMS]), ordered=True)
    png = render_rising_terms_chart(shares.sort_values(["term", "feed_date"]).astype({"term": str}), day)
    chart_path = Path(storage.data_dir) / "reports" / f"rising-terms-{day.isoformat()}.png"
    chart_path.parent.mkdir(parents=True, exist_ok=True)
    chart_path.write_bytes(png)
    return {
        "chart_day": day.isoformat(),
        "top_rising_terms_of_chart_day": markdown_table(top),
        "chart": dg.MetadataValue.md(f"![rising terms](data:image/png;base64,{base64.b64encode(png).decode()})"),
        "chart_path": dg.MetadataValue.path(str(chart_path)),
    }


@dg.asset(deps=["papers", "paper_appearances"], metadata=column_schema_metadata("top_papers"), **trend_asset)
def top_papers(warehouse: Warehouse) -> dg.MaterializeResult:
    """The most upvoted papers of each day and of each ISO week (upvotes as last seen), with
    title, arXiv link, and the upvote history across fetches when a paper was seen more than once.
    Recomputes the days (and their weeks) that list a changed entry or paper."""
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_top_papers(con)
        week = con.execute("""
            select rank, title, upvotes, len(upvote_history) as fetches, arxiv_url from top_papers
            where period = 'week' and period_start = date_trunc('week', ?::date) order by rank
        """, [refresh.days[-1] if refresh.days else None]).df()
        rows = con.execute("select count(*) from top_papers").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        **refresh_metadata(refresh, "days"),
        "top_papers_of_the_last_week_touched": markdown_table(week),
    })


@dg.asset(deps=["papers"], metadata=column_schema_metadata("author_activity"), **trend_asset)
def author_activity(warehouse: Warehouse) -> dg.MaterializeResult:
    """Papers first seen per day and author (authors as the most trusted listing gives them)."""
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_author_activity(con)
        return tally_result(con, "author_activity", "author", refresh, "most_active_authors_of_days_touched")


@dg.asset(deps=["papers", "paper_appearances"], metadata=column_schema_metadata("category_trends"), **trend_asset)
def category_trends(warehouse: Warehouse) -> dg.MaterializeResult:
    """Papers first seen per day and arXiv category, with their share of the day's new papers
    (categories come from the arXiv listings and API; other sources carry none)."""
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_category_trends(con)
        return tally_result(con, "category_trends", "category", refresh, "top_categories_of_days_touched")


def tally_result(con: duckdb.DuckDBPyConnection, table: str, column: str, refresh: Refresh,
                 preview_name: str) -> dg.MaterializeResult:
    """A per-day tally's rows and the ten largest values over the days it recomputed."""
    top = con.execute(f"""
        select {column}, sum(papers) as papers from {table}
        where feed_date in (select unnest(?::date[])) group by {column} order by papers desc, {column} limit 10
    """, [refresh.days]).df()
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, **refresh_metadata(refresh, "days"), preview_name: markdown_table(top)})
