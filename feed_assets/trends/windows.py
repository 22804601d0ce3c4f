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
# cells of the days grid held at once (int32): terms are taken in chunks that fit
GRID_CELLS = 1 << 24


@dataclass(frozen=True)
class Comparison:
    """One day at one scale: the window ends on ``day``; the baseline is just before it."""

    day: dt.date
    window_days: int
    baseline_days: int


@dataclass(frozen=True)
class WindowedCounts:
    """One row per (comparison, term) found: indices into the comparisons and the terms; and per
    comparison, ``tested``: the terms with enough papers, found or not."""

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


def windowed_counts(counts: pa.Table, n_terms: int, comparisons: Sequence[Comparison], min_total: int,
                    period_papers: Sequence[tuple[int, int]] | None = None) -> WindowedCounts:
    """The window and baseline counts of every (comparison, term) with at least ``max(min_total,
    1)`` papers in the two periods together (the tested terms), by comparison then term.

    With ``period_papers`` (each comparison's papers in its window and its baseline), only the terms
    whose share rose are returned (``window_count * baseline_papers > baseline_count *
    window_papers``): the others can pass no test, and ``tested`` still counts them.

    ``counts`` has ``feed_date, term_index, papers`` (at most one row per day and term,
    ``term_index`` below ``n_terms``) and must hold every row of the comparisons' spans for those terms; rows
    outside them are ignored.
    """
    tested = np.zeros(len(comparisons), dtype=np.int64)
    empty = WindowedCounts(*(np.zeros(0, dtype=np.int64) for _ in range(4)), tested)
    if not comparisons or counts.num_rows == 0 or n_terms == 0:
        return empty
    ends = np.array([day_number(c.day) for c in comparisons], dtype=np.int64)
    starts = ends - np.array([c.window_days + c.baseline_days for c in comparisons], dtype=np.int64) + 1
    first, last = int(starts.min()), int(ends.max())
    n_days = last - first + 1
    day = day_numbers(counts["feed_date"]) - first
    term_index = counts["term_index"].to_numpy().astype(np.int64)
    papers = counts["papers"].to_numpy().astype(np.int64)
    inside = (day >= 0) & (day < n_days)
    day, term_index, papers = day[inside], term_index[inside], papers[inside]
    order = np.argsort(term_index, kind="stable")
    day, term_index, papers = day[order], term_index[order], papers[order]
    # the grid's row j holds the papers on the days before day j (relative to ``first``)
    end_row = ends - first + 1
    window_row = end_row - np.array([c.window_days for c in comparisons], dtype=np.int64)
    baseline_row = window_row - np.array([c.baseline_days for c in comparisons], dtype=np.int64)
    at_least = max(min_total, 1)
    chunk = max(1, GRID_CELLS // (n_days + 1))
    found: list[list[np.ndarray]] = [[], [], [], []]
    for low in range(0, n_terms, chunk):
        high = min(n_terms, low + chunk)
        rows = slice(*np.searchsorted(term_index, [low, high]))
        size = high - low
        # running[j]: each term's papers on the days before day j (a row per day: the differences
        # below read whole rows)
        running = np.zeros((n_days + 1, size), dtype=np.int32)
        running[day[rows] + 1, term_index[rows] - low] = papers[rows]  # one count row per (day, term)
        np.cumsum(running, axis=0, out=running)
        for index in range(len(comparisons)):
            at_end, at_window, at_baseline = (running[end_row[index]], running[window_row[index]],
                                              running[baseline_row[index]])
            hit = np.flatnonzero((at_end - at_baseline) >= at_least)
            tested[index] += len(hit)
            window = (at_end[hit] - at_window[hit]).astype(np.int64)
            baseline = (at_window[hit] - at_baseline[hit]).astype(np.int64)
            if period_papers is not None:
                window_papers, baseline_papers = period_papers[index]
                rose = window * baseline_papers > baseline * window_papers
                hit, window, baseline = hit[rose], window[rose], baseline[rose]
            found[0].append(np.full(len(hit), index, dtype=np.int64))
            found[1].append(hit.astype(np.int64) + low)
            found[2].append(window)
            found[3].append(baseline)
    if not found[0]:
        return empty
    comparison, term, window, baseline = (np.concatenate(parts) for parts in found)
    order = np.lexsort((term, comparison))
    return WindowedCounts(comparison[order], term[order], window[order], baseline[order], tested)
