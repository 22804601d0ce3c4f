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


def _empty(schema: pa.Schema) -> dict[str, list]:
    return {name: [] for name in schema.names}


def dump_columns(feed_date: dt.date, dump_sha256: str, origin: str,
                 parsed: ParseResult) -> tuple[dict[str, list], dict[str, list]]:
    """The appearance and rejection columns of one parsed dump (identity keys included;
    ``paper_id`` is decided in the warehouse)."""
    source = SOURCE_OF_FORMAT[parsed.format]
    rows = _empty(APPEARANCE_SCHEMA)
    for entry in parsed.entries:
        keys = identity_keys(entry.arxiv_id, entry.title, entry.abstract)
        values = {
            "appearance_id": appearance_id(feed_date, dump_sha256, entry.position),
            "feed_date": feed_date, "source": source, "format": parsed.format, "dump_sha256": dump_sha256,
            "position": entry.position, "arxiv_id": entry.arxiv_id, "title": entry.title,
            "abstract": entry.abstract, "authors": list(entry.authors),
            "author_count": entry.author_count if entry.author_count is not None else (len(entry.authors) or None),
            "organization": entry.organization, "published_date": entry.published_date,
            "upvotes": entry.upvotes, "comments": entry.comments, "categories": list(entry.categories),
            "keywords": list(entry.keywords), "page_date": parsed.declared_date,
            "title_key": keys.title_key, "abstract_key": keys.abstract_key,
        }
        for name, value in values.items():
            rows[name].append(value)
    rejected = _empty(REJECTION_SCHEMA)
    for rejection in parsed.rejections:
        values = {"feed_date": feed_date, "source": source, "format": parsed.format, "dump_sha256": dump_sha256,
                  "origin": origin, "position": rejection.position, "location": rejection.location,
                  "reason": rejection.reason, "excerpt": rejection.excerpt}
        for name, value in values.items():
            rejected[name].append(value)
    return rows, rejected


class RangeRows:
    """The appearance and rejection columns of many dumps, gathered for one set-based write."""

    def __init__(self) -> None:
        self.appearances = _empty(APPEARANCE_SCHEMA)
        self.rejections = _empty(REJECTION_SCHEMA)

    def add(self, appearances: dict[str, list], rejections: dict[str, list]) -> None:
        for name, values in appearances.items():
            self.appearances[name].extend(values)
        for name, values in rejections.items():
            self.rejections[name].extend(values)

    @property
    def entries(self) -> int:
        return len(self.appearances["appearance_id"])

    def appearance_table(self) -> pa.Table:
        return pa.table(self.appearances, schema=APPEARANCE_SCHEMA)

    def rejection_table(self) -> pa.Table:
        return pa.table(self.rejections, schema=REJECTION_SCHEMA)


def range_rows(dumps: Iterable[tuple[dt.date, str, str, ParseResult]]) -> RangeRows:
    """``RangeRows`` of parsed dumps given as (feed_date, sha256, origin, parsed)."""
    rows = RangeRows()
    for feed_date, sha256, origin, parsed in dumps:
        rows.add(*dump_columns(feed_date, sha256, origin, parsed))
    return rows


def parse_dump_columns(feed_date: dt.date, sha256: str, origin: str,
                       data: bytes) -> tuple[dict[str, list], dict[str, list], dt.date | None]:
    """Parse one dump's bytes into its appearance and rejection columns, and the date the dump
    itself shows (None if it shows none). Pure, and picklable for a process pool."""
    parsed = parse_dump(data, origin, feed_date)
    return (*dump_columns(feed_date, sha256, origin, parsed), parsed.declared_date)
