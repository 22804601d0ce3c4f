"""Writes of the trend tables: each pulls the changes of the tables it reads, works out the days
they touch, and rebuilds those days set-based, in the caller's transaction.

A paper counts once, on the day it was first seen. Terms are extracted and counted in SQL
(``trends.term_sql``); the statistics of rising terms are pure code passed in
(``trends.significance``).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from feed_assets.trends.significance import Comparisons, Scale
from feed_assets.trends.term_sql import count_terms
from feed_assets.trends.windows import Comparison, TermDays, WindowedCounts, gathered_counts, windowed_term_counts
from feed_assets.warehouse.changes import Pull, next_version, pull, record_changes, record_everything, recorded_days
from feed_assets.warehouse.derived import Refresh
from feed_assets.warehouse.schema import TABLES
from feed_assets.warehouse.trend_sums import DaySums, summed_terms
from feed_assets.warehouse.writes import insert_rows

RankTerms = Callable[[Comparisons], pd.DataFrame]
TOP_PAPERS_PER_PERIOD = 10
# papers whose terms are counted per statement (about a month of arXiv): see term_sql.py
TERM_CHUNK_PAPERS = 20_000
# trend days read together: the counts of their spans (up to the longest scale's span before the
# first day) are read once, so longer reads re-read less of the span before them. A read of about
# a year of arXiv (some 10 million rows of its terms, held as 32-bit numbers) re-reads the
# quarter scale's 273 days once a year; measured on ten synthetic years, 300,000 papers a read
# take 89 s and 1.6 GiB at the peak, 200,000 took 100 s
TREND_PAPERS_PER_READ = 300_000
TREND_DAYS_PER_READ = 366
# trend days ranked together, within a read: their (comparison, term) rows are held at once. A
# run with fewer papers than this a thread is still cut into one part a thread (``_part_papers``)
TREND_PAPERS_PER_RANK = 20_000
# runs of at most this many comparisons (a new day at three scales, or two days) have their
# window and baseline counts summed by SQL (``trend_sums``), not read row by row
SQL_SUMS_UP_TO = 6
# parts ranked at once, one per thread: their sums and statistics are numpy and SciPy, which let
# go of the GIL for most of it. Measured on ten synthetic years (the whole refresh): one thread
# 129 s, two 83-92 s, the same rows; a year: 9.1 s, 5.6-5.9 s, and three threads 6.1 s
TREND_RANK_THREADS = 2

# the papers that match ``{where}``, with the keywords and categories of all their listings
_PAPERS_WITH_TAGS = """
    with day_papers as (
        select paper_id, first_seen_date, title, abstract, authors from papers where {where}
    ), tags as (
        select paper_id, list_sort(list_distinct(flatten(list(keywords)))) as keywords,
               list_sort(list_distinct(flatten(list(categories)))) as categories
        from paper_appearances where paper_id in (select paper_id from day_papers)
        group by paper_id
    )
    select d.paper_id, d.first_seen_date, d.title, d.abstract, d.authors,
           coalesce(t.keywords, []) as keywords, coalesce(t.categories, []) as categories
    from day_papers d left join tags t using (paper_id)
"""
# the papers first seen on the days of temp table ``trend_days`` between two bound dates
FIRST_SEEN_PAPERS_BETWEEN = _PAPERS_WITH_TAGS.format(
    where="first_seen_date in (select feed_date from trend_days) and first_seen_date between ? and ?")


# what a paper's terms are made of (``trends.terms``) and the day they count on, as one digest
# over the columns of ``_PAPERS_WITH_TAGS``: a paper listed again with the same digest has the
# same terms on the same day
_TERM_INPUTS_DIGEST = "hash(first_seen_date, title, abstract, keywords, categories)"


def _first_seen_days(con: duckdb.DuckDBPyConnection, changes: Pull, table: str, everything: bool = False) -> None:
    """Fill temp table ``trend_days`` with the days the changes touch: the first-seen days of the
    changed papers, and the changed days of any other table pulled (on a first run, or with
    ``everything``: every first-seen day, every day of those tables and every day ``table`` has)."""
    others = [name for name in changes.tables if name != "papers"]
    if changes.full or everything:
        scope = " union ".join(["select first_seen_date as day from papers", f"select feed_date from {table}",
                                *(f"select feed_date from {name}" for name in others)])
    else:
        scope = changes.days(*changes.tables)
    con.execute(f"create or replace temp table trend_days as select distinct day as feed_date from ({scope})")


def _replace_days(con: duckdb.DuckDBPyConnection, table: str, version: int, day_column: str = "feed_date") -> None:
    """Delete ``table``'s rows on the days of ``trend_days`` and record those days as changed."""
    con.execute(f"delete from {table} where {day_column} in (select feed_date from trend_days)")
    record_changes(con, version, table, "select feed_date as day, null as paper_id from trend_days")


