"""Parsing many dumps in batches of whole days, in the run's process or on a pool of workers."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from feed_assets.parsing.safe_json import JsonProblem
from feed_assets.sample_data import generate_sample_inbox
from feed_assets.warehouse import parse_pool
from feed_assets.warehouse.parse_pool import DumpParser, ParseAhead, StoredDump, day_batches


@pytest.fixture(scope="module")
def sample_dumps(tmp_path_factory) -> tuple[list[StoredDump], dict[str, bytes]]:
    """The sample inbox's files as stored dumps, and their bytes by sha256."""
    inbox = tmp_path_factory.mktemp("pool") / "inbox"
    generate_sample_inbox(inbox)
    dumps, blobs = [], {}
    for path in sorted(inbox.glob("*/*")):
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        blobs[sha256] = data
        dumps.append(StoredDump(dt.date.fromisoformat(path.parent.name), sha256,
                                f"{path.parent.name}/{path.name}", len(data)))
    return dumps, blobs


def test_batches_hold_whole_days_in_order_and_stay_under_the_bound(sample_dumps):
    dumps, _ = sample_dumps
    bound = 3 * max(dump.size_bytes for dump in dumps)
    batches = list(day_batches(dumps, max_bytes=bound))
    assert len(batches) > 1
    assert [dump for batch in batches for dump in batch] == sorted(dumps, key=lambda dump: dump.feed_date)
    days = [{dump.feed_date for dump in batch} for batch in batches]
    assert all(not (a & b) for i, a in enumerate(days) for b in days[i + 1:])  # a day is never split
    for batch in batches:
        if len({dump.feed_date for dump in batch}) > 1:
            assert sum(dump.size_bytes for dump in batch) <= bound


def _rows(parsed) -> tuple[list, list]:
    appearances = parsed.rows.appearance_table().to_pylist()
    rejections = parsed.rows.rejection_table().to_pylist()
    key = lambda row: (row["feed_date"], row["dump_sha256"], row["position"])  # noqa: E731
    return sorted(appearances, key=key), sorted(rejections, key=key)


def test_a_pool_of_workers_parses_exactly_what_one_process_parses(sample_dumps, monkeypatch):
    dumps, blobs = sample_dumps
    with DumpParser(blobs.__getitem__, workers=1) as parser:
        alone = parser.parse(dumps)
    monkeypatch.setattr(parse_pool, "POOL_THRESHOLD_BYTES", 0)
    with DumpParser(blobs.__getitem__, workers=2) as parser:
        pooled = parser.parse(dumps)
        assert parser._pool is not None
    assert _rows(pooled) == _rows(alone)
    assert len(_rows(alone)[0]) > 100 and len(_rows(alone)[1]) > 0
    assert pooled.failed == alone.failed == {}
    assert pooled.loaded_days == alone.loaded_days


def test_batches_submitted_before_the_previous_one_is_taken_give_the_same_rows(sample_dumps, monkeypatch):
    """parsed_entries hands the workers batch n + 1 before it writes batch n."""
    dumps, blobs = sample_dumps
    batches = list(day_batches(dumps, max_bytes=3 * max(dump.size_bytes for dump in dumps)))
    with DumpParser(blobs.__getitem__, workers=1) as parser:
        one_by_one = [_rows(parser.parse(batch)) for batch in batches]
    monkeypatch.setattr(parse_pool, "POOL_THRESHOLD_BYTES", 0)
    with DumpParser(blobs.__getitem__, workers=2) as parser:
        pending = [parser.submit(batch) for batch in batches]  # all handed out before any is taken
        overlapped = [_rows(result()) for result in pending]
    assert len(batches) > 2 and overlapped == one_by_one


def test_a_small_run_starts_no_pool(sample_dumps, monkeypatch):
    dumps, blobs = sample_dumps
    monkeypatch.setattr(parse_pool, "POOL_THRESHOLD_BYTES", 0)
    with DumpParser(blobs.__getitem__, workers=2, run_bytes=sum(d.size_bytes for d in dumps)) as parser:
        parser.parse(dumps)
        assert parser._pool is None


