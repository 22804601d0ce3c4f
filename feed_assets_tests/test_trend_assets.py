"""The trend layer through Dagster on a real DuckDB file: every table filled from the sample
days, re-runs and load order change nothing, and a planted trend found end to end."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import duckdb
import pandas as pd

from feed_assets_tests.conftest import SAMPLE_END, SAMPLE_START, Feed

TREND_TABLES = {
    "trend_day_totals": "feed_date",
    "term_daily_counts": "feed_date, kind, term",
    "trending_terms": "feed_date, scale, kind, rank",
    "term_bursts": "kind, term, burst_start",
    "top_papers": "period, period_start, rank",
    "paper_attention": "paper_id",
    "author_activity": "feed_date, author",
    "category_trends": "feed_date, category",
}


def trend_snapshot(feed: Feed) -> dict[str, list[tuple]]:
    return {table: feed.query(f"select * from {table} order by {order}") for table, order in TREND_TABLES.items()}


def test_the_sample_days_fill_every_trend_table_and_a_chart(sample_feed: Feed):
    assert sample_feed.materialize(SAMPLE_START, SAMPLE_END).success
    for table in TREND_TABLES:
        assert sample_feed.query(f"select count(*) from {table}")[0][0] > 0, table
    papers = sample_feed.query("select count(*) from papers")[0][0]
    assert sample_feed.query("select sum(new_papers) from trend_day_totals") == [(papers,)]
    # each paper counts once, on its first day: no term can count more papers than that day has
    assert sample_feed.query("""
        select count(*) from term_daily_counts c join trend_day_totals t using (feed_date)
        where c.papers > t.new_papers""") == [(0,)]
    history = sample_feed.query(
        "select upvote_history from top_papers where paper_id = 'arxiv:2403.00528' and period = 'day' "
        "and period_start = '2024-03-11'")
    assert [[h["upvotes"] for h in row[0]] for row in history] == [[23, 61]]
    # fetched on two days, it gained 38 upvotes between them
    assert sample_feed.query("""
        select first_upvotes, upvotes, upvotes_gained, fetches, upvotes_per_day * (last_fetch_date - first_fetch_date)
        from paper_attention where paper_id = 'arxiv:2403.00528'""") == [(23, 61, 38, 2, 38.0)]
    rising = sample_feed.query(
        "select term from trending_terms where feed_date = ? and scale = 'week' and kind = 'text' and rank <= 3 "
        "and significant", [SAMPLE_END])
    assert ("test-time scaling",) in rising  # the topic the sample generator plants in the second week
    # every day with new papers after the first has a ranked month list, significant or not
    assert sample_feed.query("""
        select feed_date from trend_day_totals
        where new_papers > 0 and feed_date > (select min(feed_date) from trend_day_totals)
          and feed_date not in (select feed_date from trending_terms where scale = 'month' and kind = 'text')
    """) == []
    assert sample_feed.query("select distinct scale from trending_terms order by 1") == [
        ("month",), ("quarter",), ("week",)]
    chart = sample_feed.data_dir / "reports" / f"rising-terms-{SAMPLE_END}.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_days_run_one_by_one_in_reverse_give_the_tables_of_one_range_run_and_reruns_change_nothing(
        sample_feed: Feed, tmp_path, instance):
    # the sample's last ten days, which hold its rising topic and three weekend days: ten one-day runs
    first = SAMPLE_END - dt.timedelta(days=9)
    one_run, reverse = Feed(tmp_path / "one_run", instance), Feed(tmp_path / "reverse", instance)
    for feed in (one_run, reverse):
        for day in (first + dt.timedelta(days=n) for n in range(10)):
            shutil.copytree(sample_feed.inbox / day.isoformat(), feed.inbox / day.isoformat())
    assert one_run.materialize(first, SAMPLE_END).success
    expected = trend_snapshot(one_run)
    assert expected["trending_terms"], "ten days should already show rising terms"
    day = SAMPLE_END
    while day >= first:
        reverse.materialize(day)
        day -= dt.timedelta(days=1)
    assert trend_snapshot(reverse) == expected
    assert reverse.snapshot() == one_run.snapshot()  # and every table before the trends
    reverse.materialize(first + dt.timedelta(days=3))
    assert trend_snapshot(reverse) == expected


def test_new_days_run_one_by_one_continue_the_sums_of_the_day_before_and_give_the_tables_of_one_run(
        sample_feed: Feed, tmp_path, instance, monkeypatch):
    """Once the scales have their full lengths, a new day's window and baseline sums continue
    from the last new day's (``trend_sums``): only the first new day after a range run is summed
    afresh, and the trend tables are those of one run over every day."""
    from feed_assets.warehouse import trend_sums

    monkeypatch.setenv("TREND_SCALES", "week:2:3,month:3:5")  # full lengths from the feed's 8th day
    one_run, daily = Feed(tmp_path / "one_run", instance), Feed(tmp_path / "daily", instance)
    for feed in (one_run, daily):
        shutil.copytree(sample_feed.inbox, feed.inbox)
    assert one_run.materialize(SAMPLE_START, SAMPLE_END).success
    summed_afresh, continued = [], []
    for name, days in (("summed_terms", summed_afresh), ("continued_sums", continued)):
        real = getattr(trend_sums, name)
        monkeypatch.setattr(trend_sums, name, lambda *args, real=real, days=days:
                            days.append(args[-2][0].day) or real(*args))
    split = SAMPLE_START + dt.timedelta(days=8)
    assert daily.materialize(SAMPLE_START, split).success
    assert summed_afresh == [] and daily.query("select count(*) from trend_term_sums") == [(0,)]
    kept = []
    for offset in range(1, (SAMPLE_END - split).days + 1):
        day = split + dt.timedelta(days=offset)
        assert daily.materialize(day).success
        kept.append(daily.query("select distinct feed_date from trend_term_sums"))
    assert trend_snapshot(daily) == trend_snapshot(one_run)
    # the first new day summed afresh, most continued from the day before; a run that re-resolved
    # an earlier paper recounts the days from its first one, and the next day is summed afresh
    new_days = [split + dt.timedelta(days=offset) for offset in range(1, (SAMPLE_END - split).days + 1)]
    assert summed_afresh[0] == new_days[0] and len(continued) >= 3
    assert set(summed_afresh) | set(continued) <= set(new_days)
    assert all(sums in ([(day,)], []) for sums, day in zip(kept, new_days)) and kept[-1] == [(SAMPLE_END,)]
    # a day loaded again before the kept one: recounted days from it on, and the kept sums gone
    assert daily.materialize(split).success
    assert daily.query("select count(*) from trend_term_sums") == [(0,)]
    assert trend_snapshot(daily) == trend_snapshot(one_run)


def test_a_range_counted_and_ranked_in_small_batches_gives_the_tables_of_one_batch(
        sample_feed: Feed, tmp_path, instance, monkeypatch):
    from feed_assets.warehouse import trends

    assert sample_feed.materialize(SAMPLE_START, SAMPLE_END).success
    expected = trend_snapshot(sample_feed)
    small = Feed(tmp_path / "small", instance)
    shutil.copytree(sample_feed.inbox, small.inbox)
    # a few days' papers per term chunk, per trend read and per ranked part, and at most four days a read
    monkeypatch.setattr(trends, "TERM_CHUNK_PAPERS", 30)
    monkeypatch.setattr(trends, "TREND_PAPERS_PER_READ", 60)
    monkeypatch.setattr(trends, "TREND_PAPERS_PER_RANK", 30)
    monkeypatch.setattr(trends, "TREND_DAYS_PER_READ", 4)
    assert small.materialize(SAMPLE_START, SAMPLE_END).success
    assert trend_snapshot(small) == expected
    # the range was cut: in order, whole days, within the bounds (a bigger day alone)
    days = small.query("select feed_date, new_papers from trend_day_totals order by 1")
    papers = dict(days)
    for groups in (trends._day_groups(days, 30), trends._day_groups(days, 30, 2)):
        assert len(groups) > 3 and [day for group in groups for day in group] == [day for day, _ in days]
        assert all(len(group) == 1 or sum(papers[day] for day in group) <= 30 for group in groups)
    assert all(len(group) <= 2 for group in trends._day_groups(days, 30, 2))


def test_a_run_smaller_than_a_part_is_still_ranked_in_one_part_a_thread(monkeypatch):
    from feed_assets.warehouse import trends

    monkeypatch.setattr(trends, "TREND_RANK_THREADS", 2)
    monkeypatch.setattr(trends, "TREND_PAPERS_PER_RANK", 20_000)
    days = [(dt.date(2024, 1, 1) + dt.timedelta(days=n), 30) for n in range(200)]  # 6,000 papers
    parts = trends._day_groups(days, trends._part_papers(6_000))
    assert len(parts) == 2 and [len(part) for part in parts] == [100, 100]
    assert trends._part_papers(100_000) == 20_000  # a long run: parts of the usual size
    assert trends._part_papers(1) == 1 and trends._part_papers(0) == 1


def test_a_paper_listed_again_recounts_its_first_day_only_when_its_terms_changed(feed: Feed, tmp_path, instance):
    def listing(day: dt.date, papers: list[tuple[int, str, list[str]]]) -> None:
        folder = feed.inbox / day.isoformat()
        folder.mkdir(parents=True)
        (folder / "hf.json").write_text(json.dumps([
            {"paper": {"id": f"2403.{number:05d}", "title": title, "summary": f"We study {title.lower()}.",
                       "authors": [], "upvotes": 1, "ai_keywords": keywords}, "title": title, "numComments": 0}
            for number, title, keywords in papers]))

    first, again, changed = dt.date(2024, 3, 4), dt.date(2024, 3, 5), dt.date(2024, 3, 6)
    listing(first, [(1, "Sparse attention for video", []), (2, "Graph diffusion models", [])])
    listing(again, [(1, "Sparse attention for video", []), (3, "Quantum sheaf learning", [])])  # 1 as it was
    listing(changed, [(2, "Graph diffusion models", ["score matching"]), (4, "Robot soccer", [])])  # 2: a keyword
    for day in (first, again, changed):
        assert feed.materialize(day).success
    runs = [record.asset_materialization.metadata for record in
            feed.instance.fetch_materializations(dg.AssetKey("term_daily_counts"), limit=3).records][::-1]
    recounted = [(run["first_day_touched"].value, run["last_day_touched"].value, run["days_touched"].value)
                 for run in runs]
    assert recounted == [(str(first), str(first), 1), (str(again), str(again), 1),  # paper 1 again: its day stays
                         (str(first), str(changed), 2)]  # paper 2's new keyword: its first day is recounted
    assert feed.query("select feed_date, papers from term_daily_counts where kind = 'keyword'") == [(first, 1)]
    # the same tables as one run over the three days
    whole = Feed(tmp_path / "whole", instance)
    shutil.copytree(feed.inbox, whole.inbox)
    assert whole.materialize(first, changed).success
    assert trend_snapshot(whole) == trend_snapshot(feed)
    inputs = "select * from paper_term_inputs order by paper_id"
    assert whole.query(inputs) == feed.query(inputs) and len(feed.query(inputs)) == 4
    # a warehouse counted before the digests were kept recounts everything once, then keeps them
    with duckdb.connect(str(whole.warehouse_path)) as con:
        con.execute("delete from paper_term_inputs")
    listing(dt.date(2024, 3, 7), [(5, "Protein folding at scale", [])])
    shutil.copytree(feed.inbox / "2024-03-07", whole.inbox / "2024-03-07")
    assert whole.materialize(dt.date(2024, 3, 7)).success
    latest = whole.instance.fetch_materializations(dg.AssetKey("term_daily_counts"), limit=1).records[0]
    assert latest.asset_materialization.metadata["full_rebuild"].value is True
    assert latest.asset_materialization.metadata["days_touched"].value == 4
    assert len(whole.query(inputs)) == 5


def test_a_planted_trend_is_found_end_to_end(feed: Feed):
    from feed_assets.trends.synthetic import PlantedTrend, synthetic_corpus

    start = dt.date(2024, 1, 1)
    rise = start + dt.timedelta(days=35)
    corpus = synthetic_corpus(start, days=39, papers_per_day=150, seed=3,
                              planted=PlantedTrend("quantum sheaf diffusion", rise))
    for day, papers in corpus.items():
        folder = feed.inbox / day.isoformat()
        folder.mkdir(parents=True)
        items = [{"paper": {"id": f"{day:%y%m}.{day.day:02d}{i:03d}", "title": title, "summary": abstract,
                            "authors": [], "upvotes": 1}, "title": title, "numComments": 0}
                 for i, (title, abstract) in enumerate(papers)]
        (folder / "hf.json").write_text(json.dumps(items))
    assert feed.materialize(start, rise + dt.timedelta(days=3)).success
    ranks = feed.query("""
        select feed_date, rank from trending_terms
        where scale = 'week' and kind = 'text' and term = 'quantum sheaf diffusion' and rank <= 5 and significant
        order by feed_date""")
    assert ranks, "the planted phrase never reached the top 5"
    assert ranks[0][0] <= rise + dt.timedelta(days=3)  # within 3 days of the rise's first day


def test_a_new_days_lists_summed_by_a_query_are_those_summed_from_its_rows(sample_warehouse, tmp_path, monkeypatch):
    """A run of a day or two (a new day's) sums its windows and baselines in one grouping query;
    a longer run reads its spans' rows and sums them in numpy. Both give the same lists."""
    from pandas.testing import assert_frame_equal

    from feed_assets.trends.significance import TrendSettings, empty_result, rank_comparisons
    from feed_assets.warehouse import trend_sums, trends
    from feed_assets.warehouse.trend_sums import DaySums

    shutil.copy(sample_warehouse / "feed.duckdb", tmp_path / "feed.duckdb")
    settings = TrendSettings()
    with duckdb.connect(str(tmp_path / "feed.duckdb")) as con:  # a new day's sums are kept for the next
        days = con.execute("select feed_date, new_papers from trend_day_totals order by 1").fetchall()

        def lists(read: list[tuple[dt.date, int]], sums_up_to: int):
            monkeypatch.setattr(trends, "SQL_SUMS_UP_TO", sums_up_to)
            ranked = trends._ranked_runs(con, read, settings.scales, days[0][0], settings.min_total,
                                         lambda comparisons: rank_comparisons(comparisons, settings),
                                         DaySums(con, None))
            return pd.concat([empty_result(), *ranked], ignore_index=True)

        listed = significant = 0
        sums_up_to = trends.SQL_SUMS_UP_TO
        reads = [[day] for day in days[1:]] + [days[-2:], days[-9:-7]]  # each day alone, and two pairs
        for read in reads:
            assert len(read) * len(settings.scales) <= sums_up_to
            by_query = lists(read, sums_up_to)
            assert_frame_equal(by_query, lists(read, 0))
            listed += len(by_query)
            significant += int(by_query["significant"].sum())
    assert listed > 0 and significant > 0  # lists, and discoveries among them, were compared


def test_terms_sharing_a_hash_are_still_summed_apart_in_a_new_days_query(sample_warehouse, tmp_path, monkeypatch):
    """A new day's query finds the terms with enough papers by a 64-bit hash of the term first,
    then sums their rows by the term's text. Made to collide (a hash of five values, so every
    term shares it with thousands), the hash lets more terms through, and the lists are still
    those summed from each term's own rows."""
    from pandas.testing import assert_frame_equal

    from feed_assets.trends.significance import TrendSettings, empty_result, rank_comparisons
    from feed_assets.warehouse import trend_sums, trends
    from feed_assets.warehouse.trend_sums import DaySums

    shutil.copy(sample_warehouse / "feed.duckdb", tmp_path / "feed.duckdb")
    settings = TrendSettings()
    with duckdb.connect(str(tmp_path / "feed.duckdb")) as con:
        days = con.execute("select feed_date, new_papers from trend_day_totals order by 1").fetchall()
        assert con.execute(f"select count(distinct {trend_sums.TERM_HASH} % 5) from term_daily_counts"
                           ).fetchone()[0] == 5

        def lists(read: list[tuple[dt.date, int]], sums_up_to: int, term_hash: str):
            monkeypatch.setattr(trends, "SQL_SUMS_UP_TO", sums_up_to)
            monkeypatch.setattr(trend_sums, "TERM_HASH", term_hash)
            ranked = trends._ranked_runs(con, read, settings.scales, days[0][0], settings.min_total,
                                         lambda comparisons: rank_comparisons(comparisons, settings),
                                         DaySums(con, None))
            return pd.concat([empty_result(), *ranked], ignore_index=True)

        real_hash, colliding = trend_sums.TERM_HASH, f"({trend_sums.TERM_HASH}) % 5"
        sums_up_to = trends.SQL_SUMS_UP_TO
        listed = 0
        for read in [[day] for day in days[1:]]:
            by_rows = lists(read, 0, real_hash)
            assert_frame_equal(lists(read, sums_up_to, colliding), by_rows)
            listed += len(by_rows)
    assert listed > 0
