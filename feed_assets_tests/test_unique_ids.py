"""The id check that groups only the ids written since it last passed (warehouse/unique_ids.py),
on a real DuckDB file: every repeated id is found, whether a write or a hand made it."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from feed_assets.warehouse.changes import next_version, record_changes
from feed_assets.warehouse.schema import ensure_schema
from feed_assets.warehouse.unique_ids import IdCheck, check_unique_ids, fingerprint, record_write
from feed_assets.warehouse.writes import transaction

DAY = dt.date(2024, 3, 5)


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "feed.duckdb")) as con:
        ensure_schema(con)
        con.execute("create table items (paper_id varchar)")
        yield con


def write(con, ids: list[str]) -> None:
    """A writer as ``refresh_papers`` is one: it records the ids it changes and its fingerprints."""
    with transaction(con):
        before = fingerprint(con, "items")
        version = next_version(con, "items")
        record_changes(con, version, "items", "select ?::date as day, unnest(?::varchar[]) as paper_id", [DAY, ids])
        con.execute("insert into items select unnest(?::varchar[])", [ids])
        record_write(con, "items", before)


def check(con) -> IdCheck:
    with transaction(con):
        return check_unique_ids(con, "items_are_unique", "items", examples=5)


def repeated(checked: IdCheck) -> list[tuple[str, int]]:
    return [(row.paper_id, row.copies) for row in checked.duplicates.itertuples()]


def test_the_first_check_groups_every_id_and_the_next_ones_only_the_ids_written_since(con):
    write(con, ["a", "b", "c"])
    first = check(con)
    assert (first.whole_table, first.ids_checked, repeated(first)) == (True, 3, [])
    write(con, ["d"])
    write(con, ["e", "f"])
    second = check(con)
    assert (second.whole_table, second.ids_checked, repeated(second)) == (False, 3, [])
    # nothing written since: nothing to group, and still nothing repeated
    third = check(con)
    assert (third.whole_table, third.ids_checked, repeated(third)) == (False, 0, [])


def test_a_repeat_a_write_makes_is_found_among_the_ids_it_wrote_and_again_until_mended(con):
    write(con, ["a", "b", "c"])
    check(con)
    write(con, ["b", "x"])
    found = check(con)
    assert (found.whole_table, repeated(found)) == (False, [("b", 2)])
    write(con, ["y"])
    # a failed check keeps its place: the repeated id is still among those it groups
    assert repeated(check(con)) == [("b", 2)]
    con.execute("delete from items where paper_id = 'b'")
    write(con, ["b"])
    mended = check(con)
    assert (mended.whole_table, repeated(mended)) == (True, [])  # the hand's delete: every id grouped


@pytest.mark.parametrize("by_hand", [
    "insert into items values ('a')",                              # one row more
    "update items set paper_id = 'a' where paper_id = 'b'",        # as many rows as before
    "insert into items values ('a'); delete from items where paper_id = 'c'",
])
@pytest.mark.parametrize("after_the_write", [False, True])
def test_a_repeat_made_by_hand_is_found_by_grouping_every_id(con, by_hand: str, after_the_write: bool):
    write(con, ["a", "b", "c"])
    assert repeated(check(con)) == []
    if not after_the_write:
        con.execute(by_hand)
    write(con, ["z"])  # the write itself repeats nothing, and its ids are not the repeated one
    if after_the_write:
        con.execute(by_hand)
    found = check(con)
    assert (found.whole_table, repeated(found)) == (True, [("a", 2)])


def test_writes_that_leave_the_ids_as_they_were_are_not_recorded_and_break_nothing(con):
    write(con, ["a"])
    check(con)
    write(con, [])
    assert con.execute("select count(*) from write_fingerprints").fetchone()[0] == 0
    assert check(con).whole_table is False


def test_a_passing_check_keeps_the_fingerprint_it_verified_and_drops_the_writes_it_took_in(con):
    write(con, ["a", "b"])
    write(con, ["c"])
    assert con.execute("select count(*) from write_fingerprints").fetchone()[0] == 2
    check(con)
    assert con.execute("select count(*) from write_fingerprints").fetchone()[0] == 0
    assert con.execute("select row_count, ids_hash from verified_fingerprints").fetchall() == [
        fingerprint(con, "items")]
