"""The daily schedule: every day, the previous day's partition of the whole feed."""

from __future__ import annotations

import dagster as dg

from feed_assets import settings
from feed_assets.automation.jobs import daily_feed_job

daily_feed_schedule = dg.build_schedule_from_partitioned_job(
    daily_feed_job,
    name="daily_feed_schedule",
    hour_of_day=settings.schedule_hour(),
    minute_of_hour=0,
    description="Runs yesterday's partition every day at $FEED_SCHEDULE_HOUR:00 UTC (default 06:00).",
)
