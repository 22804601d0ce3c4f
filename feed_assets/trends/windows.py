"""A term's papers in the trailing window and in the baseline before it, for many days at once.

For day T the window is the ``window_days`` ending on T and the baseline the ``baseline_days``
before it. ``windowed_counts`` takes a term's daily counts over a range of days and gives,
for each target day and term, the two sums: each term's counts are laid out as one row of a
days grid, summed cumulatively once, and every target day's window and baseline are then
differences of two cumulative sums (no join of every day with every day of its span).

Pure code over Arrow and numpy: no I/O, no SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

WINDOWED_SCHEMA = pa.schema([
    ("feed_date", pa.date32()), ("kind", pa.string()), ("term", pa.string()),
    ("window_count", pa.int64()), ("baseline_count", pa.int64()),
    ("window_papers", pa.int64()), ("baseline_papers", pa.int64()),
])
_EPOCH = dt.date(1970, 1, 1)


def windowed_counts(counts: pa.Table, terms: pa.Table, targets: Sequence[dt.date],
                    totals: Mapping[dt.date, tuple[int, int]], window_days: int, baseline_days: int,
                    min_total: int) -> pa.Table:
    """The window and baseline counts of every (target day, kind, term) whose span holds at least
    one count of the term and ``min_total`` papers in all (``WINDOWED_SCHEMA``).

    ``terms`` has the columns ``kind, term``; ``counts`` has ``feed_date, term_index, papers``
    (one row per day and term, ``term_index`` a row of ``terms``) and must hold every row of
    the spans of ``targets`` (the ``window_days + baseline_days`` days ending on each) for
    those terms; rows outside the spans are ignored. ``totals`` gives each target day's papers
    in its window and baseline; a target day without totals is left out. Rows come out by
    target day.
    """
    span = window_days + baseline_days
    targets = [day for day in targets if day in totals]
    if not targets or counts.num_rows == 0 or terms.num_rows == 0:
        return WINDOWED_SCHEMA.empty_table()
    first = min(targets) - dt.timedelta(days=span - 1)
    n_days = (max(targets) - first).days + 1
    n_terms = terms.num_rows
    day = counts["feed_date"].cast(pa.int32()).to_numpy().astype(np.int64) - (first - _EPOCH).days
    term_index = counts["term_index"].to_numpy().astype(np.int64)
    papers = counts["papers"].to_numpy().astype(np.int64)
    inside = (day >= 0) & (day < n_days)
    cells = term_index[inside] * n_days + day[inside]
    # running[:, j]: a term's papers (listed[:, j]: its count rows) on the days before day j
    running = np.zeros((n_terms, n_days + 1), dtype=np.int64)
    running[:, 1:] = np.bincount(cells, weights=papers[inside], minlength=n_terms * n_days).reshape(
        n_terms, n_days).round().astype(np.int64).cumsum(axis=1)
    listed = np.zeros((n_terms, n_days + 1), dtype=np.int64)
    listed[:, 1:] = np.bincount(cells, minlength=n_terms * n_days).reshape(n_terms, n_days).cumsum(axis=1)
    found_days, found_terms, window_counts, baseline_counts, window_papers, baseline_papers = [], [], [], [], [], []
    for target in targets:
        end = (target - first).days + 1
        window = running[:, end] - running[:, end - window_days]
        baseline = running[:, end - window_days] - running[:, end - span]
        found = np.flatnonzero((listed[:, end] > listed[:, end - span]) & (window + baseline >= min_total))
        found_days.append(np.full(len(found), (target - _EPOCH).days, dtype=np.int32))
        found_terms.append(found)
        window_counts.append(window[found])
        baseline_counts.append(baseline[found])
        window_papers.append(np.full(len(found), totals[target][0], dtype=np.int64))
        baseline_papers.append(np.full(len(found), totals[target][1], dtype=np.int64))
    found = pa.array(np.concatenate(found_terms))
    return pa.table({
        "feed_date": pa.array(np.concatenate(found_days), pa.int32()).cast(pa.date32()),
        "kind": terms["kind"].take(found),
        "term": terms["term"].take(found),
        "window_count": np.concatenate(window_counts),
        "baseline_count": np.concatenate(baseline_counts),
        "window_papers": np.concatenate(window_papers),
        "baseline_papers": np.concatenate(baseline_papers),
    }, schema=WINDOWED_SCHEMA)
