"""Trends: what is rising in research, computed from the deduplicated papers (each paper counts
once, on the day it was first seen). Not partitioned: each table recomputes the days that the
changes it pulls touch, set-based."""

import base64
import importlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import dagster as dg
import duckdb
import pandas as pd

from feed_assets.assets.ingestion import markdown_table
from feed_assets.assets.papers import WAREHOUSE_FRESHNESS, derived_table, refresh_metadata
from feed_assets.resources import WAREHOUSE_POOL, FeedStorage, TrendSettingsResource, Warehouse
from feed_assets.trends.significance import TrendSettings, rank_comparisons
from feed_assets.warehouse.bursts import refresh_term_bursts
from feed_assets.warehouse.derived import Refresh
from feed_assets.warehouse.schema import column_schema_metadata
from feed_assets.warehouse.trends import (
    refresh_author_activity,
    refresh_category_trends,
    refresh_paper_attention,
    refresh_term_daily_counts,
    refresh_top_papers,
    refresh_trending_terms,
)

CHART_TERMS = 8  # terms per scale in the chart and the preview
# the chart's module: matplotlib is loaded by the step that draws the chart (during its refresh,
# see trending_terms), not by every process that loads the definitions (the CLI, the code
# server, each run's process): 0.3 s of their start
CHART_MODULE = "feed_assets.reports.rising_terms_chart"

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
    # the term statements leave DuckDB holding about 0.5-0.9 GB outside its buffer (not given
    # back by malloc_trim either) until the database is closed: on ten synthetic years the next
    # step began at 1,223 MiB resident with the connection kept open, at 330 MiB with it closed
    with warehouse.connection(reopen_after=True) as con:
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
    """For each day, time scale and kind, the terms whose share of new papers rose most surely,
    ranked, each flagged ``significant`` when it passes the day's false discovery control.

    Scales (``TREND_SCALES``): week (the 7 days ending on the day against the 28 before),
    month (30 against 90) and quarter (91 against 182), shorter on a feed younger than twice
    the window. Each tested term gets the exact conditional binomial test (is its share
    higher in the window?); the p-values of all the day's terms, every scale and kind
    together, are corrected with Benjamini-Hochberg, and ``significant`` means a q-value of
    at most 0.05. Every list keeps its ``top_n`` (20) terms that rose in at least 3 window
    papers, significant or not, ranked by ``score``: the log of a cautious (lower 90 %)
    bound of how many times its share grew, so a handful of papers ranks below many.
    Recomputes every day whose window or baseline holds a recounted day. Shows the last
    recomputed day's lists and renders their chart to ``$FEED_DATA_DIR/reports/``.
    """
    config = trend_settings.settings()
    # the chart's module (matplotlib) is loaded meanwhile on a thread of its own: the refresh
    # waits on DuckDB and on the ranking threads, which let the import have the GIL (P1's
    # trending_terms 2.5-2.8 s against 3.0-3.2 s importing it when the chart is drawn)
    with ThreadPoolExecutor(1, thread_name_prefix="import-chart") as loader:
        chart_module = loader.submit(importlib.import_module, CHART_MODULE)
        with warehouse.connection() as con:
            with warehouse.write(con):
                refresh = refresh_trending_terms(con, config.scales, config.min_total,
                                                 lambda comparisons: rank_comparisons(comparisons, config))
            rows = con.execute("select count(*) from trending_terms").fetchone()[0]
            chart = rising_terms_report(con, storage, refresh, config, chart_module.result)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        **refresh_metadata(refresh, "days"),
        **chart,
    })


@dg.asset(deps=["trending_terms", "term_daily_counts"], metadata=column_schema_metadata("term_bursts"),
          **trend_asset)
def term_bursts(warehouse: Warehouse, trend_settings: TrendSettingsResource) -> dg.MaterializeResult:
    """When each term took off: one row per burst of every term that was ever significant in
    ``trending_terms``, with its first and last day (none while it goes on), its peak share
    of new papers and its weight (how strong it is).

    A term's daily papers are read against the day's new papers with Kleinberg's two-state
    model: a normal state at the term's share of new papers before it first became
    significant (over the longest scale's baseline), and a burst state at twice that share
    (``burst_ratio``); entering a burst costs ``burst_gamma`` times ln(365), so a day or two
    of luck is not a burst. The cheapest sequence of states is found exactly, and the runs
    of burst state are the bursts. Each run continues every term from where the last one
    stopped, over the new days only; a day loaded before the last one recomputes every term.
    Shows the bursts still going on at the feed's last day, strongest first.
    """
    config = trend_settings.settings()
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_term_bursts(con, config.scales, trend_settings.burst_model())
        rows = con.execute("select count(*) from term_bursts").fetchone()[0]
        ongoing = con.execute("""
            select kind, term, burst_start, peak_day, round(100 * peak_share, 2) as "peak share %",
                   round(weight, 1) as weight, burst_days
            from term_bursts where ongoing order by weight desc, kind, term limit 10
        """).df()
        last_day = con.execute("select max(last_day) from term_burst_state").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        **refresh_metadata(refresh, "terms"),
        "last_day": last_day.isoformat() if last_day else "",
        "bursting_on_the_last_day": markdown_table(ongoing),
    })


