"""The daily partitions every asset shares: one partition per feed date."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from feed_assets import settings

daily_partitions = dg.DailyPartitionsDefinition(start_date=settings.start_date())


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The feed dates of this run, one or a whole range (never ``context.partition_key``)."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
