"""Trends: what is rising in research, computed from the deduplicated papers (each paper counts
once, on the day it was first seen), day by day, reading only the window each day needs."""

import base64
import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd

from feed_assets import settings
from feed_assets.assets.ingestion import markdown_table
from feed_assets.assets.papers import WAREHOUSE_FRESHNESS
from feed_assets.partitions import daily_partitions, partition_days
from feed_assets.reports.rising_terms_chart import render_rising_terms_chart
from feed_assets.resources import WAREHOUSE_POOL, FeedStorage, TrendSettingsResource, Warehouse
from feed_assets.trends.significance import rising_terms
from feed_assets.trends.terms import paper_terms
from feed_assets.warehouse.publish import publish
from feed_assets.warehouse.trends import (
    refresh_author_activity,
    refresh_category_trends,
    refresh_term_daily_counts,
    refresh_top_papers,
    refresh_trending_terms,
)

TREND_SPAN_DAYS = settings.trend_window_days() + settings.trend_baseline_days()
CHART_TERMS = 5
CHART_DAYS = 56

trend_asset = dict(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="trends",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    freshness_policy=WAREHOUSE_FRESHNESS,
)


@dg.asset(deps=["papers", "paper_appearances"], **trend_asset)
def term_daily_counts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """For each day, how many distinct papers first seen that day use each term.

    Text terms are normalized words and phrases of titles and abstracts (unigrams, bigrams
    and trigrams; stopwords and boilerplate removed, plurals folded, acronyms such as LLM,
    RLHF or DiT kept); HF ``ai_keywords`` and arXiv categories are counted apart, with
    their ``kind``. Also writes each day's number of new papers (``trend_day_totals``).
    """
    with warehouse.connection() as con:
        days = refresh_term_daily_counts(con, partition_days(context), paper_terms, TREND_SPAN_DAYS)
        publish(con, warehouse.data_dir, {"term_daily_counts": days, "trend_day_totals": days})
        top = con.execute("""
            select kind, term, papers from term_daily_counts where feed_date = ?
            order by papers desc, kind, term limit 15
        """, [max(partition_days(context))]).df()
        rows = con.execute("select count(*) from term_daily_counts where feed_date in (select unnest(?::date[]))",
                           [days]).fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "days_recounted": len(days),
        "most_used_terms_last_day": markdown_table(top, max_rows=15),
    })


@dg.asset(
    deps=[dg.AssetDep("term_daily_counts", partition_mapping=dg.TimeWindowPartitionMapping(
        start_offset=-(TREND_SPAN_DAYS - 1), end_offset=0))],
    **trend_asset,
)
def trending_terms(context: dg.AssetExecutionContext, warehouse: Warehouse, storage: FeedStorage,
                   trend_settings: TrendSettingsResource) -> dg.MaterializeResult:
    """Terms used significantly more in the trailing window than in the baseline before it.

    For day T the window is the 7 days ending on T and the baseline the 28 days before
    (``TREND_WINDOW_DAYS``, ``TREND_BASELINE_DAYS``), both counted in papers first seen.
    Each term is tested with the exact conditional binomial test (is its share of papers
    higher in the window?) and the p-values are corrected with Benjamini-Hochberg across
    the day's terms of each kind; a term is a row when its q-value is at most the FDR level
    (0.05), it rose, and the window has at least ``min_support`` papers using it. ``score``
    is the effect size (smoothed log-odds ratio); ``rank`` 1 is the strongest. Renders the
    chart of the top rising terms' daily share to ``$FEED_DATA_DIR/reports/``.
    """
    config = trend_settings.settings()
    with warehouse.connection() as con:
        written = refresh_trending_terms(
            con, partition_days(context), config.window_days, config.baseline_days,
            lambda counts, window_papers, baseline_papers: rising_terms(counts, window_papers, baseline_papers,
                                                                        config))
        publish(con, warehouse.data_dir, {"trending_terms": written})
        day = max(partition_days(context))
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
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(written.values()),
        "days_recomputed": len(written),
        "top_rising_terms_last_day": markdown_table(top),
        "chart": dg.MetadataValue.md(f"![rising terms](data:image/png;base64,{base64.b64encode(png).decode()})"),
        "chart_path": dg.MetadataValue.path(str(chart_path)),
    })


@dg.asset(deps=["papers", "paper_appearances"], **trend_asset)
def top_papers(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The most upvoted papers of each day and of each ISO week (upvotes as last seen), with
    title, arXiv link, and the upvote history across fetches when a paper was seen more than once."""
    with warehouse.connection() as con:
        days = refresh_top_papers(con, partition_days(context))
        publish(con, warehouse.data_dir, {"top_papers": set(days) | {d - dt.timedelta(days=d.weekday()) for d in days}})
        week = con.execute("""
            select rank, title, upvotes, len(upvote_history) as fetches, arxiv_url from top_papers
            where period = 'week' and period_start = date_trunc('week', ?::date) order by rank
        """, [max(partition_days(context))]).df()
        rows = con.execute("select count(*) from top_papers").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "days_recomputed": len(days),
        "top_papers_of_the_week": markdown_table(week),
    })


@dg.asset(deps=["papers"], **trend_asset)
def author_activity(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Papers first seen per day and author (authors as the most trusted listing gives them)."""
    run_days = partition_days(context)
    with warehouse.connection() as con:
        days = refresh_author_activity(con, run_days)
        return tally_result(con, warehouse.data_dir, "author_activity", "author", days, run_days,
                            "most_active_authors_in_run")


@dg.asset(deps=["papers", "paper_appearances"], **trend_asset)
def category_trends(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Papers first seen per day and arXiv category, with their share of the day's new papers
    (categories come from the arXiv listings and API; other sources carry none)."""
    run_days = partition_days(context)
    with warehouse.connection() as con:
        days = refresh_category_trends(con, run_days)
        return tally_result(con, warehouse.data_dir, "category_trends", "category", days, run_days,
                            "top_categories_in_run")


def tally_result(con: duckdb.DuckDBPyConnection, data_dir: Path, table: str, column: str, days: list[dt.date],
                 run_days: list[dt.date], preview_name: str) -> dg.MaterializeResult:
    """Publish a per-day tally's rebuilt days; report its rows and the run's ten largest values."""
    publish(con, data_dir, {table: days})
    top = con.execute(f"""
        select {column}, sum(papers) as papers from {table}
        where feed_date between ? and ? group by {column} order by papers desc, {column} limit 10
    """, [min(run_days), max(run_days)]).df()
    rows = con.execute(f"select count(*) from {table}").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "days_recomputed": len(days), preview_name: markdown_table(top)})
