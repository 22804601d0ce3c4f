"""Shared fixtures: a temporary feed folder, a real Dagster instance, and a one-run range materialize."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

# The daily partitions are made when feed_assets is imported, from the project's data folder
# (its first and last inbox day, 2024-03-01...2024-03-16) unless FEED_START_DATE and
# FEED_END_DATE say otherwise; the tests' own feed folders hold days from 2024-01-01 to today,
# so the partitions run from there to today (set before the first import). A test that needs
# the defaults runs its process without them (test_partition_range.py, the CLI, the browser).
os.environ.setdefault("FEED_START_DATE", "2024-01-01")
os.environ.setdefault("FEED_END_DATE", "today")

import dagster as dg  # noqa: E402
import duckdb  # noqa: E402
import pytest  # noqa: E402

from feed_assets.definitions import build_definitions  # noqa: E402
from feed_assets.partitions import range_tags  # noqa: E402
from feed_assets.resources import WAREHOUSE_FILE, ArxivSource, FeedSources, HuggingFaceSource  # noqa: E402
from feed_assets.sample_data import generate_sample_inbox  # noqa: E402

SHARED_DIR = Path(__file__).resolve().parents[2] / "shared"
SAMPLE_START = dt.date(2024, 3, 1)
SAMPLE_DAYS = 16
SAMPLE_END = SAMPLE_START + dt.timedelta(days=SAMPLE_DAYS - 1)

# the tables a user queries, with the columns that order their rows completely
TABLE_ORDER = {
    "raw_dumps": "feed_date, channel, origin",
    "paper_appearances": "appearance_id",
    "rejected_entries": "feed_date, dump_sha256, location",
    "papers": "paper_id",
    "daily_feed_stats": "feed_date, source",
}


def inbox_only() -> FeedSources:
    """Sources for an offline feed: the inbox alone."""
    return FeedSources(enabled=["inbox"], huggingface=HuggingFaceSource(), arxiv=ArxivSource())


class Feed:
    """A feed folder with its own warehouse and Dagster instance, and ways to run and read it."""

    def __init__(self, data_dir: Path, instance: dg.DagsterInstance, sources: FeedSources | None = None):
        self.data_dir = data_dir
        self.instance = instance
        self.defs = build_definitions(data_dir, sources or inbox_only())

    @property
    def inbox(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / WAREHOUSE_FILE

    def materialize(self, start: dt.date, end: dt.date | None = None, raise_on_error: bool = True,
                    refetch: bool = False, parsing: dict | None = None, assets: list[str] | None = None):
        """Materialize every asset (or only ``assets``) for the days ``start``..``end`` in one run,
        as a backfill does; ``parsing`` configures the run's ``parsing`` resource."""
        end = end or start
        job = self.defs.resolve_implicit_global_asset_job_def()
        run_config: dict = {}
        if not assets or "raw_dumps" in assets:
            run_config["ops"] = {"raw_dumps": {"config": {"refetch": refetch}}}
        if parsing:
            run_config["resources"] = {"parsing": {"config": parsing}}
        return job.execute_in_process(
            instance=self.instance,
            tags=range_tags(start, end),
            run_config=run_config,
            asset_selection=[dg.AssetKey(asset) for asset in assets] if assets else None,
            raise_on_error=raise_on_error,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def snapshot(self, exclude: tuple[str, ...] = ("stored_at",)) -> dict[str, list[tuple]]:
        """Every user-facing table, fully ordered (load timestamps left out)."""
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            tables = {}
            for table, order in TABLE_ORDER.items():
                columns = f"* exclude ({', '.join(exclude)})" if table == "raw_dumps" and exclude else "*"
                tables[table] = con.execute(f"select {columns} from {table} order by {order}").fetchall()
            return tables


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    """A Dagster instance for the runs a test makes in its own process: Dagster's in-memory
    storage of runs, events and schedules (the real machinery; the events of a run are not
    written to SQLite files). A day's run of the sample took 1.5-2.1 s on it against 2.1-2.9 s on
    ``instance_for_test``'s SQLite files in /dev/shm (2026-12-07). Tests of what a process leaves
    for others (the CLI, the webserver, the daemon, PostgreSQL) make instances of their own."""
    with dg.DagsterInstance.ephemeral() as test_instance:
        yield test_instance


@pytest.fixture
def feed(tmp_path: Path, instance: dg.DagsterInstance) -> Feed:
    """An empty feed folder (no inbox days yet)."""
    data_dir = tmp_path / "data"
    (data_dir / "inbox").mkdir(parents=True)
    return Feed(data_dir, instance)


@pytest.fixture
def sample_feed(feed: Feed) -> Feed:
    """A feed folder holding the bundled sample inbox, generated afresh."""
    generate_sample_inbox(feed.inbox, start=SAMPLE_START, days=SAMPLE_DAYS)
    return feed


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample loaded once per session, in one run, as ``make run`` loads it: its data
    folder (``inbox/``, ``feed.duckdb``, ``query.duckdb``, ``published/``). Read it; a test that
    writes copies it first."""
    root = tmp_path_factory.mktemp("sample_warehouse")
    data_dir = root / "data"
    generate_sample_inbox(data_dir / "inbox", start=SAMPLE_START, days=SAMPLE_DAYS)
    with dg.DagsterInstance.ephemeral() as test_instance:
        assert Feed(data_dir, test_instance).materialize(SAMPLE_START, SAMPLE_END).success
    return data_dir


SLOW_MODULES = {"test_command_line", "test_ui_browser", "test_concurrent_access", "test_http_replay_shared",
                "test_crash_recovery", "test_term_sql", "test_benchmark"}


# the longest test files, longest first (from about 3 minutes down to 40 s on 2 cores, in the
# suite of 2026-12-07 with its in-memory instances): they start first, so that the workers of
# ``make test`` (one file at a time each) finish together instead of one of them starting a
# long file when the others are almost done (the Makefile keeps this order:
# ``--no-loadscope-reorder``)
LONGEST_MODULES = ("test_ducklake", "test_ui_browser", "test_trend_assets", "test_crash_recovery", "test_pipeline",
                   "test_quality_checks", "test_trend_bursts", "test_warehouse_order_independence",
                   "test_trend_quality", "test_http_sources")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark as ``slow`` every test that runs the pipeline on a Dagster instance (it uses the
    ``feed`` or ``sample_warehouse`` fixture) or drives a whole process: ``make test-fast``
    leaves them out. Then put the longest files first (the order within a file is kept)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & {"feed", "sample_warehouse"} or _module(item) in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
    first = {name: rank for rank, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: first.get(_module(item), len(first)))


def _module(item: pytest.Item) -> str:
    return item.module.__name__.split(".")[-1]


def days_not_loaded(result, asset: str = "raw_dumps") -> str:
    """What the run's ``days_were_loaded`` check says of ``asset``: the days left as they were,
    and why ("" when every day loaded)."""
    (evaluation,) = [e for e in result.get_asset_check_evaluations()
                     if e.check_name == "days_were_loaded" and e.asset_key.to_user_string() == asset]
    return "" if evaluation.passed else evaluation.metadata["why"].value


# the real PostgreSQL and S3 servers of the DuckLake tests (test_ducklake.py)
from feed_assets_tests.lake_servers import lake_environ, postgres_server, s3_server  # noqa: E402, F401
