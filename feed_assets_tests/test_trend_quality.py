"""The detector's quality on synthetic feeds, with the pure functions only (no Dagster, no DuckDB).

Each day's papers are turned into text terms once; a term's count on a day is the number of
papers using it. For the day scored, each scale of ``TrendSettings`` (week, month, quarter)
compares its window ending on the day with the baseline before it (``Scale.lengths_on``, as
the assets do on a young feed), and ``ranked_terms`` makes the day's lists from their sums,
with the false discovery rate controlled over the whole day.

Bars, on the rows flagged ``significant``:
- planted trend: "quantum sheaf diffusion", from day 36 of a 40-day feed of ~150 papers a
  day, ramping to 4 % of papers over 7 days, is significant and among the top 5 text terms
  of the week list at the latest on day start + 3, within 3 days of the rise's first day,
  for seeds 0, 1 and 2 (on that day about 8 papers of the window use it: three days earlier
  it is used by none);
- stationary feed (90 days, ~150 papers a day, days 35..89 scored): at most 10 % of the
  scored days have any significant text term at any scale, and no single term is
  significant on more than 5 % of them. Every scored day still has a ranked week list.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from feed_assets.trends.significance import TrendSettings, ranked_terms
from feed_assets.trends.synthetic import PlantedTrend, synthetic_corpus
from feed_assets.trends.terms import text_terms

SETTINGS = TrendSettings()
FIRST = dt.date(2024, 1, 1)
PHRASE = "quantum sheaf diffusion"
PLANT_DAY = 36
PLANT_SEEDS = [0, 1, 2]
LATEST_DETECTION = 3  # days after the ramp's first day
TOP = 5
MAX_DAYS_WITH_ANY_FALSE_POSITIVE = 0.10
MAX_DAYS_PER_FALSE_POSITIVE_TERM = 0.05


@dataclass(frozen=True)
class DailyCounts:
    """Per-day text-term paper counts of a corpus: ``matrix[day, term]``, and papers per day.

    Only terms used by at least ``min_total`` papers over the whole corpus are kept: any other
    term has fewer in every window + baseline, so ``rising_terms`` would not test it anyway.
    """

    terms: np.ndarray
    matrix: np.ndarray
    papers: np.ndarray

    @classmethod
    def of(cls, corpus: dict[dt.date, list[tuple[str, str]]], min_total: int) -> DailyCounts:
        """Count, for each day and term, the papers of the day using the term."""
        per_day = [Counter(term for paper in corpus[day] for term in text_terms(*paper))
                   for day in sorted(corpus)]
        overall = sum(per_day, Counter())
        terms = sorted(term for term, count in overall.items() if count >= min_total)
        column = {term: index for index, term in enumerate(terms)}
        matrix = np.zeros((len(per_day), len(terms)), dtype=np.int64)
        for row, day_counts in enumerate(per_day):
            for term, count in day_counts.items():
                if term in column:
                    matrix[row, column[term]] = count
        papers = np.array([len(corpus[day]) for day in sorted(corpus)])
        return cls(np.array(terms, dtype=object), matrix, papers)

    def lists_on(self, day: int, settings: TrendSettings = SETTINGS) -> pd.DataFrame:
        """The ranked lists of the day with this index, at every scale."""
        frames = []
        for scale in settings.scales:
            window_days, baseline_days = scale.lengths_on(day + 1)
            window = slice(day - window_days + 1, day + 1)
            baseline = slice(window.start - baseline_days, window.start)
            window_counts, baseline_counts = self.matrix[window].sum(0), self.matrix[baseline].sum(0)
            used = (window_counts + baseline_counts) > 0
            frames.append(pd.DataFrame({
                "feed_date": day, "scale": scale.name, "kind": "text", "term": self.terms[used],
                "window_count": window_counts[used], "baseline_count": baseline_counts[used],
                "window_papers": int(self.papers[window].sum()), "baseline_papers": int(self.papers[baseline].sum())}))
        return ranked_terms(pd.concat(frames, ignore_index=True), settings)


@pytest.fixture(scope="module", params=PLANT_SEEDS, ids=lambda seed: f"seed{seed}")
def planted_feed(request) -> DailyCounts:
    """40 days of background with the phrase planted from day 36."""
    planted = PlantedTrend(PHRASE, FIRST + dt.timedelta(days=PLANT_DAY), ramp_days=7, peak_share=0.04)
    corpus = synthetic_corpus(FIRST, 40, papers_per_day=150, seed=request.param, planted=planted)
    return DailyCounts.of(corpus, SETTINGS.min_total)


def test_planted_trend_is_significant_and_in_the_top_5_by_the_third_day_of_its_ramp(planted_feed: DailyCounts):
    """First scored day with the phrase significant and ranked <= 5 in the week list is <= start + 3."""
    phrase_column = list(planted_feed.terms).index(PHRASE)
    first_in_top, history = None, []
    for day in range(PLANT_DAY, len(planted_feed.papers)):
        result = planted_feed.lists_on(day)
        row = result[(result["term"] == PHRASE) & (result["scale"] == "week") & result["significant"]]
        rank = int(row["rank"].iloc[0]) if len(row) else None
        window_papers = int(planted_feed.matrix[day - 6:day + 1, phrase_column].sum())
        history.append(f"start+{day - PLANT_DAY}: {window_papers} window papers, significant rank {rank}")
        if rank is not None and rank <= TOP and first_in_top is None:
            first_in_top = day - PLANT_DAY
    print("; ".join(history))
    assert planted_feed.matrix[:PLANT_DAY, phrase_column].sum() == 0
    assert first_in_top is not None and first_in_top <= LATEST_DETECTION, "; ".join(history)


@pytest.fixture(scope="module")
def stationary_feed() -> DailyCounts:
    """90 days of background only."""
    return DailyCounts.of(synthetic_corpus(FIRST, 90, papers_per_day=150, seed=0), SETTINGS.min_total)


def test_stationary_feed_has_few_false_positives(stationary_feed: DailyCounts):
    """Days 35..89: <= 10 % of days with any significant text term (any scale); no term
    significant on > 5 % of days; yet every day has its ranked lists."""
    scored = range(35, 90)
    days_with_any, days_per_term = 0, Counter()
    for day in scored:
        lists = stationary_feed.lists_on(day)
        assert set(lists["scale"]) == {scale.name for scale in SETTINGS.scales}
        assert (lists.groupby("scale").size() == SETTINGS.top_n).all()
        terms = set(lists.loc[lists["significant"], "term"])
        days_with_any += int(len(terms) > 0)
        days_per_term.update(terms)
    any_rate = days_with_any / len(scored)
    worst_term, worst_days = max(days_per_term.items(), key=lambda item: item[1], default=("-", 0))
    print(f"days with any significant term: {any_rate:.3f}; most frequent: {worst_term} on {worst_days} days")
    assert any_rate <= MAX_DAYS_WITH_ANY_FALSE_POSITIVE
    assert worst_days / len(scored) <= MAX_DAYS_PER_FALSE_POSITIVE_TERM


def test_synthetic_corpus_is_seeded_and_planting_leaves_the_background_alone():
    plain = synthetic_corpus(FIRST, 3, papers_per_day=40, seed=7)
    assert plain == synthetic_corpus(FIRST, 3, papers_per_day=40, seed=7)
    assert plain != synthetic_corpus(FIRST, 3, papers_per_day=40, seed=8)
    planted = synthetic_corpus(FIRST, 3, papers_per_day=40, seed=7,
                               planted=PlantedTrend(PHRASE, FIRST + dt.timedelta(days=1), peak_share=0.5))
    assert planted[FIRST] == plain[FIRST]
    for day in sorted(plain)[1:]:
        with_phrase = [PHRASE in text_terms(*paper) for paper in planted[day]]
        share = PlantedTrend(PHRASE, FIRST + dt.timedelta(days=1), peak_share=0.5).share_on(day)
        assert sum(with_phrase) == round(share * len(plain[day]))
        assert [paper for paper, hit in zip(planted[day], with_phrase) if not hit] == \
            [paper for paper, hit in zip(plain[day], with_phrase) if not hit]


def test_planted_share_ramps_linearly_then_stays_at_peak():
    trend = PlantedTrend(PHRASE, FIRST, ramp_days=4, peak_share=0.08)
    shares = [trend.share_on(FIRST + dt.timedelta(days=offset)) for offset in range(-1, 6)]
    assert shares == pytest.approx([0.0, 0.02, 0.04, 0.06, 0.08, 0.08, 0.08])


@pytest.mark.parametrize("source", ["title", "abstract"])
def test_a_planted_phrase_of_any_background_word_is_refused(source):
    """Every word a background paper shows, vocabulary or boilerplate ("evaluate", "rely"), is refused."""
    title, abstract = synthetic_corpus(FIRST, 1, papers_per_day=1, seed=0)[FIRST][0]
    words = sorted({word for term in text_terms(title if source == "title" else None,
                                                abstract if source == "abstract" else None)
                    for word in term.split()})
    assert words
    for word in words:
        with pytest.raises(ValueError, match="background words"):
            synthetic_corpus(FIRST, 1, planted=PlantedTrend(word + " sheaf", FIRST))