def _days(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    return [row[0] for row in con.execute("select feed_date from trend_days order by 1").fetchall()]


def refresh_term_daily_counts(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Recount, for every first-seen day whose papers' terms the changes touch, the papers
    using each term, and the day's number of new papers (``trend_day_totals``, also 0 for a
    loaded day that brought no new paper, so that every feed day is a day of the trend windows).

    A changed paper touches its first-seen day (before and after the change) only when what
    its terms are made of changed: its title, abstract, keywords, categories or first-seen
    day, as ``paper_term_inputs`` keeps them (a digest) from the last count. A paper listed
    again as it was, which is most of a day's repeats, recounts nothing (``_changed_term_days``).

    Terms are extracted and counted in SQL (``trends.term_sql``), one statement per chunk of
    days holding about ``TERM_CHUNK_PAPERS`` papers: a statement has a fixed cost, and a
    chunk's groups are held in memory.
    """
    changes = pull(con, "term_daily_counts", ["papers", "raw_dumps"])
    # counts made before paper_term_inputs existed have no digests to compare with (a paper
    # removed since would go unseen): recount everything once
    full = changes.full or con.execute("select exists (select 1 from term_daily_counts) "
                                       "and not exists (select 1 from paper_term_inputs)").fetchone()[0]
    if full:
        _first_seen_days(con, changes, "term_daily_counts", everything=True)
        con.execute("delete from paper_term_inputs")
    else:
        _changed_term_days(con, changes)
        con.execute("delete from paper_term_inputs where first_seen_date in (select feed_date from trend_days)")
    for table in ("term_daily_counts", "trend_day_totals"):
        _replace_days(con, table, next_version(con, table))
    con.execute("""
        insert into trend_day_totals
        select d.feed_date, count(p.paper_id) from trend_days d
        left join papers p on p.first_seen_date = d.feed_date group by all
    """)
    totals = con.execute("select feed_date, new_papers from trend_day_totals "
                         "where feed_date in (select feed_date from trend_days) order by 1").fetchall()
    # the chunk's papers are read from the tables twice, not held in a temporary table: the
    # planner sees a table made in the open transaction as empty, and on that estimate it built
    # the term statement's largest join on its millions of tokens (1.6 s a month's statement
    # against 1.3 s; reading the papers again costs 0.07 s)
    for first, last in ((run[0], run[-1]) for run in _day_groups(totals, TERM_CHUNK_PAPERS)):
        count_terms(con, "select paper_id, first_seen_date as feed_date, title, abstract, keywords, categories "
                         f"from ({FIRST_SEEN_PAPERS_BETWEEN})", "term_daily_counts", [first, last])
        con.execute(f"insert into paper_term_inputs select paper_id, first_seen_date, {_TERM_INPUTS_DIGEST} "
                    f"from ({FIRST_SEEN_PAPERS_BETWEEN})", [first, last])
    days = [day for day, _ in totals]
    changes.done(con)
    return Refresh(len(days), days, full)


def _changed_term_days(con: duckdb.DuckDBPyConnection, changes: Pull) -> None:
    """Fill temp table ``trend_days`` with the days to recount: the first-seen days, before
    and after, of each changed paper whose term inputs' digest differs from the one
    ``paper_term_inputs`` keeps (a new paper has none kept, a removed one none now), and the
    changed days of ``raw_dumps`` (a loaded day counts, with 0 new papers if it brought none)."""
    con.execute(f"create or replace temp table term_changed_papers as {changes.papers('papers')}")
    now = _PAPERS_WITH_TAGS.format(where="paper_id in (select paper_id from term_changed_papers)")
    con.execute(f"""
        create or replace temp table trend_days as
        select distinct day as feed_date from (
            select unnest([o.first_seen_date, n.first_seen_date]) as day
            from (select * from paper_term_inputs where paper_id in (select paper_id from term_changed_papers)) o
            full outer join (select paper_id, first_seen_date, {_TERM_INPUTS_DIGEST} as inputs_digest
                             from ({now})) n using (paper_id)
            where o.inputs_digest is distinct from n.inputs_digest
            union all
            {changes.days("raw_dumps")}
        ) where day is not null
    """)
    con.execute("drop table term_changed_papers")


def _day_groups(day_counts: list[tuple[dt.date, int]], most_papers: int,
                most_days: int | None = None) -> list[list[dt.date]]:
    """The days, in order, cut into groups holding at most ``most_papers`` papers (a day with more
    is a group of its own) and, if given, at most ``most_days`` days."""
    groups: list[list[dt.date]] = []
    held = 0
    for day, papers in day_counts:
        if not groups or held + papers > most_papers or (most_days is not None and len(groups[-1]) >= most_days):
            groups.append([])
            held = 0
        groups[-1].append(day)
        held += papers
    return groups


def refresh_trending_terms(con: duckdb.DuckDBPyConnection, scales: Sequence[Scale], min_total: int,
                           rank: RankTerms) -> Refresh:
    """Rebuild ``trending_terms`` for every day whose window or baseline, at any scale, includes a
    recounted day.

    For day T and each scale, the window is the scale's ``window_days`` ending on T and the
    baseline its ``baseline_days`` before (shorter on a young feed: ``Scale.lengths_on``, from
    the feed's first day). Loading a day older than the feed's first changes those lengths, so
    the days whose window it shortened are recomputed too. Days are read in groups (``_reads``):
    a run of consecutive days of a group reads the counts of its spans once, then ranks its days
    in parts of about ``TREND_PAPERS_PER_RANK`` papers, each summed with one cumulative sum per
    term for every scale (``trends.windows``). A new day's sums are continued from the last new
    day's when nothing they summed changed since (``trend_sums``).
    """
    span = max(scale.span for scale in scales)
    longest_window = max(scale.window_days for scale in scales)
    changes = pull(con, "trending_terms", ["term_daily_counts", "trend_day_totals"])
    last_day = "(select max(feed_date) from trend_day_totals)"
    if changes.full:
        scope = f"select unnest(range((select min(feed_date) from trend_day_totals), {last_day} + 1, interval 1 day))"
    else:
        changed = changes.days("term_daily_counts", "trend_day_totals")
        # a new first day changes the windows and baselines of the feed's first days (they are
        # shorter on a young feed), up to a span or two windows after the first day that was kept
        scope = f"""
            select changed.day + offset_days::integer from ({changed}) changed, range(0, {span}) as offsets(offset_days)
            union all
            select unnest(range(f.day, coalesce(g.day, f.day) + {max(span, 2 * longest_window)}, interval 1 day))
            from (select min(feed_date) as day from trend_day_totals) f,
                 (select min(feed_date) as day from trend_day_totals where feed_date not in ({changed})) g
            where f.day in ({changed})"""
    con.execute(f"""
        create or replace temp table trend_days as
        select distinct day::date as feed_date from ({scope}) as targets(day) where day::date <= {last_day}
    """)
    version = next_version(con, "trending_terms")
    _replace_days(con, "trending_terms", version)
    days = _days(con)
    first_day = con.execute("select min(feed_date) from trend_day_totals").fetchone()[0]
    columns = TABLES["trending_terms"].column_names
    day_sums = DaySums(con, None if changes.full else changed)
    for read in _reads(con):
        for ranked in _ranked_runs(con, read, tuple(scales), first_day, min_total, rank, day_sums):
            insert_rows(con, "trending_terms", ranked[columns])
    day_sums.finish(con)
    changes.done(con)
    return Refresh(len(days), days, changes.full)


def _reads(con: duckdb.DuckDBPyConnection) -> list[list[tuple[dt.date, int]]]:
    """The days of ``trend_days`` with their new papers, in groups of consecutive days holding
    about ``TREND_PAPERS_PER_READ`` new papers and at most ``TREND_DAYS_PER_READ`` days: a group
    reads its days' spans once."""
    rows = con.execute("""
        select d.feed_date, coalesce(t.new_papers, 0) from trend_days d
        left join trend_day_totals t using (feed_date) order by 1
    """).fetchall()
    groups = _day_groups(rows, TREND_PAPERS_PER_READ, TREND_DAYS_PER_READ)
    papers = dict(rows)
    return [[(day, papers[day]) for day in group] for group in groups]


def _comparisons(con: duckdb.DuckDBPyConnection, run: list[dt.date], scales: tuple[Scale, ...],
                 first_day: dt.date) -> tuple[list[Comparison], dict[str, np.ndarray]]:
    """The comparisons of a run of days (each day at each scale, where it has a window and a
    baseline with papers), and their arrays for ``Comparisons``."""
    span = max(scale.span for scale in scales)
    grid_first = run[0] - dt.timedelta(days=span - 1)
    totals = con.execute("select feed_date, new_papers from trend_day_totals where feed_date between ? and ?",
                         [grid_first, run[-1]]).fetchall()
    papers = np.zeros((run[-1] - grid_first).days + 2, dtype=np.int64)
    for day, new_papers in totals:
        papers[(day - grid_first).days + 1] = new_papers
    running = papers.cumsum()  # running[j]: papers on the days before grid day j
    found, arrays = [], {name: [] for name in ("day", "scale", "window_days", "baseline_days",
                                               "window_papers", "baseline_papers")}
    for day in run:
        end = (day - grid_first).days + 1
        for index, scale in enumerate(scales):
            window_days, baseline_days = scale.lengths_on((day - first_day).days + 1)
            window = int(running[end] - running[end - window_days]) if window_days else 0
            baseline = int(running[end - window_days] - running[end - window_days - baseline_days]) \
                if baseline_days else 0
            if window == 0 or baseline == 0:
                continue
            found.append(Comparison(day, window_days, baseline_days))
            for name, value in (("day", np.datetime64(day, "D")), ("scale", index), ("window_days", window_days),
                                ("baseline_days", baseline_days), ("window_papers", window),
                                ("baseline_papers", baseline)):
                arrays[name].append(value)
    return found, {name: np.array(values) for name, values in arrays.items()}


def _ranked_runs(con: duckdb.DuckDBPyConnection, read: list[tuple[dt.date, int]], scales: tuple[Scale, ...],
                 first_day: dt.date, min_total: int, rank: RankTerms, day_sums: DaySums) -> Iterator[pd.DataFrame]:
    """The ranked lists of each run of consecutive days of ``read`` (days with their new papers,
    sorted): the run's terms that reach ``min_total`` papers over its spans are read once and
    numbered; then each part of the run (about ``_part_papers`` papers) has its window
    and baseline counts at every scale summed and sent to ``rank``, ``TREND_RANK_THREADS``
    parts at once on threads of their own, the next run's read going on while the last parts of
    a run are ranked (``rank`` must be safe to call from several threads; the connection is only
    used here). A run of at most ``SQL_SUMS_UP_TO`` comparisons (a new day's) is summed in SQL
    instead (``_summed_in_sql``, a run of one day through ``day_sums``) and ranked the same way.
    The lists come in the order of the parts."""
    span = max(scale.span for scale in scales)
    names = tuple(scale.name for scale in scales)
    papers = dict(read)
    with ThreadPoolExecutor(max_workers=TREND_RANK_THREADS) as pool:
        pending: deque[Future[pd.DataFrame]] = deque()
        for run in _consecutive_runs([day for day, _ in read]):
            if len(run) * len(scales) <= SQL_SUMS_UP_TO:  # a new day's run: summed by the query
                comparisons, arrays = _comparisons(con, run, scales, first_day)
                if comparisons:
                    summed = _summed_in_sql(con, run, comparisons, arrays, scales, first_day, min_total, day_sums)
                    pending.append(pool.submit(rank, summed))
                continue
            in_spans = f"feed_date between ?::date - {span - 1} and ?::date"
            con.execute(f"""
                create or replace temp table window_terms as
                select kind, term, (row_number() over () - 1)::integer as term_index
                from term_daily_counts where {in_spans} group by kind, term having sum(papers) >= {max(min_total, 1)}
            """, [run[0], run[-1]])
            # through execute: DuckDB 1.5's relation API with parameters (con.sql(..., params=))
            # took 20 times as long on this query (P1: 1.0 s against 0.06 s)
            counts = con.execute(f"""
                select c.feed_date, t.term_index, c.papers from term_daily_counts c join window_terms t using (kind, term)
                where c.{in_spans}
            """, [run[0], run[-1]]).to_arrow_table()
            terms = con.sql("select kind, term from window_terms order by term_index").to_arrow_table()
            con.execute("drop table window_terms")
            run_terms = _RunTerms(TermDays.from_arrow(counts, terms.num_rows),
                                  terms["kind"].to_numpy(zero_copy_only=False),
                                  terms["term"].to_numpy(zero_copy_only=False), names, min_total, rank)
            del counts, terms
            run_papers = [(day, papers[day]) for day in run]
            for part in _day_groups(run_papers, _part_papers(sum(count for _, count in run_papers))):
                comparisons, arrays = _comparisons(con, part, scales, first_day)
                if comparisons:
                    pending.append(pool.submit(run_terms.ranked, comparisons, arrays))
                while pending and (len(pending) > TREND_RANK_THREADS or pending[0].done()):
                    yield from _listed(pending.popleft())
            del run_terms  # held by its parts still to rank, and no longer once they are done
        while pending:
            yield from _listed(pending.popleft())


def _summed_in_sql(con: duckdb.DuckDBPyConnection, run: list[dt.date], comparisons: list[Comparison],
                   arrays: dict[str, np.ndarray], scales: tuple[Scale, ...], first_day: dt.date, min_total: int,
                   day_sums: DaySums) -> Comparisons:
    """The comparisons of a run of a few days (``arrays`` as ``_comparisons`` gives), their window
    and baseline counts summed per term in SQL: a term is tested in a comparison when it has
    ``max(min_total, 1)`` papers in its two periods (``rank`` leaves out those whose share did
    not rise). A run of one day (a new day's) is summed at every scale by ``day_sums``, which
    continues from the last new day's sums when it can; a longer run by ``summed_terms``."""
    at_least = max(min_total, 1)
    if len(run) == 1:
        history = (run[0] - first_day).days + 1
        table = day_sums.summed(con, [Comparison(run[0], *scale.lengths_on(history)) for scale in scales], at_least)
        periods = arrays["scale"].tolist()  # the columns of each comparison's scale
    else:
        table = summed_terms(con, comparisons, at_least)
        periods = list(range(len(comparisons)))
    tested = np.zeros(len(comparisons), dtype=np.int64)
    found: list[list[tuple[np.ndarray, ...]]] = []
    for index, period in enumerate(periods):
        window, baseline = (table[f"{name}_{period}"].to_numpy() for name in ("window", "baseline"))
        hit = np.flatnonzero(window.astype(np.int64) + baseline >= at_least)
        tested[index] = len(hit)
        found.append([(hit.astype(np.int32), window[hit], baseline[hit])])
    return _to_rank(arrays, gathered_counts(found, tested), table["kind"].to_numpy(zero_copy_only=False),
                    table["term"].to_numpy(zero_copy_only=False), tuple(scale.name for scale in scales))


def _to_rank(arrays: dict[str, np.ndarray], counts: WindowedCounts, kinds: np.ndarray, texts: np.ndarray,
             scale_names: tuple[str, ...]) -> Comparisons:
    """What ``rank`` takes: the comparisons (``arrays`` as ``_comparisons`` gives), their terms'
    window and baseline counts, and the kinds and texts the counts' term numbers stand for."""
    return Comparisons(**arrays, comparison=counts.comparison, term=counts.term, window_count=counts.window_count,
                       baseline_count=counts.baseline_count, kinds=kinds, terms=texts, scale_names=scale_names,
                       tested=counts.tested)


@dataclass(frozen=True)
class _RunTerms:
    """A run's term counts and numbered terms, which its parts rank."""

    rows: TermDays
    kinds: np.ndarray
    texts: np.ndarray
    scale_names: tuple[str, ...]
    min_total: int
    rank: RankTerms

    def ranked(self, comparisons: list[Comparison], arrays: dict[str, np.ndarray]) -> pd.DataFrame:
        """The ranked lists of a part's comparisons (``arrays`` as ``_comparisons`` gives)."""
        found = windowed_term_counts(self.rows, comparisons, self.min_total,
                                     list(zip(arrays["window_papers"].tolist(), arrays["baseline_papers"].tolist())))
        return self.rank(_to_rank(arrays, found, self.kinds, self.texts, self.scale_names))


def _part_papers(run_papers: int) -> int:
    """Papers a part of a run holds: ``TREND_PAPERS_PER_RANK``, or less for a run that would
    not fill a part a thread, so that every thread ranks a share of it. Measured on P1 (584 days
    of real feeds, 12,226 papers, read in two runs): 2.2-2.3 s for the refresh with parts of
    4,000 papers against 2.8-3.2 s with one part a run, the same rows."""
    return max(1, min(TREND_PAPERS_PER_RANK, -(-run_papers // TREND_RANK_THREADS)))


def _listed(part: Future[pd.DataFrame]) -> list[pd.DataFrame]:
    """A ranked part's lists, when it has any (waits for it)."""
    ranked = part.result()
    return [ranked] if len(ranked) else []


def _consecutive_runs(days: list[dt.date]) -> list[list[dt.date]]:
    """Sorted days cut into runs of consecutive days: a run's windows share their days' counts."""
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and day == runs[-1][-1] + dt.timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _refresh_first_seen_tally(con: duckdb.DuckDBPyConnection, table: str, insert_sql: str) -> Refresh:
    """Rebuild a per-day tally of papers by first-seen day: delete the days the papers' changes
    touch (temp table ``trend_days``) and run ``insert_sql`` for them."""
    changes = pull(con, table, ["papers"])
    _first_seen_days(con, changes, table)
    _replace_days(con, table, next_version(con, table))
    con.execute(insert_sql)
    days = _days(con)
    changes.done(con)
    return Refresh(len(days), days, changes.full)


def refresh_author_activity(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Papers first seen per day and author, for the first-seen days the papers' changes touch."""
    return _refresh_first_seen_tally(con, "author_activity", """
        insert into author_activity
        select first_seen_date, author, count(distinct paper_id)
        from (select first_seen_date, paper_id, unnest(authors) as author from papers
              where first_seen_date in (select feed_date from trend_days))
        where author is not null and author <> ''
        group by all
        -- in day order, as the table's days are read (by readers and by the query copy, one
        -- month at a time): ten synthetic years' 6.3 million rows published in 0.9 s against
        -- 4.4 s unordered, for a sort of 0.6 s
        order by first_seen_date
    """)


def refresh_category_trends(con: duckdb.DuckDBPyConnection) -> Refresh:
    """Papers first seen per day and arXiv category, with their share of the day's new papers."""
    # only the columns it needs: FIRST_SEEN_PAPERS carries titles and abstracts, which DuckDB
    # 1.5.5 held for every paper of ten years when that query was read twice (out of memory);
    # and distinct (paper, category) pairs rather than a list per paper: list states cannot be
    # spilled, and ten years' lists filled the memory limit (a synthetic ten-year run failed)
    return _refresh_first_seen_tally(con, "category_trends", """
        insert into category_trends
        with day_papers as (
            select paper_id, first_seen_date from papers where first_seen_date in (select feed_date from trend_days)
        ), paper_categories as (
            select distinct paper_id, category from (
                select paper_id, unnest(categories) as category from paper_appearances
                where paper_id in (select paper_id from day_papers))
            where category is not null
        ), totals as (
            select first_seen_date, count(*) as new_papers from day_papers group by all
        )
        select d.first_seen_date, c.category, count(*) as papers, count(*) / any_value(t.new_papers) as share
        from day_papers d join paper_categories c using (paper_id) join totals t using (first_seen_date)
        group by all
    """)


def refresh_top_papers(con: duckdb.DuckDBPyConnection, per_period: int = TOP_PAPERS_PER_PERIOD) -> Refresh:
    """The most upvoted papers (upvotes as last seen) of each day and ISO week that lists a
    changed entry or a changed paper. A paper's history lists every fetch that saw an upvote
    count, so growth across re-fetches is visible."""
    changes = pull(con, "top_papers", ["paper_appearances", "papers"])
    scope = ("select feed_date as day from paper_appearances union select period_start from top_papers"
             if changes.full else
             changes.days("paper_appearances") + " union select feed_date from paper_appearances where paper_id in ("
             + changes.papers("papers") + ")")
    con.execute(f"""
        create or replace temp table top_periods as
        with days as (select distinct day from ({scope}) where day is not null)
        select 'day' as period, day as period_start, day as first_day, day as last_day from days
        union
        select 'week', date_trunc('week', day)::date, date_trunc('week', day)::date,
               date_trunc('week', day)::date + 6
        from days
    """)
    version = next_version(con, "top_papers")
    con.execute("delete from top_papers where (period, period_start) in (select (period, period_start) from top_periods)")
    record_changes(con, version, "top_papers", "select distinct period_start as day, null as paper_id from top_periods")
    # the lists are made first, then joined with their papers' titles: in one statement DuckDB
    # 1.5.5 built its join on the whole of ``papers`` (ten synthetic years: 0.19 s a day's run,
    # against 0.004 s with the few listed papers known first)
    con.execute(f"""
        create or replace temp table top_ranked as
        with listed as (
            select distinct t.period, t.period_start, a.paper_id
            from top_periods t join paper_appearances a
              on a.feed_date between t.first_day and t.last_day
            where a.upvotes is not null
        ), history as (
            select paper_id,
                   arg_max(upvotes, (feed_date, appearance_id)) as upvotes,
                   list({{'feed_date': feed_date, 'upvotes': upvotes}} order by feed_date, appearance_id)
                       as upvote_history
            from paper_appearances
            where upvotes is not null and paper_id in (select paper_id from listed)
            group by paper_id
        ), ranked as (
            select l.period, l.period_start, l.paper_id, h.upvotes, h.upvote_history,
                   row_number() over (partition by l.period, l.period_start
                                      order by h.upvotes desc, l.paper_id) as rank
            from listed l join history h using (paper_id)
        )
        select * from ranked where rank <= {per_period}
    """)
    con.execute("""
        insert into top_papers
        select r.period, r.period_start, r.rank, r.paper_id, p.title,
               case when p.arxiv_id is not null then 'https://arxiv.org/abs/' || p.arxiv_id end,
               r.upvotes, r.upvote_history
        from top_ranked r join papers p using (paper_id)
    """)
    days = [row[0] for row in con.execute(
        "select distinct period_start from top_periods where period = 'day' order by 1").fetchall()]
    con.execute("drop table top_periods")
    con.execute("drop table top_ranked")
    changes.done(con)
    return Refresh(len(days), days, changes.full)


def refresh_paper_attention(con: duckdb.DuckDBPyConnection) -> Refresh:
    """How fast each paper gains upvotes, for the papers whose entries or merged row changed:
    upvotes as first and as last seen across the listings that showed them, and the upvotes
    gained per day between those listings (what is gaining attention now)."""
    changes = pull(con, "paper_attention", ["paper_appearances", "papers"])
    version = next_version(con, "paper_attention")
    if changes.full:
        record_everything(con, version, "paper_attention")
        con.execute("delete from paper_attention")
        scope = ""
    else:
        con.execute(f"""create or replace temp table attention_scope as
                        {changes.papers("paper_appearances", "papers")}""")
        scope = "and paper_id in (select paper_id from attention_scope)"
        record_changes(con, version, "paper_attention",
                       f"select last_fetch_date as day, paper_id from paper_attention where true {scope}")
        con.execute(f"delete from paper_attention where true {scope}")
    con.execute(f"""
        insert into paper_attention
        with seen as (
            select paper_id, min(feed_date) as first_fetch_date, max(feed_date) as last_fetch_date,
                   count(*) as fetches,
                   arg_min(upvotes, (feed_date, appearance_id)) as first_upvotes,
                   arg_max(upvotes, (feed_date, appearance_id)) as upvotes
            from paper_appearances where upvotes is not null {scope}
            group by paper_id
        )
        select s.paper_id, p.title,
               case when p.arxiv_id is not null then 'https://arxiv.org/abs/' || p.arxiv_id end,
               s.first_fetch_date, s.last_fetch_date, s.fetches, s.first_upvotes, s.upvotes,
               s.upvotes - s.first_upvotes,
               case when s.last_fetch_date > s.first_fetch_date
                    then (s.upvotes - s.first_upvotes) / (s.last_fetch_date - s.first_fetch_date) end
        from seen s join papers p using (paper_id)
    """)
    if changes.full:
        days_sql = "select distinct last_fetch_date from paper_attention order by 1"
        rebuilt = con.execute("select count(*) from paper_attention").fetchone()[0]
    else:
        record_changes(con, version, "paper_attention",
                       f"select last_fetch_date as day, paper_id from paper_attention where true {scope}")
        days_sql = f"{recorded_days(version)} order by 1"
        rebuilt = con.execute("select count(*) from attention_scope").fetchone()[0]
        con.execute("drop table attention_scope")
    days = [row[0] for row in con.execute(days_sql).fetchall()]
    changes.done(con)
    return Refresh(rebuilt, days, changes.full)
