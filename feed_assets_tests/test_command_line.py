"""The commands the README documents, run as a user runs them: the Dagster CLI backfill and the summary."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from feed_assets.sample_data import generate_sample_inbox
from feed_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_END, SAMPLE_START

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_cli_backfill_of_a_range_is_one_run_and_repeatable(tmp_path):
    data_dir, home = tmp_path / "data", tmp_path / "dagster_home"
    home.mkdir()
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    # a user's environment: the partitions from the data folder (the tests' own settings left out)
    env = {**{key: value for key, value in os.environ.items() if key not in {"FEED_START_DATE", "FEED_END_DATE"}},
           "FEED_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)}

    span = run([sys.executable, "-m", "feed_assets.cli", "inbox-range"], env)
    assert span.stdout.strip() == f"{SAMPLE_START}...{SAMPLE_END}"

    command = [str(DAGSTER), "asset", "materialize", "-m", "feed_assets.definitions", "--select", "*",
               "--partition-range", span.stdout.strip()]
    first = run(command, env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stderr.count("RUN_SUCCESS") == 1
    with duckdb.connect(str(data_dir / "feed.duckdb"), read_only=True) as con:
        papers_first = con.execute("select * from papers order by paper_id").fetchall()
    assert len(papers_first) > 100

    second = run(command, env)
    assert second.returncode == 0, second.stderr[-3000:]
    with duckdb.connect(str(data_dir / "feed.duckdb"), read_only=True) as con:
        assert con.execute("select * from papers order by paper_id").fetchall() == papers_first

    summary = run([sys.executable, "-m", "feed_assets.cli", "summary"], env)
    assert summary.returncode == 0, summary.stderr
    assert "days loaded:      16" in summary.stdout
    assert f"papers:           {len(papers_first)}" in summary.stdout
    assert str(data_dir / "feed.duckdb") in summary.stdout

    example = summary.stdout.strip().splitlines()[-1].split("query ", 1)[1].strip('"')
    queried = run([sys.executable, "-m", "feed_assets.cli", "query", example], env)
    assert queried.returncode == 0, queried.stderr
    assert "new_papers" in queried.stdout and "2024-03-01" in queried.stdout
