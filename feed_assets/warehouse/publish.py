"""The published query copy: the tables users query, as Parquet files readers can open at any time.

DuckDB lets no other process open ``feed.duckdb`` while a run writes it, so every table a
user queries is also published under ``$FEED_DATA_DIR/published/<table>/<YYYY-MM>.parquet``
(one file per month of the table's day column) and ``$FEED_DATA_DIR/query.duckdb`` holds one
view per table over its files. Any number of processes may open ``query.duckdb`` read-only,
during runs too.

The copy is published from one place: ``publish_changes``, which the warehouse resource
calls right after a write commits (in a block of several writes, such as a long range's
batches of entries, at most every ``PUBLISH_EVERY_SECONDS`` and once more when the block
ends: ``resources.Warehouse.write``); in a run, on a thread of its own while the run goes on
(``BackgroundPublisher``). It is a reader of the change log like any derived
table: it rewrites the month files of exactly the days whose rows changed since it last
published, with one ``COPY`` per month file, so a long backfill's copy advances
as its writes commit, and a day's run costs what its month holds, whatever the history. Files
are a month, not a day, because a file costs about half a millisecond to write whatever it
holds: ten years of a table are 120 month files instead of 3,650 day files. A crash
before it runs leaves the changes pending for the next write.

- A month's file is written beside its final name and renamed over it: a reader sees the
  whole old month or the whole new month, never half of a day. A reader that already opened
  the old file keeps reading it (POSIX rename semantics), so no file vanishes mid-query.
- A month that becomes empty is published as an empty file, never deleted, for the same reason.
- ``query.duckdb`` itself is built beside its final name and renamed over it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from feed_assets.warehouse.changes import pull
from feed_assets.warehouse.schema import TABLES, sql_string
from feed_assets.warehouse.writes import transaction

PUBLISHED_TABLES: tuple[str, ...] = (
    "raw_dumps", "paper_appearances", "rejected_entries", "papers", "daily_feed_stats", "fetch_log",
    "trend_day_totals", "term_daily_counts", "trending_terms", "term_bursts", "top_papers", "paper_attention",
    "author_activity", "category_trends",
)
QUERY_DATABASE = "query.duckdb"
PUBLISHED_DIR = "published"
SCHEMA_FILE = "_schema.parquet"  # zero rows: keeps a table queryable before any day is published
READER = "query_copy"
# month files written at once, each by a connection of its own (``_publish_months``). Two at
# once wrote ten synthetic years' copy about 30 % faster; the P3 backfill then peaked at
# 1,883-2,104 MiB, so it was set back to one, but one peaked at 2,215 MiB too (2026-12-06, 10:47).
# The peaks were in trending_terms, over memory the term statements left in DuckDB (given
# back since by reopening the connection after term_daily_counts: Warehouse.connection's
# reopen_after); two at once has not been measured again on that code
PUBLISH_THREADS = 1


def published_dir(data_dir: Path) -> Path:
    return Path(data_dir).resolve() / PUBLISHED_DIR


def glob_literal(path: Path) -> str:
    """``path`` with the glob characters ``* ? [`` escaped, for a DuckDB file pattern."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in str(path))


def publish_changes(con: duckdb.DuckDBPyConnection, data_dir: Path) -> int:
    """Rewrite the published month files of every day changed since the last publication;
    returns the files written. Call it after a write has committed, outside any transaction."""
    root = published_dir(data_dir)
    with transaction(con):
        changes = pull(con, READER, PUBLISHED_TABLES)
        changed = changes.changed(con)
        to_write: dict[str, list[dt.date]] = {}
        legacy_files: list[Path] = []
        for table in PUBLISHED_TABLES:
            column = TABLES[table].day_column
            legacy = _day_files(root / table)
            if table not in changed and not legacy:
                continue
            if table in changes.whole or legacy:  # every month it has, and every month published before
                months_sql = f"select distinct date_trunc('month', {column})::date from {table} where {column} is not null"
                months = {row[0] for row in con.execute(months_sql).fetchall()} | set(published_months(root / table))
            else:
                months = {row[0] for row in con.execute(
                    f"select distinct date_trunc('month', day)::date from ({changes.days(table)})").fetchall()}
            if months:
                to_write[table] = sorted(months)
            legacy_files += legacy
        written = _publish_months(con, root, to_write)
        for path in legacy_files:  # a day file of an older layout: its rows are in its month's file now
            path.unlink(missing_ok=True)
        changes.done(con)
    _ensure_query_database(con, Path(data_dir).resolve() / QUERY_DATABASE, root)
    return written


class PublicationError(RuntimeError):
    """A publication of the query copy failed (the warehouse's commits stand)."""


@dataclass
class PublicationStats:
    """What a run's publications of the query copy cost: how many there were, the month files
    they wrote, the seconds they took (on the publisher's thread; on the run's own for a
    block with a connection of its own, such as ``raw_dumps``'), and the seconds the run stood
    waiting for them (before the next, or before closing its connection). The copy costs the
    run wall time only through that wait, and through the cores its ``COPY``s keep busy
    meanwhile."""

    publications: int = 0
    files: int = 0
    seconds: float = 0.0
    waited_seconds: float = 0.0

    def publish(self, con: duckdb.DuckDBPyConnection, data_dir: Path, run_waits: bool) -> int:
        """``publish_changes``, counted: its files and seconds, and those seconds as waited
        for when the run waits for all of it (``run_waits``: not on the publisher's thread)."""
        began = time.perf_counter()
        files = publish_changes(con, data_dir)
        seconds = time.perf_counter() - began
        self.publications += 1
        self.files += files
        self.seconds += seconds
        if run_waits:
            self.waited_seconds += seconds
        return files

    def summary(self) -> str:
        """One line for the run's log (``make bench`` reads its figures back: ``from_summary``)."""
        return (f"query copy: {self.publications} publication(s), {self.files} month file(s) written "
                f"in {self.seconds:.3f} s; the run waited {self.waited_seconds:.3f} s for them")

    @classmethod
    def from_summary(cls, text: str) -> PublicationStats | None:
        """The figures of a ``summary`` line (None if ``text`` is not one)."""
        found = _SUMMARY.fullmatch(text.strip())
        if found is None:
            return None
        return cls(int(found["publications"]), int(found["files"]), float(found["seconds"]), float(found["waited"]))


_SUMMARY = re.compile(r"query copy: (?P<publications>\d+) publication\(s\), (?P<files>\d+) month file\(s\) written "
                      r"in (?P<seconds>[\d.]+) s; the run waited (?P<waited>[\d.]+) s for them")


class BackgroundPublisher:
    """Publishes on a thread of its own, one publication at a time, so that a run's next step
    goes on while the copy of the last one's commits is written (``resources.Warehouse`` in a
    run). Each publication runs ``publish_changes`` on a cursor of the connection it is given:
    its own transaction, which sees every commit made before it started.

    ``start`` first waits for the publication before it; ``wait`` waits for the last one. Either
    raises the error a publication ended with, so none is lost: the warehouse waits before it
    closes the connection and at the end of the run. A publication only deletes and inserts
    rows (its progress in the change log), so the checkpoint ending each step does not wait for
    it (DuckDB refuses a checkpoint only while another transaction has updated rows). ``stats``
    adds up what the publications cost (the run's, which its other publications add to)."""

    def __init__(self, data_dir: Path, stats: PublicationStats):
        self._data_dir = data_dir
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="query-copy")
        self._running: Future[int] | None = None
        self.stats = stats

    def start(self, con: duckdb.DuckDBPyConnection) -> None:
        """Publish what ``con``'s database has committed, once the publication before is done."""
        self.wait()
        cursor = con.cursor()
        try:
            self._running = self._thread.submit(self._publish, cursor)
        except BaseException:
            cursor.close()
            raise

    def _publish(self, cursor: duckdb.DuckDBPyConnection) -> int:
        try:
            # the stats are read by the run's thread only after waiting for this publication
            return self.stats.publish(cursor, self._data_dir, run_waits=False)
        finally:
            cursor.close()

    def wait(self) -> None:
        """Wait for the last publication; raises ``PublicationError`` if it failed."""
        running, self._running = self._running, None
        if running is None:
            return
        began = time.perf_counter()
        try:
            running.result()
        except Exception as error:
            raise PublicationError(f"publishing the query copy ({QUERY_DATABASE} and {PUBLISHED_DIR}/) failed: "
                                   f"{type(error).__name__}: {error}. The warehouse holds the commits; their "
                                   "days stay in the change log, and the next write publishes them") from error
        finally:
            self.stats.waited_seconds += time.perf_counter() - began

    def close(self) -> None:
        """``wait``, then stop the thread."""
        try:
            self.wait()
        finally:
            self._thread.shutdown(wait=True)


