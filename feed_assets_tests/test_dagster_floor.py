"""The benchmark's Dagster floor runs: one no-op daily asset backfilled over a few days in one run."""

from __future__ import annotations

import datetime as dt

import pytest

from feed_assets_tests.dagster_floor import measure_floor


def test_floor_of_a_short_range_is_a_positive_time() -> None:
    seconds = measure_floor(dt.date(2024, 1, 1), dt.date(2024, 1, 3), warm_up=False)
    assert 0 < seconds < 60


def test_floor_refuses_a_backward_range() -> None:
    with pytest.raises(ValueError):
        measure_floor(dt.date(2024, 1, 3), dt.date(2024, 1, 1))
