"""The ranked lists: the conditional binomial test, Benjamini-Hochberg over the whole day, the
shrunk ranking score, lists kept when nothing is significant, filters, settings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import beta, binomtest, false_discovery_control

from feed_assets.trends.significance import (
    DEFAULT_SCALES,
    OUTPUT_COLUMNS,
    Scale,
    TrendSettings,
    format_scales,
    parse_scales,
    ranked_terms,
)

# 100 papers in the window, 400 in the baseline: under H0 a fifth of a term's papers fall in the window
WINDOW, BASELINE = 100, 400


def counts(*rows: tuple[str, int, int], kind: str = "text", scale: str = "week", day: int = 0,
           window: int = WINDOW, baseline: int = BASELINE) -> pd.DataFrame:
    """A counts table from (term, window_count, baseline_count) rows of one comparison and kind."""
    return pd.DataFrame([(day, scale, kind, term, w, b, window, baseline) for term, w, b in rows],
                        columns=["feed_date", "scale", "kind", "term", "window_count", "baseline_count",
                                 "window_papers", "baseline_papers"])


STABLE = [(f"stable{i}", 20, 80) for i in range(5)]  # the same 20 % share in both periods


def score_of(w: int, b: int, confidence: float = 0.9, window: int = WINDOW, baseline: int = BASELINE) -> float:
    f = window / (window + baseline)
    low = beta.ppf(1 - confidence, w, b + 1)
    return math.log(low * (1 - f) / ((1 - low) * f))


def test_hand_computed_new_term_among_stable_terms():
    result = ranked_terms(counts(("fresh", 10, 0), *STABLE))
    assert list(result.columns) == OUTPUT_COLUMNS
    assert result["term"].tolist() == ["fresh"]  # the stable terms did not rise: not listed
    row = result.iloc[0]
    assert row["p_value"] == pytest.approx(0.2 ** 10)  # all 10 papers in the window, each with chance 1/5
    assert row["q_value"] == pytest.approx(0.2 ** 10 * 6)  # smallest of 6 tested: p * 6 / 1
    low = 0.1 ** (1 / 10)  # lower 90 % Clopper-Pearson bound of 10 out of 10
    assert row["score"] == pytest.approx(math.log(low * 0.8 / (0.2 * (1 - low))))
    assert (row["rank"], row["window_count"], row["baseline_count"], row["significant"]) == (1, 10, 0, True)
    assert (row["window_share"], row["baseline_share"]) == (0.10, 0.0)
    assert (row["scale"], row["window_days"], row["baseline_days"]) == ("week", 7, 28)


def test_p_value_is_the_exact_one_sided_binomial_test():
    result = ranked_terms(counts(("warm", 9, 6)))
    assert result.iloc[0]["p_value"] == pytest.approx(binomtest(9, 15, 0.2, alternative="greater").pvalue)


def test_p_values_are_the_binomial_upper_tail_for_every_count():
    from scipy.stats import binom

    from feed_assets.trends.significance import p_values

    total = np.repeat(np.arange(0, 60), 61)
    window = np.tile(np.arange(0, 61), 60)
    window, total = window[window <= total], total[window <= total]
    for fraction in (0.05, 0.2, 1 / 3, 0.9):
        np.testing.assert_allclose(p_values(window, total, fraction), binom.sf(window - 1, total, fraction),
                                   rtol=1e-12, atol=0)


def test_more_tests_make_a_term_harder_to_pass_but_it_stays_listed():
    moderate = ("warm", 6, 4)  # p = P(X >= 6 | n=10, 1/5) ~ 0.0064
    alone = ranked_terms(counts(moderate, *STABLE[:1]))
    assert alone[["term", "significant"]].values.tolist() == [["warm", True]]
    crowded = ranked_terms(counts(moderate, *[(f"stable{i}", 20, 80) for i in range(20)]))
    assert crowded[["term", "significant"]].values.tolist() == [["warm", False]]  # q ~ 0.13
    assert crowded.iloc[0]["q_value"] == pytest.approx(alone.iloc[0]["p_value"] * 21)


def test_false_discoveries_are_controlled_over_the_whole_day_across_kinds_and_scales():
    text = counts(("warm", 6, 4), *STABLE[:1])
    keywords = counts(*[(f"stable{i}", 20, 80) for i in range(10)], kind="keyword")
    monthly = counts(*[(f"stable{i}", 20, 80) for i in range(10)], scale="month")
    result = ranked_terms(pd.concat([text, keywords, monthly]))
    assert result[["scale", "kind", "term", "significant"]].values.tolist() == [["week", "text", "warm", False]]
    assert result.iloc[0]["q_value"] == pytest.approx(result.iloc[0]["p_value"] * 22)
    # another day's tests are another family
    other_day = counts(*[(f"stable{i}", 20, 80) for i in range(20)], day=1)
    assert ranked_terms(pd.concat([text, other_day]))["significant"].tolist() == [True]


def test_a_list_is_kept_when_nothing_is_significant():
    weak = [(f"weak{i}", 6, 16 + i) for i in range(8)]  # each a little above its baseline share
    noise = [(f"stable{i}", 20, 80) for i in range(200)]
    result = ranked_terms(counts(*weak, *noise), TrendSettings(top_n=5))
    assert len(result) == 5 and not result["significant"].any()
    assert result["term"].tolist() == ["weak0", "weak1", "weak2", "weak3", "weak4"]
    assert result["rank"].tolist() == [1, 2, 3, 4, 5]


def test_min_total_decides_which_terms_are_tested():
    rare = counts(("rare", 4, 0))  # p = 0.2 ** 4 = 0.0016
    assert ranked_terms(rare).empty  # min_total 5: not tested, not listed
    assert ranked_terms(rare, TrendSettings(min_total=4))["term"].tolist() == ["rare"]


def test_untested_terms_do_not_count_as_tests():
    rows = counts(("warm", 6, 4), *[(f"rare{i}", 1, 2) for i in range(50)])
    result = ranked_terms(rows)
    assert result["term"].tolist() == ["warm"] and result.iloc[0]["q_value"] == result.iloc[0]["p_value"]


def test_min_support_decides_which_rows_are_listed():
    tiny = counts(("tiny", 2, 0))  # p = 0.04
    assert ranked_terms(tiny, TrendSettings(min_total=2, min_support=2))["term"].tolist() == ["tiny"]
    assert ranked_terms(tiny, TrendSettings(min_total=2)).empty  # min_support 3


def test_falling_and_stable_terms_are_not_listed():
    assert ranked_terms(counts(("fading", 0, 40), ("gone", 1, 60), *STABLE)).empty


def test_ranking_by_the_shrunk_effect():
    rows = counts(("big", 30, 10), ("fresh", 10, 0), ("few", 3, 0), ("twin-b", 8, 0), ("twin-a", 8, 0),
                  ("slight", 26, 80), *STABLE)
    result = ranked_terms(rows, TrendSettings(min_total=3))
    expected = sorted(["big", "fresh", "few", "twin-a", "twin-b", "slight"],
                      key=lambda t: -score_of(*{"big": (30, 10), "fresh": (10, 0), "few": (3, 0), "twin-a": (8, 0),
                                                "twin-b": (8, 0), "slight": (26, 80)}[t]))
    assert result["term"].tolist() == expected
    assert result["rank"].tolist() == [1, 2, 3, 4, 5, 6]
    assert result["score"].is_monotonic_decreasing
    # a handful of papers out of nowhere ranks below the same rise on more papers
    assert expected.index("few") > expected.index("twin-a") > expected.index("fresh")
    assert result["term"].tolist().index("twin-a") + 1 == result["term"].tolist().index("twin-b")  # ties: by term


@pytest.mark.parametrize("window_count, baseline_count", [(3, 2), (200, 55), (255, 0), (256, 0), (300, 700),
                                                           (4000, 9000)])
def test_scores_of_small_and_large_totals_are_the_same_formula(window_count, baseline_count):
    # small totals take their bound from a table made once, large ones compute it: both the formula
    rows = counts(("term", window_count, baseline_count), window=10_000, baseline=40_000)
    result = ranked_terms(rows, TrendSettings(min_total=3))
    assert result["score"].tolist() == [pytest.approx(score_of(window_count, baseline_count, window=10_000,
                                                               baseline=40_000), rel=1e-12)]


def test_lists_are_capped_and_ordered_by_day_scale_kind_then_rank():
    text = counts(*[(f"fresh{i}", 10 + i, 0) for i in range(4)])
    keywords = counts(*[(f"hot{i}", 10 + i, 0) for i in range(4)], kind="keyword")
    monthly = counts(*[(f"hot{i}", 10 + i, 0) for i in range(4)], kind="keyword", scale="month")
    result = ranked_terms(pd.concat([text, keywords, monthly]), TrendSettings(top_n=2))
    assert result[["scale", "kind", "term", "rank"]].values.tolist() == [
        ["month", "keyword", "hot3", 1], ["month", "keyword", "hot2", 2],
        ["week", "keyword", "hot3", 1], ["week", "keyword", "hot2", 2],
        ["week", "text", "fresh3", 1], ["week", "text", "fresh2", 2]]


def test_pieces_of_a_listed_phrase_with_the_same_counts_are_left_out():
    rows = counts(("quantum sheaf diffusion", 9, 0), ("sheaf diffusion", 9, 0), ("quantum", 9, 0),
                  ("diffusion", 12, 3), ("sheaf", 9, 1))
    result = ranked_terms(rows)
    assert set(result["term"]) == {"quantum sheaf diffusion", "diffusion", "sheaf"}
    assert result["term"].iloc[0] == "quantum sheaf diffusion" and result["rank"].tolist() == [1, 2, 3]


def test_empty_input_gives_empty_frame_with_columns():
    result = ranked_terms(counts())
    assert result.empty and list(result.columns) == OUTPUT_COLUMNS


@pytest.mark.parametrize(("window_papers", "baseline_papers"), [(0, 400), (100, 0), (0, 0)])
def test_no_papers_in_a_period_means_no_list(window_papers, baseline_papers):
    result = ranked_terms(counts(("fresh", 0, 0), window=window_papers, baseline=baseline_papers))
    assert result.empty and list(result.columns) == OUTPUT_COLUMNS


def test_output_dtypes():
    result = ranked_terms(counts(("fresh", 10, 0), *STABLE))
    assert result["rank"].dtype == np.int64 and result["window_count"].dtype == np.int64
    assert result["q_value"].dtype == np.float64 and result["significant"].dtype == bool


@pytest.mark.parametrize(("rows", "message"), [
    (pd.DataFrame({"kind": ["text"], "term": ["x"]}), "missing columns"),
    (counts(("x", -1, 0)), "must not be negative"),
    (counts(("x", 101, 0)), "must not exceed"),
    (counts(("x", 1, 0), ("x", 2, 0)), "duplicate"),
    (counts(("x", 1, 0), scale="fortnight"), "not in the settings"),
])
def test_bad_counts_are_rejected(rows, message):
    with pytest.raises(ValueError, match=message):
        ranked_terms(rows)


@pytest.mark.parametrize("changes", [
    {"fdr": 0}, {"fdr": 1.0}, {"fdr": float("nan")}, {"min_support": -1}, {"min_total": 2.5}, {"top_n": 0},
    {"confidence": 1.0}, {"confidence": True}, {"scales": ()}, {"scales": (Scale("a", 1, 1), Scale("a", 2, 2))},
])
def test_settings_are_validated(changes):
    name = next(iter(changes))
    with pytest.raises(ValueError, match=name):
        TrendSettings(**changes)


def test_scales_parse_and_print():
    assert parse_scales(format_scales(DEFAULT_SCALES)) == DEFAULT_SCALES
    assert format_scales(DEFAULT_SCALES) == "week:7:28,month:30:90,quarter:91:182"
    assert parse_scales(" day:1:6 , week:7:28") == (Scale("day", 1, 6), Scale("week", 7, 28))
    for bad in ("", "week:7", "week:0:28", "week:7:28,week:14:28", "week:seven:28"):
        with pytest.raises(ValueError):
            parse_scales(bad)


def test_a_young_feed_splits_its_days_between_window_and_baseline():
    month = Scale("month", 30, 90)
    assert [month.lengths_on(h) for h in (1, 2, 3, 16, 59, 60, 100, 120, 500)] == [
        (0, 0), (1, 1), (1, 2), (8, 8), (29, 30), (30, 30), (30, 70), (30, 90), (30, 90)]


count_rows = st.lists(
    st.tuples(st.sampled_from(["week", "month"]), st.sampled_from(["text", "keyword", "category"]),
              st.text("abcdef ", min_size=1, max_size=5).map(str.strip).filter(bool),
              st.integers(0, 60), st.integers(0, 200)),
    max_size=50, unique_by=lambda row: row[:3])


def frame_of(rows) -> pd.DataFrame:
    return pd.DataFrame([(0, scale, kind, term, w, b, 60, 200) for scale, kind, term, w, b in rows],
                        columns=["feed_date", "scale", "kind", "term", "window_count", "baseline_count",
                                 "window_papers", "baseline_papers"])


@settings(max_examples=60, deadline=None)
@given(count_rows, st.randoms(use_true_random=False))
def test_row_order_does_not_change_the_result(rows, random):
    shuffled = list(rows)
    random.shuffle(shuffled)
    loose = TrendSettings(fdr=0.5, min_total=1, min_support=1)
    pd.testing.assert_frame_equal(ranked_terms(frame_of(rows), loose), ranked_terms(frame_of(shuffled), loose))


@settings(max_examples=100, deadline=None)
@given(count_rows)
def test_every_listed_row_meets_the_criteria_and_q_values_are_exact_below_one_half(rows):
    rules = TrendSettings(fdr=0.3, min_total=2, min_support=2, top_n=100)
    table = frame_of(rows)
    result = ranked_terms(table, rules)
    assert (result["window_count"] * 200 > result["baseline_count"] * 60).all()
    assert (result["window_count"] >= rules.min_support).all()
    assert (result["q_value"] >= result["p_value"] - 1e-12).all()
    assert (result["significant"] == (result["q_value"] <= rules.fdr)).all()
    for _, group in result.groupby(["scale", "kind"]):
        assert group["rank"].tolist() == list(range(1, len(group) + 1))
        assert group["score"].is_monotonic_decreasing
    # Benjamini-Hochberg over every tested term of the day (both scales, every kind), computed whole
    tested = table[table["window_count"] + table["baseline_count"] >= rules.min_total]
    if len(tested):
        n = tested["window_count"] + tested["baseline_count"]
        p = [binomtest(int(w), int(t), 60 / 260, alternative="greater").pvalue
             for w, t in zip(tested["window_count"], n)]
        q = dict(zip(zip(tested["scale"], tested["kind"], tested["term"]), false_discovery_control(p)))
        for _, row in result.iterrows():
            exact = q[(row["scale"], row["kind"], row["term"])]
            if exact < 0.5:
                assert row["q_value"] == pytest.approx(exact, rel=1e-9)
            else:
                assert row["q_value"] >= exact - 1e-12


def test_a_days_lists_do_not_depend_on_the_other_days_computed_with_it():
    """Exactly equal, to the last bit: a re-run computes a day in another batch of days."""
    day = counts(("warm", 6, 4), ("fresh", 10, 0), *[(f"stable{i}", 20, 80) for i in range(7)], day=5)
    others = [counts(*[(f"t{i}", 6 + i % 3, 4 + i) for i in range(30)], day=d) for d in range(5)]
    alone = ranked_terms(day)
    together = ranked_terms(pd.concat([*others, day]))
    pd.testing.assert_frame_equal(together[together["feed_date"] == 5].reset_index(drop=True), alone,
                                  check_exact=True)
