"""windowed_counts (cumulative sums over a days grid) gives what summing each target day's
window and baseline one by one gives."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from feed_assets.trends.windows import WINDOWED_SCHEMA, windowed_counts

DAY0 = dt.date(2025, 1, 1)
TERMS = [("text", "model"), ("text", "graph"), ("keyword", "model"), ("category", "cs.LG")]


def naive(counts: dict[tuple[int, dt.date], int], targets, totals, window_days, baseline_days, min_total):
    rows = set()
    span = dt.timedelta(days=window_days + baseline_days)
    for target in targets:
        if target not in totals:
            continue
        for index, (kind, term) in enumerate(TERMS):
            in_span = {day: papers for (term_index, day), papers in counts.items()
                       if term_index == index and target - span < day <= target}
            window = sum(papers for day, papers in in_span.items() if day > target - dt.timedelta(days=window_days))
            baseline = sum(in_span.values()) - window
            if in_span and window + baseline >= min_total:
                rows.add((target, kind, term, window, baseline, *totals[target]))
    return rows


DAYS = st.integers(0, 40).map(lambda n: DAY0 + dt.timedelta(days=n))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.tuples(st.integers(0, len(TERMS) - 1), DAYS), st.integers(0, 6), max_size=60),
       st.lists(st.integers(0, 45), min_size=1, max_size=12, unique=True),
       st.integers(1, 4), st.integers(1, 6), st.integers(0, 8))
def test_windowed_counts_are_the_sums_of_each_day(counts, target_offsets, window_days, baseline_days, min_total):
    targets = sorted(DAY0 + dt.timedelta(days=offset) for offset in target_offsets)
    totals = {day: (100 + day.day, 200 + day.day) for day in targets[::2] + targets[-1:]}
    table = pa.table({"feed_date": pa.array([day for _, day in counts], pa.date32()),
                      "term_index": pa.array([index for index, _ in counts], pa.int64()),
                      "papers": pa.array(list(counts.values()), pa.int32())})
    terms = pa.table({"kind": [kind for kind, _ in TERMS], "term": [term for _, term in TERMS]})
    got = windowed_counts(table, terms, targets, totals, window_days, baseline_days, min_total)
    assert got.schema == WINDOWED_SCHEMA
    rows = [tuple(row.values()) for row in got.to_pylist()]
    assert len(rows) == len(set(rows))
    assert set(rows) == naive(counts, targets, totals, window_days, baseline_days, min_total)
