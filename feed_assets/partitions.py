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

# fixed when the code is loaded (see settings.start_date and settings.end_date): the first day
# with data, and the last one when the inbox is the only source; None: to today, a day more each day
FIRST_DAY = dt.date.fromisoformat(settings.start_date())
_END = settings.end_date()
LAST_DAY = dt.date.fromisoformat(_END) if _END else None

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY.isoformat(),
    end_date=(LAST_DAY + dt.timedelta(days=1)).isoformat() if LAST_DAY else None,  # Dagster's end is exclusive
)


def why_not_a_partition(day: dt.date, today: dt.date | None = None) -> str | None:
    """Why ``day`` has no partition (None when it has one): before the first, after the last,
    or not over yet (``today``: the current UTC date, by default the clock's)."""
    if day < FIRST_DAY:
        return (f"before the first partition, {FIRST_DAY} (FEED_START_DATE, default the first day with data, "
                "fixed when the code is loaded: reload it)")
    if LAST_DAY is not None and day > LAST_DAY:
        return (f"after the last partition, {LAST_DAY} (FEED_END_DATE, default the last day with data when the "
                "inbox is the only source, fixed when the code is loaded: reload it)")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    if LAST_DAY is None and day >= today:
        return "not over yet (a day's partition is added once the day has ended, in UTC)"
    return None


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