def rising_terms_report(con: duckdb.DuckDBPyConnection, storage: FeedStorage, refresh: Refresh,
                        config: TrendSettings, chart_module: Callable[[], ModuleType]) -> dict:
    """The last recomputed day's top text terms at each scale (significant ones marked), and
    their chart (drawn by ``chart_module()``, ``CHART_MODULE`` once loaded)."""
    if not refresh.days:
        return {}
    day = refresh.days[-1]
    scales = [scale.name for scale in config.scales]
    lists = con.execute("""
        select scale, rank, term, significant, window_count, baseline_count, window_share, baseline_share,
               window_days, baseline_days, q_value
        from trending_terms where feed_date = ? and kind = 'text' and rank <= ? order by scale, rank
    """, [day, CHART_TERMS]).df()
    png = chart_module().render_rising_terms_chart(lists, day, scales, config.fdr)
    chart_path = Path(storage.data_dir) / "reports" / f"rising-terms-{day.isoformat()}.png"
    chart_path.parent.mkdir(parents=True, exist_ok=True)
    chart_path.write_bytes(png)
    tables = {}
    for scale in scales:
        rows = lists[lists["scale"] == scale]
        shown = pd.DataFrame({
            "rank": rows["rank"],
            "term": rows["term"],
            "significant": rows["significant"].map({True: "yes", False: ""}),
            "papers (window / before)": rows["window_count"].astype(str) + " / " + rows["baseline_count"].astype(str),
            "share % (window / before)": (100 * rows["window_share"]).round(2).astype(str) + " / "
                                         + (100 * rows["baseline_share"]).round(2).astype(str),
            "q_value": rows["q_value"].round(4),
        })
        tables[f"top_terms_{scale}"] = markdown_table(shown)
    return {
        "chart_day": day.isoformat(),
        **tables,
        "chart": dg.MetadataValue.md(f"![rising terms](data:image/png;base64,{base64.b64encode(png).decode()})"),
        "chart_path": dg.MetadataValue.path(str(chart_path)),
    }


def _upvotes_spec(name: str, description: str) -> dg.AssetSpec:
    """A table of the ``top_papers`` step: it reads the papers and the appearances' upvotes."""
    return dg.AssetSpec(name, deps=["papers", "paper_appearances"], group_name="trends", kinds={"duckdb"},
                        metadata=column_schema_metadata(name), freshness_policy=WAREHOUSE_FRESHNESS,
                        description=description)


@dg.multi_asset(
    specs=[
        _upvotes_spec("top_papers", (
            "The most upvoted papers of each day and of each ISO week (upvotes as last seen), with "
            "title, arXiv link, and the upvote history across fetches when a paper was seen more than "
            "once. Recomputes the days (and their weeks) that list a changed entry or paper.")),
        _upvotes_spec("paper_attention", (
            "How fast each paper gains upvotes: upvotes as first and as last seen across the HF "
            "listings that showed them, and upvotes gained per day between the two (what is gaining "
            "attention now). Written in the same step as top_papers, from the same history; "
            "recomputes the papers whose entries or merged row changed.")),
    ],
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def top_papers(warehouse: Warehouse):
    """The most upvoted papers of each day and week (``top_papers``), and each paper's upvotes
    gained per day (``paper_attention``), in one step: both read the appearances' upvote history."""
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_top_papers(con)
            attention = refresh_paper_attention(con)
        week = con.execute("""
            select rank, title, upvotes, len(upvote_history) as fetches, arxiv_url from top_papers
            where period = 'week' and period_start = date_trunc('week', ?::date) order by rank
        """, [refresh.days[-1] if refresh.days else None]).df()
        rows = con.execute("select count(*) from top_papers").fetchone()[0]
        gaining = con.execute("""
            select title, upvotes, upvotes_gained, round(upvotes_per_day, 1) as upvotes_per_day, last_fetch_date
            from paper_attention where upvotes_per_day is not null
              and last_fetch_date > (select max(last_fetch_date) from paper_attention) - 7
            order by upvotes_per_day desc, paper_id limit 10
        """).df()
        attention_rows = con.execute("select count(*) from paper_attention").fetchone()[0]
    yield dg.MaterializeResult(asset_key="top_papers", metadata={
        "dagster/row_count": rows,
        **refresh_metadata(refresh, "days"),
        "top_papers_of_the_last_week_touched": markdown_table(week),
    })
    yield dg.MaterializeResult(asset_key="paper_attention", metadata={
        "dagster/row_count": attention_rows,
        **refresh_metadata(attention, "papers"),
        "gaining_attention_in_the_last_week": markdown_table(gaining),
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
