"""The whole pipeline on a real Dagster instance and a real DuckDB file: the sample inbox end to end,
re-runs, day order, bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil

import dagster as dg
import pytest

from feed_assets_tests.conftest import SAMPLE_END, SAMPLE_START, Feed, days_not_loaded


def test_one_run_over_the_sample_days_fills_every_table(sample_feed: Feed):
    result = sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    assert result.success
    assert len(sample_feed.instance.get_runs()) == 1

    days = sample_feed.query("select count(distinct feed_date) from raw_dumps")[0][0]
    dumps = len(list(sample_feed.inbox.glob("*/*")))
    assert days == 16
    assert sample_feed.query("select count(*) from raw_dumps")[0][0] == dumps
    formats = {row[0] for row in sample_feed.query("select distinct format from raw_dumps")}
    assert formats == {"papers_page", "papers_page_metadata", "abstract_list", "hf_daily_papers", "arxiv_listing"}

    # every raw byte is kept under its content address
    for sha256, raw_path in sample_feed.query("select sha256, raw_path from raw_dumps"):
        assert raw_path == f"raw/{sha256[:2]}/{sha256}"
        assert hashlib.sha256((sample_feed.data_dir / raw_path).read_bytes()).hexdigest() == sha256

    # the planted duplicates are merged, each with the rule that explains it
    merged = dict(sample_feed.query(
        "select paper_id, match_rules from papers where n_appearances > 1 order by paper_id"))
    assert merged == {
        "arxiv:2403.00352": ["abstract_matches_titled", "arxiv_id"],
        "arxiv:2403.00528": ["arxiv_id"],
        "arxiv:2403.01316": ["arxiv_id", "title_matches_arxiv"],
        "arxiv:2403.01532": ["arxiv_id"],
        "arxiv:2403.01705": ["arxiv_id", "title_matches_arxiv"],
    }
    repeat = sample_feed.query(
        "select n_appearances, n_days, first_seen_date, last_seen_date, sources, max_upvotes "
        "from papers where paper_id = 'arxiv:2403.00528'")[0]
    assert repeat == (3, 2, dt.date(2024, 3, 4), dt.date(2024, 3, 11), ["arxiv", "huggingface"], 61)
    entries = sample_feed.query("select count(*) from paper_appearances")[0][0]
    papers = sample_feed.query("select count(*) from papers")[0][0]
    assert papers == entries - 6  # 3 appearances of one paper, 2 of four others

    # the malformed items are kept aside with a reason, and their days still loaded
    rejected = sample_feed.query("select feed_date, origin, location, reason from rejected_entries order by all")
    assert len(rejected) == 5
    assert ("2024-03-13/hf-daily-papers.json", "item 6") in {(r[1], r[2]) for r in rejected}
    assert all(r[3] for r in rejected)
    assert sample_feed.query(
        "select count(*) from paper_appearances where feed_date = '2024-03-13'")[0][0] > 0

    # stats add up to the tables they summarize
    stats = sample_feed.query(
        "select sum(entries), sum(rejected), sum(dumps), sum(new_papers) from daily_feed_stats")[0]
    assert stats == (entries, 5, dumps, papers + 1)  # 2403.00528 is new for both sources on 03-04


def test_the_papers_step_shows_the_merged_papers_its_run_rebuilt(sample_feed: Feed):
    day = dt.date(2024, 3, 11)
    assert sample_feed.materialize(SAMPLE_START, day - dt.timedelta(days=1)).success
    assert sample_feed.materialize(day).success
    merged = "(len(sources) > 1 or len(match_rules) > 1)"
    everywhere = {row[0] for row in sample_feed.query(f"select paper_id from papers where {merged}")}
    listed = {row[0] for row in sample_feed.query(
        f"select paper_id from papers where {merged} and paper_id in "
        "(select paper_id from paper_appearances where feed_date = ?)", [day])}
    assert listed and listed < everywhere  # the day's run rebuilt some merged papers, not all
    record = sample_feed.instance.fetch_materializations(dg.AssetKey("papers"), limit=1).records[0]
    shown = record.asset_materialization.metadata["merged_papers_rebuilt"].value
    assert {paper for paper in everywhere if paper in shown} == listed


def test_running_the_same_days_again_changes_nothing(sample_feed: Feed):
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    first = sample_feed.snapshot(exclude=())
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    sample_feed.materialize(dt.date(2024, 3, 7))
    assert sample_feed.snapshot(exclude=()) == first


def test_a_changed_file_is_a_new_dump_and_the_old_bytes_stay(sample_feed: Feed):
    day = dt.date(2024, 3, 5)
    sample_feed.materialize(day)
    (old_sha,) = sample_feed.query(
        "select sha256 from raw_dumps where origin = '2024-03-05/hf-daily-papers.json'")[0]
    path = sample_feed.inbox / "2024-03-05" / "hf-daily-papers.json"
    items = json.loads(path.read_text())
    path.write_text(json.dumps(items[:2]))
    sample_feed.materialize(day)
    (new_sha,) = sample_feed.query(
        "select sha256 from raw_dumps where origin = '2024-03-05/hf-daily-papers.json'")[0]
    assert new_sha != old_sha
    assert (sample_feed.data_dir / "raw" / old_sha[:2] / old_sha).exists()
    assert sample_feed.query(
        "select count(*) from paper_appearances where feed_date = ? and format = 'hf_daily_papers'", [day])[0][0] == 2


def test_an_unknown_file_leaves_its_day_as_it_was_names_it_and_the_other_days_load(sample_feed: Feed):
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    before = sample_feed.snapshot()
    (sample_feed.inbox / "2024-03-06" / "export.csv").write_text("id,title\n1,Some paper\n")
    result = sample_feed.materialize(dt.date(2024, 3, 5), dt.date(2024, 3, 6))
    message = days_not_loaded(result)
    assert "2024-03-06/export.csv" in message
    assert "not a known feed format" in message
    assert "2024-03-05" not in message  # the other day of the run loaded
    assert sample_feed.snapshot() == before


def test_an_empty_day_loads_as_nothing_and_clears_what_it_had(sample_feed: Feed):
    empty = dt.date(2024, 3, 20)
    (sample_feed.inbox / empty.isoformat()).mkdir()
    assert sample_feed.materialize(empty).success
    assert sample_feed.query("select count(*) from paper_appearances")[0][0] == 0

    day = dt.date(2024, 3, 4)
    sample_feed.materialize(day)
    assert sample_feed.query("select count(*) from papers")[0][0] > 0
    shutil.rmtree(sample_feed.inbox / day.isoformat())
    sample_feed.materialize(day)
    for table in ("raw_dumps", "paper_appearances", "papers", "daily_feed_stats"):
        assert sample_feed.query(f"select count(*) from {table}")[0][0] == 0, table


@pytest.mark.parametrize("day", [dt.date(2024, 3, 2)])
def test_a_weekend_with_an_empty_api_response_has_stats_and_no_entries(sample_feed: Feed, day):
    sample_feed.materialize(day)
    assert sample_feed.query("select source, dumps, entries, rejected from daily_feed_stats") == [
        ("huggingface", 1, 0, 0)]


def test_a_run_of_the_ingestion_assets_alone_runs_their_checks_only(sample_feed: Feed):
    job = sample_feed.defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=sample_feed.instance, partition_key=SAMPLE_START.isoformat(),
                                    asset_selection=[dg.AssetKey("raw_dumps")])
    assert result.success
    checks = {(e.asset_key.to_user_string(), e.check_name) for e in result.get_asset_check_evaluations()}
    assert ("raw_dumps", "days_were_loaded") in checks and ("raw_dumps", "rows_are_unique") in checks
    assert {asset for asset, _ in checks} == {"raw_dumps"}
    assert sample_feed.query("select count(*) from raw_dumps")[0][0] > 0


def _parse_run(feed: Feed, reparse_all: bool = False) -> dict:
    """Run the entries' step alone (it is not partitioned) and return what it says it parsed."""
    job = feed.defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=feed.instance, asset_selection=[dg.AssetKey("paper_appearances"), dg.AssetKey("rejected_entries")],
        run_config={"ops": {"parsed_entries": {"config": {"reparse_all": reparse_all}}}})
    assert result.success
    (event,) = [e for e in result.get_asset_materialization_events()
                if e.asset_key == dg.AssetKey("paper_appearances")]
    metadata = event.materialization.metadata
    return {key: metadata[key].value for key in ("days_parsed", "first_day_parsed", "last_day_parsed")}


