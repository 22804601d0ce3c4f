"""Rising terms: for each day, time scale and kind, a ranked list of the terms whose share of
papers rose, each flagged ``significant`` when it passes the day's false discovery control.

Counts are of *papers*. A **comparison** is one day at one time scale: ``window_papers``
papers in the trailing window ending on the day, ``baseline_papers`` in the baseline period
before it. A term has ``window_count`` papers in the window and ``baseline_count`` in the
baseline.

Method
------
1. **Tested terms** (independent filter). A term is tested when ``window_count +
   baseline_count >= min_total``. Under the null hypothesis the total says nothing about how
   it splits between the periods, so filtering on it keeps the test valid (Bourgon et al.,
   PNAS 2010), and it drops rare terms whose smallest possible p-value could never pass.
2. **Exact conditional binomial test** of H0 "the term's rate per paper is the same in the
   window and the baseline": given ``n = window_count + baseline_count``, under H0
   ``window_count ~ Binomial(n, f)`` with ``f = W / (W + B)``. The one-sided p-value is
   ``P(X >= window_count)``. A term whose share did not rise (``window_count <= n f``) has a
   p-value of at least 0.5 (its count is at most the median), so only terms that rose are
   computed exactly; the others count in the family of tests but can pass nothing.
3. **Benjamini-Hochberg over the whole day**: the family is every tested term of the day, of
   every scale and every kind together, so the false discovery rate is controlled for what a
   reader sees that day, not per list. q-values below 0.5 are exact; at or above 0.5 they are
   an upper bound (the terms that did not rise are left out of the step-up above that level,
   where nothing can pass).
4. **Ranking by a shrunk effect**: ``score`` is the log of the lower ``confidence`` (one-sided,
   Clopper-Pearson) bound of the **rate ratio** (the term's share in the window over its share
   in the baseline). From the exact lower bound ``pi_low`` of the window's part of the term's
   papers, the bound of the ratio is ``pi_low (1 - f) / ((1 - pi_low) f)``. Few papers give a
   wide interval and a low bound: three papers out of nowhere rank below twenty, and a
   frequent term whose share grew a little ranks below a rarer one that grew a lot. It stays
   finite for a term new in the window (``baseline_count = 0``).
5. **The lists**: for each comparison and kind, the terms that rose (``window_count * B >
   baseline_count * W``) in at least ``min_support`` window papers, ranked by ``score``
   (largest first), then ``p_value``, then ``term``; the ``top_n`` first are kept, whether or
   not any is significant. A term contained in a longer listed term with the same counts is
   left out (``sheaf diffusion`` inside ``quantum sheaf diffusion``: the same papers, a piece
   of the phrase). ``significant`` is ``q_value <= fdr``.

A comparison with no papers in its window or its baseline has nothing to compare: no list.

Pure code over numpy and pandas: no I/O, no SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy.special import betainc, betaincinv

OUTPUT_COLUMNS = [
    "feed_date", "scale", "kind", "term", "rank", "score", "significant", "p_value", "q_value",
    "window_count", "baseline_count", "window_share", "baseline_share", "window_papers", "baseline_papers",
    "window_days", "baseline_days",
]
_OUTPUT_DTYPES = {
    "scale": "object", "kind": "object", "term": "object", "rank": "int64", "score": "float64",
    "significant": "bool", "p_value": "float64", "q_value": "float64", "window_count": "int64",
    "baseline_count": "int64", "window_share": "float64", "baseline_share": "float64",
    "window_papers": "int64", "baseline_papers": "int64", "window_days": "int64", "baseline_days": "int64",
}
# keys packed into one int64: (comparison, window count, total) as 21 bits each
_BITS = 21


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


@dataclass(frozen=True)
class Scale:
    """A time scale: the trailing window (ending on the day scored) and the baseline before it."""

    name: str
    window_days: int
    baseline_days: int

    def __post_init__(self) -> None:
        """Reject a scale without a name or with lengths that are not whole numbers >= 1."""
        _require(isinstance(self.name, str) and self.name.isidentifier(),
                 f"a scale's name must be a word, got {self.name!r}")
        for name in ("window_days", "baseline_days"):
            _require(_is_int(getattr(self, name)) and getattr(self, name) >= 1,
                     f"{name} of scale {self.name!r} must be a whole number >= 1, got {getattr(self, name)!r}")

    @property
    def span(self) -> int:
        return self.window_days + self.baseline_days

    def lengths_on(self, history_days: int) -> tuple[int, int]:
        """(window, baseline) days for a day that is the ``history_days``-th of the feed.

        The window is ``window_days`` once at least as many days of the feed come before it;
        on a younger feed it is the later half of the feed's days (rounded down) and the
        baseline the earlier ones, so a month or a quarter scale has a list from the feed's
        second day. (0, 0) on the first day: nothing to compare with."""
        if history_days >= 2 * self.window_days:
            return self.window_days, min(self.baseline_days, history_days - self.window_days)
        window = history_days // 2
        return window, (history_days - window) if window else 0


DEFAULT_SCALES = (Scale("week", 7, 28), Scale("month", 30, 90), Scale("quarter", 91, 182))


def parse_scales(text: str) -> tuple[Scale, ...]:
    """Scales from ``name:window:baseline`` items joined by commas (``week:7:28,month:30:90``)."""
    scales = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        parts = item.split(":")
        _require(len(parts) == 3 and parts[1].strip().isdigit() and parts[2].strip().isdigit(),
                 f"a scale is name:window_days:baseline_days, got {item!r}")
        scales.append(Scale(parts[0].strip(), int(parts[1]), int(parts[2])))
    _require(bool(scales), f"no scale in {text!r}")
    _require(len({scale.name for scale in scales}) == len(scales), f"a scale's name repeats in {text!r}")
    return tuple(scales)


def format_scales(scales: tuple[Scale, ...]) -> str:
    """The ``parse_scales`` text of ``scales``."""
    return ",".join(f"{s.name}:{s.window_days}:{s.baseline_days}" for s in scales)


@dataclass(frozen=True)
class TrendSettings:
    """The knobs of the rising-term lists.

    - ``scales``: the time scales (window and baseline lengths), each a list of its own.
    - ``fdr``: Benjamini-Hochberg false discovery rate, over a day's tested terms together.
    - ``min_support``: fewest window papers for a term to be listed.
    - ``min_total``: fewest window + baseline papers for a term to be tested at all.
    - ``top_n``: terms listed per day, scale and kind.
    - ``confidence``: one-sided level of the lower bound of the rate ratio that ranks.
    """

    scales: tuple[Scale, ...] = field(default=DEFAULT_SCALES)
    fdr: float = 0.05
    min_support: int = 3
    min_total: int = 5
    top_n: int = 20
    confidence: float = 0.9

    def __post_init__(self) -> None:
        """Reject settings that make no sense, naming the field and the value."""
        _require(isinstance(self.scales, tuple) and len(self.scales) > 0
                 and all(isinstance(s, Scale) for s in self.scales)
                 and len({s.name for s in self.scales}) == len(self.scales),
                 f"scales must be a non-empty tuple of Scale with distinct names, got {self.scales!r}")
        _require(_is_int(self.top_n) and self.top_n >= 1, f"top_n must be a whole number >= 1, got {self.top_n!r}")
        for name in ("min_support", "min_total"):
            _require(_is_int(getattr(self, name)) and getattr(self, name) >= 0,
                     f"{name} must be a whole number >= 0, got {getattr(self, name)!r}")
        for name in ("fdr", "confidence"):
            value = getattr(self, name)
            _require(_is_real(value) and 0 < value < 1,
                     f"{name} must be a number strictly between 0 and 1, got {value!r}")

    @property
    def longest_span(self) -> int:
        return max(scale.span for scale in self.scales)

    @property
    def longest_window(self) -> int:
        return max(scale.window_days for scale in self.scales)


def empty_result() -> pd.DataFrame:
    """A result with no rows and the output columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=_OUTPUT_DTYPES.get(c, "object")) for c in OUTPUT_COLUMNS})


