"""Pure conversions from parsed dumps to warehouse rows (DataFrames with the tables' columns)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pandas as pd

from feed_assets.identity.rules import identity_keys
from feed_assets.parsing import SOURCE_OF_FORMAT, ParseResult
from feed_assets.warehouse.writes import APPEARANCE_COLUMNS, REJECTION_COLUMNS


def appearance_id(feed_date: dt.date, dump_sha256: str, position: int) -> str:
    """A stable, readable id for one entry of one dump on one day."""
    return f"{feed_date.isoformat()}:{dump_sha256[:16]}:{position}"


def appearance_records(feed_date: dt.date, dump_sha256: str, parsed: ParseResult) -> list[dict]:
    """One record per entry of a parsed dump, with identity keys (paper_id is decided later)."""
    source = SOURCE_OF_FORMAT[parsed.format]
    records = []
    for entry in parsed.entries:
        keys = identity_keys(entry.arxiv_id, entry.title, entry.abstract)
        records.append({
            "appearance_id": appearance_id(feed_date, dump_sha256, entry.position),
            "feed_date": feed_date,
            "source": source,
            "format": parsed.format,
            "dump_sha256": dump_sha256,
            "position": entry.position,
            "paper_id": None,
            "match_rule": None,
            "arxiv_id": entry.arxiv_id,
            "title": entry.title,
            "abstract": entry.abstract,
            "authors": list(entry.authors),
            "author_count": entry.author_count if entry.author_count is not None else (len(entry.authors) or None),
            "organization": entry.organization,
            "published_date": entry.published_date,
            "upvotes": entry.upvotes,
            "comments": entry.comments,
            "categories": list(entry.categories),
            "keywords": list(entry.keywords),
            "page_date": parsed.declared_date,
            "title_key": keys.title_key,
            "abstract_key": keys.abstract_key,
        })
    return records


def rejection_records(feed_date: dt.date, dump_sha256: str, origin: str, parsed: ParseResult) -> list[dict]:
    """One record per rejected item of a parsed dump."""
    source = SOURCE_OF_FORMAT[parsed.format]
    return [
        {
            "feed_date": feed_date,
            "source": source,
            "format": parsed.format,
            "dump_sha256": dump_sha256,
            "origin": origin,
            "position": rejection.position,
            "location": rejection.location,
            "reason": rejection.reason,
            "excerpt": rejection.excerpt,
        }
        for rejection in parsed.rejections
    ]


def appearances_frame(records: Iterable[dict]) -> pd.DataFrame:
    """Appearance records as a DataFrame with exactly the table's columns."""
    return pd.DataFrame(list(records), columns=list(APPEARANCE_COLUMNS)).astype(object)


def rejections_frame(records: Iterable[dict]) -> pd.DataFrame:
    """Rejection records as a DataFrame with exactly the table's columns."""
    return pd.DataFrame(list(records), columns=list(REJECTION_COLUMNS)).astype(object)
