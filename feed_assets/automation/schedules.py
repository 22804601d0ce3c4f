"""The daily schedule: every day, the previous day's partition of the whole feed."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from feed_assets import settings
from feed_assets.automation.jobs import daily_feed_job
from feed_assets.partitions import why_not_a_partition


@dg.schedule(
    job=daily_feed_job,
    name="daily_feed_schedule",
    cron_schedule=f"0 {settings.schedule_hour()} * * *",
    execution_timezone="UTC",
    description="Runs yesterday's partition every day at $FEED_SCHEDULE_HOUR:00 UTC (default 06:00). "
                "Skips, saying why, when yesterday has no partition: the partitions end at the last day "
                "with data when the inbox is the only source (FEED_END_DATE).",
)
def daily_feed_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    """Yesterday's partition (the day that ended before the tick), once: its run key is the day."""
    tick = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
    today = tick.astimezone(dt.timezone.utc).date()
    yesterday = today - dt.timedelta(days=1)
    why = why_not_a_partition(yesterday, today=today)
    if why:
        return dg.SkipReason(f"{yesterday} has no partition: {why}")
    return dg.RunRequest(run_key=yesterday.isoformat(), partition_key=yesterday.isoformat())