@dataclass(frozen=True)
class Comparisons:
    """The comparisons of some days (one per day and scale) and their terms' counts, as arrays.

    Per comparison: ``day`` (the day, any sortable type: the false discovery control is over a
    day's comparisons together), ``scale`` (index into ``scale_names``), ``window_days``,
    ``baseline_days``, ``window_papers``, ``baseline_papers``. Per row (a term in a comparison): ``comparison``
    (index), ``term`` (index into ``kinds`` and ``terms``), ``window_count``,
    ``baseline_count``. Rows of untested
    terms, and of terms whose share did not rise, may be given or left out: ``tested`` (per
    comparison) counts the tested terms, all of them, for the false discovery control.
    """

    day: np.ndarray
    scale: np.ndarray
    window_days: np.ndarray
    baseline_days: np.ndarray
    window_papers: np.ndarray
    baseline_papers: np.ndarray
    comparison: np.ndarray
    term: np.ndarray
    window_count: np.ndarray
    baseline_count: np.ndarray
    kinds: np.ndarray
    terms: np.ndarray
    scale_names: tuple[str, ...]
    tested: np.ndarray


def p_values(window_count: np.ndarray, total: np.ndarray, window_fraction: np.ndarray) -> np.ndarray:
    """One-sided p-values P(X >= window_count) for X ~ Binomial(total, window_fraction): the
    regularized incomplete beta function I_f(w, n - w + 1), which is what ``binom.sf`` computes
    (the same values, without its argument handling: a quarter faster); 1 for a count of 0."""
    w, n, f = np.broadcast_arrays(np.asarray(window_count, dtype=np.int64), np.asarray(total, dtype=np.int64),
                                  np.asarray(window_fraction, dtype=float))
    p = np.ones(w.shape)
    some = w >= 1
    p[some] = betainc(w[some], n[some] - w[some] + 1, f[some])
    return p