def published_months(folder: Path) -> list[dt.date]:
    """The months (their first days) that have a published file in ``folder``."""
    months = []
    for path in folder.glob("*.parquet"):
        try:
            months.append(dt.date.fromisoformat(f"{path.stem}-01"))
        except ValueError:  # the schema file
            continue
    return months


def _day_files(folder: Path) -> list[Path]:
    """Files of the older one-file-per-day layout (``YYYY-MM-DD.parquet``) in ``folder``."""
    return [path for path in folder.glob("????-??-??.parquet")]


def _publish_months(con: duckdb.DuckDBPyConnection, root: Path, months_of: dict[str, list[dt.date]]) -> int:
    """Write each month's rows of each table (``months_of``: table -> months) to a file in a
    scratch folder of the table's (a zero-row file for a month with no rows left), then, once
    the table's months are all written, rename each over its published name; returns the files
    written. A failed COPY stops the publication: the files of its table and of the tables after
    it are not renamed, and every scratch folder is removed.

    One COPY a month rather than one partitioned COPY of them all: its range lets DuckDB skip
    the row groups of other months, and DuckDB 1.5.5 writes a plain file faster than a
    partitioned one. Measured on five years of ten synthetic years (61 months, 2 threads):
    ``papers`` 7.4 s against 10.5 s, ``paper_appearances`` 8.2 s against 12.5 s,
    ``term_daily_counts`` 5.4 s against 7.0 s. ``PUBLISH_THREADS`` files are written at once
    (one for now: see ``PUBLISH_THREADS``), each on a connection of its own (a cursor of
    ``con``: the copy is published after the writes commit, so the cursors see them), since
    one COPY of a month keeps about one core busy: the last 12 months of four tables of ten synthetic years (48 files) took 2.8-2.9 s
    against 3.9-4.3 s one at a time, all of P1's 80 files of them 0.53-0.58 s against
    0.74-0.95 s (2026-12-06). Tables are renamed in turn as their files are done, so the
    scratch files on disk are those of about ``PUBLISH_THREADS`` tables, not of every table."""
    if not months_of:
        return 0
    batches: list[tuple[Path, list[tuple[str, str, dt.date, Path]]]] = []
    qualified = _qualified(con, list(months_of))
    try:
        for table, months in months_of.items():
            folder = root / table
            _ensure_schema_file(con, folder, table)
            scratch = folder / f".publishing-{uuid.uuid4().hex}"
            scratch.mkdir()
            batches.append((scratch, [(qualified[table], TABLES[table].day_column, month,
                                       scratch / f"{month:%Y-%m}.parquet") for month in months]))
        _copy_months_at_once(con, batches)
    finally:
        for scratch, _ in batches:
            shutil.rmtree(scratch, ignore_errors=True)
    return sum(len(table_jobs) for _, table_jobs in batches)


