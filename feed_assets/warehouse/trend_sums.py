"""A few days' window and baseline papers per term, summed in SQL; a new day's continued from
the last new day's (``trend_term_sums``), so that its cost follows the days that changed, not
the length of the scales' spans.

A new day at three scales (a week, a month and a quarter against their baselines) asks, for
each term with enough papers over the longest span (273 days), for its papers in each window
and baseline. Summed afresh on ten synthetic years of arXiv, that span holds 6 million rows of
2.5 million terms (``summed_terms``: 0.66-0.68 s, 0.8 s in a fresh process). The day before
asked the same of a span one day earlier, so ``DaySums`` keeps those sums, and the next day adds
the days that entered each period and takes off those that left it (a dozen days of rows), then
sums afresh only the terms of the new days that were not kept (``continued_sums``: 0.26 s the
next day, 0.38 s three days later, 0.48 s a week later; the same sums).

A kept sum is only right while the days it summed stay as they were: a refresh continues
from the kept day only when every change it pulled is on a later day, with the same window and
baseline lengths, at most ``SUMS_CONTINUE_DAYS`` later; any other day is summed afresh. A
refresh that pulls a change on the kept day or before, and keeps no new day's sums instead,
deletes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pyarrow as pa

from feed_assets.trends.windows import Comparison
from feed_assets.warehouse.writes import days_params, in_days, registered

# a term as a 64-bit number, by which ``summed_terms`` first finds the terms with enough papers
# (two terms may share one: they are then summed apart, by their text)
TERM_HASH = "hash(kind, term)"
# a new day's sums continue from the kept day's when it is at most this many days earlier (a
# weekend, a holiday); the days to add and take off grow with the gap
SUMS_CONTINUE_DAYS = 7
SUMS_TABLE = "trend_term_sums"


def period_sums(comparisons: Sequence[Comparison]) -> tuple[list[str], list[dt.date], list[dt.date]]:
    """Each comparison's window and baseline papers as SQL sums (``window_i``, ``baseline_i``)
    with their parameters, and the span they cover (first and last day)."""
    sums, params = [], []
    for index, (name, first, last) in enumerate(_periods(comparisons)):
        sums.append(f"sum(case when feed_date between ? and ? then papers else 0 end)::integer as {name}_{index // 2}")
        params += [first, last]
    span = [min(c.day - dt.timedelta(days=c.window_days + c.baseline_days - 1) for c in comparisons),
            max(c.day for c in comparisons)]
    return sums, params, span


def _periods(comparisons: Sequence[Comparison]) -> list[tuple[str, dt.date, dt.date]]:
    """Each comparison's window and baseline, in that order: (name, first day, last day)."""
    periods = []
    for comparison in comparisons:
        window_first = comparison.day - dt.timedelta(days=comparison.window_days - 1)
        baseline_first = window_first - dt.timedelta(days=comparison.baseline_days)
        periods += [("window", window_first, comparison.day),
                    ("baseline", baseline_first, window_first - dt.timedelta(days=1))]
    return periods


def summed_terms(con: duckdb.DuckDBPyConnection, comparisons: Sequence[Comparison], at_least: int) -> pa.Table:
    """The terms with ``at_least`` papers over the comparisons' span, with their papers over it
    (``span_papers``) and in each comparison's window and baseline (``window_i``, ``baseline_i``):
    one grouping query over the span.

    What a new day's run takes instead of reading its spans' counts row by row: on ten
    synthetic years, the quarter scale's 273 days hold 6 million rows of 2.5 million terms,
    and reading the rows of the 97,000 terms with enough papers (3.2 million), then ordering
    them by day, took 1.5 s against 0.9 s for the sums.

    The terms with enough papers are found first by grouping ``TERM_HASH``, a number, rather
    than the strings of millions of terms used once or twice; then only their rows are summed
    by their strings. Two terms sharing a hash only let each other through to that exact
    grouping, which sums and checks each apart. The same ten-year day: 0.82-0.84 s against
    1.06-1.09 s grouping the strings of every term (2026-12-06, runs interleaved, the same sums).
    Grouping by the hash alone in one pass, with the smallest and largest text of each hash to
    tell terms that share one, took 1.8 s (strings kept per group are dear)."""
    sums, params, span = period_sums(comparisons)
    return con.execute(f"""
        with enough as (
            select {TERM_HASH} as term_hash from term_daily_counts where feed_date between ? and ?
            group by term_hash having sum(papers) >= {at_least}
        )
        select kind, term, sum(papers)::integer as span_papers, {", ".join(sums)} from term_daily_counts
        where feed_date between ? and ? and {TERM_HASH} in (select term_hash from enough)
        group by kind, term having sum(papers) >= {at_least}
    """, [*span, *params, *span]).to_arrow_table()


