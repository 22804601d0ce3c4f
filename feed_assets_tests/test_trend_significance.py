"""rising_terms: the conditional binomial test, Benjamini-Hochberg, filters, ranking, settings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from feed_assets.trends.significance import OUTPUT_COLUMNS, TrendSettings, rising_terms

# 100 papers in the window, 400 in the baseline: under H0 a fifth of a term's papers fall in the window
WINDOW, BASELINE = 100, 400


def counts(*rows: tuple[str, int, int], kind: str = "text") -> pd.DataFrame:
    """A counts table from (term, window_count, baseline_count) rows of one kind."""
    return pd.DataFrame([(kind, term, w, b) for term, w, b in rows],
                        columns=["kind", "term", "window_count", "baseline_count"])


STABLE = [(f"stable{i}", 20, 80) for i in range(5)]  # the same 20 % share in both periods


def test_hand_computed_new_term_among_stable_terms():
    result = rising_terms(counts(("fresh", 10, 0), *STABLE), WINDOW, BASELINE)
    assert list(result.columns) == OUTPUT_COLUMNS
    assert result["term"].tolist() == ["fresh"]
    row = result.iloc[0]
    assert row["p_value"] == pytest.approx(0.2 ** 10)  # all 10 papers in the window, each with chance 1/5
    assert row["q_value"] == pytest.approx(0.2 ** 10 * 6)  # smallest of 6 p-values: p * 6 / 1
    assert row["log_odds"] == pytest.approx(math.log(11 / 91) - math.log(1 / 401))
    assert row["score"] == row["log_odds"]
    assert (row["rank"], row["window_count"], row["baseline_count"]) == (1, 10, 0)
    assert (row["window_share"], row["baseline_share"]) == (0.10, 0.0)


def test_p_value_is_the_exact_one_sided_binomial_test():
    result = rising_terms(counts(("warm", 9, 6)), WINDOW, BASELINE)
    assert result.iloc[0]["p_value"] == pytest.approx(binomtest(9, 15, 0.2, alternative="greater").pvalue)


def test_more_tests_make_a_term_harder_to_pass():
    moderate = ("warm", 6, 4)  # p = P(X >= 6 | n=10, 1/5) ~ 0.0064
    assert rising_terms(counts(moderate, *STABLE[:1]), WINDOW, BASELINE)["term"].tolist() == ["warm"]
    many_stable = [(f"stable{i}", 20, 80) for i in range(20)]
    assert rising_terms(counts(moderate, *many_stable), WINDOW, BASELINE).empty  # q ~ 0.13


def test_benjamini_hochberg_is_per_kind():
    text = counts(("warm", 6, 4), *STABLE[:1])
    keywords = counts(*[(f"stable{i}", 20, 80) for i in range(20)], kind="keyword")
    result = rising_terms(pd.concat([text, keywords]), WINDOW, BASELINE)
    assert result[["kind", "term"]].values.tolist() == [["text", "warm"]]


def test_min_total_decides_which_terms_are_tested():
    rare = counts(("rare", 4, 0))  # p = 0.2 ** 4 = 0.0016
    assert rising_terms(rare, WINDOW, BASELINE).empty  # min_total 5
    assert rising_terms(rare, WINDOW, BASELINE, TrendSettings(min_total=4))["term"].tolist() == ["rare"]


def test_untested_terms_do_not_count_as_tests():
    rows = counts(("warm", 6, 4), *[(f"rare{i}", 1, 2) for i in range(50)])
    assert rising_terms(rows, WINDOW, BASELINE)["term"].tolist() == ["warm"]


def test_min_support_decides_which_rows_are_reported():
    tiny = counts(("tiny", 2, 0))  # p = 0.04
    loose = TrendSettings(min_total=2, min_support=2)
    assert rising_terms(tiny, WINDOW, BASELINE, loose)["term"].tolist() == ["tiny"]
    assert rising_terms(tiny, WINDOW, BASELINE, TrendSettings(min_total=2)).empty  # min_support 3


def test_falling_and_stable_terms_are_not_rising():
    rows = counts(("fading", 0, 40), ("gone", 1, 60), *STABLE)
    assert rising_terms(rows, WINDOW, BASELINE).empty


def test_ranking_by_effect_size_then_p_value_then_term():
    rows = counts(("big", 30, 10), ("fresh", 10, 0), ("twin-b", 8, 0), ("twin-a", 8, 0), *STABLE)
    result = rising_terms(rows, WINDOW, BASELINE)
    assert result["term"].tolist() == ["fresh", "twin-a", "twin-b", "big"]
    assert result["rank"].tolist() == [1, 2, 3, 4]
    assert result["score"].is_monotonic_decreasing


def test_rows_are_capped_per_kind_and_ordered_by_kind_then_rank():
    text = counts(*[(f"fresh{i}", 10 + i, 0) for i in range(4)])
    keywords = counts(*[(f"hot{i}", 10 + i, 0) for i in range(4)], kind="keyword")
    result = rising_terms(pd.concat([text, keywords]), WINDOW, BASELINE, TrendSettings(max_rows_per_kind=2))
    assert result[["kind", "term", "rank"]].values.tolist() == [
        ["keyword", "hot3", 1], ["keyword", "hot2", 2], ["text", "fresh3", 1], ["text", "fresh2", 2]]


def test_empty_input_gives_empty_frame_with_columns():
    result = rising_terms(counts(), WINDOW, BASELINE)
    assert result.empty and list(result.columns) == OUTPUT_COLUMNS


@pytest.mark.parametrize(("window_papers", "baseline_papers"), [(0, 400), (100, 0), (0, 0)])
def test_no_papers_in_a_period_means_nothing_is_rising(window_papers, baseline_papers):
    rows = counts(("fresh", 0, 0))
    result = rising_terms(rows, window_papers, baseline_papers)
    assert result.empty and list(result.columns) == OUTPUT_COLUMNS


def test_output_dtypes():
    result = rising_terms(counts(("fresh", 10, 0), *STABLE), WINDOW, BASELINE)
    assert result["rank"].dtype == np.int64 and result["window_count"].dtype == np.int64
    assert result["q_value"].dtype == np.float64


@pytest.mark.parametrize(("rows", "message"), [
    (pd.DataFrame({"kind": ["text"], "term": ["x"]}), "missing columns"),
    (counts(("x", -1, 0)), "must not be negative"),
    (counts(("x", 101, 0)), "must not exceed"),
    (counts(("x", 1, 0), ("x", 2, 0)), "duplicate"),
])
def test_bad_counts_are_rejected(rows, message):
    with pytest.raises(ValueError, match=message):
        rising_terms(rows, WINDOW, BASELINE)


@pytest.mark.parametrize("changes", [
    {"window_days": 0}, {"baseline_days": -1}, {"fdr": 0}, {"fdr": 1.0}, {"fdr": float("nan")},
    {"min_support": -1}, {"min_total": 2.5}, {"max_rows_per_kind": 0}, {"prior_strength": 0},
    {"prior_strength": float("inf")}, {"window_days": True},
])
def test_settings_are_validated(changes):
    name = next(iter(changes))
    with pytest.raises(ValueError, match=name):
        TrendSettings(**changes)


count_rows = st.lists(
    st.tuples(st.sampled_from(["text", "keyword", "category"]), st.text("abcdef", min_size=1, max_size=4),
              st.integers(0, 60), st.integers(0, 200)),
    max_size=40, unique_by=lambda row: row[:2])


@settings(max_examples=60, deadline=None)
@given(count_rows, st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_result(rows, random):
    table = pd.DataFrame(rows, columns=["kind", "term", "window_count", "baseline_count"])
    shuffled = list(rows)
    random.shuffle(shuffled)
    permuted = pd.DataFrame(shuffled, columns=table.columns)
    loose = TrendSettings(fdr=0.5, min_total=1, min_support=1)
    pd.testing.assert_frame_equal(rising_terms(table, 60, 200, loose), rising_terms(permuted, 60, 200, loose))


@settings(max_examples=60, deadline=None)
@given(count_rows)
def test_every_reported_row_meets_the_criteria(rows):
    table = pd.DataFrame(rows, columns=["kind", "term", "window_count", "baseline_count"])
    rules = TrendSettings(fdr=0.3, min_total=2, min_support=2)
    result = rising_terms(table, 60, 200, rules)
    assert (result["q_value"] <= rules.fdr).all() and (result["log_odds"] > 0).all()
    assert (result["window_count"] >= rules.min_support).all()
    assert (result["q_value"] >= result["p_value"]).all()
    for _, group in result.groupby("kind"):
        assert group["rank"].tolist() == list(range(1, len(group) + 1))