def test_a_dump_that_breaks_the_parser_costs_its_day_only(sample_dumps):
    dumps, blobs = sample_dumps
    broken = StoredDump(dumps[0].feed_date, "0" * 64, "2024-03-01/broken.json", 10)
    with DumpParser({**blobs, "0" * 64: b"\xff\xfe\x00garbage"}.__getitem__, workers=1) as parser:
        parsed = parser.parse([*dumps, broken])
    assert "broken.json" in parsed.failed[broken.feed_date]
    assert broken.feed_date not in parsed.loaded_days
    assert set(parsed.loaded_days) >= {dump.feed_date for dump in dumps} - {broken.feed_date}


def test_bytes_missing_from_the_raw_store_cost_their_day_and_name_the_file(sample_dumps, tmp_path, monkeypatch):
    """The workers read the raw store themselves (the bytes never pass between processes)."""
    from feed_assets.sources.raw_store import RawStore

    dumps, blobs = sample_dumps
    store = RawStore(tmp_path / "raw")
    for data in blobs.values():
        store.put(data)
    shared = {dump.sha256 for dump in dumps if sum(other.sha256 == dump.sha256 for other in dumps) > 1}
    lost = [dump for dump in dumps if dump.sha256 not in shared][-1]  # bytes of one day only
    store.path_for(lost.sha256).unlink()
    monkeypatch.setattr(parse_pool, "POOL_THRESHOLD_BYTES", 0)
    with DumpParser(store.get, workers=2) as parser:
        parsed = parser.parse(dumps)
        assert parser._pool is not None
    assert str(store.path_for(lost.sha256)) in parsed.failed[lost.feed_date]
    assert parsed.loaded_days == sorted({dump.feed_date for dump in dumps} - {lost.feed_date})


class _DiesInWorkers:
    """A raw store ``load`` that ends any process but the one that made it (a worker that dies)."""

    def __init__(self, blobs: dict[str, bytes]):
        self.blobs, self.parent = blobs, os.getpid()

    def __call__(self, sha256: str) -> bytes:
        if os.getpid() != self.parent:
            os._exit(3)
        return self.blobs[sha256]


def _first_batch_parsed(ahead: ParseAhead) -> int:
    """Wait until the worker has parsed the first batch it was handed; its number of dumps."""
    ahead._starter.join()
    ahead._batches[0].future.result()
    return len(ahead._batches[0].dumps)


def test_dumps_parsed_ahead_are_taken_and_give_what_the_step_would_parse(sample_dumps):
    dumps, blobs = sample_dumps
    with DumpParser(blobs.__getitem__, workers=1) as parser:
        alone = parser.parse(dumps)
    ahead = ParseAhead(batch_bytes=3 * max(dump.size_bytes for dump in dumps))
    try:
        handed = ahead.start(blobs.__getitem__, dumps)
        assert handed == len(dumps)
        first = _first_batch_parsed(ahead)  # as when Dagster records partitions meanwhile
        with DumpParser(blobs.__getitem__, workers=1, ahead=ahead) as parser:
            taken = parser.parse(dumps)
            assert parser.taken_ahead >= first  # the later batches: taken or parsed here
    finally:
        ahead.close()
    assert _rows(taken) == _rows(alone) and taken.failed == alone.failed == {}
    assert taken.loaded_days == alone.loaded_days and taken.page_dates == alone.page_dates


def test_dumps_not_handed_over_or_of_another_origin_are_parsed_by_the_step(sample_dumps):
    dumps, blobs = sample_dumps
    renamed = [StoredDump(dump.feed_date, dump.sha256, dump.origin + ".copy", dump.size_bytes) for dump in dumps[:3]]
    ahead = ParseAhead()
    try:
        ahead.start(blobs.__getitem__, renamed + dumps[3:6])
        _first_batch_parsed(ahead)
        with DumpParser(blobs.__getitem__, workers=1, ahead=ahead) as parser:
            parsed = parser.parse(dumps)
            assert parser.taken_ahead == 3  # dumps[3:6]; the renamed ones are not the same parse
    finally:
        ahead.close()
    with DumpParser(blobs.__getitem__, workers=1) as parser:
        assert _rows(parsed) == _rows(parser.parse(dumps))


