"""Rising terms: which terms are used by a larger share of papers lately than before.

Counts are of *papers*: ``window_count`` is the number of papers in the trailing window
(``window_papers`` papers in all) that use the term, ``baseline_count`` the number of papers
in the baseline period before it (``baseline_papers`` in all).

Method, per term
----------------
1. **Independent filter.** Only terms with ``window_count + baseline_count >= min_total``
   are tested. Under the null hypothesis the total says nothing about how it splits between
   the periods, so filtering on it keeps the test valid (Bourgon et al., PNAS 2010), and it
   removes rare terms whose smallest possible p-value could never be significant anyway.
2. **Exact conditional binomial test** of H0 "the term's rate per paper is the same in the
   window and the baseline". Given ``n = window_count + baseline_count``, under H0
   ``window_count ~ Binomial(n, W / (W + B))`` with ``W = window_papers`` and
   ``B = baseline_papers``. The one-sided p-value is ``P(X >= window_count)``
   (``scipy.stats.binom.sf(window_count - 1, n, W / (W + B))``). A paper counts a term once,
   so counts are presence counts; for them this test is slightly conservative.
3. **Benjamini-Hochberg** q-values (``scipy.stats.false_discovery_control``), separately for
   each kind (text, keyword, category), over the terms of that kind that were tested.
4. **Effect size**: the log-odds ratio of the term's share of papers in the window against
   the baseline, each count smoothed by ``prior_strength`` pseudo-counts ``a``:
   ``log((w + a) / (W - w + a)) - log((b + a) / (B - b + a))``. The pseudo-counts keep a
   term first seen this week (``b = 0``) finite and shrink effects measured on few papers.

A term is **rising** when ``q_value <= fdr``, ``log_odds > 0`` and ``window_count >=
min_support``; a rising term contained in a longer rising term with the same counts is left
out (it is the same signal, a piece of the phrase). Rising terms are ranked within their kind by ``score`` (the log-odds, largest
first), then ``p_value`` (smallest first), then ``term``; the ``max_rows_per_kind`` best of
each kind are returned, ordered by ``kind`` then ``rank``.

When either period has no papers there is nothing to compare with: no term can be rising,
so a day with no baseline yet (the first weeks of a feed) gives an empty result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import binom, false_discovery_control

INPUT_COLUMNS = ["kind", "term", "window_count", "baseline_count"]
OUTPUT_COLUMNS = [
    "kind", "term", "rank", "score", "log_odds", "p_value", "q_value",
    "window_count", "baseline_count", "window_share", "baseline_share",
]
_OUTPUT_DTYPES = {
    "kind": "object", "term": "object", "rank": "int64", "score": "float64",
    "log_odds": "float64", "p_value": "float64", "q_value": "float64",
    "window_count": "int64", "baseline_count": "int64",
    "window_share": "float64", "baseline_share": "float64",
}


@dataclass(frozen=True)
class TrendSettings:
    """The knobs of ``rising_terms`` (the day counts are for the callers that build counts).

    - ``window_days``: length of the trailing window, in days, ending on the day scored.
    - ``baseline_days``: length of the baseline period just before the window, in days.
    - ``fdr``: Benjamini-Hochberg false discovery rate, per kind.
    - ``min_support``: fewest window papers for a term to be reported.
    - ``min_total``: fewest window + baseline papers for a term to be tested at all.
    - ``max_rows_per_kind``: most rising terms returned per kind.
    - ``prior_strength``: pseudo-count added to each cell of the log-odds ratio.
    """

    window_days: int = 7
    baseline_days: int = 28
    fdr: float = 0.05
    min_support: int = 3
    min_total: int = 5
    max_rows_per_kind: int = 100
    prior_strength: float = 1.0

    def __post_init__(self) -> None:
        """Reject settings that make no sense, naming the field and the value."""
        for name in ("window_days", "baseline_days", "max_rows_per_kind"):
            _require(_is_int(getattr(self, name)) and getattr(self, name) >= 1,
                     f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        for name in ("min_support", "min_total"):
            _require(_is_int(getattr(self, name)) and getattr(self, name) >= 0,
                     f"{name} must be a whole number >= 0, got {getattr(self, name)!r}")
        _require(_is_real(self.fdr) and 0 < self.fdr < 1,
                 f"fdr must be a number strictly between 0 and 1, got {self.fdr!r}")
        _require(_is_real(self.prior_strength) and self.prior_strength > 0,
                 f"prior_strength must be a positive finite number, got {self.prior_strength!r}")


def _is_int(value: object) -> bool:
    """Whether a value is a whole number (a bool is not)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_real(value: object) -> bool:
    """Whether a value is a finite real number (a bool is not)."""
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, bool) and math.isfinite(value))


def _require(condition: bool, message: str) -> None:
    """Raise ValueError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(message)


def empty_result() -> pd.DataFrame:
    """A result with no rows and the output columns and dtypes."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in _OUTPUT_DTYPES.items()})


def _validated_counts(counts: pd.DataFrame, window_papers: int, baseline_papers: int) -> pd.DataFrame:
    """The input columns, counts as int64, after checking they fit the numbers of papers."""
    missing = [column for column in INPUT_COLUMNS if column not in counts.columns]
    _require(not missing, f"counts is missing columns {missing}")
    for name, value in (("window_papers", window_papers), ("baseline_papers", baseline_papers)):
        _require(_is_int(value) and value >= 0, f"{name} must be a whole number >= 0, got {value!r}")
    frame = counts[INPUT_COLUMNS].copy()
    for column, papers in (("window_count", window_papers), ("baseline_count", baseline_papers)):
        frame[column] = frame[column].astype("int64")
        _require(bool((frame[column] >= 0).all()), f"{column} must not be negative")
        _require(bool((frame[column] <= papers).all()),
                 f"{column} must not exceed the number of papers in its period ({papers})")
    _require(not frame.duplicated(["kind", "term"]).any(), "counts has duplicate (kind, term) rows")
    return frame


