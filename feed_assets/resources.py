"""Resources: where the feed's files live, the live feeds over HTTP, and the DuckDB warehouse."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import dagster as dg
import duckdb
import stamina
from pydantic import PrivateAttr

from feed_assets import settings
from feed_assets.sources.arxiv import DEFAULT_CATEGORIES, ArxivApi
from feed_assets.sources.http import HttpFetcher, RetryPolicy
from feed_assets.sources.huggingface import HuggingFaceDailyPapers
from feed_assets.sources.raw_store import RawStore
from feed_assets.trends.bursts import BurstModel
from feed_assets.trends.significance import TrendSettings, format_scales, parse_scales
from feed_assets.warehouse.catalog import LakeCatalog, connect_lake, parse_warehouse
from feed_assets.warehouse.connection import conflict_retries, drop_temporary_tables, prepare
from feed_assets.warehouse import parse_pool
from feed_assets.warehouse.lake_lock import LakeBusy, LakeWriterLock, commit_lock
from feed_assets.warehouse.memory import freeze_startup_objects, give_back_freed_memory
from feed_assets.warehouse.parse_pool import ParseAhead, StoredDump
from feed_assets.warehouse.publish import BackgroundPublisher, PublicationStats, publish_changes
from feed_assets.warehouse.writes import transaction

WAREHOUSE_FILE = "feed.duckdb"
# a block that commits several writes (a long range's batches of entries) publishes the query
# copy after a commit at most this often, and once more when the block ends: each month's
# file is then rewritten about once a publication, not once by each batch reaching into it
# (measured on ten synthetic years: 73 s of publishing in the entries' step, one after each of
# its 80 batches)
PUBLISH_EVERY_SECONDS = 30.0
# every asset and check that opens the warehouse is in this concurrency pool (see dagster.yaml)
WAREHOUSE_POOL = "warehouse"


class FeedStorage(dg.ConfigurableResource):
    """The feed's folder: ``inbox/YYYY-MM-DD/`` for dropped-in dumps, ``raw/`` for kept bytes."""

    data_dir: str

    @property
    def inbox_dir(self) -> Path:
        return Path(self.data_dir) / "inbox"

    @property
    def raw_store(self) -> RawStore:
        return RawStore(Path(self.data_dir) / "raw")


class DumpParsing(dg.ConfigurableResource):
    """A run's parsing of dumps across its steps: the dumps parsed ahead (``parse_ahead``), those
    a long run stored, parsed by a worker process while Dagster records the storing step's
    partitions, until the parsing step takes them (``ahead``); what is left is dropped, and its
    files removed, when the run's resources are torn down. (Not part of ``FeedStorage``: a
    resource with a teardown must be opened as a context manager, and the inbox sensor's
    tests build their context with the storage alone.)

    ``ahead_min_days``: the fewest days of a run (that also parses) whose dumps are parsed
    ahead; a shorter run parses them in its parsing step, and a very large number turns parsing
    ahead off. ``ahead_batch_bytes``: the raw bytes of dumps the worker parses into one file."""

    ahead_min_days: int = parse_pool.AHEAD_MIN_DAYS
    ahead_batch_bytes: int = parse_pool.BATCH_BYTES

    _in_run: bool = PrivateAttr(default=False)
    _ahead: ParseAhead | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._in_run = True

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def parses_ahead(self, run_days: int) -> bool:
        """Whether a run of ``run_days`` days parses its dumps ahead: a run of at least
        ``ahead_min_days`` (and only in a run, where the teardown removes what is left)."""
        return self._in_run and run_days >= self.ahead_min_days

    def parse_ahead(self, load: Callable[[str], bytes], dumps: Sequence[StoredDump]) -> int:
        """Start parsing ``dumps`` (just stored, their bytes read by ``load``) in the background,
        if ``parses_ahead`` said so of the run; how many dumps were handed over."""
        if not self._in_run or not dumps:
            return 0
        if self._ahead is None:
            self._ahead = ParseAhead(self.ahead_batch_bytes)
        return self._ahead.start(load, dumps)

    @property
    def ahead(self) -> ParseAhead | None:
        """What ``parse_ahead`` began, for the parsing step's ``DumpParser``."""
        return self._ahead


