"""Crashes: the documented CLI backfill killed with SIGKILL in every step, one after another, then
run to the end, leaves every table equal to a clean run's, with no duplicate at any point."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import duckdb

from feed_assets.sample_data import generate_sample_inbox
from feed_assets.warehouse.publish import PUBLISHED_TABLES, QUERY_DATABASE
from feed_assets.warehouse.schema import TABLES
from feed_assets_tests.conftest import SAMPLE_DAYS, SAMPLE_END, SAMPLE_START

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DAGSTER = Path(sys.executable).parent / "dagster"
# every step of the job, in the order the in-process executor runs them
STEPS = ("raw_dumps", "parsed_entries", "papers", "daily_feed_stats", "term_daily_counts", "trending_terms",
         "term_bursts", "top_papers", "author_activity", "category_trends")
# versions and progress, and the last new day's trend sums: kept by a run of one day only
BOOKKEEPING = {"warehouse_writes", "table_changes", "reader_progress", "trend_term_sums"}
VOLATILE = {"raw_dumps": ("stored_at",), "fetch_log": ("fetched_at",)}


def backfill(data_dir: Path, home: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """The documented CLI backfill of the sample's days (``env``: more settings, a lake's say)."""
    return subprocess.Popen(
        [str(DAGSTER), "asset", "materialize", "-m", "feed_assets.definitions", "--select", "*",
         "--partition-range", f"{SAMPLE_START}...{SAMPLE_END}"],
        cwd=PROJECT_ROOT, env={**os.environ, **(env or {}), "FEED_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)


def kill_in_step(data_dir: Path, home: Path, step: str, delay: float, env: dict[str, str] | None = None) -> bool:
    """Start the backfill and SIGKILL it (and its parse workers) ``delay`` s after ``step`` starts;
    False if the run ended before."""
    process = backfill(data_dir, home, env)
    for line in process.stderr:
        if f" - {step} - STEP_START" in line:
            try:
                process.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                return True
            return False
    process.wait()
    return False


def tables(data_dir: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(data_dir / "feed.duckdb"), read_only=True) as con:
        return {name: con.execute(
            f"select * exclude ({', '.join(VOLATILE[name])}) from {name} order by all" if name in VOLATILE
            else f"select * from {name} order by all").fetchall()
            for name in TABLES if name not in BOOKKEEPING}


def duplicates(data_dir: Path) -> dict[str, int]:
    """Rows beyond the first for each natural key, per table (all zero in a sound warehouse). A
    kill before the first commit leaves a file without tables: nothing to duplicate."""
    with duckdb.connect(str(data_dir / "feed.duckdb"), read_only=True) as con:
        existing = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
        return {table.name: con.execute(f"""
            select coalesce(sum(copies - 1), 0) from (
                select count(*) as copies from {table.name} group by {', '.join(table.natural_key)})""").fetchone()[0]
            for table in TABLES.values()
            if table.natural_key and table.name != "fetch_log" and table.name in existing}


def test_a_backfill_killed_in_every_step_ends_equal_to_a_clean_run(tmp_path):
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    for folder in (clean, crashed):
        generate_sample_inbox(folder / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
        (folder / "home").mkdir()
    assert backfill(clean, clean / "home").wait() == 0
    expected = tables(clean)
    assert sum(len(rows) for rows in expected.values()) > 1000

    chance = random.Random(20241123)
    killed = []
    for step in STEPS:
        # a step that ended before its kill landed is tried again, killed sooner (steps of a
        # re-run can take a tenth of a second)
        delay = chance.uniform(0.0, 0.5)
        for attempt in range(3):
            if kill_in_step(crashed, crashed / "home", step, delay=delay / 4**attempt):
                killed.append(step)
                if (crashed / "feed.duckdb").exists():
                    assert set(duplicates(crashed).values()) <= {0}, step
                break
    assert len(killed) >= len(STEPS) - 2, killed  # a step may end before its kill lands, not most

    finishing = backfill(crashed, crashed / "home")
    finishing.stderr.read()
    assert finishing.wait() == 0
    assert tables(crashed) == expected
    assert set(duplicates(crashed).values()) == {0}
    with duckdb.connect(str(crashed / QUERY_DATABASE), read_only=True) as copy, \
            duckdb.connect(str(crashed / "feed.duckdb"), read_only=True) as warehouse:
        for table in PUBLISHED_TABLES:
            assert copy.execute(f"select count(*) from {table}").fetchone() == \
                warehouse.execute(f"select count(*) from {table}").fetchone(), table