def test_the_entries_step_parses_exactly_the_days_whose_dumps_changed(sample_feed: Feed):
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    assert _parse_run(sample_feed) == {"days_parsed": 0, "first_day_parsed": "", "last_day_parsed": ""}

    day = dt.date(2024, 3, 5)
    path = sample_feed.inbox / day.isoformat() / "hf-daily-papers.json"
    path.write_text(json.dumps(json.loads(path.read_text())[:2]))
    job = sample_feed.defs.resolve_implicit_global_asset_job_def()
    assert job.execute_in_process(instance=sample_feed.instance, partition_key=day.isoformat(),
                                  asset_selection=[dg.AssetKey("raw_dumps")]).success
    assert sample_feed.query(
        "select count(*) from paper_appearances where feed_date = ? and format = 'hf_daily_papers'", [day]
    )[0][0] > 2  # collected, not parsed yet
    assert _parse_run(sample_feed) == {"days_parsed": 1, "first_day_parsed": "2024-03-05",
                                       "last_day_parsed": "2024-03-05"}
    assert sample_feed.query(
        "select count(*) from paper_appearances where feed_date = ? and format = 'hf_daily_papers'", [day]
    )[0][0] == 2
    assert _parse_run(sample_feed)["days_parsed"] == 0


def test_reparsing_every_stored_day_changes_nothing(sample_feed: Feed):
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    before = sample_feed.snapshot()
    parsed = _parse_run(sample_feed, reparse_all=True)
    assert parsed == {"days_parsed": 16, "first_day_parsed": "2024-03-01", "last_day_parsed": "2024-03-16"}
    assert sample_feed.snapshot() == before


