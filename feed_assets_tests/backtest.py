"""``make backtest``: how well the rising-term lists find a planted rise, and how often they raise
a false alarm, at Hugging Face volume and at arXiv volume, per time scale.

The background is a stationary feed: each day's papers use each term of a realistic
vocabulary independently with the term's share of papers. The vocabulary and its shares are
those of the synthetic text corpus (``trends.synthetic``: Zipf-frequent invented words,
phrases and boilerplate, terms extracted by ``trends.terms`` exactly as from real papers),
measured on ``VOCABULARY_PAPERS`` papers. Volumes:

- **HF**: about 25 new papers every day (Poisson);
- **arXiv**: about 1,000 new papers every weekday (Poisson), none at weekends.

A planted term is new (in no background paper); from its first day its share ramps linearly
over 7 days to its peak (2, 4 or 8 % of papers at HF volume; 0.5, 1 or 2 % at arXiv volume)
and stays there. Each trial scores the days from the rise's first day on, every day at every
scale, with the production code (``trends.windows`` and ``trends.significance`` at their
default settings), after 280 days of background, so every scale has its full baseline.

Reported per volume, strength and scale: the share of trials in which the term is flagged
``significant`` within the horizon, and the days from the rise's first day to the first flag
(median and 90th percentile; at arXiv volume in feed days, weekdays). On the backgrounds with
nothing planted: the share of days with any significant term, and significant terms per day.

Pure computation: no Dagster, no DuckDB. ``python -m feed_assets_tests.backtest [--trials N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from feed_assets.trends.significance import Comparisons, TrendSettings, rank_comparisons
from feed_assets.trends.synthetic import synthetic_corpus
from feed_assets.trends.terms import text_terms
from feed_assets.trends.windows import Comparison, windowed_counts

SETTINGS = TrendSettings()
FIRST = dt.date(2023, 1, 2)  # a Monday
HISTORY_DAYS = 280  # background before the rise: the quarter scale's 273 days, and a week
VOCABULARY_PAPERS = 12_000
RAMP_DAYS = 7
PLANTED = "planted term"


@dataclass(frozen=True)
class Volume:
    name: str
    papers_per_day: int
    weekdays_only: bool
    strengths: tuple[float, ...]
    horizon_days: int  # calendar days scored from the rise's first day
    goal_strength: float
    goal_days: int  # feed days to the first flag, at the goal strength


VOLUMES = (
    Volume("HF", 25, False, (0.02, 0.04, 0.08), 28, 0.08, 10),
    Volume("arXiv", 1000, True, (0.005, 0.01, 0.02), 14, 0.02, 3),
)
STATIONARY_DAYS = 60  # days scored on a background with nothing planted


def vocabulary_shares(papers: int) -> np.ndarray:
    """Each synthetic term's share of papers (terms used by at least 2 papers of the sample)."""
    days = -(-papers // 200)
    corpus = synthetic_corpus(FIRST, days, papers_per_day=200, seed=2024)
    counts = Counter(term for day in sorted(corpus) for paper in corpus[day] for term in text_terms(*paper))
    total = sum(len(corpus[day]) for day in corpus)
    return np.array(sorted((count / total for count in counts.values() if count >= 2), reverse=True))


def day_papers(volume: Volume, days: int, rng: np.random.Generator) -> np.ndarray:
    papers = rng.poisson(volume.papers_per_day, size=days)
    if volume.weekdays_only:
        weekday = np.array([(FIRST + dt.timedelta(days=i)).weekday() for i in range(days)])
        papers[weekday >= 5] = 0
    return papers


def background(shares: np.ndarray, papers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """counts[day, term]: papers of the day using the term, each paper independently."""
    return rng.binomial(papers[:, None], shares[None, :]).astype(np.int64)


def planted_counts(papers: np.ndarray, start: int, peak: float, rng: np.random.Generator) -> np.ndarray:
    ramp = np.clip((np.arange(len(papers)) - start + 1) / RAMP_DAYS, 0, 1) * peak
    return rng.binomial(papers, ramp)


def lists(counts: np.ndarray, papers: np.ndarray, scored: range) -> "object":
    """The production lists of the scored days (``rank_comparisons``), with ``feed_date`` as a
    day index; the planted term, when there is one, is the last column."""
    day, term = np.nonzero(counts)
    table = pa.table({"feed_date": pa.array((day + (FIRST - dt.date(1970, 1, 1)).days).astype(np.int32),
                                            pa.int32()).cast(pa.date32()),
                      "term_index": pa.array(term, pa.int64()),
                      "papers": pa.array(counts[day, term], pa.int64())})
    running = np.r_[0, np.cumsum(papers)]
    comparisons, arrays = [], {k: [] for k in ("day", "scale", "window_days", "baseline_days",
                                               "window_papers", "baseline_papers")}
    for index in scored:
        for scale_index, scale in enumerate(SETTINGS.scales):
            window_days, baseline_days = scale.lengths_on(index + 1)
            end = index + 1
            window = int(running[end] - running[end - window_days])
            baseline = int(running[end - window_days] - running[max(0, end - window_days - baseline_days)])
            if window == 0 or baseline == 0:
                continue
            comparisons.append(Comparison(FIRST + dt.timedelta(days=index), window_days, baseline_days))
            for key, value in (("day", index), ("scale", scale_index), ("window_days", window_days),
                               ("baseline_days", baseline_days), ("window_papers", window),
                               ("baseline_papers", baseline)):
                arrays[key].append(value)
    n_terms = counts.shape[1]
    found = windowed_counts(table, n_terms, comparisons, SETTINGS.min_total,
                            list(zip(arrays["window_papers"], arrays["baseline_papers"])))
    names = np.array([f"t{i:06d}" for i in range(n_terms - 1)] + [PLANTED], dtype=object)
    return rank_comparisons(Comparisons(
        **{k: np.array(v) for k, v in arrays.items()}, comparison=found.comparison, term=found.term,
        window_count=found.window_count, baseline_count=found.baseline_count,
        kinds=np.full(n_terms, "text", dtype=object), terms=names,
        scale_names=tuple(s.name for s in SETTINGS.scales), tested=found.tested), SETTINGS)


def feed_days_between(volume: Volume, start: int, day: int) -> int:
    """Days from the rise's first day to ``day``, counted in feed days (weekdays at arXiv volume)."""
    if not volume.weekdays_only:
        return day - start
    return sum(1 for i in range(start + 1, day + 1) if (FIRST + dt.timedelta(days=i)).weekday() < 5)


def detection(volume: Volume, shares: np.ndarray, trials: int) -> list[dict]:
    """Per strength and scale: detection rate and days to the first significant flag."""
    scales = [s.name for s in SETTINGS.scales] + ["any"]
    delays = {(strength, scale): [] for strength in volume.strengths for scale in scales}
    misses = Counter()
    start = HISTORY_DAYS
    if volume.weekdays_only:
        while (FIRST + dt.timedelta(days=start)).weekday() >= 5:
            start += 1
    days = start + volume.horizon_days
    for trial in range(trials):
        rng = np.random.default_rng(1000 + trial)
        papers = day_papers(volume, days, rng)
        counts = background(shares, papers, rng)
        for strength in volume.strengths:
            planted = planted_counts(papers, start, strength, np.random.default_rng((trial, int(strength * 1e4))))
            result = lists(np.c_[counts, planted], papers, range(start, days))
            flagged = result[(result["term"] == PLANTED) & result["significant"]]
            for scale in scales:
                rows = flagged if scale == "any" else flagged[flagged["scale"] == scale]
                if len(rows):
                    delays[(strength, scale)].append(feed_days_between(volume, start, int(rows["feed_date"].min())))
                else:
                    misses[(strength, scale)] += 1
    report = []
    for (strength, scale), found in delays.items():
        report.append({"volume": volume.name, "strength": strength, "scale": scale,
                       "detected": len(found) / trials,
                       "median_days": float(np.median(found)) if found else None,
                       "p90_days": float(np.percentile(found, 90)) if found else None,
                       "within_goal": (sum(d <= volume.goal_days for d in found) / trials)})
    return report


def false_alarms(volume: Volume, shares: np.ndarray, trials: int) -> list[dict]:
    """On backgrounds with nothing planted: days with any significant term, and such terms per day."""
    scales = [s.name for s in SETTINGS.scales] + ["any"]
    any_days, terms, scored_days = Counter(), Counter(), 0
    for trial in range(trials):
        rng = np.random.default_rng(5000 + trial)
        days = HISTORY_DAYS + STATIONARY_DAYS
        papers = day_papers(volume, days, rng)
        result = lists(background(shares, papers, rng), papers, range(HISTORY_DAYS, days))
        significant = result[result["significant"]]
        scored_days += STATIONARY_DAYS  # every calendar day has its lists (a window holds papers)
        for scale in scales:
            rows = significant if scale == "any" else significant[significant["scale"] == scale]
            any_days[scale] += rows["feed_date"].nunique()
            terms[scale] += len(rows) if scale != "any" else rows[["feed_date", "term"]].drop_duplicates().shape[0]
    return [{"volume": volume.name, "scale": scale, "days_with_any": any_days[scale] / scored_days,
             "terms_per_day": terms[scale] / scored_days} for scale in scales]


def markdown(detections: list[dict], alarms: list[dict]) -> str:
    lines = ["| volume | peak share | scale | detected | days to first flag: median / p90 |",
             "| --- | --- | --- | --- | --- |"]
    for row in detections:
        days = (f"{row['median_days']:g} / {row['p90_days']:g}" if row["median_days"] is not None else "-")
        lines.append(f"| {row['volume']} | {row['strength']:.1%} | {row['scale']} | {row['detected']:.0%} | {days} |")
    lines += ["", "| volume | scale | days with any significant term | significant terms per day |",
              "| --- | --- | --- | --- |"]
    for row in alarms:
        lines.append(f"| {row['volume']} | {row['scale']} | {row['days_with_any']:.1%} | {row['terms_per_day']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per volume and strength (default 20)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    shares = vocabulary_shares(VOCABULARY_PAPERS)
    print(f"vocabulary: {len(shares):,} terms (synthetic text, {VOCABULARY_PAPERS:,} papers)")
    detections, alarms, verdicts = [], [], []
    for volume in VOLUMES:
        found = detection(volume, shares, args.trials)
        quiet = false_alarms(volume, shares, args.trials)
        detections += found
        alarms += quiet
        goal = next(r for r in found if r["strength"] == volume.goal_strength and r["scale"] == "any")
        any_rate = next(r for r in quiet if r["scale"] == "any")["days_with_any"]
        verdicts.append(f"{volume.name}: a term rising to {volume.goal_strength:.0%} flagged within "
                        f"{volume.goal_days} feed days in {goal['within_goal']:.0%} of trials "
                        f"(goal: 90 %); days with any false alarm {any_rate:.1%} (goal: at most 5 %)")
    print(markdown(detections, alarms))
    print("\n".join(verdicts))
    print(f"({args.trials} trials per volume and strength, {time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