class HttpSettings(dg.ConfigurableResource):
    """Timeouts, deadlines, retry bounds, redirects and size limit shared by the HTTP sources.

    ``max_retry_seconds`` bounds a whole request (attempts, waits, redirects and a slowly
    dripping body); ``day_deadline_seconds`` bounds all the requests of one day of one source.
    """

    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 60.0
    max_attempts: int = 5
    max_retry_seconds: float = 120.0
    backoff_initial_seconds: float = 1.0
    backoff_max_seconds: float = 30.0
    max_body_bytes: int = 50 * 2**20
    max_redirects: int = 5
    day_deadline_seconds: float = 600.0

    def fetcher(self) -> HttpFetcher:
        """A fresh client with these settings (close it, or use it in a ``with``)."""
        return HttpFetcher(
            connect_timeout=self.connect_timeout_seconds, read_timeout=self.read_timeout_seconds,
            max_body_bytes=self.max_body_bytes, max_redirects=self.max_redirects,
            day_deadline_seconds=self.day_deadline_seconds,
            retry=RetryPolicy(attempts=self.max_attempts, total_seconds=self.max_retry_seconds,
                              wait_initial=self.backoff_initial_seconds, wait_max=self.backoff_max_seconds,
                              max_retry_after=self.max_retry_seconds),
        )


class HuggingFaceSource(HttpSettings):
    """The Hugging Face daily papers API."""

    base_url: str = settings.DEFAULT_HF_API_BASE_URL
    page_size: int = 100

    def api(self) -> HuggingFaceDailyPapers:
        return HuggingFaceDailyPapers(base_url=self.base_url, page_size=self.page_size)


class ArxivSource(HttpSettings):
    """The arXiv API, for a list of categories, paced as arXiv asks."""

    base_url: str = settings.DEFAULT_ARXIV_API_BASE_URL
    categories: list[str] = list(DEFAULT_CATEGORIES)
    page_size: int = 200
    min_interval_seconds: float = 3.0

    def api(self) -> ArxivApi:
        return ArxivApi(base_url=self.base_url, categories=tuple(self.categories), page_size=self.page_size,
                        min_interval_seconds=self.min_interval_seconds)


_TREND_DEFAULTS = TrendSettings()
_BURST_DEFAULTS = BurstModel()


class TrendSettingsResource(dg.ConfigurableResource):
    """How the rising-term lists are made: the time scales, the FDR level, support and list length.

    ``scales`` is ``name:window_days:baseline_days`` items joined by commas, from
    ``TREND_SCALES`` (default ``week:7:28,month:30:90,quarter:91:182``). ``burst_ratio`` and
    ``burst_gamma`` are the burst model's (``term_bursts``): a burst's rate over the term's
    baseline rate, and the cost of entering a burst in units of ln(365).
    """

    scales: str = format_scales(_TREND_DEFAULTS.scales)
    fdr: float = _TREND_DEFAULTS.fdr
    min_support: int = _TREND_DEFAULTS.min_support
    min_total: int = _TREND_DEFAULTS.min_total
    top_n: int = _TREND_DEFAULTS.top_n
    confidence: float = _TREND_DEFAULTS.confidence
    burst_ratio: float = _BURST_DEFAULTS.ratio
    burst_gamma: float = _BURST_DEFAULTS.gamma

    def burst_model(self) -> BurstModel:
        return BurstModel(ratio=self.burst_ratio, gamma=self.burst_gamma)

    def settings(self) -> TrendSettings:
        return TrendSettings(scales=parse_scales(self.scales), fdr=self.fdr, min_support=self.min_support,
                             min_total=self.min_total, top_n=self.top_n, confidence=self.confidence)


class FeedSources(dg.ConfigurableResource):
    """Which sources a run collects from (``inbox``, ``hf``, ``arxiv``), and the live ones' settings."""

    enabled: list[str]
    huggingface: HuggingFaceSource
    arxiv: ArxivSource


class WarehouseLockedError(RuntimeError):
    """Another process holds the warehouse; the message says which and what to do."""