def test_each_day_of_a_range_run_shows_its_own_numbers(sample_feed: Feed):
    first, last = dt.date(2024, 3, 4), dt.date(2024, 3, 6)
    (sample_feed.inbox / last.isoformat() / "export.csv").write_text("id,title\n1,Some paper\n")
    sample_feed.materialize(first, last)
    records = sample_feed.instance.fetch_materializations(dg.AssetKey("raw_dumps"), limit=100).records
    events = {record.partition_key: record.asset_materialization.metadata for record in records}
    assert set(events) == {"2024-03-04", "2024-03-05", "2024-03-06"}
    for day, other in (("2024-03-04", "2024-03-05"), ("2024-03-05", "2024-03-04")):
        dumps, size = sample_feed.query(
            "select count(*), sum(size_bytes) from raw_dumps where feed_date = ?", [day])[0]
        assert events[day]["dagster/row_count"].value == dumps
        assert events[day]["bytes"].value == size
        assert events[day]["loaded"].value is True
        assert day in events[day]["preview"].value and other not in events[day]["preview"].value  # origins are dated
    assert events["2024-03-06"]["loaded"].value is False
    assert events["2024-03-06"]["dagster/row_count"].value == 0
    assert all(metadata["run_days"].value == "2024-03-04...2024-03-06" for metadata in events.values())


def test_papers_built_in_parts_equal_papers_built_at_once(sample_feed: Feed, sample_warehouse, monkeypatch):
    """A large rebuild of papers is split into ranges of the paper id to bound its memory: the
    sample built in parts of 40 appearances (6 parts) gives the papers of one part."""
    import duckdb

    from feed_assets.warehouse import derived

    monkeypatch.setattr(derived, "APPEARANCES_PER_PART", 40)
    assert sample_feed.materialize(SAMPLE_START, SAMPLE_END).success
    with duckdb.connect(str(sample_warehouse / "feed.duckdb"), read_only=True) as con:
        at_once = con.execute("select * from papers order by paper_id").fetchall()
    assert len(at_once) > 200
    assert sample_feed.query("select * from papers order by paper_id") == at_once


def test_dumps_parsed_ahead_while_dagster_records_the_days_give_the_same_tables(sample_feed: Feed, sample_warehouse):
    """A long run's dumps are parsed by a worker while Dagster records ``raw_dumps``' partitions
    (``ParseAhead``); here the sample's 16 days count as long (the ``parsing`` resource's
    config), in batches of 64 KiB."""
    import duckdb

    parsing = {"ahead_min_days": 1, "ahead_batch_bytes": 64 * 2**10}
    assert sample_feed.materialize(SAMPLE_START, SAMPLE_END, parsing=parsing).success
    handed = _metadata(sample_feed, "raw_dumps")["dumps_to_parse_ahead"].value
    taken = _metadata(sample_feed, "paper_appearances")["dumps_parsed_ahead"].value
    stored = sample_feed.query("select count(distinct (feed_date, sha256)) from raw_dumps")[0][0]
    assert handed == stored
    assert 0 < taken <= handed  # the batches the worker had begun when parsed_entries started
    compared = ("paper_appearances", "rejected_entries", "papers", "term_daily_counts")
    with duckdb.connect(str(sample_warehouse / "feed.duckdb"), read_only=True) as con:
        for table in compared:
            expected = con.execute(f"select * from {table} order by all").fetchall()
            assert len(expected) > 0 and sample_feed.query(f"select * from {table} order by all") == expected, table


def _metadata(feed: Feed, asset: str) -> dict:
    record = feed.instance.fetch_materializations(dg.AssetKey(asset), limit=1).records[0]
    return record.asset_materialization.metadata


def test_a_run_of_raw_dumps_alone_parses_nothing_ahead(sample_feed: Feed):
    """A backfill launched in the UI runs ``raw_dumps`` alone first: nothing in that run would
    take the parses."""
    assert sample_feed.materialize(SAMPLE_START, SAMPLE_END, parsing={"ahead_min_days": 1},
                                   assets=["raw_dumps"]).success
    assert _metadata(sample_feed, "raw_dumps")["dumps_to_parse_ahead"].value == 0
    assert sample_feed.query("select count(*) from raw_dumps")[0][0] > 0
