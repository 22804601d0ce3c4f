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
    return days_between(dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """Every day from ``first`` to ``last``, both included."""
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def range_tags(first: dt.date | str, last: dt.date | str) -> dict[str, str]:
    """The tags that make a run materialize the partitions ``first``..``last`` in one run."""
    return {RANGE_START_TAG: str(first), RANGE_END_TAG: str(last)}


def span_text(days: list[dt.date]) -> str:
    """Sorted days as a person reads them: one day, or ``first...last``."""
    return str(days[0]) if len(days) == 1 else f"{days[0]}...{days[-1]}"


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The feed dates of this run, one or a whole range (never ``context.partition_key``)."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
