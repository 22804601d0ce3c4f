"""A term's papers in a trailing window and in the baseline before it, for many comparisons at once.

A comparison is a target day T with a window of ``window_days`` ending on T and a baseline of
``baseline_days`` before it; several time scales are several comparisons of the same day.
``windowed_counts`` takes the terms' daily counts over a range of days and gives, for every
comparison and term, the two sums: each term's counts are laid out as one row of a days grid
and summed cumulatively **once**, and every window and baseline, of any length, is then the
difference of two cumulative sums (no join of every day with every day of its span, and no
extra pass per scale).

Pure code over Arrow and numpy: no I/O, no SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_EPOCH = dt.date(1970, 1, 1)
# cells of the days grid held at once (int32, 64 MiB): terms are taken in chunks that fit. Two
# parts are summed at once (``warehouse.trends``, one per thread), each with its own grid. On ten
# years of synthetic arXiv (parts of about 20,000 papers, a quarter's span, some 100,000 terms),
# two threads: 92 s and a peak of 1,810 MiB for the whole refresh at this size, 83 s and 2,114 MiB
# at twice it (one thread at twice it: 129 s, 1,641 MiB)
GRID_CELLS = 1 << 24
# runs of at most this many comparisons (a new day at three scales) sum each period's rows
# directly (a bincount per period): filling and summing the grid costs more than a few sums
DIRECT_SUMS_UP_TO = 6


@dataclass(frozen=True)
class Comparison:
    """One day at one scale: the window ends on ``day``; the baseline is just before it."""

    day: dt.date
    window_days: int
    baseline_days: int


@dataclass(frozen=True)
class WindowedCounts:
    """One row per (comparison, term) found: indices into the comparisons and the terms; and per
    comparison, ``tested``: the terms with enough papers, found or not. The rows are 32-bit
    numbers (a part of ten years of arXiv finds some 2.5 million: 38 MiB, against 76 at 64 bits);
    widen them before multiplying."""

    comparison: np.ndarray
    term: np.ndarray
    window_count: np.ndarray
    baseline_count: np.ndarray
    tested: np.ndarray


def day_numbers(days: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Days as numbers of days since 1970-01-01 (int64)."""
    return days.cast(pa.int32()).to_numpy().astype(np.int64)


def day_number(day: dt.date) -> int:
    """One day as its number of days since 1970-01-01 (as ``day_numbers``)."""
    return (day - _EPOCH).days


def day_of_number(number: int) -> dt.date:
    """The day a number of ``day_number`` stands for."""
    return _EPOCH + dt.timedelta(days=int(number))


@dataclass(frozen=True)
class TermDays:
    """Daily counts of numbered terms (``day`` as ``day_numbers``, ``term`` below ``n_terms``, at
    most one row per day and term), sorted by day (build them with ``of`` or ``from_arrow``):
    what ``windowed_term_counts`` sums. Read once, they serve the comparisons of any days whose
    spans they hold, each taking the slice of its span's days."""

    day: np.ndarray
    term: np.ndarray
    papers: np.ndarray
    n_terms: int

    @classmethod
    def of(cls, day: np.ndarray, term: np.ndarray, papers: np.ndarray, n_terms: int) -> TermDays:
        """The rows, put in order of day."""
        order = stable_order(day - day.min(), int(day.max()) - int(day.min()) + 1) if len(day) else slice(None)
        return cls(day[order], term[order], papers[order], n_terms)

    @classmethod
    def from_arrow(cls, counts: pa.Table, n_terms: int) -> TermDays:
        """The rows of a table with ``feed_date, term_index, papers``, held as 32-bit numbers
        (columns that are 32-bit already are not widened on the way: a read of ten synthetic
        years holds some 8 million rows)."""
        return cls.of(*(column.to_numpy().astype(np.int32, copy=False)
                        for column in (counts["feed_date"].cast(pa.int32()), counts["term_index"], counts["papers"])),
                      n_terms)


def stable_order(keys: np.ndarray, bound: int) -> np.ndarray:
    """The order that sorts ``keys`` (integers from 0 to ``bound`` - 1), ties kept in place: a
    radix sort when they fit 16 bits (numpy sorts small integer types by counting)."""
    return np.argsort(keys.astype(np.uint16) if bound <= 1 << 16 else keys, kind="stable")


def windowed_counts(counts: pa.Table, n_terms: int, comparisons: Sequence[Comparison], min_total: int,
                    period_papers: Sequence[tuple[int, int]] | None = None) -> WindowedCounts:
    """``windowed_term_counts`` of the rows of a table with ``feed_date, term_index, papers``."""
    return windowed_term_counts(TermDays.from_arrow(counts, n_terms), comparisons, min_total, period_papers)