class Warehouse(dg.ConfigurableResource):
    """The warehouse: the DuckDB file, or a DuckLake (``catalog``, from ``FEED_WAREHOUSE``).
    On the file one process writes at a time (DuckDB's lock); on a lake, runs write their
    days' dumps at the same time and one process at a time writes the shared tables (an
    advisory lock of its PostgreSQL catalog: ``warehouse/lake_lock.py``). A run that finds the
    file or that lock held waits up to ``lock_timeout_seconds`` (retrying with backoff), then
    fails with an error naming the process that holds it. Readers should use ``query.duckdb``
    instead, or attach the lake.

    In a run, the steps share one connection, opened by the first step that asks for it and
    closed when the run's resources are torn down, once the query copy's publication on it
    is done (``term_daily_counts`` reopens it: see ``connection``'s ``reopen_after``): its steps
    run one after another in one
    process (the definitions' executor), and opening the file and setting the session up
    cost some 30 ms a step. Each step still leaves it as it found it: its temporary tables
    are dropped, the file checkpointed and the memory it freed given back to the operating
    system (``warehouse/memory.py``) when its block on the run's connection ends, and after
    an error the connection is closed, so the next step opens a new one. Outside a run (a test calling an
    asset, a script) each block opens and closes its own. A run's last line in its log says
    what the query copy's publications cost it (``PublicationStats``).
    """

    database: str
    lock_timeout_seconds: float = 60.0
    # ``FEED_WAREHOUSE``: empty for the DuckDB file ``database``; ``ducklake:postgres:...`` puts
    # every table in a DuckLake instead, its data files under ``lake_data_path`` (warehouse/catalog.py)
    catalog: str = ""
    lake_data_path: str = ""
    _in_run: bool = PrivateAttr(default=False)
    _shared: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)
    _shared_lock: LakeWriterLock | None = PrivateAttr(default=None)
    _published_at: float = PrivateAttr(default=-math.inf)
    _unpublished: bool = PrivateAttr(default=False)
    _publisher: BackgroundPublisher | None = PrivateAttr(default=None)
    _publication_stats: PublicationStats = PrivateAttr(default_factory=PublicationStats)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._in_run = True
        freeze_startup_objects()  # the run's process: its collections walk only what the run makes
        self._publication_stats = PublicationStats()  # the run's own, not shared with a copy's

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        try:
            self._close_shared()
        finally:
            if self._publisher is not None:
                self._publisher.close()
                self._publisher = None
        if self._publication_stats.publications:
            # in the run's log: what the query copy cost the run (make bench reads it back)
            context.log.info(self._publication_stats.summary())

    @property
    def data_dir(self) -> Path:
        """The folder of the warehouse file, where the published query copy lives too."""
        return Path(self.database).parent

    @contextmanager
    def connection(self, hold: bool = True, shared_tables: bool = True,
                   reopen_after: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with every table in place (the folder is created if needed).

        ``hold=False``: a block after which the run must not hold the warehouse while it is not
        open yet (``raw_dumps`` reads what was fetched before, then fetches for minutes): it
        gets a connection of its own, closed when it ends. ``shared_tables=False``: the block
        writes only per-day tables (``raw_dumps``' dumps and fetch log), so on a DuckLake it does
        not wait for the writer lock of the shared tables, and another run writes its own days
        at the same time (it gets a connection of its own, unless the run holds one already).
        ``reopen_after=True``: the run's connection is closed when the block ends and opened
        again at once (some 30 ms on the file; the run keeps holding it but for that moment):
        for a step whose statements leave DuckDB holding memory that only closing the database
        gives back (``term_daily_counts``)."""
        if not self._in_run or (self._shared is None and not (hold and shared_tables)):
            con, lock = self._open(writer_lock=shared_tables)
            try:
                with self._publications(con):
                    yield con
            finally:
                _close(con, lock)
            return
        if self._shared is None:
            self._shared, self._shared_lock = self._open()
        try:
            with self._publications(self._shared, until_reopened=reopen_after):
                yield self._shared
        except BaseException as error:
            self._close_shared(publication_errors=False, failed_block=error)
            raise
        drop_temporary_tables(self._shared)
        if not self.catalog:
            # what the step wrote goes into the file now, as a close would have done: until a
            # checkpoint DuckDB holds it in memory too (a ten-year backfill ran out of its 1 GB).
            # A publication still running does not stop it: DuckDB 1.5.5 refuses a checkpoint
            # only while another transaction has updated rows, and a publication only deletes
            # and inserts its progress
            self._shared.execute("checkpoint")
        if reopen_after:
            self._close_shared()
        # the next step starts in this process with what this one freed given back
        give_back_freed_memory()
        if reopen_after:
            self._shared, self._shared_lock = self._open()
            if self._unpublished:  # on the new connection, while the next step goes on
                self._publish(self._shared)
                self._published_at = -math.inf  # the next block's first write publishes at once

    def _open(self, writer_lock: bool = True) -> tuple[duckdb.DuckDBPyConnection, LakeWriterLock | None]:
        """A prepared connection, and on a DuckLake the writer lock it holds until it closes
        (none with ``writer_lock=False``: for writes of per-day tables only)."""
        lake = parse_warehouse(self.catalog, self.lake_data_path)
        if lake is None:
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)
            return prepare(self._connect()), None
        lock = LakeWriterLock(lake.libpq) if writer_lock else None
        if lock is not None:
            try:
                lock.acquire(self.lock_timeout_seconds)
            except LakeBusy as error:
                raise WarehouseLockedError(
                    f"the lake {lake.metadata!r} is being written by another process and was not released within "
                    f"{self.lock_timeout_seconds:g} s: {error}. Readers may attach it read-only at any time; "
                    "writers of the shared tables take turns.") from error
        try:
            with self._commit_turn(lake):  # a new lake's tables are made by one process, the others see them
                return prepare(connect_lake(lake)), lock
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    @contextmanager
    def _commit_turn(self, lake: LakeCatalog) -> Iterator[duckdb.DuckDBPyConnection]:
        """The lake's commit lock for the block, with a connection of its own (outside any write
        transaction, so it sees every commit)."""
        try:
            with commit_lock(lake.libpq, self.lock_timeout_seconds):
                outside = connect_lake(lake)
                try:
                    yield outside
                finally:
                    outside.close()
        except LakeBusy as error:
            raise WarehouseLockedError(f"the lake {lake.metadata!r}: {error}; another process is committing. "
                                       "Run again.") from error

    def _close_shared(self, publication_errors: bool = True, failed_block: BaseException | None = None) -> None:
        """Close the run's connection, once the query copy's publication on it is done; its
        error is raised, unless ``publication_errors`` is false (the block failed already, with
        ``failed_block``, which then carries it as a note: the changes it did not publish stay
        in the change log, for the next publication)."""
        if self._shared is not None:
            con, lock, self._shared, self._shared_lock = self._shared, self._shared_lock, None, None
            try:
                if self._publisher is not None:
                    try:
                        self._publisher.wait()
                    except Exception as error:
                        if publication_errors:
                            raise
                        if failed_block is not None:
                            failed_block.add_note(f"The query copy's publication failed too: {error}")
            finally:
                _close(con, lock)

    @contextmanager
    def write(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction on ``con``: committed whole or rolled back whole; once committed,
        the query copy is brought up to date with it (the only place that publishes, ``_publish``:
        in a run on a thread of its own): at once, unless the block's last publication is less
        than ``PUBLISH_EVERY_SECONDS`` old, in which case when the ``connection`` block ends (or
        after a later write)."""
        lake = parse_warehouse(self.catalog, self.lake_data_path)
        with transaction(con, None if lake is None else partial(self._commit_turn, lake)):
            yield con
        if lake is not None:  # a DuckLake is read directly, by any number of processes: no copy
            return
        if time.monotonic() - self._published_at >= PUBLISH_EVERY_SECONDS:
            self._publish(con)
        else:
            self._unpublished = True

    @contextmanager
    def bookkeeping(self, con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction on ``con`` that changes no table the query copy holds and records
        no change for readers (a check's own progress): committed whole or rolled back whole, and
        nothing to publish, so it does not wait for a publication still running.
        ``papers_have_unique_ids`` on a new day of 30 days of history: 0.18-0.20 s a step through
        ``write``, 0.06-0.16 s so."""
        with transaction(con):
            yield con

    def _publish(self, con: duckdb.DuckDBPyConnection) -> None:
        """Bring the query copy up to date with what ``con`` committed. On the run's connection
        that is done on a thread of its own (``BackgroundPublisher``) while the run goes on: the
        next publication, and closing the connection (the run's end), wait for it. Elsewhere at
        once, after any publication still running (two at once would both move its progress)."""
        if self._in_run and con is self._shared:
            if self._publisher is None:
                self._publisher = BackgroundPublisher(self.data_dir, self._publication_stats)
            self._publisher.start(con)
        else:
            if self._publisher is not None:
                self._publisher.wait()
            if self._in_run:  # counted in the run's figures, all of it waited for
                self._publication_stats.publish(con, self.data_dir, run_waits=True)
            else:
                publish_changes(con, self.data_dir)
        self._published_at, self._unpublished = time.monotonic(), False

    @contextmanager
    def _publications(self, con: duckdb.DuckDBPyConnection, until_reopened: bool = False) -> Iterator[None]:
        """A ``connection`` block: when it ends, what it committed since its last publication is
        published, and the next block starts afresh (its first write publishes at once). After
        an error the commits not yet published are published by the next write, as after a crash.

        ``until_reopened``: a block whose connection is closed and opened again when it ends
        (``reopen_after``): its writes are published by ``connection`` once the connection is
        open again, so that the close does not wait for a publication just begun
        (``term_daily_counts``' month files: 0.3 s on P1; its one write commits at its end)."""
        if until_reopened:
            self._published_at = math.inf  # nothing published on this connection: see connection
        try:
            yield
            if self._unpublished and not until_reopened:
                self._publish(con)
        finally:
            self._published_at = -math.inf

    def write_retrying(self, work: Callable[[duckdb.DuckDBPyConnection], object], shared_tables: bool = True,
                       ) -> None:
        """``work(con)`` in one write transaction (``connection`` and ``write``), run again from the
        start when DuckLake reports that a commit of another process conflicts with it (both
        deleted rows of one data file), up to ``CONFLICT_ATTEMPTS`` times: nothing of a failed
        attempt stays, so no day is lost or written twice."""
        for attempt in conflict_retries():
            with attempt, self.connection(shared_tables=shared_tables) as con, self.write(con):
                work(con)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            for attempt in stamina.retry_context(on=_is_lock_conflict, attempts=None,
                                                 timeout=self.lock_timeout_seconds, wait_max=5.0):
                with attempt:
                    return duckdb.connect(self.database)
        except duckdb.IOException as error:
            if not _is_lock_conflict(error):
                raise
            raise WarehouseLockedError(
                f"the warehouse {self.database} is held by another process and was not released within "
                f"{self.lock_timeout_seconds:g} s: {_lock_holder(error)}. Close that connection (readers can "
                "query query.duckdb at any time instead) and run again.") from error
        raise AssertionError("unreachable")  # pragma: no cover


def _close(con: duckdb.DuckDBPyConnection, lock: LakeWriterLock | None) -> None:
    try:
        con.close()
    finally:
        if lock is not None:
            lock.release()


def _is_lock_conflict(error: Exception) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def _lock_holder(error: Exception) -> str:
    """DuckDB's own words on who holds the lock ("Conflicting lock is held in ... (PID n)")."""
    message = str(error)
    start = message.find("Conflicting lock")
    return message[start:].split(". See")[0].strip() if start >= 0 else message


def build_resources(data_dir: Path | None = None, sources: FeedSources | None = None,
                    ) -> dict[str, dg.ConfigurableResource]:
    """The project's resources for a data folder and sources (default: from the environment)."""
    folder = Path(data_dir) if data_dir else settings.data_dir()
    return {
        "storage": FeedStorage(data_dir=str(folder)),
        "parsing": DumpParsing(),
        "warehouse": Warehouse(database=str(folder / WAREHOUSE_FILE),
                               lock_timeout_seconds=settings.lock_timeout_seconds(),
                               catalog=settings.warehouse(), lake_data_path=settings.lake_data_path(folder)),
        "sources": sources or sources_from_environment(),
        "trend_settings": TrendSettingsResource(scales=settings.trend_scales()),
    }


def sources_from_environment() -> FeedSources:
    """``FEED_SOURCES``, ``HF_API_BASE_URL``, ``ARXIV_API_BASE_URL`` and ``ARXIV_CATEGORIES``, with defaults."""
    return FeedSources(
        enabled=settings.feed_sources(),
        huggingface=HuggingFaceSource(base_url=settings.hf_api_base_url()),
        arxiv=ArxivSource(base_url=settings.arxiv_api_base_url(),
                          categories=settings.arxiv_categories() or list(DEFAULT_CATEGORIES)),
    )
