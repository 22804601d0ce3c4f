"""A new day's trend sums continued from the last new day's are those summed afresh, and they are
only continued when nothing they summed has changed since."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed_assets.trends.windows import Comparison
from feed_assets.warehouse import trend_sums
from feed_assets.warehouse.connection import prepare
from feed_assets.warehouse.trend_sums import DaySums, continued_sums, summed_terms

DAY0 = dt.date(2024, 1, 1)
DAYS = 40
TERMS = [("text", f"term {n}") for n in range(12)] + [("keyword", "term 0"), ("category", "cs.LG")]


def warehouse(counts: dict[tuple[int, int], int]) -> duckdb.DuckDBPyConnection:
    """A warehouse whose ``term_daily_counts`` holds ``counts``: (day number, term number) -> papers."""
    con = prepare(duckdb.connect())
    if counts:
        con.executemany("insert into term_daily_counts values (?, ?, ?, ?)",
                        [(DAY0 + dt.timedelta(days=day), *TERMS[term], papers)
                         for (day, term), papers in counts.items()])
    return con


def day_comparisons(day: dt.date, lengths: list[tuple[int, int]]) -> list[Comparison]:
    return [Comparison(day, window, baseline) for window, baseline in lengths]


def rows(table) -> list[tuple]:
    return sorted(zip(*(table[name].to_pylist() for name in table.column_names)))


counts = st.dictionaries(st.tuples(st.integers(0, DAYS - 1), st.integers(0, len(TERMS) - 1)),
                         st.integers(1, 4), max_size=300)
lengths = st.lists(st.tuples(st.integers(1, 6), st.integers(1, 9)), min_size=1, max_size=3)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=counts, lengths=lengths, at_least=st.integers(1, 6), kept=st.integers(0, DAYS - 8),
       gap=st.integers(1, trend_sums.SUMS_CONTINUE_DAYS))
def test_sums_continued_from_a_kept_day_are_the_sums_summed_afresh(counts, lengths, at_least, kept, gap):
    con = warehouse(counts)
    kept_day = DAY0 + dt.timedelta(days=kept)
    DaySums(con, None).summed(con, day_comparisons(kept_day, lengths), at_least)
    assert con.execute("select count(distinct feed_date), min(feed_date) from trend_term_sums").fetchone() in (
        (1, kept_day), (0, None))
    day = kept_day + dt.timedelta(days=gap)
    continued = continued_sums(con, kept_day, day_comparisons(day, lengths), at_least)
    assert rows(continued) == rows(summed_terms(con, day_comparisons(day, lengths), at_least))


def test_a_day_continues_the_kept_sums_only_when_nothing_they_summed_changed(monkeypatch):
    con = warehouse({(day, term): 1 + (day * term) % 3 for day in range(DAYS) for term in range(len(TERMS))})
    lengths = [(3, 5), (5, 9)]
    kept_day, day = DAY0 + dt.timedelta(days=20), DAY0 + dt.timedelta(days=23)
    DaySums(con, None).summed(con, day_comparisons(kept_day, lengths), 5)
    after, before = (f"select date '{d}' as day" for d in (kept_day + dt.timedelta(days=1), kept_day))
    assert DaySums(con, after).kept == (kept_day, "3+5,5+9;5")
    assert DaySums(con, None).kept is None  # a full rebuild
    assert DaySums(con, before).kept is None  # a change on the kept day itself
    assert DaySums(con, f"{after} union all {before}").kept is None

    calls = []
    real_continued = trend_sums.continued_sums
    monkeypatch.setattr(trend_sums, "continued_sums", lambda *args: calls.append(args[1]) or real_continued(*args))
    other_lengths = day_comparisons(day, [(3, 5), (5, 8)])
    summed = DaySums(con, after).summed(con, other_lengths, 5)
    assert rows(summed) == rows(summed_terms(con, other_lengths, 5)) and calls == []  # summed afresh
    DaySums(con, None).summed(con, day_comparisons(kept_day, lengths), 5)
    summed = DaySums(con, after).summed(con, day_comparisons(day, lengths), 5)
    assert rows(summed) == rows(summed_terms(con, day_comparisons(day, lengths), 5)) and calls == [kept_day]
    # kept for the next day, which continues from it
    assert con.execute("select distinct feed_date, layout from trend_term_sums").fetchall() == [(day, "3+5,5+9;5")]
    assert DaySums(con, f"select date '{day + dt.timedelta(days=1)}' as day").kept == (day, "3+5,5+9;5")


@pytest.mark.parametrize("gap", [0, -1, trend_sums.SUMS_CONTINUE_DAYS + 1])
def test_a_day_not_just_after_the_kept_one_is_summed_afresh(gap, monkeypatch):
    con = warehouse({(day, term): 1 + (day + term) % 2 for day in range(DAYS) for term in range(len(TERMS))})
    lengths = [(2, 3)]
    kept_day = DAY0 + dt.timedelta(days=15)
    DaySums(con, None).summed(con, day_comparisons(kept_day, lengths), 2)
    monkeypatch.setattr(trend_sums, "continued_sums", lambda *args: pytest.fail("continued"))
    day = kept_day + dt.timedelta(days=gap)
    sums = DaySums(con, f"select date '{max(day, kept_day + dt.timedelta(days=1))}' as day")
    assert rows(sums.summed(con, day_comparisons(day, lengths), 2)) == rows(
        summed_terms(con, day_comparisons(day, lengths), 2))


def test_kept_sums_stay_until_a_refresh_finds_them_out_of_date():
    con = warehouse({(day, 0): 2 for day in range(DAYS)})
    DaySums(con, None).summed(con, day_comparisons(DAY0 + dt.timedelta(days=10), [(2, 3)]), 1)
    DaySums(con, "select date '2024-01-13' as day").finish(con)  # a later day's change, no new day summed
    assert con.execute("select distinct feed_date from trend_term_sums").fetchall() == [(dt.date(2024, 1, 11),)]
    DaySums(con, "select date '2024-01-11' as day").finish(con)  # the kept day itself changed
    assert con.execute("select count(*) from trend_term_sums").fetchone() == (0,)
