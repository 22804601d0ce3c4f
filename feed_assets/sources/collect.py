"""Collecting a day's dumps from a source into the raw store, as rows for ``raw_dumps``.

Both channels end the same way: bytes in the raw store, and one row per dump saying where
they came from, when, and in which format. The HTTP channel also reports every response
(and failed request) for ``fetch_log``, including the bytes of a bad one, kept for inspection.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from feed_assets.parsing import SOURCE_OF_FORMAT, UnknownFormatError, detect_format
from feed_assets.sources.http import FetchedResponse, FetchError, HttpFetcher
from feed_assets.sources.inbox import read_day
from feed_assets.sources.raw_store import RawStore, StoredBytes

INBOX_CHANNEL = "inbox"
HTTP_CHANNEL = "http"
# days of an inbox collected at once: much of a day's time is reading its files and the raw
# store's fsync, which wait on the disk without holding the GIL. The 584 days of ../shared/data
# (460 files, 50 MiB) into an empty raw store: 0.38-0.40 s with 4 threads, 0.45-0.47 s with 8,
# 0.57 s one day at a time (2026-12-06)
INBOX_THREADS = 4


def dump_row(day: dt.date, channel: str, origin: str, fmt: str, stored: StoredBytes, data_dir: Path) -> dict:
    """A ``raw_dumps`` row for stored bytes."""
    return {
        "feed_date": day, "channel": channel, "origin": origin, "source": SOURCE_OF_FORMAT[fmt], "format": fmt,
        "sha256": stored.sha256, "size_bytes": stored.size_bytes,
        "raw_path": stored.path.relative_to(data_dir).as_posix(), "stored_at": stored.stored_at,
    }


def collect_inbox_day(store: RawStore, inbox_dir: Path, data_dir: Path, day: dt.date) -> list[dict]:
    """Store every file of the day's inbox folder; raises UnknownFormatError (naming the file)
    before storing anything if one of them is in no known format."""
    files = read_day(inbox_dir, day)
    formats = [detect_format(file.data, file.origin) for file in files]
    return [dump_row(day, INBOX_CHANNEL, file.origin, fmt, store.put(file.data), data_dir)
            for file, fmt in zip(files, formats)]


def collect_inbox_days(store: RawStore, inbox_dir: Path, data_dir: Path,
                       days: Sequence[dt.date]) -> list[list[dict] | UnknownFormatError]:
    """``collect_inbox_day`` for each day, ``INBOX_THREADS`` days at once: each day's rows, or
    the error that left it out, in the order of ``days``."""
    def collect(day: dt.date) -> list[dict] | UnknownFormatError:
        try:
            return collect_inbox_day(store, inbox_dir, data_dir, day)
        except UnknownFormatError as error:
            return error

    with ThreadPoolExecutor(max_workers=INBOX_THREADS) as pool:
        return list(pool.map(collect, days))


@dataclass
class HttpDay:
    """What fetching one day from one source gave: dumps, the fetch log, and the failure if any."""

    dumps: list[dict] = field(default_factory=list)
    log: list[dict] = field(default_factory=list)
    error: FetchError | None = None


def collect_http_day(store: RawStore, data_dir: Path, fetcher: HttpFetcher, source: str, day: dt.date,
                     pages: Callable[[HttpFetcher, dt.date], Iterator[FetchedResponse]]) -> HttpDay:
    """Fetch every page of the day, storing each body before it is parsed; stops at the first
    bad page, whose body (if any) is stored too and named in the log. Every redirect followed
    or refused on the way is logged too (outcome ``redirect``). The whole day must be done
    within the fetcher's ``day_deadline_seconds``."""
    result = HttpDay()
    try:
        with fetcher.day_deadline():
            for response in pages(fetcher, day):
                _log_redirects(result, store, day, source, response.redirects)
                stored = store.put(response.body)
                try:
                    fmt = detect_format(response.body, response.url)
                except UnknownFormatError as error:
                    raise FetchError(response.url, f"a body in no known format ({error})", response) from error
                result.dumps.append(dump_row(day, HTTP_CHANNEL, response.url, fmt, stored, data_dir))
                result.log.append(_log_row(day, source, response, stored, "ok", None))
    except FetchError as error:
        _log_redirects(result, store, day, source, error.redirects)
        stored = store.put(error.response.body) if error.response is not None else None
        result.log.append(_log_row(day, source, error.response, stored, "error", error.problem, url=error.url,
                                   attempts=error.attempts))
        result.error = error
    return result


def _log_redirects(result: HttpDay, store: RawStore, day: dt.date, source: str,
                   redirects: tuple[FetchedResponse, ...]) -> None:
    for hop in redirects:
        result.log.append(_log_row(day, source, hop, store.put(hop.body), "redirect",
                                   f"HTTP {hop.status} to {hop.headers.get('location', '(no Location)')}"))


def _log_row(day: dt.date, source: str, response: FetchedResponse | None, stored: StoredBytes | None,
             outcome: str, problem: str | None, url: str | None = None, attempts: int | None = None) -> dict:
    return {
        "feed_date": day, "source": source, "url": response.url if response else url,
        "status": response.status if response else None,
        "attempts": attempts if attempts is not None else (response.attempts if response else 0),
        "outcome": outcome, "problem": problem,
        "sha256": stored.sha256 if stored else None, "size_bytes": stored.size_bytes if stored else None,
        "headers": json.dumps(response.headers) if response else None,
        "fetched_at": response.fetched_at if response else dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
    }