def test_a_worker_that_dies_costs_only_time(sample_dumps):
    dumps, blobs = sample_dumps
    load = _DiesInWorkers(blobs)
    ahead = ParseAhead()
    try:
        assert ahead.start(load, dumps) == len(dumps)
        with DumpParser(load, workers=1, ahead=ahead) as parser:
            parsed = parser.parse(dumps)  # the worker died on its first dump: parsed here
    finally:
        ahead.close()
    with DumpParser(blobs.__getitem__, workers=1) as parser:
        assert _rows(parsed) == _rows(parser.parse(dumps))
    assert parsed.failed == {}


def test_closing_stops_the_worker_and_removes_its_files(sample_dumps):
    dumps, blobs = sample_dumps
    ahead = ParseAhead(batch_bytes=3 * max(dump.size_bytes for dump in dumps))
    ahead.start(blobs.__getitem__, dumps)
    folder = Path(ahead._folder)
    _first_batch_parsed(ahead)
    assert len(list(folder.iterdir())) >= 1
    ahead.close()
    assert not folder.exists()
    assert ahead.take(dumps[0]) is None


def test_a_parse_ahead_that_fails_in_any_way_is_parsed_again_by_the_step(sample_dumps, monkeypatch):
    """Not only a dead worker or a file error: whatever fails while a result is got from the
    worker (here reading its batch's file fails with MemoryError) costs only time, and each
    batch's file is tried once, not once for each of its dumps."""
    dumps, blobs = sample_dumps
    with DumpParser(blobs.__getitem__, workers=1) as parser:
        alone = parser.parse(dumps)
    tried: list[str] = []

    def fails(path):
        tried.append(path)
        raise MemoryError(f"reading {path}")

    ahead = ParseAhead(batch_bytes=3 * max(dump.size_bytes for dump in dumps))
    try:
        ahead.start(blobs.__getitem__, dumps)
        first = _first_batch_parsed(ahead)
        monkeypatch.setattr(parse_pool, "_read_results", fails)
        with DumpParser(blobs.__getitem__, workers=1, ahead=ahead) as parser:
            again = parser.parse(dumps)
            assert parser.taken_ahead >= first and parser.parsed_again == parser.taken_ahead
    finally:
        ahead.close()
    assert tried and len(tried) == len(set(tried)) < parser.taken_ahead  # batches of several dumps
    assert _rows(again) == _rows(alone) and again.failed == alone.failed == {}
    assert again.loaded_days == alone.loaded_days and again.page_dates == alone.page_dates


class _JsonProblemFor:
    """A raw store ``load`` that raises ``JsonProblem`` (whose ``__init__`` takes a reason and a
    location, its message being both) for one dump."""

    def __init__(self, blobs: dict[str, bytes], sha256: str):
        self.blobs, self.sha256 = blobs, sha256

    def __call__(self, sha256: str) -> bytes:
        if sha256 == self.sha256:
            raise JsonProblem("a number too long", "line 3 column 4")
        return self.blobs[sha256]


def test_a_failure_reads_the_same_from_a_worker_as_in_the_run(sample_dumps, monkeypatch):
    """Why a dump failed travels back from a worker as text: the exception itself came back
    rebuilt from its message alone (here ``line 1 column 1: line 3 column 4: ...``)."""
    dumps, blobs = sample_dumps
    broken = dumps[0]
    load = _JsonProblemFor(blobs, broken.sha256)
    with DumpParser(load, workers=1) as parser:
        alone = parser.parse([broken])
    monkeypatch.setattr(parse_pool, "POOL_THRESHOLD_BYTES", 0)
    with DumpParser(load, workers=2) as parser:
        pooled = parser.parse([broken])
        assert parser._pool is not None
    ahead = ParseAhead()
    try:
        ahead.start(load, [broken])
        _first_batch_parsed(ahead)
        with DumpParser(load, workers=1, ahead=ahead) as parser:
            taken = parser.parse([broken])
            assert parser.taken_ahead == 1
    finally:
        ahead.close()
    assert alone.failed == {broken.feed_date: f"{broken.origin}: JsonProblem: line 3 column 4: a number too long"}
    assert pooled.failed == taken.failed == alone.failed
