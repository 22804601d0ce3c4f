"""The daily partitions fit the data: the definitions loaded as Dagster loads them (a fresh process
importing ``feed_assets.definitions``, with a temporary data folder and no FEED_START_DATE or
FEED_END_DATE), with the inbox alone and with a live source; the schedule, the inbox sensor and
the CLI backfill agree with them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# runs in the fresh process: loads the definitions, then asks them what a person would see
LOAD_DEFINITIONS = r"""
import datetime as dt, json, sys
from pathlib import Path
import dagster as dg
from feed_assets.definitions import defs
from feed_assets.partitions import why_not_a_partition
from feed_assets.resources import FeedStorage

dg.Definitions.validate_loadable(defs)
data, later_day, ticks = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
keys = defs.resolve_assets_def("raw_dumps").partitions_def.get_partition_keys()
job_keys = defs.resolve_job_def("daily_feed_job").partitions_def.get_partition_keys()

# a day dropped into the inbox after the code was loaded
(data / "inbox" / later_day).mkdir(parents=True, exist_ok=True)
(data / "inbox" / later_day / "hf.json").write_text("[]")
with dg.DagsterInstance.ephemeral() as instance:
    schedule = defs.resolve_schedule_def("daily_feed_schedule")
    schedule_answers = {}
    for tick in ticks:
        context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(),
                                            scheduled_execution_time=dt.datetime.fromisoformat(tick))
        result = schedule.evaluate_tick(context)
        schedule_answers[tick] = ([request.partition_key for request in result.run_requests or []],
                                  result.skip_message)
    sensor = defs.resolve_sensor_def("inbox_sensor")
    sensed = sensor(dg.build_sensor_context(instance=instance, resources={"storage": FeedStorage(data_dir=str(data))}))
print(json.dumps({
    "first": keys[0], "last": keys[-1], "count": len(keys), "job_keys_agree": job_keys == keys,
    "schedule": schedule_answers,
    "sensor_requests": sorted(request.partition_key for request in sensed.run_requests),
    "sensor_cursor": sorted(json.loads(sensed.cursor)),
    "why_not_later_day": why_not_a_partition(dt.date.fromisoformat(later_day)),
}))
"""


def fresh_environment(data: Path, **settings: str) -> dict[str, str]:
    """The environment of a user's process: the tests' own partition settings left out."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in {"FEED_START_DATE", "FEED_END_DATE", "FEED_SOURCES", "DAGSTER_HOME"}}
    return {**environment, "FEED_DATA_DIR": str(data), **settings}


def load(data: Path, later_day: str, ticks: list[str], **settings: str) -> dict:
    done = subprocess.run([sys.executable, "-c", LOAD_DEFINITIONS, str(data), later_day, json.dumps(ticks)],
                          cwd=PROJECT_ROOT, env=fresh_environment(data, **settings), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """Three inbox days (2024-05-06...08) and a stored day no longer in the inbox (2024-05-10)."""
    folder = tmp_path / "data"
    for day in ("2024-05-06", "2024-05-07", "2024-05-08"):
        (folder / "inbox" / day).mkdir(parents=True)
        (folder / "inbox" / day / "hf.json").write_text("[]")
    (folder / "inbox" / "misc").mkdir()  # not a day
    (folder / "published" / "raw_dumps").mkdir(parents=True)
    with duckdb.connect() as con:  # the stored day, in its month's published file
        con.execute(f"copy (select date '2024-05-10' as feed_date) to "
                    f"'{folder / 'published' / 'raw_dumps' / '2024-05.parquet'}'")
    return folder


def test_with_the_inbox_alone_the_partitions_end_at_the_last_day_with_data(data):
    ticks = ["2024-05-11T06:00:00+00:00", "2024-05-12T06:00:00+00:00", "2024-05-06T06:00:00+00:00"]
    seen = load(data, "2024-05-11", ticks)
    assert (seen["first"], seen["last"], seen["count"]) == ("2024-05-06", "2024-05-10", 5)
    assert seen["job_keys_agree"]
    # the schedule runs a day that has a partition, and skips, saying why, one after the last
    assert seen["schedule"][ticks[0]] == [["2024-05-10"], None]
    requests, skipped = seen["schedule"][ticks[1]]
    assert requests == [] and "2024-05-11 has no partition: after the last partition, 2024-05-10" in skipped
    assert "FEED_END_DATE" in skipped and "reload" in skipped
    requests, skipped = seen["schedule"][ticks[2]]
    assert requests == [] and "before the first partition, 2024-05-06" in skipped
    # the sensor asks for the inbox's days, not for the one added after the load, which it does
    # not remember (it asks for it once a reload has made its partition)
    assert seen["sensor_requests"] == ["2024-05-06", "2024-05-07", "2024-05-08"]
    assert "2024-05-11" not in seen["sensor_cursor"]
    assert seen["why_not_later_day"].startswith("after the last partition, 2024-05-10")


def test_with_a_live_source_the_partitions_run_to_today(data):
    today = dt.datetime.now(dt.timezone.utc).date()
    yesterday = today - dt.timedelta(days=1)
    tick = dt.datetime.combine(today, dt.time(6), tzinfo=dt.timezone.utc).isoformat()
    seen = load(data, today.isoformat(), [tick], FEED_SOURCES="inbox,hf")
    assert (seen["first"], seen["last"]) == ("2024-05-06", yesterday.isoformat())
    assert seen["count"] == (yesterday - dt.date(2024, 5, 6)).days + 1 and seen["job_keys_agree"]
    assert seen["schedule"][tick] == [[yesterday.isoformat()], None]
    assert seen["sensor_requests"] == ["2024-05-06", "2024-05-07", "2024-05-08"]
    assert seen["why_not_later_day"].startswith("not over yet")


def test_feed_end_date_overrides_the_default(data):
    seen = load(data, "2024-05-09", [], FEED_END_DATE="2024-05-07", FEED_SOURCES="inbox,arxiv")
    assert (seen["first"], seen["last"], seen["count"]) == ("2024-05-06", "2024-05-07", 2)
    assert seen["sensor_requests"] == ["2024-05-06", "2024-05-07"]  # 05-08 is after the last partition
    today = dt.datetime.now(dt.timezone.utc).date()
    seen = load(data, "2024-05-09", [], FEED_END_DATE="today")
    assert seen["last"] == (today - dt.timedelta(days=1)).isoformat()
    assert seen["why_not_later_day"] is None  # a day after the data, with a partition


def test_the_cli_backfill_names_the_partitions_when_a_day_is_past_the_last(data):
    done = subprocess.run([sys.executable, "-m", "feed_assets.cli", "backfill", "2024-05-08...2024-05-11"],
                          cwd=PROJECT_ROOT, env=fresh_environment(data), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "2024-05-11 is not a partition: they run from 2024-05-06 to 2024-05-10" in done.stderr
    assert "FEED_END_DATE" in done.stderr
