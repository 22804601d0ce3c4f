"""The daily partitions of the per-day assets: one partition per feed date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from feed_assets import settings

# the tags Dagster puts on a run launched for one partition, or for a range in one run
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

daily_partitions = dg.DailyPartitionsDefinition(start_date=settings.start_date())


def run_days(tags: Mapping[str, str]) -> list[dt.date]:
    """The feed dates a run was launched for, from its tags: a partition, a range, or none."""
    if PARTITION_TAG in tags:
        return [dt.date.fromisoformat(tags[PARTITION_TAG])]
    start, end = tags.get(RANGE_START_TAG), tags.get(RANGE_END_TAG)
    if not (start and end):
        return []
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The feed dates of this run, one or a whole range (never ``context.partition_key``)."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