def conditional_p_values(window_count: np.ndarray, total: np.ndarray, window_fraction: float) -> np.ndarray:
    """One-sided p-values P(X >= window_count) for X ~ Binomial(total, window_fraction)."""
    return binom.sf(window_count - 1, total, window_fraction)


def smoothed_log_odds(
    window_count: np.ndarray, baseline_count: np.ndarray,
    window_papers: int, baseline_papers: int, prior_strength: float,
) -> np.ndarray:
    """Log-odds ratio of a term's share in the window vs the baseline, with pseudo-counts."""
    a = prior_strength
    window_log_odds = np.log(window_count + a) - np.log(window_papers - window_count + a)
    baseline_log_odds = np.log(baseline_count + a) - np.log(baseline_papers - baseline_count + a)
    return window_log_odds - baseline_log_odds


def _bh_q_values(tested: pd.DataFrame, groups: list[str]) -> pd.Series:
    """Benjamini-Hochberg q-values of the tested terms, computed separately per group (a day's
    terms of one kind)."""
    return tested.groupby(groups, sort=False)["p_value"].transform(
        lambda p_values: false_discovery_control(p_values.to_numpy(), method="bh"))


def _without_redundant_parts(passing: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """Drop a rising term that is part of a longer rising term used by exactly the same papers
    counts (``sheaf diffusion`` inside ``quantum sheaf diffusion``): it says nothing more, and
    would fill the top ranks with pieces of one phrase."""
    redundant = []
    for _, group in passing.groupby(groups + ["window_count", "baseline_count"], sort=False):
        if len(group) < 2:
            continue
        terms = list(group["term"])
        redundant += [index for index, term in zip(group.index, terms)
                      if any(other != term and f" {term} " in f" {other} " for other in terms)]
    return passing.drop(index=redundant) if redundant else passing


def _ranked(passing: pd.DataFrame, groups: list[str], max_rows_per_kind: int) -> pd.DataFrame:
    """Passing rows ranked within their group (score desc, p asc, term), capped, in group, rank order."""
    ordered = passing.sort_values(groups + ["score", "p_value", "term"],
                                  ascending=[True] * len(groups) + [False, True, True], kind="mergesort")
    ordered["rank"] = ordered.groupby(groups).cumcount() + 1
    return ordered[ordered["rank"] <= max_rows_per_kind]


def rising_terms_by_day(counts: pd.DataFrame, settings: TrendSettings = TrendSettings()) -> pd.DataFrame:
    """``rising_terms`` for many days at once, vectorized.

    ``counts`` has one row per day, kind and term: ``feed_date, kind, term, window_count,
    baseline_count, window_papers, baseline_papers`` (the last two are the day's totals).
    Returns ``feed_date``, the ``OUTPUT_COLUMNS`` and the day's ``window_papers`` and
    ``baseline_papers``, ordered by day, kind and rank; the false discovery rate is
    controlled within each day and kind.
    """
    columns = ["feed_date", *OUTPUT_COLUMNS, "window_papers", "baseline_papers"]
    frame = counts[(counts["window_papers"] > 0) & (counts["baseline_papers"] > 0)
                   & (counts["window_count"] + counts["baseline_count"] >= settings.min_total)]
    frame = frame.reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=_OUTPUT_DTYPES.get(c, "object")) for c in columns})
    groups = ["feed_date", "kind"]
    window, baseline = frame["window_count"].to_numpy(), frame["baseline_count"].to_numpy()
    window_papers, baseline_papers = frame["window_papers"].to_numpy(), frame["baseline_papers"].to_numpy()
    frame["p_value"] = conditional_p_values(window, window + baseline,
                                            window_papers / (window_papers + baseline_papers))
    frame["q_value"] = _bh_q_values(frame, groups)
    frame["log_odds"] = smoothed_log_odds(window, baseline, window_papers, baseline_papers,
                                          settings.prior_strength)
    frame["score"] = frame["log_odds"]
    frame["window_share"] = window / window_papers
    frame["baseline_share"] = baseline / baseline_papers
    passing = frame[(frame["q_value"] <= settings.fdr) & (frame["log_odds"] > 0)
                    & (frame["window_count"] >= settings.min_support)]
    ranked = _ranked(_without_redundant_parts(passing, groups), groups, settings.max_rows_per_kind)
    return ranked[columns].astype(_OUTPUT_DTYPES).reset_index(drop=True)


def rising_terms(
    counts: pd.DataFrame,
    window_papers: int,
    baseline_papers: int,
    settings: TrendSettings = TrendSettings(),
) -> pd.DataFrame:
    """The terms significantly more frequent in the window than in the baseline, ranked per kind.

    ``counts`` has columns ``kind, term, window_count, baseline_count`` (one row per kind and
    term; papers using the term in each period). The result has the columns
    ``OUTPUT_COLUMNS``, only rising terms, ordered by ``kind`` then ``rank`` (method in the
    module docstring). Empty input, or no papers in the window or the baseline (no baseline
    yet: nothing can be rising), gives an empty frame with those columns. Raises ValueError
    for missing columns, negative counts, counts above the number of papers, or duplicates.
    """
    frame = _validated_counts(counts, window_papers, baseline_papers)
    if frame.empty or window_papers == 0 or baseline_papers == 0:
        return empty_result()
    frame = frame.assign(feed_date=0, window_papers=window_papers, baseline_papers=baseline_papers)
    ranked = rising_terms_by_day(frame, settings)
    return ranked[OUTPUT_COLUMNS].astype(_OUTPUT_DTYPES).reset_index(drop=True)
