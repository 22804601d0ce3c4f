"""Pure conversions from parsed dumps to warehouse rows, column by column (Arrow tables).

Rows are built as columns so that a range of days, hundreds of thousands of entries, goes
into DuckDB as one Arrow table (``insert ... by name``), without a Python object per cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa

from feed_assets.identity.rules import identity_keys
from feed_assets.parsing import SOURCE_OF_FORMAT, ParseResult, parse_dump

_TEXTS = pa.list_(pa.string())

APPEARANCE_SCHEMA = pa.schema([
    ("appearance_id", pa.string()), ("feed_date", pa.date32()), ("source", pa.string()),
    ("format", pa.string()), ("dump_sha256", pa.string()), ("position", pa.int32()),
    ("arxiv_id", pa.string()), ("title", pa.string()), ("abstract", pa.string()), ("authors", _TEXTS),
    ("author_count", pa.int32()), ("organization", pa.string()), ("published_date", pa.date32()),
    ("upvotes", pa.int32()), ("comments", pa.int32()), ("categories", _TEXTS), ("keywords", _TEXTS),
    ("page_date", pa.date32()), ("title_key", pa.string()), ("abstract_key", pa.string()),
])
REJECTION_SCHEMA = pa.schema([
    ("feed_date", pa.date32()), ("source", pa.string()), ("format", pa.string()), ("dump_sha256", pa.string()),
    ("origin", pa.string()), ("position", pa.int32()), ("location", pa.string()), ("reason", pa.string()),
    ("excerpt", pa.string()),
])


def appearance_id(feed_date: dt.date, dump_sha256: str, position: int) -> str:
    """A stable, readable id for one entry of one dump on one day."""
    return f"{feed_date.isoformat()}:{dump_sha256[:16]}:{position}"


def dump_columns(feed_date: dt.date, dump_sha256: str, origin: str,
                 parsed: ParseResult) -> tuple[pa.Table, pa.Table]:
    """The appearance and rejection rows of one parsed dump, as Arrow tables (identity keys
    included; ``paper_id`` is decided in the warehouse). Built column by column: a dump is one
    list per column, not a dict per entry."""
    source = SOURCE_OF_FORMAT[parsed.format]
    entries = parsed.entries
    count = len(entries)
    keys = [identity_keys(entry.arxiv_id, entry.title, entry.abstract) for entry in entries]
    id_prefix = f"{feed_date.isoformat()}:{dump_sha256[:16]}:"
    appearances = pa.table({
        "appearance_id": [f"{id_prefix}{entry.position}" for entry in entries],
        "feed_date": pa.repeat(pa.scalar(feed_date, pa.date32()), count),
        "source": pa.repeat(pa.scalar(source, pa.string()), count),
        "format": pa.repeat(pa.scalar(parsed.format, pa.string()), count),
        "dump_sha256": pa.repeat(pa.scalar(dump_sha256, pa.string()), count),
        "position": [entry.position for entry in entries],
        "arxiv_id": [entry.arxiv_id for entry in entries],
        "title": [entry.title for entry in entries],
        "abstract": [entry.abstract for entry in entries],
        "authors": [entry.authors for entry in entries],
        "author_count": [entry.author_count if entry.author_count is not None else (len(entry.authors) or None)
                         for entry in entries],
        "organization": [entry.organization for entry in entries],
        "published_date": [entry.published_date for entry in entries],
        "upvotes": [entry.upvotes for entry in entries],
        "comments": [entry.comments for entry in entries],
        "categories": [entry.categories for entry in entries],
        "keywords": [entry.keywords for entry in entries],
        "page_date": pa.repeat(pa.scalar(parsed.declared_date, pa.date32()), count),
        "title_key": [key.title_key for key in keys],
        "abstract_key": [key.abstract_key for key in keys],
    }, schema=APPEARANCE_SCHEMA)
    rejections = parsed.rejections
    rejected_count = len(rejections)
    rejected = pa.table({
        "feed_date": pa.repeat(pa.scalar(feed_date, pa.date32()), rejected_count),
        "source": pa.repeat(pa.scalar(source, pa.string()), rejected_count),
        "format": pa.repeat(pa.scalar(parsed.format, pa.string()), rejected_count),
        "dump_sha256": pa.repeat(pa.scalar(dump_sha256, pa.string()), rejected_count),
        "origin": pa.repeat(pa.scalar(origin, pa.string()), rejected_count),
        "position": [rejection.position for rejection in rejections],
        "location": [rejection.location for rejection in rejections],
        "reason": [rejection.reason for rejection in rejections],
        "excerpt": [rejection.excerpt for rejection in rejections],
    }, schema=REJECTION_SCHEMA)
    return appearances, rejected


class RangeRows:
    """The appearance and rejection rows of many dumps, gathered for one set-based write."""

    def __init__(self) -> None:
        self._appearances: list[pa.Table] = []
        self._rejections: list[pa.Table] = []

    def add(self, appearances: pa.Table, rejections: pa.Table) -> None:
        self._appearances.append(appearances)
        self._rejections.append(rejections)

    @property
    def entries(self) -> int:
        return sum(table.num_rows for table in self._appearances)

    def appearance_table(self) -> pa.Table:
        return pa.concat_tables([APPEARANCE_SCHEMA.empty_table(), *self._appearances])

    def rejection_table(self) -> pa.Table:
        return pa.concat_tables([REJECTION_SCHEMA.empty_table(), *self._rejections])


def range_rows(dumps: Iterable[tuple[dt.date, str, str, ParseResult]]) -> RangeRows:
    """``RangeRows`` of parsed dumps given as (feed_date, sha256, origin, parsed)."""
    rows = RangeRows()
    for feed_date, sha256, origin, parsed in dumps:
        rows.add(*dump_columns(feed_date, sha256, origin, parsed))
    return rows


def parse_dump_columns(feed_date: dt.date, sha256: str, origin: str,
                       data: bytes) -> tuple[pa.Table, pa.Table, dt.date | None]:
    """Parse one dump's bytes into its appearance and rejection rows, and the date the dump
    itself shows (None if it shows none). Pure, and picklable for a process pool."""
    parsed = parse_dump(data, origin, feed_date)
    return (*dump_columns(feed_date, sha256, origin, parsed), parsed.declared_date)
