"""Parsing many stored dumps on every core, in batches of whole days.

Parsing (and computing the identity keys) is the CPU-bound part of loading a range; the
parsers are pure, so the dumps of a batch are spread over a process pool. Batches end on day
boundaries and are bounded in bytes, so a range of years is parsed and written batch by
batch with bounded memory, and every write holds whole days.

A long run's dumps are parsed ahead (``ParseAhead``): while Dagster records the partitions of
the step that stored them, on the run's main thread, one worker process parses them batch
after batch, and the parsing step takes what it finished instead of parsing those again.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from itertools import groupby

import pyarrow as pa

from feed_assets.warehouse.rows import APPEARANCE_SCHEMA, REJECTION_SCHEMA, RangeRows, parse_dump_columns

# a batch of days is parsed and written together; its raw bytes stay below this
BATCH_BYTES = 48 * 2**20
# below this many bytes a batch is parsed in the run's own process (a pool costs a start-up)
POOL_THRESHOLD_BYTES = 4 * 2**20
# a run parsing fewer bytes than this parses them all in its own process: starting the workers
# and shipping bytes and rows between processes cost more than the second core gives back
# (measured on the 51 MiB of ../shared/data: 1.4 s in one process, 3.0 s with two workers)
POOL_MIN_RUN_BYTES = 256 * 2**20
# a run of at least this many days parses its dumps ahead (ParseAhead): Dagster records a range
# run's partitions once the collecting step's body is done, about 13 ms each on the run's main
# thread (7 s on 584 days), while starting the worker costs some 0.3 s of the other core
AHEAD_MIN_DAYS = 30


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


@dataclass(frozen=True)
class ParseFailure:
    """Why a dump could not be parsed, as text: an exception object may not survive the trip
    back from a worker process (one whose ``__init__`` takes other arguments than its message)."""

    reason: str


def _parse(job: tuple[Callable[[str], bytes], dt.date, str, str]):
    """Load and parse one stored dump (in a worker: the bytes never pass between processes)."""
    load, feed_date, sha256, origin = job
    try:
        return parse_dump_columns(feed_date, sha256, origin, load(sha256))
    except Exception as error:  # unreadable bytes or a parser bug must cost the day, not the run
        return ParseFailure(f"{type(error).__name__}: {error}")


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers forked from a server process that imported only this module. (A spawned worker
    imports the run's main module first: the Dagster command line, about 2 s of a core.) Where
    there is no fork server (Windows), spawned ones."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _job(load: Callable[[str], bytes], dump: StoredDump) -> tuple:
    return load, dump.feed_date, dump.sha256, dump.origin


def _ahead_key(dump: StoredDump) -> tuple[dt.date, str, str]:
    """What a parse depends on besides the bytes (named by their hash)."""
    return dump.feed_date, dump.sha256, dump.origin


class ParseAhead:
    """Dumps parsed ahead of the step that parses them, for its ``DumpParser`` to take.

    The step that stores a run's dumps hands them over (``start``) once they are committed.
    Dagster then records that step's partitions on the run's main thread (about 13 ms each:
    7 s on 584 days, 47 s on ten years), which leaves the other core idle: one worker process
    parses the dumps meanwhile, batch after batch in day order, each batch into a file of
    its own (in a temporary folder) that the parsing step reads when it gets to it. The
    parsing step stops the worker when it begins (``take``): the batches not begun are
    parsed by the step as usual. A result is taken only for the same day, bytes and origin,
    and a worker that died or was stopped costs nothing but the time (those dumps are parsed
    by the step). ``close`` stops the worker and removes the files nobody took.

    Why this shape (measured on P1, 584 days of real dumps, 2026-12-07): the results sent back
    through the pool's pipe made the main thread's recording of the partitions 0.6 s slower
    (unpickling 460 results while it runs); starting the worker process synchronously cost the
    step 0.15 s (a thread starts it); a CPU-bound process on the other core slows that
    recording by nothing measurable.
    """

    def __init__(self, batch_bytes: int | None = None):
        self._batch_bytes = batch_bytes or BATCH_BYTES
        self._folder: str | None = None
        self._pool: ProcessPoolExecutor | None = None
        self._starter: threading.Thread | None = None
        self._batches: list[_AheadBatch] = []
        self._places: dict[tuple[dt.date, str, str], tuple[_AheadBatch, int]] = {}
        self._stopped = False

    def start(self, load: Callable[[str], bytes], dumps: Sequence[StoredDump]) -> int:
        """Begin parsing ``dumps`` (in day order, batches of whole days) in the background; how
        many dumps were handed to the worker (none if dumps were handed over already)."""
        if self._starter is not None or not dumps:
            return 0
        self._folder = tempfile.mkdtemp(prefix="feed-parse-ahead-")
        for batch in day_batches(dumps, self._batch_bytes):
            ahead = _AheadBatch(batch)
            self._batches.append(ahead)
            for place, dump in enumerate(batch):
                if _ahead_key(dump) not in self._places:
                    self._places[_ahead_key(dump)] = (ahead, place)
                    ahead.unasked += 1
        jobs = [(ahead, [_job(load, dump) for dump in ahead.dumps]) for ahead in self._batches]
        # starting the worker waits for its process to be forked: on a thread of its own
        self._starter = threading.Thread(target=self._submit, args=(jobs,), name="parse-ahead", daemon=True)
        self._starter.start()
        return len(self._places)

    def _submit(self, jobs: list[tuple[_AheadBatch, list[tuple]]]) -> None:
        """(On the starter thread.) A batch left without a future is parsed by the taking step:
        so is everything, if the worker cannot be started."""
        try:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=_worker_context())
            for number, (ahead, batch_jobs) in enumerate(jobs):
                ahead.future = self._pool.submit(_parse_into_file, batch_jobs,
                                                 os.path.join(self._folder, f"batch-{number}"))
        except Exception:  # noqa: BLE001 - an optimization only: the step parses what is left
            return

    def take(self, dump: StoredDump) -> Callable[[], object] | None:
        """A function giving the parse of ``dump`` done ahead (waiting for its batch), or None if
        it was not handed over or its batch was not begun. The first call stops the worker
        once its current batch is done."""
        if self._starter is None:
            return None
        if not self._stopped:
            self._stopped = True
            self._starter.join()
            for ahead in self._batches:
                if ahead.future is not None:
                    ahead.future.cancel()  # a batch not begun is parsed by the taking step
            if self._pool is not None:
                self._pool.shutdown(wait=False)
        found = self._places.pop(_ahead_key(dump), None)
        if found is None or found[0].future is None or found[0].future.cancelled():
            return None
        ahead, place = found
        return partial(ahead.result, place)

    def close(self) -> None:
        """Stop the worker (once its current batch is done) and remove the files nobody took."""
        if self._starter is not None:
            self._starter.join()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._starter = None
        self._batches, self._places = [], {}
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


class _AheadBatch:
    """A batch handed to the worker, its results read from their file once, when the first is
    asked for, and let go once each was (each is asked for once: ``ParseAhead.take``). If
    getting them fails, every place asked for raises that failure, without reading again."""

    def __init__(self, dumps: list[StoredDump]):
        self.dumps = dumps
        self.future: Future | None = None
        self._results: list | None = None
        self._failure: Exception | None = None
        self.unasked = 0  # places that ``ParseAhead.take`` can still hand out

    def result(self, place: int):
        self.unasked -= 1
        if self._failure is not None:
            raise self._failure
        if self._results is None:
            try:
                self._results = _read_results(self.future.result())
            except Exception as error:
                self._failure = error
                raise
        result = self._results[place]
        if not self.unasked:  # held until written by the step, not by this object until the run ends
            self._results = None
        return result


def _parse_into_file(jobs: list[tuple], path: str) -> str:
    """Parse a batch's dumps (in the worker) and write their results to ``path``: the tables
    of all its dumps concatenated (a pickle of many small Arrow tables reads 3 times slower)."""
    results = [_parse(job) for job in jobs]
    parsed = [result for result in results if not isinstance(result, ParseFailure)]
    kept = {
        "appearances": pa.concat_tables([APPEARANCE_SCHEMA.empty_table(), *(result[0] for result in parsed)]),
        "rejections": pa.concat_tables([REJECTION_SCHEMA.empty_table(), *(result[1] for result in parsed)]),
        "results": [result if isinstance(result, ParseFailure) else (result[0].num_rows, result[1].num_rows,
                                                                      result[2]) for result in results],
    }
    with open(path + ".tmp", "wb") as out:
        pickle.dump(kept, out, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(path + ".tmp", path)
    return path


def _read_results(path: str) -> list:
    """The results ``_parse_into_file`` wrote, one per dump as ``_parse`` gives them; the file is removed."""
    with open(path, "rb") as source:
        kept = pickle.load(source)
    os.unlink(path)
    results, at = [], [0, 0]
    for result in kept["results"]:
        if isinstance(result, ParseFailure):
            results.append(result)
            continue
        appearances, rejections, page_date = result
        results.append((kept["appearances"].slice(at[0], appearances),
                        kept["rejections"].slice(at[1], rejections), page_date))
        at[0] += appearances
        at[1] += rejections
    return results


class DumpParser:
    """Parses batches of dumps, on a process pool started the first time a batch is big enough,
    taking the dumps a ``ParseAhead`` parsed already."""

    def __init__(self, load: Callable[[str], bytes], workers: int | None = None, run_bytes: int | None = None,
                 ahead: ParseAhead | None = None):
        """``run_bytes``, the bytes the whole run will parse: below ``POOL_MIN_RUN_BYTES`` no pool is
        started. ``ahead``: where to look first for each dump's parse."""
        self._load = load
        small_run = run_bytes is not None and run_bytes < POOL_MIN_RUN_BYTES
        self._workers = 1 if small_run else workers or os.cpu_count() or 1
        self._stack = ExitStack()
        self._pool: Executor | None = None
        self._ahead = ahead
        self.taken_ahead = 0  # dumps whose parse was taken from ``ahead``
        self.parsed_again = 0  # of those, dumps parsed here after all: their parse ahead failed

    def __enter__(self) -> DumpParser:
        return self

    def __exit__(self, *exc_info) -> None:
        self._stack.close()

    def _executor(self) -> Executor | None:
        if self._workers < 2:
            return None
        if self._pool is None:
            self._pool = self._stack.enter_context(ProcessPoolExecutor(
                max_workers=self._workers, mp_context=_worker_context()))
        return self._pool

    def parse(self, batch: Sequence[StoredDump]) -> ParsedBatch:
        return self.submit(batch)()

    def submit(self, batch: Sequence[StoredDump]) -> Callable[[], ParsedBatch]:
        """Start parsing ``batch`` and return a function that waits for it and gives the result.

        On the pool the batch's dumps are handed to the workers at once, so the caller can
        write the previous batch while they parse this one; without a pool nothing is done
        until the result is asked for."""
        ahead = [self._ahead.take(dump) if self._ahead else None for dump in batch]
        self.taken_ahead += sum(taken is not None for taken in ahead)
        rest = [dump for dump, taken in zip(batch, ahead) if taken is None]
        jobs = [_job(self._load, dump) for dump in rest]
        pool = self._executor() if sum(dump.size_bytes for dump in rest) >= POOL_THRESHOLD_BYTES else None
        parsed_now = pool.map(_parse, jobs) if pool else map(_parse, jobs)

        def results() -> Iterator:
            for dump, taken in zip(batch, ahead):
                yield next(parsed_now) if taken is None else self._ahead_result(taken, dump)

        return lambda: _collect(batch, results())

    def _ahead_result(self, taken: Callable[[], object], dump: StoredDump):
        """A parse done ahead; parsed here instead when getting it fails in any way (its worker
        died or was stopped, its file could not be written or read, the worker's concatenation
        or pickling failed): a parse ahead only saves time, and a failure of it costs only that.
        A dump that does not parse is not such a failure: it comes back as a ``ParseFailure``."""
        try:
            return taken()
        except Exception:
            self.parsed_again += 1
            return _parse(_job(self._load, dump))


def _collect(batch: Sequence[StoredDump], results: Iterator) -> ParsedBatch:
    """A batch's parse results, in the batch's order, as one ParsedBatch."""
    parsed = ParsedBatch(sorted({dump.feed_date for dump in batch}))
    kept: dict[dt.date, list] = {}
    for dump, result in zip(batch, results):
        if isinstance(result, ParseFailure):
            parsed.failed.setdefault(dump.feed_date, f"{dump.origin}: {result.reason}")
            continue
        appearances, rejections, page_date = result
        kept.setdefault(dump.feed_date, []).append((appearances, rejections))
        if page_date and page_date != dump.feed_date:
            parsed.page_dates.append((dump.origin, page_date, dump.feed_date))
    for day in parsed.loaded_days:
        for appearances, rejections in kept.get(day, []):
            parsed.rows.add(appearances, rejections)
    return parsed