def _copy_months_at_once(con: duckdb.DuckDBPyConnection,
                         batches: list[tuple[Path, list[tuple[str, str, dt.date, Path]]]]) -> None:
    """Write every batch's month files, ``PUBLISH_THREADS`` at a time, each thread on a cursor
    of its own; each table's files are renamed over their published names once they are all
    written."""
    local = threading.local()
    cursors: list[duckdb.DuckDBPyConnection] = []

    def write(job: tuple[str, str, dt.date, Path]) -> None:
        cursor = getattr(local, "cursor", None)
        if cursor is None:
            cursor = local.cursor = con.cursor()
            cursors.append(cursor)
        _copy_month(cursor, *job)

    pool = ThreadPoolExecutor(max_workers=PUBLISH_THREADS)
    try:
        pending = [[pool.submit(write, job) for job in table_jobs] for _, table_jobs in batches]
        for (scratch, table_jobs), futures in zip(batches, pending):
            for future in futures:
                future.result()
            for _, _, _, path in table_jobs:
                os.replace(path, scratch.parent / path.name)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for cursor in cursors:
            cursor.close()


def _copy_month(con: duckdb.DuckDBPyConnection, table: str, column: str, month: dt.date, path: Path) -> None:
    after = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    con.execute(f"copy (select * from {table} where {column} >= ? and {column} < ?) "
                f"to {sql_string(path)} (format parquet)", [month, after])


def _qualified(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, str]:
    """Each table's name with the database and schema ``con`` is using: a cursor starts on the
    default ones (a DuckLake warehouse's connection has ``USE``d its lake)."""
    database, schema = con.execute("select current_database(), current_schema()").fetchone()
    return {table: ".".join('"' + name.replace('"', '""') + '"' for name in (database, schema, table))
            for table in tables}


def _ensure_schema_file(con: duckdb.DuckDBPyConnection, folder: Path, table: str) -> Path:
    """The table's folder and its zero-row schema file, written if missing; returns the file."""
    folder.mkdir(parents=True, exist_ok=True)
    schema_file = folder / SCHEMA_FILE
    if not schema_file.exists():
        _copy_atomically(con, f"select * from {table} limit 0", schema_file)
    return schema_file


def _copy_atomically(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        con.execute(f"copy ({query}) to {sql_string(temporary)} (format parquet)")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


# query.duckdb files this process found holding every view, with their modification times
_checked_query_databases: dict[Path, int] = {}


def _ensure_query_database(con: duckdb.DuckDBPyConnection, path: Path, root: Path) -> None:
    """(Re)build ``query.duckdb`` when it is missing or lacks a table's view."""
    for table in PUBLISHED_TABLES:
        _ensure_schema_file(con, root / table, table)
    if path.exists() and _checked_query_databases.get(path) == path.stat().st_mtime_ns:
        return  # this process found it complete, and it has not changed since
    if path.exists():
        with duckdb.connect(str(path), read_only=True) as existing:
            views = {row[0] for row in existing.execute("select view_name from duckdb_views() where not internal")
                     .fetchall()}
        if views >= set(PUBLISHED_TABLES):
            _checked_query_databases[path] = path.stat().st_mtime_ns
            return
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(temporary)) as query_db:
            for table in PUBLISHED_TABLES:
                files = sql_string(glob_literal(root / table) + "/*.parquet")
                query_db.execute(f"create view {table} as select * from read_parquet({files}, union_by_name = true)")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
