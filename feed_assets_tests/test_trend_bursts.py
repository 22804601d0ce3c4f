"""Bursts (Kleinberg's two-state model, ``trends.bursts``): the forward recursion finds the
cheapest state path, continuing from a stored state changes nothing, a planted rise is a
burst and a stationary background has almost none; and the ``term_bursts`` table through
Dagster."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import shutil
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from feed_assets.trends.bursts import (
    Burst,
    ForwardState,
    BurstModel,
    TermPaths,
    baseline_rate,
    emission_costs,
    log_rates,
    run_bursts,
)
from feed_assets.trends.synthetic import PlantedTrend, synthetic_corpus
from feed_assets.trends.terms import text_terms

MODEL = BurstModel()


def brute_force(days: list[int], totals: list[int], counts: list[int], p0: float,
                model: BurstModel) -> list[tuple[float, int, tuple[Burst, ...]]]:
    """Every state path over the days with papers, from state 0: (cost, last state, bursts),
    cheapest first."""
    kept = [i for i, total in enumerate(totals) if total > 0]
    rates = log_rates([p0], model)[0]
    e0, e1 = emission_costs(np.array([counts[i] for i in kept], dtype=np.int64),
                            np.array([totals[i] for i in kept], dtype=np.int64), rates)
    found = []
    for path in itertools.product((0, 1), repeat=len(kept)):
        cost, previous, bursts, current = 0.0, 0, [], None
        for step, (index, state) in enumerate(zip(kept, path)):
            cost += e1[step] if state else e0[step]
            share, diff = counts[index] / totals[index], e0[step] - e1[step]
            if state and not previous:
                cost += model.transition_cost
                current = [days[index], None, days[index], share, diff, 1]
            elif state:
                if share > current[3]:
                    current[2], current[3] = days[index], share
                current[4] += diff
                current[5] += 1
            elif previous:
                current[1] = days[kept[step - 1]]
                bursts.append(Burst(*current))
            previous = state
        if previous:
            bursts.append(Burst(*current))
        found.append((cost, previous, tuple(bursts)))
    return sorted(found, key=lambda item: item[0])


@st.composite
def series(draw, most_days: int = 10):
    """A short series: days (with gaps), daily totals (some 0), the term's counts, a baseline rate."""
    n = draw(st.integers(1, most_days))
    gaps = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    days = [int(day) for day in np.cumsum(gaps) + 19_000]
    totals = draw(st.lists(st.integers(0, 40), min_size=n, max_size=n))
    counts = [draw(st.integers(0, total)) for total in totals]
    p0 = baseline_rate(draw(st.integers(0, 30)), draw(st.integers(30, 400)))
    return days, totals, counts, p0


def clear_winner(costs: list[float]) -> bool:
    """The cheapest of ``costs`` beats the next by more than rounding could blur."""
    return len(costs) < 2 or costs[1] - costs[0] > 1e-9 * max(1.0, abs(costs[0]))


@settings(max_examples=300, deadline=None)
@given(series(), st.floats(1.2, 4.0), st.floats(0.0, 2.0))
def test_the_forward_recursion_finds_the_cheapest_state_path(case, ratio, gamma):
    days, totals, counts, p0 = case
    model = BurstModel(ratio, gamma)
    paths = brute_force(days, totals, counts, p0, model)
    assume(clear_winner([cost for cost, _, _ in paths]))  # a near tie may go either way by rounding
    (result,) = run_bursts(days, totals, [counts], [p0], model)
    found = result.best()
    expected = paths[0][2]
    assert [(b.start, b.end, b.peak_day, b.peak_share, b.days) for b in found] == \
           [(b.start, b.end, b.peak_day, b.peak_share, b.days) for b in expected]
    assert [b.weight for b in found] == pytest.approx([b.weight for b in expected], rel=1e-9, abs=1e-9)
    # each state's cost is that of the cheapest path ending in it, less the cheapest of all
    for state in (0, 1):
        ending = min((cost for cost, last, _ in paths if last == state), default=math.inf)
        assert result.costs[state] == pytest.approx(ending - paths[0][0], rel=1e-9, abs=1e-9)
    # and state 1's path is the cheapest one ending in a burst
    ending_in_burst = [(cost, bursts) for cost, last, bursts in paths if last == 1]
    if ending_in_burst and clear_winner([cost for cost, _ in ending_in_burst]):
        assert [(b.start, b.end, b.days) for b in result.bursts[1]] == \
               [(b.start, b.end, b.days) for b in ending_in_burst[0][1]]


