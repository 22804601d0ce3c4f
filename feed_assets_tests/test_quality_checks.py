"""Quality gates on a real Dagster instance: blocking checks stop the trends, warnings are visible."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import duckdb

from feed_assets.assets.checks import UNIQUE_KEY_TABLES, rows_are_unique
from feed_assets.partitions import RANGE_START_TAG, range_tags
from feed_assets.warehouse.unique_ids import duplicate_keys
from feed_assets_tests.conftest import SAMPLE_END, SAMPLE_START, Feed

TREND_ASSETS = {"term_daily_counts", "trending_terms", "term_bursts", "top_papers", "author_activity",
                "category_trends"}


def check_results(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {evaluation.check_name: evaluation for evaluation in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def test_a_clean_run_passes_the_blocking_checks_and_warns_about_rejections(sample_feed: Feed):
    result = sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    checks = check_results(result)
    assert checks["papers_have_unique_ids"].passed
    assert checks["days_are_complete"].passed
    rejected = checks["no_rejected_entries"]
    assert not rejected.passed and rejected.severity == dg.AssetCheckSeverity.WARN
    assert rejected.metadata["rejected"].value == 5
    # the sample's item with neither title nor summary (2024-03-14) is also a schema warning
    assert checks["hf_items_have_the_known_fields"].metadata["expected_fields_missing"].value == {"title": 1}
    assert TREND_ASSETS <= materialized(result)


def test_a_duplicate_paper_id_stops_the_trends_and_says_why(sample_feed: Feed):
    sample_feed.materialize(SAMPLE_START, SAMPLE_END)
    with duckdb.connect(str(sample_feed.warehouse_path)) as con:
        con.execute("insert into papers select * from papers where paper_id = 'arxiv:2403.00528'")
    result = sample_feed.materialize(dt.date(2024, 3, 5), raise_on_error=False)
    check = check_results(result)["papers_have_unique_ids"]
    assert not check.passed and check.metadata["duplicate_ids"].value == 1
    assert "papers" in materialized(result)
    assert not (TREND_ASSETS & materialized(result))


def test_papers_ids_are_grouped_whole_once_then_only_those_written_since_unless_changed_by_hand(sample_feed: Feed):
    first = check_results(sample_feed.materialize(SAMPLE_START, SAMPLE_END))["papers_have_unique_ids"]
    assert first.passed and first.metadata["whole_table_checked"].value is True
    day = dt.date(2024, 3, 5)
    rerun = sample_feed.materialize(day)
    (papers,) = rerun.asset_materializations_for_node("papers")
    check = check_results(rerun)["papers_have_unique_ids"]
    assert check.passed and check.metadata["whole_table_checked"].value is False
    rebuilt = papers.metadata["papers_rebuilt"].value
    assert rebuilt > 0 and check.metadata["ids_checked"].value == f"{rebuilt} written since the last pass"

    # a paper_id changed by hand into another: the same number of rows, and neither id among
    # those the next run writes; the ids' fingerprint shows that something other than papers'
    # writes changed the table, so every id is grouped
    listed = "select paper_id from paper_appearances where feed_date = ?"
    (kept, changed), = sample_feed.query(f"select min(paper_id), max(paper_id) from papers where paper_id not in "
                                         f"({listed})", [day])
    with duckdb.connect(str(sample_feed.warehouse_path)) as con:
        con.execute("update papers set paper_id = ? where paper_id = ?", [kept, changed])
    result = sample_feed.materialize(day, raise_on_error=False)
    check = check_results(result)["papers_have_unique_ids"]
    assert not check.passed and check.metadata["duplicate_ids"].value == 1
    assert check.metadata["whole_table_checked"].value is True and kept in check.metadata["examples"].value
    assert not (TREND_ASSETS & materialized(result))


def hf_day(folder, day: dt.date, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    items = [{"paper": {"id": f"{day:%y%m}.{day.day:02d}{i:03d}", "title": f"Paper {day} number {i}",
                        "summary": f"About {day} and {i}.", "authors": [], "upvotes": 1},
              "title": "t", "numComments": 0, "publishedAt": "2024-01-01T00:00:00.000Z"} for i in range(count)]
    (folder / "hf.json").write_text(json.dumps(items))


def test_a_partial_day_is_a_blocking_failure_and_a_weekend_is_not(feed: Feed):
    start = dt.date(2024, 1, 1)
    for offset in range(35):
        day = start + dt.timedelta(days=offset)
        hf_day(feed.inbox / day.isoformat(), day, 0 if day.isoweekday() > 5 else 20)
    assert feed.materialize(start, start + dt.timedelta(days=34)).success

    partial = dt.date(2024, 2, 5)  # a Monday
    hf_day(feed.inbox / partial.isoformat(), partial, 2)
    result = feed.materialize(partial, raise_on_error=False)
    check = check_results(result)["days_are_complete"]
    assert not check.passed
    assert "look partial" in check.description
    assert not (TREND_ASSETS & materialized(result))

    saturday = dt.date(2024, 2, 10)
    hf_day(feed.inbox / saturday.isoformat(), saturday, 0)
    assert check_results(feed.materialize(saturday))["days_are_complete"].passed

    # a backfill of more than a week meets real quiet days (holidays): it warns and goes on
    backfill = feed.materialize(partial - dt.timedelta(days=7), partial)
    check = check_results(backfill)["days_are_complete"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert backfill.success and TREND_ASSETS <= materialized(backfill)


def test_schema_drift_and_page_dates_are_warnings(feed: Feed):
    day = dt.date(2024, 3, 5)
    folder = feed.inbox / day.isoformat()
    hf_day(folder, day, 3)
    items = json.loads((folder / "hf.json").read_text())
    items[0]["brandNewField"] = 1
    del items[1]["numComments"]
    (folder / "hf.json").write_text(json.dumps(items))
    (folder / "page.txt").write_text(
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nbyAK and the research community\n\n"
        "Mar 4\n\nA title\n\nAn abstract.\n")
    result = feed.materialize(day)
    checks = check_results(result)
    drift = checks["hf_items_have_the_known_fields"]
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.WARN
    assert drift.metadata["new_fields"].value == ["brandNewField"]
    assert drift.metadata["expected_fields_missing"].value == {"numComments": 1}
    page = checks["page_dates_match_feed_dates"]
    assert not page.passed and page.metadata["mismatched_dumps"].value == 1
    assert result.success  # warnings never stop a run


def test_a_duplicated_row_is_caught_by_its_tables_unique_key_check(sample_feed: Feed):
    assert sample_feed.materialize(SAMPLE_START, SAMPLE_END).success
    with duckdb.connect(str(sample_feed.warehouse_path)) as con:
        for table in ("paper_appearances", "term_daily_counts"):
            con.execute(f"insert into {table} select * from {table} where feed_date = '2024-03-05' limit 1")
    checks_only = dg.define_asset_job("unique_keys", selection=dg.AssetSelection.checks(rows_are_unique))
    job = dg.Definitions.merge(sample_feed.defs, dg.Definitions(jobs=[checks_only])).resolve_job_def("unique_keys")
    result = job.execute_in_process(instance=sample_feed.instance, tags=range_tags("2024-03-04", "2024-03-06"))
    unique = {evaluation.asset_key.to_user_string(): evaluation for evaluation in result.get_asset_check_evaluations()}
    assert set(unique) == set(UNIQUE_KEY_TABLES)
    assert {table for table, evaluation in unique.items() if not evaluation.passed} == {
        "paper_appearances", "term_daily_counts"}
    assert unique["paper_appearances"].metadata["duplicate_keys"].value == 1


def test_checks_in_the_second_run_of_a_ui_backfill_look_at_the_days_it_parsed(sample_feed: Feed):
    """The UI's Materialize dialog turns a range into an asset backfill of two runs: raw_dumps
    over the range, then the unpartitioned assets and their checks in a run without days. The
    checks of that second run look at the days it parsed, not at no day at all."""
    first, last = dt.date(2024, 3, 12), dt.date(2024, 3, 14)
    job = sample_feed.defs.resolve_implicit_global_asset_job_def()
    collected = job.execute_in_process(instance=sample_feed.instance, asset_selection=[dg.AssetKey("raw_dumps")],
                                       tags=range_tags(first, last))
    assert check_results(collected)["hf_items_have_the_known_fields"].metadata["days_checked"].value == \
        "2024-03-12...2024-03-14"
    rest = [key for key in job.asset_layer.executable_asset_keys if key != dg.AssetKey("raw_dumps")]
    derived = job.execute_in_process(instance=sample_feed.instance, asset_selection=rest)
    assert RANGE_START_TAG not in derived.dagster_run.tags
    checks = check_results(derived)
    for name in ("days_are_complete", "no_rejected_entries", "page_dates_match_feed_dates"):
        assert checks[name].metadata["days_checked"].value == "2024-03-12...2024-03-14", name
    (rejected,) = sample_feed.query("select count(*) from rejected_entries where feed_date between ? and ?",
                                    [first, last])[0]
    assert rejected > 0 and checks["no_rejected_entries"].metadata["rejected"].value == rejected
    assert not checks["no_rejected_entries"].passed


def test_duplicate_keys_finds_only_keys_repeated_within_the_rows_asked_about():
    """The hash pre-count sends every repeated key to the exact grouping, and only those rows."""
    con = duckdb.connect()
    con.execute("create table t (day date, kind varchar, term varchar)")
    con.execute("""insert into t values ('2024-01-01', 'text', 'a'), ('2024-01-01', 'text', 'b'),
                   ('2024-01-02', 'text', 'a'), ('2024-01-02', 'text', 'a'), ('2024-01-02', 'text', 'a'),
                   ('2024-01-03', 'text', 'c'), ('2024-01-03', 'text', 'c'),
                   ('2024-01-03', null, 'd'), ('2024-01-03', null, 'd')""")
    key = ("day", "kind", "term")
    assert duplicate_keys(con, "t", key, "day = ?", [dt.date(2024, 1, 1)]).empty
    found = duplicate_keys(con, "t", key)
    assert [(str(row.day.date()), row.kind if isinstance(row.kind, str) else None, row.term, row.copies)
            for row in found.itertuples()] == [("2024-01-02", "text", "a", 3), ("2024-01-03", "text", "c", 2),
                                               ("2024-01-03", None, "d", 2)]
    assert len(duplicate_keys(con, "t", key, examples=1)) == 1
    assert list(duplicate_keys(con, "t", ("term",), "day = ?", [dt.date(2024, 1, 1)]).columns) == ["term", "copies"]
