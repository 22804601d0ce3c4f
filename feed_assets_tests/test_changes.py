"""How readers learn what changed (warehouse/changes.py), on a real DuckDB file."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from feed_assets.warehouse.changes import next_version, pull, record_changes, record_everything
from feed_assets.warehouse.schema import ensure_schema
from feed_assets.warehouse.writes import transaction

DAY = dt.date(2024, 3, 5)


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "feed.duckdb")) as con:
        ensure_schema(con)
        yield con


def write(con, table: str, keys: list[tuple]) -> int:
    with transaction(con):
        version = next_version(con, table)
        record_changes(con, version, table, "select unnest(?::date[]) as day, unnest(?::varchar[]) as paper_id",
                       [[day for day, _ in keys], [paper for _, paper in keys]])
    return version


def take_in(con, reader: str, tables: list[str]) -> tuple[bool, list, list]:
    """Pull as ``reader`` and mark it done; what it was told: full, and the days and papers changed."""
    with transaction(con):
        changes = pull(con, reader, tables)
        days = [] if changes.full else sorted(r[0] for r in con.execute(changes.days(*tables)).fetchall())
        papers = [] if changes.full else sorted(r[0] for r in con.execute(changes.papers(*tables)).fetchall())
        changes.done(con)
    return changes.full, days, papers


def test_a_reader_rebuilds_everything_first_then_takes_in_only_what_changed_since(con):
    write(con, "papers", [(DAY, "a")])
    assert take_in(con, "stats", ["papers"]) == (True, [], [])
    assert take_in(con, "stats", ["papers"]) == (False, [], [])
    write(con, "papers", [(DAY, "b"), (DAY + dt.timedelta(days=1), "c")])
    assert take_in(con, "stats", ["papers"]) == (False, [DAY, DAY + dt.timedelta(days=1)], ["b", "c"])


def test_a_table_replaced_whole_makes_its_readers_rebuild_once(con):
    write(con, "papers", [(DAY, "a")])
    write(con, "stats", [(DAY, None)])
    take_in(con, "copy", ["papers", "stats"])
    with transaction(con):
        record_everything(con, next_version(con, "papers"), "papers")
    write(con, "papers", [(DAY, "b")])
    write(con, "stats", [(DAY + dt.timedelta(days=1), None)])
    with transaction(con):
        changes = pull(con, "copy", ["papers", "stats"])
    assert changes.whole == {"papers"} and changes.full  # the other table's changes are still told by key
    assert [r[0] for r in con.execute(changes.days("stats")).fetchall()] == [DAY + dt.timedelta(days=1)]
    assert take_in(con, "copy", ["papers", "stats"])[0] is True
    assert take_in(con, "copy", ["papers", "stats"]) == (False, [], [])


def test_changes_every_reader_took_in_are_dropped_and_the_others_kept(con):
    write(con, "papers", [(DAY, "a")])
    take_in(con, "stats", ["papers"])
    take_in(con, "terms", ["papers"])
    write(con, "papers", [(DAY, "b")])
    take_in(con, "stats", ["papers"])
    assert con.execute("select paper_id from table_changes").fetchall() == [("b",)]  # terms has not read it
    assert take_in(con, "terms", ["papers"]) == (False, [DAY], ["b"])
    assert con.execute("select count(*) from table_changes").fetchone()[0] == 0


def test_a_rolled_back_reader_is_told_the_same_changes_again(con):
    write(con, "papers", [(DAY, "a")])
    take_in(con, "stats", ["papers"])
    write(con, "papers", [(DAY, "b")])
    with pytest.raises(RuntimeError), transaction(con):
        pull(con, "stats", ["papers"]).done(con)
        raise RuntimeError("the reader's write failed")
    assert take_in(con, "stats", ["papers"]) == (False, [DAY], ["b"])


def test_versions_follow_the_commits_so_a_write_that_commits_late_is_still_taken_in(con):
    # writer A begins before writer B and commits after it, and a reader takes in between: had A
    # kept the version it would have got when it began, the reader would have moved past it
    a, b = con.cursor(), con.cursor()
    with transaction(a):
        record_changes(a, next_version(a, "papers"), "papers", "select ?::date as day, 'late' as paper_id", [DAY])
        with transaction(b):
            record_changes(b, next_version(b, "papers"), "papers", "select ?::date as day, 'early' as paper_id",
                           [DAY + dt.timedelta(days=1)])
        take_in(con, "stats", ["papers"])
        assert take_in(con, "stats", ["papers"]) == (False, [], [])
    assert take_in(con, "stats", ["papers"]) == (False, [DAY], ["late"])
    assert con.execute("select version, writer from warehouse_writes order by version").fetchall() == [
        (1, "papers"), (2, "papers")]
