"""The Dagster definitions load; only per-day data is daily-partitioned; every asset is backfillable
in one run and documented."""

from __future__ import annotations

import dagster as dg

from feed_assets.definitions import defs

EXPECTED_ASSETS = {"raw_dumps", "paper_appearances", "rejected_entries", "papers", "daily_feed_stats",
                   "term_daily_counts", "trending_terms", "term_bursts", "top_papers", "paper_attention",
                   "author_activity", "category_trends"}


def test_definitions_load_with_every_asset_job_schedule_sensor_and_check():
    defs.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert keys == EXPECTED_ASSETS
    assert defs.resolve_job_def("daily_feed_job").partitions_def is not None
    schedule = defs.resolve_schedule_def("daily_feed_schedule")
    assert schedule.cron_schedule == "0 6 * * *" and schedule.job_name == "daily_feed_job"
    assert defs.resolve_sensor_def("inbox_sensor").job_name == "daily_feed_job"
    checks = {(key.name, key.asset_key.to_user_string()) for key in defs.resolve_asset_graph().asset_check_keys}
    assert checks == {
        ("papers_have_unique_ids", "papers"), ("days_are_complete", "paper_appearances"),
        ("no_rejected_entries", "rejected_entries"), ("page_dates_match_feed_dates", "paper_appearances"),
        ("hf_items_have_the_known_fields", "raw_dumps"), ("sources_are_not_empty_on_weekdays", "daily_feed_stats"),
        ("days_were_loaded", "raw_dumps"), ("days_were_loaded", "paper_appearances"),
        *(("rows_are_unique", table) for table in (
            "raw_dumps", "paper_appearances", "daily_feed_stats", "term_daily_counts", "trending_terms",
            "term_bursts", "top_papers", "paper_attention", "author_activity", "category_trends")),
    }


# what a run is launched for, day by day: collecting the day's dumps. The entries parsed from
# them pull the days that changed, so a range costs Dagster's bookkeeping one key, not three.
PARTITIONED_ASSETS = {"raw_dumps"}


def test_only_collecting_is_partitioned_and_every_asset_is_single_run_and_documented():
    for assets_def in defs.resolve_all_asset_specs():
        if assets_def.key.to_user_string() in PARTITIONED_ASSETS:
            assert isinstance(assets_def.partitions_def, dg.DailyPartitionsDefinition), assets_def.key
        else:
            assert assets_def.partitions_def is None, assets_def.key
        assert assets_def.description, f"{assets_def.key} has no description"
        assert assets_def.group_name in {"ingestion", "warehouse", "trends"}, assets_def.key
    for assets_def in defs.assets:
        assert assets_def.backfill_policy == dg.BackfillPolicy.single_run(), assets_def.key
        assert set(assets_def.op.pool and [assets_def.op.pool] or []) == {"warehouse"}, assets_def.key


def test_lineage_runs_from_raw_bytes_to_stats():
    graph = defs.resolve_asset_graph()
    upstream = {key.to_user_string(): {p.to_user_string() for p in graph.get(key).parent_keys}
                for key in graph.get_all_asset_keys()}
    assert upstream["paper_appearances"] == {"raw_dumps"}
    assert upstream["rejected_entries"] == {"raw_dumps"}
    assert upstream["papers"] == {"paper_appearances"}
    assert upstream["daily_feed_stats"] == {"papers", "rejected_entries", "raw_dumps"}
    assert upstream["trending_terms"] == {"term_daily_counts"}
    assert upstream["term_bursts"] == {"trending_terms", "term_daily_counts"}
    assert upstream["term_daily_counts"] == {"papers", "paper_appearances"}


def test_every_table_asset_shows_its_columns_as_described_in_duckdb():
    import duckdb

    from feed_assets.warehouse.connection import prepare

    con = prepare(duckdb.connect())
    comments = {(table, column): comment for table, column, comment in con.execute(
        "select table_name, column_name, comment from duckdb_columns()").fetchall()}
    for spec in defs.resolve_all_asset_specs():
        schema = spec.metadata["dagster/column_schema"]
        table = spec.key.to_user_string()
        columns = [name for (t, name) in comments if t == table]
        assert [column.name for column in schema.columns] == columns, table
        for column in schema.columns:
            assert column.description and comments[(table, column.name)] == column.description, (table, column.name)
            # the catalog renders descriptions as markdown, where <...> would vanish as a tag
            assert not {"<", ">"} & set(column.description), (table, column.name)


def test_a_warehouse_connection_draws_no_progress_bar_on_a_steps_output(capfd):
    import duckdb

    from feed_assets.warehouse.connection import prepare

    con = duckdb.connect()
    con.execute("set progress_bar_time = 0")  # DuckDB's bar, for any statement
    prepare(con)
    capfd.readouterr()
    assert con.execute("select count(*) from range(20000000) t(i) where i % 7 = 3").fetchone()[0] == 2857143
    assert capfd.readouterr().out == ""