@st.composite
def many_series(draw, most_terms: int = 6, most_days: int = 30):
    """Several terms over the same days: totals (some 0), each term's counts and baseline rate."""
    n_days = draw(st.integers(1, most_days))
    days = [int(day) for day in np.cumsum(draw(st.lists(st.integers(1, 3), min_size=n_days, max_size=n_days)))
            + 19_000]
    totals = draw(st.lists(st.integers(0, 60), min_size=n_days, max_size=n_days))
    n_terms = draw(st.integers(1, most_terms))
    counts = [[draw(st.integers(0, total)) for total in totals] for _ in range(n_terms)]
    rates = [baseline_rate(draw(st.integers(0, 20)), draw(st.integers(20, 2000))) for _ in range(n_terms)]
    return days, totals, counts, rates


@settings(max_examples=200, deadline=None)
@given(many_series(), st.data())
def test_continuing_from_a_stored_state_gives_exactly_the_run_over_all_days(case, data):
    days, totals, counts, rates = case
    model = BurstModel(data.draw(st.floats(1.2, 4.0)), data.draw(st.floats(0.0, 2.0)))
    split = data.draw(st.integers(0, len(days)))
    whole = run_bursts(days, totals, counts, rates, model)
    first = run_bursts(days[:split], totals[:split], [c[:split] for c in counts], rates, model)
    with_papers = [day for day, total in zip(days[:split], totals[:split]) if total > 0]
    last = with_papers[-1] if with_papers else -1
    # the state as the warehouse stores it: plain values, rebuilt from scratch
    stored = [TermPaths(p.costs, p.bursts) for p in first]
    continued = run_bursts(days[split:], totals[split:], [c[split:] for c in counts], rates, model,
                           start=stored, last_days=[last] * len(rates))
    assert continued == whole  # exactly: costs and bursts, floats included


@settings(max_examples=200, deadline=None)
@given(many_series(), st.data())
def test_terms_run_together_from_different_days_get_what_each_gets_alone(case, data):
    days, totals, counts, rates = case
    kept = [i for i, total in enumerate(totals) if total > 0]
    assume(kept)
    days, totals = [days[i] for i in kept], [totals[i] for i in kept]
    counts = [[c[i] for i in kept] for c in counts]
    starts = data.draw(st.lists(st.integers(0, len(days) - 1), min_size=len(rates), max_size=len(rates)))
    state = ForwardState([TermPaths.start()] * len(rates))
    state.advance(np.array(days), np.array(totals), np.array(counts), np.array(starts), log_rates(rates, MODEL),
                  MODEL.transition_cost)
    for term, start in enumerate(starts):
        (alone,) = run_bursts(days[start:], totals[start:], [counts[term][start:]], [rates[term]], MODEL)
        assert state.paths(term) == alone


FIRST = dt.date(2024, 1, 1)
PHRASE = "quantum sheaf diffusion"
BASELINE_DAYS = 60
RISE_DAY = 80
FEED_DAYS = 100


