"""make backtest runs: one trial per volume and strength, with its tables and verdicts."""

from __future__ import annotations

import pytest

from feed_assets_tests import backtest


@pytest.mark.slow
def test_one_trial_of_the_backtest_prints_its_figures_and_verdicts(capsys, monkeypatch):
    monkeypatch.setattr(backtest, "VOCABULARY_PAPERS", 2000)
    assert backtest.main(["--trials", "1"]) == 0
    out = capsys.readouterr().out
    assert "| volume | peak share | scale | detected |" in out
    assert "HF: a term rising to 8% flagged within 10 feed days" in out
    assert "arXiv: a term rising to 2% flagged within 3 feed days" in out


def test_feed_days_count_weekdays_at_arxiv_volume():
    arxiv, hf = backtest.VOLUMES[1], backtest.VOLUMES[0]
    monday = 0  # FIRST is a Monday
    assert backtest.feed_days_between(hf, monday, monday + 7) == 7
    assert backtest.feed_days_between(arxiv, monday, monday + 7) == 5
