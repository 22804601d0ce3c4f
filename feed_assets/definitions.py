"""The Dagster definitions of feed-assets (loaded by ``workspace.yaml`` and the CLI)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from feed_assets.assets.ingestion import parsed_entries, raw_dumps
from feed_assets.assets.papers import daily_feed_stats, papers
from feed_assets.automation.jobs import daily_feed_job
from feed_assets.resources import FeedSources, build_resources


def build_definitions(data_dir: Path | None = None, sources: FeedSources | None = None) -> dg.Definitions:
    """Every asset, job and resource, for a data folder and sources (default: from the environment)."""
    return dg.Definitions(
        assets=[raw_dumps, parsed_entries, papers, daily_feed_stats],
        jobs=[daily_feed_job],
        resources=build_resources(data_dir, sources),
    )


defs = build_definitions()
