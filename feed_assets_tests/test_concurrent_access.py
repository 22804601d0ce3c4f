"""Other processes and the warehouse: a run waits for a holder, then fails naming it; never corrupts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import dagster as dg
import pytest

from feed_assets_tests.conftest import SAMPLE_START, Feed

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def hold_warehouse(path, seconds: float) -> subprocess.Popen:
    """Another process that opens the warehouse read-write for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.fixture
def warm_feed(sample_feed: Feed, monkeypatch, instance, tmp_path) -> Feed:
    sample_feed.materialize(SAMPLE_START)
    return sample_feed


def rebuilt(feed: Feed, monkeypatch, timeout: int) -> Feed:
    monkeypatch.setenv("FEED_LOCK_TIMEOUT_SECONDS", str(timeout))
    return Feed(feed.data_dir, feed.instance)


def test_a_run_fails_after_a_bounded_wait_naming_the_holder_and_the_tables_survive(warm_feed, monkeypatch):
    before = warm_feed.snapshot()
    holder = hold_warehouse(warm_feed.warehouse_path, 60)
    try:
        result = rebuilt(warm_feed, monkeypatch, 2).materialize(dt.date(2024, 3, 4), raise_on_error=False)
    finally:
        holder.kill()
        holder.wait()
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    message = failure.step_failure_data.error.cause.message if failure.step_failure_data.error.cause else \
        failure.step_failure_data.error.message
    assert "WarehouseLockedError" in message and "not released within 2 s" in message
    assert f"PID {holder.pid}" in message
    assert warm_feed.snapshot() == before


def test_a_run_waits_for_a_holder_that_lets_go(warm_feed, monkeypatch):
    holder = hold_warehouse(warm_feed.warehouse_path, 2)
    result = rebuilt(warm_feed, monkeypatch, 60).materialize(dt.date(2024, 3, 4))
    holder.wait()
    assert result.success
    assert warm_feed.query("select count(*) from raw_dumps where feed_date = '2024-03-04'")[0][0] > 0
