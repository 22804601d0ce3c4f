"""The deduplicated papers and the per-day statistics of the feed."""

import datetime as dt

import dagster as dg

from feed_assets.assets.ingestion import markdown_table
from feed_assets.partitions import daily_partitions, partition_days
from feed_assets.resources import WAREHOUSE_POOL, Warehouse
from feed_assets.warehouse.publish import publish
from feed_assets.warehouse.writes import refresh_daily_feed_stats, refresh_papers

# The daily schedule loads yesterday early each morning: a warehouse not updated for a day and
# a half has missed a run, two days is a failure (red in the UI).
WAREHOUSE_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=48),
                                                     warn_window=dt.timedelta(hours=36))


@dg.asset(
    deps=["paper_appearances"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="warehouse",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    freshness_policy=WAREHOUSE_FRESHNESS,
)
def papers(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per distinct paper, merged across days, sources and formats.

    ``paper_id``, ``arxiv_id`` (null if never known), the best title, abstract and authors
    seen (most trusted format first), first and last day seen, number of appearances and
    days, and the sources, formats and match rules it was recognised by. Only the papers
    that the run's days touched are rebuilt.
    """
    with warehouse.connection() as con:
        refreshed, first_seen_days = refresh_papers(con)
        publish(con, warehouse.data_dir, {"papers": first_seen_days})
        total = con.execute("select count(*) from papers").fetchone()[0]
        merged = con.execute("""
            select paper_id, title, n_appearances, sources, match_rules from papers
            where len(sources) > 1 or len(match_rules) > 1
            order by n_appearances desc, paper_id limit 10
        """).df()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": total,
        "papers_refreshed": refreshed,
        "merged_papers_preview": markdown_table(merged),
    })


@dg.asset(
    deps=["papers", "rejected_entries", "raw_dumps"],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="warehouse",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    freshness_policy=WAREHOUSE_FRESHNESS,
)
def daily_feed_stats(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Per day and source: dumps, entries, papers first seen that day, repeats, rejected items.

    Recomputed for the run's days and for every earlier-loaded day whose counts the run
    changed (loading an older day can turn another day's new papers into repeats).
    """
    days = partition_days(context)
    with warehouse.connection() as con:
        recomputed = refresh_daily_feed_stats(con, days)
        publish(con, warehouse.data_dir, {"daily_feed_stats": recomputed})
        run_stats = con.execute("""
            select * from daily_feed_stats
            where feed_date between ? and ? order by feed_date, source
        """, [min(days), max(days)]).df()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(run_stats),
        "days_recomputed": len(recomputed),
        "preview": markdown_table(run_stats, max_rows=20),
    })