def windowed_term_counts(rows: TermDays, comparisons: Sequence[Comparison], min_total: int,
                         period_papers: Sequence[tuple[int, int]] | None = None) -> WindowedCounts:
    """The window and baseline counts of every (comparison, term) with at least ``max(min_total,
    1)`` papers in the two periods together (the tested terms), by comparison then term.

    With ``period_papers`` (each comparison's papers in its window and its baseline), only the terms
    whose share rose are returned (``window_count * baseline_papers > baseline_count *
    window_papers``): the others can pass no test, and ``tested`` still counts them.

    ``rows`` must hold every row of the comparisons' spans; rows outside them are ignored. Only
    the terms with enough papers over all the spans together go into the days grid, and each
    comparison looks only at the terms with enough papers over the spans of its length (a week
    looks at fewer terms than a quarter). At most ``DIRECT_SUMS_UP_TO`` comparisons (a new
    day's run) skip the grid and sum each period's rows directly.
    """
    tested = np.zeros(len(comparisons), dtype=np.int64)
    empty = WindowedCounts(*(np.zeros(0, dtype=np.int32) for _ in range(4)), tested)
    if not comparisons or len(rows.term) == 0 or rows.n_terms == 0:
        return empty
    ends = np.array([day_number(c.day) for c in comparisons], dtype=np.int64)
    starts = ends - np.array([c.window_days + c.baseline_days for c in comparisons], dtype=np.int64) + 1
    first, last = int(starts.min()), int(ends.max())
    n_days = last - first + 1
    at_least = max(min_total, 1)
    # the bounds in the days' own type: searched with Python ints, numpy widens a copy of every
    # day first (12 ms a search in a read of ten synthetic years, against microseconds)
    inside = slice(*np.searchsorted(rows.day, np.array([first, last + 1], dtype=rows.day.dtype)).tolist())
    day, term_index, papers = rows.day[inside] - first, rows.term[inside], rows.papers[inside]
    # number the terms that can be tested somewhere, keeping their order
    kept = np.flatnonzero(np.bincount(term_index, weights=papers, minlength=rows.n_terms) >= at_least)
    if len(kept) == 0:
        return empty
    renumbered = np.full(rows.n_terms, -1, dtype=np.int32)
    renumbered[kept] = np.arange(len(kept), dtype=np.int32)
    term_index = renumbered[term_index]
    held = term_index >= 0
    day, term_index, papers = day[held], term_index[held], papers[held]
    n_terms = len(kept)
    # the grid's row j holds the papers on the days before day j (relative to ``first``)
    end_row = ends - first + 1
    window_row = end_row - np.array([c.window_days for c in comparisons], dtype=np.int64)
    baseline_row = window_row - np.array([c.baseline_days for c in comparisons], dtype=np.int64)
    lengths = end_row - baseline_row
    found: list[list[tuple[np.ndarray, ...]]] = [[] for _ in comparisons]

    def keep(index: int, hit: np.ndarray, window: np.ndarray, baseline: np.ndarray) -> None:
        """Count the tested terms ``hit`` of a comparison and keep those that rose (if asked)."""
        tested[index] += len(hit)
        if period_papers is not None:
            window_papers, baseline_papers = period_papers[index]
            # 64 bits: a count times a period's papers passes 2**31 at arXiv volume
            rose = window.astype(np.int64) * baseline_papers > baseline.astype(np.int64) * window_papers
            hit, window, baseline = hit[rose], window[rose], baseline[rose]
        found[index].append((kept[hit].astype(np.int32), window, baseline))

    if len(comparisons) <= DIRECT_SUMS_UP_TO:
        for index in range(len(comparisons)):
            # the grid's rows hold the days before them: a period from row a to row b is days a..b-1
            window, baseline = (np.bincount(term_index[in_period], weights=papers[in_period],
                                            minlength=n_terms).astype(np.int32)
                                for in_period in ((day >= window_row[index]) & (day < end_row[index]),
                                                  (day >= baseline_row[index]) & (day < window_row[index])))
            hit = np.flatnonzero(window + baseline >= at_least)
            keep(index, hit, window[hit], baseline[hit])
        return gathered_counts(found, tested)
    chunk = max(1, GRID_CELLS // (n_days + 1))
    n_chunks = -(-n_terms // chunk)
    chunk_starts = [0, len(day)]
    if n_chunks > 1:
        # the rows put in order of their chunk of terms once, so that each chunk is a slice of
        # them rather than a pass of masks over every row
        chunk_of = term_index // chunk
        order = stable_order(chunk_of, n_chunks)
        day, term_index, papers, chunk_of = day[order], term_index[order], papers[order], chunk_of[order]
        chunk_starts = np.searchsorted(chunk_of, np.arange(n_chunks + 1, dtype=chunk_of.dtype)).tolist()
        del order, chunk_of
    for number, low in enumerate(range(0, n_terms, chunk)):
        high = min(n_terms, low + chunk)
        rows_of_chunk = slice(chunk_starts[number], chunk_starts[number + 1])
        size = high - low
        # running[j]: each term's papers on the days before day j (a row per day: the differences
        # below read whole rows)
        running = np.zeros((n_days + 1) * size, dtype=np.int32)
        running[(day[rows_of_chunk] + 1) * size + term_index[rows_of_chunk] - low] = papers[rows_of_chunk]
        running = running.reshape(n_days + 1, size)
        np.cumsum(running, axis=0, out=running)
        for length in np.unique(lengths):
            group = np.flatnonzero(lengths == length)
            # the terms with enough papers over all the spans of this length: the only ones its
            # comparisons can test
            columns = np.flatnonzero(running[end_row[group].max()] - running[baseline_row[group].min()] >= at_least)
            for index in group.tolist():
                at_end, at_window, at_baseline = (running[end_row[index]][columns], running[window_row[index]][columns],
                                                  running[baseline_row[index]][columns])
                hit = np.flatnonzero((at_end - at_baseline) >= at_least)
                keep(index, columns[hit] + low, at_end[hit] - at_window[hit], at_window[hit] - at_baseline[hit])
    return gathered_counts(found, tested)


def gathered_counts(found: list[list[tuple[np.ndarray, ...]]], tested: np.ndarray) -> WindowedCounts:
    """One ``WindowedCounts`` of each comparison's pieces (term, window, baseline), by comparison,
    then term: each comparison's pieces (chunks of terms) are in the order of their terms."""
    parts = [(np.full(len(term), index, dtype=np.int32), term, window, baseline)
             for index, pieces in enumerate(found) for term, window, baseline in pieces]
    if not parts:
        return WindowedCounts(*(np.zeros(0, dtype=np.int32) for _ in range(4)), tested)
    comparison, term, window, baseline = (np.concatenate(column) for column in zip(*parts))
    return WindowedCounts(comparison, term, window, baseline, tested)