# totals below this have their lower bounds computed once per process (a table of them)
_TABLED_TOTALS = 256


@lru_cache(maxsize=4)
def _lower_bound_table(confidence: float) -> np.ndarray:
    """``table[n, w]``: the lower ``confidence`` bound of the window's part for ``w`` of ``n``
    papers in the window, for ``1 <= w <= n < _TABLED_TOTALS`` (NaN elsewhere)."""
    n, w = np.meshgrid(np.arange(_TABLED_TOTALS), np.arange(_TABLED_TOTALS), indexing="ij")
    valid = (w >= 1) & (w <= n)
    table = np.full(n.shape, np.nan)
    table[valid] = betaincinv(w[valid], n[valid] - w[valid] + 1, 1 - confidence)
    return table


def _window_part_lower_bounds(w: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """The exact (Clopper-Pearson) lower ``confidence`` bound of the window's part of a term's
    papers, ``w`` of ``n`` in the window (``w >= 1``): small totals from a table made once,
    the others computed (the same values either way)."""
    low = np.empty(len(w))
    small = n < _TABLED_TOTALS
    low[small] = _lower_bound_table(confidence)[n[small], w[small]]
    large = ~small
    low[large] = betaincinv(w[large], n[large] - w[large] + 1, 1 - confidence)
    return low


def _sorted_within(group: np.ndarray, *keys: np.ndarray) -> np.ndarray:
    """The indices that sort rows by ``group``, then by ``keys`` (the last one first, as
    ``np.lexsort``), ties kept in their order. Each group is sorted on its own: many small sorts
    take a fraction of the time of one large one."""
    order = np.argsort(group, kind="stable")  # the groups usually come in order already: cheap
    in_order = group[order]
    bounds = np.flatnonzero(np.r_[True, in_order[1:] != in_order[:-1], True]).tolist()
    result = np.empty(len(group), dtype=np.int64)
    for start, end in zip(bounds[:-1], bounds[1:]):
        rows = order[start:end]
        result[start:end] = rows[np.lexsort(tuple(key[rows] for key in keys))]
    return result


def _q_values(day: np.ndarray, p: np.ndarray, weight: np.ndarray, family_size: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of distinct p-values ``p``, each standing for ``weight`` tests
    with that p-value, within each day (``family_size`` tests in all that day; those not given
    are taken to have p >= 0.5). The same as the q-values of every test, computed once per value."""
    order = _sorted_within(day, p)
    sorted_day = day[order]
    new_day = np.r_[True, sorted_day[1:] != sorted_day[:-1]]
    group = np.cumsum(new_day) - 1
    through = np.cumsum(weight[order])  # tests up to and including each value (ties: the last rank)
    through -= np.r_[0, through[:-1]][np.flatnonzero(new_day)][group]
    q = np.minimum(1.0, p[order] * family_size[order] / through)
    # a running minimum from each day's end, within the day (exact: no arithmetic on the values,
    # so a day's q-values do not depend on which other days are computed with it)
    q = pd.Series(q[::-1]).groupby(group[::-1], sort=False).cummin().to_numpy()[::-1]
    result = np.empty_like(q)
    result[order] = q
    return result


def rank_comparisons(data: Comparisons, settings: TrendSettings = TrendSettings()) -> pd.DataFrame:
    """The ranked lists of every comparison and kind (method in the module docstring).

    Returns ``feed_date`` (the comparison's ``day``) and the other ``OUTPUT_COLUMNS``, ordered by
    day, scale, kind and rank. The statistics depend on a row only through its comparison and
    its counts, so they are computed once per distinct (comparison, window_count, total)."""
    W = data.window_papers.astype(np.int64)
    B = data.baseline_papers.astype(np.int64)
    # filtered before the counts are widened to 64 bits: a part's rows can be millions
    w, b = data.window_count, data.baseline_count
    keep = ((W[data.comparison] > 0) & (B[data.comparison] > 0) & (w.astype(np.int64) + b >= max(settings.min_total, 1))
            & (w * B[data.comparison] > b * W[data.comparison]))  # tested, and its share rose
    comparison, term = data.comparison[keep].astype(np.int64), data.term[keep]
    w = w[keep].astype(np.int64)
    n = w + b[keep]
    if len(w) == 0:
        return empty_result()
    _require(int(n.max()) < 2 ** _BITS and len(W) < 2 ** _BITS, "counts too large to pack")
    # one row per distinct (comparison, window count, total): p-value, q-value and score (numbered
    # by hashing, in no particular order: every order below breaks its ties by the key's counts)
    inverse, keys = pd.factorize((comparison << 2 * _BITS) | (w << _BITS) | n)
    weight = np.bincount(inverse, minlength=len(keys))
    mask = (1 << _BITS) - 1
    key_comparison, key_w, key_n = keys >> 2 * _BITS, (keys >> _BITS) & mask, keys & mask
    fraction = W[key_comparison] / (W[key_comparison] + B[key_comparison])
    p = p_values(key_w, key_n, fraction)
    _, day_code = np.unique(data.day, return_inverse=True)
    day_code = day_code.reshape(-1)
    family_size = np.bincount(day_code, weights=data.tested)[day_code[key_comparison]]
    q = _q_values(day_code[key_comparison], p, weight, family_size)
    pair_inverse, pairs = pd.factorize((key_w << _BITS) | key_n)
    low = _window_part_lower_bounds(pairs >> _BITS, pairs & mask, settings.confidence)[pair_inverse]
    with np.errstate(divide="ignore"):
        score = np.log(low) - np.log1p(-low) + np.log1p(-fraction) - np.log(fraction)
    # each list's best rows: order the keys that can be listed within their comparison, count each
    # kind's rows per key, and keep the keys that hold a list's first 2 x top_n rows (room for the
    # pieces of phrases left out below); only those rows are sorted
    listed_keys = np.flatnonzero(key_w >= settings.min_support)
    if len(listed_keys) == 0:
        return empty_result()
    key_order = listed_keys[_sorted_within(key_comparison[listed_keys], (key_w << _BITS | key_n)[listed_keys],
                                           p[listed_keys], -score[listed_keys])]
    position = np.full(len(keys), -1, dtype=np.int64)
    position[key_order] = np.arange(len(key_order))
    kind_code = pd.factorize(data.kinds)[0]
    n_kinds = int(kind_code.max()) + 1
    listed_rows = np.flatnonzero(position[inverse] >= 0)
    row_kind = kind_code[term[listed_rows]]
    row_position = position[inverse[listed_rows]]
    per_key = np.bincount(row_kind * len(key_order) + row_position,
                          minlength=n_kinds * len(key_order)).reshape(n_kinds, len(key_order))
    ordered_comparison = key_comparison[key_order]
    segment_start = np.flatnonzero(np.r_[True, ordered_comparison[1:] != ordered_comparison[:-1]])
    segment = np.cumsum(np.r_[True, ordered_comparison[1:] != ordered_comparison[:-1]]) - 1
    before = np.cumsum(per_key, axis=1) - per_key  # rows of earlier keys, from the array's start
    before -= before[:, segment_start][:, segment]  # ... from the comparison's first key
    wanted = (before < 2 * settings.top_n) & (per_key > 0)
    picked = wanted[row_kind, row_position]
    chosen, chosen_kind = listed_rows[picked], row_kind[picked]
    key = inverse[chosen]
    list_id = key_comparison[key] * n_kinds + chosen_kind
    rows = key_comparison[key]
    frame = pd.DataFrame({
        "list_id": list_id,
        "position": position[key],
        "feed_date": data.day[rows],
        "scale": np.asarray(data.scale_names, dtype=object)[data.scale[rows]],
        "kind": data.kinds[term[chosen]],
        "term": data.terms[term[chosen]],
        "score": score[key],
        "significant": q[key] <= settings.fdr,
        "p_value": p[key],
        "q_value": q[key],
        "window_count": key_w[key],
        "baseline_count": key_n[key] - key_w[key],
        "window_papers": W[rows],
        "baseline_papers": B[rows],
        "window_days": data.window_days[rows],
        "baseline_days": data.baseline_days[rows],
    })
    frame = frame.sort_values(["list_id", "position", "term"], kind="mergesort")  # ties: by term
    frame = _without_redundant_parts(frame)
    frame["rank"] = frame.groupby("list_id", sort=False).cumcount() + 1
    frame = frame[frame["rank"] <= settings.top_n]
    frame["window_share"] = frame["window_count"] / frame["window_papers"]
    frame["baseline_share"] = frame["baseline_count"] / frame["baseline_papers"]
    frame = frame.sort_values(["feed_date", "scale", "kind", "rank"], kind="mergesort")
    return frame[OUTPUT_COLUMNS].astype(_OUTPUT_DTYPES).reset_index(drop=True)


def _without_redundant_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop a term that is a run of words of a longer term of the same list with exactly the same
    counts (``sheaf diffusion`` inside ``quantum sheaf diffusion``): the same papers, a piece of
    the phrase, which would fill the top ranks with pieces of one signal. ``frame`` is in rank
    order within each list; the order is kept."""
    key = ["list_id", "window_count", "baseline_count"]
    shared = frame.duplicated(key, keep=False)
    longer = frame[shared & frame["term"].str.contains(" ", regex=False)]
    if longer.empty:
        return frame
    # the columns as Python lists first: iterating a pyarrow-backed column yields one item at a
    # time through pandas (on P1's lists a tenth of all the ranking's time)
    pieces = set()
    for list_id, window, baseline, term in zip(*(longer[column].tolist() for column in key), longer["term"].tolist()):
        words = term.split(" ")
        for size in range(1, len(words)):
            for start in range(len(words) - size + 1):
                pieces.add((list_id, window, baseline, " ".join(words[start:start + size])))
    candidates = frame[shared]
    rows = zip(*(candidates[column].tolist() for column in [*key, "term"]))
    redundant = [index for index, row in zip(candidates.index.tolist(), rows) if row in pieces]
    return frame.drop(index=redundant) if redundant else frame


COUNT_COLUMNS = ["feed_date", "scale", "kind", "term", "window_count", "baseline_count",
                 "window_papers", "baseline_papers"]


def ranked_terms(counts: pd.DataFrame, settings: TrendSettings = TrendSettings()) -> pd.DataFrame:
    """``rank_comparisons`` from a frame: one row per day, scale, kind and term with the columns
    ``COUNT_COLUMNS`` (the last two are the comparison's totals). ``scale`` names a scale of
    ``settings``. Raises ValueError for missing columns, negative counts, counts above their
    period's papers, duplicate rows or an unknown scale."""
    missing = [column for column in COUNT_COLUMNS if column not in counts.columns]
    _require(not missing, f"counts is missing columns {missing}")
    frame = counts[COUNT_COLUMNS].reset_index(drop=True)
    for count, papers in (("window_count", "window_papers"), ("baseline_count", "baseline_papers")):
        _require(bool((frame[count] >= 0).all()), f"{count} must not be negative")
        _require(bool((frame[count] <= frame[papers]).all()),
                 f"{count} must not exceed the number of papers in its period ({papers})")
    _require(not frame.duplicated(["feed_date", "scale", "kind", "term"]).any(),
             "counts has duplicate (feed_date, scale, kind, term) rows")
    names = tuple(scale.name for scale in settings.scales)
    unknown = set(frame["scale"]) - set(names)
    _require(not unknown, f"counts has scales that are not in the settings: {sorted(unknown)}")
    if frame.empty:
        return empty_result()
    comparisons = frame[["feed_date", "scale"]].drop_duplicates().reset_index(drop=True)
    totals = frame.groupby(["feed_date", "scale"], sort=False)[["window_papers", "baseline_papers"]].nunique()
    _require(bool((totals == 1).all().all()), "a comparison's window_papers and baseline_papers must not vary")
    comparisons["index"] = np.arange(len(comparisons))
    frame = frame.merge(comparisons, on=["feed_date", "scale"], how="left")
    comparison_rows = frame.drop_duplicates("index").sort_values("index")
    vocabulary = frame[["kind", "term"]].drop_duplicates().sort_values(["kind", "term"]).reset_index(drop=True)
    vocabulary["term_index"] = np.arange(len(vocabulary))
    frame = frame.merge(vocabulary, on=["kind", "term"], how="left")
    data = Comparisons(
        day=comparison_rows["feed_date"].to_numpy(),
        scale=np.array([names.index(name) for name in comparison_rows["scale"]], dtype=np.int64),
        window_days=np.array([settings.scales[names.index(name)].window_days for name in comparison_rows["scale"]]),
        baseline_days=np.array([settings.scales[names.index(name)].baseline_days
                                for name in comparison_rows["scale"]]),
        window_papers=comparison_rows["window_papers"].to_numpy(),
        baseline_papers=comparison_rows["baseline_papers"].to_numpy(),
        comparison=frame["index"].to_numpy(),
        term=frame["term_index"].to_numpy(),
        window_count=frame["window_count"].to_numpy(),
        baseline_count=frame["baseline_count"].to_numpy(),
        kinds=vocabulary["kind"].to_numpy(dtype=object),
        terms=vocabulary["term"].to_numpy(dtype=object),
        scale_names=names,
        tested=np.bincount(frame["index"].to_numpy()[
            ((frame["window_count"] + frame["baseline_count"]) >= max(settings.min_total, 1))
            & (frame["window_papers"] > 0) & (frame["baseline_papers"] > 0)], minlength=len(comparison_rows)),
    )
    return rank_comparisons(data, settings)
