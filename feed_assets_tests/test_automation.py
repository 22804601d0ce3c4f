"""The inbox sensor and the daily schedule, evaluated by Dagster against a real instance and inbox."""

from __future__ import annotations

import datetime as dt
import json
import os

import dagster as dg

from feed_assets.automation.schedules import daily_feed_schedule
from feed_assets.automation.sensors import inbox_sensor
from feed_assets.definitions import defs
from feed_assets.resources import FeedStorage


def evaluate(instance, storage: FeedStorage, cursor: str | None):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"storage": storage})
    return inbox_sensor(context)


def test_the_sensor_requests_a_run_per_new_or_changed_day_and_never_twice(tmp_path, instance):
    storage = FeedStorage(data_dir=str(tmp_path))
    day_one, day_two = tmp_path / "inbox" / "2024-03-04", tmp_path / "inbox" / "2024-03-05"
    day_one.mkdir(parents=True)
    (day_one / "hf.json").write_text("[]")
    (tmp_path / "inbox" / "2024-03-06").mkdir()  # an empty folder asks for nothing

    first = evaluate(instance, storage, None)
    assert [request.partition_key for request in first.run_requests] == ["2024-03-04"]

    again = evaluate(instance, storage, first.cursor)
    assert again.run_requests == []

    day_two.mkdir()
    (day_two / "arxiv.jsonl").write_text("")
    (day_one / "hf.json").write_text('[{"paper": {"id": "2403.00001", "title": "t"}}]')
    stat = (day_one / "hf.json").stat()
    os.utime(day_one / "hf.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = evaluate(instance, storage, again.cursor)
    assert sorted(request.partition_key for request in changed.run_requests) == ["2024-03-04", "2024-03-05"]
    assert len({request.run_key for request in first.run_requests + changed.run_requests}) == 3
    assert set(json.loads(changed.cursor)) == {"2024-03-04", "2024-03-05"}


def test_a_day_without_a_partition_yet_is_asked_for_once_it_has_one(tmp_path, instance):
    storage = FeedStorage(data_dir=str(tmp_path))
    future = dt.date.today() + dt.timedelta(days=3)
    (tmp_path / "inbox" / future.isoformat()).mkdir(parents=True)
    (tmp_path / "inbox" / future.isoformat() / "hf.json").write_text("[]")
    result = evaluate(instance, storage, None)
    assert result.run_requests == []
    assert future.isoformat() not in json.loads(result.cursor)


def test_the_schedule_runs_yesterdays_partition(instance):
    schedule = defs.resolve_schedule_def(daily_feed_schedule.name)
    tick = dt.datetime(2024, 3, 5, 6, 0, tzinfo=dt.timezone.utc)
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def())
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-03-04"
