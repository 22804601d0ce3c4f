"""The partitioned job that materializes the whole daily feed."""

from __future__ import annotations

import dagster as dg

from feed_assets.partitions import daily_partitions

daily_feed_job = dg.define_asset_job(
    "daily_feed_job",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Load, parse and deduplicate the feed for one day or a range of days.",
)
