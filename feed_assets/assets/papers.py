"""The deduplicated papers and the per-day statistics of the feed: tables that are not per day,
so not partitioned. Each pulls what changed in the tables it reads since its last run."""

import datetime as dt

import dagster as dg

from feed_assets.assets.ingestion import markdown_table
from feed_assets.resources import WAREHOUSE_POOL, Warehouse
from feed_assets.warehouse.changes import last_written_papers
from feed_assets.warehouse.derived import Refresh, refresh_daily_feed_stats, refresh_papers
from feed_assets.warehouse.schema import column_schema_metadata

# The daily schedule loads yesterday early each morning: a warehouse not updated for a day and
# a half has missed a run, two days is a failure (red in the UI).
WAREHOUSE_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=dt.timedelta(hours=48),
                                                     warn_window=dt.timedelta(hours=36))

derived_table = dict(
    backfill_policy=dg.BackfillPolicy.single_run(),
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
    freshness_policy=WAREHOUSE_FRESHNESS,
)


def refresh_metadata(refresh: Refresh, unit: str) -> dict:
    """What a derived table's refresh did, for the UI."""
    return {
        f"{unit}_rebuilt": refresh.rebuilt,
        "full_rebuild": refresh.full,
        "days_touched": len(refresh.days),
        "first_day_touched": refresh.days[0].isoformat() if refresh.days else "",
        "last_day_touched": refresh.days[-1].isoformat() if refresh.days else "",
    }


@dg.asset(deps=["paper_appearances"], group_name="warehouse", metadata=column_schema_metadata("papers"),
          **derived_table)
def papers(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per distinct paper, merged across days, sources and formats.

    ``paper_id``, ``arxiv_id`` (null if never known), the best title, abstract and authors
    seen (most trusted format first), first and last day seen, number of appearances and
    days, and the sources, formats and match rules it was recognised by. Not partitioned: a
    run rebuilds exactly the papers whose entries changed since the last one, whichever
    days they were on (all papers the first time).
    """
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_papers(con)
        total = con.execute("select count(*) from papers").fetchone()[0]
        # the papers this run rebuilt (the ids its write recorded), not the whole table: the same
        # ten papers every day on a long history, and a scan of every paper's lists (0.07 s on
        # ten synthetic years)
        rebuilt = "true" if refresh.full else f"paper_id in ({last_written_papers('papers', 'papers')})"
        merged = con.execute(f"""
            select paper_id, title, n_appearances, sources, match_rules from papers
            where {rebuilt} and (len(sources) > 1 or len(match_rules) > 1)
            order by n_appearances desc, paper_id limit 10
        """).df()
    return dg.MaterializeResult(metadata={
        "dagster/row_count": total,
        **refresh_metadata(refresh, "papers"),
        "merged_papers_rebuilt": markdown_table(merged),
    })


@dg.asset(deps=["papers", "rejected_entries", "raw_dumps"], group_name="warehouse",
          metadata=column_schema_metadata("daily_feed_stats"), **derived_table)
def daily_feed_stats(warehouse: Warehouse) -> dg.MaterializeResult:
    """Per day and source: dumps, entries, papers first seen that day, repeats, rejected items.

    Recomputed for every day whose dumps, entries or rejections changed, and for every day
    listing a paper whose first-seen day moved (loading an older day can turn another
    day's new papers into repeats).
    """
    with warehouse.connection() as con:
        with warehouse.write(con):
            refresh = refresh_daily_feed_stats(con)
        recomputed = con.execute("""
            select * from daily_feed_stats where feed_date in (select unnest(?::date[]))
            order by feed_date, source
        """, [refresh.days]).df()
        total = con.execute("select count(*) from daily_feed_stats").fetchone()[0]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": total,
        **refresh_metadata(refresh, "days"),
        "recomputed_preview": markdown_table(recomputed, max_rows=20),
    })
