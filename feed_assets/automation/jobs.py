"""The partitioned job that materializes the whole daily feed (its partitions are the assets')."""

from __future__ import annotations

import dagster as dg

daily_feed_job = dg.define_asset_job(
    "daily_feed_job",
    selection=dg.AssetSelection.all(),
    description="Load, parse and deduplicate the feed for one day or a range of days.",
)