def continued_sums(con: duckdb.DuckDBPyConnection, kept_day: dt.date, comparisons: Sequence[Comparison],
                   at_least: int) -> pa.Table:
    """What ``summed_terms`` gives for ``comparisons`` (one day's), from the sums kept in
    ``trend_term_sums`` for ``kept_day``: the same comparisons ``days`` earlier, with the same
    lengths. A kept term's sums gain the days that entered each period (and the span) and lose
    those that left it; a term of the days after ``kept_day`` that was not kept (too few papers
    then) is summed afresh over the span. A term that was not kept and has no papers since could
    not have reached ``at_least``: its sums were below it, and no period holds a day it did not."""
    days = (comparisons[0].day - kept_day).days
    sums, params, span = period_sums(comparisons)
    periods = [("span", *span), *_periods(comparisons)]
    changes, change_params, read_days = [], [], set()
    for index, (_, first, last) in enumerate(periods):
        entered = (last - dt.timedelta(days=days - 1), last)
        left = (first - dt.timedelta(days=days), first - dt.timedelta(days=1))
        changes.append(f"(sum(case when feed_date between ? and ? then papers else 0 end) "
                       f"- sum(case when feed_date between ? and ? then papers else 0 end)) as change_{index}")
        change_params += [*entered, *left]
        read_days |= {day for bounds in (entered, left) for day in _days_between(*bounds)}
    names = ["span_papers"] + [f"{name}_{index // 2}" for index, (name, _, _) in enumerate(periods[1:])]
    kept = ", ".join(f"(k.sums[{index + 1}] + coalesce(c.change_{index}, 0))::integer as {name}"
                     for index, name in enumerate(names))
    kept_sums = con.execute(f"""
        with changed as (
            select kind, term, {", ".join(changes)} from term_daily_counts where {in_days()}
            group by kind, term
        )
        select * from (
            select k.kind, k.term, {kept} from {SUMS_TABLE} k left join changed c using (kind, term)
        ) where span_papers >= {at_least}
    """, [*change_params, *days_params(read_days)]).to_arrow_table()
    # a second query, not a union with the first: DuckDB 1.5.5 never returned the rows of the
    # union of the two (their count it did)
    entered_sums = con.execute(f"""
        with unkept as (
            select distinct kind, term from term_daily_counts where feed_date between ? and ?
            except select kind, term from {SUMS_TABLE}
        )
        select kind, term, sum(papers)::integer as span_papers, {", ".join(sums)}
        from term_daily_counts semi join unkept using (kind, term)
        where feed_date between ? and ?
        group by kind, term having sum(papers) >= {at_least}
    """, [kept_day + dt.timedelta(days=1), span[1], *params, *span]).to_arrow_table()
    return pa.concat_tables([kept_sums, entered_sums])


def _days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]


def _layout(comparisons: Sequence[Comparison], at_least: int) -> str:
    """The lengths the kept sums are over, and their threshold: sums continue only between days
    with the same layout."""
    return ",".join(f"{c.window_days}+{c.baseline_days}" for c in comparisons) + f";{at_least}"


class DaySums:
    """A refresh's new-day sums: continued from the kept day's when that is safe, and kept for
    the next day; the kept ones deleted at the end of a refresh that found them out of date and
    kept none (``finish``). Made at the start of the refresh, with the SQL of the days whose
    counts it pulled changes of (None for a full rebuild)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, changed_days_sql: str | None) -> None:
        self.kept: tuple[dt.date, str] | None = None
        self.written = False
        if changed_days_sql is None:  # a full rebuild: every day may have changed
            return
        kept_day, last_day, layout, layouts = con.execute(
            f"select min(feed_date), max(feed_date), min(layout), count(distinct layout) from {SUMS_TABLE}").fetchone()
        if kept_day is None or kept_day != last_day or layouts != 1:
            return
        earliest = con.execute(f"select min(day) from ({changed_days_sql})").fetchone()[0]
        if earliest is None or earliest > kept_day:
            self.kept = (kept_day, layout)

    def summed(self, con: duckdb.DuckDBPyConnection, comparisons: Sequence[Comparison], at_least: int) -> pa.Table:
        """``summed_terms`` of one day's comparisons (one per scale, in the scales' order,
        whether or not the day has papers to compare at that scale), continued from the kept
        sums when they are of an earlier day of the same layout, close enough; the result is
        kept for the next day."""
        day, layout = comparisons[0].day, _layout(comparisons, at_least)
        if self.kept and self.kept[1] == layout and 0 < (day - self.kept[0]).days <= SUMS_CONTINUE_DAYS:
            table = continued_sums(con, self.kept[0], comparisons, at_least)
        else:
            table = summed_terms(con, comparisons, at_least)
        self.kept, self.written = None, True  # a later day of the same refresh sums afresh
        columns = [name for name in table.column_names if name not in ("kind", "term")]
        con.execute(f"delete from {SUMS_TABLE}")
        with registered(con, "day_sums", table):
            con.execute(f"""
                insert into {SUMS_TABLE} (feed_date, layout, kind, term, sums)
                select ?, ?, kind, term, [{", ".join(columns)}] from day_sums
            """, [day, layout])
        return table

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        """Delete the kept sums if this refresh pulled a change they summed and kept no day's
        instead; sums of an unchanged day stay for the next new day (which adds the days between)."""
        if not self.written and self.kept is None:
            con.execute(f"delete from {SUMS_TABLE}")
