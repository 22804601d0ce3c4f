"""What a parser returns: normalized entries and rejections, free of any I/O or Dagster."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from .normalize import excerpt, normalize_arxiv_id


class UnknownFormatError(ValueError):
    """A dump whose bytes match none of the feed formats; the message names the file."""


@dataclass(frozen=True)
class Entry:
    """One well-formed paper listing inside a dump, already normalized.

    ``position`` is the entry's 0-based index among the dump's items (entries and
    rejections share one numbering), ``location`` says where it sits for a person
    ("line 17", "item 4").
    """

    position: int
    location: str
    title: str | None
    abstract: str | None
    arxiv_id: str | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    organization: str | None = None
    published_date: dt.date | None = None
    upvotes: int | None = None
    comments: int | None = None
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rejection:
    """A malformed item kept aside: where it is, why it was refused, and what it said."""

    position: int | None
    location: str
    reason: str
    excerpt: str


@dataclass(frozen=True)
class ParseResult:
    """Everything a dump held: its format, the date it declares (if any), entries, rejections."""

    format: str
    entries: list[Entry] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    declared_date: dt.date | None = None


def read_arxiv_id(raw_id: object, location: str, rejections: list[Rejection], what: str = "id") -> str | None:
    """The version-less arXiv id of ``raw_id``; a present but unreadable id is noted in
    ``rejections`` (position None: the entry itself is kept, without an id)."""
    arxiv_id = normalize_arxiv_id(raw_id)
    if arxiv_id is None and raw_id is not None:
        rejections.append(Rejection(None, location,
                                    f"{what} {excerpt(repr(raw_id), 80)} is not an arXiv id (ASCII digits like "
                                    "2403.01234, or math/0601001); entry kept without an id",
                                    excerpt(str(raw_id))))
    return arxiv_id
