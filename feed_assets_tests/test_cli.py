"""``feed-assets``, the console command, on the sample warehouse (built once per session)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from feed_assets.cli import DEFAULT_TABLE_ROWS, main
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
