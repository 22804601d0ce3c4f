"""The inbox sensor: a run for each day folder whose files are new or changed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import dagster as dg

from feed_assets.automation.jobs import daily_feed_job
from feed_assets.partitions import why_not_a_partition
from feed_assets.resources import FeedStorage
from feed_assets.sources.inbox import inbox_days, list_day_files


def day_signature(inbox_dir: Path, day: dt.date) -> str:
    """A fingerprint of a day folder: its file names, sizes and modification times."""
    parts = [f"{path.name}\0{path.stat().st_size}\0{path.stat().st_mtime_ns}" for path in list_day_files(inbox_dir, day)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def changed_days(inbox_dir: Path, cursor: dict[str, str]) -> dict[str, str]:
    """The days (ISO dates) whose folder has files and whose fingerprint differs from the cursor's."""
    changed = {}
    for day in inbox_days(inbox_dir):
        if not list_day_files(inbox_dir, day):
            continue
        signature = day_signature(inbox_dir, day)
        if cursor.get(day.isoformat()) != signature:
            changed[day.isoformat()] = signature
    return changed


@dg.sensor(job=daily_feed_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Starts a run of a day's partition when files are dropped into, or changed in, "
                       "$FEED_DATA_DIR/inbox/YYYY-MM-DD/.")
def inbox_sensor(context: dg.SensorEvaluationContext, storage: FeedStorage) -> dg.SensorResult:
    """Watch the inbox; one run per new or changed day folder (the cursor remembers each day's files)."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    changed = changed_days(storage.inbox_dir, cursor)
    requests, skipped, seen = [], {}, dict(cursor)
    for day, signature in sorted(changed.items()):
        why = why_not_a_partition(dt.date.fromisoformat(day))
        if why:
            skipped.setdefault(why, []).append(day)  # not remembered: requested once its partition exists
            continue
        requests.append(dg.RunRequest(run_key=f"inbox-{day}-{signature[:16]}", partition_key=day,
                                      tags={"feed/trigger": "inbox"}))
        seen[day] = signature
    for why, days in skipped.items():
        context.log.info(f"inbox days with no partition, {why}: {', '.join(days)}")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
