"""Parsing many stored dumps on every core, in batches of whole days.

Parsing (and computing the identity keys) is the CPU-bound part of loading a range; the
parsers are pure, so the dumps of a batch are spread over a process pool. Batches end on day
boundaries and are bounded in bytes, so a range of years is parsed and written batch by
batch with bounded memory, and every write holds whole days.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import groupby

from feed_assets.warehouse.rows import RangeRows, parse_dump_columns

# a batch of days is parsed and written together; its raw bytes stay below this
BATCH_BYTES = 48 * 2**20
# below this many bytes a batch is parsed in the run's own process (a pool costs a start-up)
POOL_THRESHOLD_BYTES = 4 * 2**20
# a run parsing fewer bytes than this parses them all in its own process: starting the workers
# and shipping bytes and rows between processes cost more than the second core gives back
# (measured on the 51 MiB of ../shared/data: 1.4 s in one process, 3.0 s with two workers)
POOL_MIN_RUN_BYTES = 256 * 2**20


@dataclass(frozen=True)
class StoredDump:
    feed_date: dt.date
    sha256: str
    origin: str
    size_bytes: int


@dataclass
class ParsedBatch:
    """The rows of a batch's days that parsed, the days that did not (with why), and the dates
    pages showed that differ from their feed date."""

    days: list[dt.date]
    rows: RangeRows = field(default_factory=RangeRows)
    failed: dict[dt.date, str] = field(default_factory=dict)
    page_dates: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)

    @property
    def loaded_days(self) -> list[dt.date]:
        return [day for day in self.days if day not in self.failed]


def day_batches(dumps: Sequence[StoredDump], max_bytes: int = BATCH_BYTES) -> Iterator[list[StoredDump]]:
    """The dumps, in day order, cut into batches of whole days of at most ``max_bytes`` (a day
    larger than that is a batch of its own)."""
    batch: list[StoredDump] = []
    size = 0
    for _, grouped in groupby(sorted(dumps, key=lambda dump: dump.feed_date), key=lambda dump: dump.feed_date):
        day_dumps = list(grouped)
        day_size = sum(dump.size_bytes for dump in day_dumps)
        if batch and size + day_size > max_bytes:
            yield batch
            batch, size = [], 0
        batch += day_dumps
        size += day_size
    if batch:
        yield batch


def _parse(job: tuple[Callable[[str], bytes], dt.date, str, str]):
    """Load and parse one stored dump (in a worker: the bytes never pass between processes)."""
    load, feed_date, sha256, origin = job
    try:
        return parse_dump_columns(feed_date, sha256, origin, load(sha256))
    except Exception as error:  # unreadable bytes or a parser bug must cost the day, not the run
        return error


class DumpParser:
    """Parses batches of dumps, on a process pool started the first time a batch is big enough."""

    def __init__(self, load: Callable[[str], bytes], workers: int | None = None, run_bytes: int | None = None):
        """``run_bytes``, the bytes the whole run will parse: below ``POOL_MIN_RUN_BYTES`` no pool is started."""
        self._load = load
        small_run = run_bytes is not None and run_bytes < POOL_MIN_RUN_BYTES
        self._workers = 1 if small_run else workers or os.cpu_count() or 1
        self._stack = ExitStack()
        self._pool: Executor | None = None

    def __enter__(self) -> DumpParser:
        return self

    def __exit__(self, *exc_info) -> None:
        self._stack.close()

    def _executor(self) -> Executor | None:
        if self._workers < 2:
            return None
        if self._pool is None:
            self._pool = self._stack.enter_context(ProcessPoolExecutor(
                max_workers=self._workers, mp_context=multiprocessing.get_context("spawn")))
        return self._pool

    def parse(self, batch: Sequence[StoredDump]) -> ParsedBatch:
        return self.submit(batch)()

    def submit(self, batch: Sequence[StoredDump]) -> Callable[[], ParsedBatch]:
        """Start parsing ``batch`` and return a function that waits for it and gives the result.

        On the pool the batch's dumps are handed to the workers at once, so the caller can
        write the previous batch while they parse this one; without a pool nothing is done
        until the result is asked for."""
        jobs = [(self._load, dump.feed_date, dump.sha256, dump.origin) for dump in batch]
        pool = self._executor() if sum(dump.size_bytes for dump in batch) >= POOL_THRESHOLD_BYTES else None
        results = pool.map(_parse, jobs) if pool else map(_parse, jobs)
        return lambda: _collect(batch, results)


def _collect(batch: Sequence[StoredDump], results: Iterator) -> ParsedBatch:
    """A batch's parse results, in the batch's order, as one ParsedBatch."""
    parsed = ParsedBatch(sorted({dump.feed_date for dump in batch}))
    kept: dict[dt.date, list] = {}
    for dump, result in zip(batch, results):
        if isinstance(result, Exception):
            parsed.failed.setdefault(dump.feed_date, f"{dump.origin}: {type(result).__name__}: {result}")
            continue
        appearances, rejections, page_date = result
        kept.setdefault(dump.feed_date, []).append((appearances, rejections))
        if page_date and page_date != dump.feed_date:
            parsed.page_dates.append((dump.origin, page_date, dump.feed_date))
    for day in parsed.loaded_days:
        for appearances, rejections in kept.get(day, []):
            parsed.rows.add(appearances, rejections)
    return parsed
