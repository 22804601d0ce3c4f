"""The write of ``term_bursts``: each tracked term's bursts from Kleinberg's two-state model
(``trends.bursts``), kept up to date from the stored state of the model
(``term_burst_state``), in the caller's transaction.

**Tracked terms** are the (kind, term) pairs significant in ``trending_terms`` on at least one
day, any scale; a term never significant has no bursts (the model would find some in the
noise of thousands of rare terms, and no reader asked about them). A term's series starts at
``series_start``: its first significant day ``f`` less the longest scale's window and
baseline (the quarter's 91 + 182 days by default), or the feed's first day. Its normal rate
``p0`` is its share of the new papers of the series' first ``baseline_days`` (the longest
scale's baseline), ending before ``f`` on a young feed: that is the term before it rose, and
no later day changes it. Days are the feed's days with new papers (``trend_day_totals``).

**Refresh**: the changes of ``term_daily_counts``, ``trend_day_totals`` and ``trending_terms``
are pulled. When every count day changed on or before the stored ``last_day`` is as it was
(its new papers and a digest of its term counts, kept per day in ``term_burst_days``, are the
same: a paper of an earlier day seen again makes ``term_daily_counts`` recount that day,
usually to the same counts), and every stored term is still tracked from the same first
significant day under the same settings (the usual daily run), each stored term continues
from its stored state over the new days only, and a newly tracked term runs from its
``series_start`` (a few hundred days): the cost is bounded by the new days and the tracked
terms, not by the feed's age. Otherwise (a day loaded before the last one or changed, a
term whose first significant day moved, changed settings, the first run) every tracked term
runs from its ``series_start``. Both do the same floating-point
operations in the same order, so they give the same rows, whatever the order days came in.

``term_bursts`` is then brought to the new rows by difference: only rows that changed are
deleted or inserted, and only their ``burst_start`` days are recorded as changed, so the
query copy rewrites only the months they fall in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa

from feed_assets.trends.bursts import Burst, BurstModel, ForwardState, TermPaths, baseline_rate, log_rates
from feed_assets.trends.significance import Scale
from feed_assets.trends.windows import day_number, day_numbers, day_of_number
from feed_assets.warehouse.changes import next_version, pull, record_changes
from feed_assets.warehouse.derived import Refresh
from feed_assets.warehouse.writes import insert_rows

READS = ("term_daily_counts", "trend_day_totals", "trending_terms")
# (terms x days) counts held at once: terms are run in chunks that fit
GRID_CELLS = 1 << 22
_BURST = pa.struct([("burst_start", pa.date32()), ("burst_end", pa.date32()), ("peak_day", pa.date32()),
                    ("peak_share", pa.float64()), ("weight", pa.float64()), ("burst_days", pa.int32())])
_TERM_COLUMNS = ("first_significant_day", "series_start", "baseline_last_day")


def series_scale(scales: Sequence[Scale]) -> Scale:
    """The scale whose window and baseline set a term's series: the longest (the quarter by default)."""
    return max(scales, key=lambda scale: (scale.span, scale.baseline_days))


