"""The published query copy: readers in other processes query query.duckdb during a backfill,
never error, never see half a day, and end up with the warehouse's tables."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from feed_assets import resources
from feed_assets.resources import Warehouse
from feed_assets.sample_data import generate_sample_inbox
from feed_assets.warehouse.changes import next_version, record_changes
from feed_assets.warehouse.publish import PUBLISHED_TABLES
from feed_assets_tests.conftest import TABLE_ORDER, Feed

READER = """
import json, os, sys, time, duckdb
path, deadline, stop, seen = sys.argv[1], time.monotonic() + float(sys.argv[2]), sys.argv[3], []
errors = []
while time.monotonic() < deadline and len(seen) < 5000 and not os.path.exists(stop):
    try:
        with duckdb.connect(path, read_only=True) as con:
            rows = con.execute(
                "select feed_date::varchar, count(*) from paper_appearances group by 1").fetchall()
            con.execute("select count(*) from papers").fetchone()
        seen.append(dict(rows))
    except duckdb.Error as error:
        if "does not exist" in str(error) or "No files found" in str(error):
            time.sleep(0.05)  # before the first publish there is nothing to read yet
            continue
        errors.append(str(error))
print(json.dumps({"snapshots": seen, "errors": errors}))
"""


def test_readers_query_during_a_30_day_backfill_without_errors_or_partial_days(feed: Feed):
    start = dt.date(2024, 3, 1)
    generate_sample_inbox(feed.inbox, start=start, days=30)
    query_db = feed.data_dir / "query.duckdb"
    stop = feed.data_dir / "stop-readers"
    readers = [subprocess.Popen([sys.executable, "-c", READER, str(query_db), "300", str(stop)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        assert feed.materialize(start, start + dt.timedelta(days=29)).success
    finally:
        stop.touch()
    outputs = [json.loads(reader.communicate(timeout=60)[0]) for reader in readers]

    final = {day: count for day, count in feed.query(
        "select feed_date::varchar, count(*) from paper_appearances group by 1")}
    for output in outputs:
        assert output["errors"] == []
        assert len(output["snapshots"]) > 3, "the readers did not get to read during the run"
        for snapshot in output["snapshots"]:
            # a day is either absent or whole (its entries never change after its write here)
            assert all(final[day] == count for day, count in snapshot.items())


def test_the_query_copy_holds_every_table_the_warehouse_holds(sample_feed: Feed):
    from feed_assets_tests.conftest import SAMPLE_END, SAMPLE_START
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    with duckdb.connect(str(sample_feed.data_dir / "query.duckdb"), read_only=True) as published:
        for table in PUBLISHED_TABLES:
            order = TABLE_ORDER.get(table, "all")
            expected = sample_feed.query(f"select * from {table} order by {order}")
            assert published.execute(f"select * from {table} order by {order}").fetchall() == expected, table


def test_a_data_folder_with_quotes_and_glob_characters_is_published_and_queried(tmp_path, instance):
    feed = Feed(tmp_path / "q'dir [ab]*", instance)
    generate_sample_inbox(feed.inbox, start=dt.date(2024, 3, 1), days=3)
    assert feed.materialize(dt.date(2024, 3, 1), dt.date(2024, 3, 3)).success
    with duckdb.connect(str(feed.data_dir / "query.duckdb"), read_only=True) as copy:
        published = copy.execute("select count(*) from paper_appearances").fetchone()[0]
    assert published == feed.query("select count(*) from paper_appearances")[0][0] > 0


def test_the_copy_is_one_file_a_month_and_a_day_file_of_the_older_layout_is_folded_in(tmp_path, instance):
    feed = Feed(tmp_path / "data", instance)
    generate_sample_inbox(feed.inbox, start=dt.date(2024, 2, 27), days=5)  # February and March
    assert feed.materialize(dt.date(2024, 2, 27), dt.date(2024, 3, 2)).success
    folder = feed.data_dir / "published" / "paper_appearances"
    assert sorted(path.name for path in folder.glob("*.parquet")) == ["2024-02.parquet", "2024-03.parquet",
                                                                      "_schema.parquet"]
    # a folder published by the older one-file-per-day layout: its days are in the month files now
    shutil.copyfile(folder / "2024-02.parquet", folder / "2024-02-27.parquet")

    def published_count() -> int:
        with duckdb.connect(str(feed.data_dir / "query.duckdb"), read_only=True) as copy:
            return copy.execute("select count(*) from paper_appearances").fetchone()[0]
    assert published_count() > feed.query("select count(*) from paper_appearances")[0][0]  # counted twice
    assert feed.materialize(dt.date(2024, 3, 2)).success
    assert not (folder / "2024-02-27.parquet").exists()
    assert published_count() == feed.query("select count(*) from paper_appearances")[0][0]


def _count_new_papers(con: duckdb.DuckDBPyConnection, day: dt.date, papers: int) -> None:
    """A write of one row of a published table, recorded in the change log as writers do."""
    con.execute("insert into trend_day_totals values (?, ?)", [day, papers])
    record_changes(con, next_version(con, "trend_day_totals"), "trend_day_totals",
                   "select ?::date as day, null as paper_id", [day])


def _published_days(data_dir: Path) -> list[dt.date]:
    with duckdb.connect(str(data_dir / "query.duckdb"), read_only=True) as copy:
        return [row[0] for row in copy.execute("select feed_date from trend_day_totals order by 1").fetchall()]


def test_a_block_of_writes_publishes_its_first_at_once_then_at_most_every_interval_and_the_rest_at_its_end(
        tmp_path, monkeypatch):
    warehouse = Warehouse(database=str(tmp_path / "feed.duckdb"))
    monkeypatch.setattr(resources, "PUBLISH_EVERY_SECONDS", 3600.0)
    first, second, third, fourth = (dt.date(2024, 3, day) for day in (1, 2, 3, 4))
    with warehouse.connection() as con:
        with warehouse.write(con):
            _count_new_papers(con, first, 5)
        assert _published_days(tmp_path) == [first]  # the block's first write: at once
        with warehouse.write(con):
            _count_new_papers(con, second, 6)
        assert _published_days(tmp_path) == [first]  # less than the interval later: not yet
        monkeypatch.setattr(resources, "PUBLISH_EVERY_SECONDS", 0.0)
        with warehouse.write(con):
            _count_new_papers(con, third, 7)
        assert _published_days(tmp_path) == [first, second, third]  # the interval passed: all so far
        monkeypatch.setattr(resources, "PUBLISH_EVERY_SECONDS", 3600.0)
        with warehouse.write(con):
            _count_new_papers(con, fourth, 8)
        assert _published_days(tmp_path) == [first, second, third]
    assert _published_days(tmp_path) == [first, second, third, fourth]  # the block ended
    # a failed block leaves its committed but unpublished writes to the next block's first write
    fifth, sixth = dt.date(2024, 3, 5), dt.date(2024, 3, 6)
    with pytest.raises(RuntimeError, match="stop"), warehouse.connection() as con:
        with warehouse.write(con):
            _count_new_papers(con, fifth, 9)
        with warehouse.write(con):
            _count_new_papers(con, sixth, 10)
        raise RuntimeError("stop")
    assert _published_days(tmp_path)[-1] == fifth
    with warehouse.connection() as con, warehouse.write(con):
        pass
    assert _published_days(tmp_path)[-1] == sixth


def test_a_failed_copy_renames_none_of_its_tables_months_leaves_no_scratch_and_is_redone_next_time(
        tmp_path, monkeypatch):
    """The month files of a publication are written a few at a time; when one COPY fails the
    error is raised, no month of its table replaces its published file, no scratch folder is
    left, and the change log still holds the days, so the next publication writes them."""
    from feed_assets.warehouse import publish
    from feed_assets.warehouse.connection import prepare

    days = [dt.date(2024, 1, 15), dt.date(2024, 2, 15), dt.date(2024, 3, 15)]
    with prepare(duckdb.connect(str(tmp_path / "feed.duckdb"))) as con:
        for day in days:
            _count_new_papers(con, day, 5)
        copy_month = publish._copy_month

        def failing_february(cursor, table, column, month, path):
            if table.endswith('"trend_day_totals"') and month == dt.date(2024, 2, 1):
                raise duckdb.IOException("No space left on device")
            copy_month(cursor, table, column, month, path)

        monkeypatch.setattr(publish, "_copy_month", failing_february)
        with pytest.raises(duckdb.IOException, match="No space left"):
            publish.publish_changes(con, tmp_path)
        folder = tmp_path / "published" / "trend_day_totals"
        assert not list(folder.glob(".publishing-*"))
        assert not list(folder.glob("2024-*.parquet"))
        monkeypatch.setattr(publish, "_copy_month", copy_month)
        assert publish.publish_changes(con, tmp_path) == len(days)
    assert sorted(path.name for path in folder.glob("2024-*.parquet")) == ["2024-01.parquet", "2024-02.parquet",
                                                                          "2024-03.parquet"]
    assert _published_days(tmp_path) == days


def _two_step_job(database: Path, days: tuple[dt.date, dt.date], instance=None):
    """Two assets that each commit one day of a published table in a block of their own, as a
    run's steps do, on a real Dagster run's warehouse resource (on ``instance``, if given)."""

    @dg.asset
    def first_day(warehouse: Warehouse) -> None:
        with warehouse.connection() as con, warehouse.write(con):
            _count_new_papers(con, days[0], 5)

    @dg.asset(deps=[first_day])
    def second_day(warehouse: Warehouse) -> None:
        with warehouse.connection() as con, warehouse.write(con):
            _count_new_papers(con, days[1], 6)

    return lambda: dg.materialize([first_day, second_day], resources={"warehouse": Warehouse(database=str(database))},
                                  instance=instance, raise_on_error=False)


def test_in_a_run_the_copy_is_published_on_a_thread_of_its_own_and_is_whole_when_the_run_ends(tmp_path, monkeypatch):
    import threading

    from feed_assets.warehouse import publish

    threads = []
    publish_changes = publish.publish_changes

    def recording(con, data_dir):
        threads.append(threading.current_thread().name)
        return publish_changes(con, data_dir)

    monkeypatch.setattr(publish, "publish_changes", recording)
    days = (dt.date(2024, 3, 1), dt.date(2024, 3, 2))
    assert _two_step_job(tmp_path / "feed.duckdb", days)().success
    assert len(threads) == 2 and all(name.startswith("query-copy") for name in threads), threads
    assert _published_days(tmp_path) == list(days)  # the run's end waited for the last one


def test_the_runs_log_states_what_its_publications_cost(tmp_path, monkeypatch, instance):
    """The warehouse's last line in the run's log adds up the run's publications (``make
    bench`` reads it back for its publish stage)."""
    from feed_assets.warehouse import publish

    written = []
    publish_changes = publish.publish_changes

    def recording(con, data_dir):
        written.append(publish_changes(con, data_dir))
        return written[-1]

    monkeypatch.setattr(publish, "publish_changes", recording)
    result = _two_step_job(tmp_path / "feed.duckdb", (dt.date(2024, 3, 1), dt.date(2024, 4, 2)), instance)()
    assert result.success
    summaries = [publish.PublicationStats.from_summary(record.user_message or "")
                 for record in instance.all_logs(result.run_id)]
    (stats,) = [summary for summary in summaries if summary is not None]
    assert stats.publications == len(written) == 2
    assert stats.files == sum(written) == 2  # each publication wrote its day's month
    assert stats.seconds > 0 and stats.waited_seconds >= 0


def test_a_publication_summary_reads_back_and_no_other_line_does():
    from feed_assets.warehouse.publish import PublicationStats

    stats = PublicationStats(publications=3, files=17, seconds=1.25, waited_seconds=0.5)
    assert PublicationStats.from_summary(stats.summary()) == stats
    assert PublicationStats.from_summary("batch 1 of 2: 16 day(s), 210 entries, 5 rejected") is None
    assert PublicationStats.from_summary("") is None


def test_a_publication_that_fails_in_the_background_fails_the_step_after_it_and_loses_no_day(tmp_path, monkeypatch):
    """The first step's publication fails on its thread: the second step, whose own publication
    waits for it first, fails with that error (its commit stands); the next write publishes both days.
    When the run's last publication fails, the run's end reports it (a failed resource
    teardown, an error in the run's log), and the next write publishes it too."""
    from feed_assets.warehouse import publish

    copy_month, failures = publish._copy_month, []

    def failing(cursor, table, column, month, path):
        if table.endswith('"trend_day_totals"') and len(failures) < 1:
            failures.append(month)
            raise duckdb.IOException("No space left on device")
        copy_month(cursor, table, column, month, path)

    monkeypatch.setattr(publish, "_copy_month", failing)
    days = (dt.date(2024, 3, 1), dt.date(2024, 3, 2))
    result = _two_step_job(tmp_path / "feed.duckdb", days)()
    assert not result.success
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_key == "second_day"
    assert "query copy" in str(failure.step_failure_data.error) and "No space left" in str(failure.step_failure_data.error)
    assert not (tmp_path / "query.duckdb").exists()  # nothing was published
    warehouse = Warehouse(database=str(tmp_path / "feed.duckdb"))
    with warehouse.connection() as con, warehouse.write(con):
        pass
    assert _published_days(tmp_path) == list(days)  # both commits stood; the next write published them

    failures.clear()
    later = (dt.date(2024, 3, 3), dt.date(2024, 3, 4))
    copy_month_calls = []

    def failing_last(cursor, table, column, month, path):
        copy_month_calls.append(month)
        if table.endswith('"trend_day_totals"') and len(copy_month_calls) > 1 and not failures:
            failures.append(month)
            raise duckdb.IOException("No space left on device")
        copy_month(cursor, table, column, month, path)

    monkeypatch.setattr(publish, "_copy_month", failing_last)
    result = _two_step_job(tmp_path / "feed.duckdb", later)()
    assert result.success and failures
    assert any(event.event_type_value == "ENGINE_EVENT" and "Teardown of resources" in event.message
               for event in result.all_events)
    assert _published_days(tmp_path)[-1] == later[0]
    with warehouse.connection() as con, warehouse.write(con):
        pass
    assert _published_days(tmp_path) == [*days, *later]


def test_a_step_ends_with_its_checkpoint_while_the_publication_is_still_recording_its_progress(
        tmp_path, monkeypatch):
    """The run's next step does not wait for the copy: a block's end checkpoints the file while
    the publication of its write is still open, caught between deleting its progress and
    committing (what DuckDB would refuse a checkpoint for is another transaction's updates)."""
    import threading

    from feed_assets.warehouse import publish

    written, go = threading.Event(), threading.Event()

    def held_publication(con, data_dir):
        con.begin()
        con.execute("delete from reader_progress where reader = 'query_copy'")  # as Pull.done does first
        con.execute("insert into reader_progress values ('query_copy', 'trend_day_totals', 1)")
        written.set()
        assert go.wait(timeout=60)
        con.commit()
        return 0

    monkeypatch.setattr(publish, "publish_changes", held_publication)
    warehouse = Warehouse(database=str(tmp_path / "feed.duckdb"))
    with warehouse.connection() as con:
        con.execute("insert into reader_progress values ('query_copy', 'trend_day_totals', 0)")
    warehouse.setup_for_execution(dg.build_init_resource_context())  # as in a run
    try:
        with warehouse.connection() as con:
            with warehouse.write(con):
                _count_new_papers(con, dt.date(2024, 3, 1), 5)
            assert written.wait(timeout=60)
        assert not go.is_set()  # the block ended, and checkpointed, with the publication open
        with warehouse.connection() as con:  # the next step reads, and sees the progress before it
            assert con.execute("select version from reader_progress where reader = 'query_copy'").fetchall() == [(0,)]
        go.set()
    finally:
        go.set()
        warehouse.teardown_after_execution(dg.build_init_resource_context())
    with warehouse.connection() as con:
        assert con.execute("select version from reader_progress where reader = 'query_copy'").fetchall() == [(1,)]


def test_a_reopened_blocks_writes_are_published_after_the_reopen_and_a_failed_block_notes_a_failed_publication(
        tmp_path, monkeypatch):
    """``reopen_after`` (term_daily_counts): the block's write is published on the connection
    opened again, not on the one being closed (whose close would wait for it). A block that
    fails while the publication before it failed too carries that error as a note."""
    from feed_assets.warehouse import publish

    events = []
    publish_changes, open_connection = publish.publish_changes, Warehouse._open

    def recording_publish(con, data_dir):
        events.append("publish")
        return publish_changes(con, data_dir)

    def recording_open(self, *args, **kwargs):
        events.append("open")
        return open_connection(self, *args, **kwargs)

    monkeypatch.setattr(publish, "publish_changes", recording_publish)
    monkeypatch.setattr(Warehouse, "_open", recording_open)
    # the block's one write coming after the interval, as ten years of term counts do (200 s)
    monkeypatch.setattr(resources, "PUBLISH_EVERY_SECONDS", 0.0)
    warehouse = Warehouse(database=str(tmp_path / "feed.duckdb"))
    warehouse.setup_for_execution(dg.build_init_resource_context())  # as in a run
    try:
        with warehouse.connection(reopen_after=True) as con, warehouse.write(con):
            _count_new_papers(con, dt.date(2024, 3, 1), 5)
        warehouse._publisher.wait()
        assert events == ["open", "open", "publish"]  # nothing published before the close and the reopen
        assert _published_days(tmp_path) == [dt.date(2024, 3, 1)]

        def failing(con, data_dir):
            raise OSError("No space left on device")

        monkeypatch.setattr(publish, "publish_changes", failing)
        with warehouse.connection() as con, warehouse.write(con):
            _count_new_papers(con, dt.date(2024, 3, 2), 6)
        with pytest.raises(RuntimeError, match="stop") as raised, warehouse.connection():
            raise RuntimeError("stop")
        assert any("publication failed too" in note and "No space left" in note
                   for note in getattr(raised.value, "__notes__", []))
    finally:
        warehouse.teardown_after_execution(dg.build_init_resource_context())
    assert _published_days(tmp_path) == [dt.date(2024, 3, 1)]
