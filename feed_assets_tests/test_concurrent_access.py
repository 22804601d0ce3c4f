"""Other processes and the warehouse: a run waits for a holder, then fails naming it; never corrupts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from feed_assets.resources import Warehouse
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


def _write_from_another_process(path) -> subprocess.CompletedProcess:
    """Another process opening the warehouse file read-write and writing to it."""
    code = "import sys, duckdb; duckdb.connect(sys.argv[1]).execute('insert into note values (2)')"
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)


def test_a_runs_steps_share_one_connection_and_a_block_reopening_it_keeps_the_file(tmp_path):
    path = tmp_path / "feed.duckdb"
    warehouse = Warehouse(database=str(path))
    warehouse.setup_for_execution(dg.build_init_resource_context())
    try:
        with warehouse.connection() as first:
            first.execute("create table note as select 1 as n")
        with warehouse.connection() as same:  # the next step: the same connection
            assert same is first
        with warehouse.connection(reopen_after=True) as again:
            assert again is first
        with pytest.raises(duckdb.ConnectionException):  # closed: DuckDB gave back what it held
            first.execute("select 1")
        held = _write_from_another_process(path)
        assert held.returncode != 0 and "lock" in held.stderr.lower()  # but the run still holds the file
        with warehouse.connection() as reopened:
            assert reopened is not first
            assert reopened.execute("select sum(n) from note").fetchone()[0] == 1
    finally:
        warehouse.teardown_after_execution(dg.build_init_resource_context())
    assert _write_from_another_process(path).returncode == 0  # the run's end lets it go


FIRST_RUNS = """
import gc, sys
import dagster as dg
from feed_assets.resources import Warehouse
print(gc.get_freeze_count())
for run in range(2):
    warehouse = Warehouse(database=sys.argv[1])
    warehouse.setup_for_execution(dg.build_init_resource_context())
    made_by_the_run = [[run] for _ in range(1000)]  # tracked objects a run holds
    print(gc.get_freeze_count())
    warehouse.teardown_after_execution(dg.build_init_resource_context())
"""


def test_a_processs_first_run_keeps_the_collector_off_what_it_held_before_and_later_runs_freeze_nothing(tmp_path):
    """The warehouse freezes the objects a process held at its first run's start (imports,
    definitions) once: a second run in the same process (a test session) freezes nothing of
    what the first one left."""
    done = subprocess.run([sys.executable, "-c", FIRST_RUNS, str(tmp_path / "feed.duckdb")],
                          capture_output=True, text=True, check=True)
    before, first_run, second_run = (int(line) for line in done.stdout.split())
    assert before == 0
    assert first_run > 10_000  # the imports' objects: dagster, duckdb, pandas...
    # frozen objects that die leave the count; freezing again would add the first run's lists
    assert second_run <= first_run