def term_series(corpus: dict[dt.date, list[tuple[str, str]]], least: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The text terms used by at least ``least`` papers, their daily counts (terms, days) and the totals."""
    per_day = [Counter(term for paper in corpus[day] for term in set(text_terms(*paper))) for day in sorted(corpus)]
    overall = sum(per_day, Counter())
    terms = sorted(term for term, count in overall.items() if count >= least)
    counts = np.array([[day_counts[term] for day_counts in per_day] for term in terms], dtype=np.int64)
    return terms, counts, np.array([len(corpus[day]) for day in sorted(corpus)], dtype=np.int64)


def bursts_of(terms: list[str], counts: np.ndarray, totals: np.ndarray) -> dict[str, tuple[Burst, ...]]:
    """Each term's bursts, its baseline rate from the first ``BASELINE_DAYS`` days."""
    rates = [baseline_rate(int(c[:BASELINE_DAYS].sum()), int(totals[:BASELINE_DAYS].sum())) for c in counts]
    days = np.arange(len(totals)) + (FIRST - dt.date(1970, 1, 1)).days
    return {term: paths.best() for term, paths in zip(terms, run_bursts(days, totals, counts, rates, MODEL))}


@pytest.fixture(scope="module")
def planted_bursts() -> dict[str, tuple[Burst, ...]]:
    """100 days at 60 papers a day, the phrase rising to 4 % of papers from day 80 over a week."""
    corpus = synthetic_corpus(FIRST, FEED_DAYS, papers_per_day=60, seed=5,
                              planted=PlantedTrend(PHRASE, FIRST + dt.timedelta(days=RISE_DAY)))
    return bursts_of(*term_series(corpus, least=20))


def test_a_planted_rise_is_an_ongoing_burst_from_within_a_few_days_of_its_start(planted_bursts):
    (burst,) = planted_bursts[PHRASE]  # one burst, and no false start before the rise
    rise = (FIRST - dt.date(1970, 1, 1)).days + RISE_DAY
    assert rise <= burst.start <= rise + 3
    assert burst.ongoing and burst.end is None
    assert burst.weight > MODEL.transition_cost  # it pays far more than entering it cost
    assert burst.peak_day >= burst.start and 0.02 <= burst.peak_share <= 0.2


def test_a_stationary_background_has_few_bursts(planted_bursts):
    planted_words = set(PHRASE.split())
    background = {term: bursts for term, bursts in planted_bursts.items() if not planted_words & set(term.split())}
    bursting = [term for term, bursts in background.items() if bursts]
    print(f"{len(bursting)} of {len(background)} background terms burst: {bursting[:10]}")
    assert len(background) > 200
    assert len(bursting) <= 0.02 * len(background)


BURSTS = "select * from term_bursts order by kind, term, burst_start"
BURST_STATE = "select * from term_burst_state order by kind, term, state"
TAKE_OFF = """
    select burst_start, burst_end, ongoing, peak_day, peak_share from term_bursts
    where kind = 'text' and term = ? order by burst_start
"""


def burst_metadata(result) -> dict:
    (event,) = [event for event in result.get_asset_materialization_events()
                if event.asset_key.to_user_string() == "term_bursts"]
    return {key: value.value for key, value in event.materialization.metadata.items()}


def test_the_sample_topic_takes_off_once_and_days_run_forward_continue_to_the_rows_of_one_range_run(
        sample_feed, tmp_path, instance):
    from feed_assets.sample_data import RISING_TOPIC, RISING_TOPIC_START
    from feed_assets_tests.conftest import SAMPLE_END, SAMPLE_START, Feed

    whole = sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    assert burst_metadata(whole)["full_rebuild"] is True
    expected, state = sample_feed.query(BURSTS), sample_feed.query(BURST_STATE)
    assert expected and len(state) == 2 * len({(kind, term) for kind, term, *_ in state})
    # "when did X take off" is one query: the sample's rising topic, from its first days on, still going
    (burst,) = sample_feed.query(TAKE_OFF, [RISING_TOPIC])
    start, end, ongoing, peak_day, peak_share = burst
    ((first_seen,),) = sample_feed.query(
        "select min(feed_date) from term_daily_counts where kind = 'text' and term = ?", [RISING_TOPIC])
    assert RISING_TOPIC_START <= first_seen <= start <= first_seen + dt.timedelta(days=3)
    assert end is None and ongoing and start <= peak_day <= SAMPLE_END and peak_share > 0.1
    # every burst is of a term once significant, and ends (if it does) where it started or later
    assert sample_feed.query("""
        select count(*) from term_bursts b
        where not exists (select 1 from trending_terms t where t.kind = b.kind and t.term = b.term and t.significant)
           or burst_end < burst_start or (burst_end is null) <> ongoing or peak_day < burst_start""") == [(0,)]

    # the first days in one run, then the last six one at a time, each continuing the stored state
    forward = Feed(tmp_path / "forward", instance)
    shutil.copytree(sample_feed.inbox, forward.inbox)
    split = SAMPLE_END - dt.timedelta(days=6)
    assert forward.materialize(SAMPLE_START, split).success
    day, continued = split + dt.timedelta(days=1), 0
    while day <= SAMPLE_END:
        had_state = forward.query("select count(*) from term_burst_state") != [(0,)]
        result = forward.materialize(day)
        # a run with a stored state continues it over the new day; one without has no term to run
        assert burst_metadata(result)["full_rebuild"] is not had_state, day
        continued += had_state
        day += dt.timedelta(days=1)
    assert continued >= 3
    assert forward.query(BURSTS) == expected
    assert forward.query(BURST_STATE) == state
    rerun = forward.materialize(SAMPLE_END)
    assert forward.query(BURSTS) == expected and forward.query(BURST_STATE) == state
    assert burst_metadata(rerun)["days_touched"] == 0
    # an earlier day loaded again is recounted, to the same counts: the state is continued, not rebuilt
    earlier = forward.materialize(RISING_TOPIC_START - dt.timedelta(days=2))
    assert burst_metadata(earlier)["full_rebuild"] is False
    assert forward.query(BURSTS) == expected and forward.query(BURST_STATE) == state
