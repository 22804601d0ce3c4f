"""windowed_counts (one cumulative sum per term over a days grid, every scale a difference of two
sums) gives what summing each comparison's window and baseline one by one gives."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from feed_assets.trends import windows
from feed_assets.trends.windows import Comparison, windowed_counts

DAY0 = dt.date(2025, 1, 1)
N_TERMS = 4


def naive(counts: dict[tuple[int, dt.date], int], comparisons: list[Comparison], min_total: int, papers=None):
    rows, tested = set(), [0] * len(comparisons)
    for index, comparison in enumerate(comparisons):
        for term in range(N_TERMS):
            window_start = comparison.day - dt.timedelta(days=comparison.window_days)
            baseline_start = window_start - dt.timedelta(days=comparison.baseline_days)
            window = sum(papers for (t, day), papers in counts.items()
                         if t == term and window_start < day <= comparison.day)
            baseline = sum(papers for (t, day), papers in counts.items()
                           if t == term and baseline_start < day <= window_start)
            if window + baseline >= max(min_total, 1):
                tested[index] += 1
                if papers is None or window * papers[index][1] > baseline * papers[index][0]:
                    rows.add((index, term, window, baseline))
    return rows, tested


DAYS = st.integers(0, 40).map(lambda n: DAY0 + dt.timedelta(days=n))
COMPARISONS = st.lists(st.builds(Comparison, st.integers(0, 45).map(lambda n: DAY0 + dt.timedelta(days=n)),
                                 st.integers(1, 9), st.integers(1, 12)), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.integers(0, N_TERMS - 1), DAYS), st.integers(1, 6), max_size=60),
       COMPARISONS, st.integers(0, 8), st.sampled_from(["grid", "tiny grid", "direct sums"]), st.booleans(),
       st.data())
def test_windowed_counts_are_the_sums_of_each_day(counts, comparisons, min_total, how, rose_only, data):
    papers = data.draw(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 50)), min_size=len(comparisons),
                                max_size=len(comparisons))) if rose_only else None
    table = pa.table({"feed_date": pa.array([day for _, day in counts], pa.date32()),
                      "term_index": pa.array([index for index, _ in counts], pa.int64()),
                      "papers": pa.array(list(counts.values()), pa.int32())})
    cells, direct = windows.GRID_CELLS, windows.DIRECT_SUMS_UP_TO
    try:
        # terms taken one chunk at a time, as on a large history; or each period summed directly
        windows.GRID_CELLS = 1 if how == "tiny grid" else cells
        windows.DIRECT_SUMS_UP_TO = len(comparisons) if how == "direct sums" else 0
        got = windowed_counts(table, N_TERMS, comparisons, min_total, papers)
    finally:
        windows.GRID_CELLS, windows.DIRECT_SUMS_UP_TO = cells, direct
    rows = list(zip(got.comparison.tolist(), got.term.tolist(), got.window_count.tolist(),
                    got.baseline_count.tolist()))
    assert rows == sorted(rows)
    assert len(rows) == len(set(rows))
    expected, tested = naive(counts, comparisons, min_total, papers)
    assert set(rows) == expected
    assert got.tested.tolist() == tested


def test_a_rise_is_seen_when_counts_times_papers_pass_32_bits(monkeypatch):
    """At arXiv volume a term's window count times the baseline's papers passes 2**31: the rise
    test must not wrap around (50,000 x 50,000 as 32-bit numbers is negative)."""
    counts = {(0, DAY0 + dt.timedelta(days=1)): 1, (0, DAY0 + dt.timedelta(days=3)): 50_000}
    table = pa.table({"feed_date": pa.array([day for _, day in counts], pa.date32()),
                      "term_index": pa.array([index for index, _ in counts], pa.int64()),
                      "papers": pa.array(list(counts.values()), pa.int32())})
    comparisons = [Comparison(DAY0 + dt.timedelta(days=3), 2, 2)]
    for direct_sums_up_to in (0, len(comparisons)):  # the days grid, then each period summed directly
        monkeypatch.setattr(windows, "DIRECT_SUMS_UP_TO", direct_sums_up_to)
        got = windowed_counts(table, N_TERMS, comparisons, 0, [(60_000, 50_000)])
        assert list(zip(got.term.tolist(), got.window_count.tolist(), got.baseline_count.tolist())) \
            == [(0, 50_000, 1)]