def refresh_term_bursts(con: duckdb.DuckDBPyConnection, scales: Sequence[Scale], model: BurstModel) -> Refresh:
    """Bring ``term_bursts`` and the model's stored state up to date (see the module's docstring).
    ``Refresh.rebuilt`` counts the terms run, ``days`` the ``burst_start`` days whose rows changed."""
    changes = pull(con, "term_bursts", READS)
    version = next_version(con, "term_bursts")
    scale = series_scale(scales)
    con.execute(f"""
        create or replace temp table burst_terms as
        with first as (
            select kind, term, min(feed_date) as first_significant_day from trending_terms
            where significant group by kind, term
        ), series as (
            select kind, term, first_significant_day,
                   greatest(first_significant_day - {scale.span},
                            (select min(feed_date) from trend_day_totals)) as series_start
            from first
        )
        select kind, term, first_significant_day, series_start,
               least(series_start + {scale.baseline_days}, first_significant_day) - 1 as baseline_last_day
        from series
    """)
    tracked = {(kind, term): values for kind, term, *values in con.execute(
        f"select kind, term, {', '.join(_TERM_COLUMNS)} from burst_terms order by kind, term").fetchall()}
    stored = _stored_state(con)
    _digest_days(con, None if changes.full else changes.days("term_daily_counts", "trend_day_totals"))
    full = changes.full or not stored or not _continues(con, stored, tracked, model)
    _keep_digests(con, full, every_day_read=changes.full)
    if full:
        stored = {}
    last_stored = max((row["last_day"] for row in stored.values()), default=None)
    new_terms = [key for key in tracked if key not in stored]
    rates = _baseline_rates(con, new_terms)
    # each term: where it starts (the day after the stored last day, or its series' start), its
    # state there and its baseline rate
    plan = []
    for key, (first_significant_day, series_start, baseline_last_day) in tracked.items():
        if key in stored:
            row = stored[key]
            plan.append((key, last_stored + dt.timedelta(days=1), row["paths"], row["baseline_rate"]))
        else:
            plan.append((key, series_start, TermPaths.start(), rates[key]))
    grid = _grid(con, min((start for _, start, _, _ in plan), default=None))
    last_day = day_of_number(grid[0][-1]) if len(grid[0]) else last_stored
    con.execute("create or replace temp table bursts_new as select * from term_bursts limit 0")
    con.execute("delete from term_burst_state")
    chunk = max(1, GRID_CELLS // max(1, len(grid[0])))
    for low in range(0, len(plan), chunk):
        _run_chunk(con, plan[low:low + chunk], grid, model, tracked, last_day, last_stored)
    days = _write_differences(con, version)
    con.execute("drop table burst_terms")
    changes.done(con)
    return Refresh(len(plan), days, full)


def _stored_state(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict]:
    """The stored state per term: its paths, last day, series columns and rates."""
    found: dict[tuple[str, str], dict] = {}
    rows = con.execute(f"""
        select kind, term, state, cost, bursts, last_day, {', '.join(_TERM_COLUMNS)}, baseline_rate, burst_rate,
               transition_cost
        from term_burst_state order by kind, term, state
    """).fetchall()
    for (kind, term, state, cost, bursts, last_day, first_significant_day, series_start, baseline_last_day,
         p0, p1, tau) in rows:
        entry = found.setdefault((kind, term), {
            "costs": [0.0, 0.0], "bursts": [(), ()], "last_day": last_day, "baseline_rate": p0, "burst_rate": p1,
            "transition_cost": tau, "series": [first_significant_day, series_start, baseline_last_day]})
        entry["costs"][state] = cost
        entry["bursts"][state] = tuple(_burst_of_struct(burst) for burst in bursts)
    for entry in found.values():
        entry["paths"] = TermPaths(tuple(entry["costs"]), tuple(entry["bursts"]))
    return found


def _digest_days(con: duckdb.DuckDBPyConnection, days_sql: str | None) -> None:
    """Temp table ``burst_digests``: for the days of ``days_sql`` (every day if None) that the
    feed has, their new papers and a digest of all their term counts, to tell a recounted day
    that came out the same (a paper of that day seen again) from one that changed."""
    scope = "true" if days_sql is None else f"feed_date in (select day from ({days_sql}))"
    con.execute(f"""
        create or replace temp table burst_digests as
        select t.feed_date, t.new_papers, coalesce(c.counts_digest, 0::ubigint) as counts_digest
        from (select feed_date, new_papers from trend_day_totals where {scope}) t
        left join (select feed_date, bit_xor(hash(kind, term, papers)) as counts_digest from term_daily_counts
                   where {scope} group by feed_date) c using (feed_date)
    """)
    con.execute("create or replace temp table burst_digest_days as select feed_date from trend_day_totals where false")
    if days_sql is not None:
        con.execute(f"insert into burst_digest_days select distinct day from ({days_sql})")


def _keep_digests(con: duckdb.DuckDBPyConnection, full: bool, every_day_read: bool) -> None:
    """Store the digests of the days just read; on a full run, of every day."""
    if full:
        if not every_day_read:
            _digest_days(con, None)
        con.execute("delete from term_burst_days")
    else:
        con.execute("delete from term_burst_days where feed_date in (select feed_date from burst_digest_days)")
    con.execute("insert into term_burst_days select * from burst_digests")
    con.execute("drop table burst_digests")
    con.execute("drop table burst_digest_days")


def _continues(con: duckdb.DuckDBPyConnection, stored: dict, tracked: dict, model: BurstModel) -> bool:
    """Whether the stored state can be continued: every count day changed on or before the
    stored last day is as it was (same new papers, same term counts), and every stored term is
    tracked from the same first significant day under the same model. (What changed in
    ``trending_terms`` matters only through the tracked terms, compared here directly.)"""
    last = max(row["last_day"] for row in stored.values())
    if len({row["last_day"] for row in stored.values()}) != 1:
        return False
    changed_before = con.execute("""
        select count(*) from burst_digest_days d
        left join term_burst_days s using (feed_date)
        left join burst_digests n using (feed_date)
        where d.feed_date <= ? and (s.new_papers is distinct from n.new_papers
                                    or s.counts_digest is distinct from n.counts_digest)
    """, [last]).fetchall()[0][0]
    if changed_before:
        return False
    return all(
        key in tracked and list(tracked[key]) == row["series"]
        and row["transition_cost"] == model.transition_cost
        and row["burst_rate"] == model.burst_rate(row["baseline_rate"])
        for key, row in stored.items())


def _baseline_rates(con: duckdb.DuckDBPyConnection, terms: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
    """p0 of each term: (its papers + 1) / (new papers + 2) from series_start to baseline_last_day."""
    if not terms:
        return {}
    con.execute("""
        create or replace temp table burst_baselines as
        select t.kind, t.term, t.series_start, t.baseline_last_day from burst_terms t
        join (select unnest(?::varchar[]) as kind, unnest(?::varchar[]) as term) n using (kind, term)
    """, [[kind for kind, _ in terms], [term for _, term in terms]])
    rows = con.execute("""
        with term_papers as (
            select b.kind, b.term, sum(c.papers) as papers from burst_baselines b
            join term_daily_counts c on c.kind = b.kind and c.term = b.term
             and c.feed_date between b.series_start and b.baseline_last_day
            group by all
        ), day_papers as (
            select b.kind, b.term, sum(d.new_papers) as papers from burst_baselines b
            join trend_day_totals d on d.feed_date between b.series_start and b.baseline_last_day
            group by all
        )
        select b.kind, b.term, coalesce(t.papers, 0)::bigint, coalesce(d.papers, 0)::bigint
        from burst_baselines b left join term_papers t using (kind, term) left join day_papers d using (kind, term)
    """).fetchall()
    con.execute("drop table burst_baselines")
    return {(kind, term): baseline_rate(int(papers), int(total)) for kind, term, papers, total in rows}


def _grid(con: duckdb.DuckDBPyConnection, first: dt.date | None) -> tuple[np.ndarray, np.ndarray]:
    """The feed's days with new papers from ``first`` on (day numbers), and their new papers."""
    if first is None:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows = con.execute("select feed_date, new_papers from trend_day_totals where new_papers > 0 and feed_date >= ? "
                       "order by feed_date", [first]).to_arrow_table()
    return day_numbers(rows["feed_date"]), rows["new_papers"].to_numpy().astype(np.int64)


def _run_chunk(con: duckdb.DuckDBPyConnection, plan: list, grid: tuple[np.ndarray, np.ndarray], model: BurstModel,
               tracked: dict, last_day: dt.date | None, last_stored: dt.date | None) -> None:
    """Run a chunk of terms over the grid from each one's start; insert their state rows into
    ``term_burst_state`` and their best path's bursts into ``bursts_new``."""
    days, totals = grid
    keys = [key for key, _, _, _ in plan]
    starts = np.array([day_number(start) for _, start, _, _ in plan], dtype=np.int64)
    con.execute("""
        create or replace temp table burst_chunk as
        select unnest(?::varchar[]) as kind, unnest(?::varchar[]) as term, unnest(?::date[]) as from_day,
               unnest(range(?::bigint)) as term_index
    """, [[k for k, _ in keys], [t for _, t in keys], [start for _, start, _, _ in plan], len(plan)])
    counts = np.zeros((len(plan), len(days)), dtype=np.int64)
    if len(days):
        # a query with parameters runs through execute: DuckDB 1.5's relation API (con.sql with
        # params) took 20 times as long on the same query
        rows = con.execute("""
            select c.feed_date, t.term_index, c.papers from term_daily_counts c join burst_chunk t using (kind, term)
            where c.feed_date >= t.from_day and c.feed_date >= ?
        """, [day_of_number(days[0])]).to_arrow_table()
        day = day_numbers(rows["feed_date"])
        column = np.minimum(np.searchsorted(days, day), len(days) - 1)
        on_grid = days[column] == day  # a term's papers are on a day with new papers; anything else is skipped
        counts[rows["term_index"].to_numpy()[on_grid], column[on_grid]] = rows["papers"].to_numpy()[on_grid]
    con.execute("drop table burst_chunk")
    rates = [p0 for _, _, _, p0 in plan]
    last = -1 if last_stored is None else day_number(last_stored)
    state = ForwardState([paths for _, _, paths, _ in plan], [last] * len(plan))
    state.advance(days, totals, counts, np.searchsorted(days, starts), log_rates(rates, model), model.transition_cost)
    state_rows: dict[str, list] = {name: [] for name in (
        "kind", "term", "state", "cost", "bursts", "last_day", "first_significant_day", "series_start",
        "baseline_last_day", "baseline_rate", "burst_rate", "transition_cost")}
    burst_rows: dict[str, list] = {name: [] for name in (
        "kind", "term", "burst_start", "burst_end", "ongoing", "peak_day", "peak_share", "weight", "burst_days")}
    for index, (kind, term) in enumerate(keys):
        paths = state.paths(index)
        for number in (0, 1):
            for name, value in zip(state_rows, (
                    kind, term, number, paths.costs[number], [_burst_struct(b) for b in paths.bursts[number]],
                    last_day, *tracked[(kind, term)], rates[index], model.burst_rate(rates[index]),
                    model.transition_cost)):
                state_rows[name].append(value)
        for burst in paths.best():
            row = {"kind": kind, "term": term, "ongoing": burst.ongoing, **_burst_struct(burst)}
            for name, value in row.items():
                burst_rows[name].append(value)
    if last_day is not None:
        insert_rows(con, "term_burst_state", pa.table({
            name: pa.array(values, type=pa.list_(_BURST)) if name == "bursts" else values
            for name, values in state_rows.items()}))
    insert_rows(con, "bursts_new", pa.table(burst_rows) if burst_rows["kind"] else pa.table({}))


def _burst_struct(burst: Burst) -> dict:
    """A burst as the columns ``term_bursts`` and the stored paths give it (``_BURST``)."""
    return {"burst_start": day_of_number(burst.start),
            "burst_end": None if burst.ongoing else day_of_number(burst.end),
            "peak_day": day_of_number(burst.peak_day), "peak_share": burst.peak_share, "weight": burst.weight,
            "burst_days": burst.days}


def _burst_of_struct(struct: dict) -> Burst:
    """The burst ``_burst_struct`` wrote."""
    end = struct["burst_end"]
    return Burst(day_number(struct["burst_start"]), None if end is None else day_number(end),
                 day_number(struct["peak_day"]), struct["peak_share"], struct["weight"], struct["burst_days"])


def _write_differences(con: duckdb.DuckDBPyConnection, version: int) -> list[dt.date]:
    """Make ``term_bursts`` equal ``bursts_new``, touching only the rows that differ; record their
    ``burst_start`` days as changed and return them."""
    con.execute("create or replace temp table bursts_removed as "
                "select * from term_bursts except select * from bursts_new")
    con.execute("create or replace temp table bursts_added as "
                "select * from bursts_new except select * from term_bursts")
    con.execute("create or replace temp table bursts_changed as "
                "select burst_start as feed_date from bursts_removed union select burst_start from bursts_added")
    record_changes(con, version, "term_bursts", "select feed_date as day, null as paper_id from bursts_changed")
    con.execute("delete from term_bursts where (kind, term, burst_start) in "
                "(select (kind, term, burst_start) from bursts_removed)")
    con.execute("insert into term_bursts select * from bursts_added")
    days = [row[0] for row in con.execute("select feed_date from bursts_changed order by 1").fetchall()]
    for table in ("bursts_removed", "bursts_added", "bursts_changed", "bursts_new"):
        con.execute(f"drop table {table}")
    return days
