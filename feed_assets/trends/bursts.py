"""Bursts: when a term took off, how long it stayed up, how high and how strongly.

The model is Kleinberg's two-state batched burst model (Kleinberg, "Bursty and Hierarchical
Structure in Streams", KDD 2002, section 4), made for counts against a varying daily total:

- Day ``t`` brings ``d_t`` new papers, ``r_t`` of them with the term. Days with no new paper
  say nothing and are skipped.
- State 0 (normal) emits the term at its baseline rate ``p0``; state 1 (burst) at ``p1 =
  min(ratio * p0, 0.9999)``. A day's cost in state ``i`` is ``-log Binomial(r_t | d_t, p_i)``
  without the binomial coefficient, which is the same in both states and cancels:
  ``-(r_t log p_i + (d_t - r_t) log(1 - p_i))``.
- Entering the burst state costs ``tau = gamma * ln(365)`` (Kleinberg's ``gamma ln n`` with
  ``n`` a year of days, so the cost does not grow with the feed's age); leaving it is free.
  The series starts in state 0.
- The bursts are the runs of state 1 on the cheapest state path. A burst's **weight** is
  Kleinberg's: the cost its days save by being in state 1, ``sum(cost_0 - cost_1)``. Its
  **peak** is its day with the largest share ``r_t / d_t`` (the earliest, on a tie).

The cheapest path is found exactly by the Viterbi recursion run **forward**: for each state
we keep the cost of the best path ending in it and that path's bursts (the closed ones, and
for state 1 the open one). A day's step only looks at those two summaries, so a series can be
continued from a stored state over new days, and gives exactly what a run over all the days
gives (the same floating-point operations in the same order). Ties are broken one fixed way:
a path that stays beats one that switches (``new0`` from state 0 on a tie, ``new1`` from
state 1), and the final state is 0 on a tie. Costs are shifted by their minimum after every
step, which changes no choice. Many terms are run together: the loop is over days only,
each step is a few numpy operations over the terms, and the few paths that close or open a
burst that day are updated by index.

Why not a library: the PyPI package ``burst_detection`` implements the same model but has
not been maintained since 2018, runs over a whole series at once (no continuing from a
stored state, so every day would recompute every term's history), one term at a time in
Python loops, and breaks ties unspecified; the model is a few dozen lines of numpy, tested
here against a brute force over every state path.

Pure code over numpy: no I/O, no SQL. Days are integers (day numbers) here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_RATE = 0.9999
TRANSITION_DAYS = 365  # tau = gamma * ln(TRANSITION_DAYS)


@dataclass(frozen=True)
class BurstModel:
    """The model's two knobs: how many times its baseline rate a burst's rate is (``ratio``,
    Kleinberg's ``s``), and how dear entering a burst is (``gamma``)."""

    ratio: float = 2.0
    gamma: float = 1.0

    def __post_init__(self) -> None:
        """Reject a ratio not above 1 or a negative gamma."""
        if not (isinstance(self.ratio, (int, float)) and math.isfinite(self.ratio) and self.ratio > 1):
            raise ValueError(f"ratio must be a number > 1, got {self.ratio!r}")
        if not (isinstance(self.gamma, (int, float)) and math.isfinite(self.gamma) and self.gamma >= 0):
            raise ValueError(f"gamma must be a number >= 0, got {self.gamma!r}")

    @property
    def transition_cost(self) -> float:
        """tau: the cost of entering the burst state."""
        return self.gamma * math.log(TRANSITION_DAYS)

    def burst_rate(self, baseline_rate: float) -> float:
        """p1 for a baseline rate p0."""
        return min(self.ratio * baseline_rate, MAX_RATE)


def baseline_rate(term_papers: int, new_papers: int) -> float:
    """p0: the term's share of the baseline's papers, with one pseudo-paper for and one against
    (never 0 or 1, so a term unseen in its baseline still has a finite cost)."""
    return (term_papers + 1) / (new_papers + 2)


@dataclass(frozen=True)
class Burst:
    """A run of days in the burst state. ``end`` is its last day, None while it goes on."""

    start: int
    end: int | None
    peak_day: int
    peak_share: float
    weight: float
    days: int

    @property
    def ongoing(self) -> bool:
        return self.end is None


class _Store:
    """Closed bursts of every path as linked nodes (``prev`` is the path's previous closed
    burst, -1 for none): a path that switches state shares its history instead of copying it."""

    FIELDS = (("prev", np.int64), ("start", np.int64), ("end", np.int64), ("peak_day", np.int64),
              ("peak_share", np.float64), ("weight", np.float64), ("days", np.int64))

    def __init__(self) -> None:
        self.size = 0
        self.arrays = {name: np.zeros(64, dtype=dtype) for name, dtype in self.FIELDS}

    def add(self, **values: np.ndarray) -> np.ndarray:
        """Append nodes (equal-length arrays per field); returns their ids."""
        count = len(values["prev"])
        if self.size + count > len(self.arrays["prev"]):
            capacity = max(2 * len(self.arrays["prev"]), self.size + count)
            for name, array in self.arrays.items():
                grown = np.zeros(capacity, dtype=array.dtype)
                grown[:self.size] = array[:self.size]
                self.arrays[name] = grown
        ids = np.arange(self.size, self.size + count, dtype=np.int64)
        for name, array in self.arrays.items():
            array[self.size:self.size + count] = values[name]
        self.size += count
        return ids

    def chain(self, node: int) -> list[Burst]:
        """The closed bursts of the path whose last closed burst is ``node``, oldest first."""
        found = []
        a = self.arrays
        while node >= 0:
            found.append(Burst(int(a["start"][node]), int(a["end"][node]), int(a["peak_day"][node]),
                               float(a["peak_share"][node]), float(a["weight"][node]), int(a["days"][node])))
            node = int(a["prev"][node])
        return found[::-1]


@dataclass(frozen=True)
class TermPaths:
    """A term's forward state after some day: per state the cost of the best path ending in it
    (shifted so that the smaller is 0) and that path's bursts (state 1's last one open)."""

    costs: tuple[float, float]
    bursts: tuple[tuple[Burst, ...], tuple[Burst, ...]]

    @classmethod
    def start(cls) -> TermPaths:
        """Before the first day: in state 0, no burst."""
        return cls((0.0, math.inf), ((), ()))

    def best(self) -> tuple[Burst, ...]:
        """The bursts of the cheaper final state (state 0 on a tie)."""
        return self.bursts[1] if self.costs[1] < self.costs[0] else self.bursts[0]


class ForwardState:
    """The forward Viterbi state of many terms at once (arrays indexed by term)."""

    def __init__(self, paths: Sequence[TermPaths], last_days: Sequence[int] | None = None) -> None:
        """Terms in the states ``paths``, reached after ``last_days`` (each term's last day
        processed: the last day of its open burst, if state 1 has one)."""
        n = len(paths)
        self.store = _Store()
        self.cost = np.array([p.costs for p in paths], dtype=np.float64).reshape(n, 2)
        self.offset = np.zeros(n, dtype=np.float64)  # what the shifts took off: cost + offset = path cost
        self.closed = np.full((n, 2), -1, dtype=np.int64)
        self.open_start = np.full(n, -1, dtype=np.int64)
        self.open_last = np.full(n, -1, dtype=np.int64) if last_days is None else \
            np.array(last_days, dtype=np.int64).reshape(n)
        self.open_peak_day = np.full(n, -1, dtype=np.int64)
        self.open_peak_share = np.zeros(n, dtype=np.float64)
        self.open_weight = np.zeros(n, dtype=np.float64)
        self.open_days = np.zeros(n, dtype=np.int64)
        for index, term in enumerate(paths):
            for state in (0, 1):
                closed = list(term.bursts[state])
                if state == 1 and closed:
                    last = closed.pop()
                    if not last.ongoing:
                        raise ValueError("state 1's path must end with its open burst")
                    self.open_start[index], self.open_peak_day[index] = last.start, last.peak_day
                    self.open_peak_share[index], self.open_weight[index] = last.peak_share, last.weight
                    self.open_days[index] = last.days
                node = -1
                for burst in closed:
                    if burst.ongoing:
                        raise ValueError("only state 1's last burst may be open")
                    node = int(self.store.add(
                        prev=np.array([node]), start=np.array([burst.start]), end=np.array([burst.end]),
                        peak_day=np.array([burst.peak_day]), peak_share=np.array([burst.peak_share]),
                        weight=np.array([burst.weight]), days=np.array([burst.days]))[0])
                self.closed[index, state] = node

    def __len__(self) -> int:
        return len(self.cost)

    def paths(self, index: int) -> TermPaths:
        """Term ``index``'s state as plain values (to store, or to continue from later)."""
        bursts = [tuple(self.store.chain(int(self.closed[index, state]))) for state in (0, 1)]
        if self.open_start[index] >= 0:
            bursts[1] += (Burst(int(self.open_start[index]), None, int(self.open_peak_day[index]),
                                float(self.open_peak_share[index]), float(self.open_weight[index]),
                                int(self.open_days[index])),)
        return TermPaths((float(self.cost[index, 0]), float(self.cost[index, 1])), (bursts[0], bursts[1]))

    def advance(self, days: np.ndarray, totals: np.ndarray, counts: np.ndarray, first_column: np.ndarray,
                log_rates: np.ndarray, transition_cost: float) -> None:
        """Step every term over the days from its ``first_column`` on.

        ``days`` (m,) increasing day numbers, ``totals`` (m,) the days' new papers (all > 0),
        ``counts`` (n, m) each term's papers on each day, ``first_column`` (n,) the first day
        (column) each term steps on (m: none), ``log_rates`` (n, 4) each term's ``log p0,
        log(1 - p0), log p1, log(1 - p1)`` (``log_rates``).
        """
        n = len(self)
        if n == 0 or len(days) == 0:
            return
        order = np.argsort(first_column, kind="stable")
        active_from = np.searchsorted(first_column[order], np.arange(len(days)), side="right")
        # work on arrays in the order terms become active: the active terms are a prefix
        work = {name: getattr(self, name)[order].copy() for name in (
            "cost", "offset", "closed", "open_start", "open_last", "open_peak_day", "open_peak_share",
            "open_weight", "open_days")}
        counts = counts[order]
        rates = log_rates[order]
        cost, closed = work["cost"], work["closed"]
        start, peak_day, peak_share = work["open_start"], work["open_peak_day"], work["open_peak_share"]
        weight, burst_days, offset = work["open_weight"], work["open_days"], work["offset"]
        open_last = work["open_last"]
        for column in range(len(days)):
            k = int(active_from[column])
            if k == 0:
                continue
            day, total = int(days[column]), int(totals[column])
            r = counts[:k, column]
            e0, e1 = emission_costs(r, total, rates[:k])
            c0, c1 = cost[:k, 0], cost[:k, 1]
            from1 = c1 < c0  # the best path into state 0 comes from 1: it closes a burst
            entering = c0 + transition_cost
            opens = entering < c1  # the best path into state 1 comes from 0: it opens one
            new0 = np.where(from1, c1, c0) + e0
            new1 = np.where(opens, entering, c1) + e1
            old_closed0 = closed[:k, 0].copy()
            closing = np.flatnonzero(from1)
            if closing.size:
                closed[closing, 0] = self.store.add(
                    prev=closed[closing, 1], start=start[closing], end=open_last[closing],
                    peak_day=peak_day[closing], peak_share=peak_share[closing], weight=weight[closing],
                    days=burst_days[closing])
            closed[:k, 1] = np.where(opens, old_closed0, closed[:k, 1])
            share = r / total
            diff = e0 - e1
            higher = opens | (share > peak_share[:k])
            start[:k] = np.where(opens, day, start[:k])
            peak_day[:k] = np.where(higher, day, peak_day[:k])
            peak_share[:k] = np.where(higher, share, peak_share[:k])
            weight[:k] = np.where(opens, diff, weight[:k] + diff)
            burst_days[:k] = np.where(opens, 1, burst_days[:k] + 1)
            open_last[:k] = day
            low = np.minimum(new0, new1)
            offset[:k] += low
            cost[:k, 0] = new0 - low
            cost[:k, 1] = new1 - low
        back = np.empty_like(order)
        back[order] = np.arange(n)
        for name, array in work.items():
            setattr(self, name, array[back])


def log_rates(baseline_rates: Sequence[float], model: BurstModel) -> np.ndarray:
    """(n, 4): ``log p0, log(1 - p0), log p1, log(1 - p1)`` per term, each with ``math.log``
    (one scalar at a time, so a term's values never depend on the other terms it runs with)."""
    rows = []
    for p0 in baseline_rates:
        p1 = model.burst_rate(p0)
        rows.append((math.log(p0), math.log1p(-p0), math.log(p1), math.log1p(-p1)))
    return np.array(rows, dtype=np.float64).reshape(len(rows), 4)


def emission_costs(r: np.ndarray, d: np.ndarray | int, rates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cost of ``r`` papers with the term out of ``d`` in state 0 and in state 1: for one term
    over days (``rates`` a row of ``log_rates``), or for many terms on one day (``rates`` their
    rows). ``advance`` steps with it."""
    r = np.asarray(r, dtype=np.int64)
    rest = np.asarray(d, dtype=np.int64) - r
    return -(r * rates[..., 0] + rest * rates[..., 1]), -(r * rates[..., 2] + rest * rates[..., 3])


def run_bursts(days: np.ndarray, totals: np.ndarray, counts: np.ndarray, baseline_rates: Sequence[float],
               model: BurstModel, start: Sequence[TermPaths] | None = None,
               last_days: Sequence[int] | None = None) -> list[TermPaths]:
    """Every term's forward state after the days (from the start, or from ``start`` reached on
    ``last_days``): days with no new paper are dropped first. ``counts`` is (terms, days)."""
    days = np.asarray(days, dtype=np.int64)
    totals = np.asarray(totals, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64).reshape(len(baseline_rates), len(days))
    kept = totals > 0
    state = ForwardState(start if start is not None else [TermPaths.start()] * len(baseline_rates), last_days)
    n = len(state)
    state.advance(days[kept], totals[kept], counts[:, kept], np.zeros(n, dtype=np.int64),
                  log_rates(baseline_rates, model), model.transition_cost)
    return [state.paths(index) for index in range(n)]
