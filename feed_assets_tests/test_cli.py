"""``feed-assets``, the console command, on the sample warehouse (built once per session)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from feed_assets.cli import DEFAULT_TABLE_ROWS, main
from feed_assets.sample_data import EXPECTED_SAMPLE_WARNINGS
from feed_assets_tests.conftest import SAMPLE_END, SAMPLE_START


@pytest.fixture
def cli(sample_warehouse: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``feed-assets ARGS`` on the sample; returns click's result."""
    monkeypatch.setenv("FEED_DATA_DIR", str(sample_warehouse))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)
    return invoke


def expected(sample_warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(sample_warehouse / "query.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_csv_and_json_give_every_row_and_column(cli, sample_warehouse):
    sql = "select paper_id, title, authors, first_seen_date, max_upvotes from papers order by paper_id"
    rows = expected(sample_warehouse, sql)
    assert len(rows) > DEFAULT_TABLE_ROWS  # more than the table shows

    as_csv = cli("query", sql, "--csv")
    assert as_csv.exit_code == 0
    parsed = list(csv.reader(io.StringIO(as_csv.output)))
    assert parsed[0] == ["paper_id", "title", "authors", "first_seen_date", "max_upvotes"]
    assert [line[0] for line in parsed[1:]] == [row[0] for row in rows]
    assert [json.loads(line[2]) for line in parsed[1:]] == [row[2] for row in rows]
    assert [line[3] for line in parsed[1:]] == [row[3].isoformat() for row in rows]

    as_json = cli("query", sql, "--json")
    records = [json.loads(line) for line in as_json.output.splitlines()]
    assert [tuple(r.values()) for r in records] == [
        (r[0], r[1], r[2], r[3].isoformat(), r[4]) for r in rows]

    assert len(cli("query", sql, "--json", "--limit", "3").output.splitlines()) == 3


def test_the_table_shows_every_column_and_says_when_rows_are_left_out(cli, sample_warehouse):
    columns = [row[0] for row in expected(sample_warehouse, "select column_name from (describe papers)")]
    shown = cli("query", "select * from papers order by paper_id")
    assert shown.exit_code == 0
    header = shown.output.splitlines()[0].split()
    assert header == columns
    assert f"{DEFAULT_TABLE_ROWS} rows shown, more not shown" in shown.output

    everything = cli("query", "select paper_id from papers", "--all")
    total = expected(sample_warehouse, "select count(*) from papers")[0][0]
    assert everything.output.strip().endswith(f"{total} rows")
    assert cli("query", "select 1 as one where false").output.strip().endswith("0 rows")


def test_a_bad_query_is_an_error_message_not_a_traceback(cli):
    result = cli("query", "select nope")
    assert result.exit_code == 1
    assert "Error:" in result.output and "nope" in result.output and "Traceback" not in result.output
    assert cli("query", "select 1", "--all", "--limit", "2").exit_code == 2


def test_paper_tells_every_appearance_and_why_it_merged(cli, sample_warehouse):
    # a page entry without an id joined the arXiv paper by its title
    result = cli("paper", "arxiv:2403.01705")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Maris: A 5-Stage Pipeline for Theorem Proving" in lines[0]
    page, listing = [line for line in lines if line.startswith("2024-03-")]
    assert "papers_page" in page and "inbox:2024-03-06/papers-page.txt item 3" in page
    assert "title_matches_arxiv" in page and "same normalized title" in page and "arxiv_listing of 2024-03-12" in page
    assert "arxiv_listing" in listing and "same arXiv id" in listing

    # an abstract list entry (no title) joined by its abstract; an arXiv id or URL finds the paper too
    by_url = cli("paper", "https://arxiv.org/abs/2403.00352v2")
    assert by_url.exit_code == 0
    assert "abstract_matches_titled" in by_url.output and "as arxiv_listing of 2024-03-04" in by_url.output

    appearances = expected(sample_warehouse, "select count(*) from paper_appearances where paper_id = 'arxiv:2403.00528'")
    assert len([line for line in cli("paper", "2403.00528").output.splitlines()
                if line.startswith("2024-03-")]) == appearances[0][0] == 3


def test_an_unknown_paper_says_how_to_find_one(cli):
    result = cli("paper", "arxiv:2999.99999")
    assert result.exit_code == 1
    assert "no paper 'arxiv:2999.99999'" in result.output and "ilike" in result.output


def test_summary_and_inbox_range(cli, sample_warehouse):
    summary = cli("summary")
    assert summary.exit_code == 0
    papers = expected(sample_warehouse, "select count(*) from papers")[0][0]
    assert "days loaded:      16" in summary.output and f"papers:           {papers}" in summary.output
    assert cli("inbox-range").output.strip() == f"{SAMPLE_START}...{SAMPLE_END}"


def test_console_script_and_module_are_the_same_command(sample_warehouse):
    console = Path(sys.executable).parent / "feed-assets"
    assert console.exists(), "pip install -e . makes the feed-assets console script"
    env = {"FEED_DATA_DIR": str(sample_warehouse), "PATH": "/usr/bin:/bin"}
    by_script = subprocess.run([str(console), "inbox-range"], env=env, capture_output=True, text=True)
    by_module = subprocess.run([sys.executable, "-m", "feed_assets.cli", "inbox-range"], env=env,
                               capture_output=True, text=True)
    assert by_script.returncode == by_module.returncode == 0, by_script.stderr + by_module.stderr
    assert by_script.stdout == by_module.stdout == f"{SAMPLE_START}...{SAMPLE_END}\n"


def test_backfill_is_one_run_one_line_per_step_and_says_which_warnings_are_expected(
        sample_warehouse, tmp_path, monkeypatch):
    data_dir, home = tmp_path / "data", tmp_path / "dagster_home"
    shutil.copytree(sample_warehouse / "inbox", data_dir / "inbox")
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("FEED_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    result = CliRunner().invoke(main, ["backfill"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"materializing every asset for {SAMPLE_START}...{SAMPLE_END} in one run (the UI shows it)"
    assert any(line.endswith("raw_dumps done in " + line.split("raw_dumps done in ")[-1]) and "16 days" in line
               for line in lines if "raw_dumps done" in line)
    assert any("papers done" in line and "papers 204 rows" in line for line in lines)
    assert any("parsed_entries: batch 1 of 1: 16 day(s), 210 entries, 5 rejected" in line for line in lines)
    # the warehouse's line at the run's end (no step): what the query copy cost, with no empty step name
    assert any(line.split("] ", 1)[-1].startswith("  query copy: ") for line in lines), result.output
    assert not any(line.split("] ", 1)[-1].startswith("  : ") for line in lines), result.output
    assert "DEBUG" not in result.output and "Warning" not in result.output
    assert "checks: 16 passed, 2 warning(s), 0 error(s)" in lines
    for check, why in EXPECTED_SAMPLE_WARNINGS.items():
        index = next(i for i, line in enumerate(lines) if line.startswith(f"  warning: {check} on "))
        assert lines[index + 1] == f"    expected on the bundled sample: {why}"
    assert lines[-1].startswith("run ") and lines[-1].endswith(" succeeded")

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["dagster/asset_partition_range_start"] == str(SAMPLE_START)
    with duckdb.connect(str(data_dir / "feed.duckdb"), read_only=True) as con, \
            duckdb.connect(str(sample_warehouse / "feed.duckdb"), read_only=True) as sample:
        assert con.execute("select * from papers order by paper_id").fetchall() == \
            sample.execute("select * from papers order by paper_id").fetchall()


def test_backfill_says_so_when_the_runs_last_publication_of_the_query_copy_fails(
        sample_warehouse, tmp_path, monkeypatch):
    """The copy of the run's last write is published while the run ends; when that fails,
    Dagster still marks the run a success (a failed resource teardown), so the command says
    what failed and exits with an error; the next write publishes it."""
    from feed_assets.warehouse import publish

    data_dir = tmp_path / "data"
    shutil.copytree(sample_warehouse / "inbox", data_dir / "inbox")
    monkeypatch.setenv("FEED_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    copy_month = publish._copy_month

    def failing_bursts(cursor, table, column, month, path):  # term_bursts: the run's last write
        if table.endswith('"term_bursts"'):
            raise duckdb.IOException("No space left on device")
        copy_month(cursor, table, column, month, path)

    monkeypatch.setattr(publish, "_copy_month", failing_bursts)
    result = CliRunner().invoke(main, ["backfill"])
    assert result.exit_code == 1, result.output
    assert "wrote every table, but closing its resources failed" in result.output
    assert "No space left on device" in result.output and "query.duckdb may lag behind" in result.output


def test_backfill_refuses_days_it_cannot_run(cli):
    assert "is not a day or a range" in cli("backfill", "2024-03-xx").output
    assert "ends before it starts" in cli("backfill", "2024-03-05...2024-03-01").output
    refused = cli("backfill", "1999-01-01...1999-01-02")
    assert refused.exit_code == 2 and "1999-01-01 is not a partition" in refused.output
