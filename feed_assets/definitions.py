"""The Dagster definitions of feed-assets (loaded by ``dg dev`` from ``[tool.dg]`` in pyproject.toml, and by the CLI)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from feed_assets.assets.ingestion import parsed_entries, raw_dumps
from feed_assets.assets.papers import daily_feed_stats, papers
from feed_assets.assets.trends import (
    author_activity,
    category_trends,
    term_bursts,
    term_daily_counts,
    top_papers,
    trending_terms,
)
from feed_assets.assets.checks import quality_checks
from feed_assets.automation.jobs import daily_feed_job
from feed_assets.automation.maintenance import warehouse_maintenance_job, warehouse_maintenance_schedule
from feed_assets.automation.progress import progress_logger
from feed_assets.automation.schedules import daily_feed_schedule
from feed_assets.automation.sensors import inbox_sensor
from feed_assets.resources import FeedSources, build_resources


def build_definitions(data_dir: Path | None = None, sources: FeedSources | None = None) -> dg.Definitions:
    """Every asset, job and resource, for a data folder and sources (default: from the environment)."""
    return dg.Definitions(
        assets=[raw_dumps, parsed_entries, papers, daily_feed_stats,
                term_daily_counts, trending_terms, term_bursts, top_papers, author_activity, category_trends],
        asset_checks=quality_checks,
        jobs=[daily_feed_job, warehouse_maintenance_job],
        schedules=[daily_feed_schedule, warehouse_maintenance_schedule],
        sensors=[inbox_sensor],
        resources=build_resources(data_dir, sources),
        # Dagster's console logger unless a run configures another: `feed-assets backfill`
        # configures `progress` (one line per step, for a terminal)
        loggers={"console": dg.colored_console_logger, "progress": progress_logger},
        # steps run one after another in the run's process: they share one DuckDB file, which
        # takes one writer at a time, and a step costs no process start-up
        executor=dg.in_process_executor,
    )


defs = build_definitions()
